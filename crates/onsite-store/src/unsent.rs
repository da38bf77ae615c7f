//! Files that could not be sent (issue 9, hole 8): a photo an op referenced that this
//! device no longer has, whose bytes no longer match, or that head office would refuse as
//! too large. The op goes without it, so no later sync would bring it: the sync records
//! it here ([`record`]) and the sync screen ([`view`]) and the day-end check
//! ([`crate::sync::day_end`], counted as unsent) show it until the technician dismisses
//! it ([`dismiss`]). Migration 0010.

use chrono::{DateTime, Utc};
use onsite_domain::view_sync::{UnsentFileKind, UnsentFileView, UnsentWhy};
use rusqlite::{params, Connection, Transaction};

use crate::{ts, StoreError, StoreResult};

/// One file that could not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsentFile {
    pub sha256: String,
    /// The outbox op that referenced it.
    pub op_id: String,
    pub kind: UnsentFileKind,
    pub why: UnsentWhy,
    /// The job, when the op is about one.
    pub work_order_id: Option<String>,
}

fn kind_str(k: UnsentFileKind) -> &'static str {
    match k {
        UnsentFileKind::Photo => "photo",
        UnsentFileKind::Signature => "signature",
        UnsentFileKind::Document => "document",
    }
}

fn why_str(w: UnsentWhy) -> &'static str {
    match w {
        UnsentWhy::Missing => "missing",
        UnsentWhy::Damaged => "damaged",
        UnsentWhy::TooLarge => "too_large",
    }
}

fn bad(what: &str) -> StoreError {
    StoreError::Invalid(format!("unknown unsent-file {what} in the database"))
}

/// Records (or, when already recorded, touches) a file that could not be sent. A file
/// dismissed earlier and found unsendable again is shown again.
pub fn record(tx: &Transaction, f: &UnsentFile, now: DateTime<Utc>) -> StoreResult<()> {
    if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::Invalid("not a SHA-256".into()));
    }
    tx.execute(
        "INSERT INTO unsent_file (sha256, op_id, kind, work_order_id, why, first_at, last_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (sha256, op_id) DO UPDATE SET
             why = excluded.why, last_at = excluded.last_at, dismissed_at = NULL",
        params![
            f.sha256.to_ascii_lowercase(),
            f.op_id,
            kind_str(f.kind),
            f.work_order_id,
            why_str(f.why),
            ts(now)
        ],
    )?;
    Ok(())
}

/// The technician saw it (and sent the file another way, or accepts it is lost): it no
/// longer counts as unsent. Returns whether a row changed.
pub fn dismiss(
    tx: &Transaction,
    sha256: &str,
    op_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    Ok(tx.execute(
        "UPDATE unsent_file SET dismissed_at = ?3
         WHERE sha256 = ?1 AND op_id = ?2 AND dismissed_at IS NULL",
        params![sha256, op_id, ts(now)],
    )? == 1)
}

/// The files not sent and not dismissed, oldest first, with their job's order number.
pub fn view(conn: &Connection) -> StoreResult<Vec<UnsentFileView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.sha256, u.op_id, u.kind, u.why, u.work_order_id, w.order_no, u.first_at,
                u.last_at
         FROM unsent_file u LEFT JOIN work_order w ON w.id = u.work_order_id
         WHERE u.dismissed_at IS NULL ORDER BY u.first_at, u.sha256, u.op_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (sha256, op_id, kind, why, work_order_id, order_no, first_at, last_at) = row?;
        out.push(UnsentFileView {
            sha256,
            op_id,
            kind: match kind.as_str() {
                "photo" => UnsentFileKind::Photo,
                "signature" => UnsentFileKind::Signature,
                "document" => UnsentFileKind::Document,
                _ => return Err(bad("kind")),
            },
            why: match why.as_str() {
                "missing" => UnsentWhy::Missing,
                "damaged" => UnsentWhy::Damaged,
                "too_large" => UnsentWhy::TooLarge,
                _ => return Err(bad("reason")),
            },
            work_order_id,
            order_no,
            first_at,
            last_at,
        });
    }
    Ok(out)
}

/// How many files are unsent and not dismissed (one per file, however many ops named it).
pub fn count(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row(
        "SELECT count(DISTINCT sha256) FROM unsent_file WHERE dismissed_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn file(sha: char, op: &str, why: UnsentWhy) -> UnsentFile {
        UnsentFile {
            sha256: sha.to_string().repeat(64),
            op_id: op.into(),
            kind: UnsentFileKind::Photo,
            why,
            work_order_id: None,
        }
    }

    #[test]
    fn recorded_files_are_listed_counted_once_and_dismissed() {
        let mut store = Store::open_in_memory().unwrap();
        let t0: DateTime<Utc> = "2026-05-01T10:00:00Z".parse().unwrap();
        let t1: DateTime<Utc> = "2026-05-01T11:00:00Z".parse().unwrap();
        store
            .write(|tx| {
                record(tx, &file('a', "op-1", UnsentWhy::Missing), t0)?;
                // The same photo on a second op, and a second sync finding it again.
                record(tx, &file('a', "op-2", UnsentWhy::Missing), t0)?;
                record(tx, &file('a', "op-1", UnsentWhy::Damaged), t1)?;
                record(tx, &file('b', "op-3", UnsentWhy::TooLarge), t1)
            })
            .unwrap();
        let listed = view(store.conn()).unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0].why, UnsentWhy::Damaged);
        assert_eq!(listed[0].first_at, "2026-05-01T10:00:00Z");
        assert_eq!(listed[0].last_at, "2026-05-01T11:00:00Z");
        assert_eq!(count(store.conn()).unwrap(), 2);
        let b = "b".repeat(64);
        assert!(store.write(|tx| dismiss(tx, &b, "op-3", t1)).unwrap());
        assert!(!store.write(|tx| dismiss(tx, &b, "op-3", t1)).unwrap());
        assert_eq!(count(store.conn()).unwrap(), 1);
        assert_eq!(view(store.conn()).unwrap().len(), 2);
        let bad = UnsentFile {
            sha256: "../x".into(),
            ..file('c', "op-4", UnsentWhy::Missing)
        };
        assert!(store.write(|tx| record(tx, &bad, t1)).is_err());
    }
}
