//! The server's sync rules as pure functions, shared by every storage backend: what to do
//! with a technician's op given the work order as head office has it now, and the checks on
//! head-office input. Tested by tables of cases below.

use chrono::{DateTime, NaiveDate, Utc};
use onsite_api::{
    is_sha256_hex, Appliance, CompanyProfile, Customer, FeeTablePublish, NewPartsIssue,
    NewWorkOrder, OpPayload, PartsCataloguePublish, PayloadError, PriceListPublish, QuoteAnswer,
    RejectCode, ReturnKind, ReviewReason, WorkOrderUpdate,
};
use onsite_domain::carryback::CarryBackState;
use onsite_domain::rules::ItemKind;
use onsite_domain::view::ProofKind;
use onsite_domain::{Money, WorkOrderStatus};
use std::collections::HashSet;
use uuid::Uuid;

/// The longest free text accepted in a fact or a head-office field.
pub const MAX_TEXT: usize = 10_000;

/// The longest addendum (a note after completion), as the device allows.
pub const MAX_ADDENDUM: usize = 2_000;

/// Whether a fact changes the content a customer's signature vouches for
/// ([`signed_content`]): the notes, the diagnosis' fault found, the quote's lines.
pub fn changes_signed_content(payload: &OpPayload) -> bool {
    matches!(
        payload,
        OpPayload::EditNotes(_) | OpPayload::RecordDiagnosis(_) | OpPayload::IssueQuote(_)
    )
}

/// The technician's notes as they last left them (the latest notes edit), if they edited
/// them.
pub fn technician_notes(facts: &[OpPayload]) -> Option<String> {
    facts.iter().rev().find_map(|f| match f {
        OpPayload::EditNotes(n) => Some(n.notes.clone()),
        _ => None,
    })
}

/// Whether a job completed on a customer's signature needs an office look after a fact
/// that changes the signed content arrived (`facts`: every fact, this one included, oldest
/// first): the latest customer signature no longer matches the job's content as head
/// office holds it. A closed job's content should not change (the device sends a note
/// after completion as an addendum); an older device's edit is flagged, not refused.
pub fn closed_content_review(
    order: &onsite_api::WorkOrder,
    facts: &[OpPayload],
) -> Option<ReviewReason> {
    if !matches!(
        order.status,
        WorkOrderStatus::Completed | WorkOrderStatus::UnableToComplete
    ) || !facts.last().is_some_and(changes_signed_content)
    {
        return None;
    }
    let signature = facts.iter().rev().find_map(|f| match f {
        OpPayload::AttachSignature(s) if s.signer == onsite_api::Signer::Customer => Some(s),
        _ => None,
    })?;
    signature_review(signature, &signed_content(order, facts).hash())
}

/// What the server knows of a work order when an op arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkOrderState {
    /// The currently assigned technician.
    pub technician_id: Option<Uuid>,
    /// The current status.
    pub status: WorkOrderStatus,
    /// Whether the op's technician was ever assigned this order.
    pub ever_assigned_to_op_technician: bool,
}

/// The decision for one op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Permanently refused: record the rejection, move on.
    Reject(RejectCode, String),
    /// Store the fact.
    Store {
        /// Move the order to this status (a technician's valid transition).
        new_status: Option<WorkOrderStatus>,
        /// Flag the order for office review.
        flag: Option<ReviewReason>,
    },
}

fn reject(code: RejectCode, reason: impl Into<String>) -> Decision {
    Decision::Reject(code, reason.into())
}

