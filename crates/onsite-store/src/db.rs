//! Opening the data file: one lock, one connection, pragmas once, numbered migrations.

use std::fs::{File, TryLockError};
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::{StoreError, StoreResult};

/// Numbered migrations, embedded in the binary. Each runs in its own transaction and sets
/// `user_version` to its number. Never edit one that has shipped: add a new file.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../migrations/0001_initial.sql"),
    ),
    ("0002_search", include_str!("../migrations/0002_search.sql")),
    ("0003_visit", include_str!("../migrations/0003_visit.sql")),
    ("0004_sync", include_str!("../migrations/0004_sync.sql")),
    (
        "0005_documents",
        include_str!("../migrations/0005_documents.sql"),
    ),
    (
        "0006_carry_back",
        include_str!("../migrations/0006_carry_back.sql"),
    ),
    (
        "0007_contracts",
        include_str!("../migrations/0007_contracts.sql"),
    ),
    (
        "0008_parts_issue",
        include_str!("../migrations/0008_parts_issue.sql"),
    ),
    (
        "0009_sync_checkpoint",
        include_str!("../migrations/0009_sync_checkpoint.sql"),
    ),
    (
        "0010_unsent_file",
        include_str!("../migrations/0010_unsent_file.sql"),
    ),
    (
        "0011_addendum",
        include_str!("../migrations/0011_addendum.sql"),
    ),
    ("0012_draft", include_str!("../migrations/0012_draft.sql")),
    (
        "0013_document_paper",
        include_str!("../migrations/0013_document_paper.sql"),
    ),
    (
        "0014_component_categories",
        include_str!("../migrations/0014_component_categories.sql"),
    ),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// `PRAGMA application_id` of an Onsite database ("ONST").
pub const APPLICATION_ID: i64 = 0x4F4E_5354;

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The open store. Holds the only connection to the file and an OS lock on a sidecar
/// `<file>.lock`, so a second instance cannot open the same file.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
    _lock: Option<File>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if absent) the data file at `path` and brings its schema up to date.
    /// Never deletes or overwrites an existing file: a file that is not an Onsite database,
    /// is damaged, is in use, or comes from a newer version is refused with an error that
    /// names it.
    pub fn open(path: &Path) -> StoreResult<Store> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_files::create_dir(dir).map_err(io)?;
        }
        let lock_path = sidecar(path, "lock");
        let lock = crate::private_files::open_options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: path.to_path_buf(),
                })
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        check_header(path)?;
        // A new file is made owner-only before SQLite opens it; SQLite gives its -wal and
        // -shm the mode of the database file.
        match crate::private_files::open_options()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(e, path))?;
        let mut store = Store {
            conn,
            path: Some(path.to_path_buf()),
            _lock: Some(lock),
        };
        store.init().map_err(|e| match e {
            StoreError::Sqlite(e) => classify(e, path),
            other => other,
        })?;
        Ok(store)
    }

    /// A private in-memory store (tests, benchmarks).
    pub fn open_in_memory() -> StoreResult<Store> {
        let mut store = Store {
            conn: Connection::open_in_memory()?,
            path: None,
            _lock: None,
        };
        store.init()?;
        Ok(store)
    }

    fn init(&mut self) -> StoreResult<()> {
        set_pragmas(&self.conn)?;
        let path = self
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(":memory:"));
        check_identity(&self.conn, &path)?;
        migrate(&mut self.conn, &path, SCHEMA_VERSION)
    }

    /// The data file, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// For readers.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in one IMMEDIATE transaction: all of it is written, or none.
    pub fn write<T>(&mut self, f: impl FnOnce(&Transaction) -> StoreResult<T>) -> StoreResult<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}

/// `<file>.<ext>` beside the data file.
fn sidecar(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(ext);
    path.with_file_name(name)
}

/// A non-empty file that does not start with SQLite's header is not ours to touch.
fn check_header(path: &Path) -> StoreResult<()> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StoreError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut head = [0u8; 16];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
    if read == 0 || &head == SQLITE_HEADER {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            path: path.to_path_buf(),
        })
    }
}

