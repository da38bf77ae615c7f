//! The store's outbox rows → `onsite-api` ops.
//!
//! The store writes domain commands (`ChangeStatus`, `EditNotes`, …) with payloads that
//! carry the work order's id and, for status changes, the status it left. The wire op is
//! the `onsite-api` payload of the matching [`OpKind`], with:
//! - `fact_id` = the outbox row's `op_id` unless the payload has its own (one fact per op,
//!   stable across re-sends, so the server recognises a re-sent fact);
//! - `at` = the row's `created_at` unless the payload has its own;
//! - fields the wire does not know (`work_order_id`, `from`) left out.
//!
//! A kind with no wire op (e.g. the visit's `RecordDiagnosis` before head office knows it)
//! or a payload that does not read as its kind is an error: the sync stops the queue at
//! that op and reports it ([`crate::plan::Blocked`]); nothing is dropped or skipped.

use onsite_api::{Op, OpKind, OpPayload};
use onsite_store::outbox::PendingOp;
use serde_json::Value;
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
];

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

/// Converts one outbox row into the op pushed for it.
pub fn to_wire(row: &PendingOp) -> Result<Op, MapError> {
    let kind = wire_kind(&row.kind).ok_or_else(|| MapError::UnknownKind(row.kind.clone()))?;
    let op_id = Uuid::parse_str(&row.op_id).map_err(|_| MapError::BadId("op_id"))?;
    let entity_id = Uuid::parse_str(&row.entity_id).map_err(|_| MapError::BadId("entity_id"))?;
    let Value::Object(mut fields) = row.payload.clone() else {
        return Err(MapError::BadPayload {
            kind: row.kind.clone(),
            why: "payload is not a JSON object".into(),
        });
    };
    fields.remove("work_order_id");
    if kind == OpKind::ChangeStatus {
        fields.remove("from");
    }
    adapt_visit_shapes(kind, &mut fields);
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
    Ok(Op::new(
        op_id,
        row.device_seq,
        entity_id,
        row.base_version,
        &payload,
    ))
}

/// The visit's outbox payloads (crates/onsite-store/src/visit, documents.rs) name some
/// fields differently from the wire; the wire names win when both are present.
fn adapt_visit_shapes(kind: OpKind, fields: &mut serde_json::Map<String, Value>) {
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
            if !fields.contains_key("amount") {
                if let Some(minor) = fields.get("amount_minor").cloned() {
                    fields.insert(
                        "amount".into(),
                        serde_json::json!({ "minor": minor, "currency": "CNY" }),
                    );
                }
            }
            // The visit's methods → the wire's: QR codes are mobile payments on the spot.
            let method = match fields.get("method").and_then(Value::as_str) {
                Some("qr") => Some("card"),
                Some("bank_transfer") => Some("transfer"),
                _ => None,
            };
            if let Some(m) = method {
                fields.insert("method".into(), Value::String(m.into()));
            }
        }
        _ => {}
    }
}

/// The blob an op references, if any.
pub fn blob_of(op: &Op) -> Option<String> {
    OpPayload::parse(&op.kind, &op.payload)
        .ok()
        .and_then(|p| p.blob_sha256().map(str::to_owned))
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
        assert!(op.payload.get("from").is_none() && op.payload.get("work_order_id").is_none());
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
            ("RecordDiagnosis", json!({}), Err("unknown")),
            ("IssueQuote", json!({}), Err("unknown")),
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
    fn every_kind_the_store_writes_today_is_either_mapped_or_known_to_block() {
        // The kinds the store's outbox module declares. When a new one appears, decide
        // here: map it (with a head-office op) or accept that it blocks the queue.
        let mapped = [kind::CHANGE_STATUS, kind::EDIT_NOTES];
        for k in mapped {
            assert!(wire_kind(k).is_some(), "{k}");
        }
        assert!(wire_kind("RecordDiagnosis").is_none());
    }

    #[test]
    fn the_visits_payload_shapes_map_to_the_wire() {
        let sha = "ab".repeat(32);
        let op = to_wire(&row(
            kind::ATTACH_SIGNATURE,
            json!({"work_order_id": "x", "signature_id": "s", "signer_name": "王伟",
                   "signed_at": "2026-05-01T09:00:00Z", "content_hash": "h", "png_sha256": sha}),
        ))
        .unwrap();
        assert_eq!(op.kind, "attach_signature");
        assert_eq!(op.payload["blob_sha256"], sha.as_str());
        assert_eq!(op.payload["signer"], "customer");
        assert_eq!(op.payload["at"], "2026-05-01T09:00:00Z");
        assert_eq!(blob_of(&op), Some(sha.clone()));
        // The signer's name is not sent: the wire has no field for it.
        assert!(!op.payload.to_string().contains("王伟"));

        let op = to_wire(&row(
            kind::ATTACH_DOCUMENT,
            json!({"work_order_id": "x", "kind": "signoff", "lang": "zh-CN", "sha256": sha,
                   "size": 100}),
        ))
        .unwrap();
        assert_eq!(op.payload["doc_type"], "signoff");
        assert_eq!(op.payload["content_type"], "application/pdf");

        for (method, wire) in [
            ("cash", "cash"),
            ("card", "card"),
            ("qr", "card"),
            ("bank_transfer", "transfer"),
        ] {
            let op = to_wire(&row(
                kind::TAKE_PAYMENT,
                json!({"work_order_id": "x", "customer_id": "c", "payment_id": "p",
                       "method": method, "amount_minor": 4500, "tendered_minor": 5000,
                       "change_minor": 500, "at": "2026-05-01T09:30:00Z"}),
            ))
            .unwrap();
            assert_eq!(op.payload["method"], wire);
            assert_eq!(op.payload["amount"]["minor"], 4500);
        }

        // The visit's part use has no price on it: it cannot be sent as a wire
        // consume_part yet, and blocks the queue rather than going out wrong.
        let err = to_wire(&row(
            kind::CONSUME_PART,
            json!({"work_order_id": "x", "part_use_id": "u", "part_id": "p", "part_no": "F-1",
                   "quote_id": "q", "quantity": 1, "stock_after": 3,
                   "at": "2026-05-01T09:30:00Z"}),
        ))
        .unwrap_err();
        assert!(matches!(err, MapError::BadPayload { .. }), "{err:?}");
        for k in [
            kind::RECORD_DIAGNOSIS,
            kind::ISSUE_QUOTE,
            kind::RECORD_QUOTE_DECISION,
            kind::RETURN_PART,
            kind::STOCK_TAKE,
            kind::INVOICE_LATER,
            kind::RECORD_FEEDBACK,
            kind::RECORD_EXPENSE,
        ] {
            assert!(wire_kind(k).is_none(), "{k}");
        }
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
