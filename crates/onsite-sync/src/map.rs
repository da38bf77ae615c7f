//! The store's outbox rows → `onsite-api` ops.
//!
//! The store writes domain commands (`ChangeStatus`, `EditNotes`, …) with payloads that
//! carry the work order's id and, for status changes, the status it left. The wire op is
//! the `onsite-api` payload of the matching [`OpKind`], with:
//! - `fact_id` = the outbox row's `op_id` unless the payload has its own (one fact per op,
//!   stable across re-sends, so the server recognises a re-sent fact);
//! - `at` = the row's `created_at` unless the payload has its own;
//! - `work_order_id` left out (the op's `entity_id` is the job), and the customer's local
//!   id (`customer_id`) and the expense's `technician_id` (head office knows the
//!   technician from the device's token);
//! - every other field the technician recorded carried unchanged (issue 9, hole 14: the
//!   signer's name and the signed content hash, the payment's id, tendered and change,
//!   the part use's ids and stock after, a status change's `from`, a document's language
//!   and size); the payment method `qr` stays `qr` (the sync holds it for a head office
//!   that does not speak it; [`payment_method_for`] and [`Speaks`] can map it for others);
//!
//! - the visit's `*_minor` amounts turned into CNY [`onsite_domain::Money`] and its field
//!   names into the wire's (see `adapt_visit_shapes`);
//! - for the visit's `ConsumePart`, which carries no price, the unit price and warranty
//!   taken from the quote the part was taken against, as the store has it
//!   ([`to_wire_in`]); when that quote is no longer the job's current one the op goes
//!   without a price and head office reads it from the quote fact (`quote_id`).
//!
//! The carry-back's kinds (`TakeCarryBack`, `AdvanceCarryBack`, `ReturnCarryBack`) keep
//! the store's field names on the wire; only `work_order_id` goes (the op's `entity_id` is
//! the job). Their signature PNG (`png_sha256`) is the op's blob, uploaded before it.
//!
//! The technician-day kinds (`StockTake`, `RecordExpense`, an unused `ReturnPart` with no
//! job) are not about a work order: their `entity_id` is informational (the store's id
//! when it is a UUID, else the op id) and head office files them under the device's
//! technician and the day.
//!
//! A kind with no wire op or a payload that does not read as its kind is an error: the
//! sync stops the queue at that op and reports it ([`crate::plan::Blocked`]); nothing is
//! dropped or skipped.

use onsite_api::{Op, OpKind, OpPayload};
use onsite_domain::rules::LineStatus;
use onsite_domain::Money;
use onsite_store::outbox::PendingOp;
use onsite_store::Store;
use serde_json::{json, Value};
use uuid::Uuid;

/// The store kinds that have a wire op, and which.
pub const KINDS: &[(&str, OpKind)] = &[
    ("ChangeStatus", OpKind::ChangeStatus),
    ("EditNotes", OpKind::EditNotes),
    ("RecordWork", OpKind::RecordWork),
    ("ConsumePart", OpKind::ConsumePart),
    ("AttachSignature", OpKind::AttachSignature),
    ("AttachDocument", OpKind::AttachDocument),
    ("TakePayment", OpKind::TakePayment),
    ("RecordDiagnosis", OpKind::RecordDiagnosis),
    ("IssueQuote", OpKind::IssueQuote),
    ("RecordQuoteDecision", OpKind::RecordQuoteDecision),
    ("ReturnPart", OpKind::ReturnPart),
    ("StockTake", OpKind::StockTake),
    ("InvoiceLater", OpKind::InvoiceLater),
    ("RecordFeedback", OpKind::RecordFeedback),
    ("RecordExpense", OpKind::RecordExpense),
    ("TakeCarryBack", OpKind::TakeCarryBack),
    ("AdvanceCarryBack", OpKind::AdvanceCarryBack),
    ("ReturnCarryBack", OpKind::ReturnCarryBack),
    ("AddAddendum", OpKind::AddAddendum),
];

/// A part's price as quoted: the unit price the customer pays and whether it is covered
/// by warranty or contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedPrice {
    /// What the customer pays per unit (zero when covered).
    pub unit_price: Money,
    /// True when the line is covered.
    pub warranty: bool,
}

/// Looks up the price of a part number on a quote of a work order:
/// `(work_order_id, quote_id, part_no)`.
pub type PriceLookup<'a> = &'a dyn Fn(&str, &str, &str) -> Option<QuotedPrice>;

/// The price of `part_no` on `quote_id` if it is the job's current quote in the store.
pub fn store_price(
    store: &Store,
    work_order_id: &str,
    quote_id: &str,
    part_no: &str,
) -> Option<QuotedPrice> {
    let state = onsite_store::visit::state(store.conn(), work_order_id).ok()?;
    let quote = state.quote.filter(|q| q.id == quote_id)?;
    quoted_price(&quote.priced.lines, part_no)
}

/// The unit price of `part_no` on a priced quote: what the customer pays for the line
/// divided by its quantity (zero when covered; a deposit counts as paid).
pub fn quoted_price(
    lines: &[onsite_domain::rules::PricedLine],
    part_no: &str,
) -> Option<QuotedPrice> {
    let line = lines.iter().find(|l| l.code == part_no && l.quantity > 0)?;
    let quantity = i64::from(line.quantity);
    // A charged amount that does not divide by the quantity has no single unit price.
    if line.charged.minor % quantity != 0 {
        return None;
    }
    Some(QuotedPrice {
        unit_price: Money {
            minor: line.charged.minor / quantity,
            ..line.charged
        },
        warranty: line.status == LineStatus::Covered,
    })
}

/// Why an outbox row cannot be sent. Texts name kinds and fields, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The store kind has no op on the wire (yet).
    #[error("outbox kind {0:?} has no head-office op: this build cannot send it")]
    UnknownKind(String),
    /// The payload does not read as its kind.
    #[error("outbox payload of kind {kind:?} does not match the op: {why}")]
    BadPayload { kind: String, why: String },
    /// The row's ids are not UUIDs.
    #[error("outbox row has an id that is not a UUID ({0})")]
    BadId(&'static str),
}

/// The wire kind of a store kind.
pub fn wire_kind(store_kind: &str) -> Option<OpKind> {
    KINDS
        .iter()
        .find(|(k, _)| *k == store_kind)
        .map(|(_, op)| *op)
}

/// Converts one outbox row into the op pushed for it, with no store to read prices from
/// (a visit `ConsumePart` then goes without a unit price).
pub fn to_wire(row: &PendingOp) -> Result<Op, MapError> {
    to_wire_with(row, &|_, _, _| None)
}

