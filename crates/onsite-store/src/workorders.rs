//! Work orders and the records around them: customers, appliances, technicians; Today,
//! search, the detail screen and the technician's status changes.

use chrono::{DateTime, NaiveDate, Utc};
use onsite_domain::view::{
    AddendumView, ApplianceView, CustomerView, ProofKind, ProofOfPurchase, StatusChangeView,
    VisitView, WorkOrderDetail, WorkOrderSummary,
};
use onsite_domain::workorder::lateness;
use onsite_domain::{JobType, WorkOrderStatus};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use serde::Serialize;

use crate::search::{self, Term};
use crate::{outbox, parse_ts, ts, StoreError, StoreResult};

/// The technician's day as the store sees it: `now`, and local midnight today and
/// tomorrow, all in UTC.
#[derive(Debug, Clone, Copy)]
pub struct Day {
    pub now: DateTime<Utc>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Day {
    /// The technician's local date. `start` is local midnight in UTC, so the local date is
    /// the UTC date of the middle of the day (right for UTC offsets within ±12 h).
    pub fn today(&self) -> NaiveDate {
        (self.start + (self.end - self.start) / 2).date_naive()
    }
}

pub struct NewTechnician<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
    pub employee_no: &'a str,
}

pub struct NewCustomer<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
    pub address: &'a str,
    pub language: &'a str,
}

pub struct NewAppliance<'a> {
    pub id: &'a str,
    pub customer_id: &'a str,
    pub category: &'a str,
    pub brand: &'a str,
    pub model: &'a str,
    pub serial_no: Option<&'a str>,
    pub purchase_date: Option<NaiveDate>,
    pub proof: &'a ProofOfPurchase,
}

pub struct NewWorkOrder<'a> {
    pub id: &'a str,
    pub order_no: &'a str,
    pub technician_id: &'a str,
    pub customer_id: &'a str,
    pub appliance_id: &'a str,
    pub job_type: JobType,
    pub status: WorkOrderStatus,
    pub reported_fault: &'a str,
    pub appointment_start: DateTime<Utc>,
    pub appointment_end: DateTime<Utc>,
    pub notes: &'a str,
    pub created_at: DateTime<Utc>,
}

pub fn insert_technician(tx: &Transaction, t: &NewTechnician) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO technician (id, name, phone, employee_no) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![t.id, t.name, t.phone, t.employee_no])?;
    Ok(())
}

pub fn insert_customer(tx: &Transaction, c: &NewCustomer) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO customer (id, name, phone, address, language) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![c.id, c.name, c.phone, c.address, c.language])?;
    Ok(())
}

pub fn insert_appliance(tx: &Transaction, a: &NewAppliance) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO appliance (id, customer_id, category, brand, model, serial_no,
                                purchase_date, proof_kind, proof_date, proof_sealed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        a.id,
        a.customer_id,
        a.category,
        a.brand,
        a.model,
        a.serial_no,
        a.purchase_date.map(|d| d.to_string()),
        a.proof.kind.as_str(),
        a.proof.date.map(|d| d.to_string()),
        a.proof.sealed,
    ])?;
    Ok(())
}

/// Inserts a work order as head office assigned it, with its first status stamp, and
/// indexes it for search.
pub fn insert_work_order(tx: &Transaction, w: &NewWorkOrder) -> StoreResult<()> {
    if w.appointment_end < w.appointment_start {
        return Err(StoreError::Invalid(
            "appointment ends before it starts".into(),
        ));
    }
    tx.prepare_cached(
        "INSERT INTO work_order (id, order_no, technician_id, customer_id, appliance_id,
             job_type, status, reported_fault, appointment_start, appointment_end, notes,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
    )?
    .execute(params![
        w.id,
        w.order_no,
        w.technician_id,
        w.customer_id,
        w.appliance_id,
        w.job_type.as_str(),
        w.status.as_str(),
        w.reported_fault,
        ts(w.appointment_start),
        ts(w.appointment_end),
        w.notes,
        ts(w.created_at),
    ])?;
    let seq = tx.last_insert_rowid();
    tx.prepare_cached(
        "INSERT INTO work_order_status (work_order_id, from_status, to_status, at)
         VALUES (?1, NULL, ?2, ?3)",
    )?
    .execute(params![w.id, w.status.as_str(), ts(w.created_at)])?;
    reindex(tx, seq)
}

