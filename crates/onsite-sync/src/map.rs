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
