//! From a job as the store holds it to the sign-off sheet's input: plain mapping, no I/O.

use chrono::{DateTime, FixedOffset};
use onsite_docs::{
    Appliance, Company, Cover, Customer, CustomerSignature, Lang, LineItem, PayMethod, Payment,
    SignOffInput, Signature,
};
use onsite_domain::rules::{CoveredBy, ItemKind, LineStatus, PricedJob, PricedLine};
use onsite_domain::view::{SignatureView, WorkOrderDetail};
use onsite_store::visit::{Decision, PartUse, PaymentMethod, VisitState};

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
    pub visit: Option<&'a VisitState>,
}

/// The priced lines as the documents print them, reasons in `lang`.
pub fn line_items(job: &PricedJob, lang: Lang) -> Vec<LineItem> {
    job.lines
        .iter()
        .map(|l| LineItem {
            code: l.code.clone(),
            description: match lang {
                Lang::ZhCn => l.name.zh.clone(),
                Lang::En => l.name.en.clone(),
            },
            quantity: l.quantity.max(0) as u32,
            unit_price_fen: l.unit_price.minor,
            cover: cover(l),
            reason: l
                .reasons
                .iter()
                .map(|r| match lang {
                    Lang::ZhCn => r.zh.as_str(),
                    Lang::En => r.en.as_str(),
                })
                .collect::<Vec<_>>()
                .join(match lang {
                    Lang::ZhCn => "；",
                    Lang::En => "; ",
                }),
        })
        .collect()
}

/// Who pays for a line as the documents say it: a covered line by the warranty or by the
/// service contract (`PricedLine::covered_by`); a deposit is charged until the old part
/// is back.
pub fn cover(l: &PricedLine) -> Cover {
    match (l.status, l.covered_by) {
        (LineStatus::Covered, Some(CoveredBy::Contract)) => Cover::Contract,
        (LineStatus::Covered, _) => Cover::Warranty,
        (LineStatus::Charged | LineStatus::Deposit, _) => Cover::Charged,
    }
}

/// The sheet's "work done": the services and parts of the accepted quote (names in
/// `lang`, quantities, the serials fitted and removed), parts taken for the job that are
/// not on it, then the technician's notes; one per line. Empty when the visit recorded
/// none of these (the sheet then prints "—").
pub fn work_done(
    accepted: Option<&PricedJob>,
    parts: &[PartUse],
    notes: &str,
    lang: Lang,
) -> String {
    let zh = lang == Lang::ZhCn;
    let mut out: Vec<String> = Vec::new();
    let mut described: Vec<&str> = Vec::new();
    for l in accepted.map(|q| q.lines.as_slice()).unwrap_or_default() {
        let name = if zh { &l.name.zh } else { &l.name.en };
        let mut line = format!("{name} × {}", l.quantity);
        if l.kind == ItemKind::Part {
            line.push_str(&serials(parts.iter().filter(|p| p.part_no == l.code), lang));
            described.push(&l.code);
        }
        out.push(line);
    }
    // Parts taken for the job that the accepted quote does not list, by part number.
    let mut others: Vec<&str> = parts
        .iter()
        .map(|p| p.part_no.as_str())
        .filter(|no| !described.contains(no))
        .collect();
    others.dedup();
    for no in others {
        let uses = || parts.iter().filter(move |p| p.part_no == no);
        let quantity: i64 = uses().map(|p| p.quantity).sum();
        out.push(format!("{no} × {quantity}{}", serials(uses(), lang)));
    }
    let notes = notes.trim();
    if !notes.is_empty() {
        out.push(if zh {
            format!("技师备注：{notes}")
        } else {
            format!("Technician's notes: {notes}")
        });
    }
    out.join("\n")
}

