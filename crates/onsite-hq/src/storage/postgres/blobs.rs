//! Blobs: photos and signatures by their SHA-256 (`blobs`, BYTEA), in the database so that
//! every instance serves every blob.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::client::Db;
use super::{get, parse_time, ts, PostgresStorage};
use crate::storage::{blob_quota_wait, BlobStored, Result};

pub(super) fn has_blob(db: &PostgresStorage, sha256: &str) -> Result<bool> {
    Ok(db
        .conn()?
        .query_opt("SELECT 1 FROM blobs WHERE sha256 = $1", &[&sha256])?
        .is_some())
}

pub(super) fn put_blob(
    db: &PostgresStorage,
    sha256: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<bool> {
    // Two instances storing the same blob at once: one inserts, the other finds the key
    // taken and does nothing (the bytes are the same, the hash says so).
    let n = db.conn()?.execute(
        "INSERT INTO blobs (sha256, size, data, stored_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (sha256) DO NOTHING",
        &[&sha256, &(bytes.len() as i64), &bytes, &ts(now)],
    )?;
    Ok(n == 1)
}

pub(super) fn get_blob(db: &PostgresStorage, sha256: &str) -> Result<Option<Vec<u8>>> {
    Ok(db
        .conn()?
        .query_opt("SELECT data FROM blobs WHERE sha256 = $1", &[&sha256])?
        .map(|r| r.get::<_, Vec<u8>>(0)))
}

pub(super) fn put_device_blob(
    db: &PostgresStorage,
    device_id: Uuid,
    sha256: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
    bytes_per_day: u64,
) -> Result<BlobStored> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    let device = device_id.to_string();
    // One device's uploads one at a time across instances (a lock of its own, not the
    // write lock: blobs take no commit number), so two at once cannot both slip under.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
        &[&device],
    )?;
    if tx
        .query_opt("SELECT 1 FROM blobs WHERE sha256 = $1", &[&sha256])?
        .is_some()
    {
        return Ok(BlobStored::Present);
    }
    let row = tx.query_one(
        "SELECT COALESCE(SUM(size), 0)::BIGINT, MIN(stored_at) FROM blobs \
         WHERE device_id = $1 AND stored_at > $2",
        &[&device, &ts(now - chrono::Duration::hours(24))],
    )?;
    let used: i64 = get(&row, 0)?;
    let oldest: Option<String> = get(&row, 1)?;
    if used as u64 + bytes.len() as u64 > bytes_per_day {
        return Ok(BlobStored::OverQuota {
            retry_after: blob_quota_wait(oldest.as_deref().and_then(parse_time), now),
        });
    }
    // Another device storing the same blob at once: one inserts, the other finds the key
    // taken (the bytes are the same, the hash says so) and is charged nothing.
    let n = tx.execute(
        "INSERT INTO blobs (sha256, size, data, stored_at, device_id) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
        &[&sha256, &(bytes.len() as i64), &bytes, &ts(now), &device],
    )?;
    tx.commit()?;
    Ok(if n == 1 {
        BlobStored::Created
    } else {
        BlobStored::Present
    })
}
