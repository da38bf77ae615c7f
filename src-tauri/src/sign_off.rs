//! From a job as the store holds it to the sign-off sheet's input: plain mapping, no I/O.

use chrono::{DateTime, FixedOffset};
use onsite_docs::{
    Appliance, Company, Customer, CustomerSignature, Lang, Payment, SignOffInput, Signature,
};
use onsite_domain::view::{SignatureView, WorkOrderDetail};

pub fn lang(code: &str) -> Lang {
    if code.starts_with("zh") {
        Lang::ZhCn
    } else {
        Lang::En
    }
}

fn category(code: &str, lang: Lang) -> String {
    let (zh, en) = match code {
        "water_purifier" => ("净水器", "Water purifier"),
        "water_softener" => ("软水机", "Water softener"),
        "water_heater" => ("热水器", "Water heater"),
        other => (other, other),
    };
    match lang {
        Lang::ZhCn => zh.to_string(),
        Lang::En => en.to_string(),
    }
}

pub struct Context<'a> {
    pub company: Company,
    pub technician: &'a str,
    pub issued_at: DateTime<FixedOffset>,
    pub lang: Lang,
    /// The valid signature and its PNG, or the reason the customer did not sign.
    pub signature: Result<(&'a SignatureView, Vec<u8>), String>,
}

/// The sheet prints what the job holds now. Until the visit records diagnosis, priced lines
/// and payments (issue 3), the work done is the technician's notes and there are no lines.
pub fn input(job: &WorkOrderDetail, cx: Context) -> SignOffInput {
    let offset = *cx.issued_at.offset();
    let signature = match cx.signature {
        Ok((sig, png)) => CustomerSignature::Signed(Signature {
            png,
            signer: sig.signer_name.clone(),
            signed_at: sig.signed_at.with_timezone(&offset),
        }),
        Err(reason) => CustomerSignature::NotSigned { reason },
    };
    SignOffInput {
        lang: cx.lang,
        company: cx.company,
        work_order_no: job.summary.order_no.clone(),
        issued_at: cx.issued_at,
        visit_date: job
            .summary
            .appointment_start
            .with_timezone(&offset)
            .date_naive(),
        customer: Customer {
            name: job.customer.name.clone(),
            phone: Some(job.customer.phone.clone()).filter(|p| !p.is_empty()),
            address: job.customer.address.clone(),
        },
        appliance: Appliance {
            product: format!(
                "{} {}",
                job.appliance.brand,
                category(&job.appliance.category, cx.lang)
            )
            .trim()
            .to_string(),
            model: job.appliance.model.clone(),
            serial: job.appliance.serial_no.clone(),
            purchase_date: job.appliance.purchase_date,
        },
        fault_reported: job.reported_fault.clone(),
        fault_found: String::new(),
        work_done: job.notes.clone(),
        items: Vec::new(),
        fee_table_version: String::new(),
        payment: Payment {
            paid_fen: 0,
            method: None,
            invoice_to_follow: false,
        },
        signature,
        technician: cx.technician.to_string(),
        content_hash: job.content_hash.clone(),
    }
}

/// The carry-back receipt for one item, on `paper`.
pub fn carry_back_input(
    job: &WorkOrderDetail,
    item: &onsite_domain::view::CarryBackView,
    png: Vec<u8>,
    company: Company,
    technician: &str,
    lang: Lang,
    paper: onsite_docs::Paper,
    offset: FixedOffset,
) -> onsite_docs::CarryBackInput {
    onsite_docs::CarryBackInput {
        lang,
        paper,
        company,
        receipt_no: item.receipt_no.clone(),
        work_order_no: job.summary.order_no.clone(),
        issued_at: item.taken_at.with_timezone(&offset),
        customer: Customer {
            name: job.customer.name.clone(),
            phone: Some(job.customer.phone.clone()).filter(|p| !p.is_empty()),
            address: job.customer.address.clone(),
        },
        appliance: Appliance {
            product: item.item.clone(),
            model: job.appliance.model.clone(),
            serial: item.serial_no.clone(),
            purchase_date: job.appliance.purchase_date,
        },
        accessories: item.accessories.clone(),
        condition: item.condition.clone(),
        fault: item.fault.clone(),
        expected_return: item.expected_return,
        signature: Signature {
            png,
            signer: item.taken_signer.clone(),
            signed_at: item.taken_at.with_timezone(&offset),
        },
        technician: technician.to_string(),
    }
}
