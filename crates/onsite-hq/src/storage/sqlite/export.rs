//! Exports: completed jobs with their facts, technician-day facts (read only).

use chrono::{DateTime, Utc};
use onsite_api::{ExportJob, OpKind, OpPayload, WorkOrder};
use rusqlite::params;

use super::facts::{load_facts, CARRY_BACK_KINDS};
use super::work_orders::{load_addenda, technician_notes, work_order_from_row, WO_COLS};
use super::{conv, get_json, get_time, get_uuid, ts, SqliteStorage};
use crate::carryback::CarryBackFact;
use crate::storage::{Result, StorageError};
use uuid::Uuid;

pub(super) fn export_completed(
    db: &SqliteStorage,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<ExportJob>> {
    export_completed_page(db, since, None, None)
}

/// The export from after the job of work order `after` (keyset on completion time and id:
/// only the page is read), at most `limit` jobs (all when none).
pub(super) fn export_completed_page(
    db: &SqliteStorage,
    since: Option<DateTime<Utc>>,
    after: Option<Uuid>,
    limit: Option<usize>,
) -> Result<Vec<ExportJob>> {
    let mut conn = db.reader();
    let tx = conn.transaction()?;
    if let Some(a) = after {
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM work_orders WHERE id = ?1 \
             AND status IN ('completed', 'unable_to_complete'))",
            [a.to_string()],
            |r| r.get(0),
        )?;
        if !known {
            return Err(StorageError::Invalid(
                "the cursor names no job of this export".into(),
            ));
        }
    }
    let orders: Vec<WorkOrder> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT {WO_COLS} FROM work_orders w \
             WHERE w.status IN ('completed', 'unable_to_complete') \
             AND (?1 IS NULL OR w.completed_at >= ?1) \
             AND (?2 IS NULL OR (w.completed_at, w.id) > \
                  (SELECT a.completed_at, a.id FROM work_orders a WHERE a.id = ?2)) \
             ORDER BY w.completed_at, w.id LIMIT ?3"
        ))?;
        let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let rows = stmt.query_map(
            rusqlite::params![since.map(ts), after.map(|a| a.to_string()), limit],
            work_order_from_row,
        )?;
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

pub(super) fn export_technician_days(
    db: &SqliteStorage,
    query: &onsite_api::TechnicianDayQuery,
) -> Result<Vec<onsite_api::TechnicianDayFact>> {
    let conn = db.reader();
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