/// Checks a parsed payload's content. The messages name fields, never values.
pub fn check_payload(payload: &OpPayload) -> Result<(), String> {
    fn text(name: &str, value: &str) -> Result<(), String> {
        if value.chars().count() > MAX_TEXT {
            return Err(format!("{name} is longer than {MAX_TEXT} characters"));
        }
        Ok(())
    }
    fn required(name: &str, value: &str) -> Result<(), String> {
        if value.trim().is_empty() {
            return Err(format!("{name} must not be blank"));
        }
        text(name, value)
    }
    match payload {
        OpPayload::ChangeStatus(p) => {
            if matches!(p.to, WorkOrderStatus::Assigned | WorkOrderStatus::Cancelled) {
                return Err(format!(
                    "a technician cannot set status {}; head office does",
                    p.to.as_str()
                ));
            }
            if p.to == WorkOrderStatus::UnableToComplete
                && p.reason.as_deref().is_none_or(|r| r.trim().is_empty())
            {
                return Err("reason is required for unable_to_complete".into());
            }
            text("reason", p.reason.as_deref().unwrap_or(""))
        }
        OpPayload::RecordWork(p) => {
            required("service_code", &p.service_code)?;
            text("description", &p.description)?;
            if p.charge.minor < 0 {
                return Err("charge must not be negative".into());
            }
            if p.fee_table_version < 1 {
                return Err("fee_table_version must be at least 1".into());
            }
            Ok(())
        }
        OpPayload::ConsumePart(p) => {
            required("part_no", &p.part_no)?;
            text("serial_no", p.serial_no.as_deref().unwrap_or(""))?;
            if p.quantity == 0 {
                return Err("quantity must be at least 1".into());
            }
            if let Some(price) = p.unit_price {
                not_negative("unit_price", price)?;
            }
            text("serial_removed", p.serial_removed.as_deref().unwrap_or(""))?;
            text(
                "stock_override_reason",
                p.stock_override_reason.as_deref().unwrap_or(""),
            )
        }
        OpPayload::AttachSignature(p) => {
            if !is_sha256_hex(&p.blob_sha256) {
                return Err("blob_sha256 must be 64 lowercase hex digits".into());
            }
            text("signer_name", p.signer_name.as_deref().unwrap_or(""))?;
            // A content hash that is not one is not refused: it cannot match, so the
            // signature is stored and flagged like any mismatch.
            text("content_hash", p.content_hash.as_deref().unwrap_or(""))
        }
        OpPayload::AttachDocument(p) => {
            if !is_sha256_hex(&p.blob_sha256) {
                return Err("blob_sha256 must be 64 lowercase hex digits".into());
            }
            required("doc_type", &p.doc_type)?;
            required("content_type", &p.content_type)
        }
        OpPayload::TakePayment(p) => {
            if p.amount.minor <= 0 {
                return Err("amount must be positive".into());
            }
            for (name, m) in [("tendered", p.tendered), ("change", p.change)] {
                m.map_or(Ok(()), |m| not_negative(name, m))?;
            }
            text("receipt_no", p.receipt_no.as_deref().unwrap_or(""))
        }
        OpPayload::EditNotes(p) => text("notes", &p.notes),
        OpPayload::AddAddendum(p) => {
            required("text", &p.text)?;
            if p.text.trim().chars().count() > MAX_ADDENDUM {
                return Err(format!("text is longer than {MAX_ADDENDUM} characters"));
            }
            Ok(())
        }
        OpPayload::RecordDiagnosis(p) => {
            text("fault_found", &p.fault_found)?;
            text("notes", &p.notes)?;
            if p.components.len() > 50 || p.exclusions.len() > 50 || p.photos.len() > 50 {
                return Err("more than 50 components, exclusions or photos".into());
            }
            for c in &p.components {
                required("components", c)?;
            }
            if p.photos.iter().any(|ph| !is_sha256_hex(&ph.sha256)) {
                return Err("photos[].sha256 must be 64 lowercase hex digits".into());
            }
            Ok(())
        }
        OpPayload::IssueQuote(p) => {
            if p.fee_table_version < 1 {
                return Err("fee_table_version must be at least 1".into());
            }
            if p.lines.is_empty() || p.lines.len() > 200 {
                return Err("a quote needs 1 to 200 lines".into());
            }
            for l in &p.lines {
                required("lines[].code", &l.code)?;
                if l.quantity == 0 {
                    return Err("lines[].quantity must be at least 1".into());
                }
                not_negative("lines[].unit_price", l.unit_price)?;
                not_negative("lines[].charged", l.charged)?;
            }
            for (name, m) in [
                ("gross", p.gross),
                ("covered", p.covered),
                ("deposit", p.deposit),
                ("charged", p.charged),
                ("due", p.due),
            ] {
                not_negative(name, m)?;
            }
            Ok(())
        }
        OpPayload::RecordQuoteDecision(p) => {
            not_negative("callout", p.callout)?;
            text("reason", p.reason.as_deref().unwrap_or(""))?;
            match (p.decision, p.status_to) {
                (QuoteAnswer::Accepted, Some(_)) => {
                    Err("an accepted quote does not change the status".into())
                }
                (QuoteAnswer::Declined, Some(to)) if to != WorkOrderStatus::UnableToComplete => {
                    Err("a declined quote ends the visit as unable_to_complete".into())
                }
                (QuoteAnswer::Declined, Some(_))
                    if p.reason.as_deref().is_none_or(|r| r.trim().is_empty()) =>
                {
                    Err("reason is required for unable_to_complete".into())
                }
                _ => Ok(()),
            }
        }
        OpPayload::ReturnPart(p) => {
            required("part_id", &p.part_id)?;
            text("serial", p.serial.as_deref().unwrap_or(""))?;
            if p.quantity == 0 {
                return Err("quantity must be at least 1".into());
            }
            not_negative("reversed", p.reversed)?;
            if p.return_kind == ReturnKind::Old
                && (p.work_order_id.is_none() || p.part_use_id.is_none())
            {
                return Err("an old part needs work_order_id and part_use_id".into());
            }
            Ok(())
        }
        OpPayload::StockTake(p) => {
            if p.lines.is_empty() || p.lines.len() > 10_000 {
                return Err("a stock-take needs 1 to 10,000 lines".into());
            }
            let mut seen = HashSet::new();
            for l in &p.lines {
                required("lines[].part_id", &l.part_id)?;
                if !seen.insert(l.part_id.as_str()) {
                    return Err("a part is counted twice".into());
                }
                if l.counted < 0 {
                    return Err("lines[].counted must not be negative".into());
                }
                if l.counted.checked_sub(l.expected) != Some(l.difference) {
                    return Err("lines[].difference must be counted - expected".into());
                }
            }
            Ok(())
        }
        OpPayload::InvoiceLater(p) => {
            if p.amount.minor <= 0 {
                return Err("amount must be positive".into());
            }
            Ok(())
        }
        OpPayload::RecordFeedback(p) => {
            if !(1..=5).contains(&p.rating) {
                return Err("rating must be 1 to 5".into());
            }
            text("comment", &p.comment)
        }
        OpPayload::RecordExpense(p) => {
            if p.km < 0 || p.meal_days < 0 || p.nights < 0 {
                return Err("km, meal_days and nights must not be negative".into());
            }
            for (name, m) in [
                ("per_km", p.per_km),
                ("meal_per_day", p.meal_per_day),
                ("lodging_per_night", p.lodging_per_night),
                ("mileage", p.mileage),
                ("meals", p.meals),
                ("lodging", p.lodging),
            ] {
                not_negative(name, m)?;
            }
            let sum = p
                .mileage
                .minor
                .checked_add(p.meals.minor)
                .and_then(|s| s.checked_add(p.lodging.minor));
            if sum != Some(p.total.minor) {
                return Err("total must be mileage + meals + lodging".into());
            }
            Ok(())
        }
        OpPayload::TakeCarryBack(p) => {
            required("receipt_no", &p.receipt_no)?;
            if p.receipt_no.chars().count() > 100 {
                return Err("receipt_no is longer than 100 characters".into());
            }
            required("item", &p.item)?;
            text("serial_no", p.serial_no.as_deref().unwrap_or(""))?;
            text("condition", &p.condition)?;
            text("fault", &p.fault)?;
            if p.accessories.len() > 50 || p.photos.len() > 20 {
                return Err("more than 50 accessories or 20 photos".into());
            }
            for a in &p.accessories {
                text("accessories", a)?;
            }
            if p.photos.iter().any(|ph| !is_sha256_hex(ph)) {
                return Err("photos[] must be 64 lowercase hex digits".into());
            }
            if p.expected_return < p.at.date_naive() - chrono::Days::new(1) {
                // The device checks against its local date; a day's slack for time zones.
                return Err("expected_return is before the day it was taken".into());
            }
            required("signer_name", &p.signer_name)?;
            if !is_sha256_hex(&p.png_sha256) {
                return Err("png_sha256 must be 64 lowercase hex digits".into());
            }
            Ok(())
        }
        OpPayload::AdvanceCarryBack(p) => {
            if p.to == CarryBackState::Returned || p.from.next() != Some(p.to) {
                return Err(format!(
                    "a carry-back cannot go from {} to {}",
                    p.from.as_str(),
                    p.to.as_str()
                ));
            }
            Ok(())
        }
        OpPayload::ReturnCarryBack(p) => {
            let note = p.receipt_lost_note.as_deref().unwrap_or("");
            match p.receipt_collected {
                false if note.trim().is_empty() => {
                    return Err("a lost receipt needs receipt_lost_note".into())
                }
                true if p.receipt_lost_note.is_some() => {
                    return Err("receipt_lost_note is only for a receipt not collected".into())
                }
                _ => text("receipt_lost_note", note)?,
            }
            required("signer_name", &p.signer_name)?;
            if !is_sha256_hex(&p.png_sha256) {
                return Err("png_sha256 must be 64 lowercase hex digits".into());
            }
            Ok(())
        }
    }
}

fn not_negative(name: &str, m: Money) -> Result<(), String> {
    if m.minor < 0 {
        return Err(format!("{name} must not be negative"));
    }
    Ok(())
}

/// The day a fact belongs to when it is the technician's rather than a work order's (a
/// van stock-take, the day's expenses, unused stock returned without a job); `None` for
/// work-order facts. Stock-takes and returns belong to the local day the technician saw
/// when recording them (`day`), or, from older devices that do not send it, to the UTC
/// date of their `at`.
pub fn technician_day(payload: &OpPayload) -> Option<NaiveDate> {
    match payload {
        OpPayload::RecordExpense(p) => Some(p.day),
        OpPayload::StockTake(p) => Some(p.day.unwrap_or_else(|| p.at.date_naive())),
        OpPayload::ReturnPart(p) if p.work_order_id.is_none() => {
            Some(p.day.unwrap_or_else(|| p.at.date_naive()))
        }
        _ => None,
    }
}

/// The job's content as a customer's signature vouches for it
/// (`onsite_domain::signoff::SignedContent`, docs/signatures.md), recomputed from what head
/// office holds: the work order as it is now (order number, customer, appliance, reported
/// fault, head office's notes) and the technician's facts on it, oldest first (the latest
/// diagnosis' fault found, the latest notes edit, the latest quote's lines). The device
/// computes the same from its copy of the job when the customer signs.
pub fn signed_content(
    order: &onsite_api::WorkOrder,
    facts: &[OpPayload],
) -> onsite_domain::signoff::SignedContent {
    use onsite_domain::signoff::{SignedContent, SignedLine};
    let mut fault_found = String::new();
    let mut notes = order.notes.clone();
    let mut lines = Vec::new();
    for fact in facts {
        match fact {
            OpPayload::RecordDiagnosis(d) => fault_found.clone_from(&d.fault_found),
            OpPayload::EditNotes(n) => notes.clone_from(&n.notes),
            OpPayload::IssueQuote(q) => {
                lines = q
                    .lines
                    .iter()
                    .map(|l| SignedLine {
                        code: l.code.clone(),
                        quantity: l.quantity,
                        amount_minor: l.charged.minor,
                        covered: l.status == onsite_domain::rules::LineStatus::Covered,
                    })
                    .collect();
            }
            _ => {}
        }
    }
    SignedContent {
        version: 1,
        order_no: order.order_no.clone(),
        customer_name: order.customer.name.clone(),
        customer_phone: order.customer.phone.clone(),
        customer_address: order.customer.address.clone(),
        appliance_model: order.appliance.model.clone(),
        appliance_serial: order.appliance.serial_no.clone(),
        purchase_date: order.appliance.purchase_date,
        reported_fault: order.reported_fault.clone(),
        fault_found,
        notes,
        lines,
    }
}

