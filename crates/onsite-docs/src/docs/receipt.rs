//! 3. Payment receipt (A4 or 80 mm roll).

use super::common::{meta, non_empty, Doc};
use crate::labels::{self as t, money};
use crate::layout::DARK;
use crate::model::PaymentReceiptInput;
use crate::DocsError;

pub(crate) fn render(input: &PaymentReceiptInput) -> Result<Vec<u8>, DocsError> {
    non_empty(&input.receipt_no, "receipt number is empty")?;
    if input.amount_fen <= 0 {
        return Err(DocsError::Invalid("receipt amount must be positive"));
    }
    let change = match input.tendered_fen {
        Some(tendered) if tendered < input.amount_fen => {
            return Err(DocsError::Invalid("cash tendered is less than the amount"))
        }
        Some(tendered) => Some((tendered, tendered - input.amount_fen)),
        None => None,
    };
    let outstanding = input
        .job_total_fen
        .checked_sub(input.previously_paid_fen)
        .and_then(|v| v.checked_sub(input.amount_fen))
        .ok_or(DocsError::AmountOverflow("outstanding balance"))?;

    let lang = input.lang;
    let mut d = Doc::new(lang, input.paper)?;
    d.header(
        &input.company,
        t::PAYMENT_TITLE,
        t::RECEIPT_NO,
        &input.receipt_no,
    )?;
    let rows = [
        d.kv(t::WORK_ORDER_NO, input.work_order_no.clone()),
        d.kv(t::ISSUED_AT, t::date_time(lang, input.issued_at)),
        d.kv(t::RECEIVED_FROM, input.customer_name.clone()),
        d.kv(t::PAYMENT_FOR, input.description.clone()),
        d.kv(t::METHOD, t::pay_method(lang, &input.method)),
    ];
    d.key_values(&rows);
    d.l.gap(1.0);
    let rule_gray = crate::layout::RULE;
    d.l.rule(0.3, rule_gray);

    let mut lines = vec![(
        d.t(t::AMOUNT_RECEIVED).to_string(),
        money(input.amount_fen),
        true,
    )];
    if let Some((tendered, change)) = change {
        lines.push((d.t(t::TENDERED).into(), money(tendered), false));
        lines.push((d.t(t::CHANGE).into(), money(change), false));
    }
    lines.push((d.t(t::JOB_TOTAL).into(), money(input.job_total_fen), false));
    lines.push((
        d.t(t::PREVIOUSLY_PAID).into(),
        money(input.previously_paid_fen),
        false,
    ));
    lines.push((d.t(t::OUTSTANDING).into(), money(outstanding.max(0)), true));
    d.totals(&lines);
    d.l.gap(3.0);
    let rows = [d.kv(t::RECEIVED_BY, input.technician.clone())];
    d.key_values(&rows);
    d.l.gap(2.0);
    let body = d.s.body;
    d.paragraph(body, DARK, d.t(t::THANKS));

    let m = meta(
        lang,
        t::PAYMENT_TITLE,
        &input.receipt_no,
        &input.company,
        input.issued_at,
    );
    d.finish(m, input.issued_at, &[])
}
