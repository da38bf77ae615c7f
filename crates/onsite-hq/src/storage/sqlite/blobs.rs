//! Blobs: photos and signatures by their SHA-256 (`blobs`).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::{ts, SqliteStorage};
use crate::storage::Result;

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
