//! Opening the data file: one lock, one connection, pragmas once, numbered migrations.

use std::fs::{File, TryLockError};
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::crypto::DataKey;
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
    /// Opens (creating if absent) the data file at `path`, sealed with `key` (SQLCipher),
    /// and brings its schema up to date. A plain database from an earlier version is
    /// sealed first ([`seal_plain`]). Never deletes or overwrites an existing file: a file
    /// that is not an Onsite database, is damaged, does not open with this key, is in use,
    /// or comes from a newer version is refused with an error that names it.
    pub fn open(path: &Path, key: &DataKey) -> StoreResult<Store> {
        Store::open_with(path, Some(key))
    }

    /// Opens a data file without sealing it, as versions before issue 11 did. Only for
    /// the benchmarks that measure what sealing costs, and for tests that make an old
    /// plain file: the app never calls it.
    #[doc(hidden)]
    pub fn open_unsealed(path: &Path) -> StoreResult<Store> {
        Store::open_with(path, None)
    }

    fn open_with(path: &Path, key: Option<&DataKey>) -> StoreResult<Store> {
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
        if let Some(key) = key {
            if read_header(path)? == Header::Plain {
                seal_plain(path, key)?;
            }
        }
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
        let conn = match key {
            Some(key) => open_sealed(path, key)?,
            None => Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| classify(e, path))?,
        };
        let mut store = Store {
            conn,
            path: Some(path.to_path_buf()),
            _lock: Some(lock),
        };
        store.init().map_err(|e| match e {
            StoreError::Sqlite(e) => sealed_verdict(e, path),
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
        self.conn
            .set_prepared_statement_cache_capacity(STATEMENT_CACHE);
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

#[derive(Debug, PartialEq, Eq)]
enum Header {
    /// No file, or an empty one.
    Empty,
    /// A plain SQLite database (an earlier version's, or another program's).
    Plain,
    /// Anything else: sealed (SQLCipher has no plain header), or not a database at all.
    Other,
}

fn read_header(path: &Path) -> StoreResult<Header> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Header::Empty),
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
    Ok(if read == 0 {
        Header::Empty
    } else if &head == SQLITE_HEADER {
        Header::Plain
    } else {
        Header::Other
    })
}

/// A connection to `path` with the key given first, as SQLCipher requires, and a page
/// cache large enough that Today and search read each page (and decrypt it) once.
fn open_sealed(path: &Path, key: &DataKey) -> StoreResult<Connection> {
    let conn = connect_sealed(path, key, false)?;
    conn.execute_batch(&format!(
        "PRAGMA cache_size = -{CACHE_KIB}; PRAGMA temp_store = MEMORY;"
    ))?;
    Ok(conn)
}

/// A connection to a sealed data file with the key given first, as SQLCipher requires, and
/// checked (SQLCipher checks the key at the first read: a file sealed with another key, or
/// a damaged one, fails here). No lock and no migration: the store's own opening adds
/// those; checkers and support tools that read a device's file (the torture test's
/// invariant checker, the E2E harness), and tests that make a sealed file by hand, use it
/// as it is. `read_only` opens it so.
pub fn connect_sealed(path: &Path, key: &DataKey, read_only: bool) -> StoreResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(e, path))?;
    let raw = key.sqlcipher_raw_key();
    conn.execute_batch(&zeroize::Zeroizing::new(format!(
        "PRAGMA key = \"{}\";",
        raw.as_str()
    )))
    .map_err(|e| classify(e, path))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| sealed_verdict(e, path))?;
    Ok(conn)
}

/// Whether the file at `path` holds data that only opens with a key: present, not empty,
/// and not a plain SQLite file (an earlier version's, which is sealed at its first open).
pub fn holds_sealed_data(path: &Path) -> bool {
    matches!(read_header(path), Ok(Header::Other))
}