/// "（装上：A、B；拆下：C）" / " (fitted: A, B; removed: C)", or nothing without serials.
fn serials<'a>(uses: impl Iterator<Item = &'a PartUse> + Clone, lang: Lang) -> String {
    let zh = lang == Lang::ZhCn;
    let list = |get: fn(&PartUse) -> Option<&String>| {
        uses.clone()
            .filter_map(get)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(if zh { "、" } else { ", " })
    };
    let fitted = list(|p| p.serial_fitted.as_ref());
    let removed = list(|p| p.serial_removed.as_ref());
    let mut parts = Vec::new();
    if !fitted.is_empty() {
        parts.push(if zh {
            format!("装上：{fitted}")
        } else {
            format!("fitted: {fitted}")
        });
    }
    if !removed.is_empty() {
        parts.push(if zh {
            format!("拆下：{removed}")
        } else {
            format!("removed: {removed}")
        });
    }
    match (parts.is_empty(), zh) {
        (true, _) => String::new(),
        (false, true) => format!("（{}）", parts.join("；")),
        (false, false) => format!(" ({})", parts.join("; ")),
    }
}

pub fn pay_method(m: PaymentMethod) -> PayMethod {
    match m {
        PaymentMethod::Cash => PayMethod::Cash,
        PaymentMethod::Card => PayMethod::BankCard,
        PaymentMethod::BankTransfer => PayMethod::BankTransfer,
        PaymentMethod::Qr => PayMethod::Other("QR".into()),
    }
}

fn fee_table_label(job: &PricedJob) -> String {
    format!(
        "{} ({})",
        job.fee_table.version, job.fee_table.effective_from
    )
}

/// The sheet prints what the job holds now: the diagnosis and its notes, the current quote's
/// lines (after reversed deposits), what was paid; the work done is built from what the
/// visit recorded ([`work_done`]).
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
        fault_found: cx
            .visit
            .and_then(|v| v.diagnosis.as_ref())
            .map(|d| d.fault_found.clone())
            .unwrap_or_default(),
        diagnosis_notes: cx
            .visit
            .and_then(|v| v.diagnosis.as_ref())
            .map(|d| d.notes.clone())
            .unwrap_or_default(),
        work_done: work_done(
            cx.visit
                .and_then(|v| v.quote.as_ref())
                .filter(|q| {
                    q.decision
                        .as_ref()
                        .is_some_and(|d| d.decision == Decision::Accepted)
                })
                .map(|q| &q.current),
            cx.visit.map(|v| v.parts.as_slice()).unwrap_or_default(),
            &job.notes,
            cx.lang,
        ),
        items: cx
            .visit
            .and_then(|v| v.quote.as_ref())
            .map(|q| line_items(&q.current, cx.lang))
            .unwrap_or_default(),
        fee_table_version: cx
            .visit
            .and_then(|v| v.quote.as_ref())
            .map(|q| fee_table_label(&q.current))
            .unwrap_or_default(),
        payment: Payment {
            paid_fen: cx.visit.map(|v| v.balance.paid_minor).unwrap_or(0),
            method: cx
                .visit
                .and_then(|v| v.payments.last())
                .map(|p| pay_method(p.method)),
            invoice_to_follow: cx
                .visit
                .is_some_and(|v| v.balance.invoiced_later_minor.is_some()),
        },
        signature,
        technician: cx.technician.to_string(),
        content_hash: job.content_hash.clone(),
    }
}

/// Who issues a document, in which language and time zone.
pub struct Issuer {
    pub company: Company,
    pub technician: String,
    pub lang: Lang,
    pub offset: FixedOffset,
}

