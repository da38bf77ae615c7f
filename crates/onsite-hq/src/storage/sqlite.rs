//! The SQLite backend: one database file, WAL, `synchronous=FULL`, foreign keys on,
//! numbered migrations embedded in the binary (each in its own transaction, tracked by
//! `PRAGMA user_version`). One writer connection and one reader connection, each behind a
//! mutex; WAL lets the reader see a consistent snapshot while the writer works.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use onsite_api::{
    Appliance, Change, ChangeItem, CompanyProfile, Customer, Device, ExportJob, FactRecord,
    FeeItem, FeeTable, FeeTablePublish, NewPartsIssue, NewWorkOrder, Op, OpKind, OpOutcome,
    OpPayload, OpResult, Part, PartPrice, PartsCatalogue, PartsCataloguePublish, PartsIssue,
    PartsIssueLine, PriceList, PriceListPublish, ReassignRequest, RejectCode, ReviewFlag,
    ReviewReason, Technician, WorkOrder, WorkOrderDetail, WorkOrderQuery, WorkOrderUpdate,
};
use onsite_domain::{JobType, WorkOrderStatus};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde_json::Value;
use uuid::Uuid;

use super::{DeviceAuth, FeedPage, NewDevice, Result, Storage, StorageError};
use crate::carryback::CarryBackFact;
use crate::rules::{self, Decision, WorkOrderState};

/// The numbered migrations, in order. Never edit a shipped one; append.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/0002_technician_day_facts.sql"),
    ),
    (
        3,
        include_str!("../../migrations/0003_carry_back_index.sql"),
    ),
    (
        4,
        include_str!("../../migrations/0004_reference_data_fields.sql"),
    ),
    (
        5,
        include_str!("../../migrations/0005_parts_issues_company.sql"),
    ),
    (6, include_str!("../../migrations/0006_commit_tags.sql")),
    (7, include_str!("../../migrations/0007_refused_ops.sql")),
    (8, include_str!("../../migrations/0008_addenda.sql")),
    (9, include_str!("../../migrations/0009_lost_devices.sql")),
];

/// The columns [`device_from_row`] reads.
const DEVICE_COLS: &str =
    "id, technician_id, name, enrolled_at, revoked_at, lost_at, erased_at, erased_report";

/// The fact kinds of a carry-back.
const CARRY_BACK_KINDS: [&str; 3] = [
    OpKind::TakeCarryBack.as_str(),
    OpKind::AdvanceCarryBack.as_str(),
    OpKind::ReturnCarryBack.as_str(),
];

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "onsite-hq.sqlite3";

/// Audience of feed rows every technician sees.
const EVERYONE: &str = "*";

/// The SQLite storage.
pub struct SqliteStorage {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    path: PathBuf,
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                C::DatabaseBusy | C::DatabaseLocked | C::DiskFull | C::SystemIoFailure => {
                    StorageError::Transient(e.to_string())
                }
                C::ConstraintViolation => StorageError::Conflict(e.to_string()),
                _ => StorageError::Internal(e.to_string()),
            },
            rusqlite::Error::QueryReturnedNoRows => StorageError::NotFound,
            _ => StorageError::Internal(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for StorageError {
    fn from(e: serde_json::Error) -> Self {
        StorageError::Internal(format!(
            "stored JSON unreadable: {}",
            onsite_api::describe_serde_error(&e)
        ))
    }
}

#[derive(Debug)]
struct Corrupt(&'static str);

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unreadable stored {}", self.0)
    }
}

impl std::error::Error for Corrupt {}

fn conv(i: usize, what: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(Corrupt(what)))
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn get_uuid(row: &Row, i: usize) -> rusqlite::Result<Uuid> {
    let s: String = row.get(i)?;
    Uuid::parse_str(&s).map_err(|_| conv(i, "id"))
}

fn get_opt_uuid(row: &Row, i: usize) -> rusqlite::Result<Option<Uuid>> {
    let s: Option<String> = row.get(i)?;
    s.map(|s| Uuid::parse_str(&s).map_err(|_| conv(i, "id")))
        .transpose()
}

fn get_time(row: &Row, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    let s: String = row.get(i)?;
    parse_time(&s).ok_or_else(|| conv(i, "time"))
}

fn get_opt_time(row: &Row, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let s: Option<String> = row.get(i)?;
    s.map(|s| parse_time(&s).ok_or_else(|| conv(i, "time")))
        .transpose()
}