/// Whether a signature needs an office look: its content hash (when the device sent one;
/// older devices do not) differs from the hash of the job's content as head office holds
/// it (`expected`, from [`signed_content`]). The signature is stored either way: a
/// mismatch is flagged ([`ReviewReason::SignatureMismatch`]), never refused.
pub fn signature_review(signature: &onsite_api::Signature, expected: &str) -> Option<ReviewReason> {
    let sent = signature.content_hash.as_deref()?;
    (!sent.eq_ignore_ascii_case(expected)).then_some(ReviewReason::SignatureMismatch)
}

/// How far before head office receives it a fact may say it happened: a device offline
/// for years is not a device in service (issue 12: dates in a sane window).
pub const FACT_PAST_DAYS: i64 = 5 * 366;
/// How far after: a device's clock may run ahead, not by more than a week.
pub const FACT_FUTURE_DAYS: i64 = 7;
/// How far ahead a carry-back's promised return date may be.
pub const RETURN_FUTURE_DAYS: i64 = 2 * 366;

/// Checks the dates a fact carries against `received`, the time head office received it:
/// when it happened (`at`) and the calendar days it names (visit, work, filing day,
/// expenses' day) within [`FACT_PAST_DAYS`] before and [`FACT_FUTURE_DAYS`] after; a
/// carry-back's promised return up to [`RETURN_FUTURE_DAYS`] ahead. Nothing here can
/// overflow: the bounds are computed with checked arithmetic, and a bound that cannot be
/// represented refuses the fact. Messages name fields, never values.
pub fn check_dates(payload: &OpPayload, received: DateTime<Utc>) -> Result<(), String> {
    let bound = |days: i64| received.checked_add_signed(chrono::Duration::days(days));
    let (Some(earliest), Some(latest), Some(latest_return)) = (
        bound(-FACT_PAST_DAYS),
        bound(FACT_FUTURE_DAYS),
        bound(RETURN_FUTURE_DAYS),
    ) else {
        return Err("head office's clock is out of range".into());
    };
    let at = payload.at();
    if at < earliest || at > latest {
        return Err(format!(
            "at is more than {FACT_PAST_DAYS} days before or {FACT_FUTURE_DAYS} days after head office received it"
        ));
    }
    let day = |name: &str, d: NaiveDate, latest: DateTime<Utc>| {
        if d < earliest.date_naive() || d > latest.date_naive() {
            Err(format!("{name} is outside the dates head office accepts"))
        } else {
            Ok(())
        }
    };
    match payload {
        OpPayload::IssueQuote(p) => {
            day("visit_date", p.visit_date, latest)?;
            day("work_date", p.work_date, latest)
        }
        OpPayload::ReturnPart(p) => p.day.map_or(Ok(()), |d| day("day", d, latest)),
        OpPayload::StockTake(p) => p.day.map_or(Ok(()), |d| day("day", d, latest)),
        OpPayload::RecordExpense(p) => day("day", p.day, latest),
        OpPayload::TakeCarryBack(p) => day("expected_return", p.expected_return, latest_return),
        _ => Ok(()),
    }
}

/// Decides what to do with a technician-day fact ([`technician_day`]): stored for the
/// device's own technician (the token says who), after the payload and date checks. There
/// is no work order to conflict with, so nothing is flagged.
pub fn decide_technician_day(payload: &OpPayload, received: DateTime<Utc>) -> Decision {
    if let Err(why) = check_payload(payload).and_then(|()| check_dates(payload, received)) {
        return reject(RejectCode::BadPayload, why);
    }
    Decision::Store {
        new_status: None,
        flag: None,
    }
}

/// Decides what to do with an op from `technician` about a work order in state `order`
/// (`None`: no such order). `blob_present` says whether the blob the payload references
/// (if any) is stored.
///
/// Head office wins on assignment, schedule and prices; the technician's facts are never
/// dropped: a fact on a job cancelled or reassigned meanwhile is stored and the job flagged.
pub fn decide(
    payload: &Result<OpPayload, PayloadError>,
    entity_id: Uuid,
    order: Option<&WorkOrderState>,
    technician: Uuid,
    blob_present: bool,
    received: DateTime<Utc>,
) -> Decision {
    let payload = match payload {
        Ok(p) => p,
        Err(PayloadError::UnknownKind) => {
            return reject(
                RejectCode::UnknownKind,
                "this server does not know the op kind",
            )
        }
        Err(PayloadError::Shape(why)) => return reject(RejectCode::BadPayload, why.clone()),
    };
    if let Err(why) = check_payload(payload).and_then(|()| check_dates(payload, received)) {
        return reject(RejectCode::BadPayload, why);
    }
    let Some(order) = order else {
        return reject(RejectCode::UnknownWorkOrder, "no such work order");
    };
    if !order.ever_assigned_to_op_technician {
        return reject(
            RejectCode::NotYourWorkOrder,
            "the work order was never assigned to this technician",
        );
    }
    if payload.blob_sha256().is_some() && !blob_present {
        return reject(
            RejectCode::BlobMissing,
            "the referenced blob has not been uploaded",
        );
    }
    if order.status == WorkOrderStatus::Cancelled {
        return Decision::Store {
            new_status: None,
            flag: Some(ReviewReason::CancelledBeforeSync),
        };
    }
    if order.technician_id != Some(technician) {
        return Decision::Store {
            new_status: None,
            flag: Some(ReviewReason::ReassignedBeforeSync),
        };
    }
    // A part return about a job must be sent for that job.
    if let OpPayload::ReturnPart(p) = payload {
        if p.work_order_id.is_some_and(|w| w != entity_id) {
            return reject(
                RejectCode::BadPayload,
                "work_order_id differs from the op's entity_id",
            );
        }
    }
    // A declined quote moves the job like a status change.
    let status_to = match payload {
        OpPayload::ChangeStatus(p) => Some((p.to, p.reason.as_deref())),
        OpPayload::RecordQuoteDecision(p) => p.status_to.map(|to| (to, p.reason.as_deref())),
        _ => None,
    };
    match status_to {
        Some((to, _)) if to == order.status => Decision::Store {
            new_status: None,
            flag: None,
        },
        Some((to, reason)) => match order.status.check_transition(to, reason) {
            Ok(()) => Decision::Store {
                new_status: Some(to),
                flag: None,
            },
            Err(_) => Decision::Store {
                new_status: None,
                flag: Some(ReviewReason::StatusConflict),
            },
        },
        None => Decision::Store {
            new_status: None,
            flag: None,
        },
    }
}

fn check_text(name: &str, value: &str, required: bool, max: usize) -> Result<(), String> {
    if required && value.trim().is_empty() {
        return Err(format!("{name} must not be blank"));
    }
    if value.chars().count() > max {
        return Err(format!("{name} is longer than {max} characters"));
    }
    Ok(())
}

/// A technician's or device's name.
pub fn check_name(name: &str, value: &str) -> Result<(), String> {
    check_text(name, value, true, 100)
}

/// The languages a customer's documents and quote can be in.
pub const LANGUAGES: [&str; 2] = ["zh-CN", "en"];

/// The most maintenance contracts one appliance may carry.
pub const MAX_CONTRACTS: usize = 10;

fn check_customer(c: &Customer) -> Result<(), String> {
    check_text("customer.name", &c.name, true, 200)?;
    check_text("customer.phone", &c.phone, false, 64)?;
    check_text("customer.address", &c.address, true, 500)?;
    if !LANGUAGES.contains(&c.language.as_str()) {
        return Err("customer.language must be \"zh-CN\" or \"en\"".into());
    }
    Ok(())
}

/// Checks an appliance: the texts, the proof of purchase and the contracts.
///
/// A proof of kind `none` carries no date and no seal. A receipt or invoice *without* a
/// date (or seal) is accepted: it is what head office saw, and the device's entitlement
/// rules then charge with the reason "the proof shows no date" (or "has no seal"), which
/// is the truth. Whether the proof's date is after the visit is the device's check (it
/// knows the visit date); head office does not compare it with today.
fn check_appliance(a: &Appliance) -> Result<(), String> {
    check_text("appliance.category", &a.category, true, 200)?;
    check_text("appliance.brand", &a.brand, false, 200)?;
    check_text("appliance.model", &a.model, false, 200)?;
    check_text(
        "appliance.serial_no",
        a.serial_no.as_deref().unwrap_or(""),
        false,
        200,
    )?;
    if let Some(p) = &a.proof {
        if p.kind == ProofKind::None && (p.date.is_some() || p.sealed) {
            return Err(
                "appliance.proof: a proof of kind \"none\" has no date and is not sealed".into(),
            );
        }
    }
    if a.contracts.len() > MAX_CONTRACTS {
        return Err(format!(
            "appliance.contracts: at most {MAX_CONTRACTS} contracts"
        ));
    }
    for c in &a.contracts {
        check_text("appliance.contracts[].reference", &c.reference, true, 64)?;
        if c.valid_to < c.valid_from {
            return Err("appliance.contracts[].valid_to is before valid_from".into());
        }
    }
    Ok(())
}