/// The carry-back receipt for one item, on `paper`.
pub fn carry_back_input(
    job: &WorkOrderDetail,
    item: &onsite_domain::view::CarryBackView,
    png: Vec<u8>,
    paper: onsite_docs::Paper,
    by: &Issuer,
) -> onsite_docs::CarryBackInput {
    let (company, technician, lang, offset) = (
        by.company.clone(),
        by.technician.as_str(),
        by.lang,
        by.offset,
    );
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

/// The quote as shown to the customer; accepted with the time the technician recorded it.
pub fn quote_input(
    job: &WorkOrderDetail,
    quote: &onsite_store::visit::Quote,
    fault_found: String,
    by: &Issuer,
) -> onsite_docs::QuoteInput {
    let (company, technician, lang, offset) = (
        by.company.clone(),
        by.technician.as_str(),
        by.lang,
        by.offset,
    );
    let parse = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&offset))
            .ok()
    };
    let issued_at =
        parse(&quote.issued_at).unwrap_or_else(|| chrono::Utc::now().with_timezone(&offset));
    let acceptance = quote.decision.as_ref().and_then(|d| {
        (d.decision == onsite_store::visit::Decision::Accepted)
            .then(|| parse(&d.at))
            .flatten()
            .map(|at| onsite_docs::Acceptance::Recorded { at })
    });
    onsite_docs::QuoteInput {
        lang,
        company,
        quote_no: format!(
            "Q-{}",
            &quote.id.replace('-', "")[20..].to_ascii_uppercase()
        ),
        work_order_no: job.summary.order_no.clone(),
        issued_at,
        customer: Customer {
            name: job.customer.name.clone(),
            phone: Some(job.customer.phone.clone()).filter(|p| !p.is_empty()),
            address: job.customer.address.clone(),
        },
        appliance: Appliance {
            product: format!(
                "{} {}",
                job.appliance.brand,
                category(&job.appliance.category, lang)
            )
            .trim()
            .to_string(),
            model: job.appliance.model.clone(),
            serial: job.appliance.serial_no.clone(),
            purchase_date: job.appliance.purchase_date,
        },
        fault_found,
        items: line_items(&quote.priced, lang),
        fee_table_version: fee_table_label(&quote.priced),
        valid_until: issued_at.date_naive() + chrono::Duration::days(14),
        acceptance,
        technician: technician.to_string(),
    }
}

