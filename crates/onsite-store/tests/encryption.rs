//! Data at rest (issue 11): a plain data folder left by the previous version (frozen in
//! tests/fixtures/plain-v14) is sealed at the first start of this one without losing
//! anything, and what is left on disk reads as nothing.

use std::path::{Path, PathBuf};

use onsite_domain::signoff::sha256_hex;
use onsite_store::{documents, Blobs, DataKey, Store, StoreError};
use rusqlite::types::Value;
use rusqlite::Connection;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plain-v14")
}

/// A copy of the frozen folder (the fixture itself is never written).
fn copy_fixture(to: &Path) {
    std::fs::create_dir_all(to.join("blobs")).unwrap();
    std::fs::copy(fixture().join("onsite.db"), to.join("onsite.db")).unwrap();
    for e in std::fs::read_dir(fixture().join("blobs")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join("blobs").join(e.file_name())).unwrap();
    }
}

type Rows = Vec<(String, Vec<Vec<Value>>)>;

/// Every row of every table (virtual tables' own rows through their shadow tables),
/// ordered, schema version with them.
fn everything(conn: &Connection) -> (i64, Rows) {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut all = Vec::new();
    for name in names {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{name}\"")).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<Vec<Value>> = stmt
            .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        all.push((name, rows));
    }
    let v = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    (v, all)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_plain_folder_of_the_previous_version_is_sealed_without_losing_anything() {
    let tmp = tempfile::tempdir().unwrap();
    copy_fixture(tmp.path());
    let path = tmp.path().join("onsite.db");
    let plain_bytes = std::fs::read(&path).unwrap();
    assert!(
        contains(&plain_bytes, "张志强".as_bytes()),
        "the fixture is plain"
    );
    let (plain_version, plain_rows) = everything(&Connection::open(&path).unwrap());
    assert_eq!(plain_version, 14);
    assert!(plain_rows
        .iter()
        .any(|(t, r)| t == "work_order" && !r.is_empty()));

    let key = DataKey::random();
    let store = Store::open(&path, &key).unwrap();
    // The plain rows are all there (the schema then moves on to this version's).
    let upgraded = everything(store.conn()).1;
    for (table, rows) in &plain_rows {
        let now = upgraded
            .iter()
            .find(|(t, _)| t == table)
            .unwrap_or_else(|| panic!("{table} gone"));
        if rows.first().map(Vec::len) == now.1.first().map(Vec::len) {
            assert_eq!(&now.1, rows, "{table}");
        } else {
            assert_eq!(now.1.len(), rows.len(), "{table} (new columns)");
        }
    }
    drop(store);

    let sealed = std::fs::read(&path).unwrap();
    assert_ne!(&sealed[..16], b"SQLite format 3\0");
    for needle in [
        "张志强".as_bytes(),
        b"13501234567",
        "西直门外大街".as_bytes(),
    ] {
        assert!(!contains(&sealed, needle));
    }
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".sealing")), "{names:?}");

    // Its blobs: sealed, each still found by its content address, the plain ones gone.
    let blobs = Blobs::new(tmp.path().join("blobs"), &key);
    let shas: Vec<String> = std::fs::read_dir(fixture().join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(blobs.seal_plain_leftovers().unwrap(), shas.len());
    for sha in &shas {
        let plain = std::fs::read(fixture().join("blobs").join(sha)).unwrap();
        assert_eq!(documents::read_blob(&blobs, sha).unwrap(), plain);
        assert_eq!(&sha256_hex(&plain), sha);
        assert!(!tmp.path().join("blobs").join(sha).exists());
    }
    for e in std::fs::read_dir(tmp.path().join("blobs")).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        assert!(!contains(&bytes, "张志强".as_bytes()));
    }

    // Opened again with the key: the same; with another: refused, left alone.
    let again = Store::open(&path, &key).unwrap();
    assert_eq!(everything(again.conn()).1, upgraded);
    drop(again);
    let err = Store::open(&path, &DataKey::random()).unwrap_err();
    assert!(matches!(err, StoreError::Sealed { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), sealed);
}

#[test]
fn a_half_made_sealed_copy_from_a_crash_is_replaced_and_the_plain_file_kept_until_then() {
    let tmp = tempfile::tempdir().unwrap();
    copy_fixture(tmp.path());
    let path = tmp.path().join("onsite.db");
    // A crash during the first attempt left a partial copy beside the plain file.
    std::fs::write(tmp.path().join("onsite.db.sealing"), b"half a sealed file").unwrap();
    let (_, plain_rows) = everything(&Connection::open(&path).unwrap());
    let key = DataKey::random();
    let store = Store::open(&path, &key).unwrap();
    let wo = |rows: &Rows| rows.iter().find(|(t, _)| t == "outbox").unwrap().1.len();
    assert_eq!(wo(&everything(store.conn()).1), wo(&plain_rows));
    assert!(!tmp.path().join("onsite.db.sealing").exists());
}

#[test]
fn a_plain_file_with_an_unfinished_wal_keeps_what_the_wal_held() {
    let tmp = tempfile::tempdir().unwrap();
    copy_fixture(tmp.path());
    let path = tmp.path().join("onsite.db");
    // The previous version crashed with its last write still in the WAL.
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    conn.execute(
        "INSERT INTO setting (key, value) VALUES ('written_last', 'in the wal')",
        [],
    )
    .unwrap();
    // Keep a copy of the file pair as a crash would leave it.
    let crash = tmp.path().join("crash");
    std::fs::create_dir_all(&crash).unwrap();
    for f in ["onsite.db", "onsite.db-wal"] {
        std::fs::copy(tmp.path().join(f), crash.join(f)).unwrap();
    }
    drop(conn);
    let path = crash.join("onsite.db");
    let store = Store::open(&path, &DataKey::random()).unwrap();
    let v: String = store
        .conn()
        .query_row(
            "SELECT value FROM setting WHERE key = 'written_last'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, "in the wal");
    assert!(!contains(
        &std::fs::read(crash.join("onsite.db-wal")).unwrap_or_default(),
        b"in the wal"
    ));
}
