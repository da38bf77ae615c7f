//! Lost device (issue 11): when head office marks this device lost, the sync first sends
//! everything it can, then [`erase`] removes every piece of customer data here: every work
//! order with everything hanging off it (through retention's per-job removal), customers,
//! appliances and their contracts, payments, outbox records and their results, pulled
//! facts and orders, review flags, drafts, files not sent, search entries and every blob;
//! the caller then rewrites the database without the deleted content ([`scrub`]) and
//! deletes every blob file ([`remove_all_blob_files`]). What stays is the
//! technician's and the company's, not a customer's: van stock and its movements,
//! stock-takes, expenses, fee tables, prices, the catalogue, the company profile, settings
//! and the enrolment (its token is revoked by head office once told).
//!
//! The erase is recorded ([`ERASED_SETTING`]: counts and time, never customer data) so that
//! the sync screen says so and a report head office did not receive is sent again.

use std::path::Path;

use chrono::{DateTime, Utc};
use onsite_api::ErasedReport;
use rusqlite::{Connection, Transaction};

use crate::{settings, StoreResult};

/// The `setting` key holding the [`ErasedReport`] (JSON) once this device erased its
/// customer data.
pub const ERASED_SETTING: &str = "lost_erased";
/// The `setting` key set (RFC 3339) once head office acknowledged the report.
pub const REPORTED_SETTING: &str = "lost_erased_reported";

/// Tables emptied after every job went (what no job names any more, or names no job).
const EMPTY: &[&str] = &[
    "DELETE FROM visit_deposit_reversal",
    "DELETE FROM part_return WHERE work_order_id IS NOT NULL OR part_use_id IS NOT NULL",
    "UPDATE stock_movement SET work_order_id = NULL WHERE work_order_id IS NOT NULL",
    "DELETE FROM payment",
    "DELETE FROM service_contract",
    "DELETE FROM appliance",
    "DELETE FROM draft",
    "DELETE FROM unsent_file",
    "DELETE FROM sync_waiting",
    "DELETE FROM op_result",
    "DELETE FROM outbox",
    "DELETE FROM pulled_fact",
    "DELETE FROM review_flag",
    "DELETE FROM pulled_work_order",
    "DELETE FROM visit_diagnosis_photo",
    "DELETE FROM visit_attachment",
    "DELETE FROM blob",
    "DELETE FROM search_tri",
    "DELETE FROM search_short",
];

/// Removes every piece of customer data in the caller's transaction and records that it
/// did (counts only). `files` is filled in by the caller after deleting the files.
pub fn erase(tx: &Transaction, now: DateTime<Utc>) -> StoreResult<ErasedReport> {
    let count = |sql: &str| -> StoreResult<u64> {
        Ok(tx.query_row(sql, [], |r| r.get::<_, i64>(0))?.max(0) as u64)
    };
    let mut report = ErasedReport {
        erased_at: now,
        records: count("SELECT count(*) FROM outbox")?,
        unsent: count("SELECT count(*) FROM outbox WHERE state = 'pending'")?,
        ..ErasedReport::default()
    };
    let ids: Vec<String> = {
        let mut stmt = tx.prepare("SELECT id FROM work_order ORDER BY seq")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut blobs = std::collections::BTreeSet::new();
    for id in &ids {
        crate::retention::remove_job(tx, id, &mut blobs)?;
        report.work_orders += 1;
    }
    for sql in EMPTY {
        tx.execute(sql, [])?;
    }
    report.customers = tx.execute("DELETE FROM customer", [])? as u64;
    // Nothing pulled is left: enrolled again, the device fetches its jobs from scratch.
    tx.execute(
        "UPDATE sync_state SET cursor = NULL, known_commit = NULL, refetching = 0",
        [],
    )?;
    record(tx, &report)?;
    Ok(report)
}

/// After [`erase`] committed: rewrites the database file without the free pages the
/// deleted rows left (SQLite keeps deleted content in them) and empties the write-ahead
/// log, so that a copy of the files no longer holds what was erased. Must run outside a
/// transaction.
pub fn scrub(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch("VACUUM;")?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// Records (or updates, once the files are counted) what was erased.
pub fn record(tx: &Transaction, report: &ErasedReport) -> StoreResult<()> {
    let text = serde_json::to_string(report).unwrap_or_default();
    settings::set(tx, ERASED_SETTING, &text)
}

/// What this device erased, when it did.
pub fn erased(conn: &Connection) -> StoreResult<Option<ErasedReport>> {
    Ok(settings::get(conn, ERASED_SETTING)?.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Whether head office acknowledged the report.
pub fn reported(conn: &Connection) -> StoreResult<bool> {
    Ok(settings::get(conn, REPORTED_SETTING)?.is_some())
}

/// Notes that head office acknowledged the report.
pub fn mark_reported(tx: &Transaction, now: DateTime<Utc>) -> StoreResult<()> {
    settings::set(tx, REPORTED_SETTING, &crate::ts(now))
}

/// Forgets the erase (the device was enrolled again).
pub fn forget(tx: &Transaction) -> StoreResult<()> {
    settings::unset(tx, ERASED_SETTING)?;
    settings::unset(tx, REPORTED_SETTING)
}

/// The folder inside the blobs folder where the app puts copies of documents opened for
/// viewing (`<sha256>.pdf`, for the system's viewer).
pub const VIEW_DIR: &str = "view";

/// Deletes every blob file (named by a SHA-256, directly in `dir`), whatever references
/// it: signatures, photos, documents; and every copy of a document opened for viewing
/// ([`VIEW_DIR`]). Other files and folders stay. Returns how many files went.
pub fn remove_all_blob_files(dir: &Path) -> usize {
    let is_blob = |name: &str| name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit());
    let remove = |dir: &Path, keep: &dyn Fn(&str) -> bool| -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .filter(|e| keep(&e.file_name().to_string_lossy()))
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| std::fs::remove_file(e.path()).is_ok())
            .count()
    };
    let view = dir.join(VIEW_DIR);
    let copies = remove(&view, &|name: &str| {
        name.strip_suffix(".pdf").is_some_and(is_blob) || is_blob(name)
    });
    // Gone when empty (a file of another kind keeps it).
    let _ = std::fs::remove_dir(&view);
    remove(dir, &is_blob) + copies
}