/// The receipt for the job's latest payment.
pub fn payment_receipt_input(
    job: &WorkOrderDetail,
    visit: &VisitState,
    paper: onsite_docs::Paper,
    by: &Issuer,
) -> Option<onsite_docs::PaymentReceiptInput> {
    let (company, technician, lang, offset) = (
        by.company.clone(),
        by.technician.as_str(),
        by.lang,
        by.offset,
    );
    let (last, earlier) = visit.payments.split_last()?;
    let at = chrono::DateTime::parse_from_rfc3339(&last.at)
        .ok()?
        .with_timezone(&offset);
    Some(onsite_docs::PaymentReceiptInput {
        lang,
        paper,
        company,
        receipt_no: format!("R-{}", &last.id.replace('-', "")[20..].to_ascii_uppercase()),
        work_order_no: job.summary.order_no.clone(),
        issued_at: at,
        customer_name: job.customer.name.clone(),
        description: visit
            .quote
            .as_ref()
            .map(|q| {
                q.current
                    .lines
                    .iter()
                    .filter(|l| l.status != LineStatus::Covered)
                    .map(|l| match lang {
                        Lang::ZhCn => l.name.zh.clone(),
                        Lang::En => l.name.en.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(match lang {
                        Lang::ZhCn => "、",
                        Lang::En => ", ",
                    })
            })
            .unwrap_or_default(),
        job_total_fen: visit.balance.due_minor,
        previously_paid_fen: earlier.iter().map(|p| p.amount_minor).sum(),
        amount_fen: last.amount_minor,
        method: pay_method(last.method),
        tendered_fen: last.tendered_minor,
        technician: technician.to_string(),
    })
}

/// The day-end summary of `day`.
pub fn day_end_input(day: &onsite_store::dayend::DayEnd, by: &Issuer) -> onsite_docs::DayEndInput {
    use onsite_docs::{
        DayJob, DayPayment, Expense, ExpenseKind, JobOutcome, OpenCarryBack, PartMovement,
    };
    let name = |zh: &str, en: &str| match by.lang {
        Lang::ZhCn => zh.to_string(),
        Lang::En => en.to_string(),
    };
    let movement = |p: &onsite_store::dayend::PartLine| PartMovement {
        part_no: p.part_no.clone(),
        description: name(&p.name_zh, &p.name_en),
        quantity: p.quantity.max(0) as u32,
        serial: p.serial.clone(),
        work_order_no: p.order_no.clone(),
    };
    let mut expenses = Vec::new();
    if let Some(e) = &day.expense {
        let yuan = |m: i64| format!("¥{}.{:02}", m / 100, m % 100);
        expenses.push(Expense {
            kind: ExpenseKind::Mileage,
            description: format!("{} km × {}", e.km, yuan(e.rates.per_km_minor)),
            amount_fen: e.mileage_minor,
        });
        expenses.push(Expense {
            kind: ExpenseKind::Meals,
            description: format!("{} × {}", e.meal_days, yuan(e.rates.meal_per_day_minor)),
            amount_fen: e.meals_minor,
        });
        expenses.push(Expense {
            kind: ExpenseKind::Lodging,
            description: format!("{} × {}", e.nights, yuan(e.rates.lodging_per_night_minor)),
            amount_fen: e.lodging_minor,
        });
    }
    onsite_docs::DayEndInput {
        lang: by.lang,
        company: by.company.clone(),
        technician: by.technician.clone(),
        date: day.date,
        issued_at: chrono::Utc::now().with_timezone(&by.offset),
        jobs: day
            .jobs
            .iter()
            .map(|j| DayJob {
                work_order_no: j.order_no.clone(),
                customer_name: j.customer_name.clone(),
                summary: j.summary.clone(),
                outcome: if j.carried_back {
                    JobOutcome::CarriedBack
                } else if j.status == onsite_domain::WorkOrderStatus::Completed {
                    JobOutcome::Completed
                } else {
                    JobOutcome::NotCompleted
                },
                charged_fen: j.due_minor,
            })
            .collect(),
        parts_used: day.parts_used.iter().map(movement).collect(),
        parts_returned: day.parts_returned.iter().map(movement).collect(),
        payments: day
            .payments
            .iter()
            .map(|p| DayPayment {
                work_order_no: p.order_no.clone(),
                method: match p.method.as_str() {
                    "cash" => PayMethod::Cash,
                    "card" => PayMethod::BankCard,
                    "bank_transfer" => PayMethod::BankTransfer,
                    _ => PayMethod::Other("QR".into()),
                },
                amount_fen: p.amount_minor,
            })
            .collect(),
        carry_backs_open: day
            .carry_backs_open
            .iter()
            .map(|c| OpenCarryBack {
                receipt_no: c.receipt_no.clone(),
                customer_name: c.customer_name.clone(),
                appliance: c.item.clone(),
                taken_on: c.taken_at.with_timezone(&by.offset).date_naive(),
                expected_return: c.expected_return,
            })
            .collect(),
        expenses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onsite_domain::money::Money;
    use onsite_domain::rules::{Bilingual, FeeTableStamp, OldPartState, Totals};

    fn line(
        code: &str,
        zh: &str,
        en: &str,
        kind: ItemKind,
        quantity: i32,
        status: LineStatus,
        covered_by: Option<CoveredBy>,
    ) -> PricedLine {
        let price = Money::cny(2000);
        PricedLine {
            code: code.into(),
            name: Bilingual::new(zh, en),
            kind,
            component: None,
            quantity,
            unit_price: price,
            price_set_by_technician: false,
            amount: Money::cny(2000 * i64::from(quantity)),
            status,
            covered_by,
            old_part: (kind == ItemKind::Part).then_some(OldPartState::Exempt),
            charged: Money::cny(0),
            includes: Vec::new(),
            reasons: Vec::new(),
        }
    }

    fn job(lines: Vec<PricedLine>) -> PricedJob {
        let zero = Money::cny(0);
        PricedJob {
            fee_table: FeeTableStamp {
                version: "FT-1".into(),
                effective_from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            },
            work_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
            lines,
            totals: Totals {
                gross: zero,
                covered: zero,
                deposit: zero,
                charged: zero,
                due: zero,
            },
        }
    }

    fn used(part_no: &str, quantity: i64, fitted: Option<&str>, removed: Option<&str>) -> PartUse {
        PartUse {
            id: format!("use-{part_no}-{quantity}"),
            part_id: format!("p-{part_no}"),
            part_no: part_no.into(),
            quantity,
            serial_fitted: fitted.map(Into::into),
            serial_removed: removed.map(Into::into),
            override_reason: None,
            at: "2026-11-29T10:00:00+08:00".into(),
            old_returned: 0,
        }
    }

    fn repair() -> PricedJob {
        job(vec![
            line(
                "REPLACE",
                "更换滤芯或配件",
                "Replace a filter or part",
                ItemKind::Service,
                1,
                LineStatus::Charged,
                None,
            ),
            line(
                "RO-600",
                "RO反渗透膜",
                "RO membrane",
                ItemKind::Part,
                1,
                LineStatus::Covered,
                Some(CoveredBy::Warranty),
            ),
            line(
                "PP-10",
                "PP棉滤芯",
                "PP filter",
                ItemKind::Part,
                2,
                LineStatus::Charged,
                None,
            ),
        ])
    }

    #[test]
    fn work_done_lists_services_and_parts_with_quantities_serials_and_notes() {
        let parts = [
            used("RO-600", 1, Some("RO-NEW-1"), Some("RO-OLD-9")),
            used("PP-10", 2, None, None),
            used("CTO-10", 1, Some("C-1"), None),
        ];
        assert_eq!(
            work_done(Some(&repair()), &parts, "  试机30分钟无渗漏  ", Lang::ZhCn),
            "更换滤芯或配件 × 1\n\
             RO反渗透膜 × 1（装上：RO-NEW-1；拆下：RO-OLD-9）\n\
             PP棉滤芯 × 2\n\
             CTO-10 × 1（装上：C-1）\n\
             技师备注：试机30分钟无渗漏"
        );
        assert_eq!(
            work_done(Some(&repair()), &parts[..1], "", Lang::En),
            "Replace a filter or part × 1\n\
             RO membrane × 1 (fitted: RO-NEW-1; removed: RO-OLD-9)\n\
             PP filter × 2"
        );
    }

    #[test]
    fn work_done_is_empty_when_the_visit_recorded_nothing_and_notes_alone_otherwise() {
        assert_eq!(work_done(None, &[], "", Lang::ZhCn), "");
        assert_eq!(work_done(None, &[], "   ", Lang::En), "");
        assert_eq!(
            work_done(None, &[], "Customer away; neighbour let us in", Lang::En),
            "Technician's notes: Customer away; neighbour let us in"
        );
    }

    #[test]
    fn contract_lines_are_contract_warranty_lines_warranty_deposits_charged() {
        let mut l = line(
            "MAINT",
            "保养",
            "Maintain",
            ItemKind::Service,
            1,
            LineStatus::Covered,
            Some(CoveredBy::Contract),
        );
        assert_eq!(cover(&l), Cover::Contract);
        l.covered_by = Some(CoveredBy::Warranty);
        assert_eq!(cover(&l), Cover::Warranty);
        l.status = LineStatus::Deposit;
        assert_eq!(cover(&l), Cover::Charged);
        l.status = LineStatus::Charged;
        l.covered_by = None;
        assert_eq!(cover(&l), Cover::Charged);
        let items = line_items(&repair(), Lang::ZhCn);
        assert_eq!(
            items.iter().map(|i| i.cover).collect::<Vec<_>>(),
            vec![Cover::Charged, Cover::Warranty, Cover::Charged]
        );
        assert_eq!(items[1].description, "RO反渗透膜");
    }
}
