//! Work orders: head office's side of a job (`work_orders`, `assignments`), its review flags
//! (`review_flags`) and addenda as read with the job (`addenda`).

use chrono::{DateTime, Utc};
use onsite_api::{
    Appliance, Customer, FactRecord, NewWorkOrder, OpKind, OpPayload, ReassignRequest, ReviewFlag,
    ReviewReason, WorkOrder, WorkOrderDetail, WorkOrderQuery, WorkOrderUpdate,
};
use onsite_domain::{JobType, WorkOrderStatus};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use uuid::Uuid;

use super::devices::technician_exists;
use super::facts::{feed, feed_work_order, load_facts, new_commit};
use super::{
    conv, get_json, get_opt_time, get_opt_uuid, get_time, get_uuid, missing, ts, SqliteStorage,
};
use crate::rules;
use crate::storage::{Result, StorageError};

pub(super) const WO_COLS: &str =
    "w.id, w.order_no, w.version, w.technician_id, w.status, w.job_type, \
    w.customer_name, w.customer_phone, w.customer_address, w.appliance, w.reported_fault, \
    w.notes, w.appointment_start, w.appointment_end, w.cancel_reason, w.created_at, \
    w.updated_at, EXISTS (SELECT 1 FROM review_flags f WHERE f.work_order_id = w.id \
    AND f.resolved_at IS NULL), w.customer_language";

pub(super) fn work_order_from_row(row: &Row) -> rusqlite::Result<WorkOrder> {
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

pub(super) const FLAG_COLS: &str =
    "f.id, f.work_order_id, w.order_no, f.reason, f.op_id, f.technician_id, \
    f.device_id, f.created_at, f.resolved_at";

pub(super) fn flag_from_row(row: &Row) -> rusqlite::Result<ReviewFlag> {
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

pub(super) fn load_work_order(conn: &Connection, id: Uuid) -> Result<Option<WorkOrder>> {
    Ok(conn
        .query_row(
            &format!("SELECT {WO_COLS} FROM work_orders w WHERE w.id = ?1"),
            [id.to_string()],
            work_order_from_row,
        )
        .optional()?)
}

/// A job's addenda (notes after completion), oldest first.
pub(super) fn load_addenda(
    conn: &Connection,
    order_id: Uuid,
) -> Result<Vec<onsite_api::JobAddendum>> {
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
pub(super) fn technician_notes(facts: &[FactRecord]) -> Option<String> {
    let parsed: Vec<OpPayload> = facts
        .iter()
        .filter(|f| f.kind == OpKind::EditNotes)
        .filter_map(|f| OpPayload::parse(f.kind.as_str(), &f.payload).ok())
        .collect();
    rules::technician_notes(&parsed)
}

/// Opens a review flag on a job unless one with the same reason is open; true when opened.
#[allow(clippy::too_many_arguments)]
pub(super) fn open_review_flag(
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

pub(super) fn create_work_order(
    db: &SqliteStorage,
    id: Uuid,
    new: &NewWorkOrder,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    let mut conn = db.writer();
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

pub(super) fn update_work_order(
    db: &SqliteStorage,
    id: Uuid,
    update: &WorkOrderUpdate,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    let mut conn = db.writer();
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

pub(super) fn reassign_work_order(
    db: &SqliteStorage,
    id: Uuid,
    request: &ReassignRequest,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    let mut conn = db.writer();
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

pub(super) fn cancel_work_order(
    db: &SqliteStorage,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    let mut conn = db.writer();
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

pub(super) fn get_work_order(db: &SqliteStorage, id: Uuid) -> Result<Option<WorkOrderDetail>> {
    let mut conn = db.reader();
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

pub(super) fn list_work_orders(
    db: &SqliteStorage,
    query: &WorkOrderQuery,
) -> Result<Vec<WorkOrder>> {
    list_work_orders_page(db, query, None, None)
}

/// The list from after work order `after` (keyset on the appointment and the id: only the
/// page is read, and the page starts in the right place even if `after` has since left
/// the filter), at most `limit` (all when none).
pub(super) fn list_work_orders_page(
    db: &SqliteStorage,
    query: &WorkOrderQuery,
    after: Option<Uuid>,
    limit: Option<usize>,
) -> Result<Vec<WorkOrder>> {
    let conn = db.reader();
    if let Some(a) = after {
        let known: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM work_orders WHERE id = ?1)",
            [a.to_string()],
            |r| r.get(0),
        )?;
        if !known {
            return Err(StorageError::Invalid(
                "the cursor names no work order".into(),
            ));
        }
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT {WO_COLS} FROM work_orders w \
         WHERE (?1 IS NULL OR w.status = ?1) AND (?2 IS NULL OR w.technician_id = ?2) \
         AND (?3 IS NULL OR EXISTS (SELECT 1 FROM work_orders a WHERE a.id = ?3 \
              AND (w.appointment_start < a.appointment_start \
                   OR (w.appointment_start = a.appointment_start AND w.id > a.id)))) \
         ORDER BY w.appointment_start DESC, w.id LIMIT ?4"
    ))?;
    let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let rows = stmt.query_map(
        params![
            query.status.map(|s| s.as_str()),
            query.technician_id.map(|t| t.to_string()),
            after.map(|a| a.to_string()),
            limit
        ],
        work_order_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn list_review_flags(
    db: &SqliteStorage,
    include_resolved: bool,
) -> Result<Vec<ReviewFlag>> {
    let conn = db.reader();
    let mut stmt = conn.prepare(&format!(
        "SELECT {FLAG_COLS} FROM review_flags f JOIN work_orders w ON w.id = f.work_order_id \
         WHERE ?1 OR f.resolved_at IS NULL ORDER BY f.created_at, f.id"
    ))?;
    let rows = stmt.query_map([include_resolved], flag_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn resolve_review_flag(
    db: &SqliteStorage,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<ReviewFlag> {
    let mut conn = db.writer();
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
