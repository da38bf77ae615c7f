//! Work orders: head office's side of a job (`work_orders`, `assignments`), its review flags
//! (`review_flags`) and addenda as read with the job (`addenda`).

use chrono::{DateTime, Utc};
use onsite_api::{
    Appliance, Customer, FactRecord, NewWorkOrder, OpKind, OpPayload, ReassignRequest, ReviewFlag,
    ReviewReason, WorkOrder, WorkOrderDetail, WorkOrderQuery, WorkOrderUpdate,
};
use onsite_domain::{JobType, WorkOrderStatus};
use postgres::Row;

use super::client::{Db, Tx};
use uuid::Uuid;

use super::devices::technician_exists;
use super::facts::{feed, feed_work_order, load_facts, new_commit};
use super::{
    conv, get, get_json, get_opt_time, get_opt_uuid, get_time, get_uuid, missing, ts,
    PostgresStorage,
};
use crate::rules;
use crate::storage::{Result, StorageError};

pub(super) const WO_COLS: &str =
    "w.id, w.order_no, w.version, w.technician_id, w.status, w.job_type, \
    w.customer_name, w.customer_phone, w.customer_address, w.appliance, w.reported_fault, \
    w.notes, w.appointment_start, w.appointment_end, w.cancel_reason, w.created_at, \
    w.updated_at, EXISTS (SELECT 1 FROM review_flags f WHERE f.work_order_id = w.id \
    AND f.resolved_at IS NULL), w.customer_language";

pub(super) fn work_order_from_row(row: &Row) -> Result<WorkOrder> {
    let status: String = get(row, 4)?;
    let job_type: String = get(row, 5)?;
    Ok(WorkOrder {
        id: get_uuid(row, 0)?,
        order_no: get(row, 1)?,
        version: get(row, 2)?,
        technician_id: get_opt_uuid(row, 3)?,
        status: WorkOrderStatus::parse(&status).ok_or_else(|| conv("status"))?,
        job_type: JobType::parse(&job_type).ok_or_else(|| conv("job type"))?,
        customer: Customer {
            name: get(row, 6)?,
            phone: get(row, 7)?,
            address: get(row, 8)?,
            language: get(row, 18)?,
        },
        appliance: get_json::<Appliance>(row, 9)?,
        reported_fault: get(row, 10)?,
        notes: get(row, 11)?,
        appointment_start: get_time(row, 12)?,
        appointment_end: get_time(row, 13)?,
        cancel_reason: get(row, 14)?,
        created_at: get_time(row, 15)?,
        updated_at: get_time(row, 16)?,
        flagged_for_review: get(row, 17)?,
    })
}

pub(super) const FLAG_COLS: &str =
    "f.id, f.work_order_id, w.order_no, f.reason, f.op_id, f.technician_id, \
    f.device_id, f.created_at, f.resolved_at";

pub(super) fn flag_from_row(row: &Row) -> Result<ReviewFlag> {
    let reason: String = get(row, 3)?;
    Ok(ReviewFlag {
        id: get_uuid(row, 0)?,
        work_order_id: get_uuid(row, 1)?,
        order_no: get(row, 2)?,
        reason: ReviewReason::parse(&reason).ok_or_else(|| conv("review reason"))?,
        op_id: get_uuid(row, 4)?,
        technician_id: get_uuid(row, 5)?,
        device_id: get_uuid(row, 6)?,
        created_at: get_time(row, 7)?,
        resolved_at: get_opt_time(row, 8)?,
    })
}

pub(super) fn load_work_order(conn: &mut impl Db, id: Uuid) -> Result<Option<WorkOrder>> {
    conn.query_opt(
        &format!("SELECT {WO_COLS} FROM work_orders w WHERE w.id = $1"),
        &[&id.to_string()],
    )?
    .map(|r| work_order_from_row(&r))
    .transpose()
}

/// A job's addenda (notes after completion), oldest first.
pub(super) fn load_addenda(
    conn: &mut impl Db,
    order_id: Uuid,
) -> Result<Vec<onsite_api::JobAddendum>> {
    conn.query(
        "SELECT addendum_id, text, at, technician_id, received_at FROM addenda \
         WHERE work_order_id = $1 ORDER BY at, fact_id",
        &[&order_id.to_string()],
    )?
    .iter()
    .map(|r| {
        Ok(onsite_api::JobAddendum {
            id: get_uuid(r, 0)?,
            text: get(r, 1)?,
            at: get_time(r, 2)?,
            technician_id: get_uuid(r, 3)?,
            received_at: get_time(r, 4)?,
        })
    })
    .collect()
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
    tx: &mut Tx,
    order_id: &str,
    reason: ReviewReason,
    op_id: &str,
    technician: &str,
    device_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let open: bool = get(
        &tx.query_one(
            "SELECT EXISTS (SELECT 1 FROM review_flags WHERE work_order_id = $1 \
             AND reason = $2 AND resolved_at IS NULL)",
            &[&order_id, &reason.as_str()],
        )?,
        0,
    )?;
    if open {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO review_flags (id, work_order_id, reason, op_id, \
         technician_id, device_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &Uuid::now_v7().to_string(),
            &order_id,
            &reason.as_str(),
            &op_id,
            &technician,
            &device_id,
            &ts(now),
        ],
    )?;
    tx.execute(
        "UPDATE work_orders SET version = version + 1, updated_at = $1 WHERE id = $2",
        &[&ts(now), &order_id],
    )?;
    Ok(true)
}