/// Prepared statements kept per connection (`prepare_cached`; rusqlite's default is 16).
/// Applying a pull page runs some 40 different statements per job and reference item: with
/// fewer kept, each would be parsed and planned again for every row (docs/sync-benchmarks.md,
/// "First pull").
const STATEMENT_CACHE: usize = 256;

/// Page cache of a sealed store, in KiB: each page read from the file is decrypted, so
/// pages kept in memory are read for free (docs/data-at-rest.md, measured).
const CACHE_KIB: i64 = 32 * 1024;

/// SQLite's verdict on a sealed file: "not a database" there means the key does not open
/// it (another device's file) or it is damaged; SQLCipher cannot tell the two apart.
fn sealed_verdict(e: rusqlite::Error, path: &Path) -> StoreError {
    match classify(e, path) {
        StoreError::Corrupt { path } => StoreError::Sealed { path },
        other => other,
    }
}

/// Seals a plain database of an earlier version in place: exported with
/// `sqlcipher_export()` into `<file>.sealing`, which is opened with the key and checked
/// (SQLCipher's integrity check, SQLite's, the schema version and every table's row
/// count against the plain file) before it replaces the plain file by a rename. A crash
/// at any point leaves either the plain file (sealed again at the next start) or the
/// sealed one. A plain file that is not Onsite's or is too new is refused untouched.
pub fn seal_plain(path: &Path, key: &DataKey) -> StoreResult<()> {
    let verdict = |e: rusqlite::Error| classify(e, path);
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let sealing = sidecar(path, "sealing");
    match std::fs::remove_file(&sealing) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let counts = {
        let plain = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(verdict)?;
        plain
            .busy_timeout(std::time::Duration::from_secs(2))
            .map_err(verdict)?;
        check_identity(&plain, path).map_err(|e| match e {
            StoreError::Sqlite(e) => verdict(e),
            other => other,
        })?;
        let version: i64 = plain
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(verdict)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        // Everything in the WAL into the main file, so the export sees it all.
        plain
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(verdict)?;
        crate::private_files::open_options()
            .write(true)
            .create_new(true)
            .open(&sealing)
            .map_err(io)?;
        let raw = key.sqlcipher_raw_key();
        let exported = (|| -> rusqlite::Result<()> {
            plain.execute(
                "ATTACH DATABASE ?1 AS sealed KEY ?2",
                rusqlite::params![sealing.to_string_lossy(), raw.as_str()],
            )?;
            plain.query_row("SELECT sqlcipher_export('sealed')", [], |_| Ok(()))?;
            plain.pragma_update(Some("sealed"), "user_version", version)?;
            plain.pragma_update(Some("sealed"), "application_id", APPLICATION_ID)?;
            plain.execute_batch("DETACH DATABASE sealed")?;
            Ok(())
        })();
        if let Err(e) = exported {
            let _ = std::fs::remove_file(&sealing);
            return Err(verdict(e));
        }
        table_counts(&plain).map_err(verdict)?
    };
    let checked = (|| -> StoreResult<()> {
        let sealed = open_sealed(&sealing, key)?;
        let cipher: Vec<String> = sealed
            .prepare("PRAGMA cipher_integrity_check")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let quick: String = sealed.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        let version: i64 = sealed.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let ok = cipher.is_empty()
            && quick == "ok"
            && table_counts(&sealed)? == counts
            && version == counts.version;
        if !ok {
            return Err(StoreError::Invalid(
                "the sealed copy of the data file did not match it; the plain file is kept".into(),
            ));
        }
        sealed.pragma_update(None, "journal_mode", "WAL")?;
        Ok(())
    })();
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&sealing);
        return Err(e);
    }
    if let Ok(f) = File::open(&sealing) {
        f.sync_all().map_err(io)?;
    }
    // The plain file's WAL and shared memory went with its last connection; any left
    // (a crash before) is empty after the checkpoint above.
    for ext in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(ext);
        match std::fs::remove_file(PathBuf::from(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    std::fs::rename(&sealing, path).map_err(io)?;
    if let Some(dir) = path.parent().and_then(|d| File::open(d).ok()) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
struct Counts {
    version: i64,
    tables: Vec<(String, i64)>,
}

fn table_counts(conn: &Connection) -> rusqlite::Result<Counts> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let n: i64 = conn.query_row(
            &format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\"")),
            [],
            |r| r.get(0),
        )?;
        tables.push((name, n));
    }
    let version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok(Counts { version, tables })
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

    fn key() -> DataKey {
        DataKey::from_array([7; 32])
    }

    #[cfg(unix)]
    #[test]
    fn a_new_data_file_its_wal_and_its_folder_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let path = dir.join("onsite.db");
        let mut store = Store::open(&path, &key()).unwrap();
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
        let upgraded = Store::open(&old, &key()).unwrap();
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
        let store = Store::open(&dir.path().join("a.db"), &key()).unwrap();
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
        let err = Store::open(&path, &key()).unwrap_err();
        assert!(matches!(err, StoreError::Sealed { .. }), "{err:?}");
        assert!(err.to_string().contains("onsite.db"));
        assert_eq!(std::fs::read(&path).unwrap(), garbage);
    }

    #[test]
    fn damaged_database_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onsite.db");
        drop(Store::open(&path, &key()).unwrap());
        let mut bytes = std::fs::read(&path).unwrap();
        // wreck page 1 (the schema), past SQLCipher's salt
        for b in bytes.iter_mut().skip(100).take(3000) {
            *b = 0xA5;
        }
        std::fs::write(&path, &bytes).unwrap();
        let err = Store::open(&path, &key()).unwrap_err();
        assert!(matches!(err, StoreError::Sealed { .. }), "{err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn the_file_is_sealed_and_another_key_does_not_open_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onsite.db");
        {
            let mut store = Store::open(&path, &key()).unwrap();
            store
                .write(|tx| crate::settings::set(tx, "probe", "张志强 13501234567"))
                .unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_ne!(&bytes[..16], SQLITE_HEADER, "no plain header");
        assert!(!bytes.windows(11).any(|w| w == b"13501234567"));
        let err = Store::open(&path, &DataKey::random()).unwrap_err();
        assert!(matches!(err, StoreError::Sealed { .. }), "{err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "left alone");
        // without any key, plain SQLite sees no database
        let plain = Connection::open(&path).unwrap();
        assert!(plain
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r
                .get::<_, i64>(0))
            .is_err());
        drop(plain);
        let store = Store::open(&path, &key()).unwrap();
        assert_eq!(
            crate::settings::get(store.conn(), "probe")
                .unwrap()
                .as_deref(),
            Some("张志强 13501234567")
        );
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
        let err = Store::open(&path, &key()).unwrap_err();
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
        {
            // a plain file of a newer (unknown) plain version: not sealed, not touched
            let mut conn = Connection::open(&path).unwrap();
            migrate(&mut conn, &path, SCHEMA_VERSION).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
                .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path, &key()).unwrap_err();
        match err {
            StoreError::TooNew {
                found, supported, ..
            } => {
                assert_eq!((found, supported), (SCHEMA_VERSION + 5, SCHEMA_VERSION))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert!(!sidecar(&path, "sealing").exists());

        // and a sealed one of a newer version
        let sealed = dir.path().join("sealed.db");
        drop(Store::open(&sealed, &key()).unwrap());
        {
            let conn = open_sealed(&sealed, &key()).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
        }
        let err = Store::open(&sealed, &key()).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err:?}");
    }

    #[test]
    fn second_open_of_the_same_file_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onsite.db");
        let first = Store::open(&path, &key()).unwrap();
        let err = Store::open(&path, &key()).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
        drop(first);
        Store::open(&path, &key()).expect("free again once the first is closed");
    }
}
