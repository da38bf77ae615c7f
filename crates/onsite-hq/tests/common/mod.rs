//! Head office from the test kit (onsite-testkit: a real onsite-hq on 127.0.0.1 over real
//! TLS, with a CA made with rcgen, and a client that trusts only that CA), and what only
//! head office's tests use: an op maker and predicates on results.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use onsite_api::*;
use onsite_domain::{Money, WorkOrderStatus};
pub use onsite_testkit::*;
use uuid::Uuid;

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A fee item with the defaults an old publisher gets.
pub fn fee_item(code: &str, minor: i64) -> FeeItem {
    FeeItem {
        code: code.into(),
        description: format!("{code} service"),
        fee: Money::cny(minor),
        plus_parts: false,
        name_zh: String::new(),
        name_en: String::new(),
        kind: onsite_domain::rules::ItemKind::Service,
        open_priced: false,
        coverable: true,
        includes: Vec::new(),
    }
}

/// Builds ops with increasing device_seq from `seq`.
pub struct OpMaker {
    pub seq: i64,
}

impl OpMaker {
    pub fn op(&mut self, work_order: Uuid, payload: OpPayload) -> Op {
        self.seq += 1;
        Op::new(Uuid::now_v7(), self.seq, work_order, Some(1), &payload)
    }

    pub fn status(&mut self, work_order: Uuid, to: WorkOrderStatus) -> Op {
        self.op(
            work_order,
            OpPayload::ChangeStatus(StatusChange {
                from: None,
                fact_id: Uuid::now_v7(),
                to,
                reason: None,
                at: now(),
            }),
        )
    }

    pub fn payment(&mut self, work_order: Uuid, minor: i64) -> Op {
        self.op(
            work_order,
            OpPayload::TakePayment(Payment {
                change: None,
                payment_id: None,
                tendered: None,
                fact_id: Uuid::now_v7(),
                amount: Money::cny(minor),
                method: PaymentMethod::Cash,
                receipt_no: Some("R-77".into()),
                at: now(),
            }),
        )
    }

    pub fn work(&mut self, work_order: Uuid, code: &str, minor: i64) -> Op {
        self.op(
            work_order,
            OpPayload::RecordWork(WorkDone {
                fact_id: Uuid::now_v7(),
                service_code: code.into(),
                description: "done".into(),
                fee_table_version: 1,
                charge: Money::cny(minor),
                warranty: false,
                at: now(),
            }),
        )
    }

    pub fn part(&mut self, work_order: Uuid, part_no: &str, quantity: u32) -> Op {
        self.op(
            work_order,
            OpPayload::ConsumePart(PartUsed {
                part_id: None,
                part_use_id: None,
                stock_after: None,
                fact_id: Uuid::now_v7(),
                part_no: part_no.into(),
                quantity,
                serial_no: None,
                unit_price: Some(Money::cny(2500)),
                price_list_version: Some(1),
                warranty: false,
                at: now(),
                quote_id: None,
                serial_removed: None,
                stock_override_reason: None,
            }),
        )
    }

    pub fn signature(&mut self, work_order: Uuid, sha: &str) -> Op {
        self.op(
            work_order,
            OpPayload::AttachSignature(Signature {
                content_hash: None,
                signature_id: None,
                signer_name: None,
                fact_id: Uuid::now_v7(),
                blob_sha256: sha.into(),
                signer: Signer::Customer,
                at: now(),
            }),
        )
    }

    pub fn document(&mut self, work_order: Uuid, sha: &str) -> Op {
        self.op(
            work_order,
            OpPayload::AttachDocument(Document {
                lang: None,
                size: None,
                fact_id: Uuid::now_v7(),
                blob_sha256: sha.into(),
                doc_type: "work_order_pdf".into(),
                content_type: "application/pdf".into(),
                at: now(),
            }),
        )
    }

    /// The ops of a whole visit: en route … completed, with work, a part and a payment.
    pub fn visit(&mut self, work_order: Uuid) -> Vec<Op> {
        vec![
            self.status(work_order, WorkOrderStatus::EnRoute),
            self.status(work_order, WorkOrderStatus::OnSite),
            self.status(work_order, WorkOrderStatus::InProgress),
            self.work(work_order, "REPLACE", 2000),
            self.part(work_order, "F-PP-10", 1),
            self.payment(work_order, 4500),
            self.status(work_order, WorkOrderStatus::Completed),
        ]
    }
}

pub fn applied(r: &OpResult) -> bool {
    matches!(r.outcome, OpOutcome::Applied { .. })
}

pub fn flagged(r: &OpResult) -> bool {
    matches!(
        r.outcome,
        OpOutcome::Applied {
            flagged_for_review: true,
            ..
        }
    )
}

pub fn rejected_code(r: &OpResult) -> Option<RejectCode> {
    match r.outcome {
        OpOutcome::Rejected { code, .. } => Some(code),
        _ => None,
    }
}

pub fn work_order_ids(changes: &[Change]) -> Vec<Uuid> {
    changes
        .iter()
        .filter_map(|c| match &c.item {
            ChangeItem::WorkOrder(w) => Some(w.id),
            _ => None,
        })
        .collect()
}

// The one definition (onsite-domain); not every test file hashes.
#[allow(unused_imports)]
pub use onsite_domain::signoff::sha256_hex;

/// The both-backends test macro lives in the test kit (`onsite_testkit::both_backends!`).
#[allow(unused_imports)]
pub(crate) use onsite_testkit::both_backends;
