//! Facts and the feed: technicians' ops (`processed_ops`, `facts`, `technician_day_facts`,
//! `addenda` as written, `refused_ops`), the commits and their tags (`commits`), what each
//! technician sees at which commit (`feed`) and the pull that reads it, and head office's
//! settings in `meta` (epoch, server id, restore horizon, retention).

use chrono::{DateTime, Utc};
use onsite_api::{
    Change, ChangeItem, FactRecord, Op, OpKind, OpOutcome, OpPayload, OpResult, RejectCode,
    ReviewReason, WorkOrder,
};
use onsite_domain::WorkOrderStatus;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde_json::Value;
use uuid::Uuid;

use super::reference::{
    issue_from_row, load_company, load_fee_table, load_latest_catalogue, load_price_list,
    ISSUE_COLS,
};
use super::work_orders::{load_work_order, open_review_flag};
use super::{
    conv, get_json, get_opt_time, get_opt_uuid, get_time, get_uuid, missing, parse_time, ts,
    SqliteStorage,
};
use crate::carryback::CarryBackFact;
use crate::rules::{self, Decision, WorkOrderState};
use crate::storage::{DeviceAuth, FeedPage, Result, StorageError};

/// The fact kinds of a carry-back.
pub(super) const CARRY_BACK_KINDS: [&str; 3] = [
    OpKind::TakeCarryBack.as_str(),
    OpKind::AdvanceCarryBack.as_str(),
    OpKind::ReturnCarryBack.as_str(),
];

/// Audience of feed rows every technician sees.
pub(super) const EVERYONE: &str = "*";

pub(super) const FACT_COLS: &str =
    "fact_id, op_id, work_order_id, technician_id, device_id, kind, payload, \
    base_version, received_at, file_missing";

pub(super) fn fact_from_row(row: &Row) -> rusqlite::Result<FactRecord> {
    let kind: String = row.get(5)?;
    Ok(FactRecord {
        fact_id: get_uuid(row, 0)?,
        op_id: get_uuid(row, 1)?,
        work_order_id: get_uuid(row, 2)?,
        technician_id: get_uuid(row, 3)?,
        device_id: get_uuid(row, 4)?,
        kind: OpKind::parse(&kind).ok_or_else(|| conv(5, "op kind"))?,
        payload: get_json::<Value>(row, 6)?,
        base_version: row.get(7)?,
        received_at: get_time(row, 8)?,
        file_missing: row.get(9)?,
    })
}

/// A signature whose content hash differs from the job's content as head office holds it
/// (the work order now and the facts stored before it): `rules::signature_review`.
pub(super) fn signature_flag(
    conn: &Connection,
    order_id: Uuid,
    payload: &OpPayload,
) -> Result<Option<ReviewReason>> {
    let OpPayload::AttachSignature(signature) = payload else {
        return Ok(None);
    };
    if signature.content_hash.is_none() {
        return Ok(None);
    }
    let Some(order) = load_work_order(conn, order_id)? else {
        return Ok(None);
    };
    let facts: Vec<OpPayload> = load_facts(conn, order_id)?
        .iter()
        .filter_map(|f| OpPayload::parse(f.kind.as_str(), &f.payload).ok())
        .collect();
    let expected = rules::signed_content(&order, &facts).hash();
    Ok(rules::signature_review(signature, &expected))
}

/// A fact that changes the signed content of a closed job, whose customer signature then no
/// longer matches: `rules::closed_content_review` over the facts stored before it and it.
pub(super) fn closed_content_flag(
    conn: &Connection,
    order_id: Uuid,
    status: Option<WorkOrderStatus>,
    payload: &OpPayload,
) -> Result<Option<ReviewReason>> {
    let closed = |s| {
        matches!(
            s,
            WorkOrderStatus::Completed | WorkOrderStatus::UnableToComplete
        )
    };
    // The status the op was decided on, read in this transaction: an open job's content
    // may change, so only a closed one is read.
    if !rules::changes_signed_content(payload) || !status.is_some_and(closed) {
        return Ok(None);
    }
    let Some(order) = load_work_order(conn, order_id)? else {
        return Ok(None);
    };
    let mut facts: Vec<OpPayload> = load_facts(conn, order_id)?
        .iter()
        .filter_map(|f| OpPayload::parse(f.kind.as_str(), &f.payload).ok())
        .collect();
    facts.push(payload.clone());
    Ok(rules::closed_content_review(&order, &facts))
}

