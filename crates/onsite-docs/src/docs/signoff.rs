//! 1. Sign-off sheet (A4).

use super::common::{meta, non_empty, payment_status, totals_of, Doc};
use crate::labels::{self as t, colon, money};
use crate::layout::DARK;
use crate::model::{CustomerSignature, Paper, SignOffInput};
use crate::DocsError;

/// Printed in a row the visit recorded nothing for.
const NOTHING: &str = "—";

pub(crate) fn render(input: &SignOffInput) -> Result<Vec<u8>, DocsError> {
    non_empty(&input.work_order_no, "work order number is empty")?;
    if input.content_hash.len() != 64 || !input.content_hash.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(DocsError::Invalid(
            "content hash must be 64 hex digits (SHA-256)",
        ));
    }
    let lang = input.lang;
    let totals = totals_of(&input.items)?;
    let mut d = Doc::new(lang, Paper::A4)?;
    d.header(
        &input.company,
        t::SIGN_OFF_TITLE,
        t::WORK_ORDER_NO,
        &input.work_order_no,
    )?;

    let a = &input.appliance;
    let mut left = vec![d.kv(t::CUSTOMER, input.customer.name.clone())];
    if let Some(p) = &input.customer.phone {
        left.push(d.kv(t::CUSTOMER_PHONE, p.clone()));
    }
    left.push(d.kv(t::ADDRESS, input.customer.address.clone()));
    left.push(d.kv(t::VISIT_DATE, t::date(lang, input.visit_date)));
    let mut right = vec![
        d.kv(t::APPLIANCE, a.product.clone()),
        d.kv(t::MODEL, a.model.clone()),
    ];
    if let Some(s) = &a.serial {
        right.push(d.kv(t::SERIAL, s.clone()));
    }
    if let Some(p) = a.purchase_date {
        right.push(d.kv(t::PURCHASE_DATE, t::date(lang, p)));
    }
    right.push(d.kv(t::TECHNICIAN, input.technician.clone()));
    d.heading(t::SECTION_CUSTOMER);
    let (label_w, body) = (d.s.label_w, d.s.body);
    d.l.key_values_2col(label_w, body, &left, &right);

    d.heading(t::SECTION_FAULT);
    // A row the visit left empty says so rather than staying blank.
    let or_nothing = |s: &str| {
        if s.trim().is_empty() {
            NOTHING.to_string()
        } else {
            s.to_string()
        }
    };
    let rows = [
        d.kv(t::FAULT_REPORTED, or_nothing(&input.fault_reported)),
        d.kv(t::FAULT_FOUND, or_nothing(&input.fault_found)),
        d.kv(t::DIAGNOSIS_NOTES, or_nothing(&input.diagnosis_notes)),
        d.kv(t::WORK_DONE, or_nothing(&input.work_done)),
    ];
    d.key_values(&rows);

    d.heading(t::SECTION_CHARGES);
    let small = d.s.small;
    let fee = format!(
        "{}{}{}",
        d.t(t::FEE_TABLE),
        colon(lang),
        input.fee_table_version
    );
    d.paragraph(small, DARK, &fee);
    d.l.gap(1.0);
    d.items_table(&input.items)?;

    let p = &input.payment;
    let balance = totals
        .charged
        .checked_sub(p.paid_fen)
        .ok_or(DocsError::AmountOverflow("balance"))?;
    let paid_label = match &p.method {
        Some(m) => format!("{}（{}）", d.t(t::PAID), t::pay_method(lang, m)),
        None => d.t(t::PAID).to_string(),
    };
    let paid_label = if lang == crate::model::Lang::En {
        paid_label.replace('（', " (").replace('）', ")")
    } else {
        paid_label
    };
    let status = payment_status(totals.charged, p).get(lang).to_string();
    d.totals(&[
        (d.t(t::TOTAL_VALUE).into(), money(totals.value), false),
        (d.t(t::TOTAL_COVERED).into(), money(-totals.covered), false),
        (d.t(t::TOTAL_CHARGED).into(), money(totals.charged), true),
        (paid_label, money(p.paid_fen), false),
        (d.t(t::BALANCE).into(), money(balance.max(0)), true),
        (d.t(t::PAYMENT_STATUS).into(), status, false),
    ]);

    // Keep the heading, the declaration and the signature block together.
    d.l.ensure(50.0);
    d.heading(t::SECTION_SIGNATURE);
    d.paragraph(body, DARK, d.t(t::SIGN_OFF_DECLARATION));
    d.l.gap(1.5);
    let tech = [d.kv(t::TECHNICIAN, input.technician.clone())];
    match &input.signature {
        CustomerSignature::Signed(sig) => d.signature(sig, &tech)?,
        CustomerSignature::NotSigned { reason } => {
            let note = format!(
                "{}\n{}{}{}",
                d.t(t::NOT_SIGNED),
                d.t(t::REASON),
                colon(lang),
                reason
            );
            d.empty_signature(&note, &tech);
        }
    }

    let hash_line = format!(
        "{}{}{}",
        d.t(t::CONTENT_HASH),
        colon(lang),
        input.content_hash
    );
    let m = meta(
        lang,
        t::SIGN_OFF_TITLE,
        &input.work_order_no,
        &input.company,
        input.issued_at,
    );
    d.finish(m, input.issued_at, &[hash_line])
}
