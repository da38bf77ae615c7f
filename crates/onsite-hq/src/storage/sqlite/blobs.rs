//! Blobs: photos and signatures by their SHA-256 (`blobs`).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use uuid::Uuid;

use super::{parse_time, ts, SqliteStorage};
use crate::storage::{blob_quota_wait, BlobStored, Result};

pub(super) fn has_blob(db: &SqliteStorage, sha256: &str) -> Result<bool> {
    let conn = db.reader();
    Ok(conn
        .query_row(
            "SELECT 1 FROM blobs WHERE sha256 = ?1",
            [sha256],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

pub(super) fn put_blob(
    db: &SqliteStorage,
    sha256: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<bool> {
    let conn = db.writer();
    let n = conn.execute(
        "INSERT OR IGNORE INTO blobs (sha256, size, data, stored_at) VALUES (?1, ?2, ?3, ?4)",
        params![sha256, bytes.len() as i64, bytes, ts(now)],
    )?;
    Ok(n == 1)
}

pub(super) fn get_blob(db: &SqliteStorage, sha256: &str) -> Result<Option<Vec<u8>>> {
    let conn = db.reader();
    Ok(conn
        .query_row("SELECT data FROM blobs WHERE sha256 = ?1", [sha256], |r| {
            r.get(0)
        })
        .optional()?)
}

pub(super) fn put_device_blob(
    db: &SqliteStorage,
    device_id: Uuid,
    sha256: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
    bytes_per_day: u64,
) -> Result<BlobStored> {
    let mut conn = db.writer();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let present = tx
        .query_row(
            "SELECT 1 FROM blobs WHERE sha256 = ?1",
            [sha256],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if present {
        return Ok(BlobStored::Present);
    }
    let device = device_id.to_string();
    let (used, oldest): (i64, Option<String>) = tx.query_row(
        "SELECT COALESCE(SUM(size), 0), MIN(stored_at) FROM blobs \
         WHERE device_id = ?1 AND stored_at > ?2",
        params![device, ts(now - chrono::Duration::hours(24))],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if used as u64 + bytes.len() as u64 > bytes_per_day {
        return Ok(BlobStored::OverQuota {
            retry_after: blob_quota_wait(oldest.as_deref().and_then(parse_time), now),
        });
    }
    tx.execute(
        "INSERT INTO blobs (sha256, size, data, stored_at, device_id) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![sha256, bytes.len() as i64, bytes, ts(now), device],
    )?;
    tx.commit()?;
    Ok(BlobStored::Created)
}