pub(super) fn create_work_order(
    db: &PostgresStorage,
    id: Uuid,
    new: &NewWorkOrder,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    let mut conn = db.writer()?;
    let mut tx = db.write(&mut conn)?;
    if let Some(t) = new.technician_id {
        if !technician_exists(&mut tx, t)? {
            return Err(StorageError::Invalid("unknown technician_id".into()));
        }
    }
    let taken: bool = get(
        &tx.query_one(
            "SELECT EXISTS (SELECT 1 FROM work_orders WHERE order_no = $1)",
            &[&new.order_no],
        )?,
        0,
    )?;
    if taken {
        return Err(StorageError::Conflict("order_no is already used".into()));
    }
    tx.execute(
        "INSERT INTO work_orders (id, order_no, version, technician_id, status, job_type, \
         customer_name, customer_phone, customer_address, appliance, reported_fault, notes, \
         appointment_start, appointment_end, created_at, updated_at, customer_language) \
         VALUES ($1, $2, 1, $3, 'assigned', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14)",
        &[
            &id.to_string(),
            &new.order_no,
            &new.technician_id.map(|t| t.to_string()),
            &new.job_type.as_str(),
            &new.customer.name,
            &new.customer.phone,
            &new.customer.address,
            &serde_json::to_string(&new.appliance)?,
            &new.reported_fault,
            &new.notes,
            &ts(new.appointment_start),
            &ts(new.appointment_end),
            &ts(now),
            &new.customer.language,
        ],
    )?;
    let seq = new_commit(&mut tx, now)?;
    if let Some(t) = new.technician_id {
        tx.execute(
            "INSERT INTO assignments (work_order_id, technician_id, assigned_at) VALUES ($1, $2, $3)",
            &[&id.to_string(), &t.to_string(), &ts(now)],
        )?;
    }
    let order = load_work_order(&mut tx, id)?.ok_or_else(|| missing("work order"))?;
    feed_work_order(&mut tx, &order, seq)?;
    tx.commit()?;
    Ok(order)
}

pub(super) fn update_work_order(
    db: &PostgresStorage,
    id: Uuid,
    update: &WorkOrderUpdate,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    let mut conn = db.writer()?;
    let mut tx = db.write(&mut conn)?;
    let mut order = load_work_order(&mut tx, id)?.ok_or(StorageError::NotFound)?;
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
        "UPDATE work_orders SET version = version + 1, job_type = $1, customer_name = $2, \
         customer_phone = $3, customer_address = $4, appliance = $5, reported_fault = $6, \
         notes = $7, appointment_start = $8, appointment_end = $9, updated_at = $10, \
         customer_language = $12 WHERE id = $11",
        &[
            &order.job_type.as_str(),
            &order.customer.name,
            &order.customer.phone,
            &order.customer.address,
            &serde_json::to_string(&order.appliance)?,
            &order.reported_fault,
            &order.notes,
            &ts(order.appointment_start),
            &ts(order.appointment_end),
            &ts(now),
            &id.to_string(),
            &order.customer.language,
        ],
    )?;
    let seq = new_commit(&mut tx, now)?;
    let order = load_work_order(&mut tx, id)?.ok_or_else(|| missing("work order"))?;
    feed_work_order(&mut tx, &order, seq)?;
    tx.commit()?;
    Ok(order)
}

pub(super) fn reassign_work_order(
    db: &PostgresStorage,
    id: Uuid,
    request: &ReassignRequest,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    let mut conn = db.writer()?;
    let mut tx = db.write(&mut conn)?;
    let order = load_work_order(&mut tx, id)?.ok_or(StorageError::NotFound)?;
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
    if !technician_exists(&mut tx, request.technician_id)? {
        return Err(StorageError::Invalid("unknown technician_id".into()));
    }
    let new_tech = request.technician_id.to_string();
    tx.execute(
        "UPDATE work_orders SET technician_id = $1, status = 'assigned', \
         version = version + 1, updated_at = $2 WHERE id = $3",
        &[&new_tech, &ts(now), &id.to_string()],
    )?;
    tx.execute(
        "INSERT INTO assignments (work_order_id, technician_id, assigned_at) \
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&id.to_string(), &new_tech, &ts(now)],
    )?;
    let seq = new_commit(&mut tx, now)?;
    if let Some(old) = order.technician_id {
        feed(
            &mut tx,
            &old.to_string(),
            "work_order",
            &id.to_string(),
            seq,
            true,
        )?;
    }
    let order = load_work_order(&mut tx, id)?.ok_or_else(|| missing("work order"))?;
    feed_work_order(&mut tx, &order, seq)?;
    tx.commit()?;
    Ok(order)
}