/// Rewrites the search rows of one work order from its current data.
pub fn reindex(tx: &Transaction, seq: i64) -> StoreResult<()> {
    let fields: [String; 7] = tx
        .prepare_cached(
            "SELECT w.order_no, c.name, c.phone, c.address, a.brand, a.model,
                coalesce(a.serial_no, '')
         FROM work_order w JOIN customer c ON c.id = w.customer_id
              JOIN appliance a ON a.id = w.appliance_id
         WHERE w.seq = ?1",
        )?
        .query_row([seq], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ])
        })?;
    let body = format!("{} {}", fields.join(" "), search::digits_only(&fields[2]));
    tx.prepare_cached("DELETE FROM search_tri WHERE rowid = ?1")?
        .execute([seq])?;
    tx.prepare_cached("DELETE FROM search_short WHERE rowid = ?1")?
        .execute([seq])?;
    tx.prepare_cached("INSERT INTO search_tri (rowid, body) VALUES (?1, ?2)")?
        .execute(params![seq, body])?;
    tx.prepare_cached("INSERT INTO search_short (rowid, body) VALUES (?1, ?2)")?
        .execute(params![seq, search::short_index_text(&body)])?;
    Ok(())
}

const SUMMARY_COLUMNS: &str = "w.id, w.order_no, c.name, c.address, a.category, a.model,
    w.job_type, w.status, w.appointment_start, w.appointment_end, c.phone";
const SUMMARY_FROM: &str = "FROM work_order w
    JOIN customer c ON c.id = w.customer_id
    JOIN appliance a ON a.id = w.appliance_id";

fn bad(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown {what} in the database").into(),
    )
}

fn time_col(row: &Row, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    parse_ts(&row.get::<_, String>(i)?).map_err(|_| bad("time"))
}

fn summary(row: &Row, day: &Day) -> rusqlite::Result<WorkOrderSummary> {
    let status = WorkOrderStatus::parse(&row.get::<_, String>(7)?).ok_or_else(|| bad("status"))?;
    let appointment_end = time_col(row, 9)?;
    Ok(WorkOrderSummary {
        id: row.get(0)?,
        order_no: row.get(1)?,
        customer_name: row.get(2)?,
        customer_phone: row.get(10)?,
        address: row.get(3)?,
        appliance_category: row.get(4)?,
        appliance_model: row.get(5)?,
        job_type: JobType::parse(&row.get::<_, String>(6)?).ok_or_else(|| bad("job type"))?,
        status,
        appointment_start: time_col(row, 8)?,
        appointment_end,
        lateness: lateness(status, appointment_end, day.now, day.start),
    })
}