/// Checks a new work order.
pub fn check_new_work_order(w: &NewWorkOrder) -> Result<(), String> {
    check_text("order_no", &w.order_no, true, 64)?;
    check_customer(&w.customer)?;
    check_appliance(&w.appliance)?;
    check_text("reported_fault", &w.reported_fault, false, MAX_TEXT)?;
    check_text("notes", &w.notes, false, MAX_TEXT)?;
    if w.appointment_end < w.appointment_start {
        return Err("appointment_end is before appointment_start".into());
    }
    Ok(())
}

/// Checks an update (only the fields present).
pub fn check_update(u: &WorkOrderUpdate) -> Result<(), String> {
    if let Some(c) = &u.customer {
        check_customer(c)?;
    }
    if let Some(a) = &u.appliance {
        check_appliance(a)?;
    }
    if let Some(t) = &u.reported_fault {
        check_text("reported_fault", t, false, MAX_TEXT)?;
    }
    if let Some(t) = &u.notes {
        check_text("notes", t, false, MAX_TEXT)?;
    }
    Ok(())
}

fn unique<'a>(what: &str, keys: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut seen = HashSet::new();
    for k in keys {
        check_text(what, k, true, 64)?;
        if !seen.insert(k) {
            return Err(format!("{what} values must be unique"));
        }
    }
    Ok(())
}

/// Whether `s` is a category or component name: 1 to 64 of `a-z`, `0-9`, `_`.
fn is_code_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks a fee table: a category, at least one item, unique codes, no negative fee, and
/// bundles the device's pricing rules accept (`onsite_domain::rules::FeeTableVersion::
/// validate`): a bundle (`includes` not empty) is a fixed-price service naming two or more
/// distinct codes of the same table. Its own code may be among them (`MAINT` including
/// `MAINT` and `REPLACE`: parts found needed during maintenance cost only the parts), as
/// the domain's bundles allow; the other codes may be any kind (the device prices an item
/// named in a bundle as a service: the demo's REPLACE is labour).
pub fn check_fee_table(p: &FeeTablePublish) -> Result<(), String> {
    if !is_code_name(&p.category) {
        return Err("category must be 1 to 64 characters of a-z, 0-9 and _".into());
    }
    if p.items.is_empty() {
        return Err("a fee table needs at least one item".into());
    }
    unique("items[].code", p.items.iter().map(|i| i.code.as_str()))?;
    let codes: HashSet<&str> = p.items.iter().map(|i| i.code.as_str()).collect();
    for i in &p.items {
        check_text("items[].description", &i.description, false, 500)?;
        check_text("items[].name_zh", &i.name_zh, false, 200)?;
        check_text("items[].name_en", &i.name_en, false, 200)?;
        if i.fee.minor < 0 {
            return Err("items[].fee must not be negative".into());
        }
        if i.includes.is_empty() {
            continue;
        }
        // Item codes are head office's codes, not customer data: naming them helps.
        let code = &i.code;
        if i.kind != ItemKind::Service {
            return Err(format!(
                "items[].includes: only a service can be a bundle ({code} is not one)"
            ));
        }
        if i.open_priced {
            return Err(format!(
                "items[].includes: an open-priced item cannot be a bundle ({code})"
            ));
        }
        let distinct: HashSet<&str> = i.includes.iter().map(String::as_str).collect();
        if distinct.len() != i.includes.len() {
            return Err(format!(
                "items[].includes names a code twice (bundle {code})"
            ));
        }
        if distinct.len() < 2 {
            return Err(format!(
                "items[].includes needs two or more distinct codes (bundle {code})"
            ));
        }
        if i.includes.iter().any(|c| !codes.contains(c.as_str())) {
            return Err(format!(
                "items[].includes names a code that is not in this table (bundle {code})"
            ));
        }
    }
    Ok(())
}

/// Checks a parts catalogue: unique part numbers, names, components.
pub fn check_catalogue(p: &PartsCataloguePublish) -> Result<(), String> {
    unique(
        "parts[].part_no",
        p.parts.iter().map(|i| i.part_no.as_str()),
    )?;
    for i in &p.parts {
        check_text("parts[].name", &i.name, true, 200)?;
        check_text(
            "parts[].name_en",
            i.name_en.as_deref().unwrap_or(""),
            false,
            200,
        )?;
        if i.component.as_deref().is_some_and(|c| !is_code_name(c)) {
            return Err("parts[].component must be 1 to 64 characters of a-z, 0-9 and _".into());
        }
    }
    Ok(())
}

/// Checks a price list: unique part numbers, no negative price.
pub fn check_price_list(p: &PriceListPublish) -> Result<(), String> {
    unique("part_no", p.prices.iter().map(|i| i.part_no.as_str()))?;
    if p.prices.iter().any(|i| i.price.minor < 0) {
        return Err("price must not be negative".into());
    }
    Ok(())
}

/// Checks a parts issue's shape: 1–200 lines, part numbers given, quantities 1–999, a
/// note up to 500 characters. (Whether the parts are in the catalogue is the storage's
/// check, in the issue's transaction.)
pub fn check_parts_issue(i: &NewPartsIssue) -> Result<(), String> {
    if i.lines.is_empty() || i.lines.len() > 200 {
        return Err("lines: 1 to 200 lines".into());
    }
    for line in &i.lines {
        let n = line.part_no.chars().count();
        if n == 0 || n > 64 {
            return Err("lines.part_no: 1 to 64 characters".into());
        }
        if !(1..=999).contains(&line.quantity) {
            return Err(format!("lines.quantity: 1 to 999 (part {})", line.part_no));
        }
    }
    if i.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err("note: at most 500 characters".into());
    }
    Ok(())
}

