//! 2. Quote (A4): the charges shown and agreed before the work.

use super::common::{meta, non_empty, totals_of, Doc};
use crate::labels::{self as t, colon, money};
use crate::layout::DARK;
use crate::model::{Acceptance, Paper, QuoteInput};
use crate::DocsError;

pub(crate) fn render(input: &QuoteInput) -> Result<Vec<u8>, DocsError> {
    non_empty(&input.quote_no, "quote number is empty")?;
    let lang = input.lang;
    let totals = totals_of(&input.items)?;
    let mut d = Doc::new(lang, Paper::A4)?;
    d.header(&input.company, t::QUOTE_TITLE, t::QUOTE_NO, &input.quote_no)?;

    let a = &input.appliance;
    let mut left = vec![d.kv(t::CUSTOMER, input.customer.name.clone())];
    if let Some(p) = &input.customer.phone {
        left.push(d.kv(t::CUSTOMER_PHONE, p.clone()));
    }
    left.push(d.kv(t::ADDRESS, input.customer.address.clone()));
    left.push(d.kv(t::WORK_ORDER_NO, input.work_order_no.clone()));
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

    d.heading(t::SECTION_DIAGNOSIS);
    let rows = [d.kv(t::FAULT_FOUND, input.fault_found.clone())];
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
    d.totals(&[
        (d.t(t::TOTAL_VALUE).into(), money(totals.value), false),
        (d.t(t::TOTAL_COVERED).into(), money(-totals.covered), false),
        (d.t(t::QUOTE_TOTAL).into(), money(totals.charged), true),
    ]);
    d.l.gap(2.0);
    let valid = format!(
        "{}{}{}",
        d.t(t::VALID_UNTIL),
        colon(lang),
        t::date(lang, input.valid_until)
    );
    d.notice(&format!("{}\n{valid}", d.t(t::QUOTE_NOTE)));

    d.l.ensure(48.0);
    d.heading(t::SECTION_ACCEPTANCE);
    match &input.acceptance {
        Some(Acceptance::Signed(signature)) => {
            d.paragraph(body, DARK, d.t(t::ACCEPTED));
            d.l.gap(1.5);
            d.signature(signature, &[])?;
        }
        Some(Acceptance::Recorded { at }) => {
            d.paragraph(body, DARK, d.t(t::ACCEPTED));
            d.l.gap(1.5);
            let rows = [d.kv(t::DATE, t::date_time(input.lang, *at))];
            d.key_values(&rows);
        }
        None => {
            let note = d.t(t::AWAITING_ACCEPTANCE).to_string();
            let blank = "________________________";
            let rows = [d.kv(t::SIGNED_BY, blank), d.kv(t::DATE, blank)];
            d.empty_signature(&note, &rows);
        }
    }

    let m = meta(
        lang,
        t::QUOTE_TITLE,
        &input.quote_no,
        &input.company,
        input.issued_at,
    );
    d.finish(m, input.issued_at, &[])
}
