//! Retention (issue 11): a closed job whose every record reached head office, and is behind
//! head office's restore horizon, is removed from the device some days after it closed, with its blobs and search entries. Its history stays
//! at head office. See docs/retention.md.
//!
//! [`sweep`] removes rows in the caller's transaction and returns the blobs that nothing
//! references any more; the caller deletes their files after the commit
//! ([`remove_blob_files`]). A crash in between leaves orphan files, which
//! [`sweep_orphan_files`] removes on a later run.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction};

use crate::{settings, ts, StoreResult};

pub use onsite_api::retention::DEFAULT_DAYS;

/// The `setting` key holding the days head office last told (absent: [`DEFAULT_DAYS`]).
pub const DAYS_SETTING: &str = "retention_days";
/// The `setting` key holding when the last sweep ran (RFC 3339).
pub const LAST_RUN_SETTING: &str = "retention_last_run";
/// A blob file nothing references is removed only when older than this: a file written a
/// moment ago may belong to a row not committed yet (a signature being saved).
pub const ORPHAN_GRACE: Duration = Duration::days(1);

/// What a sweep removed: counts only (never customer data, so it may be logged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Jobs removed.
    pub jobs: usize,
    /// Customers removed (no job of theirs remained).
    pub customers: usize,
    /// Blobs (SHA-256) no remaining row references: their files go after the commit.
    pub blobs: Vec<String>,
}

/// Remembers the days head office told in its hello (`None`: it did not say, the device
/// uses [`DEFAULT_DAYS`]).
pub fn note_days(tx: &Transaction, days: Option<u32>) -> StoreResult<()> {
    match days {
        Some(d) => settings::set(tx, DAYS_SETTING, &d.to_string()),
        None => settings::unset(tx, DAYS_SETTING),
    }
}

/// The days in force: what head office last told, else [`DEFAULT_DAYS`]. A value outside
/// head office's range (a damaged setting) is brought within it.
pub fn days(conn: &Connection) -> StoreResult<u32> {
    use onsite_api::retention::{MAX_DAYS, MIN_DAYS};
    Ok(settings::get(conn, DAYS_SETTING)?
        .and_then(|v| v.parse::<u32>().ok())
        .map(|d| d.clamp(MIN_DAYS, MAX_DAYS))
        .unwrap_or(DEFAULT_DAYS))
}

/// Whether the daily sweep is due: none ran in the last 24 hours (or the clock went back).
pub fn due(conn: &Connection, now: DateTime<Utc>) -> StoreResult<bool> {
    let last = settings::get(conn, LAST_RUN_SETTING)?.and_then(|v| crate::parse_ts(&v).ok());
    Ok(match last {
        None => true,
        Some(t) => t > now || now - t >= Duration::days(1),
    })
}