/// Checks the company profile: a name of 1–200 characters, phone and address up to 200.
pub fn check_company(c: &CompanyProfile) -> Result<(), String> {
    let name = c.name.trim().chars().count();
    if name == 0 || c.name.chars().count() > 200 {
        return Err("name: 1 to 200 characters".into());
    }
    if c.phone.chars().count() > 200 {
        return Err("phone: at most 200 characters".into());
    }
    if c.address.chars().count() > 200 {
        return Err("address: at most 200 characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When head office received the facts below (their `at` is a little before).
    fn received() -> DateTime<Utc> {
        "2026-11-24T03:00:00Z".parse().unwrap()
    }

    /// When the facts below happened.
    fn happened() -> DateTime<Utc> {
        "2026-11-24T02:00:00Z".parse().unwrap()
    }
    use onsite_api::{Payment, PaymentMethod, Signature, Signer, StatusChange};
    use onsite_domain::Money;
    use WorkOrderStatus::*;

    fn status(to: WorkOrderStatus, reason: Option<&str>) -> Result<OpPayload, PayloadError> {
        Ok(OpPayload::ChangeStatus(StatusChange {
            from: None,
            fact_id: Uuid::nil(),
            to,
            reason: reason.map(str::to_owned),
            at: happened(),
        }))
    }

    fn payment(minor: i64) -> Result<OpPayload, PayloadError> {
        Ok(OpPayload::TakePayment(Payment {
            change: None,
            payment_id: None,
            tendered: None,
            fact_id: Uuid::nil(),
            amount: Money::cny(minor),
            method: PaymentMethod::Cash,
            receipt_no: None,
            at: happened(),
        }))
    }

    fn signature() -> Result<OpPayload, PayloadError> {
        Ok(OpPayload::AttachSignature(Signature {
            content_hash: None,
            signature_id: None,
            signer_name: None,
            fact_id: Uuid::nil(),
            blob_sha256: "ab".repeat(32),
            signer: Signer::Customer,
            at: happened(),
        }))
    }

    fn decision(
        answer: QuoteAnswer,
        status_to: Option<WorkOrderStatus>,
        reason: Option<&str>,
    ) -> Result<OpPayload, PayloadError> {
        Ok(OpPayload::RecordQuoteDecision(onsite_api::QuoteDecision {
            status_from: None,
            fact_id: Uuid::nil(),
            quote_id: Uuid::nil(),
            decision: answer,
            status_to,
            reason: reason.map(str::to_owned),
            callout: Money::cny(0),
            at: happened(),
        }))
    }

    fn feedback(rating: u8) -> Result<OpPayload, PayloadError> {
        Ok(OpPayload::RecordFeedback(onsite_api::Feedback {
            fact_id: Uuid::nil(),
            rating,
            comment: "ok".into(),
            callback_allowed: false,
            at: happened(),
        }))
    }

    #[test]
    fn technician_day_facts_need_no_work_order_and_are_checked() {
        let at: chrono::DateTime<chrono::Utc> = "2026-11-24T02:00:00Z".parse().unwrap();
        let m = Money::cny;
        let expense = |total| {
            OpPayload::RecordExpense(onsite_api::Expense {
                fact_id: Uuid::nil(),
                day: "2026-11-24".parse().unwrap(),
                km: 10,
                meal_days: 1,
                nights: 0,
                per_km: m(100),
                meal_per_day: m(5000),
                lodging_per_night: m(20000),
                mileage: m(1000),
                meals: m(5000),
                lodging: m(0),
                total: m(total),
                at,
            })
        };
        let take = |counted, difference| {
            OpPayload::StockTake(onsite_api::StockTake {
                day: None,
                fact_id: Uuid::nil(),
                stock_take_id: Uuid::nil(),
                lines: vec![onsite_api::StockTakeLine {
                    part_id: "p1".into(),
                    expected: 3,
                    counted,
                    difference,
                }],
                at,
            })
        };
        let unused = |wo: Option<Uuid>| {
            OpPayload::ReturnPart(onsite_api::PartReturn {
                day: None,
                fact_id: Uuid::nil(),
                return_id: Uuid::nil(),
                return_kind: ReturnKind::Unused,
                part_id: "p1".into(),
                quantity: 1,
                work_order_id: wo,
                part_use_id: None,
                serial: None,
                quote_id: None,
                reversed_line: None,
                reversed: m(0),
                at,
            })
        };
        let day: NaiveDate = "2026-11-24".parse().unwrap();
        assert_eq!(technician_day(&expense(6000)), Some(day));
        assert_eq!(technician_day(&take(2, -1)), Some(day));
        assert_eq!(technician_day(&unused(None)), Some(day));
        // Issue 9, hole 12: a device that sends the local day it saw is filed under it
        // (a count at 07:00 in Beijing is 23:00 UTC the day before); an older one falls
        // back to the UTC date of `at`.
        let late: chrono::DateTime<chrono::Utc> = "2026-11-23T23:00:00Z".parse().unwrap();
        let with_day = |p: OpPayload, d: Option<NaiveDate>| match p {
            OpPayload::StockTake(t) => OpPayload::StockTake(onsite_api::StockTake {
                day: d,
                at: late,
                ..t
            }),
            OpPayload::ReturnPart(r) => OpPayload::ReturnPart(onsite_api::PartReturn {
                day: d,
                at: late,
                ..r
            }),
            other => other,
        };
        let before: NaiveDate = "2026-11-23".parse().unwrap();
        for p in [take(2, -1), unused(None)] {
            assert_eq!(technician_day(&with_day(p.clone(), Some(day))), Some(day));
            assert_eq!(technician_day(&with_day(p, None)), Some(before));
        }
        // A job's old-part return is still the job's, whatever day it carries.
        assert_eq!(
            technician_day(&with_day(unused(Some(Uuid::nil())), Some(day))),
            None
        );
        assert_eq!(technician_day(&unused(Some(Uuid::nil()))), None);
        assert_eq!(technician_day(&payment(1).unwrap()), None);
        let stored = Decision::Store {
            new_status: None,
            flag: None,
        };
        assert_eq!(decide_technician_day(&expense(6000), received()), stored);
        assert_eq!(decide_technician_day(&take(2, -1), received()), stored);
        for bad in [expense(5999), take(2, 1), take(-1, -4)] {
            assert!(
                matches!(
                    decide_technician_day(&bad, received()),
                    Decision::Reject(RejectCode::BadPayload, _)
                ),
                "{bad:?}"
            );
        }
        // A job's return sent under another job's id is refused.
        let wo = Uuid::from_u128(9);
        let me = Uuid::from_u128(1);
        let order = WorkOrderState {
            technician_id: Some(me),
            status: WorkOrderStatus::InProgress,
            ever_assigned_to_op_technician: true,
        };
        assert!(matches!(
            decide(
                &Ok(unused(Some(wo))),
                Uuid::from_u128(8),
                Some(&order),
                me,
                true,
                received(),
            ),
            Decision::Reject(RejectCode::BadPayload, _)
        ));
        assert_eq!(
            decide(
                &Ok(unused(Some(wo))),
                wo,
                Some(&order),
                me,
                true,
                received()
            ),
            stored
        );
    }

    #[test]
    fn decision_table() {
        let me = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let mine = |s| WorkOrderState {
            technician_id: Some(me),
            status: s,
            ever_assigned_to_op_technician: true,
        };
        let moved_away = WorkOrderState {
            technician_id: Some(other),
            status: Assigned,
            ever_assigned_to_op_technician: true,
        };
        let moved_away_too = moved_away.clone();
        let never_mine = WorkOrderState {
            technician_id: Some(other),
            status: Assigned,
            ever_assigned_to_op_technician: false,
        };
        let store = |s: Option<WorkOrderStatus>, f: Option<ReviewReason>| Decision::Store {
            new_status: s,
            flag: f,
        };
        use RejectCode as R;
        use ReviewReason as F;
        type Case = (
            &'static str,
            Result<OpPayload, PayloadError>,
            Option<WorkOrderState>,
            bool,
            Result<Decision, R>,
        );
        let cases: Vec<Case> = vec![
            (
                "unknown kind",
                Err(PayloadError::UnknownKind),
                Some(mine(Assigned)),
                true,
                Err(R::UnknownKind),
            ),
            (
                "bad shape",
                Err(PayloadError::Shape("x".into())),
                Some(mine(Assigned)),
                true,
                Err(R::BadPayload),
            ),
            (
                "zero payment",
                payment(0),
                Some(mine(InProgress)),
                true,
                Err(R::BadPayload),
            ),
            (
                "tech cancels",
                status(Cancelled, None),
                Some(mine(Assigned)),
                true,
                Err(R::BadPayload),
            ),
            (
                "unable without reason",
                status(UnableToComplete, Some(" ")),
                Some(mine(OnSite)),
                true,
                Err(R::BadPayload),
            ),
            (
                "no such order",
                payment(100),
                None,
                true,
                Err(R::UnknownWorkOrder),
            ),
            (
                "never mine",
                payment(100),
                Some(never_mine),
                true,
                Err(R::NotYourWorkOrder),
            ),
            (
                "blob missing",
                signature(),
                Some(mine(InProgress)),
                false,
                Err(R::BlobMissing),
            ),
            (
                "blob present",
                signature(),
                Some(mine(InProgress)),
                true,
                Ok(store(None, None)),
            ),
            (
                "valid transition",
                status(EnRoute, None),
                Some(mine(Assigned)),
                true,
                Ok(store(Some(EnRoute), None)),
            ),
            (
                "complete",
                status(Completed, None),
                Some(mine(InProgress)),
                true,
                Ok(store(Some(Completed), None)),
            ),
            (
                "same status again",
                status(OnSite, None),
                Some(mine(OnSite)),
                true,
                Ok(store(None, None)),
            ),
            (
                "backwards",
                status(EnRoute, None),
                Some(mine(InProgress)),
                true,
                Ok(store(None, Some(F::StatusConflict))),
            ),
            (
                "on cancelled job",
                status(Completed, None),
                Some(mine(Cancelled)),
                true,
                Ok(store(None, Some(F::CancelledBeforeSync))),
            ),
            (
                "payment on cancelled",
                payment(100),
                Some(mine(Cancelled)),
                true,
                Ok(store(None, Some(F::CancelledBeforeSync))),
            ),
            (
                "on reassigned job",
                payment(100),
                Some(moved_away.clone()),
                true,
                Ok(store(None, Some(F::ReassignedBeforeSync))),
            ),
            (
                "status on reassigned",
                status(Completed, None),
                Some(moved_away),
                true,
                Ok(store(None, Some(F::ReassignedBeforeSync))),
            ),
            (
                "plain payment",
                payment(5000),
                Some(mine(InProgress)),
                true,
                Ok(store(None, None)),
            ),
            (
                "quote declined ends the visit",
                decision(
                    QuoteAnswer::Declined,
                    Some(UnableToComplete),
                    Some("quote_declined"),
                ),
                Some(mine(InProgress)),
                true,
                Ok(store(Some(UnableToComplete), None)),
            ),
            (
                "quote accepted moves nothing",
                decision(QuoteAnswer::Accepted, None, None),
                Some(mine(InProgress)),
                true,
                Ok(store(None, None)),
            ),
            (
                "quote declined on a cancelled job",
                decision(
                    QuoteAnswer::Declined,
                    Some(UnableToComplete),
                    Some("quote_declined"),
                ),
                Some(mine(Cancelled)),
                true,
                Ok(store(None, Some(F::CancelledBeforeSync))),
            ),
            (
                "quote declined without reason",
                decision(QuoteAnswer::Declined, Some(UnableToComplete), None),
                Some(mine(InProgress)),
                true,
                Err(RejectCode::BadPayload),
            ),
            (
                "accepted quote with a status",
                decision(QuoteAnswer::Accepted, Some(Completed), None),
                Some(mine(InProgress)),
                true,
                Err(RejectCode::BadPayload),
            ),
            (
                "feedback rating 0",
                feedback(0),
                Some(mine(InProgress)),
                true,
                Err(RejectCode::BadPayload),
            ),
            (
                "feedback on a reassigned job",
                feedback(5),
                Some(moved_away_too),
                true,
                Ok(store(None, Some(F::ReassignedBeforeSync))),
            ),
        ];
        for (name, payload, order, blob, want) in cases {
            let got = decide(&payload, Uuid::nil(), order.as_ref(), me, blob, received());
            match (want, got) {
                (Err(code), Decision::Reject(got, _)) => assert_eq!(code, got, "{name}"),
                (Ok(want), got) => assert_eq!(want, got, "{name}"),
                (want, got) => panic!("{name}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn carry_back_facts_are_checked_and_never_conflict() {
        use onsite_api::{CarryBackAdvanced, CarryBackReturned, CarryBackTaken};
        use CarryBackState as S;
        let at: chrono::DateTime<chrono::Utc> = "2026-11-24T02:00:00Z".parse().unwrap();
        let take = |expected: &str, photo: &str, signer: &str| {
            OpPayload::TakeCarryBack(CarryBackTaken {
                fact_id: Uuid::nil(),
                carry_back_id: Uuid::nil(),
                receipt_no: "CB-20261124-0A1B2C3D".into(),
                item: "water heater".into(),
                serial_no: None,
                accessories: vec![],
                condition: String::new(),
                fault: "E3".into(),
                expected_return: expected.parse().unwrap(),
                photos: vec![photo.to_owned()],
                signer_name: signer.into(),
                png_sha256: "ab".repeat(32),
                at,
            })
        };
        let advance = |from, to| {
            OpPayload::AdvanceCarryBack(CarryBackAdvanced {
                fact_id: Uuid::nil(),
                carry_back_id: Uuid::nil(),
                from,
                to,
                at,
            })
        };
        let back = |collected, note: Option<&str>| {
            OpPayload::ReturnCarryBack(CarryBackReturned {
                fact_id: Uuid::nil(),
                carry_back_id: Uuid::nil(),
                receipt_collected: collected,
                receipt_lost_note: note.map(str::to_owned),
                signer_name: "S".into(),
                png_sha256: "ab".repeat(32),
                at,
            })
        };
        let photo = "cd".repeat(32);
        let ok = [
            take("2026-12-01", &photo, "S"),
            take("2026-11-23", &photo, "S"),
            advance(S::Taken, S::AtWorkshop),
            advance(S::AtWorkshop, S::Repaired),
            back(true, None),
            back(false, Some("customer lost it")),
        ];
        for p in &ok {
            assert_eq!(check_payload(p), Ok(()), "{p:?}");
        }
        let bad = [
            take("2026-11-01", &photo, "S"),
            take("2026-12-01", "not-a-hash", "S"),
            take("2026-12-01", &photo, " "),
            advance(S::Taken, S::Repaired),
            advance(S::Repaired, S::Returned),
            advance(S::AtWorkshop, S::Taken),
            back(false, None),
            back(false, Some("  ")),
            back(true, Some("why")),
        ];
        for p in &bad {
            assert!(check_payload(p).is_err(), "{p:?}");
        }
        let me = Uuid::from_u128(1);
        let wo = Uuid::from_u128(9);
        let state = |status, technician| WorkOrderState {
            technician_id: Some(technician),
            status,
            ever_assigned_to_op_technician: true,
        };
        let t = Ok(ok[0].clone());
        let store = |flag| Decision::Store {
            new_status: None,
            flag,
        };
        // The signature PNG goes first; then the fact is stored, flagged on a job that
        // head office cancelled or gave to someone else meanwhile.
        assert!(matches!(
            decide(
                &t,
                wo,
                Some(&state(WorkOrderStatus::OnSite, me)),
                me,
                false,
                received()
            ),
            Decision::Reject(RejectCode::BlobMissing, _)
        ));
        assert_eq!(
            decide(
                &t,
                wo,
                Some(&state(WorkOrderStatus::OnSite, me)),
                me,
                true,
                received()
            ),
            store(None)
        );
        assert_eq!(
            decide(
                &t,
                wo,
                Some(&state(WorkOrderStatus::Cancelled, me)),
                me,
                true,
                received(),
            ),
            store(Some(ReviewReason::CancelledBeforeSync))
        );
        assert_eq!(
            decide(
                &Ok(ok[2].clone()),
                wo,
                Some(&state(WorkOrderStatus::Completed, Uuid::from_u128(2))),
                me,
                true,
                received(),
            ),
            store(Some(ReviewReason::ReassignedBeforeSync))
        );
    }

    #[test]
    fn fee_table_checks() {
        use onsite_api::FeeItem;
        let item = |code: &str, fee| FeeItem {
            code: code.into(),
            description: String::new(),
            fee: Money::cny(fee),
            plus_parts: false,
            name_zh: String::new(),
            name_en: String::new(),
            kind: ItemKind::Service,
            open_priced: false,
            coverable: true,
            includes: vec![],
        };
        let bundle = |code: &str, includes: &[&str]| FeeItem {
            includes: includes.iter().map(|c| (*c).to_owned()).collect(),
            ..item(code, 5000)
        };
        let at = chrono::Utc::now();
        let t = |items| FeeTablePublish {
            category: "water_purifier".into(),
            effective_from: at,
            items,
        };
        let ok = |items: Vec<FeeItem>| {
            assert_eq!(check_fee_table(&t(items.clone())), Ok(()), "{items:?}")
        };
        let bad = |items: Vec<FeeItem>, field: &str| {
            let e = check_fee_table(&t(items.clone())).expect_err(field);
            assert!(e.contains(field), "{e} should name {field}");
        };
        ok(vec![item("A", 0), item("B", 100)]);
        bad(vec![], "item");
        bad(vec![item("A", 0), item("A", 1)], "items[].code");
        bad(vec![item("A", -1)], "items[].fee");
        bad(vec![item(" ", 1)], "items[].code");
        // Bundles: two or more distinct codes of the table, on a fixed-price service;
        // the bundle's own code may be one of them (MAINT + REPLACE at MAINT's price).
        ok(vec![item("A", 1), item("B", 1), bundle("AB", &["A", "B"])]);
        ok(vec![item("B", 1), bundle("A", &["A", "B"])]);
        let labour = FeeItem {
            kind: ItemKind::Labour,
            ..item("B", 1)
        };
        ok(vec![
            item("A", 1),
            labour.clone(),
            bundle("AB", &["A", "B"]),
        ]);
        bad(
            vec![item("A", 1), bundle("AB", &["A", "Z"])],
            "items[].includes",
        );
        bad(vec![item("A", 1), bundle("AB", &["A"])], "items[].includes");
        bad(vec![bundle("A", &["A"])], "items[].includes");
        bad(
            vec![item("A", 1), item("B", 1), bundle("AB", &["A", "B", "A"])],
            "items[].includes",
        );
        bad(
            vec![
                item("A", 1),
                item("B", 1),
                FeeItem {
                    kind: ItemKind::Labour,
                    ..bundle("AB", &["A", "B"])
                },
            ],
            "items[].includes",
        );
        bad(
            vec![
                item("A", 1),
                item("B", 1),
                FeeItem {
                    open_priced: true,
                    ..bundle("AB", &["A", "B"])
                },
            ],
            "open-priced",
        );
        // The category.
        for category in ["", "Water", "water purifier", "wp-1", &"a".repeat(65)] {
            let mut table = t(vec![item("A", 1)]);
            table.category = category.into();
            let e = check_fee_table(&table).expect_err(category);
            assert!(e.starts_with("category"), "{e}");
        }
        let mut table = t(vec![item("A", 1)]);
        table.category = "hq".into();
        assert_eq!(check_fee_table(&table), Ok(()));
    }

    #[test]
    fn work_order_checks_name_the_field() {
        use onsite_api::ServiceContract;
        use onsite_domain::rules::ContractCover;
        use onsite_domain::view::ProofOfPurchase;
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let contract = |reference: &str, from: &str, to: &str| ServiceContract {
            reference: reference.into(),
            covers: ContractCover::Labour,
            valid_from: day(from),
            valid_to: day(to),
        };
        let order = || NewWorkOrder {
            order_no: "WO-1".into(),
            technician_id: None,
            job_type: onsite_domain::JobType::Repair,
            customer: Customer {
                name: "N".into(),
                phone: String::new(),
                address: "A".into(),
                language: "zh-CN".into(),
            },
            appliance: Appliance {
                category: "water_purifier".into(),
                brand: String::new(),
                model: String::new(),
                serial_no: None,
                purchase_date: None,
                proof: Some(ProofOfPurchase {
                    kind: ProofKind::Invoice,
                    date: Some(day("2025-03-02")),
                    sealed: true,
                }),
                contracts: vec![contract("C-1", "2026-01-01", "2026-12-31")],
            },
            reported_fault: String::new(),
            notes: String::new(),
            appointment_start: chrono::Utc::now(),
            appointment_end: chrono::Utc::now(),
        };
        assert_eq!(check_new_work_order(&order()), Ok(()));
        let mut en = order();
        en.customer.language = "en".into();
        assert_eq!(check_new_work_order(&en), Ok(()));
        // An undated or unsealed receipt is what head office saw: accepted (the device
        // charges, saying why); a one-day contract is fine.
        let mut undated = order();
        undated.appliance.proof = Some(ProofOfPurchase {
            kind: ProofKind::Receipt,
            date: None,
            sealed: false,
        });
        undated.appliance.contracts = vec![contract("C-1", "2026-01-01", "2026-01-01")];
        assert_eq!(check_new_work_order(&undated), Ok(()));
        type Edit<'a> = Box<dyn Fn(&mut NewWorkOrder) + 'a>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "customer.language",
                Box::new(|o| o.customer.language = "fr".into()),
            ),
            (
                "customer.language",
                Box::new(|o| o.customer.language = "zh".into()),
            ),
            (
                "appliance.proof",
                Box::new(|o| {
                    o.appliance.proof = Some(ProofOfPurchase {
                        kind: ProofKind::None,
                        date: Some(day("2025-01-01")),
                        sealed: false,
                    })
                }),
            ),
            (
                "appliance.proof",
                Box::new(|o| {
                    o.appliance.proof = Some(ProofOfPurchase {
                        kind: ProofKind::None,
                        date: None,
                        sealed: true,
                    })
                }),
            ),
            (
                "appliance.contracts[].valid_to",
                Box::new(|o| {
                    o.appliance.contracts = vec![contract("C", "2026-02-01", "2026-01-31")]
                }),
            ),
            (
                "appliance.contracts[].reference",
                Box::new(|o| {
                    o.appliance.contracts = vec![contract(" ", "2026-01-01", "2026-01-31")]
                }),
            ),
            (
                "appliance.contracts[].reference",
                Box::new(|o| {
                    o.appliance.contracts =
                        vec![contract(&"R".repeat(65), "2026-01-01", "2026-01-31")]
                }),
            ),
            (
                "appliance.contracts",
                Box::new(|o| {
                    o.appliance.contracts = vec![contract("C", "2026-01-01", "2026-01-31"); 11]
                }),
            ),
        ];
        for (field, change) in cases {
            let mut o = order();
            change(&mut o);
            let e = check_new_work_order(&o).expect_err(field);
            assert!(e.starts_with(field), "{e} should name {field}");
            // The update checks the same.
            let u = WorkOrderUpdate {
                customer: Some(o.customer.clone()),
                appliance: Some(o.appliance.clone()),
                ..WorkOrderUpdate::default()
            };
            assert!(check_update(&u).is_err(), "{field}");
        }
    }

    fn job() -> onsite_api::WorkOrder {
        use onsite_api::{Appliance, Customer};
        let t: chrono::DateTime<chrono::Utc> = "2026-11-24T02:00:00Z".parse().unwrap();
        onsite_api::WorkOrder {
            id: Uuid::nil(),
            order_no: "WO-20261124-002".into(),
            version: 3,
            technician_id: None,
            status: WorkOrderStatus::InProgress,
            job_type: onsite_domain::JobType::Repair,
            customer: Customer {
                name: "张志强".into(),
                phone: "13501234567".into(),
                address: "北京市西城区西直门外大街18号".into(),
                language: "zh-CN".into(),
            },
            appliance: Appliance {
                category: "water_purifier".into(),
                brand: "QY".into(),
                model: "QY-RO500".into(),
                serial_no: Some("QY500-2406-003317".into()),
                purchase_date: NaiveDate::from_ymd_opt(2024, 6, 10),
                proof: None,
                contracts: vec![],
            },
            reported_fault: "出水量变小".into(),
            notes: "head office's note".into(),
            appointment_start: t,
            appointment_end: t,
            cancel_reason: None,
            flagged_for_review: false,
            created_at: t,
            updated_at: t,
        }
    }

    /// Issue 9, hole 14: head office recomputes what a signature vouches for from the job
    /// and the technician's facts, exactly as the device computes it
    /// (`onsite_store::documents::signed_content`), and flags a mismatch, never refusing.
    #[test]
    fn a_signature_is_checked_against_the_jobs_content() {
        use onsite_api::{Diagnosis, NotesEdit, QuoteIssued, QuotedLine, Signature, Signer};
        use onsite_domain::rules::LineStatus;
        use onsite_domain::signoff::{SignedContent, SignedLine};
        let at = chrono::Utc::now();
        let m = Money::cny;
        let diagnosis = |fault: &str| {
            OpPayload::RecordDiagnosis(Diagnosis {
                fact_id: Uuid::now_v7(),
                diagnosis_id: Uuid::now_v7(),
                fault_found: fault.into(),
                components: vec![],
                exclusions: vec![],
                notes: String::new(),
                photos: vec![],
                at,
            })
        };
        let quote = |code: &str, charged: i64| {
            OpPayload::IssueQuote(QuoteIssued {
                fact_id: Uuid::now_v7(),
                quote_id: Uuid::now_v7(),
                fee_table_id: None,
                fee_table_version: 1,
                visit_date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                work_date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                lines: vec![
                    QuotedLine {
                        code: code.into(),
                        quantity: 2,
                        unit_price: m(charged / 2),
                        status: LineStatus::Charged,
                        charged: m(charged),
                    },
                    QuotedLine {
                        code: "PUMP".into(),
                        quantity: 1,
                        unit_price: m(8000),
                        status: LineStatus::Covered,
                        charged: m(0),
                    },
                ],
                gross: m(charged + 8000),
                covered: m(8000),
                deposit: m(0),
                charged: m(charged),
                due: m(charged),
                at,
            })
        };
        let notes = |n: &str| {
            OpPayload::EditNotes(NotesEdit {
                fact_id: Uuid::now_v7(),
                notes: n.into(),
                at,
            })
        };
        let facts = vec![
            diagnosis("first look"),
            quote("F-1", 9000),
            diagnosis("膜堵塞"),
            notes("更换PP棉"),
            quote("F-2", 4000),
        ];
        // What the device hashed: the latest diagnosis, notes and quote.
        let signed = SignedContent {
            version: 1,
            order_no: "WO-20261124-002".into(),
            customer_name: "张志强".into(),
            customer_phone: "13501234567".into(),
            customer_address: "北京市西城区西直门外大街18号".into(),
            appliance_model: "QY-RO500".into(),
            appliance_serial: Some("QY500-2406-003317".into()),
            purchase_date: NaiveDate::from_ymd_opt(2024, 6, 10),
            reported_fault: "出水量变小".into(),
            fault_found: "膜堵塞".into(),
            notes: "更换PP棉".into(),
            lines: vec![
                SignedLine {
                    code: "F-2".into(),
                    quantity: 2,
                    amount_minor: 4000,
                    covered: false,
                },
                SignedLine {
                    code: "PUMP".into(),
                    quantity: 1,
                    amount_minor: 0,
                    covered: true,
                },
            ],
        };
        assert_eq!(signed_content(&job(), &facts), signed);
        // No notes edited: head office's notes are the job's (as on the device).
        assert_eq!(signed_content(&job(), &[]).notes, "head office's note");
        let expected = signed_content(&job(), &facts).hash();
        let signature = |hash: Option<String>| Signature {
            fact_id: Uuid::now_v7(),
            blob_sha256: "ab".repeat(32),
            signer: Signer::Customer,
            signer_name: Some("张志强".into()),
            content_hash: hash,
            signature_id: None,
            at,
        };
        // The hash matches: nothing to review (upper case hex is the same hash).
        assert_eq!(
            signature_review(&signature(Some(signed.hash())), &expected),
            None
        );
        assert_eq!(
            signature_review(&signature(Some(signed.hash().to_uppercase())), &expected),
            None
        );
        // The job changed after signing (a later quote, other notes), or the hash is
        // garbage: flagged with its own reason.
        let mut more = facts.clone();
        more.push(quote("F-3", 100));
        let changed = signed_content(&job(), &more).hash();
        for sent in [changed, "not a hash".into(), String::new()] {
            assert_eq!(
                signature_review(&signature(Some(sent.clone())), &expected),
                Some(ReviewReason::SignatureMismatch),
                "{sent}"
            );
        }
        // An older device sends no hash: nothing to check, no flag.
        assert_eq!(signature_review(&signature(None), &expected), None);
        // Never refused: a signature with any hash passes the payload checks.
        let p = OpPayload::AttachSignature(signature(Some("not a hash".into())));
        assert_eq!(check_payload(&p), Ok(()));
    }
    /// Issue 10: a note after completion (an addendum) is checked like other text and is
    /// not signed content; a notes edit arriving for a closed job whose customer signature
    /// then no longer matches is flagged.
    #[test]
    fn addenda_are_checked_and_a_closed_jobs_changed_content_is_flagged() {
        use onsite_api::{Addendum, NotesEdit, Signature, Signer};
        let at = chrono::Utc::now();
        let addendum = |text: &str| {
            OpPayload::AddAddendum(Addendum {
                fact_id: Uuid::now_v7(),
                addendum_id: Uuid::now_v7(),
                text: text.into(),
                at,
            })
        };
        assert_eq!(check_payload(&addendum("客户要求下周回访")), Ok(()));
        assert_eq!(check_payload(&addendum(&"字".repeat(MAX_ADDENDUM))), Ok(()));
        for bad in ["  ", &"字".repeat(MAX_ADDENDUM + 1)] {
            assert!(check_payload(&addendum(bad))
                .unwrap_err()
                .starts_with("text"));
        }
        let notes = |n: &str| {
            OpPayload::EditNotes(NotesEdit {
                fact_id: Uuid::now_v7(),
                notes: n.into(),
                at,
            })
        };
        let mut completed = job();
        completed.status = WorkOrderStatus::Completed;
        let signed = |facts: &[OpPayload]| {
            OpPayload::AttachSignature(Signature {
                fact_id: Uuid::now_v7(),
                blob_sha256: "ab".repeat(32),
                signer: Signer::Customer,
                signer_name: None,
                content_hash: Some(signed_content(&completed, facts).hash()),
                signature_id: None,
                at,
            })
        };
        let before = vec![notes("更换PP棉")];
        let mut facts = before.clone();
        facts.push(signed(&before));
        // An addendum after the signature: not content, no flag.
        let mut with_addendum = facts.clone();
        with_addendum.push(addendum("客户要求下周回访"));
        assert_eq!(
            signed_content(&completed, &with_addendum),
            signed_content(&completed, &facts)
        );
        assert_eq!(closed_content_review(&completed, &with_addendum), None);
        // The same notes again: the content is as signed.
        let mut same = facts.clone();
        same.push(notes("更换PP棉"));
        assert_eq!(closed_content_review(&completed, &same), None);
        // Other notes after the signature: flagged on a closed job only.
        let mut edited = facts.clone();
        edited.push(notes("edited after signing"));
        assert_eq!(
            closed_content_review(&completed, &edited),
            Some(ReviewReason::SignatureMismatch)
        );
        assert_eq!(closed_content_review(&job(), &edited), None, "still open");
        // No customer signature: nothing to void.
        assert_eq!(
            closed_content_review(&completed, &[notes("a"), notes("b")]),
            None
        );
        assert_eq!(
            technician_notes(&edited).as_deref(),
            Some("edited after signing")
        );
        assert_eq!(technician_notes(&[]), None);
    }

    #[test]
    fn dates_far_from_when_head_office_received_them_are_refused_without_overflow() {
        let day = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let expense = |at: DateTime<Utc>, d: NaiveDate| {
            OpPayload::RecordExpense(onsite_api::Expense {
                fact_id: Uuid::nil(),
                day: d,
                km: 10,
                meal_days: 1,
                nights: 0,
                per_km: Money::cny(100),
                meal_per_day: Money::cny(5000),
                lodging_per_night: Money::cny(20000),
                mileage: Money::cny(1000),
                meals: Money::cny(5000),
                lodging: Money::cny(0),
                total: Money::cny(6000),
                at,
            })
        };
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let ok = [
            (happened(), day(2026, 11, 24)),
            (t("2021-12-01T00:00:00Z"), day(2021, 12, 1)),
            (t("2026-11-30T00:00:00Z"), day(2026, 11, 30)),
        ];
        for (at, d) in ok {
            assert_eq!(check_dates(&expense(at, d), received()), Ok(()), "{at} {d}");
        }
        let far = NaiveDate::from_ymd_opt(-200_000, 1, 1).unwrap();
        let bad = [
            (happened(), far),
            (happened(), NaiveDate::MAX),
            (happened(), NaiveDate::MIN),
            (
                far.and_hms_opt(0, 0, 0).unwrap().and_utc(),
                day(2026, 11, 24),
            ),
            (DateTime::<Utc>::MAX_UTC, day(2026, 11, 24)),
            (DateTime::<Utc>::MIN_UTC, day(2026, 11, 24)),
            (t("2020-01-01T00:00:00Z"), day(2026, 11, 24)),
            (t("2026-12-02T00:00:00Z"), day(2026, 11, 24)),
        ];
        for (at, d) in bad {
            let e = check_dates(&expense(at, d), received()).unwrap_err();
            assert!(
                !e.contains("200000") && !e.contains("2020"),
                "names fields, not values: {e}"
            );
            assert!(matches!(
                decide_technician_day(&expense(at, d), received()),
                Decision::Reject(RejectCode::BadPayload, _)
            ));
        }
        // Head office's own clock at the edge of what chrono holds: refused, no panic.
        assert!(check_dates(
            &expense(happened(), day(2026, 11, 24)),
            DateTime::<Utc>::MAX_UTC
        )
        .is_err());
    }
}
