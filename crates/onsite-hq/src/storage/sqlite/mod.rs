//! The SQLite backend: one database file, WAL, `synchronous=FULL`, foreign keys on,
//! numbered migrations embedded in the binary (each in its own transaction, tracked by
//! `PRAGMA user_version`). One writer connection and one reader connection, each behind a
//! mutex; WAL lets the reader see a consistent snapshot while the writer works.
//!
//! One module per aggregate (docs/hq-storage.md has the map and the rules a second backend
//! keeps): `devices` (technicians, enrolment codes, devices), `work_orders` (work
//! orders, review flags), `facts` (ops, facts, refused ops, commits, the feed and pull,
//! epoch, restore horizon, retention), `reference` (fee tables, parts catalogue, price
//! lists, parts issues, company profile), `blobs` and `export`. This module opens the
//! database (pragmas, migrations), maps errors, reads rows, and implements [`Storage`]
//! by delegating each method to its module.

mod accounts;
pub mod backup;
mod blobs;
mod devices;
mod export;
mod facts;
mod reference;
mod work_orders;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use onsite_api::{
    CompanyProfile, Device, ExportJob, FeeTable, FeeTablePublish, NewPartsIssue, NewWorkOrder, Op,
    OpResult, PartsCatalogue, PartsCataloguePublish, PartsIssue, PriceList, PriceListPublish,
    ReassignRequest, ReviewFlag, Technician, WorkOrder, WorkOrderDetail, WorkOrderQuery,
    WorkOrderUpdate,
};
use rusqlite::types::Type;
use rusqlite::{Connection, Row, TransactionBehavior};
use uuid::Uuid;

use super::{DeviceAuth, FeedPage, NewDevice, Result, Storage, StorageError};
use crate::carryback::CarryBackFact;

/// The numbered migrations, in order. Never edit a shipped one; append.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../../migrations/0001_init.sql")),
    (
        2,
        include_str!("../../../migrations/0002_technician_day_facts.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/0003_carry_back_index.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/0004_reference_data_fields.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/0005_parts_issues_company.sql"),
    ),
    (6, include_str!("../../../migrations/0006_commit_tags.sql")),
    (7, include_str!("../../../migrations/0007_refused_ops.sql")),
    (8, include_str!("../../../migrations/0008_addenda.sql")),
    (9, include_str!("../../../migrations/0009_lost_devices.sql")),
    (10, include_str!("../../../migrations/0010_accounts.sql")),
    (
        11,
        include_str!("../../../migrations/0011_blob_uploader.sql"),
    ),
];

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "onsite-hq.sqlite3";

/// The SQLite storage.
pub struct SqliteStorage {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    path: PathBuf,
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                C::DatabaseBusy | C::DatabaseLocked | C::DiskFull | C::SystemIoFailure => {
                    StorageError::Transient(e.to_string())
                }
                C::ConstraintViolation => StorageError::Conflict(e.to_string()),
                _ => StorageError::Internal(e.to_string()),
            },
            rusqlite::Error::QueryReturnedNoRows => StorageError::NotFound,
            _ => StorageError::Internal(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for StorageError {
    fn from(e: serde_json::Error) -> Self {
        StorageError::Internal(format!(
            "stored JSON unreadable: {}",
            onsite_api::describe_serde_error(&e)
        ))
    }
}

#[derive(Debug)]
struct Corrupt(&'static str);

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unreadable stored {}", self.0)
    }
}

impl std::error::Error for Corrupt {}

fn conv(i: usize, what: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(Corrupt(what)))
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn get_uuid(row: &Row, i: usize) -> rusqlite::Result<Uuid> {
    let s: String = row.get(i)?;
    Uuid::parse_str(&s).map_err(|_| conv(i, "id"))
}

fn get_opt_uuid(row: &Row, i: usize) -> rusqlite::Result<Option<Uuid>> {
    let s: Option<String> = row.get(i)?;
    s.map(|s| Uuid::parse_str(&s).map_err(|_| conv(i, "id")))
        .transpose()
}