/// Converts one outbox row, reading quoted part prices from the store.
pub fn to_wire_in(store: &Store, row: &PendingOp) -> Result<Op, MapError> {
    to_wire_in_for(store, row, Speaks::default())
}

/// Converts one outbox row for a head office that speaks `speaks`, reading quoted part
/// prices from the store.
pub fn to_wire_in_for(store: &Store, row: &PendingOp, speaks: Speaks) -> Result<Op, MapError> {
    to_wire_for(
        row,
        &|wo, quote, part_no| store_price(store, wo, quote, part_no),
        speaks,
    )
}

/// What the head office at the other end speaks, where the wire grew in ways an older one
/// refuses (the protocol-version negotiation fills it in). The default is this build's
/// head office: everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Speaks {
    /// The `qr` payment method ([`onsite_api::PaymentMethod::Qr`]); an older head office
    /// refuses it as `bad_payload`.
    pub qr: bool,
}

impl Default for Speaks {
    fn default() -> Speaks {
        Speaks { qr: true }
    }
}

impl Speaks {
    /// What a head office speaks by its hello (`GET /v1/sync/hello`).
    pub fn from_hello(hello: &onsite_api::Hello) -> Speaks {
        Speaks {
            qr: hello
                .features
                .iter()
                .any(|f| f == onsite_api::features::PAYMENT_QR),
        }
    }
}

/// The wire's payment method for the visit's: QR codes go as `qr` to a head office that
/// speaks it, else as `card` (mobile payment on the spot, as older builds sent them);
/// `bank_transfer` is the wire's `transfer`; the others have the same names.
pub fn payment_method_for(store_method: &str, server_speaks_qr: bool) -> &str {
    match store_method {
        "qr" if server_speaks_qr => "qr",
        "qr" => "card",
        "bank_transfer" => "transfer",
        other => other,
    }
}

/// Converts one outbox row; `price` gives a visit part's quoted price.
pub fn to_wire_with(row: &PendingOp, price: PriceLookup) -> Result<Op, MapError> {
    to_wire_for(row, price, Speaks::default())
}

/// Converts one outbox row for a head office that speaks `speaks`.
pub fn to_wire_for(row: &PendingOp, price: PriceLookup, speaks: Speaks) -> Result<Op, MapError> {
    let kind = wire_kind(&row.kind).ok_or_else(|| MapError::UnknownKind(row.kind.clone()))?;
    let op_id = Uuid::parse_str(&row.op_id).map_err(|_| MapError::BadId("op_id"))?;
    let Value::Object(mut fields) = row.payload.clone() else {
        return Err(MapError::BadPayload {
            kind: row.kind.clone(),
            why: "payload is not a JSON object".into(),
        });
    };
    let day_fact = matches!(kind, OpKind::StockTake | OpKind::RecordExpense)
        || (kind == OpKind::ReturnPart && fields.get("work_order_id").is_none_or(Value::is_null));
    let entity_id = match Uuid::parse_str(&row.entity_id) {
        Ok(id) => id,
        Err(_) if day_fact => op_id,
        Err(_) => return Err(MapError::BadId("entity_id")),
    };
    if kind == OpKind::ConsumePart && !fields.contains_key("unit_price") {
        let text = |k: &str| fields.get(k).and_then(Value::as_str).map(str::to_owned);
        if let (Some(wo), Some(quote), Some(part_no)) =
            (text("work_order_id"), text("quote_id"), text("part_no"))
        {
            if let Some(p) = price(&wo, &quote, &part_no) {
                fields.insert("unit_price".into(), json!(p.unit_price));
                fields.insert("warranty".into(), Value::Bool(p.warranty));
            }
        }
    }
    // A part return names its job on the wire (absent: the technician's day).
    if kind != OpKind::ReturnPart {
        fields.remove("work_order_id");
    }
    adapt_visit_shapes(kind, &mut fields, speaks);
    fields
        .entry("fact_id")
        .or_insert_with(|| Value::String(row.op_id.clone()));
    fields
        .entry("at")
        .or_insert_with(|| Value::String(row.created_at.clone()));
    let payload = OpPayload::parse(kind.as_str(), &Value::Object(fields)).map_err(|e| {
        MapError::BadPayload {
            kind: row.kind.clone(),
            why: e.to_string(),
        }
    })?;
    let mut op = Op::new(op_id, row.device_seq, entity_id, row.base_version, &payload);
    // Sent without its file, by the technician's choice (with their reason).
    op.file_missing = row.blob_waiver.clone();
    Ok(op)
}

/// The visit's outbox payloads (crates/onsite-store/src/visit, documents.rs) name some
/// fields differently from the wire; the wire names win when both are present.
fn adapt_visit_shapes(kind: OpKind, fields: &mut serde_json::Map<String, Value>, speaks: Speaks) {
    fn rename(fields: &mut serde_json::Map<String, Value>, from: &str, to: &str) {
        if !fields.contains_key(to) {
            if let Some(v) = fields.get(from).cloned() {
                fields.insert(to.to_owned(), v);
            }
        }
    }
    match kind {
        OpKind::AttachSignature => {
            // The sign-off pad: the customer signs the job's content.
            rename(fields, "png_sha256", "blob_sha256");
            rename(fields, "signed_at", "at");
            fields
                .entry("signer")
                .or_insert_with(|| Value::String("customer".into()));
        }
        OpKind::AttachDocument => {
            rename(fields, "sha256", "blob_sha256");
            if !fields.contains_key("doc_type") {
                if let Some(Value::String(k)) = fields.get("kind").cloned() {
                    fields.insert("doc_type".into(), Value::String(k));
                }
            }
            // Onsite's documents are PDFs (onsite-docs).
            fields
                .entry("content_type")
                .or_insert_with(|| Value::String("application/pdf".into()));
        }
        OpKind::TakePayment => {
            money(fields, "amount_minor", "amount");
            money(fields, "tendered_minor", "tendered");
            money(fields, "change_minor", "change");
            let method = fields
                .get("method")
                .and_then(Value::as_str)
                .map(|m| payment_method_for(m, speaks.qr).to_owned());
            if let Some(m) = method {
                fields.insert("method".into(), Value::String(m));
            }
        }
        OpKind::ConsumePart => {
            // The visit records the serial fitted and the one removed.
            rename(fields, "serial_fitted", "serial_no");
            rename(fields, "override_reason", "stock_override_reason");
            fields.entry("warranty").or_insert(Value::Bool(false));
        }
        OpKind::IssueQuote => {
            for name in ["gross", "covered", "deposit", "charged", "due"] {
                money(fields, &format!("{name}_minor"), name);
            }
            if let Some(Value::Array(lines)) = fields.get_mut("lines") {
                for line in lines.iter_mut() {
                    if let Value::Object(line) = line {
                        money(line, "unit_price_minor", "unit_price");
                        money(line, "charged_minor", "charged");
                    }
                }
            }
        }
        OpKind::RecordQuoteDecision => money(fields, "callout_minor", "callout"),
        OpKind::ReturnPart => {
            rename(fields, "kind", "return_kind");
            money(fields, "reversed_minor", "reversed");
        }
        OpKind::InvoiceLater => money(fields, "amount_minor", "amount"),
        OpKind::RecordExpense => {
            // The store nests the day's figures under `expense`, rates under `rates`.
            if let Some(Value::Object(expense)) = fields.remove("expense") {
                for (k, v) in expense {
                    if k == "rates" {
                        if let Value::Object(rates) = v {
                            for (rk, rv) in rates {
                                fields.entry(rk).or_insert(rv);
                            }
                        }
                    } else {
                        fields.entry(k).or_insert(v);
                    }
                }
            }
            for name in [
                "per_km",
                "meal_per_day",
                "lodging_per_night",
                "mileage",
                "meals",
                "lodging",
                "total",
            ] {
                money(fields, &format!("{name}_minor"), name);
            }
        }
        _ => {}
    }
}

