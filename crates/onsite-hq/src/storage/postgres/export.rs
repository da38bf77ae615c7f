//! Exports: completed jobs with their facts, technician-day facts (read only).

use chrono::{DateTime, Utc};
use onsite_api::{ExportJob, OpKind, OpPayload, WorkOrder};

use super::client::Db;
use super::facts::{load_facts, CARRY_BACK_KINDS};
use super::work_orders::{load_addenda, technician_notes, work_order_from_row, WO_COLS};
use super::{conv, get, get_json, get_time, get_uuid, ts, PostgresStorage};
use crate::carryback::CarryBackFact;
use crate::storage::Result;

pub(super) fn export_completed(
    db: &PostgresStorage,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<ExportJob>> {
    let mut conn = db.conn()?;
    let mut tx = conn.read_transaction()?;
    let orders: Vec<WorkOrder> = tx
        .query(
            &format!(
                "SELECT {WO_COLS} FROM work_orders w \
                 WHERE w.status IN ('completed', 'unable_to_complete') \
                 AND ($1::text IS NULL OR w.completed_at >= $1) ORDER BY w.completed_at, w.id"
            ),
            &[&since.map(ts)],
        )?
        .iter()
        .map(work_order_from_row)
        .collect::<Result<_>>()?;
    let mut jobs = Vec::with_capacity(orders.len());
    for work_order in orders {
        let facts = load_facts(&mut tx, work_order.id)?;
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
        let addenda = load_addenda(&mut tx, work_order.id)?;
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
    db: &PostgresStorage,
    query: &onsite_api::TechnicianDayQuery,
) -> Result<Vec<onsite_api::TechnicianDayFact>> {
    // An expense is superseded by one recorded later (by the time the technician
    // recorded it, not the order it arrived in: two devices, or a late sync) for the
    // same technician and day; the same time is decided by arrival. SQLite compares
    // julianday() of the payloads' `at`; here the same instants as timestamptz (an `at`
    // that is not a time compares as unknown in both, and supersedes nothing).
    let at = |t: &str| {
        format!(
            "(CASE WHEN {t}.kind = 'record_expense' THEN \
             onsite_try_timestamptz({t}.payload::jsonb ->> 'at') END)"
        )
    };
    let (g_at, f_at) = (at("g"), at("f"));
    db.conn()?
        .query(
            &format!(
                "SELECT f.day, f.fact_id, f.op_id, f.technician_id, f.device_id, f.kind, \
                 f.payload, f.received_at, \
                 f.kind = 'record_expense' AND EXISTS (SELECT 1 FROM technician_day_facts g \
                   WHERE g.technician_id = f.technician_id AND g.day = f.day \
                   AND g.kind = f.kind AND ({g_at} > {f_at} \
                     OR ({g_at} = {f_at} AND g.seq > f.seq))) \
                 FROM technician_day_facts f \
                 WHERE ($1::text IS NULL OR f.day >= $1) AND ($2::text IS NULL OR f.day <= $2) \
                 AND ($3::text IS NULL OR f.technician_id = $3) \
                 ORDER BY f.day, f.technician_id, f.seq"
            ),
            &[
                &query.from.map(|d| d.to_string()),
                &query.to.map(|d| d.to_string()),
                &query.technician_id.map(|t| t.to_string()),
            ],
        )?
        .iter()
        .map(|r| {
            let day: String = get(r, 0)?;
            let kind: String = get(r, 5)?;
            Ok(onsite_api::TechnicianDayFact {
                day: day.parse().map_err(|_| conv("day"))?,
                fact_id: get_uuid(r, 1)?,
                op_id: get_uuid(r, 2)?,
                technician_id: get_uuid(r, 3)?,
                device_id: get_uuid(r, 4)?,
                kind: OpKind::parse(&kind).ok_or_else(|| conv("op kind"))?,
                payload: get_json(r, 6)?,
                received_at: get_time(r, 7)?,
                superseded: get::<Option<bool>>(r, 8)?.unwrap_or(false),
            })
        })
        .collect()
}