/// Stores an op's result for replays, in the op's transaction (the caller commits). A
/// refused op is kept whole in `refused_ops`; one refused before and applied now is marked
/// resolved (`resolution` says how).
pub(super) fn finish_op(
    tx: &Transaction,
    device: &DeviceAuth,
    op: &Op,
    outcome: OpOutcome,
    now: DateTime<Utc>,
    resolution: &str,
) -> Result<OpResult> {
    match &outcome {
        OpOutcome::Rejected { code, reason } => {
            tx.execute(
                "INSERT INTO refused_ops (device_id, op_id, technician_id, device_seq, kind, \
                 entity_id, base_version, payload, code, reason, first_refused_at, \
                 last_refused_at, file_missing) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12) \
                 ON CONFLICT (device_id, op_id) DO UPDATE SET code = excluded.code, \
                 file_missing = excluded.file_missing, \
                 reason = excluded.reason, last_refused_at = excluded.last_refused_at, \
                 attempts = attempts + 1, resolved_at = NULL, resolution = NULL",
                params![
                    device.device_id.to_string(),
                    op.op_id.to_string(),
                    device.technician_id.to_string(),
                    op.device_seq,
                    op.kind,
                    op.entity_id.to_string(),
                    op.base_version,
                    op.payload.to_string(),
                    code.as_str(),
                    reason,
                    ts(now),
                    op.file_missing
                ],
            )?;
        }
        OpOutcome::Applied { .. } => {
            tx.execute(
                "UPDATE refused_ops SET resolved_at = ?3, resolution = ?4 \
                 WHERE device_id = ?1 AND op_id = ?2 AND resolved_at IS NULL",
                params![
                    device.device_id.to_string(),
                    op.op_id.to_string(),
                    ts(now),
                    resolution
                ],
            )?;
        }
    }
    tx.execute(
        "INSERT OR REPLACE INTO processed_ops (device_id, op_id, device_seq, result, processed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            device.device_id.to_string(),
            op.op_id.to_string(),
            op.device_seq,
            serde_json::to_string(&outcome)?,
            ts(now)
        ],
    )?;
    Ok(OpResult {
        op_id: op.op_id,
        duplicate: false,
        outcome,
    })
}

pub(super) use crate::storage::same_fact;

pub(super) const REFUSED_COLS: &str =
    "device_id, technician_id, op_id, device_seq, kind, entity_id, \
    base_version, payload, code, reason, first_refused_at, last_refused_at, attempts, \
    resolved_at, resolution, file_missing";

pub(super) fn refused_from_row(r: &Row) -> rusqlite::Result<onsite_api::RefusedOp> {
    let code: String = r.get(8)?;
    Ok(onsite_api::RefusedOp {
        device_id: get_uuid(r, 0)?,
        technician_id: get_uuid(r, 1)?,
        op_id: get_uuid(r, 2)?,
        device_seq: r.get(3)?,
        kind: r.get(4)?,
        entity_id: get_uuid(r, 5)?,
        base_version: r.get(6)?,
        payload: get_json(r, 7)?,
        code: serde_json::from_value(Value::String(code)).map_err(|_| conv(8, "code"))?,
        reason: r.get(9)?,
        first_refused_at: get_time(r, 10)?,
        last_refused_at: get_time(r, 11)?,
        attempts: r.get(12)?,
        resolved_at: get_opt_time(r, 13)?,
        resolution: r.get(14)?,
        file_missing: r.get(15)?,
    })
}