/// Today: this technician's open orders from earlier days (overdue), then every order
/// booked today, by appointment time.
pub fn today(
    conn: &Connection,
    technician_id: &str,
    day: &Day,
) -> StoreResult<Vec<WorkOrderSummary>> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} {SUMMARY_FROM}
         WHERE w.seq IN (
             SELECT seq FROM work_order INDEXED BY work_order_open
             WHERE technician_id = ?1 AND appointment_start < ?2
               AND status IN ('assigned', 'en_route', 'on_site', 'in_progress')
             UNION ALL
             SELECT seq FROM work_order INDEXED BY work_order_tech_time
             WHERE technician_id = ?1 AND appointment_start >= ?2 AND appointment_start < ?3)
         ORDER BY w.appointment_start, w.order_no"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![technician_id, ts(day.start), ts(day.end)], |r| {
        summary(r, day)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Searches every work order (today's and past ones) by order number, customer name,
/// phone, address, appliance model or serial. Most recent appointment first.
pub fn search(
    conn: &Connection,
    query: &str,
    day: &Day,
    limit: usize,
) -> StoreResult<Vec<WorkOrderSummary>> {
    let terms = search::plan(query);
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    // Each term gives a set of rowids from its index; their intersection is ranked by
    // appointment on work_order alone, and only the page shown is joined to its customer
    // and appliance. A broad term (a common surname) then costs a sort of integers, not
    // thousands of joins.
    let mut hits = Vec::new();
    let mut args: Vec<String> = Vec::new();
    for term in &terms {
        let (table, expr) = match term {
            Term::Trigram(e) => ("search_tri", e),
            Term::Short(e) => ("search_short", e),
        };
        args.push(expr.clone());
        hits.push(format!(
            "SELECT rowid FROM {table} WHERE {table} MATCH ?{}",
            args.len()
        ));
    }
    let sql = format!(
        "WITH hits(seq) AS ({hits}),
              page AS (SELECT seq FROM work_order WHERE seq IN hits
                       ORDER BY appointment_start DESC LIMIT {limit})
         SELECT {SUMMARY_COLUMNS} {SUMMARY_FROM} WHERE w.seq IN page
         ORDER BY w.appointment_start DESC",
        hits = hits.join(" INTERSECT "),
        limit = limit.min(500)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| summary(r, day))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Everything the work-order screen shows.
pub fn detail(conn: &Connection, id: &str, day: &Day) -> StoreResult<WorkOrderDetail> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS},
                c.id, a.id, a.brand, a.serial_no, a.purchase_date, a.proof_kind,
                a.proof_date, a.proof_sealed, w.reported_fault, w.notes, c.language
         {SUMMARY_FROM} WHERE w.id = ?1"
    );
    let found = conn
        .query_row(&sql, [id], |r| {
            let s = summary(r, day)?;
            let date = |i: usize| -> rusqlite::Result<Option<NaiveDate>> {
                r.get::<_, Option<String>>(i)?
                    .map(|t| t.parse().map_err(|_| bad("date")))
                    .transpose()
            };
            let customer = CustomerView {
                id: r.get(11)?,
                name: s.customer_name.clone(),
                phone: s.customer_phone.clone(),
                address: s.address.clone(),
                language: r.get(21)?,
            };
            let appliance = ApplianceView {
                id: r.get(12)?,
                category: s.appliance_category.clone(),
                brand: r.get(13)?,
                model: s.appliance_model.clone(),
                serial_no: r.get(14)?,
                purchase_date: date(15)?,
                proof: ProofOfPurchase {
                    kind: ProofKind::parse(&r.get::<_, String>(16)?)
                        .ok_or_else(|| bad("proof kind"))?,
                    date: date(17)?,
                    sealed: r.get(18)?,
                },
                contracts: Vec::new(),
            };
            Ok((
                s,
                customer,
                appliance,
                r.get::<_, String>(19)?,
                r.get::<_, String>(20)?,
            ))
        })
        .optional()?;
    let Some((summary, customer, mut appliance, reported_fault, notes)) = found else {
        return Err(StoreError::NotFound("work order"));
    };
    appliance.contracts = crate::contracts::for_appliance(conn, &appliance.id)?
        .into_iter()
        .map(|c| onsite_domain::view::ContractView {
            reference: c.reference,
            covers: c.covers,
            valid_from: c.valid_from,
            valid_to: c.valid_to,
        })
        .collect();

    let mut stmt = conn.prepare_cached(
        "SELECT from_status, to_status, at, reason FROM work_order_status
         WHERE work_order_id = ?1 ORDER BY id",
    )?;
    let status_history = stmt
        .query_map([id], |r| {
            Ok(StatusChangeView {
                from: r
                    .get::<_, Option<String>>(0)?
                    .map(|s| WorkOrderStatus::parse(&s).ok_or_else(|| bad("status")))
                    .transpose()?,
                to: WorkOrderStatus::parse(&r.get::<_, String>(1)?).ok_or_else(|| bad("status"))?,
                at: time_col(r, 2)?,
                reason: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;

    let mut stmt = conn.prepare_cached(
        "SELECT id, order_no, job_type, status, appointment_start, reported_fault
         FROM work_order WHERE appliance_id = ?1 AND id <> ?2 AND appointment_start < ?3
         ORDER BY appointment_start DESC LIMIT 20",
    )?;
    let earlier_visits = stmt
        .query_map(
            params![appliance.id, id, ts(summary.appointment_start)],
            |r| {
                Ok(VisitView {
                    work_order_id: r.get(0)?,
                    order_no: r.get(1)?,
                    job_type: JobType::parse(&r.get::<_, String>(2)?)
                        .ok_or_else(|| bad("job type"))?,
                    status: WorkOrderStatus::parse(&r.get::<_, String>(3)?)
                        .ok_or_else(|| bad("status"))?,
                    appointment_start: time_col(r, 4)?,
                    reported_fault: r.get(5)?,
                })
            },
        )?
        .collect::<Result<_, _>>()?;

    let content_hash = crate::documents::signed_content(conn, id)?.hash();
    let signatures = crate::documents::signatures(conn, id, &content_hash)?;
    let documents = crate::documents::documents(conn, id)?;
    let carry_backs = crate::carryback::for_work_order(conn, id, day.today())?;
    let other_device = crate::sync::other_device_facts(conn, id)?;
    let addenda = addenda(conn, id)?;
    Ok(WorkOrderDetail {
        addenda,
        other_device,
        carry_backs,
        next_statuses: summary.status.offered_to_technician().to_vec(),
        content_hash,
        signatures,
        documents,
        summary,
        customer,
        appliance,
        reported_fault,
        notes,
        status_history,
        earlier_visits,
    })
}

#[derive(Serialize)]
struct StatusPayload<'a> {
    work_order_id: &'a str,
    from: WorkOrderStatus,
    to: WorkOrderStatus,
    at: DateTime<Utc>,
    reason: Option<&'a str>,
}

fn current(tx: &Transaction, id: &str) -> StoreResult<(WorkOrderStatus, i64)> {
    let row: Option<(String, i64)> = tx
        .query_row(
            "SELECT status, version FROM work_order WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (status, version) = row.ok_or(StoreError::NotFound("work order"))?;
    let status = WorkOrderStatus::parse(&status)
        .ok_or_else(|| StoreError::Invalid("unknown status in the database".into()))?;
    Ok((status, version))
}

/// The technician moves a work order on: checks the transition, updates the order, stamps
/// the time in its history and writes one outbox operation, all in `tx`. Completing a job
/// that is on site takes the step the visit implies first: `in_progress` is stamped (and
/// synced as its own status change) at the same time, then `completed`.
pub fn change_status(
    tx: &Transaction,
    id: &str,
    to: WorkOrderStatus,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (from, _) = current(tx, id)?;
    let implied = from == WorkOrderStatus::OnSite && to == WorkOrderStatus::Completed;
    if !implied {
        from.check_transition(to, reason)?;
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    // A visit is completed on the customer's signature over the current content, or with
    // the technician's reason why there is none (customer absent, refused to sign).
    if to == WorkOrderStatus::Completed
        && reason.is_none()
        && crate::documents::valid_signature(tx, id)?.is_none()
    {
        return Err(StoreError::SignatureRequired);
    }
    if reason.is_some_and(|r| r.chars().count() > 500) {
        return Err(StoreError::Invalid(
            "reason longer than 500 characters".into(),
        ));
    }
    if implied {
        start_work(tx, id, now)?;
    }
    stamp(tx, id, to, reason, now)
}

/// The visit's work has started: a job that is `on_site` moves to `in_progress` (stamped
/// in its history at `now`, one status-change operation); any other status is left as it
/// is. Called by the visit's steps that imply it (accepting the quote, taking a part,
/// taking a payment, invoicing later) before they write their own operation. True when
/// the job moved.
pub fn start_work(tx: &Transaction, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let (from, _) = current(tx, id)?;
    if from != WorkOrderStatus::OnSite {
        return Ok(false);
    }
    stamp(tx, id, WorkOrderStatus::InProgress, None, now)?;
    Ok(true)
}

/// Writes one status change (checked by the caller): the outbox operation, the order and
/// its history.
fn stamp(
    tx: &Transaction,
    id: &str,
    to: WorkOrderStatus,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (from, version) = current(tx, id)?;
    let payload = StatusPayload {
        work_order_id: id,
        from,
        to,
        at: now,
        reason,
    };
    let op_id = outbox::append(
        tx,
        outbox::kind::CHANGE_STATUS,
        id,
        Some(version),
        &payload,
        now,
    )?;
    tx.execute(
        "UPDATE work_order SET status = ?2, updated_at = ?3, version = version + 1 WHERE id = ?1",
        params![id, to.as_str(), ts(now)],
    )?;
    tx.execute(
        "INSERT INTO work_order_status (work_order_id, from_status, to_status, at, reason, op_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, from.as_str(), to.as_str(), ts(now), reason, op_id],
    )?;
    Ok(())
}

/// The technician's notes on a work order (replaces them), with one outbox operation.
/// Refused once the job is completed or ended ([`StoreError::JobClosed`]): the notes are
/// part of what the customer signed; a note after completion is an addendum
/// ([`add_addendum`]). Clears the notes draft.
pub fn set_notes(tx: &Transaction, id: &str, notes: &str, now: DateTime<Utc>) -> StoreResult<()> {
    let (status, version) = current(tx, id)?;
    if matches!(
        status,
        WorkOrderStatus::Completed | WorkOrderStatus::UnableToComplete
    ) {
        return Err(StoreError::JobClosed);
    }
    if notes.chars().count() > 10_000 {
        return Err(StoreError::Invalid(
            "notes longer than 10,000 characters".into(),
        ));
    }
    outbox::append(
        tx,
        outbox::kind::EDIT_NOTES,
        id,
        Some(version),
        &serde_json::json!({ "work_order_id": id, "notes": notes }),
        now,
    )?;
    tx.execute(
        "UPDATE work_order SET notes = ?2, updated_at = ?3, version = version + 1 WHERE id = ?1",
        params![id, notes, ts(now)],
    )?;
    crate::drafts::clear(tx, id, &[crate::drafts::NOTES])?;
    Ok(())
}

/// The longest addendum, in characters.
pub const MAX_ADDENDUM_CHARS: usize = 2_000;

/// Adds a note to a completed (or ended) job: kept beside the job, outside the content
/// the customer signed (the signature stays valid), with one outbox operation
/// (`AddAddendum`). The text is trimmed and must be 1 to 2,000 characters. Refused on a
/// job that is still open (edit its notes) or cancelled. Clears the addendum draft.
pub fn add_addendum(
    tx: &Transaction,
    id: &str,
    text: &str,
    now: DateTime<Utc>,
) -> StoreResult<AddendumView> {
    let (status, version) = current(tx, id)?;
    if !matches!(
        status,
        WorkOrderStatus::Completed | WorkOrderStatus::UnableToComplete
    ) {
        return Err(StoreError::Invalid(format!(
            "a note after completion is for a completed job; this one is {}",
            status.as_str()
        )));
    }
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_ADDENDUM_CHARS {
        return Err(StoreError::Invalid(format!(
            "a note after completion must be 1 to {MAX_ADDENDUM_CHARS} characters"
        )));
    }
    let addendum_id = uuid::Uuid::now_v7().to_string();
    let op_id = outbox::append(
        tx,
        outbox::kind::ADD_ADDENDUM,
        id,
        Some(version),
        &serde_json::json!({
            "work_order_id": id,
            "addendum_id": addendum_id,
            "text": text,
            "at": ts(now),
        }),
        now,
    )?;
    tx.execute(
        "INSERT INTO work_order_addendum (id, work_order_id, text, at, op_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![addendum_id, id, text, ts(now), op_id],
    )?;
    crate::drafts::clear(tx, id, &[crate::drafts::ADDENDUM])?;
    Ok(AddendumView {
        id: addendum_id,
        text: text.to_string(),
        at: parse_ts(&ts(now))?,
    })
}

/// A job's addenda, oldest first.
pub fn addenda(conn: &Connection, id: &str) -> StoreResult<Vec<AddendumView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, text, at FROM work_order_addendum WHERE work_order_id = ?1
         ORDER BY at, rowid",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(AddendumView {
            id: r.get(0)?,
            text: r.get(1)?,
            at: time_col(r, 2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The technician this device belongs to: (id, name).
pub fn technician(conn: &Connection) -> StoreResult<Option<(String, String)>> {
    let id = match crate::settings::get(conn, crate::settings::TECHNICIAN_ID)? {
        Some(id) => id,
        None => return Ok(None),
    };
    Ok(conn
        .query_row(
            "SELECT id, name FROM technician WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}