fn get_json<T: serde::de::DeserializeOwned>(row: &Row, i: usize) -> rusqlite::Result<T> {
    let s: String = row.get(i)?;
    serde_json::from_str(&s).map_err(|_| conv(i, "JSON"))
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves the connection usable: every write is in a
    // transaction that rolled back when the panic dropped it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(StorageError::Internal(format!(
            "database schema {current} is newer than this server ({latest})"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

const WO_COLS: &str = "w.id, w.order_no, w.version, w.technician_id, w.status, w.job_type, \
    w.customer_name, w.customer_phone, w.customer_address, w.appliance, w.reported_fault, \
    w.notes, w.appointment_start, w.appointment_end, w.cancel_reason, w.created_at, \
    w.updated_at, EXISTS (SELECT 1 FROM review_flags f WHERE f.work_order_id = w.id \
    AND f.resolved_at IS NULL), w.customer_language";

fn work_order_from_row(row: &Row) -> rusqlite::Result<WorkOrder> {
    let status: String = row.get(4)?;
    let job_type: String = row.get(5)?;
    Ok(WorkOrder {
        id: get_uuid(row, 0)?,
        order_no: row.get(1)?,
        version: row.get(2)?,
        technician_id: get_opt_uuid(row, 3)?,
        status: WorkOrderStatus::parse(&status).ok_or_else(|| conv(4, "status"))?,
        job_type: JobType::parse(&job_type).ok_or_else(|| conv(5, "job type"))?,
        customer: Customer {
            name: row.get(6)?,
            phone: row.get(7)?,
            address: row.get(8)?,
            language: row.get(18)?,
        },
        appliance: get_json::<Appliance>(row, 9)?,
        reported_fault: row.get(10)?,
        notes: row.get(11)?,
        appointment_start: get_time(row, 12)?,
        appointment_end: get_time(row, 13)?,
        cancel_reason: row.get(14)?,
        created_at: get_time(row, 15)?,
        updated_at: get_time(row, 16)?,
        flagged_for_review: row.get(17)?,
    })
}

const FACT_COLS: &str = "fact_id, op_id, work_order_id, technician_id, device_id, kind, payload, \
    base_version, received_at, file_missing";

fn fact_from_row(row: &Row) -> rusqlite::Result<FactRecord> {
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

const FLAG_COLS: &str = "f.id, f.work_order_id, w.order_no, f.reason, f.op_id, f.technician_id, \
    f.device_id, f.created_at, f.resolved_at";

fn flag_from_row(row: &Row) -> rusqlite::Result<ReviewFlag> {
    let reason: String = row.get(3)?;
    Ok(ReviewFlag {
        id: get_uuid(row, 0)?,
        work_order_id: get_uuid(row, 1)?,
        order_no: row.get(2)?,
        reason: ReviewReason::parse(&reason).ok_or_else(|| conv(3, "review reason"))?,
        op_id: get_uuid(row, 4)?,
        technician_id: get_uuid(row, 5)?,
        device_id: get_uuid(row, 6)?,
        created_at: get_time(row, 7)?,
        resolved_at: get_opt_time(row, 8)?,
    })
}

fn device_from_row(row: &Row) -> rusqlite::Result<Device> {
    Ok(Device {
        id: get_uuid(row, 0)?,
        technician_id: get_uuid(row, 1)?,
        name: row.get(2)?,
        enrolled_at: get_time(row, 3)?,
        revoked_at: get_opt_time(row, 4)?,
        lost_at: get_opt_time(row, 5)?,
        erased: match get_opt_time(row, 6)? {
            Some(at) => Some(onsite_api::ErasedRecord {
                at,
                report: get_json(row, 7)?,
            }),
            None => None,
        },
    })
}

fn device_by_id(conn: &Connection, id: Uuid) -> Result<Device> {
    Ok(conn.query_row(
        &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
        [id.to_string()],
        device_from_row,
    )?)
}

fn technician_from_row(row: &Row) -> rusqlite::Result<Technician> {
    Ok(Technician {
        id: get_uuid(row, 0)?,
        name: row.get(1)?,
        created_at: get_time(row, 2)?,
    })
}

fn load_work_order(conn: &Connection, id: Uuid) -> Result<Option<WorkOrder>> {
    Ok(conn
        .query_row(
            &format!("SELECT {WO_COLS} FROM work_orders w WHERE w.id = ?1"),
            [id.to_string()],
            work_order_from_row,
        )
        .optional()?)
}

/// A signature whose content hash differs from the job's content as head office holds it
/// (the work order now and the facts stored before it): `rules::signature_review`.
fn signature_flag(
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
fn closed_content_flag(
    conn: &Connection,
    order_id: Uuid,
    payload: &OpPayload,
) -> Result<Option<ReviewReason>> {
    if !rules::changes_signed_content(payload) {
        return Ok(None);
    }
    let Some(order) = load_work_order(conn, order_id)? else {
        return Ok(None);
    };
    // An open job's content may change: only a closed one's facts are read.
    if !matches!(
        order.status,
        WorkOrderStatus::Completed | WorkOrderStatus::UnableToComplete
    ) {
        return Ok(None);
    }
    let mut facts: Vec<OpPayload> = load_facts(conn, order_id)?
        .iter()
        .filter_map(|f| OpPayload::parse(f.kind.as_str(), &f.payload).ok())
        .collect();
    facts.push(payload.clone());
    Ok(rules::closed_content_review(&order, &facts))
}

/// A job's addenda (notes after completion), oldest first.
fn load_addenda(conn: &Connection, order_id: Uuid) -> Result<Vec<onsite_api::JobAddendum>> {
    let mut stmt = conn.prepare_cached(
        "SELECT addendum_id, text, at, technician_id, received_at FROM addenda \
         WHERE work_order_id = ?1 ORDER BY at, fact_id",
    )?;
    let rows = stmt.query_map([order_id.to_string()], |r| {
        Ok(onsite_api::JobAddendum {
            id: get_uuid(r, 0)?,
            text: r.get(1)?,
            at: get_time(r, 2)?,
            technician_id: get_uuid(r, 3)?,
            received_at: get_time(r, 4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The technician's notes as they last left them, from a job's facts.
fn technician_notes(facts: &[FactRecord]) -> Option<String> {
    let parsed: Vec<OpPayload> = facts
        .iter()
        .filter(|f| f.kind == OpKind::EditNotes)
        .filter_map(|f| OpPayload::parse(f.kind.as_str(), &f.payload).ok())
        .collect();
    rules::technician_notes(&parsed)
}

/// Opens a review flag on a job unless one with the same reason is open; true when opened.
#[allow(clippy::too_many_arguments)]
fn open_review_flag(
    tx: &Transaction,
    order_id: &str,
    reason: ReviewReason,
    op_id: &str,
    technician: &str,
    device_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let open: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM review_flags WHERE work_order_id = ?1 \
         AND reason = ?2 AND resolved_at IS NULL)",
        [order_id, reason.as_str()],
        |r| r.get(0),
    )?;
    if open {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO review_flags (id, work_order_id, reason, op_id, \
         technician_id, device_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            Uuid::now_v7().to_string(),
            order_id,
            reason.as_str(),
            op_id,
            technician,
            device_id,
            ts(now)
        ],
    )?;
    tx.execute(
        "UPDATE work_orders SET version = version + 1, updated_at = ?1 WHERE id = ?2",
        params![ts(now), order_id],
    )?;
    Ok(true)
}

/// Stores an op's result for replays and commits the op's transaction. A refused op is
/// kept whole in `refused_ops`; one refused before and applied now is marked resolved
/// (`resolution` says how).
fn finish_op(
    tx: rusqlite::Transaction,
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
    tx.commit()?;
    Ok(OpResult {
        op_id: op.op_id,
        duplicate: false,
        outcome,
    })
}

/// Whether a re-sent fact is the one stored under its fact id: the same payload, or the
/// same with fields added by a later build of the device (every stored field equal).
/// A device re-sends an acknowledged op after a restore; the result head office kept for
/// it may have been forgotten behind the restore horizon, and the device may have been
/// upgraded since it first sent it.
fn same_fact(stored: &Value, sent: &Value) -> bool {
    match (stored, sent) {
        // A field stored as null and left out now is the same (optional fields are left out
        // when empty by later builds).
        (Value::Object(a), Value::Object(b)) => {
            a.iter().all(|(k, v)| b.get(k).unwrap_or(&Value::Null) == v)
        }
        _ => stored == sent,
    }
}

const REFUSED_COLS: &str = "device_id, technician_id, op_id, device_seq, kind, entity_id, \
    base_version, payload, code, reason, first_refused_at, last_refused_at, attempts, \
    resolved_at, resolution, file_missing";

fn refused_from_row(r: &Row) -> rusqlite::Result<onsite_api::RefusedOp> {
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

fn day_fact_exists(conn: &Connection, fact_id: &str) -> Result<bool> {
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
fn store_technician_day_fact(
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

fn load_facts(conn: &Connection, work_order_id: Uuid) -> Result<Vec<FactRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {FACT_COLS} FROM facts WHERE work_order_id = ?1 ORDER BY seq, fact_id"
    ))?;
    let rows = stmt.query_map([work_order_id.to_string()], fact_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn technician_exists(conn: &Connection, id: Uuid) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM technicians WHERE id = ?1",
            [id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Starts a new commit and returns its sequence number.
fn new_commit(tx: &Transaction, now: DateTime<Utc>) -> Result<i64> {
    tx.execute(
        "INSERT INTO commits (at, tag) VALUES (?1, lower(hex(randomblob(8))))",
        [ts(now)],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Records that `audience` sees the entity as changed (or removed) at `seq`.
fn feed(
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
fn feed_work_order(tx: &Transaction, order: &WorkOrder, seq: i64) -> Result<()> {
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

fn load_fee_table(conn: &Connection, version: i64) -> Result<Option<FeeTable>> {
    Ok(conn
        .query_row(
            "SELECT version, effective_from, published_at, items, category FROM fee_tables \
             WHERE version = ?1",
            [version],
            |r| {
                Ok(FeeTable {
                    category: r.get(4)?,
                    version: r.get(0)?,
                    effective_from: get_time(r, 1)?,
                    published_at: get_time(r, 2)?,
                    items: get_json::<Vec<FeeItem>>(r, 3)?,
                })
            },
        )
        .optional()?)
}

fn load_price_list(conn: &Connection, version: i64) -> Result<Option<PriceList>> {
    Ok(conn
        .query_row(
            "SELECT version, effective_from, published_at, prices FROM price_lists WHERE version = ?1",
            [version],
            |r| {
                Ok(PriceList {
                    version: r.get(0)?,
                    effective_from: get_time(r, 1)?,
                    published_at: get_time(r, 2)?,
                    prices: get_json::<Vec<PartPrice>>(r, 3)?,
                })
            },
        )
        .optional()?)
}

fn load_latest_catalogue(conn: &Connection) -> Result<Option<PartsCatalogue>> {
    Ok(conn
        .query_row(
            "SELECT version, published_at, parts FROM parts_catalogues ORDER BY version DESC LIMIT 1",
            [],
            |r| {
                Ok(PartsCatalogue {
                    version: r.get(0)?,
                    published_at: get_time(r, 1)?,
                    parts: get_json::<Vec<Part>>(r, 2)?,
                })
            },
        )
        .optional()?)
}

const ISSUE_COLS: &str = "id, technician_id, issued_at, lines, note, work_order_id";

fn issue_from_row(r: &Row) -> rusqlite::Result<PartsIssue> {
    Ok(PartsIssue {
        id: get_uuid(r, 0)?,
        technician_id: get_uuid(r, 1)?,
        issued_at: get_time(r, 2)?,
        lines: get_json::<Vec<PartsIssueLine>>(r, 3)?,
        note: r.get(4)?,
        work_order_id: get_opt_uuid(r, 5)?,
    })
}

fn load_company(conn: &Connection) -> Result<Option<CompanyProfile>> {
    Ok(conn
        .query_row(
            "SELECT name, phone, address FROM company WHERE id = 1",
            [],
            |r| {
                Ok(CompanyProfile {
                    name: r.get(0)?,
                    phone: r.get(1)?,
                    address: r.get(2)?,
                })
            },
        )
        .optional()?)
}

fn missing(what: &str) -> StorageError {
    StorageError::Internal(format!("feed names a {what} that is not stored"))
}

impl SqliteStorage {
    /// Opens (creating if needed) `<dir>/onsite-hq.sqlite3` and brings its schema up to date.
    pub fn open_in_dir(dir: &Path) -> Result<SqliteStorage> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::Internal(format!("cannot create data directory: {e}")))?;
        SqliteStorage::open(&dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStorage> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer)?;
        for key in ["epoch", "server_id"] {
            writer.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
                [key, &Uuid::now_v7().to_string()],
            )?;
        }
        let reader = Connection::open(path)?;
        configure(&reader)?;
        Ok(SqliteStorage {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            path: path.to_owned(),
        })
    }

    /// How long a write waits for a lock held by another connection before it fails as
    /// [`StorageError::Transient`] (default 5 s).
    pub fn set_busy_timeout(&self, timeout: std::time::Duration) -> Result<()> {
        self.writer().busy_timeout(timeout)?;
        self.reader().busy_timeout(timeout)?;
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `PRAGMA integrity_check` (for tests and operators): `"ok"` when healthy.
    pub fn integrity_check(&self) -> Result<String> {
        let conn = lock(&self.reader);
        Ok(conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        lock(&self.writer)
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        lock(&self.reader)
    }

    fn materialise(
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
                conn.query_row(
                    &format!("SELECT {FACT_COLS} FROM facts WHERE fact_id = ?1"),
                    [entity_id],
                    fact_from_row,
                )
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
                conn.query_row(
                    "SELECT fact_id, op_id, technician_id, device_id, kind, payload, received_at \
                     FROM technician_day_facts WHERE fact_id = ?1",
                    [entity_id],
                    |r| {
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
                    },
                )
                .optional()?
                .ok_or_else(|| missing("technician-day fact"))?,
            ),
            "parts_issue" => ChangeItem::PartsIssued(
                conn.query_row(
                    &format!("SELECT {ISSUE_COLS} FROM parts_issues WHERE id = ?1"),
                    [entity_id],
                    issue_from_row,
                )
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
    /// [`Storage::apply_op`], saying how a refused op that is applied now was resolved.
    fn apply_op_as(
        &self,
        device: &DeviceAuth,
        op: &Op,
        now: DateTime<Utc>,
        resolution: &str,
    ) -> Result<OpResult> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
            let outcome = store_technician_day_fact(&tx, device, op, parsed, day, now)?;
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
                if day_fact_exists(&tx, &fact_id)? {
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
                        let signature_flag = signature_flag(&tx, op.entity_id, parsed)?
                            .or(closed_content_flag(&tx, op.entity_id, parsed)?);
                        let flag = flag.or(signature_flag);
                        let seq = new_commit(&tx, now)?;
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
                            feed(&tx, &technician, "fact", &fact_id, seq, false)?;
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
                                &tx,
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
                                &tx,
                                &order_id,
                                reason,
                                &op_id,
                                &technician,
                                &device_id,
                                now,
                            )?;
                        }
                        if new_status.is_some() || flag.is_some() {
                            let order = load_work_order(&tx, op.entity_id)?
                                .ok_or_else(|| missing("work order"))?;
                            feed_work_order(&tx, &order, seq)?;
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
}

impl Storage for SqliteStorage {
    fn epoch(&self) -> Result<String> {
        let conn = self.reader();
        Ok(
            conn.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
                r.get(0)
            })?,
        )
    }

    fn server_id(&self) -> Result<String> {
        let conn = self.reader();
        Ok(
            conn.query_row("SELECT value FROM meta WHERE key = 'server_id'", [], |r| {
                r.get(0)
            })?,
        )
    }

    fn rotate_epoch(&self) -> Result<String> {
        let conn = self.writer();
        let epoch = Uuid::now_v7().to_string();
        conn.execute("UPDATE meta SET value = ?1 WHERE key = 'epoch'", [&epoch])?;
        Ok(epoch)
    }

    fn restore_horizon(&self) -> Result<onsite_api::RestoreHorizon> {
        let conn = self.reader();
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

    fn retention_days(&self) -> Result<u32> {
        let conn = self.reader();
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

    fn set_retention_days(&self, days: u32) -> Result<()> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('retention_days', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [days.to_string()],
        )?;
        Ok(())
    }

    fn set_restore_horizon(
        &self,
        oldest_backup_at: DateTime<Utc>,
    ) -> Result<onsite_api::RestoreHorizon> {
        let mut conn = self.writer();
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

    fn commit_tag(&self, seq: i64) -> Result<Option<String>> {
        let conn = self.reader();
        Ok(conn
            .query_row("SELECT tag FROM commits WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .optional()?
            .flatten())
    }

    fn max_seq(&self) -> Result<i64> {
        let conn = self.reader();
        Ok(
            conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM commits", [], |r| {
                r.get(0)
            })?,
        )
    }

    fn create_technician(&self, id: Uuid, name: &str, now: DateTime<Utc>) -> Result<Technician> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO technicians (id, name, created_at) VALUES (?1, ?2, ?3)",
            params![id.to_string(), name, ts(now)],
        )?;
        Ok(Technician {
            id,
            name: name.to_owned(),
            created_at: now,
        })
    }

    fn list_technicians(&self) -> Result<Vec<Technician>> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare("SELECT id, name, created_at FROM technicians ORDER BY name, id")?;
        let rows = stmt.query_map([], technician_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn store_enrolment_code(
        &self,
        technician_id: Uuid,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let conn = self.writer();
        if !technician_exists(&conn, technician_id)? {
            return Err(StorageError::NotFound);
        }
        conn.execute(
            "INSERT INTO enrolment_codes (code_hash, technician_id, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4)",
            params![
                code_hash,
                technician_id.to_string(),
                ts(now),
                ts(expires_at)
            ],
        )?;
        Ok(())
    }

    fn enroll_device(
        &self,
        code_hash: &str,
        device: NewDevice<'_>,
        now: DateTime<Utc>,
    ) -> Result<(Device, Technician)> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let code = tx
            .query_row(
                "SELECT technician_id, expires_at, used_at FROM enrolment_codes WHERE code_hash = ?1",
                [code_hash],
                |r| Ok((get_uuid(r, 0)?, get_time(r, 1)?, r.get::<_, Option<String>>(2)?)),
            )
            .optional()?;
        let technician_id = match code {
            Some((t, expires, None)) if expires > now => t,
            _ => return Err(StorageError::InvalidCode),
        };
        tx.execute(
            "UPDATE enrolment_codes SET used_at = ?1, device_id = ?2 WHERE code_hash = ?3",
            params![ts(now), device.id.to_string(), code_hash],
        )?;
        tx.execute(
            "INSERT INTO devices (id, technician_id, name, token_hash, enrolled_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                device.id.to_string(),
                technician_id.to_string(),
                device.name,
                device.token_hash,
                ts(now)
            ],
        )?;
        let technician = tx.query_row(
            "SELECT id, name, created_at FROM technicians WHERE id = ?1",
            [technician_id.to_string()],
            technician_from_row,
        )?;
        tx.commit()?;
        Ok((
            Device {
                id: device.id,
                technician_id,
                name: device.name.to_owned(),
                enrolled_at: now,
                revoked_at: None,
                lost_at: None,
                erased: None,
            },
            technician,
        ))
    }

    fn device_for_token(&self, token_hash: &str) -> Result<Option<DeviceAuth>> {
        let conn = self.reader();
        Ok(conn
            .query_row(
                "SELECT id, technician_id, revoked_at IS NOT NULL, lost_at IS NOT NULL \
                 FROM devices WHERE token_hash = ?1",
                [token_hash],
                |r| {
                    Ok(DeviceAuth {
                        device_id: get_uuid(r, 0)?,
                        technician_id: get_uuid(r, 1)?,
                        revoked: r.get(2)?,
                        lost: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn list_devices(&self) -> Result<Vec<Device>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {DEVICE_COLS} FROM devices ORDER BY enrolled_at, id"
        ))?;
        let rows = stmt.query_map([], device_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn revoke_device(&self, id: Uuid, now: DateTime<Utc>) -> Result<Device> {
        let conn = self.writer();
        conn.execute(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
            params![ts(now), id.to_string()],
        )?;
        device_by_id(&conn, id)
    }

    fn mark_device_lost(&self, id: Uuid, now: DateTime<Utc>) -> Result<Device> {
        let conn = self.writer();
        conn.execute(
            "UPDATE devices SET lost_at = COALESCE(lost_at, ?1) WHERE id = ?2",
            params![ts(now), id.to_string()],
        )?;
        device_by_id(&conn, id)
    }

    fn record_device_erased(
        &self,
        id: Uuid,
        report: &onsite_api::ErasedReport,
        now: DateTime<Utc>,
    ) -> Result<Device> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let lost: bool = tx.query_row(
            "SELECT lost_at IS NOT NULL FROM devices WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        if !lost {
            return Err(StorageError::Conflict(
                "this device was not marked lost".into(),
            ));
        }
        let body =
            serde_json::to_string(report).map_err(|e| StorageError::Internal(e.to_string()))?;
        // The first report counts (a repeat, after a lost reply, changes nothing).
        tx.execute(
            "UPDATE devices SET erased_at = COALESCE(erased_at, ?1), \
                 erased_report = COALESCE(erased_report, ?2), \
                 revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?3",
            params![ts(now), body, id.to_string()],
        )?;
        let device = device_by_id(&tx, id)?;
        tx.commit()?;
        Ok(device)
    }

    fn apply_op(&self, device: &DeviceAuth, op: &Op, now: DateTime<Utc>) -> Result<OpResult> {
        self.apply_op_as(device, op, now, "applied_on_resend")
    }

    fn list_refused_ops(
        &self,
        query: &onsite_api::RefusedQuery,
    ) -> Result<Vec<onsite_api::RefusedOp>> {
        let conn = self.reader();
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

    fn apply_refused_op(
        &self,
        device_id: Uuid,
        op_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<OpResult> {
        let refused = {
            let conn = self.reader();
            conn.query_row(
                &format!(
                    "SELECT {REFUSED_COLS} FROM refused_ops WHERE device_id = ?1 AND op_id = ?2"
                ),
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
        self.apply_op_as(&device, &op, now, "applied_by_office")
    }

    fn pull(&self, technician_id: Uuid, after: i64, limit: u32) -> Result<FeedPage> {
        let mut conn = self.reader();
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
        let mut changes = Vec::with_capacity(rows.len());
        for (seq, entity_type, entity_id, removed) in &rows {
            changes.push(SqliteStorage::materialise(
                &tx,
                *seq,
                entity_type,
                entity_id,
                *removed,
            )?);
        }
        let last_seq = rows.last().map_or(after, |r| r.0);
        tx.commit()?;
        Ok(FeedPage {
            changes,
            last_seq,
            has_more,
        })
    }

    fn has_blob(&self, sha256: &str) -> Result<bool> {
        let conn = self.reader();
        Ok(conn
            .query_row(
                "SELECT 1 FROM blobs WHERE sha256 = ?1",
                [sha256],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn put_blob(&self, sha256: &str, bytes: &[u8], now: DateTime<Utc>) -> Result<bool> {
        let conn = self.writer();
        let n = conn.execute(
            "INSERT OR IGNORE INTO blobs (sha256, size, data, stored_at) VALUES (?1, ?2, ?3, ?4)",
            params![sha256, bytes.len() as i64, bytes, ts(now)],
        )?;
        Ok(n == 1)
    }

    fn get_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let conn = self.reader();
        Ok(conn
            .query_row("SELECT data FROM blobs WHERE sha256 = ?1", [sha256], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn create_work_order(
        &self,
        id: Uuid,
        new: &NewWorkOrder,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(t) = new.technician_id {
            if !technician_exists(&tx, t)? {
                return Err(StorageError::Invalid("unknown technician_id".into()));
            }
        }
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM work_orders WHERE order_no = ?1)",
            [&new.order_no],
            |r| r.get(0),
        )?;
        if taken {
            return Err(StorageError::Conflict("order_no is already used".into()));
        }
        tx.execute(
            "INSERT INTO work_orders (id, order_no, version, technician_id, status, job_type, \
             customer_name, customer_phone, customer_address, appliance, reported_fault, notes, \
             appointment_start, appointment_end, created_at, updated_at, customer_language) \
             VALUES (?1, ?2, 1, ?3, 'assigned', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14)",
            params![
                id.to_string(),
                new.order_no,
                new.technician_id.map(|t| t.to_string()),
                new.job_type.as_str(),
                new.customer.name,
                new.customer.phone,
                new.customer.address,
                serde_json::to_string(&new.appliance)?,
                new.reported_fault,
                new.notes,
                ts(new.appointment_start),
                ts(new.appointment_end),
                ts(now),
                new.customer.language
            ],
        )?;
        let seq = new_commit(&tx, now)?;
        if let Some(t) = new.technician_id {
            tx.execute(
                "INSERT INTO assignments (work_order_id, technician_id, assigned_at) VALUES (?1, ?2, ?3)",
                params![id.to_string(), t.to_string(), ts(now)],
            )?;
        }
        let order = load_work_order(&tx, id)?.ok_or_else(|| missing("work order"))?;
        feed_work_order(&tx, &order, seq)?;
        tx.commit()?;
        Ok(order)
    }

    fn update_work_order(
        &self,
        id: Uuid,
        update: &WorkOrderUpdate,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut order = load_work_order(&tx, id)?.ok_or(StorageError::NotFound)?;
        if update.expected_version.is_some_and(|v| v != order.version) {
            return Err(StorageError::Conflict(
                "the work order changed meanwhile".into(),
            ));
        }
        if let Some(v) = update.job_type {
            order.job_type = v;
        }
        if let Some(v) = &update.customer {
            order.customer = v.clone();
        }
        if let Some(v) = &update.appliance {
            order.appliance = v.clone();
        }
        if let Some(v) = &update.reported_fault {
            order.reported_fault = v.clone();
        }
        if let Some(v) = &update.notes {
            order.notes = v.clone();
        }
        if let Some(v) = update.appointment_start {
            order.appointment_start = v;
        }
        if let Some(v) = update.appointment_end {
            order.appointment_end = v;
        }
        if order.appointment_end < order.appointment_start {
            return Err(StorageError::Invalid(
                "appointment_end is before appointment_start".into(),
            ));
        }
        tx.execute(
            "UPDATE work_orders SET version = version + 1, job_type = ?1, customer_name = ?2, \
             customer_phone = ?3, customer_address = ?4, appliance = ?5, reported_fault = ?6, \
             notes = ?7, appointment_start = ?8, appointment_end = ?9, updated_at = ?10, \
             customer_language = ?12 WHERE id = ?11",
            params![
                order.job_type.as_str(),
                order.customer.name,
                order.customer.phone,
                order.customer.address,
                serde_json::to_string(&order.appliance)?,
                order.reported_fault,
                order.notes,
                ts(order.appointment_start),
                ts(order.appointment_end),
                ts(now),
                id.to_string(),
                order.customer.language
            ],
        )?;
        let seq = new_commit(&tx, now)?;
        let order = load_work_order(&tx, id)?.ok_or_else(|| missing("work order"))?;
        feed_work_order(&tx, &order, seq)?;
        tx.commit()?;
        Ok(order)
    }

    fn reassign_work_order(
        &self,
        id: Uuid,
        request: &ReassignRequest,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let order = load_work_order(&tx, id)?.ok_or(StorageError::NotFound)?;
        if request.expected_version.is_some_and(|v| v != order.version) {
            return Err(StorageError::Conflict(
                "the work order changed meanwhile".into(),
            ));
        }
        if order.status.is_final() {
            return Err(StorageError::Conflict(format!(
                "a {} work order cannot be reassigned",
                order.status.as_str()
            )));
        }
        if order.technician_id == Some(request.technician_id) {
            return Ok(order);
        }
        if !technician_exists(&tx, request.technician_id)? {
            return Err(StorageError::Invalid("unknown technician_id".into()));
        }
        let new_tech = request.technician_id.to_string();
        tx.execute(
            "UPDATE work_orders SET technician_id = ?1, status = 'assigned', \
             version = version + 1, updated_at = ?2 WHERE id = ?3",
            params![new_tech, ts(now), id.to_string()],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO assignments (work_order_id, technician_id, assigned_at) \
             VALUES (?1, ?2, ?3)",
            params![id.to_string(), new_tech, ts(now)],
        )?;
        let seq = new_commit(&tx, now)?;
        if let Some(old) = order.technician_id {
            feed(
                &tx,
                &old.to_string(),
                "work_order",
                &id.to_string(),
                seq,
                true,
            )?;
        }
        let order = load_work_order(&tx, id)?.ok_or_else(|| missing("work order"))?;
        feed_work_order(&tx, &order, seq)?;
        tx.commit()?;
        Ok(order)
    }

    fn cancel_work_order(&self, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<WorkOrder> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let order = load_work_order(&tx, id)?.ok_or(StorageError::NotFound)?;
        match order.status {
            WorkOrderStatus::Cancelled => return Ok(order),
            WorkOrderStatus::Completed | WorkOrderStatus::UnableToComplete => {
                return Err(StorageError::Conflict(format!(
                    "a {} work order cannot be cancelled",
                    order.status.as_str()
                )))
            }
            _ => {}
        }
        tx.execute(
            "UPDATE work_orders SET status = 'cancelled', cancel_reason = ?1, \
             version = version + 1, updated_at = ?2 WHERE id = ?3",
            params![reason, ts(now), id.to_string()],
        )?;
        let seq = new_commit(&tx, now)?;
        let order = load_work_order(&tx, id)?.ok_or_else(|| missing("work order"))?;
        feed_work_order(&tx, &order, seq)?;
        tx.commit()?;
        Ok(order)
    }

    fn get_work_order(&self, id: Uuid) -> Result<Option<WorkOrderDetail>> {
        let mut conn = self.reader();
        let tx = conn.transaction()?;
        let Some(work_order) = load_work_order(&tx, id)? else {
            return Ok(None);
        };
        let facts = load_facts(&tx, id)?;
        let review_flags = {
            let mut stmt = tx.prepare(&format!(
                "SELECT {FLAG_COLS} FROM review_flags f JOIN work_orders w ON w.id = f.work_order_id \
                 WHERE f.work_order_id = ?1 ORDER BY f.created_at, f.id"
            ))?;
            let rows = stmt.query_map([id.to_string()], flag_from_row)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let addenda = load_addenda(&tx, id)?;
        tx.commit()?;
        Ok(Some(WorkOrderDetail {
            work_order,
            technician_notes: technician_notes(&facts),
            addenda,
            facts,
            review_flags,
        }))
    }

    fn list_work_orders(&self, query: &WorkOrderQuery) -> Result<Vec<WorkOrder>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {WO_COLS} FROM work_orders w \
             WHERE (?1 IS NULL OR w.status = ?1) AND (?2 IS NULL OR w.technician_id = ?2) \
             ORDER BY w.appointment_start DESC, w.id"
        ))?;
        let rows = stmt.query_map(
            params![
                query.status.map(|s| s.as_str()),
                query.technician_id.map(|t| t.to_string())
            ],
            work_order_from_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn publish_fee_table(&self, table: &FeeTablePublish, now: DateTime<Utc>) -> Result<FeeTable> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM fee_tables",
            [],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO fee_tables (version, effective_from, published_at, items, category) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                version,
                ts(table.effective_from),
                ts(now),
                serde_json::to_string(&table.items)?,
                table.category
            ],
        )?;
        let seq = new_commit(&tx, now)?;
        feed(&tx, EVERYONE, "fee_table", &version.to_string(), seq, false)?;
        tx.commit()?;
        Ok(FeeTable {
            category: table.category.clone(),
            version,
            effective_from: table.effective_from,
            published_at: now,
            items: table.items.clone(),
        })
    }

    fn list_fee_tables(&self) -> Result<Vec<FeeTable>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT version, effective_from, published_at, items, category FROM fee_tables \
             ORDER BY version",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(FeeTable {
                category: r.get(4)?,
                version: r.get(0)?,
                effective_from: get_time(r, 1)?,
                published_at: get_time(r, 2)?,
                items: get_json(r, 3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn publish_parts_catalogue(
        &self,
        catalogue: &PartsCataloguePublish,
        now: DateTime<Utc>,
    ) -> Result<PartsCatalogue> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM parts_catalogues",
            [],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO parts_catalogues (version, published_at, parts) VALUES (?1, ?2, ?3)",
            params![version, ts(now), serde_json::to_string(&catalogue.parts)?],
        )?;
        let seq = new_commit(&tx, now)?;
        feed(&tx, EVERYONE, "parts_catalogue", "current", seq, false)?;
        tx.commit()?;
        Ok(PartsCatalogue {
            version,
            published_at: now,
            parts: catalogue.parts.clone(),
        })
    }

    fn publish_price_list(&self, list: &PriceListPublish, now: DateTime<Utc>) -> Result<PriceList> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM price_lists",
            [],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO price_lists (version, effective_from, published_at, prices) VALUES (?1, ?2, ?3, ?4)",
            params![version, ts(list.effective_from), ts(now), serde_json::to_string(&list.prices)?],
        )?;
        let seq = new_commit(&tx, now)?;
        feed(
            &tx,
            EVERYONE,
            "price_list",
            &version.to_string(),
            seq,
            false,
        )?;
        tx.commit()?;
        Ok(PriceList {
            version,
            effective_from: list.effective_from,
            published_at: now,
            prices: list.prices.clone(),
        })
    }

    fn issue_parts(
        &self,
        technician_id: Uuid,
        id: Uuid,
        issue: &NewPartsIssue,
        now: DateTime<Utc>,
    ) -> Result<PartsIssue> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !technician_exists(&tx, technician_id)? {
            return Err(StorageError::NotFound);
        }
        let catalogue = load_latest_catalogue(&tx)?;
        for line in &issue.lines {
            let known = catalogue
                .as_ref()
                .is_some_and(|c| c.parts.iter().any(|p| p.part_no == line.part_no));
            if !known {
                return Err(StorageError::Invalid(format!(
                    "lines.part_no: part {} is not in the parts catalogue in force",
                    line.part_no
                )));
            }
        }
        if let Some(w) = issue.work_order_id {
            if load_work_order(&tx, w)?.is_none() {
                return Err(StorageError::Invalid(
                    "work_order_id: no such work order".into(),
                ));
            }
        }
        let stored = PartsIssue {
            id,
            technician_id,
            issued_at: parse_time(&ts(now)).unwrap_or(now),
            lines: issue.lines.clone(),
            note: issue.note.clone(),
            work_order_id: issue.work_order_id,
        };
        tx.execute(
            &format!("INSERT INTO parts_issues ({ISSUE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            params![
                id.to_string(),
                technician_id.to_string(),
                ts(now),
                serde_json::to_string(&issue.lines)?,
                issue.note,
                issue.work_order_id.map(|w| w.to_string())
            ],
        )?;
        let seq = new_commit(&tx, now)?;
        feed(
            &tx,
            &technician_id.to_string(),
            "parts_issue",
            &id.to_string(),
            seq,
            false,
        )?;
        tx.commit()?;
        Ok(stored)
    }

    fn list_parts_issues(&self, technician_id: Uuid) -> Result<Vec<PartsIssue>> {
        let conn = self.reader();
        if !technician_exists(&conn, technician_id)? {
            return Err(StorageError::NotFound);
        }
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ISSUE_COLS} FROM parts_issues WHERE technician_id = ?1 \
             ORDER BY issued_at, id"
        ))?;
        let rows = stmt.query_map([technician_id.to_string()], issue_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn put_company(&self, company: &CompanyProfile, now: DateTime<Utc>) -> Result<CompanyProfile> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO company (id, name, phone, address, updated_at) \
             VALUES (1, ?1, ?2, ?3, ?4) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone, \
             address = excluded.address, updated_at = excluded.updated_at",
            params![company.name, company.phone, company.address, ts(now)],
        )?;
        let seq = new_commit(&tx, now)?;
        feed(&tx, EVERYONE, "company", "current", seq, false)?;
        tx.commit()?;
        Ok(company.clone())
    }

    fn carry_back_facts(&self) -> Result<Vec<CarryBackFact>> {
        let conn = self.reader();
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

    fn list_review_flags(&self, include_resolved: bool) -> Result<Vec<ReviewFlag>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {FLAG_COLS} FROM review_flags f JOIN work_orders w ON w.id = f.work_order_id \
             WHERE ?1 OR f.resolved_at IS NULL ORDER BY f.created_at, f.id"
        ))?;
        let rows = stmt.query_map([include_resolved], flag_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn resolve_review_flag(&self, id: Uuid, now: DateTime<Utc>) -> Result<ReviewFlag> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE review_flags SET resolved_at = ?1 WHERE id = ?2 AND resolved_at IS NULL",
            params![ts(now), id.to_string()],
        )?;
        let flag = tx
            .query_row(
                &format!(
                    "SELECT {FLAG_COLS} FROM review_flags f JOIN work_orders w \
                     ON w.id = f.work_order_id WHERE f.id = ?1"
                ),
                [id.to_string()],
                flag_from_row,
            )
            .optional()?
            .ok_or(StorageError::NotFound)?;
        if changed == 1 {
            // The order's `flagged_for_review` may have changed: let its technician know.
            tx.execute(
                "UPDATE work_orders SET version = version + 1, updated_at = ?1 WHERE id = ?2",
                params![ts(now), flag.work_order_id.to_string()],
            )?;
            let seq = new_commit(&tx, now)?;
            let order =
                load_work_order(&tx, flag.work_order_id)?.ok_or_else(|| missing("work order"))?;
            feed_work_order(&tx, &order, seq)?;
        }
        tx.commit()?;
        Ok(flag)
    }

    fn export_completed(&self, since: Option<DateTime<Utc>>) -> Result<Vec<ExportJob>> {
        let mut conn = self.reader();
        let tx = conn.transaction()?;
        let orders: Vec<WorkOrder> = {
            let mut stmt = tx.prepare(&format!(
                "SELECT {WO_COLS} FROM work_orders w \
                 WHERE w.status IN ('completed', 'unable_to_complete') \
                 AND (?1 IS NULL OR w.completed_at >= ?1) ORDER BY w.completed_at, w.id"
            ))?;
            let rows = stmt.query_map([since.map(ts)], work_order_from_row)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut jobs = Vec::with_capacity(orders.len());
        for work_order in orders {
            let facts = load_facts(&tx, work_order.id)?;
            let mut blobs: Vec<String> = Vec::new();
            for f in &facts {
                if let Ok(p) = OpPayload::parse(f.kind.as_str(), &f.payload) {
                    if let Some(sha) = p.blob_sha256() {
                        if !blobs.iter().any(|b| b == sha) {
                            blobs.push(sha.to_owned());
                        }
                    }
                }
            }
            let carry_backs: Vec<CarryBackFact> = facts
                .iter()
                .filter(|f| CARRY_BACK_KINDS.contains(&f.kind.as_str()))
                .map(|f| CarryBackFact {
                    order_no: work_order.order_no.clone(),
                    flagged_for_review: work_order.flagged_for_review,
                    fact: f.clone(),
                })
                .collect();
            let carry_backs = crate::carryback::fold(
                &carry_backs,
                Utc::now().date_naive(),
                &onsite_api::CarryBackQuery {
                    include_returned: Some(true),
                    technician_id: None,
                },
            );
            let addenda = load_addenda(&tx, work_order.id)?;
            jobs.push(ExportJob {
                technician_notes: technician_notes(&facts),
                addenda,
                work_order,
                facts,
                blobs,
                carry_backs,
            });
        }
        tx.commit()?;
        Ok(jobs)
    }

    fn export_technician_days(
        &self,
        query: &onsite_api::TechnicianDayQuery,
    ) -> Result<Vec<onsite_api::TechnicianDayFact>> {
        let conn = self.reader();
        // An expense is superseded by one recorded later (by the time the technician
        // recorded it, not the order it arrived in: two devices, or a late sync) for the
        // same technician and day; the same time is decided by arrival.
        let mut stmt = conn.prepare(
            "SELECT f.day, f.fact_id, f.op_id, f.technician_id, f.device_id, f.kind, \
             f.payload, f.received_at, \
             f.kind = 'record_expense' AND EXISTS (SELECT 1 FROM technician_day_facts g \
               WHERE g.technician_id = f.technician_id AND g.day = f.day \
               AND g.kind = f.kind AND (julianday(json_extract(g.payload, '$.at')) \
                 > julianday(json_extract(f.payload, '$.at')) \
                 OR (julianday(json_extract(g.payload, '$.at')) \
                   = julianday(json_extract(f.payload, '$.at')) AND g.seq > f.seq))) \
             FROM technician_day_facts f \
             WHERE (?1 IS NULL OR f.day >= ?1) AND (?2 IS NULL OR f.day <= ?2) \
             AND (?3 IS NULL OR f.technician_id = ?3) \
             ORDER BY f.day, f.technician_id, f.seq",
        )?;
        let rows = stmt.query_map(
            params![
                query.from.map(|d| d.to_string()),
                query.to.map(|d| d.to_string()),
                query.technician_id.map(|t| t.to_string())
            ],
            |r| {
                let day: String = r.get(0)?;
                let kind: String = r.get(5)?;
                Ok(onsite_api::TechnicianDayFact {
                    day: day.parse().map_err(|_| conv(0, "day"))?,
                    fact_id: get_uuid(r, 1)?,
                    op_id: get_uuid(r, 2)?,
                    technician_id: get_uuid(r, 3)?,
                    device_id: get_uuid(r, 4)?,
                    kind: OpKind::parse(&kind).ok_or_else(|| conv(5, "op kind"))?,
                    payload: get_json(r, 6)?,
                    received_at: get_time(r, 7)?,
                    superseded: r.get(8)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_re_sent_fact_is_the_same_with_fields_added_by_a_later_build() {
        use serde_json::json;
        let stored = json!({"fact_id": "f", "amount": {"minor": 5}, "receipt_no": null});
        for (sent, same) in [
            (
                json!({"fact_id": "f", "amount": {"minor": 5}, "receipt_no": null}),
                true,
            ),
            (json!({"fact_id": "f", "amount": {"minor": 5}}), true),
            (
                json!({"fact_id": "f", "amount": {"minor": 5}, "receipt_no": null, "tendered": {"minor": 10}}),
                true,
            ),
            (json!({"fact_id": "f", "amount": {"minor": 6}}), false),
            (
                json!({"fact_id": "f", "amount": {"minor": 5}, "receipt_no": "R-1"}),
                false,
            ),
            (json!("f"), false),
        ] {
            assert_eq!(super::same_fact(&stored, &sent), same, "{sent}");
        }
    }

    use super::*;

    #[test]
    fn opens_migrates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open_in_dir(dir.path()).unwrap();
        let epoch = s.epoch().unwrap();
        assert_eq!(s.integrity_check().unwrap(), "ok");
        let mode: String = lock(&s.writer)
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = lock(&s.writer)
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "FULL");
        let fk: i64 = lock(&s.writer)
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        drop(s);
        let s = SqliteStorage::open_in_dir(dir.path()).unwrap();
        assert_eq!(s.epoch().unwrap(), epoch, "epoch survives a restart");
        let v: i64 = lock(&s.writer)
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.last().unwrap().0);
    }

    /// A database from before migration 0004 keeps its rows: the customer's language, the
    /// fee table's category and the new JSON fields read as the wire types' defaults.
    #[test]
    fn rows_from_before_0004_read_with_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        {
            let conn = Connection::open(&path).unwrap();
            for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v <= 3) {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", version).unwrap();
            }
            let t = "2026-01-05T08:00:00.000000Z";
            conn.execute(
                "INSERT INTO work_orders (id, order_no, version, technician_id, status, job_type, \
                 customer_name, customer_phone, customer_address, appliance, reported_fault, notes, \
                 appointment_start, appointment_end, created_at, updated_at) \
                 VALUES (?1, 'OLD-1', 1, NULL, 'assigned', 'repair', 'N', 'P', 'A', ?2, '', '', \
                 ?3, ?3, ?3, ?3)",
                params![
                    Uuid::now_v7().to_string(),
                    r#"{"category":"water purifier","brand":"B","model":"M","serial_no":null,"purchase_date":null}"#,
                    t
                ],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO fee_tables (version, effective_from, published_at, items) \
                 VALUES (1, ?1, ?1, ?2)",
                params![
                    t,
                    r#"[{"code":"A","description":"d","fee":{"minor":100,"currency":"CNY"},"plus_parts":false}]"#
                ],
            )
            .unwrap();
        }
        let s = SqliteStorage::open(&path).unwrap();
        let orders = s.list_work_orders(&WorkOrderQuery::default()).unwrap();
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].customer.language, "zh-CN");
        assert_eq!(orders[0].appliance.proof, None);
        assert!(orders[0].appliance.contracts.is_empty());
        let tables = s.list_fee_tables().unwrap();
        assert_eq!(tables[0].category, "hq");
        let item = &tables[0].items[0];
        assert_eq!(item.kind, onsite_domain::rules::ItemKind::Service);
        assert!(item.coverable && !item.open_priced && item.includes.is_empty());
        assert_eq!((item.name_zh.as_str(), item.name_en.as_str()), ("", ""));
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn pages_never_split_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open_in_dir(dir.path()).unwrap();
        let now = Utc::now();
        let tech = Uuid::now_v7();
        s.create_technician(tech, "T", now).unwrap();
        for i in 0..3 {
            let items = vec![FeeItem {
                code: format!("C{i}"),
                description: String::new(),
                fee: onsite_domain::Money::cny(100),
                plus_parts: false,
                name_zh: String::new(),
                name_en: String::new(),
                kind: onsite_domain::rules::ItemKind::Service,
                open_priced: false,
                coverable: true,
                includes: vec![],
            }];
            s.publish_fee_table(
                &FeeTablePublish {
                    category: "water_purifier".into(),
                    effective_from: now,
                    items,
                },
                now,
            )
            .unwrap();
        }
        // Put two feed rows into one commit by hand, as a multi-entity commit would.
        {
            let mut conn = s.writer();
            let tx = conn.transaction().unwrap();
            let seq = new_commit(&tx, now).unwrap();
            feed(&tx, EVERYONE, "fee_table", "1", seq, false).unwrap();
            feed(&tx, EVERYONE, "fee_table", "2", seq, false).unwrap();
            tx.commit().unwrap();
        }
        // Feed now: fee_table 3 at seq 3, fee tables 1 and 2 at seq 4.
        let p1 = s.pull(tech, 0, 1).unwrap();
        assert_eq!(p1.changes.len(), 1);
        assert!(p1.has_more);
        let p2 = s.pull(tech, p1.last_seq, 1).unwrap();
        assert_eq!(p2.changes.len(), 2, "the two-row commit comes whole");
        assert_eq!(p2.changes[0].seq, p2.changes[1].seq);
        assert!(!p2.has_more);
        let p3 = s.pull(tech, p2.last_seq, 1).unwrap();
        assert!(p3.changes.is_empty());
        assert_eq!(p3.last_seq, p2.last_seq);
    }
}
