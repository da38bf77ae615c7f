//! The outbox: one operation per user change, written in the change's own transaction,
//! pushed to head office in `device_seq` order by the sync client.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use crate::{ts, StoreResult};

/// Operation kinds: domain commands, stable on the wire.
pub mod kind {
    pub const CHANGE_STATUS: &str = "ChangeStatus";
    pub const EDIT_NOTES: &str = "EditNotes";
    /// A note added after the job was closed, outside the signed content (issue 10).
    pub const ADD_ADDENDUM: &str = "AddAddendum";
    // Signatures and documents (issue 4).
    pub const ATTACH_SIGNATURE: &str = "AttachSignature";
    pub const ATTACH_DOCUMENT: &str = "AttachDocument";
    // Carry-back (issue 4).
    pub const TAKE_CARRY_BACK: &str = "TakeCarryBack";
    pub const ADVANCE_CARRY_BACK: &str = "AdvanceCarryBack";
    pub const RETURN_CARRY_BACK: &str = "ReturnCarryBack";
    // The visit (issue 3).
    pub const RECORD_DIAGNOSIS: &str = "RecordDiagnosis";
    pub const ISSUE_QUOTE: &str = "IssueQuote";
    pub const RECORD_QUOTE_DECISION: &str = "RecordQuoteDecision";
    pub const CONSUME_PART: &str = "ConsumePart";
    pub const RETURN_PART: &str = "ReturnPart";
    pub const STOCK_TAKE: &str = "StockTake";
    pub const TAKE_PAYMENT: &str = "TakePayment";
    pub const INVOICE_LATER: &str = "InvoiceLater";
    pub const RECORD_FEEDBACK: &str = "RecordFeedback";
    pub const RECORD_EXPENSE: &str = "RecordExpense";
}

/// An operation waiting to be pushed.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingOp {
    pub device_seq: i64,
    pub op_id: String,
    pub kind: String,
    pub entity_id: String,
    pub base_version: Option<i64>,
    pub payload: serde_json::Value,
    pub created_at: String,
    /// The technician's reason for sending it without the file it references, if they
    /// chose to (the file was lost or damaged here).
    pub blob_waiver: Option<String>,
}

/// Appends one operation; returns its op id (UUIDv7, born here).
pub fn append(
    tx: &Transaction,
    kind: &str,
    entity_id: &str,
    base_version: Option<i64>,
    payload: &impl Serialize,
    now: DateTime<Utc>,
) -> StoreResult<String> {
    let op_id = uuid::Uuid::now_v7().to_string();
    tx.execute(
        "INSERT INTO outbox (op_id, kind, entity_id, base_version, payload, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            op_id,
            kind,
            entity_id,
            base_version,
            serde_json::to_string(payload)?,
            ts(now)
        ],
    )?;
    Ok(op_id)
}

/// The oldest `limit` pending operations, in push order.
pub fn pending(conn: &Connection, limit: usize) -> StoreResult<Vec<PendingOp>> {
    pending_after(conn, 0, limit)
}

/// The oldest `limit` pending operations after `device_seq` `after`, in push order.
pub fn pending_after(conn: &Connection, after: i64, limit: usize) -> StoreResult<Vec<PendingOp>> {
    let mut stmt = conn.prepare_cached(
        "SELECT device_seq, op_id, kind, entity_id, base_version, payload, created_at,
                blob_waiver
         FROM outbox WHERE state = 'pending' AND device_seq > ?2 ORDER BY device_seq LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit as i64, after], |r| {
        Ok((
            PendingOp {
                device_seq: r.get(0)?,
                op_id: r.get(1)?,
                kind: r.get(2)?,
                entity_id: r.get(3)?,
                base_version: r.get(4)?,
                payload: serde_json::Value::Null,
                created_at: r.get(6)?,
                blob_waiver: r.get(7)?,
            },
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut ops = Vec::new();
    for row in rows {
        let (mut op, payload) = row?;
        op.payload = serde_json::from_str(&payload)?;
        ops.push(op);
    }
    Ok(ops)
}

pub fn pending_count(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM outbox WHERE state = 'pending'",
        [],
        |r| r.get(0),
    )?)
}

/// The last operation written for an entity, if any (tests, diagnostics).
pub fn last_for(conn: &Connection, entity_id: &str) -> StoreResult<Option<PendingOp>> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT max(device_seq) FROM outbox WHERE entity_id = ?1",
            [entity_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let Some(seq) = seq else { return Ok(None) };
    let op = conn.query_row(
        "SELECT device_seq, op_id, kind, entity_id, base_version, payload, created_at,
                blob_waiver
         FROM outbox WHERE device_seq = ?1",
        [seq],
        |r| {
            Ok(PendingOp {
                device_seq: r.get(0)?,
                op_id: r.get(1)?,
                kind: r.get(2)?,
                entity_id: r.get(3)?,
                base_version: r.get(4)?,
                payload: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
                created_at: r.get(6)?,
                blob_waiver: r.get(7)?,
            })
        },
    )?;
    Ok(Some(op))
}
