//! The day-end summary's facts (004 §9): jobs closed today, parts used and returned,
//! money taken by method, carry-backs still out, expenses. Read-only.

use chrono::NaiveDate;
use onsite_domain::view::CarryBackView;
use onsite_domain::WorkOrderStatus;
use rusqlite::{params, Connection};

use crate::visit::{self, Expense, VisitError};
use crate::workorders::Day;
use crate::{ts, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct ClosedJob {
    pub order_no: String,
    pub customer_name: String,
    /// The technician's diagnosis, or the reported fault when none was recorded.
    pub summary: String,
    pub status: WorkOrderStatus,
    pub carried_back: bool,
    /// What the job costs the customer now (its balance's amount due).
    pub due_minor: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartLine {
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub quantity: i64,
    pub serial: Option<String>,
    pub order_no: Option<String>,
    /// For returns: "unused" or "old".
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TakenPayment {
    pub order_no: String,
    pub method: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DayEnd {
    pub date: NaiveDate,
    pub jobs: Vec<ClosedJob>,
    pub parts_used: Vec<PartLine>,
    pub parts_returned: Vec<PartLine>,
    pub payments: Vec<TakenPayment>,
    pub carry_backs_open: Vec<CarryBackView>,
    pub expense: Option<Expense>,
}

fn visit_err(e: VisitError) -> StoreError {
    match e {
        VisitError::Store(e) => e,
        other => StoreError::Invalid(other.to_string()),
    }
}

/// Everything the technician did on `day`.
pub fn collect(conn: &Connection, day: &Day) -> StoreResult<DayEnd> {
    let (start, end) = (ts(day.start), ts(day.end));
    let mut stmt = conn.prepare(
        "SELECT DISTINCT w.id, w.order_no, c.name, w.reported_fault, w.status
         FROM work_order_status s JOIN work_order w ON w.id = s.work_order_id
              JOIN customer c ON c.id = w.customer_id
         WHERE s.at >= ?1 AND s.at < ?2
           AND s.to_status IN ('completed', 'unable_to_complete')
         ORDER BY w.order_no",
    )?;
    let rows: Vec<(String, String, String, String, String)> = stmt
        .query_map(params![start, end], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut jobs = Vec::new();
    for (id, order_no, customer_name, reported, status) in rows {
        let fault_found: Option<String> = conn
            .query_row(
                "SELECT fault_found FROM visit_diagnosis WHERE work_order_id = ?1
                 ORDER BY seq DESC LIMIT 1",
                [&id],
                |r| r.get(0),
            )
            .ok();
        let carried_back: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM carry_back WHERE work_order_id = ?1)",
            [&id],
            |r| r.get(0),
        )?;
        jobs.push(ClosedJob {
            order_no,
            customer_name,
            summary: fault_found.filter(|f| !f.is_empty()).unwrap_or(reported),
            status: WorkOrderStatus::parse(&status)
                .ok_or_else(|| StoreError::Invalid("unknown status in the database".into()))?,
            carried_back,
            due_minor: visit::job_balance(conn, &id).map_err(visit_err)?.due_minor,
        });
    }

    let parts = |sql: &str| -> StoreResult<Vec<PartLine>> {
        let mut stmt = conn.prepare(sql)?;
        let lines = stmt
            .query_map(params![start, end], |r| {
                Ok(PartLine {
                    part_no: r.get(0)?,
                    name_zh: r.get(1)?,
                    name_en: r.get(2)?,
                    quantity: r.get(3)?,
                    serial: r.get(4)?,
                    order_no: r.get(5)?,
                    kind: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(lines)
    };
    let parts_used = parts(
        "SELECT p.part_no, p.name_zh, p.name_en, u.quantity, u.serial_fitted, w.order_no, NULL
         FROM visit_part_use u JOIN part p ON p.id = u.part_id
              JOIN work_order w ON w.id = u.work_order_id
         WHERE u.at >= ?1 AND u.at < ?2 ORDER BY u.seq",
    )?;
    let parts_returned = parts(
        "SELECT p.part_no, p.name_zh, p.name_en, r.quantity, r.serial, w.order_no, r.kind
         FROM part_return r JOIN part p ON p.id = r.part_id
              LEFT JOIN work_order w ON w.id = r.work_order_id
         WHERE r.at >= ?1 AND r.at < ?2 ORDER BY r.seq",
    )?;
    let mut stmt = conn.prepare(
        "SELECT w.order_no, pay.method, pay.amount_minor
         FROM payment pay JOIN work_order w ON w.id = pay.work_order_id
         WHERE pay.at >= ?1 AND pay.at < ?2 ORDER BY pay.seq",
    )?;
    let payments = stmt
        .query_map(params![start, end], |r| {
            Ok(TakenPayment {
                order_no: r.get(0)?,
                method: r.get(1)?,
                amount_minor: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(DayEnd {
        date: day.today(),
        jobs,
        parts_used,
        parts_returned,
        payments,
        carry_backs_open: crate::carryback::open_items(conn, day.today())?,
        expense: visit::expense(conn, day.today()).map_err(visit_err)?,
    })
}