pub(super) fn cancel_work_order(
    db: &PostgresStorage,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    let mut conn = db.writer()?;
    let mut tx = db.write(&mut conn)?;
    let order = load_work_order(&mut tx, id)?.ok_or(StorageError::NotFound)?;
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
        "UPDATE work_orders SET status = 'cancelled', cancel_reason = $1, \
         version = version + 1, updated_at = $2 WHERE id = $3",
        &[&reason, &ts(now), &id.to_string()],
    )?;
    let seq = new_commit(&mut tx, now)?;
    let order = load_work_order(&mut tx, id)?.ok_or_else(|| missing("work order"))?;
    feed_work_order(&mut tx, &order, seq)?;
    tx.commit()?;
    Ok(order)
}

pub(super) fn get_work_order(db: &PostgresStorage, id: Uuid) -> Result<Option<WorkOrderDetail>> {
    let mut conn = db.conn()?;
    let mut tx = conn.read_transaction()?;
    let Some(work_order) = load_work_order(&mut tx, id)? else {
        return Ok(None);
    };
    let facts = load_facts(&mut tx, id)?;
    let review_flags = tx
        .query(
            &format!(
                "SELECT {FLAG_COLS} FROM review_flags f JOIN work_orders w ON w.id = f.work_order_id \
                 WHERE f.work_order_id = $1 ORDER BY f.created_at, f.id"
            ),
            &[&id.to_string()],
        )?
        .iter()
        .map(flag_from_row)
        .collect::<Result<Vec<_>>>()?;
    let addenda = load_addenda(&mut tx, id)?;
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
    db: &PostgresStorage,
    query: &WorkOrderQuery,
) -> Result<Vec<WorkOrder>> {
    db.conn()?
        .query(
            &format!(
                "SELECT {WO_COLS} FROM work_orders w \
                 WHERE ($1::text IS NULL OR w.status = $1) \
                 AND ($2::text IS NULL OR w.technician_id = $2) \
                 ORDER BY w.appointment_start DESC, w.id"
            ),
            &[
                &query.status.map(|s| s.as_str()),
                &query.technician_id.map(|t| t.to_string()),
            ],
        )?
        .iter()
        .map(work_order_from_row)
        .collect()
}

pub(super) fn list_review_flags(
    db: &PostgresStorage,
    include_resolved: bool,
) -> Result<Vec<ReviewFlag>> {
    db.conn()?
        .query(
            &format!(
                "SELECT {FLAG_COLS} FROM review_flags f JOIN work_orders w ON w.id = f.work_order_id \
                 WHERE $1 OR f.resolved_at IS NULL ORDER BY f.created_at, f.id"
            ),
            &[&include_resolved],
        )?
        .iter()
        .map(flag_from_row)
        .collect()
}

pub(super) fn resolve_review_flag(
    db: &PostgresStorage,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<ReviewFlag> {
    let mut conn = db.writer()?;
    let mut tx = db.write(&mut conn)?;
    let changed = tx.execute(
        "UPDATE review_flags SET resolved_at = $1 WHERE id = $2 AND resolved_at IS NULL",
        &[&ts(now), &id.to_string()],
    )?;
    let flag = tx
        .query_opt(
            &format!(
                "SELECT {FLAG_COLS} FROM review_flags f JOIN work_orders w \
                 ON w.id = f.work_order_id WHERE f.id = $1"
            ),
            &[&id.to_string()],
        )?
        .map(|r| flag_from_row(&r))
        .transpose()?
        .ok_or(StorageError::NotFound)?;
    if changed == 1 {
        // The order's `flagged_for_review` may have changed: let its technician know.
        tx.execute(
            "UPDATE work_orders SET version = version + 1, updated_at = $1 WHERE id = $2",
            &[&ts(now), &flag.work_order_id.to_string()],
        )?;
        let seq = new_commit(&mut tx, now)?;
        let order =
            load_work_order(&mut tx, flag.work_order_id)?.ok_or_else(|| missing("work order"))?;
        feed_work_order(&mut tx, &order, seq)?;
    }
    tx.commit()?;
    Ok(flag)
}
