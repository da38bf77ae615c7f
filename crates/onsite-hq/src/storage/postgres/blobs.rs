//! Blobs: photos and signatures by their SHA-256 (`blobs`, BYTEA), in the database so that
//! every instance serves every blob.

use chrono::{DateTime, Utc};

use super::client::Db;
use super::{ts, PostgresStorage};
use crate::storage::Result;

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
