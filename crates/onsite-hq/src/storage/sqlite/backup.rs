//! An online backup of the SQLite database (`onsite-hq backup`, docs/hq-operations.md):
//! `VACUUM INTO` a new file from a read-only connection, which reads one consistent
//! snapshot while the server goes on writing (WAL), then the copy is opened and checked.
//! Restoring is putting such a file in place of the database while head office is
//! stopped; devices then notice what the backup lacks by their checkpoints (docs/sync.md).

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::DB_FILE;
use crate::storage::{Result, StorageError};

/// What a backup holds, to print and to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// Its schema version.
    pub schema_version: i64,
    /// The newest commit in it (devices that know a newer one are reset after a restore).
    pub newest_commit: i64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Backs up the database in `data_dir` into the new file `to` (refused if it exists, so no
/// earlier backup is overwritten), and checks the copy.
pub fn backup(data_dir: &Path, to: &Path) -> Result<BackupSummary> {
    let db = data_dir.join(DB_FILE);
    if !db.exists() {
        return Err(StorageError::NotFound);
    }
    if to.exists() {
        return Err(StorageError::Conflict(format!(
            "{} exists: a backup never replaces a file",
            to.display()
        )));
    }
    let source = Connection::open_with_flags(
        &db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    source.busy_timeout(std::time::Duration::from_secs(30))?;
    let target = to
        .to_str()
        .ok_or_else(|| StorageError::Invalid("the backup's path is not UTF-8".into()))?;
    source.execute("VACUUM INTO ?1", [target])?;
    drop(source);
    check(to)
}

/// Opens a backup read-only and checks it: SQLite's quick check, the schema version and
/// the newest commit.
pub fn check(path: &Path) -> Result<BackupSummary> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let quick: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if quick != "ok" {
        return Err(StorageError::Internal(format!(
            "the backup fails its check: {quick}"
        )));
    }
    let schema_version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let newest_commit: i64 =
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM commits", [], |r| {
            r.get(0)
        })?;
    let bytes = std::fs::metadata(path)
        .map_err(|e| StorageError::Internal(format!("cannot read the backup's size: {e}")))?
        .len();
    Ok(BackupSummary {
        schema_version,
        newest_commit,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::Storage;

    #[test]
    fn a_backup_taken_while_open_holds_what_was_committed_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let live = SqliteStorage::open_in_dir(dir.path()).unwrap();
        live.create_technician(uuid::Uuid::now_v7(), "甲", chrono::Utc::now())
            .unwrap();
        let head = live.max_seq().unwrap();
        let to = dir.path().join("backup.sqlite3");
        let b = backup(dir.path(), &to).unwrap();
        assert_eq!(b.newest_commit, head);
        assert!(b.schema_version >= 9);
        assert!(b.bytes > 0);
        // Later commits are not in it.
        live.create_technician(uuid::Uuid::now_v7(), "乙", chrono::Utc::now())
            .unwrap();
        assert_eq!(check(&to).unwrap().newest_commit, head);
        // A second backup to the same file is refused, the first kept.
        assert!(matches!(
            backup(dir.path(), &to),
            Err(StorageError::Conflict(_))
        ));
        assert_eq!(check(&to).unwrap().newest_commit, head);
        // Restored (copied in place of a database), it opens as head office's database.
        let restored = tempfile::tempdir().unwrap();
        std::fs::copy(&to, restored.path().join(DB_FILE)).unwrap();
        let back = SqliteStorage::open_in_dir(restored.path()).unwrap();
        assert_eq!(back.list_technicians().unwrap().len(), 1);
        assert_eq!(back.server_id().unwrap(), live.server_id().unwrap());
    }
}
