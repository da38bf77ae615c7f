//! Drafts (issue 10): text the technician typed but has not saved yet, kept on this device
//! across closing the app and never synced. One draft per job and field; saving the real
//! thing clears the matching draft in the same transaction (`workorders::set_notes`,
//! `workorders::add_addendum`, `visit::record_diagnosis`, `visit::record_feedback`).

use chrono::{DateTime, Utc};
use onsite_domain::view::DraftView;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::{parse_ts, ts, StoreError, StoreResult};

pub const NOTES: &str = "notes";
pub const ADDENDUM: &str = "addendum";
pub const FAULT: &str = "fault";
pub const DIAGNOSIS_NOTES: &str = "diagnosis_notes";
pub const FEEDBACK_COMMENT: &str = "feedback_comment";

/// The fields a draft may be kept for.
pub const FIELDS: [&str; 5] = [NOTES, ADDENDUM, FAULT, DIAGNOSIS_NOTES, FEEDBACK_COMMENT];

/// The longest draft, in characters.
pub const MAX_DRAFT_CHARS: usize = 10_000;

/// Keeps `text` as the draft of `field` on a job (replacing the previous one); empty text
/// deletes the draft. Refuses an unknown field, an unknown job and text above 10,000
/// characters.
pub fn save(
    tx: &Transaction,
    work_order_id: &str,
    field: &str,
    text: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if !FIELDS.contains(&field) {
        return Err(StoreError::Invalid(format!(
            "a draft is kept for {} only",
            FIELDS.join(", ")
        )));
    }
    if text.chars().count() > MAX_DRAFT_CHARS {
        return Err(StoreError::Invalid(format!(
            "a draft is at most {MAX_DRAFT_CHARS} characters"
        )));
    }
    let known = tx
        .query_row(
            "SELECT 1 FROM work_order WHERE id = ?1",
            [work_order_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !known {
        return Err(StoreError::NotFound("work order"));
    }
    if text.is_empty() {
        clear(tx, work_order_id, &[field])?;
        return Ok(());
    }
    tx.execute(
        "INSERT INTO draft (work_order_id, field, text, saved_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (work_order_id, field) DO UPDATE SET text = excluded.text,
             saved_at = excluded.saved_at",
        params![work_order_id, field, text, ts(now)],
    )?;
    Ok(())
}

/// Deletes the drafts of `fields` on a job (the real thing was saved).
pub fn clear(tx: &Transaction, work_order_id: &str, fields: &[&str]) -> StoreResult<()> {
    for field in fields {
        tx.execute(
            "DELETE FROM draft WHERE work_order_id = ?1 AND field = ?2",
            params![work_order_id, field],
        )?;
    }
    Ok(())
}

/// A job's drafts, by field name.
pub fn for_job(conn: &Connection, work_order_id: &str) -> StoreResult<Vec<DraftView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT field, text, saved_at FROM draft WHERE work_order_id = ?1 ORDER BY field",
    )?;
    let rows = stmt
        .query_map([work_order_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(field, text, saved_at)| {
            Ok(DraftView {
                field,
                text,
                saved_at: parse_ts(&saved_at)?,
            })
        })
        .collect()
}