fn get_time(row: &Row, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    let s: String = row.get(i)?;
    parse_time(&s).ok_or_else(|| conv(i, "time"))
}

fn get_opt_time(row: &Row, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let s: Option<String> = row.get(i)?;
    s.map(|s| parse_time(&s).ok_or_else(|| conv(i, "time")))
        .transpose()
}

fn get_json<T: serde::de::DeserializeOwned>(row: &Row, i: usize) -> rusqlite::Result<T> {
    let s: String = row.get(i)?;
    serde_json::from_str(&s).map_err(|_| conv(i, "JSON"))
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves the connection usable: every write is in a
    // transaction that rolled back when the panic dropped it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(StorageError::Internal(format!(
            "database schema {current} is newer than this server ({latest})"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

fn missing(what: &str) -> StorageError {
    StorageError::Internal(format!("feed names a {what} that is not stored"))
}

impl SqliteStorage {
    /// Opens (creating if needed) `<dir>/onsite-hq.sqlite3` and brings its schema up to date.
    pub fn open_in_dir(dir: &Path) -> Result<SqliteStorage> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::Internal(format!("cannot create data directory: {e}")))?;
        SqliteStorage::open(&dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStorage> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer)?;
        for key in ["epoch", "server_id"] {
            writer.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
                [key, &Uuid::now_v7().to_string()],
            )?;
        }
        let reader = Connection::open(path)?;
        configure(&reader)?;
        Ok(SqliteStorage {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            path: path.to_owned(),
        })
    }

    /// How long a write waits for a lock held by another connection before it fails as
    /// [`StorageError::Transient`] (default 5 s).
    pub fn set_busy_timeout(&self, timeout: std::time::Duration) -> Result<()> {
        self.writer().busy_timeout(timeout)?;
        self.reader().busy_timeout(timeout)?;
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `PRAGMA integrity_check` (for tests and operators): `"ok"` when healthy.
    pub fn integrity_check(&self) -> Result<String> {
        let conn = lock(&self.reader);
        Ok(conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        lock(&self.writer)
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        lock(&self.reader)
    }
}

impl Storage for SqliteStorage {
    fn accounts(&self) -> Option<&dyn crate::storage::accounts::AccountStore> {
        Some(self)
    }

    // facts.rs: head office's identity and its commits
    fn epoch(&self) -> Result<String> {
        facts::epoch(self)
    }

    fn server_id(&self) -> Result<String> {
        facts::server_id(self)
    }

    fn rotate_epoch(&self) -> Result<String> {
        facts::rotate_epoch(self)
    }

    fn max_seq(&self) -> Result<i64> {
        facts::max_seq(self)
    }

    fn commit_tag(&self, seq: i64) -> Result<Option<String>> {
        facts::commit_tag(self, seq)
    }

    // devices.rs
    fn create_technician(&self, id: Uuid, name: &str, now: DateTime<Utc>) -> Result<Technician> {
        devices::create_technician(self, id, name, now)
    }

    fn list_technicians(&self) -> Result<Vec<Technician>> {
        devices::list_technicians(self)
    }

    fn store_enrolment_code(
        &self,
        technician_id: Uuid,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        devices::store_enrolment_code(self, technician_id, code_hash, now, expires_at)
    }

    fn enroll_device(
        &self,
        code_hash: &str,
        device: NewDevice<'_>,
        now: DateTime<Utc>,
    ) -> Result<(Device, Technician)> {
        devices::enroll_device(self, code_hash, device, now)
    }

    fn device_for_token(&self, token_hash: &str) -> Result<Option<DeviceAuth>> {
        devices::device_for_token(self, token_hash)
    }

    fn list_devices(&self) -> Result<Vec<Device>> {
        devices::list_devices(self)
    }

    fn revoke_device(&self, id: Uuid, now: DateTime<Utc>) -> Result<Device> {
        devices::revoke_device(self, id, now)
    }

    fn mark_device_lost(&self, id: Uuid, now: DateTime<Utc>) -> Result<Device> {
        devices::mark_device_lost(self, id, now)
    }

    fn record_device_erased(
        &self,
        id: Uuid,
        report: &onsite_api::ErasedReport,
        now: DateTime<Utc>,
    ) -> Result<Device> {
        devices::record_device_erased(self, id, report, now)
    }

    // facts.rs: ops, the restore horizon, retention, the feed
    fn apply_op(&self, device: &DeviceAuth, op: &Op, now: DateTime<Utc>) -> Result<OpResult> {
        facts::apply_op(self, device, op, now)
    }

    fn apply_ops(
        &self,
        device: &DeviceAuth,
        ops: &[Op],
        now: DateTime<Utc>,
    ) -> Result<Vec<OpResult>> {
        facts::apply_ops(self, device, ops, now)
    }

    fn restore_horizon(&self) -> Result<onsite_api::RestoreHorizon> {
        facts::restore_horizon(self)
    }

    fn set_restore_horizon(
        &self,
        oldest_backup_at: DateTime<Utc>,
    ) -> Result<onsite_api::RestoreHorizon> {
        facts::set_restore_horizon(self, oldest_backup_at)
    }

    fn retention_days(&self) -> Result<u32> {
        facts::retention_days(self)
    }

    fn set_retention_days(&self, days: u32) -> Result<()> {
        facts::set_retention_days(self, days)
    }

    fn list_refused_ops(
        &self,
        query: &onsite_api::RefusedQuery,
    ) -> Result<Vec<onsite_api::RefusedOp>> {
        facts::list_refused_ops(self, query)
    }

    fn apply_refused_op(
        &self,
        device_id: Uuid,
        op_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<OpResult> {
        facts::apply_refused_op(self, device_id, op_id, now)
    }

    fn pull(&self, technician_id: Uuid, after: i64, limit: u32) -> Result<FeedPage> {
        facts::pull(self, technician_id, after, limit)
    }

    fn carry_back_facts(&self) -> Result<Vec<CarryBackFact>> {
        facts::carry_back_facts(self)
    }

    // work_orders.rs
    fn create_work_order(
        &self,
        id: Uuid,
        new: &NewWorkOrder,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder> {
        work_orders::create_work_order(self, id, new, now)
    }

    fn update_work_order(
        &self,
        id: Uuid,
        update: &WorkOrderUpdate,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder> {
        work_orders::update_work_order(self, id, update, now)
    }

    fn reassign_work_order(
        &self,
        id: Uuid,
        request: &ReassignRequest,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder> {
        work_orders::reassign_work_order(self, id, request, now)
    }

    fn cancel_work_order(&self, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<WorkOrder> {
        work_orders::cancel_work_order(self, id, reason, now)
    }

    fn get_work_order(&self, id: Uuid) -> Result<Option<WorkOrderDetail>> {
        work_orders::get_work_order(self, id)
    }

    fn list_work_orders(&self, query: &WorkOrderQuery) -> Result<Vec<WorkOrder>> {
        work_orders::list_work_orders(self, query)
    }

    fn list_work_orders_page(
        &self,
        query: &WorkOrderQuery,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<WorkOrder>> {
        work_orders::list_work_orders_page(self, query, after, Some(limit))
    }

    fn list_review_flags(&self, include_resolved: bool) -> Result<Vec<ReviewFlag>> {
        work_orders::list_review_flags(self, include_resolved)
    }

    fn resolve_review_flag(&self, id: Uuid, now: DateTime<Utc>) -> Result<ReviewFlag> {
        work_orders::resolve_review_flag(self, id, now)
    }

    // reference.rs
    fn publish_fee_table(&self, table: &FeeTablePublish, now: DateTime<Utc>) -> Result<FeeTable> {
        reference::publish_fee_table(self, table, now)
    }

    fn list_fee_tables(&self) -> Result<Vec<FeeTable>> {
        reference::list_fee_tables(self)
    }

    fn publish_parts_catalogue(
        &self,
        catalogue: &PartsCataloguePublish,
        now: DateTime<Utc>,
    ) -> Result<PartsCatalogue> {
        reference::publish_parts_catalogue(self, catalogue, now)
    }

    fn publish_price_list(&self, list: &PriceListPublish, now: DateTime<Utc>) -> Result<PriceList> {
        reference::publish_price_list(self, list, now)
    }

    fn issue_parts(
        &self,
        technician_id: Uuid,
        id: Uuid,
        issue: &NewPartsIssue,
        now: DateTime<Utc>,
    ) -> Result<PartsIssue> {
        reference::issue_parts(self, technician_id, id, issue, now)
    }

    fn list_parts_issues(&self, technician_id: Uuid) -> Result<Vec<PartsIssue>> {
        reference::list_parts_issues(self, technician_id)
    }

    fn put_company(&self, company: &CompanyProfile, now: DateTime<Utc>) -> Result<CompanyProfile> {
        reference::put_company(self, company, now)
    }

    // blobs.rs
    fn has_blob(&self, sha256: &str) -> Result<bool> {
        blobs::has_blob(self, sha256)
    }

    fn put_blob(&self, sha256: &str, bytes: &[u8], now: DateTime<Utc>) -> Result<bool> {
        blobs::put_blob(self, sha256, bytes, now)
    }

    fn put_device_blob(
        &self,
        device_id: Uuid,
        sha256: &str,
        bytes: &[u8],
        now: DateTime<Utc>,
        bytes_per_day: u64,
    ) -> Result<super::BlobStored> {
        blobs::put_device_blob(self, device_id, sha256, bytes, now, bytes_per_day)
    }

    fn get_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        blobs::get_blob(self, sha256)
    }

    // export.rs
    fn export_completed(&self, since: Option<DateTime<Utc>>) -> Result<Vec<ExportJob>> {
        export::export_completed(self, since)
    }

    fn export_completed_page(
        &self,
        since: Option<DateTime<Utc>>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<ExportJob>> {
        export::export_completed_page(self, since, after, Some(limit))
    }

    fn export_technician_days(
        &self,
        query: &onsite_api::TechnicianDayQuery,
    ) -> Result<Vec<onsite_api::TechnicianDayFact>> {
        export::export_technician_days(self, query)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_re_sent_fact_is_the_same_with_fields_added_by_a_later_build() {
        use serde_json::json;
        let stored = json!({"fact_id": "f", "amount": {"minor": 5}, "receipt_no": null});
        for (sent, same) in [
            (
                json!({"fact_id": "f", "amount": {"minor": 5}, "receipt_no": null}),
                true,
            ),
            (json!({"fact_id": "f", "amount": {"minor": 5}}), true),
            (
                json!({"fact_id": "f", "amount": {"minor": 5}, "receipt_no": null, "tendered": {"minor": 10}}),
                true,
            ),
            (json!({"fact_id": "f", "amount": {"minor": 6}}), false),
            (
                json!({"fact_id": "f", "amount": {"minor": 5}, "receipt_no": "R-1"}),
                false,
            ),
            (json!("f"), false),
        ] {
            assert_eq!(facts::same_fact(&stored, &sent), same, "{sent}");
        }
    }

    use super::facts::{feed, new_commit, EVERYONE};
    use super::*;
    use onsite_api::FeeItem;
    use rusqlite::params;

    #[test]
    fn opens_migrates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open_in_dir(dir.path()).unwrap();
        let epoch = s.epoch().unwrap();
        assert_eq!(s.integrity_check().unwrap(), "ok");
        let mode: String = lock(&s.writer)
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = lock(&s.writer)
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "FULL");
        let fk: i64 = lock(&s.writer)
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        drop(s);
        let s = SqliteStorage::open_in_dir(dir.path()).unwrap();
        assert_eq!(s.epoch().unwrap(), epoch, "epoch survives a restart");
        let v: i64 = lock(&s.writer)
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.last().unwrap().0);
    }

    /// A database from before migration 0004 keeps its rows: the customer's language, the
    /// fee table's category and the new JSON fields read as the wire types' defaults.
    #[test]
    fn rows_from_before_0004_read_with_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        {
            let conn = Connection::open(&path).unwrap();
            for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v <= 3) {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", version).unwrap();
            }
            let t = "2026-01-05T08:00:00.000000Z";
            conn.execute(
                "INSERT INTO work_orders (id, order_no, version, technician_id, status, job_type, \
                 customer_name, customer_phone, customer_address, appliance, reported_fault, notes, \
                 appointment_start, appointment_end, created_at, updated_at) \
                 VALUES (?1, 'OLD-1', 1, NULL, 'assigned', 'repair', 'N', 'P', 'A', ?2, '', '', \
                 ?3, ?3, ?3, ?3)",
                params![
                    Uuid::now_v7().to_string(),
                    r#"{"category":"water purifier","brand":"B","model":"M","serial_no":null,"purchase_date":null}"#,
                    t
                ],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO fee_tables (version, effective_from, published_at, items) \
                 VALUES (1, ?1, ?1, ?2)",
                params![
                    t,
                    r#"[{"code":"A","description":"d","fee":{"minor":100,"currency":"CNY"},"plus_parts":false}]"#
                ],
            )
            .unwrap();
        }
        let s = SqliteStorage::open(&path).unwrap();
        let orders = s.list_work_orders(&WorkOrderQuery::default()).unwrap();
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].customer.language, "zh-CN");
        assert_eq!(orders[0].appliance.proof, None);
        assert!(orders[0].appliance.contracts.is_empty());
        let tables = s.list_fee_tables().unwrap();
        assert_eq!(tables[0].category, "hq");
        let item = &tables[0].items[0];
        assert_eq!(item.kind, onsite_domain::rules::ItemKind::Service);
        assert!(item.coverable && !item.open_priced && item.includes.is_empty());
        assert_eq!((item.name_zh.as_str(), item.name_en.as_str()), ("", ""));
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn pages_never_split_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open_in_dir(dir.path()).unwrap();
        let now = Utc::now();
        let tech = Uuid::now_v7();
        s.create_technician(tech, "T", now).unwrap();
        for i in 0..3 {
            let items = vec![FeeItem {
                code: format!("C{i}"),
                description: String::new(),
                fee: onsite_domain::Money::cny(100),
                plus_parts: false,
                name_zh: String::new(),
                name_en: String::new(),
                kind: onsite_domain::rules::ItemKind::Service,
                open_priced: false,
                coverable: true,
                includes: vec![],
            }];
            s.publish_fee_table(
                &FeeTablePublish {
                    category: "water_purifier".into(),
                    effective_from: now,
                    items,
                },
                now,
            )
            .unwrap();
        }
        // Put two feed rows into one commit by hand, as a multi-entity commit would.
        {
            let mut conn = s.writer();
            let tx = conn.transaction().unwrap();
            let seq = new_commit(&tx, now).unwrap();
            feed(&tx, EVERYONE, "fee_table", "1", seq, false).unwrap();
            feed(&tx, EVERYONE, "fee_table", "2", seq, false).unwrap();
            tx.commit().unwrap();
        }
        // Feed now: fee_table 3 at seq 3, fee tables 1 and 2 at seq 4.
        let p1 = s.pull(tech, 0, 1).unwrap();
        assert_eq!(p1.changes.len(), 1);
        assert!(p1.has_more);
        let p2 = s.pull(tech, p1.last_seq, 1).unwrap();
        assert_eq!(p2.changes.len(), 2, "the two-row commit comes whole");
        assert_eq!(p2.changes[0].seq, p2.changes[1].seq);
        assert!(!p2.has_more);
        let p3 = s.pull(tech, p2.last_seq, 1).unwrap();
        assert!(p3.changes.is_empty());
        assert_eq!(p3.last_seq, p2.last_seq);
    }
}