/// `from` (an integer of fen) becomes `to` (CNY money) unless `to` is already there.
fn money(fields: &mut serde_json::Map<String, Value>, from: &str, to: &str) {
    if fields.contains_key(to) {
        return;
    }
    if let Some(minor) = fields.get(from).filter(|v| !v.is_null()).cloned() {
        fields.insert(to.to_owned(), json!({ "minor": minor, "currency": "CNY" }));
    }
}

/// A movement of the van's stock a fact stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VanMovement {
    pub part_no: Option<String>,
    pub part_id: Option<String>,
    /// The ledger's kind: `consume`, `return_unused` or `stock_take`.
    pub kind: &'static str,
    pub delta: i64,
}

/// The van-stock movements a technician fact stands for (a part taken, unused stock
/// returned, a stock-take's differences); none for the other kinds and for old parts
/// (they come out of the appliance, not the van).
pub fn van_movements(p: &OpPayload) -> Vec<VanMovement> {
    use onsite_api::ReturnKind;
    match p {
        OpPayload::ConsumePart(u) => vec![VanMovement {
            part_no: Some(u.part_no.clone()),
            part_id: None,
            kind: "consume",
            delta: -i64::from(u.quantity),
        }],
        OpPayload::ReturnPart(r) if r.return_kind == ReturnKind::Unused => vec![VanMovement {
            part_no: None,
            part_id: Some(r.part_id.clone()),
            kind: "return_unused",
            delta: -i64::from(r.quantity),
        }],
        OpPayload::StockTake(t) => t
            .lines
            .iter()
            .filter(|l| l.difference != 0)
            .map(|l| VanMovement {
                part_no: None,
                part_id: Some(l.part_id.clone()),
                kind: "stock_take",
                delta: l.difference,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The blob an op references, if any.
pub fn blob_of(op: &Op) -> Option<String> {
    OpPayload::parse(&op.kind, &op.payload)
        .ok()
        .and_then(|p| p.blob_sha256().map(str::to_owned))
}

/// The photos an op references (uploaded before it when this device has them).
pub fn photos_of(op: &Op) -> Vec<String> {
    OpPayload::parse(&op.kind, &op.payload)
        .map(|p| p.photo_sha256s().into_iter().map(str::to_owned).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use onsite_store::outbox::kind;
    use serde_json::json;

    fn row(kind: &str, payload: Value) -> PendingOp {
        PendingOp {
            device_seq: 7,
            op_id: "0190a1b2-0000-7000-8000-000000000001".into(),
            kind: kind.into(),
            entity_id: "0190a1b2-0000-7000-8000-000000000002".into(),
            base_version: Some(3),
            payload,
            created_at: "2026-05-01T10:00:00Z".into(),
            blob_waiver: None,
        }
    }

    #[test]
    fn status_change_maps_with_the_op_id_as_fact_id() {
        let r = row(
            kind::CHANGE_STATUS,
            json!({"work_order_id": "x", "from": "on_site", "to": "unable_to_complete",
                   "at": "2026-05-01T09:59:00Z", "reason": "no access"}),
        );
        let op = to_wire(&r).unwrap();
        assert_eq!(op.kind, "change_status");
        assert_eq!(op.device_seq, 7);
        assert_eq!(op.base_version, Some(3));
        assert_eq!(op.payload["fact_id"], r.op_id.as_str());
        assert_eq!(op.payload["to"], "unable_to_complete");
        assert_eq!(op.payload["reason"], "no access");
        assert_eq!(op.payload["at"], "2026-05-01T09:59:00Z");
        // The status the technician left goes too (informational at head office).
        assert_eq!(op.payload["from"], "on_site");
        assert!(op.payload.get("work_order_id").is_none());
        // Mapping is deterministic: a re-send carries the same payload.
        assert_eq!(to_wire(&r).unwrap(), op);
    }

    #[test]
    fn notes_map_with_the_row_time() {
        let op = to_wire(&row(
            kind::EDIT_NOTES,
            json!({"work_order_id": "x", "notes": "n"}),
        ))
        .unwrap();
        assert_eq!(op.kind, "edit_notes");
        assert_eq!(op.payload["notes"], "n");
        assert_eq!(op.payload["at"], "2026-05-01T10:00:00Z");
    }

    #[test]
    fn an_addendum_maps_with_its_own_id_and_time() {
        let r = row(
            kind::ADD_ADDENDUM,
            json!({"work_order_id": WO, "addendum_id": Q, "text": "客户要求下周回访",
                   "at": "2026-05-01T11:00:00Z"}),
        );
        let op = to_wire(&r).unwrap();
        assert_eq!(op.kind, "add_addendum");
        assert_eq!(op.payload["fact_id"], r.op_id.as_str());
        assert_eq!(op.payload["addendum_id"], Q);
        assert_eq!(op.payload["text"], "客户要求下周回访");
        assert_eq!(op.payload["at"], "2026-05-01T11:00:00Z");
        assert!(op.payload.get("work_order_id").is_none());
        // A head office whose hello does not name the kind gets none: the op is held.
        assert!(onsite_api::Hello::protocol1().cannot_take(&op).is_some());
        assert!(onsite_api::Hello::current().cannot_take(&op).is_none());
        let mut older = onsite_api::Hello::current();
        older.op_kinds.retain(|k| k != "add_addendum");
        assert!(older.cannot_take(&op).unwrap().contains("add_addendum"));
    }

    #[test]
    fn mapping_table() {
        // (store kind, payload, Ok(wire kind) or which error)
        let cases: Vec<(&str, Value, Result<&str, &str>)> = vec![
            (
                "ChangeStatus",
                json!({"to": "en_route"}),
                Ok("change_status"),
            ),
            ("ChangeStatus", json!({"to": "flying"}), Err("bad")),
            ("ChangeStatus", json!(["to"]), Err("bad")),
            ("EditNotes", json!({"notes": 5}), Err("bad")),
            ("EditNotes", json!({}), Err("bad")),
            ("RecordDiagnosis", json!({}), Err("bad")),
            ("IssueQuote", json!({"quote_id": "q"}), Err("bad")),
            ("RecordFeedback", json!({"rating": "five"}), Err("bad")),
            ("TakeCarryBack", json!({}), Err("bad")),
            (
                "AdvanceCarryBack",
                json!({"carry_back_id": Q, "from": "taken", "to": "in_the_van"}),
                Err("bad"),
            ),
            (
                "AdvanceCarryBack",
                json!({"carry_back_id": Q, "from": "taken", "to": "at_workshop"}),
                Ok("advance_carry_back"),
            ),
            ("ReturnCarryBack", json!({"carry_back_id": Q}), Err("bad")),
            ("AddAddendum", json!({"addendum_id": Q}), Err("bad")),
            ("CarryBack", json!({}), Err("unknown")),
            ("change_status", json!({"to": "en_route"}), Err("unknown")),
            (
                "TakePayment",
                json!({"amount": {"minor": 100, "currency": "CNY"}, "method": "cash",
                       "receipt_no": null}),
                Ok("take_payment"),
            ),
        ];
        for (k, payload, want) in cases {
            let got = to_wire(&row(k, payload.clone()));
            match (want, &got) {
                (Ok(w), Ok(op)) => assert_eq!(op.kind, w, "{k}"),
                (Err("unknown"), Err(MapError::UnknownKind(_))) => {}
                (Err("bad"), Err(MapError::BadPayload { .. })) => {}
                _ => panic!("{k} {payload}: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn every_kind_the_store_writes_for_a_visit_is_mapped() {
        // The kinds the store's outbox module declares for the work order and the visit.
        // When a new one appears, decide here: map it (with a head-office op) or accept
        // that it blocks the queue.
        for k in [
            kind::CHANGE_STATUS,
            kind::EDIT_NOTES,
            kind::ATTACH_SIGNATURE,
            kind::ATTACH_DOCUMENT,
            kind::RECORD_DIAGNOSIS,
            kind::ISSUE_QUOTE,
            kind::RECORD_QUOTE_DECISION,
            kind::CONSUME_PART,
            kind::RETURN_PART,
            kind::STOCK_TAKE,
            kind::TAKE_PAYMENT,
            kind::INVOICE_LATER,
            kind::RECORD_FEEDBACK,
            kind::RECORD_EXPENSE,
            kind::TAKE_CARRY_BACK,
            kind::ADVANCE_CARRY_BACK,
            kind::RETURN_CARRY_BACK,
            kind::ADD_ADDENDUM,
        ] {
            assert!(wire_kind(k).is_some(), "{k}");
        }
        assert!(wire_kind("RecordDiagnosis ").is_none());
    }

    const Q: &str = "0190a1b2-0000-7000-8000-0000000000aa";
    const WO: &str = "0190a1b2-0000-7000-8000-000000000002";

    fn price(wo: &str, quote: &str, part_no: &str) -> Option<QuotedPrice> {
        (wo == WO && quote == Q && part_no == "F-1").then_some(QuotedPrice {
            unit_price: Money::cny(4500),
            warranty: false,
        })
    }

    #[test]
    fn a_visit_part_gets_its_quoted_price_or_goes_without_one() {
        // As crates/onsite-store/src/visit/parts.rs `take_part` writes it.
        let payload = json!({"work_order_id": WO, "part_use_id": "0190a1b2-0000-7000-8000-0000000000bb",
            "part_id": "p", "part_no": "F-1", "quote_id": Q, "quantity": 2,
            "serial_fitted": "SN-NEW", "serial_removed": "SN-OLD", "override_reason": null,
            "stock_after": 3, "at": "2026-05-01T09:30:00Z"});
        let op = to_wire_with(&row(kind::CONSUME_PART, payload.clone()), &price).unwrap();
        assert_eq!(op.kind, "consume_part");
        let Ok(OpPayload::ConsumePart(p)) = OpPayload::parse(&op.kind, &op.payload) else {
            panic!("{op:?}")
        };
        assert_eq!(p.unit_price, Some(Money::cny(4500)));
        assert!(!p.warranty);
        assert_eq!(p.quantity, 2);
        assert_eq!(p.serial_no.as_deref(), Some("SN-NEW"));
        assert_eq!(p.serial_removed.as_deref(), Some("SN-OLD"));
        assert_eq!(p.quote_id.map(|q| q.to_string()).as_deref(), Some(Q));
        // No store (or the quote was superseded): sent without a price, never blocked.
        let op = to_wire(&row(kind::CONSUME_PART, payload)).unwrap();
        assert_eq!(op.payload["unit_price"], Value::Null);
        assert_eq!(op.payload["quote_id"], Q);
    }

    /// Issue 9, hole 14: every field the store records in an outbox payload reaches the
    /// wire with its value, under its own name or its wire name (`*_minor` as money), or
    /// is one of the few deliberately left on the device.
    #[test]
    fn every_recorded_field_reaches_head_office() {
        // Left on the device: the job is the op's entity; the customer's local id and the
        // technician's id (head office knows the technician from the device's token).
        const KEPT_HERE: &[&str] = &["work_order_id", "customer_id", "technician_id"];
        let renamed = |kind: &str, field: &str| -> Option<&'static str> {
            Some(match (kind, field) {
                (kind::ATTACH_SIGNATURE, "png_sha256") => "blob_sha256",
                (kind::ATTACH_SIGNATURE, "signed_at") => "at",
                (kind::ATTACH_DOCUMENT, "sha256") => "blob_sha256",
                (kind::ATTACH_DOCUMENT, "kind") => "doc_type",
                (kind::RETURN_PART, "kind") => "return_kind",
                (kind::CONSUME_PART, "serial_fitted") => "serial_no",
                (kind::CONSUME_PART, "override_reason") => "stock_override_reason",
                _ => return None,
            })
        };
        fn check(
            kind: &str,
            store: &Value,
            wire: &Value,
            renamed: &dyn Fn(&str, &str) -> Option<&'static str>,
        ) {
            let (Value::Object(store), Value::Object(wire)) = (store, wire) else {
                panic!("{kind}: not objects")
            };
            for (k, v) in store {
                if KEPT_HERE.contains(&k.as_str())
                    && !(kind == kind::RETURN_PART && k == "work_order_id")
                {
                    continue;
                }
                if k == "expense" || k == "rates" {
                    // The expense's figures are flattened onto the op.
                    check(kind, v, &Value::Object(wire.clone()), renamed);
                    continue;
                }
                let field = |name: &str| wire.get(name).cloned().unwrap_or(Value::Null);
                if let Some(name) = k.strip_suffix("_minor") {
                    let got = &field(name);
                    if v.is_null() {
                        assert!(got.is_null(), "{kind}.{k}");
                    } else {
                        assert_eq!(got, &json!({"minor": v, "currency": "CNY"}), "{kind}.{k}");
                    }
                    continue;
                }
                let name = renamed(kind, k).unwrap_or(k);
                if kind == kind::TAKE_PAYMENT && k == "method" {
                    assert_eq!(field(name), "qr", "{kind}.{k}");
                    continue;
                }
                if let (Value::Array(s), Value::Array(w)) = (v, &field(name)) {
                    assert_eq!(s.len(), w.len(), "{kind}.{k}");
                    for (s, w) in s.iter().zip(w) {
                        if s.is_object() {
                            check(kind, s, w, renamed);
                        } else {
                            assert_eq!(s, w, "{kind}.{k}");
                        }
                    }
                    continue;
                }
                assert_eq!(wire.get(name), Some(v), "{kind}.{k} (as {name})");
            }
        }
        let sha = "ab".repeat(32);
        let id = |n: u8| format!("0190a1b2-0000-7000-8000-0000000000{n:02x}");
        let at = "2026-05-01T09:00:00Z";
        // Each as the store writes it (crates/onsite-store/src/**).
        let cases = [
            (
                kind::CHANGE_STATUS,
                json!({"work_order_id": WO, "from": "on_site", "to": "in_progress", "at": at, "reason": null}),
            ),
            (
                kind::EDIT_NOTES,
                json!({"work_order_id": WO, "notes": "换了滤芯"}),
            ),
            (
                kind::ATTACH_SIGNATURE,
                json!({"work_order_id": WO, "signature_id": id(1), "signer_name": "王伟",
                "signed_at": at, "content_hash": "cd".repeat(32), "png_sha256": sha}),
            ),
            (
                kind::ATTACH_DOCUMENT,
                json!({"work_order_id": WO, "kind": "signoff", "lang": "en", "sha256": sha, "size": 5}),
            ),
            (
                kind::TAKE_PAYMENT,
                json!({"work_order_id": WO, "customer_id": "c", "payment_id": id(2), "method": "qr",
                "amount_minor": 4500, "tendered_minor": null, "change_minor": null, "at": at}),
            ),
            (
                kind::INVOICE_LATER,
                json!({"work_order_id": WO, "customer_id": "c", "amount_minor": 100, "at": at}),
            ),
            (
                kind::RECORD_FEEDBACK,
                json!({"work_order_id": WO, "rating": 5, "comment": "好", "callback_allowed": true, "at": at}),
            ),
            (
                kind::RECORD_EXPENSE,
                json!({"technician_id": "t", "expense": {"day": "2026-05-01", "km": 3, "meal_days": 1,
                "nights": 0, "rates": {"per_km_minor": 100, "meal_per_day_minor": 3000, "lodging_per_night_minor": 15000},
                "mileage_minor": 300, "meals_minor": 3000, "lodging_minor": 0, "total_minor": 3300}, "at": at}),
            ),
            (
                kind::CONSUME_PART,
                json!({"work_order_id": WO, "part_use_id": id(3), "part_id": "p-1", "part_no": "F-1",
                "quote_id": Q, "quantity": 1, "serial_fitted": "N", "serial_removed": "O", "override_reason": "borrowed",
                "stock_after": -1, "at": at}),
            ),
            (
                kind::RETURN_PART,
                json!({"return_id": id(4), "kind": "old", "part_id": "p-1", "quantity": 1,
                "work_order_id": WO, "part_use_id": id(3), "serial": "O", "quote_id": Q, "reversed_line": 1,
                "reversed_minor": 2000, "day": "2026-05-01", "at": at}),
            ),
            (
                kind::STOCK_TAKE,
                json!({"stock_take_id": id(5), "lines": [{"part_id": "p-1", "expected": 2,
                "counted": 1, "difference": -1}], "day": "2026-05-02", "at": at}),
            ),
            (
                kind::RECORD_DIAGNOSIS,
                json!({"work_order_id": WO, "diagnosis_id": id(6), "fault_found": "f",
                "components": ["pump"], "exclusions": [{"kind": "misuse", "component": "pump"}], "notes": "n",
                "photos": [{"sha256": sha, "media_type": "image/jpeg", "size": 9}], "at": at}),
            ),
            (
                kind::ISSUE_QUOTE,
                json!({"work_order_id": WO, "quote_id": Q, "fee_table_id": "ft", "fee_table_version": 2,
                "visit_date": "2026-05-01", "work_date": "2026-05-01", "lines": [{"code": "MAINT", "quantity": 1,
                "unit_price_minor": 3000, "status": "charged", "charged_minor": 3000}], "gross_minor": 3000,
                "covered_minor": 0, "deposit_minor": 0, "charged_minor": 3000, "due_minor": 3000, "at": at}),
            ),
            (
                kind::RECORD_QUOTE_DECISION,
                json!({"work_order_id": WO, "quote_id": Q, "decision": "declined", "at": at,
                "status_from": "in_progress", "status_to": "unable_to_complete", "reason": "quote_declined",
                "callout_minor": 5000}),
            ),
            (
                kind::TAKE_CARRY_BACK,
                json!({"carry_back_id": id(7), "work_order_id": WO, "receipt_no": "CB-1",
                "item": "i", "serial_no": null, "accessories": ["a"], "condition": "c", "fault": "f",
                "expected_return": "2026-05-09", "photos": [sha], "signer_name": "S", "png_sha256": sha, "at": at}),
            ),
            (
                kind::ADVANCE_CARRY_BACK,
                json!({"carry_back_id": id(7), "from": "taken", "to": "at_workshop", "at": at}),
            ),
            (
                kind::RETURN_CARRY_BACK,
                json!({"carry_back_id": id(7), "receipt_collected": false,
                "receipt_lost_note": "lost", "signer_name": "S", "png_sha256": sha, "at": at}),
            ),
            (
                kind::ADD_ADDENDUM,
                json!({"work_order_id": WO, "addendum_id": id(8), "text": "下周回访", "at": at}),
            ),
        ];
        let mut kinds: Vec<&str> = cases.iter().map(|(k, _)| *k).collect();
        kinds.sort_unstable();
        let mut all: Vec<&str> = KINDS
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| *k != "RecordWork")
            .collect();
        all.sort_unstable();
        assert_eq!(kinds, all, "every kind the store writes is audited");
        for (k, payload) in cases {
            let r = PendingOp {
                entity_id: WO.into(),
                ..row(k, payload.clone())
            };
            let op = to_wire(&r).unwrap_or_else(|e| panic!("{k}: {e}"));
            check(k, &payload, &op.payload, &renamed);
        }
    }

    #[test]
    fn quoted_price_divides_what_the_customer_pays() {
        use onsite_domain::rules::{Bilingual, ItemKind, PricedLine};
        let line = |code: &str, quantity, charged, status| PricedLine {
            code: code.into(),
            name: Bilingual {
                zh: "x".into(),
                en: "x".into(),
            },
            kind: ItemKind::Part,
            component: None,
            quantity,
            unit_price: Money::cny(3000),
            price_set_by_technician: false,
            amount: Money::cny(3000 * i64::from(quantity)),
            status,
            covered_by: None,
            old_part: None,
            charged: Money::cny(charged),
            includes: vec![],
            reasons: vec![],
        };
        let lines = vec![
            line("A", 2, 6000, LineStatus::Charged),
            line("B", 1, 0, LineStatus::Covered),
            line("C", 3, 100, LineStatus::Deposit),
        ];
        assert_eq!(
            quoted_price(&lines, "A"),
            Some(QuotedPrice {
                unit_price: Money::cny(3000),
                warranty: false
            })
        );
        assert_eq!(
            quoted_price(&lines, "B"),
            Some(QuotedPrice {
                unit_price: Money::cny(0),
                warranty: true
            })
        );
        assert_eq!(quoted_price(&lines, "C"), None);
        assert_eq!(quoted_price(&lines, "Z"), None);
    }

    #[test]
    fn the_visits_other_kinds_map_field_by_field() {
        // (store kind, payload as the store writes it, checks on the wire payload)
        type Check = fn(&Op);
        let cases: Vec<(&str, Value, Check)> = vec![
            (
                kind::RECORD_DIAGNOSIS,
                json!({"work_order_id": WO, "diagnosis_id": Q, "fault_found": "压缩机不启动",
                       "components": ["compressor"],
                       "exclusions": [{"kind": "misuse", "component": null}],
                       "notes": "n", "photos": [{"sha256": "ab".repeat(32),
                       "media_type": "image/jpeg", "size": 10}], "at": "2026-05-01T09:00:00Z"}),
                |op| {
                    assert_eq!(op.kind, "record_diagnosis");
                    assert_eq!(op.payload["fault_found"], "压缩机不启动");
                    assert_eq!(op.payload["exclusions"][0]["kind"], "misuse");
                    assert_eq!(op.payload["photos"][0]["size"], 10);
                    assert_eq!(op.payload["diagnosis_id"], Q);
                },
            ),
            (
                kind::ISSUE_QUOTE,
                json!({"work_order_id": WO, "quote_id": Q, "fee_table_id": "ft", "fee_table_version": 3,
                       "visit_date": "2026-05-01", "work_date": "2026-05-01",
                       "lines": [{"code": "F-1", "quantity": 2, "unit_price_minor": 4500,
                                  "status": "charged", "charged_minor": 9000}],
                       "gross_minor": 9000, "covered_minor": 0, "deposit_minor": 0,
                       "charged_minor": 9000, "due_minor": 9000, "at": "2026-05-01T09:10:00Z"}),
                |op| {
                    assert_eq!(op.kind, "issue_quote");
                    assert_eq!(op.payload["fee_table_version"], 3);
                    assert_eq!(op.payload["due"], json!({"minor": 9000, "currency": "CNY"}));
                    assert_eq!(op.payload["charged"]["minor"], 9000);
                    assert_eq!(op.payload["lines"][0]["unit_price"]["minor"], 4500);
                    assert_eq!(op.payload["lines"][0]["status"], "charged");
                    assert_eq!(op.payload["work_date"], "2026-05-01");
                },
            ),
            (
                kind::RECORD_QUOTE_DECISION,
                json!({"work_order_id": WO, "quote_id": Q, "decision": "declined",
                       "at": "2026-05-01T09:20:00Z", "status_from": "in_progress",
                       "status_to": "unable_to_complete", "reason": "quote_declined",
                       "callout_minor": 5000}),
                |op| {
                    assert_eq!(op.kind, "record_quote_decision");
                    assert_eq!(op.payload["decision"], "declined");
                    assert_eq!(op.payload["status_to"], "unable_to_complete");
                    assert_eq!(op.payload["callout"]["minor"], 5000);
                    assert_eq!(op.payload["status_from"], "in_progress");
                },
            ),
            (
                kind::RETURN_PART,
                json!({"return_id": Q, "kind": "old", "part_id": "p", "quantity": 1,
                       "work_order_id": WO, "part_use_id": Q, "serial": "SN-OLD",
                       "quote_id": Q, "reversed_line": 0, "reversed_minor": 2000,
                       "at": "2026-05-01T09:40:00Z"}),
                |op| {
                    assert_eq!(op.kind, "return_part");
                    assert_eq!(op.payload["return_kind"], "old");
                    assert_eq!(op.payload["work_order_id"], WO);
                    assert_eq!(op.payload["reversed"]["minor"], 2000);
                    assert_eq!(op.entity_id.to_string(), WO);
                },
            ),
            (
                kind::INVOICE_LATER,
                json!({"work_order_id": WO, "customer_id": "c", "amount_minor": 1200,
                       "at": "2026-05-01T09:50:00Z"}),
                |op| {
                    assert_eq!(op.kind, "invoice_later");
                    assert_eq!(op.payload["amount"]["minor"], 1200);
                    // The customer's id stays on the device.
                    assert!(op.payload.get("customer_id").is_none());
                },
            ),
            (
                kind::RECORD_FEEDBACK,
                json!({"work_order_id": WO, "rating": 4, "comment": "准时", "callback_allowed": true,
                       "at": "2026-05-01T10:00:00Z"}),
                |op| {
                    assert_eq!(op.kind, "record_feedback");
                    assert_eq!(op.payload["rating"], 4);
                    assert_eq!(op.payload["comment"], "准时");
                    assert_eq!(op.payload["callback_allowed"], true);
                },
            ),
            (
                kind::STOCK_TAKE,
                json!({"stock_take_id": Q, "lines": [{"part_id": "p", "expected": 3,
                       "counted": 2, "difference": -1}], "day": "2026-05-02",
                       "at": "2026-05-01T18:00:00Z"}),
                |op| {
                    assert_eq!(op.kind, "stock_take");
                    assert_eq!(op.payload["lines"][0]["difference"], -1);
                    // The local day the technician saw (UTC+8: already the 2nd).
                    assert_eq!(op.payload["day"], "2026-05-02");
                },
            ),
            (
                kind::RECORD_EXPENSE,
                json!({"technician_id": WO, "expense": {"day": "2026-05-01", "km": 10,
                       "meal_days": 1, "nights": 0, "rates": {"per_km_minor": 100,
                       "meal_per_day_minor": 5000, "lodging_per_night_minor": 20000},
                       "mileage_minor": 1000, "meals_minor": 5000, "lodging_minor": 0,
                       "total_minor": 6000}, "at": "2026-05-01T19:00:00Z"}),
                |op| {
                    assert_eq!(op.kind, "record_expense");
                    assert_eq!(op.payload["day"], "2026-05-01");
                    assert_eq!(op.payload["km"], 10);
                    assert_eq!(op.payload["per_km"]["minor"], 100);
                    assert_eq!(op.payload["lodging_per_night"]["minor"], 20000);
                    assert_eq!(op.payload["total"]["minor"], 6000);
                },
            ),
        ];
        for (k, payload, check) in cases {
            let op = to_wire(&row(k, payload)).unwrap_or_else(|e| panic!("{k}: {e}"));
            assert_eq!(
                op.payload["fact_id"],
                row(k, json!({})).op_id.as_str(),
                "{k}"
            );
            check(&op);
        }
    }

    #[test]
    fn the_carry_back_kinds_map_field_by_field() {
        // The payloads exactly as crates/onsite-store/src/carryback.rs writes them.
        let png = "bb".repeat(32);
        let photo = "cc".repeat(32);
        let take = row(
            kind::TAKE_CARRY_BACK,
            json!({"carry_back_id": Q, "work_order_id": WO, "receipt_no": "CB-20261124-0A1B2C3D",
                   "item": "ThermaFlow TF-60E water heater", "serial_no": "TF60E-25-33817",
                   "accessories": ["remote", "hose"], "condition": "Scratch on the left panel",
                   "fault": "Humming noise, error E3", "expected_return": "2026-12-01",
                   "photos": [photo], "signer_name": "Sophie Müller", "png_sha256": png,
                   "at": "2026-11-24T02:00:00.000Z"}),
        );
        let op = to_wire(&take).unwrap();
        assert_eq!(op.kind, "take_carry_back");
        assert_eq!(op.entity_id.to_string(), WO);
        assert!(op.payload.get("work_order_id").is_none());
        let Ok(OpPayload::TakeCarryBack(p)) = OpPayload::parse(&op.kind, &op.payload) else {
            panic!("{op:?}")
        };
        assert_eq!(p.fact_id.to_string(), take.op_id);
        assert_eq!(p.carry_back_id.to_string(), Q);
        assert_eq!(p.receipt_no, "CB-20261124-0A1B2C3D");
        assert_eq!(p.item, "ThermaFlow TF-60E water heater");
        assert_eq!(p.serial_no.as_deref(), Some("TF60E-25-33817"));
        assert_eq!(p.accessories, ["remote", "hose"]);
        assert_eq!(p.condition, "Scratch on the left panel");
        assert_eq!(p.fault, "Humming noise, error E3");
        assert_eq!(p.expected_return.to_string(), "2026-12-01");
        assert_eq!(p.photos, [photo.as_str()]);
        assert_eq!(p.signer_name, "Sophie Müller");
        assert_eq!(p.at.to_rfc3339(), "2026-11-24T02:00:00+00:00");
        // The signature PNG is the op's blob: the op waits for it; the photos are uploaded
        // first when the device has them.
        assert_eq!(blob_of(&op), Some(png.clone()));
        assert_eq!(photos_of(&op), vec![photo.clone()]);
        // Without a serial number the store writes null.
        let mut no_serial = take.clone();
        no_serial.payload["serial_no"] = Value::Null;
        assert_eq!(
            to_wire(&no_serial).unwrap().payload["serial_no"],
            Value::Null
        );

        let advance = row(
            kind::ADVANCE_CARRY_BACK,
            json!({"carry_back_id": Q, "from": "at_workshop", "to": "repaired",
                   "at": "2026-11-26T02:00:00.000Z"}),
        );
        let op = to_wire(&advance).unwrap();
        assert_eq!(op.kind, "advance_carry_back");
        // Unlike a status change, the step it left is part of the fact.
        assert_eq!(op.payload["from"], "at_workshop");
        assert_eq!(op.payload["to"], "repaired");
        assert_eq!(op.payload["fact_id"], advance.op_id.as_str());
        assert_eq!(blob_of(&op), None);

        for (collected, note) in [(true, Value::Null), (false, json!("Customer lost it"))] {
            let back = row(
                kind::RETURN_CARRY_BACK,
                json!({"carry_back_id": Q, "receipt_collected": collected,
                       "receipt_lost_note": note, "signer_name": "Sophie Müller",
                       "png_sha256": png, "at": "2026-11-30T02:00:00.000Z"}),
            );
            let op = to_wire(&back).unwrap();
            assert_eq!(op.kind, "return_carry_back");
            let Ok(OpPayload::ReturnCarryBack(p)) = OpPayload::parse(&op.kind, &op.payload) else {
                panic!("{op:?}")
            };
            assert_eq!(p.receipt_collected, collected);
            assert_eq!(p.receipt_lost_note.as_deref(), note.as_str());
            assert_eq!(p.signer_name, "Sophie Müller");
            assert_eq!(blob_of(&op), Some(png.clone()));
        }
        // A take whose photo list is not text, or a return without its signature, does not
        // read: it blocks the queue rather than going half-made.
        let mut bad = take.clone();
        bad.payload["photos"] = json!([1]);
        assert!(matches!(to_wire(&bad), Err(MapError::BadPayload { .. })));
        let bad = row(
            kind::RETURN_CARRY_BACK,
            json!({"carry_back_id": Q, "receipt_collected": true, "receipt_lost_note": null,
                   "signer_name": "S"}),
        );
        assert!(matches!(to_wire(&bad), Err(MapError::BadPayload { .. })));
    }

    #[test]
    fn technician_day_facts_need_no_work_order_id() {
        // An unused return without a job: the store's entity is the part's id.
        let unused = PendingOp {
            entity_id: "part-17".into(),
            ..row(
                kind::RETURN_PART,
                json!({"return_id": Q, "kind": "unused", "part_id": "part-17", "quantity": 2,
                       "work_order_id": null, "part_use_id": null, "serial": null,
                       "quote_id": null, "reversed_line": null, "reversed_minor": 0,
                       "at": "2026-05-01T17:00:00Z"}),
            )
        };
        let op = to_wire(&unused).unwrap();
        assert_eq!(op.entity_id.to_string(), unused.op_id);
        assert_eq!(op.payload["work_order_id"], Value::Null);
        // A job's op still needs its work order's id.
        let job = PendingOp {
            entity_id: "part-17".into(),
            ..row(
                kind::RECORD_FEEDBACK,
                json!({"rating": 5, "comment": "", "callback_allowed": false}),
            )
        };
        assert_eq!(to_wire(&job).unwrap_err(), MapError::BadId("entity_id"));
    }

    #[test]
    fn the_visits_payload_shapes_map_to_the_wire() {
        let sha = "ab".repeat(32);
        let op = to_wire(&row(
            kind::ATTACH_SIGNATURE,
            json!({"work_order_id": "x", "signature_id": "0190a1b2-0000-7000-8000-0000000000aa",
                   "signer_name": "王伟", "signed_at": "2026-05-01T09:00:00Z",
                   "content_hash": "h", "png_sha256": sha}),
        ))
        .unwrap();
        assert_eq!(op.kind, "attach_signature");
        assert_eq!(op.payload["blob_sha256"], sha.as_str());
        assert_eq!(op.payload["signer"], "customer");
        assert_eq!(op.payload["at"], "2026-05-01T09:00:00Z");
        assert_eq!(blob_of(&op), Some(sha.clone()));
        // The signer's typed name and the content hash the signature vouches for reach
        // head office unchanged (issue 9, hole 14).
        assert_eq!(op.payload["signer_name"], "王伟");
        assert_eq!(op.payload["content_hash"], "h");
        let sig_id = "0190a1b2-0000-7000-8000-0000000000aa";
        let op = to_wire(&row(
            kind::ATTACH_SIGNATURE,
            json!({"work_order_id": "x", "signature_id": sig_id, "signer_name": "王伟",
                   "signed_at": "2026-05-01T09:00:00Z", "content_hash": "cd".repeat(32),
                   "png_sha256": sha}),
        ))
        .unwrap();
        assert_eq!(op.payload["signature_id"], sig_id);
        let Ok(OpPayload::AttachSignature(p)) = OpPayload::parse(&op.kind, &op.payload) else {
            panic!("{op:?}")
        };
        assert_eq!(p.signer_name.as_deref(), Some("王伟"));
        assert_eq!(p.content_hash, Some("cd".repeat(32)));

        let op = to_wire(&row(
            kind::ATTACH_DOCUMENT,
            json!({"work_order_id": "x", "kind": "signoff", "lang": "zh-CN", "sha256": sha,
                   "size": 100}),
        ))
        .unwrap();
        assert_eq!(op.payload["doc_type"], "signoff");
        assert_eq!(op.payload["content_type"], "application/pdf");
        assert_eq!(op.payload["lang"], "zh-CN");
        assert_eq!(op.payload["size"], 100);
    }

    #[test]
    fn payments_keep_their_method_id_and_cash_handed_over() {
        let pay = |method: &str, tendered: Value| {
            row(
                kind::TAKE_PAYMENT,
                json!({"work_order_id": "x", "customer_id": "c",
                       "payment_id": "0190a1b2-0000-7000-8000-0000000000bb",
                       "method": method, "amount_minor": 4500, "tendered_minor": tendered,
                       "change_minor": tendered.as_i64().map(|t| t - 4500),
                       "at": "2026-05-01T09:30:00Z"}),
            )
        };
        // (store method, to this head office, to one that does not speak `qr`)
        for (method, wire, older) in [
            ("cash", "cash", "cash"),
            ("card", "card", "card"),
            ("qr", "qr", "card"),
            ("bank_transfer", "transfer", "transfer"),
        ] {
            let r = pay(method, json!(5000));
            let op = to_wire(&r).unwrap();
            assert_eq!(op.payload["method"], wire);
            assert_eq!(op.payload["amount"]["minor"], 4500);
            let op = to_wire_for(&r, &|_, _, _| None, Speaks { qr: false }).unwrap();
            assert_eq!(op.payload["method"], older);
            assert_eq!(payment_method_for(method, true), wire);
            assert_eq!(payment_method_for(method, false), older);
        }
        // The negotiation chooses: a head office whose hello names `payment_qr` gets `qr`;
        // one of protocol 1 (no hello) or without the feature gets `card`, as before.
        let qr = pay("qr", Value::Null);
        for (hello, wire) in [
            (onsite_api::Hello::current(), "qr"),
            (onsite_api::Hello::protocol1(), "card"),
        ] {
            let speaks = Speaks::from_hello(&hello);
            let op = to_wire_for(&qr, &|_, _, _| None, speaks).unwrap();
            assert_eq!(op.payload["method"], wire);
            assert_eq!(hello.cannot_take(&op), None, "never held or refused");
        }
        let op = to_wire(&qr).unwrap();
        assert!(onsite_api::Hello::protocol1().cannot_take(&op).is_some());
        let op = to_wire(&pay("cash", json!(5000))).unwrap();
        let Ok(OpPayload::TakePayment(p)) = OpPayload::parse(&op.kind, &op.payload) else {
            panic!("{op:?}")
        };
        assert_eq!(p.method, onsite_api::PaymentMethod::Cash);
        assert_eq!(p.tendered, Some(Money::cny(5000)));
        assert_eq!(p.change, Some(Money::cny(500)));
        assert_eq!(
            p.payment_id.map(|id| id.to_string()).as_deref(),
            Some("0190a1b2-0000-7000-8000-0000000000bb")
        );
        // A QR payment has no cash handed over: the store writes nulls, the wire omits them.
        let op = to_wire(&pay("qr", Value::Null)).unwrap();
        assert!(op.payload.get("tendered").is_none() && op.payload.get("change").is_none());
        assert_eq!(op.payload["method"], "qr");
        // The customer's local id stays on the device.
        assert!(op.payload.get("customer_id").is_none());
    }

    #[test]
    fn errors_do_not_echo_values() {
        let err = to_wire(&row("ChangeStatus", json!({"to": "Mrs Wang 13800001111"}))).unwrap_err();
        let text = err.to_string();
        assert!(
            !text.contains("Wang") && !text.contains("13800001111"),
            "{text}"
        );
        let bad_id = PendingOp {
            entity_id: "not-a-uuid".into(),
            ..row("ChangeStatus", json!({"to": "en_route"}))
        };
        assert_eq!(to_wire(&bad_id).unwrap_err(), MapError::BadId("entity_id"));
    }
}