/// The jobs a sweep at `now` would remove, oldest first: on an enrolled device (a device
/// that never synced holds the demo or nothing head office has), closed (completed, unable
/// to complete or cancelled) more than `days` days before `now` by their last status
/// change; none of their records left in the outbox: each was acknowledged by head office
/// and then forgotten behind its restore horizon ([`crate::sync::prune_acknowledged`]), so
/// no restore of head office can need it again (a record only acknowledged could still have
/// to be sent again after a restore, and the device would no longer have it; an office that
/// never declares its restore horizon keeps its jobs on the devices); no carry-back still
/// out; no draft waiting. And all of their appliance's
/// jobs go together: while one of them stays (open, recent, unsent), the appliance's
/// earlier visits stay with it, as the technician sees them on that job.
pub fn removable(conn: &Connection, days: u32, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
    let cutoff = ts(now - Duration::days(i64::from(days)));
    let mut stmt = conn.prepare(
        "WITH closed AS (
           SELECT w.id, w.seq, w.appliance_id FROM work_order w
           WHERE EXISTS (SELECT 1 FROM sync_state WHERE id = 1)
             AND w.status IN ('completed', 'unable_to_complete', 'cancelled')
             AND coalesce((SELECT max(s.at) FROM work_order_status s
                           WHERE s.work_order_id = w.id), w.updated_at) < ?1
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.entity_id = w.id)
             AND NOT EXISTS (SELECT 1 FROM carry_back c
                             WHERE c.work_order_id = w.id AND c.state <> 'returned')
             AND NOT EXISTS (SELECT 1 FROM draft d WHERE d.work_order_id = w.id))
         SELECT c.id FROM closed c
         WHERE NOT EXISTS (SELECT 1 FROM work_order o
                           WHERE o.appliance_id = c.appliance_id
                             AND o.id NOT IN (SELECT id FROM closed))
         ORDER BY c.seq",
    )?;
    let ids = stmt.query_map([cutoff], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

/// Removes every job [`removable`] at `now`, with everything hanging off it (visit, quotes,
/// parts used, payments, signatures, documents, carry-backs, addenda, drafts, status history,
/// its outbox records and their results, pulled facts, review flags, search entries), and
/// the customers and appliances no remaining job refers to. Van stock and its movements,
/// stock-takes and expenses stay (a movement only forgets which job it was for). Returns
/// the counts and the blobs nothing references any more, whose rows in `blob` and
/// `visit_attachment` went too: delete their files after the commit.
pub fn sweep(tx: &Transaction, days: u32, now: DateTime<Utc>) -> StoreResult<RetentionReport> {
    let mut report = RetentionReport::default();
    let mut blobs = BTreeSet::new();
    let mut customers = BTreeSet::new();
    let mut appliances = BTreeSet::new();
    for id in removable(tx, days, now)? {
        let (customer, appliance) = remove_job(tx, &id, &mut blobs)?;
        customers.insert(customer);
        appliances.insert(appliance);
        report.jobs += 1;
    }
    for a in &appliances {
        tx.execute(
            "DELETE FROM appliance WHERE id = ?1
             AND NOT EXISTS (SELECT 1 FROM work_order WHERE appliance_id = ?1)",
            [a],
        )?;
    }
    for c in &customers {
        report.customers += tx.execute(
            "DELETE FROM customer WHERE id = ?1
             AND NOT EXISTS (SELECT 1 FROM work_order WHERE customer_id = ?1)
             AND NOT EXISTS (SELECT 1 FROM appliance WHERE customer_id = ?1)
             AND NOT EXISTS (SELECT 1 FROM payment WHERE customer_id = ?1)",
            [c],
        )?;
    }
    for sha in blobs {
        if !referenced(tx, &sha)? {
            tx.execute("DELETE FROM visit_attachment WHERE sha256 = ?1", [&sha])?;
            tx.execute("DELETE FROM blob WHERE sha256 = ?1", [&sha])?;
            report.blobs.push(sha);
        }
    }
    settings::set(tx, LAST_RUN_SETTING, &ts(now))?;
    Ok(report)
}

/// The statements that remove one job's rows, in an order the foreign keys accept.
const REMOVE_JOB: &[&str] = &[
    "DELETE FROM visit_deposit_reversal
     WHERE quote_id IN (SELECT id FROM visit_quote WHERE work_order_id = ?1)",
    "DELETE FROM part_return WHERE work_order_id = ?1
        OR part_use_id IN (SELECT id FROM visit_part_use WHERE work_order_id = ?1)",
    "UPDATE stock_movement SET work_order_id = NULL WHERE work_order_id = ?1",
    "DELETE FROM visit_part_use WHERE work_order_id = ?1",
    "DELETE FROM payment WHERE work_order_id = ?1",
    "DELETE FROM visit_quote WHERE work_order_id = ?1",
    "DELETE FROM visit_diagnosis_photo
     WHERE diagnosis_id IN (SELECT id FROM visit_diagnosis WHERE work_order_id = ?1)",
    "DELETE FROM visit_diagnosis WHERE work_order_id = ?1",
    "DELETE FROM visit_invoice_later WHERE work_order_id = ?1",
    "DELETE FROM visit_feedback WHERE work_order_id = ?1",
    "DELETE FROM signature WHERE work_order_id = ?1",
    "DELETE FROM document WHERE work_order_id = ?1",
    "DELETE FROM carry_back_photo
     WHERE carry_back_id IN (SELECT id FROM carry_back WHERE work_order_id = ?1)",
    "DELETE FROM carry_back_event
     WHERE carry_back_id IN (SELECT id FROM carry_back WHERE work_order_id = ?1)",
    "DELETE FROM carry_back WHERE work_order_id = ?1",
    "DELETE FROM work_order_addendum WHERE work_order_id = ?1",
    "DELETE FROM draft WHERE work_order_id = ?1",
    "DELETE FROM unsent_file WHERE work_order_id = ?1
        OR op_id IN (SELECT op_id FROM outbox WHERE entity_id = ?1)",
    "DELETE FROM sync_waiting WHERE op_id IN (SELECT op_id FROM outbox WHERE entity_id = ?1)",
    "DELETE FROM op_result WHERE op_id IN (SELECT op_id FROM outbox WHERE entity_id = ?1)",
    "DELETE FROM outbox WHERE entity_id = ?1",
    "DELETE FROM pulled_fact WHERE work_order_id = ?1",
    "DELETE FROM review_flag WHERE work_order_id = ?1",
    "DELETE FROM pulled_work_order WHERE id = ?1",
    "DELETE FROM work_order_status WHERE work_order_id = ?1",
];

/// The blobs a job's rows name (before they go).
const JOB_BLOBS: &str = "
    SELECT png_sha256 FROM signature WHERE work_order_id = ?1
    UNION SELECT sha256 FROM document WHERE work_order_id = ?1
    UNION SELECT taken_png_sha256 FROM carry_back WHERE work_order_id = ?1
    UNION SELECT returned_png_sha256 FROM carry_back
          WHERE work_order_id = ?1 AND returned_png_sha256 IS NOT NULL
    UNION SELECT p.sha256 FROM carry_back_photo p JOIN carry_back c ON c.id = p.carry_back_id
          WHERE c.work_order_id = ?1
    UNION SELECT p.sha256 FROM visit_diagnosis_photo p JOIN visit_diagnosis d
          ON d.id = p.diagnosis_id WHERE d.work_order_id = ?1
    UNION SELECT sha256 FROM unsent_file WHERE work_order_id = ?1";

/// Removes one job; returns its customer and appliance ids (removed later if unused) and
/// adds the blobs it named to `blobs`.
pub(crate) fn remove_job(
    tx: &Transaction,
    id: &str,
    blobs: &mut BTreeSet<String>,
) -> StoreResult<(String, String)> {
    let (seq, customer, appliance): (i64, String, String) = tx.query_row(
        "SELECT seq, customer_id, appliance_id FROM work_order WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    {
        let mut stmt = tx.prepare_cached(JOB_BLOBS)?;
        let shas = stmt.query_map([id], |r| r.get::<_, String>(0))?;
        for sha in shas {
            blobs.insert(sha?.to_ascii_lowercase());
        }
    }
    for sql in REMOVE_JOB {
        tx.prepare_cached(sql)?.execute([id])?;
    }
    tx.execute("DELETE FROM search_tri WHERE rowid = ?1", [seq])?;
    tx.execute("DELETE FROM search_short WHERE rowid = ?1", [seq])?;
    tx.execute("DELETE FROM work_order WHERE id = ?1", [id])?;
    Ok((customer, appliance))
}

/// Whether any row still names the blob: a job's signature, document, carry-back or
/// diagnosis photo, a file not sent yet, or a remaining outbox record's payload.
pub fn referenced(conn: &Connection, sha256: &str) -> StoreResult<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 WHERE
                EXISTS (SELECT 1 FROM signature WHERE png_sha256 = ?1)
             OR EXISTS (SELECT 1 FROM document WHERE sha256 = ?1)
             OR EXISTS (SELECT 1 FROM carry_back
                        WHERE taken_png_sha256 = ?1 OR returned_png_sha256 = ?1)
             OR EXISTS (SELECT 1 FROM carry_back_photo WHERE sha256 = ?1)
             OR EXISTS (SELECT 1 FROM visit_diagnosis_photo WHERE sha256 = ?1)
             OR EXISTS (SELECT 1 FROM unsent_file WHERE sha256 = ?1)
             OR EXISTS (SELECT 1 FROM outbox WHERE instr(payload, ?1) > 0)",
            [sha256],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Deletes the files of blobs a committed [`sweep`] released. A file already gone is fine;
/// returns how many were deleted. Never fails: a file left behind is swept as an orphan.
pub fn remove_blob_files(blobs: &crate::Blobs, shas: &[String]) -> usize {
    shas.iter()
        .filter_map(|sha| blobs.path(sha).ok())
        .filter(|path| std::fs::remove_file(path).is_ok())
        .count()
}

/// Deletes blob files (sealed, named by their keyed name, directly in the blobs folder)
/// that no row references and that are older than [`ORPHAN_GRACE`]: what a crash between
/// a sweep's commit and its file deletions left behind. Other files and folders are left
/// alone. Returns how many.
pub fn sweep_orphan_files(
    conn: &Connection,
    blobs: &crate::Blobs,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let Ok(entries) = std::fs::read_dir(blobs.dir()) else {
        return Ok(0);
    };
    let kept: BTreeSet<std::ffi::OsString> = known_shas(conn)?
        .iter()
        .filter_map(|sha| blobs.path(sha).ok()?.file_name().map(|n| n.to_owned()))
        .collect();
    let before = std::time::SystemTime::from(now - ORPHAN_GRACE);
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(text) = name.to_str() else { continue };
        if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || meta.modified().map_or(true, |m| m > before) || kept.contains(&name) {
            continue;
        }
        if std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Every content address a row names: the blob and attachment tables, what [`referenced`]
/// looks at, and any SHA-256 written in a remaining outbox record's payload. (A file's
/// name no longer tells its address, so the orphan sweep asks the other way round.)
fn known_shas(conn: &Connection) -> StoreResult<BTreeSet<String>> {
    let mut shas = BTreeSet::new();
    let mut stmt = conn.prepare(
        "SELECT sha256 FROM blob UNION SELECT sha256 FROM visit_attachment
         UNION SELECT png_sha256 FROM signature UNION SELECT sha256 FROM document
         UNION SELECT taken_png_sha256 FROM carry_back
         UNION SELECT returned_png_sha256 FROM carry_back WHERE returned_png_sha256 IS NOT NULL
         UNION SELECT sha256 FROM carry_back_photo UNION SELECT sha256 FROM visit_diagnosis_photo
         UNION SELECT sha256 FROM unsent_file",
    )?;
    for sha in stmt.query_map([], |r| r.get::<_, String>(0))? {
        shas.insert(sha?.to_ascii_lowercase());
    }
    let mut stmt = conn.prepare("SELECT payload FROM outbox")?;
    for payload in stmt.query_map([], |r| r.get::<_, String>(0))? {
        let payload = payload?;
        let bytes = payload.as_bytes();
        let mut run = 0;
        for (i, b) in bytes.iter().enumerate() {
            if b.is_ascii_hexdigit() {
                run += 1;
            } else {
                run = 0;
            }
            let next_hex = bytes.get(i + 1).is_some_and(|n| n.is_ascii_hexdigit());
            if run == 64 && !next_hex {
                shas.insert(payload[i + 1 - 64..=i].to_ascii_lowercase());
            }
        }
    }
    Ok(shas)
}