pub(super) fn day_fact_exists(conn: &Connection, fact_id: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM technician_day_facts WHERE fact_id = ?1",
            [fact_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// A technician-day fact (stock-take, expenses, unused return without a job): stored for
/// the device's technician, whatever the op's `entity_id` says; append-only and recognised
/// by `fact_id` when re-sent.
pub(super) fn store_technician_day_fact(
    tx: &rusqlite::Transaction,
    device: &DeviceAuth,
    op: &Op,
    parsed: &OpPayload,
    day: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<OpOutcome> {
    if let Decision::Reject(code, reason) = rules::decide_technician_day(parsed, now) {
        return Ok(OpOutcome::Rejected { code, reason });
    }
    let fact_id = parsed.fact_id().to_string();
    let fact_id_reused = || OpOutcome::Rejected {
        code: RejectCode::FactIdReused,
        reason: "fact_id was already used for a different fact".into(),
    };
    let in_job_facts: bool = tx
        .query_row("SELECT 1 FROM facts WHERE fact_id = ?1", [&fact_id], |_| {
            Ok(())
        })
        .optional()?
        .is_some();
    if in_job_facts {
        return Ok(fact_id_reused());
    }
    let earlier = tx
        .query_row(
            "SELECT technician_id, kind, payload, seq FROM technician_day_facts \
             WHERE fact_id = ?1",
            [&fact_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    get_json::<Value>(r, 2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    let technician = device.technician_id.to_string();
    Ok(match earlier {
        Some((tech, kind, stored, seq))
            if tech == technician && kind == op.kind && same_fact(&stored, &op.payload) =>
        {
            OpOutcome::Applied {
                server_seq: seq,
                flagged_for_review: false,
            }
        }
        Some(_) => fact_id_reused(),
        None => {
            let seq = new_commit(tx, now)?;
            tx.execute(
                "INSERT INTO technician_day_facts (fact_id, op_id, technician_id, device_id, \
                 day, kind, payload, entity_id, received_at, seq) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    fact_id,
                    op.op_id.to_string(),
                    technician,
                    device.device_id.to_string(),
                    day.to_string(),
                    op.kind,
                    op.payload.to_string(),
                    op.entity_id.to_string(),
                    ts(now),
                    seq
                ],
            )?;
            // The technician's other devices mirror the van (a stock-take, unused stock
            // returned): fed to them as a fact on no job (work order id nil).
            feed(tx, &technician, "day_fact", &fact_id, seq, false)?;
            OpOutcome::Applied {
                server_seq: seq,
                flagged_for_review: false,
            }
        }
    })
}

pub(super) fn load_facts(conn: &Connection, work_order_id: Uuid) -> Result<Vec<FactRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {FACT_COLS} FROM facts WHERE work_order_id = ?1 ORDER BY seq, fact_id"
    ))?;
    let rows = stmt.query_map([work_order_id.to_string()], fact_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Starts a new commit and returns its sequence number.
pub(super) fn new_commit(tx: &Transaction, now: DateTime<Utc>) -> Result<i64> {
    tx.execute(
        "INSERT INTO commits (at, tag) VALUES (?1, lower(hex(randomblob(8))))",
        [ts(now)],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Records that `audience` sees the entity as changed (or removed) at `seq`.
pub(super) fn feed(
    tx: &Transaction,
    audience: &str,
    entity_type: &str,
    entity_id: &str,
    seq: i64,
    removed: bool,
) -> Result<()> {
    tx.execute(
        "INSERT INTO feed (audience, entity_type, entity_id, seq, removed) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (audience, entity_type, entity_id) \
         DO UPDATE SET seq = excluded.seq, removed = excluded.removed",
        params![audience, entity_type, entity_id, seq, removed],
    )?;
    Ok(())
}

/// Feeds a work order to its current technician, if any.
pub(super) fn feed_work_order(tx: &Transaction, order: &WorkOrder, seq: i64) -> Result<()> {
    if let Some(t) = order.technician_id {
        feed(
            tx,
            &t.to_string(),
            "work_order",
            &order.id.to_string(),
            seq,
            false,
        )?;
    }
    Ok(())
}

impl SqliteStorage {
    pub(super) fn materialise(
        conn: &Connection,
        seq: i64,
        entity_type: &str,
        entity_id: &str,
        removed: bool,
    ) -> Result<Change> {
        let bad_id = || StorageError::Internal("feed row with a malformed id".into());
        let item = match entity_type {
            "work_order" => {
                let id = Uuid::parse_str(entity_id).map_err(|_| bad_id())?;
                if removed {
                    ChangeItem::WorkOrderRemoved { id }
                } else {
                    ChangeItem::WorkOrder(Box::new(
                        load_work_order(conn, id)?.ok_or_else(|| missing("work order"))?,
                    ))
                }
            }
            "fact" => ChangeItem::Fact(
                conn.prepare_cached(&format!("SELECT {FACT_COLS} FROM facts WHERE fact_id = ?1"))?
                    .query_row([entity_id], fact_from_row)
                    .optional()?
                    .ok_or_else(|| missing("fact"))?,
            ),
            "fee_table" => {
                let v: i64 = entity_id.parse().map_err(|_| bad_id())?;
                ChangeItem::FeeTable(load_fee_table(conn, v)?.ok_or_else(|| missing("fee table"))?)
            }
            "price_list" => {
                let v: i64 = entity_id.parse().map_err(|_| bad_id())?;
                ChangeItem::PriceList(
                    load_price_list(conn, v)?.ok_or_else(|| missing("price list"))?,
                )
            }
            "parts_catalogue" => ChangeItem::PartsCatalogue(
                load_latest_catalogue(conn)?.ok_or_else(|| missing("parts catalogue"))?,
            ),
            "day_fact" => ChangeItem::Fact(
                conn.prepare_cached(
                    "SELECT fact_id, op_id, technician_id, device_id, kind, payload, received_at \
                     FROM technician_day_facts WHERE fact_id = ?1",
                )?
                .query_row([entity_id], |r| {
                    let kind: String = r.get(4)?;
                    Ok(FactRecord {
                        fact_id: get_uuid(r, 0)?,
                        op_id: get_uuid(r, 1)?,
                        work_order_id: Uuid::nil(),
                        technician_id: get_uuid(r, 2)?,
                        device_id: get_uuid(r, 3)?,
                        kind: OpKind::parse(&kind).ok_or_else(|| conv(4, "op kind"))?,
                        payload: get_json::<Value>(r, 5)?,
                        base_version: None,
                        received_at: get_time(r, 6)?,
                        file_missing: None,
                    })
                })
                .optional()?
                .ok_or_else(|| missing("technician-day fact"))?,
            ),
            "parts_issue" => ChangeItem::PartsIssued(
                conn.prepare_cached(&format!(
                    "SELECT {ISSUE_COLS} FROM parts_issues WHERE id = ?1"
                ))?
                .query_row([entity_id], issue_from_row)
                .optional()?
                .ok_or_else(|| missing("parts issue"))?,
            ),
            "company" => {
                ChangeItem::Company(load_company(conn)?.ok_or_else(|| missing("company profile"))?)
            }
            _ => return Err(StorageError::Internal("feed row of an unknown type".into())),
        };
        Ok(Change { seq, item })
    }
}

impl SqliteStorage {
    /// [`Storage::apply_ops`], saying how a refused op that is applied now was resolved:
    /// every op of the batch in one transaction (one commit, one fsync), each with its own
    /// commit number and stored result, in order. An error leaves none of them applied.
    pub(super) fn apply_ops_as(
        &self,
        device: &DeviceAuth,
        ops: &[Op],
        now: DateTime<Utc>,
        resolution: &str,
    ) -> Result<Vec<OpResult>> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let results = ops
            .iter()
            .map(|op| apply_in(&tx, device, op, now, resolution))
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(results)
    }

    /// [`Storage::apply_op`], saying how a refused op that is applied now was resolved.
    pub(super) fn apply_op_as(
        &self,
        device: &DeviceAuth,
        op: &Op,
        now: DateTime<Utc>,
        resolution: &str,
    ) -> Result<OpResult> {
        let mut results = self.apply_ops_as(device, std::slice::from_ref(op), now, resolution)?;
        results
            .pop()
            .ok_or_else(|| StorageError::Internal("an op gave no result".into()))
    }
}

/// Decides and stores one op inside the caller's write transaction.
fn apply_in(
    tx: &Transaction,
    device: &DeviceAuth,
    op: &Op,
    now: DateTime<Utc>,
    resolution: &str,
) -> Result<OpResult> {
    let device_id = device.device_id.to_string();
    let op_id = op.op_id.to_string();
    let stored: Option<String> = tx
        .query_row(
            "SELECT result FROM processed_ops WHERE device_id = ?1 AND op_id = ?2",
            [&device_id, &op_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(stored) = stored {
        let outcome: OpOutcome = serde_json::from_str(&stored)?;
        // A refusal whose cause can go away is decided again; any other result is
        // final and returned as stored.
        let again = matches!(&outcome, OpOutcome::Rejected { code, .. } if code.may_clear());
        if !again {
            return Ok(OpResult {
                op_id: op.op_id,
                duplicate: true,
                outcome,
            });
        }
    }

    let technician = device.technician_id.to_string();
    let order_id = op.entity_id.to_string();
    let payload = OpPayload::parse(&op.kind, &op.payload);
    if let Some((parsed, day)) = payload
        .as_ref()
        .ok()
        .and_then(|p| rules::technician_day(p).map(|d| (p, d)))
    {
        let outcome = store_technician_day_fact(tx, device, op, parsed, day, now)?;
        return finish_op(tx, device, op, outcome, now, resolution);
    }
    let state = tx
        .query_row(
            "SELECT technician_id, status, EXISTS (SELECT 1 FROM assignments a \
             WHERE a.work_order_id = w.id AND a.technician_id = ?2) \
             FROM work_orders w WHERE w.id = ?1",
            [&order_id, &technician],
            |r| {
                let status: String = r.get(1)?;
                Ok(WorkOrderState {
                    technician_id: get_opt_uuid(r, 0)?,
                    status: WorkOrderStatus::parse(&status).ok_or_else(|| conv(1, "status"))?,
                    ever_assigned_to_op_technician: r.get(2)?,
                })
            },
        )
        .optional()?;
    let blob_present = match payload.as_ref().ok().and_then(|p| p.blob_sha256()) {
        Some(sha) => tx
            .query_row("SELECT 1 FROM blobs WHERE sha256 = ?1", [sha], |_| Ok(()))
            .optional()?
            .is_some(),
        None => true,
    };
    // The technician chose to send the fact without its file (lost or damaged on the
    // device): it is stored with their reason and the job flagged for review. A reason
    // given for a file head office has is kept with the fact all the same.
    let file_missing = op
        .file_missing
        .as_deref()
        .map(|r| r.trim().chars().take(500).collect::<String>())
        .filter(|r| !r.is_empty());
    let waived = !blob_present && file_missing.is_some();
    let decision = match rules::decide(
        &payload,
        op.entity_id,
        state.as_ref(),
        device.technician_id,
        blob_present || waived,
        now,
    ) {
        Decision::Store { new_status, flag } if waived => Decision::Store {
            new_status,
            flag: flag.or(Some(ReviewReason::FileMissing)),
        },
        other => other,
    };
    let outcome = match (decision, &payload) {
        (Decision::Reject(code, reason), _) => OpOutcome::Rejected { code, reason },
        (Decision::Store { new_status, flag }, Ok(parsed)) => {
            let fact_id = parsed.fact_id().to_string();
            if day_fact_exists(tx, &fact_id)? {
                return finish_op(
                    tx,
                    device,
                    op,
                    OpOutcome::Rejected {
                        code: RejectCode::FactIdReused,
                        reason: "fact_id was already used for a different fact".into(),
                    },
                    now,
                    resolution,
                );
            }
            let earlier = tx
                .query_row(
                    "SELECT work_order_id, kind, payload, seq FROM facts WHERE fact_id = ?1",
                    [&fact_id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            get_json::<Value>(r, 2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()?;
            match earlier {
                // The same fact sent again under a new op id (e.g. re-sent after a
                // server restore): already stored, nothing to add.
                Some((wo, kind, stored, seq))
                    if wo == order_id && kind == op.kind && same_fact(&stored, &op.payload) =>
                {
                    OpOutcome::Applied {
                        server_seq: seq,
                        flagged_for_review: false,
                    }
                }
                Some(_) => OpOutcome::Rejected {
                    code: RejectCode::FactIdReused,
                    reason: "fact_id was already used for a different fact".into(),
                },
                None => {
                    // Checked against the facts stored before this one.
                    // A closed job's signed content changed (an older device's notes
                    // edit after completion): its signature no longer holds.
                    let signature_flag =
                        signature_flag(tx, op.entity_id, parsed)?.or(closed_content_flag(
                            tx,
                            op.entity_id,
                            state.as_ref().map(|s| s.status),
                            parsed,
                        )?);
                    let flag = flag.or(signature_flag);
                    let seq = new_commit(tx, now)?;
                    tx.execute(
                        &format!(
                            "INSERT INTO facts ({FACT_COLS}, seq) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                        ),
                        params![
                            fact_id,
                            op_id,
                            order_id,
                            technician,
                            device_id,
                            op.kind,
                            op.payload.to_string(),
                            op.base_version,
                            ts(now),
                            file_missing,
                            seq
                        ],
                    )?;
                    if let OpPayload::AddAddendum(a) = parsed {
                        tx.execute(
                            "INSERT INTO addenda (fact_id, addendum_id, work_order_id, \
                             technician_id, device_id, text, at, received_at) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            params![
                                fact_id,
                                a.addendum_id.to_string(),
                                order_id,
                                technician,
                                device_id,
                                a.text.trim(),
                                ts(a.at),
                                ts(now)
                            ],
                        )?;
                    } else {
                        // An addendum is not sent to the technician's other devices:
                        // a build before it cannot read a fact of its kind in a pull.
                        feed(tx, &technician, "fact", &fact_id, seq, false)?;
                    }
                    if let Some(status) = new_status {
                        tx.execute(
                            "UPDATE work_orders SET status = ?1, version = version + 1, \
                             updated_at = ?2, completed_at = CASE WHEN ?1 IN \
                             ('completed', 'unable_to_complete') THEN ?2 ELSE completed_at END \
                             WHERE id = ?3",
                            // completed_at is the server's time of receipt, not the device's
                            // clock (which may be hours wrong): exports by `since` rely on it.
                            params![status.as_str(), ts(now), order_id],
                        )?;
                    }
                    if let Some(reason) = flag {
                        open_review_flag(
                            tx,
                            &order_id,
                            reason,
                            &op_id,
                            &technician,
                            &device_id,
                            now,
                        )?;
                    }
                    // A job already flagged (cancelled, reassigned) gets the
                    // signature's own flag too.
                    if let Some(reason) = signature_flag.filter(|r| Some(*r) != flag) {
                        open_review_flag(
                            tx,
                            &order_id,
                            reason,
                            &op_id,
                            &technician,
                            &device_id,
                            now,
                        )?;
                    }
                    if new_status.is_some() || flag.is_some() {
                        let order = load_work_order(tx, op.entity_id)?
                            .ok_or_else(|| missing("work order"))?;
                        feed_work_order(tx, &order, seq)?;
                    }
                    OpOutcome::Applied {
                        server_seq: seq,
                        flagged_for_review: flag.is_some(),
                    }
                }
            }
        }
        (Decision::Store { .. }, Err(_)) => {
            return Err(StorageError::Internal(
                "decide stored an unparsed op".into(),
            ))
        }
    };
    finish_op(tx, device, op, outcome, now, resolution)
}

pub(super) fn epoch(db: &SqliteStorage) -> Result<String> {
    let conn = db.reader();
    Ok(
        conn.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
            r.get(0)
        })?,
    )
}

pub(super) fn server_id(db: &SqliteStorage) -> Result<String> {
    let conn = db.reader();
    Ok(
        conn.query_row("SELECT value FROM meta WHERE key = 'server_id'", [], |r| {
            r.get(0)
        })?,
    )
}

pub(super) fn rotate_epoch(db: &SqliteStorage) -> Result<String> {
    let conn = db.writer();
    let epoch = Uuid::now_v7().to_string();
    conn.execute("UPDATE meta SET value = ?1 WHERE key = 'epoch'", [&epoch])?;
    Ok(epoch)
}

pub(super) fn restore_horizon(db: &SqliteStorage) -> Result<onsite_api::RestoreHorizon> {
    let conn = db.reader();
    let get = |key: &str| -> Result<Option<String>> {
        Ok(conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    };
    Ok(onsite_api::RestoreHorizon {
        oldest_backup_at: get("oldest_backup_at")?.as_deref().and_then(parse_time),
        checkpoint: get("restore_horizon")?,
        forgotten_results: 0,
    })
}

pub(super) fn retention_days(db: &SqliteStorage) -> Result<u32> {
    let conn = db.reader();
    let stored: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'retention_days'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(stored
        .and_then(|v| v.parse().ok())
        .unwrap_or(onsite_api::retention::DEFAULT_DAYS))
}

pub(super) fn set_retention_days(db: &SqliteStorage, days: u32) -> Result<()> {
    let conn = db.writer();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('retention_days', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [days.to_string()],
    )?;
    Ok(())
}

pub(super) fn set_restore_horizon(
    db: &SqliteStorage,
    oldest_backup_at: DateTime<Utc>,
) -> Result<onsite_api::RestoreHorizon> {
    let mut conn = db.writer();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let before: Option<String> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'oldest_backup_at'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if before
        .as_deref()
        .and_then(parse_time)
        .is_some_and(|b| oldest_backup_at < b)
    {
        return Err(StorageError::Invalid(
            "the restore horizon only moves forward".into(),
        ));
    }
    // Commit times are head office's own clock, written in order, so the newest one
    // made before the backup was taken is in it (and in every later one).
    let newest: Option<(i64, Option<String>)> = tx
        .query_row(
            "SELECT seq, tag FROM commits WHERE at < ?1 ORDER BY seq DESC LIMIT 1",
            [ts(oldest_backup_at)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let checkpoint = newest.and_then(|(seq, tag)| tag.map(|t| format!("{seq}:{t}")));
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('oldest_backup_at', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [ts(oldest_backup_at)],
    )?;
    match &checkpoint {
        Some(c) => tx.execute(
            "INSERT INTO meta (key, value) VALUES ('restore_horizon', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [c],
        )?,
        None => 0,
    };
    let forgotten = tx.execute(
        "DELETE FROM processed_ops WHERE processed_at < ?1
         AND json_extract(result, '$.status') = 'applied'",
        [ts(oldest_backup_at)],
    )?;
    tx.commit()?;
    Ok(onsite_api::RestoreHorizon {
        oldest_backup_at: Some(oldest_backup_at),
        checkpoint,
        forgotten_results: forgotten as i64,
    })
}

pub(super) fn commit_tag(db: &SqliteStorage, seq: i64) -> Result<Option<String>> {
    let conn = db.reader();
    Ok(conn
        .query_row("SELECT tag FROM commits WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .optional()?
        .flatten())
}

pub(super) fn max_seq(db: &SqliteStorage) -> Result<i64> {
    let conn = db.reader();
    Ok(
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM commits", [], |r| {
            r.get(0)
        })?,
    )
}

pub(super) fn apply_op(
    db: &SqliteStorage,
    device: &DeviceAuth,
    op: &Op,
    now: DateTime<Utc>,
) -> Result<OpResult> {
    db.apply_op_as(device, op, now, "applied_on_resend")
}

pub(super) fn apply_ops(
    db: &SqliteStorage,
    device: &DeviceAuth,
    ops: &[Op],
    now: DateTime<Utc>,
) -> Result<Vec<OpResult>> {
    db.apply_ops_as(device, ops, now, "applied_on_resend")
}

pub(super) fn list_refused_ops(
    db: &SqliteStorage,
    query: &onsite_api::RefusedQuery,
) -> Result<Vec<onsite_api::RefusedOp>> {
    let conn = db.reader();
    let mut stmt = conn.prepare(&format!(
        "SELECT {REFUSED_COLS} FROM refused_ops \
         WHERE (?1 OR resolved_at IS NULL) AND (?2 IS NULL OR technician_id = ?2) \
         ORDER BY first_refused_at, device_id, device_seq"
    ))?;
    let rows = stmt.query_map(
        params![
            query.include_resolved.unwrap_or(false),
            query.technician_id.map(|t| t.to_string())
        ],
        refused_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn apply_refused_op(
    db: &SqliteStorage,
    device_id: Uuid,
    op_id: Uuid,
    now: DateTime<Utc>,
) -> Result<OpResult> {
    let refused = {
        let conn = db.reader();
        conn.query_row(
            &format!("SELECT {REFUSED_COLS} FROM refused_ops WHERE device_id = ?1 AND op_id = ?2"),
            [device_id.to_string(), op_id.to_string()],
            refused_from_row,
        )
        .optional()?
        .ok_or(StorageError::NotFound)?
    };
    let op = Op {
        op_id: refused.op_id,
        device_seq: refused.device_seq,
        kind: refused.kind,
        entity_id: refused.entity_id,
        base_version: refused.base_version,
        payload: refused.payload,
        file_missing: refused.file_missing,
    };
    let device = DeviceAuth {
        device_id: refused.device_id,
        technician_id: refused.technician_id,
        revoked: false,
        lost: false,
    };
    db.apply_op_as(&device, &op, now, "applied_by_office")
}

pub(super) fn pull(
    db: &SqliteStorage,
    technician_id: Uuid,
    after: i64,
    limit: u32,
) -> Result<FeedPage> {
    use super::work_orders::{work_order_from_row, WO_COLS};
    use std::collections::HashMap;
    let mut conn = db.reader();
    // A read transaction: one consistent snapshot for the whole page.
    let tx = conn.transaction()?;
    let audience = technician_id.to_string();
    let limit = i64::from(limit.max(1));
    let boundary: Option<i64> = tx
        .query_row(
            "SELECT seq FROM feed WHERE audience IN (?1, ?2) AND seq > ?3 \
             ORDER BY seq LIMIT 1 OFFSET ?4",
            params![audience, EVERYONE, after, limit - 1],
            |r| r.get(0),
        )
        .optional()?;
    let (upper, has_more) = match boundary {
        None => (i64::MAX, false),
        Some(upper) => {
            let more: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM feed WHERE audience IN (?1, ?2) AND seq > ?3)",
                params![audience, EVERYONE, upper],
                |r| r.get(0),
            )?;
            (upper, more)
        }
    };
    let rows: Vec<(i64, String, String, bool)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT seq, entity_type, entity_id, removed FROM feed \
             WHERE audience IN (?1, ?2) AND seq > ?3 AND seq <= ?4 \
             ORDER BY seq, entity_type, entity_id",
        )?;
        let mapped = stmt.query_map(params![audience, EVERYONE, after, upper], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        mapped.collect::<rusqlite::Result<_>>()?
    };
    // The page's work orders and facts, each kind read in one statement (a first pull is
    // thousands of jobs); anything else, or a row not found this way, as materialise says.
    let range = params![audience, EVERYONE, after, upper];
    let mut orders: HashMap<String, WorkOrder> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {WO_COLS}, fd.entity_id FROM feed fd JOIN work_orders w ON w.id = fd.entity_id \
             WHERE fd.audience IN (?1, ?2) AND fd.seq > ?3 AND fd.seq <= ?4 \
             AND fd.entity_type = 'work_order' AND NOT fd.removed"
        ))?;
        let mapped = stmt.query_map(range, |r| Ok((r.get(19)?, work_order_from_row(r)?)))?;
        mapped.collect::<rusqlite::Result<_>>()?
    };
    let mut facts: HashMap<String, FactRecord> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {FACT_COLS}, fd.entity_id FROM feed fd JOIN facts ON facts.fact_id = fd.entity_id \
             WHERE fd.audience IN (?1, ?2) AND fd.seq > ?3 AND fd.seq <= ?4 \
             AND fd.entity_type = 'fact'"
        ))?;
        let mapped = stmt.query_map(range, |r| Ok((r.get(10)?, fact_from_row(r)?)))?;
        mapped.collect::<rusqlite::Result<_>>()?
    };
    let mut changes = Vec::with_capacity(rows.len());
    for (seq, entity_type, entity_id, removed) in &rows {
        let ready = match entity_type.as_str() {
            "work_order" if !*removed => orders
                .remove(entity_id)
                .map(|w| ChangeItem::WorkOrder(Box::new(w))),
            "fact" => facts.remove(entity_id).map(ChangeItem::Fact),
            _ => None,
        };
        changes.push(match ready {
            Some(item) => Change { seq: *seq, item },
            None => SqliteStorage::materialise(&tx, *seq, entity_type, entity_id, *removed)?,
        });
    }
    let last_seq = rows.last().map_or(after, |r| r.0);
    tx.commit()?;
    Ok(FeedPage {
        changes,
        last_seq,
        has_more,
    })
}

pub(super) fn carry_back_facts(db: &SqliteStorage) -> Result<Vec<CarryBackFact>> {
    let conn = db.reader();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {FACT_COLS}, \
         (SELECT w.order_no FROM work_orders w WHERE w.id = facts.work_order_id), \
         EXISTS (SELECT 1 FROM review_flags f WHERE f.work_order_id = facts.work_order_id \
         AND f.resolved_at IS NULL) \
         FROM facts WHERE kind IN (?1, ?2, ?3) ORDER BY seq"
    ))?;
    let rows = stmt.query_map(
        [
            CARRY_BACK_KINDS[0],
            CARRY_BACK_KINDS[1],
            CARRY_BACK_KINDS[2],
        ],
        |r| {
            Ok(CarryBackFact {
                fact: fact_from_row(r)?,
                order_no: r.get(10)?,
                flagged_for_review: r.get(11)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