fn set_pragmas(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(std::time::Duration::from_secs(2))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if mode != "wal" && mode != "memory" {
        return Err(StoreError::Invalid(format!(
            "journal mode is {mode}, not wal"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// A SQLite file that belongs to another program is refused, not migrated.
fn check_identity(conn: &Connection, path: &Path) -> StoreResult<()> {
    let app_id: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    let ours = app_id == APPLICATION_ID || (app_id == 0 && version == 0 && objects == 0);
    if ours {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            path: path.to_path_buf(),
        })
    }
}

/// Brings the schema to `target`, one migration per transaction.
pub(crate) fn migrate(conn: &mut Connection, path: &Path, target: i64) -> StoreResult<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, (_name, sql)) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(current as usize)
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.commit()?;
    }
    Ok(())
}

/// Maps SQLite's own verdicts on a file to the store's errors.
pub fn classify(e: rusqlite::Error, path: &Path) -> StoreError {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::NotADatabase | C::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
        },
        Some(C::DatabaseBusy | C::DatabaseLocked) => StoreError::Locked {
            path: path.to_path_buf(),
        },
        Some(C::CannotOpen | C::ReadOnly | C::PermissionDenied | C::SystemIoFailure) => {
            StoreError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            }
        }
        _ => StoreError::Sqlite(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_new_data_file_its_wal_and_its_folder_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let path = dir.join("onsite.db");
        let mut store = Store::open(&path).unwrap();
        store
            .write(|tx| crate::settings::set(tx, "probe", "x"))
            .unwrap();
        for f in ["onsite.db-wal", "onsite.db-shm", "onsite.db.lock"] {
            assert!(dir.join(f).exists(), "{f}");
        }
        assert_eq!(crate::private_files::too_open(&dir), vec![]);
    }

    fn schema(conn: &Connection) -> Vec<(String, String, String)> {
        let mut stmt = conn
            .prepare(
                "SELECT type, name, coalesce(sql, '') FROM sqlite_master \
                 WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn upgrading_the_first_schema_matches_a_fresh_one() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.db");
        {
            let mut conn = Connection::open(&old).unwrap();
            migrate(&mut conn, &old, 1).unwrap();
            let v: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(v, 1);
            // data written under schema 1 survives the upgrade
            conn.execute(
                "INSERT INTO setting (key, value) VALUES ('probe', 'kept')",
                [],
            )
            .unwrap();
        }
        let upgraded = Store::open(&old).unwrap();
        let fresh = Store::open_in_memory().unwrap();
        assert_eq!(schema(upgraded.conn()), schema(fresh.conn()));
        assert!(schema(fresh.conn())
            .iter()
            .any(|(_, n, _)| n == "search_tri"));
        let kept: String = upgraded
            .conn()
            .query_row("SELECT value FROM setting WHERE key = 'probe'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, "kept");
        let v: i64 = upgraded
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn pragmas_are_set() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).unwrap();
        let c = store.conn();
        let mode: String = c
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let sync: i64 = c
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        let fk: i64 = c
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
    }

    #[test]
    fn garbage_file_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onsite.db");
        let garbage = b"this is a shopping list, not a database\n".repeat(100);
        std::fs::write(&path, &garbage).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("onsite.db"));
        assert_eq!(std::fs::read(&path).unwrap(), garbage);
    }

    #[test]
    fn damaged_database_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onsite.db");
        drop(Store::open(&path).unwrap());
        let mut bytes = std::fs::read(&path).unwrap();
        // keep the header, wreck the rest of page 1 (the schema)
        for b in bytes.iter_mut().skip(100).take(3000) {
            *b = 0xA5;
        }
        std::fs::write(&path, &bytes).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn another_programs_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE recipes (name TEXT)")
                .unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        let conn = Connection::open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "the other program's table is untouched");
    }

    #[test]
    fn newer_schema_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onsite.db");
        drop(Store::open(&path).unwrap());
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
                .unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        match err {
            StoreError::TooNew {
                found, supported, ..
            } => {
                assert_eq!((found, supported), (SCHEMA_VERSION + 5, SCHEMA_VERSION))
            }
            other => panic!("{other:?}"),
        }
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION + 5);
    }

    #[test]
    fn second_open_of_the_same_file_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onsite.db");
        let first = Store::open(&path).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
        drop(first);
        Store::open(&path).expect("free again once the first is closed");
    }
}
