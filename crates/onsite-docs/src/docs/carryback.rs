//! 4. Carry-back receipt (A4 or 80 mm roll): the appliance goes to the workshop.

use super::common::{meta, non_empty, Doc};
use crate::labels::{self as t, join};
use crate::model::CarryBackInput;
use crate::DocsError;

pub(crate) fn render(input: &CarryBackInput) -> Result<Vec<u8>, DocsError> {
    non_empty(&input.receipt_no, "receipt number is empty")?;
    let lang = input.lang;
    let mut d = Doc::new(lang, input.paper)?;
    d.header(
        &input.company,
        t::CARRY_BACK_TITLE,
        t::RECEIPT_NO,
        &input.receipt_no,
    )?;

    let a = &input.appliance;
    let mut customer = vec![d.kv(t::CUSTOMER, input.customer.name.clone())];
    if let Some(p) = &input.customer.phone {
        customer.push(d.kv(t::CUSTOMER_PHONE, p.clone()));
    }
    customer.push(d.kv(t::ADDRESS, input.customer.address.clone()));
    customer.push(d.kv(t::WORK_ORDER_NO, input.work_order_no.clone()));
    customer.push(d.kv(t::TAKEN_AT, t::date_time(lang, input.issued_at)));
    let mut appliance = vec![
        d.kv(t::APPLIANCE, a.product.clone()),
        d.kv(t::MODEL, a.model.clone()),
        d.kv(
            t::SERIAL,
            a.serial.clone().unwrap_or_else(|| d.t(t::NONE).into()),
        ),
    ];
    if let Some(p) = a.purchase_date {
        appliance.push(d.kv(t::PURCHASE_DATE, t::date(lang, p)));
    }
    let accessories = if input.accessories.is_empty() {
        d.t(t::NONE).to_string()
    } else {
        join(lang, &input.accessories)
    };
    let details = [
        d.kv(t::ACCESSORIES, accessories),
        d.kv(t::CONDITION, input.condition.clone()),
        d.kv(t::FAULT, input.fault.clone()),
        d.kv(t::EXPECTED_RETURN, t::date(lang, input.expected_return)),
    ];

    if d.l.is_roll() {
        d.key_values(&customer);
        d.l.gap(1.0);
        d.key_values(&appliance);
        d.key_values(&details);
    } else {
        d.heading(t::SECTION_CUSTOMER);
        let (label_w, body) = (d.s.label_w, d.s.body);
        d.l.key_values_2col(label_w, body, &customer, &appliance);
        d.l.gap(2.0);
        d.key_values(&details);
    }
    d.l.gap(2.0);
    d.notice(d.t(t::PRESENT_RECEIPT));
    d.l.ensure(45.0);
    d.heading(t::SECTION_SIGNATURE);
    let tech = [d.kv(t::TECHNICIAN, input.technician.clone())];
    d.signature(&input.signature, &tech)?;

    let m = meta(
        lang,
        t::CARRY_BACK_TITLE,
        &input.receipt_no,
        &input.company,
        input.issued_at,
    );
    let notice = d.t(t::PRESENT_RECEIPT).to_string();
    d.finish(m, input.issued_at, &[notice])
}
