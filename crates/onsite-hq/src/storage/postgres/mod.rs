//! The PostgreSQL backend: several head-office instances on one database
//! (docs/hq-postgres.md). The blocking `postgres` client behind an r2d2 pool (the
//! [`Storage`] trait is blocking and called from tokio's blocking pool); numbered
//! migrations embedded in the binary, tracked in `schema_migrations` and applied under an
//! advisory lock, so that instances starting at once do not race.
//!
//! The same modules as the SQLite backend (docs/hq-storage.md): `devices`, `work_orders`,
//! `facts`, `reference`, `blobs`, `export`; this module opens the pool, migrates, maps
//! errors, reads rows and implements [`Storage`] by delegating.
//!
//! Writes: every write that SQLite makes as its single writer (`BEGIN IMMEDIATE`) takes
//! the transaction-scoped advisory lock [`WRITE_LOCK`] first, so that the decisions an op
//! is checked against (the work order's status, the stored result of the same op, the next
//! fee-table version) are made on committed state, one writer at a time across every
//! instance, and behave exactly as on SQLite. Commit numbers come from the one-row
//! `commit_counter`, updated inside the transaction (rule 1: commit order). Reads run
//! concurrently, each multi-statement read in one `REPEATABLE READ` snapshot.

mod accounts;
mod batch;
mod blobs;
mod client;
mod devices;
mod export;
mod facts;
mod reference;
mod work_orders;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use onsite_api::{
    CompanyProfile, Device, ExportJob, FeeTable, FeeTablePublish, NewPartsIssue, NewWorkOrder, Op,
    OpResult, PartsCatalogue, PartsCataloguePublish, PartsIssue, PriceList, PriceListPublish,
    ReassignRequest, ReviewFlag, Technician, WorkOrder, WorkOrderDetail, WorkOrderQuery,
    WorkOrderUpdate,
};
use postgres::types::FromSql;
use postgres::{Client, Row};

use client::{Conn, Db, Manager, Tx};
use uuid::Uuid;

use super::{DeviceAuth, FeedPage, NewDevice, Result, Storage, StorageError};
use crate::carryback::CarryBackFact;

/// The numbered migrations, in order. Never edit a shipped one; append.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_accounts.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_blob_uploader.sql"),
    ),
];

/// The newest schema version this build migrates to.
pub const LATEST_SCHEMA: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The advisory lock migrations run under (session-independent: transaction scoped).
const MIGRATION_LOCK: i64 = 0x6f6e_7369_7465_0001;
/// The advisory lock every head-office write takes first (transaction scoped).
pub const WRITE_LOCK: i64 = 0x6f6e_7369_7465_0002;

/// How many connections one instance keeps at most, unless told otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 16;

type Pool = r2d2::Pool<Manager>;

/// The PostgreSQL storage.
pub struct PostgresStorage {
    /// The readers' pool and the writers' (writes wait for one another on the write lock:
    /// with their own few connections, a pile of them never leaves reads without one).
    /// Always `Some` but while dropping (see [`Drop`]).
    pools: Option<(Pool, Pool)>,
    /// How long a write waits for the write lock, in milliseconds.
    lock_timeout_ms: AtomicU64,
}

impl Drop for PostgresStorage {
    /// The blocking client closes a connection by running its own little runtime, which
    /// tokio forbids inside an async task: dropped there (the last `Arc` of a server's
    /// state, at the end of an async test), the pool is closed on a thread of its own.
    fn drop(&mut self) {
        if let Some(pools) = self.pools.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(pools)).join();
            }
        }
    }
}

/// A database URL with its password hidden, for logs and errors.
pub fn redacted(url: &str) -> String {
    match url.parse::<postgres::Config>() {
        Ok(c) => {
            let hosts: Vec<String> = c
                .get_hosts()
                .iter()
                .map(|h| match h {
                    postgres::config::Host::Tcp(h) => h.clone(),
                    postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .collect();
            let ports: Vec<String> = c.get_ports().iter().map(|p| p.to_string()).collect();
            format!(
                "postgres://{}@{}:{}/{}",
                c.get_user().unwrap_or(""),
                hosts.join(","),
                ports.join(","),
                c.get_dbname().unwrap_or("")
            )
        }
        Err(_) => "postgres://(unreadable URL)".to_owned(),
    }
}

/// Whether a `--database` value names PostgreSQL.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl From<postgres::Error> for StorageError {
    fn from(e: postgres::Error) -> Self {
        // Texts name the SQLSTATE and the constraint, never a value (a PostgreSQL message
        // or detail may quote the row).
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            let what = match db.constraint() {
                Some(c) => format!("SQLSTATE {code} ({c})"),
                None => format!("SQLSTATE {code}"),
            };
            return match code {
                // serialization failure, deadlock, lock not available, query cancelled,
                // admin shutdown, crash shutdown, cannot connect now, read-only (a
                // standby promoted later), too many connections
                "40001" | "40P01" | "55P03" | "57014" | "57P01" | "57P02" | "57P03" | "25006"
                | "53300" => StorageError::Transient(what),
                c if c.starts_with("08") || c.starts_with("53") => StorageError::Transient(what),
                c if c.starts_with("23") => StorageError::Conflict(what),
                _ => StorageError::Internal(what),
            };
        }
        let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
        if e.is_closed() || io {
            return StorageError::Transient("database connection lost".into());
        }
        StorageError::Internal("database client error".into())
    }
}

impl From<r2d2::Error> for StorageError {
    fn from(_: r2d2::Error) -> Self {
        StorageError::Transient("no database connection available".into())
    }
}

fn conv(what: &'static str) -> StorageError {
    StorageError::Internal(format!("unreadable stored {what}"))
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Column `i` of `row`, or an error naming no value.
fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(|_| conv("column"))
}

fn get_uuid(row: &Row, i: usize) -> Result<Uuid> {
    let s: String = get(row, i)?;
    Uuid::parse_str(&s).map_err(|_| conv("id"))
}

fn get_opt_uuid(row: &Row, i: usize) -> Result<Option<Uuid>> {
    let s: Option<String> = get(row, i)?;
    s.map(|s| Uuid::parse_str(&s).map_err(|_| conv("id")))
        .transpose()
}

fn get_time(row: &Row, i: usize) -> Result<DateTime<Utc>> {
    let s: String = get(row, i)?;
    parse_time(&s).ok_or_else(|| conv("time"))
}

fn get_opt_time(row: &Row, i: usize) -> Result<Option<DateTime<Utc>>> {
    let s: Option<String> = get(row, i)?;
    s.map(|s| parse_time(&s).ok_or_else(|| conv("time")))
        .transpose()
}

fn get_json<T: serde::de::DeserializeOwned>(row: &Row, i: usize) -> Result<T> {
    let s: String = get(row, i)?;
    serde_json::from_str(&s).map_err(|_| conv("JSON"))
}

fn missing(what: &str) -> StorageError {
    StorageError::Internal(format!("feed names a {what} that is not stored"))
}

/// Runs every migration this database lacks, in one transaction under an advisory lock:
/// a second instance starting at the same time waits, then finds them applied.
fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?
        .get(0);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(StorageError::Internal(format!(
            "database schema {current} is newer than this server ({latest})"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )?;
    }
    for key in ["epoch", "server_id"] {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&key, &Uuid::now_v7().to_string()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Starts a write: a transaction holding [`WRITE_LOCK`] until it ends. Waiting longer
/// than `lock_timeout` for it (or any row lock) fails as `Transient` (SQLSTATE 55P03),
/// nothing written: SQLite's busy timeout.
fn begin_write(client: &mut Conn, lock_timeout: Duration) -> Result<Tx<'_>> {
    let mut tx = client.transaction()?;
    tx.batch_execute(&format!(
        "SET LOCAL lock_timeout = {}; SELECT pg_advisory_xact_lock({WRITE_LOCK})",
        lock_timeout.as_millis().max(1)
    ))?;
    Ok(tx)
}

impl PostgresStorage {
    /// Connects to the database at `url` (a `postgres://` URL) with at most
    /// [`DEFAULT_POOL_SIZE`] connections and brings its schema up to date.
    pub fn connect(url: &str) -> Result<PostgresStorage> {
        PostgresStorage::connect_with(url, DEFAULT_POOL_SIZE)
    }

    /// As [`PostgresStorage::connect`], with at most `pool_size` connections: a quarter of
    /// them (at least one) for writes, the rest (at least one) for reads.
    pub fn connect_with(url: &str, pool_size: u32) -> Result<PostgresStorage> {
        PostgresStorage::connect_with_ca(url, pool_size, None)
    }

    /// As [`PostgresStorage::connect_with`], trusting `ca_pem` (PEM) for the database
    /// server's certificate instead of the system's roots (TLS: [`client::tls`]).
    pub fn connect_with_ca(
        url: &str,
        pool_size: u32,
        ca_pem: Option<&str>,
    ) -> Result<PostgresStorage> {
        let tls = client::tls(ca_pem)?;
        let mut config: postgres::Config = url
            .parse()
            .map_err(|_| StorageError::Invalid("the database URL cannot be read".into()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        // One connection first, for the migrations: a database that cannot be reached (or
        // a URL this client cannot honour, such as sslmode=require) fails at once with
        // the client's reason, which names no password.
        let mut first = config
            .connect(tls.clone())
            .map_err(|e| StorageError::Transient(format!("cannot connect to the database: {e}")))?;
        migrate(&mut first)?;
        drop(first);
        let writers = (pool_size / 2).max(1);
        let readers = pool_size.saturating_sub(writers).max(1);
        let pool = |size: u32| {
            r2d2::Pool::builder()
                .max_size(size)
                .min_idle(Some(1))
                .connection_timeout(Duration::from_secs(10))
                .build(Manager {
                    config: config.clone(),
                    tls: tls.clone(),
                })
                .map_err(|_| StorageError::Transient("cannot connect to the database".into()))
        };
        let storage = PostgresStorage {
            pools: Some((pool(readers)?, pool(writers)?)),
            lock_timeout_ms: AtomicU64::new(5_000),
        };
        Ok(storage)
    }

    /// A connection from the readers' pool (reads, and single-statement writes that take
    /// no commit number).
    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>> {
        Ok(self.pools()?.0.get()?)
    }

    /// A connection from the writers' pool, for [`PostgresStorage::write`].
    fn writer(&self) -> Result<r2d2::PooledConnection<Manager>> {
        Ok(self.pools()?.1.get()?)
    }

    fn pools(&self) -> Result<&(Pool, Pool)> {
        self.pools
            .as_ref()
            .ok_or_else(|| StorageError::Internal("storage closed".into()))
    }

    /// How long a write waits for another instance's write before it fails as
    /// [`StorageError::Transient`] (default 5 s, as SQLite's busy timeout).
    pub fn set_lock_timeout(&self, timeout: Duration) {
        self.lock_timeout_ms
            .store(timeout.as_millis() as u64, Ordering::Relaxed);
    }

    /// A write transaction on `conn`, holding the write lock.
    /// Starts a push of `ops` by `device`: the write lock shared, the technician's and
    /// the work orders' locks exclusive (batch.rs), waiting at most the lock timeout.
    fn write_push<'c>(
        &self,
        conn: &'c mut Conn,
        device: &DeviceAuth,
        ops: &[Op],
    ) -> Result<Tx<'c>> {
        let mut tx = conn.transaction()?;
        batch::lock(
            &mut tx,
            self.lock_timeout_ms.load(Ordering::Relaxed).max(1),
            device,
            ops,
        )?;
        Ok(tx)
    }

    fn write<'c>(&self, conn: &'c mut Conn) -> Result<Tx<'c>> {
        begin_write(
            conn,
            Duration::from_millis(self.lock_timeout_ms.load(Ordering::Relaxed)),
        )
    }

    /// The schema version (the newest migration applied).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn()?
            .query_one("SELECT MAX(version) FROM schema_migrations", &[])?
            .get(0))
    }

    /// Pool use, readers' and writers' pools together: (connections open, of which idle).
    pub fn pool_state(&self) -> (u32, u32) {
        match &self.pools {
            Some((r, w)) => {
                let (r, w) = (r.state(), w.state());
                (
                    r.connections + w.connections,
                    r.idle_connections + w.idle_connections,
                )
            }
            None => (0, 0),
        }
    }
}

impl Storage for PostgresStorage {
    fn accounts(&self) -> Option<&dyn crate::storage::accounts::AccountStore> {
        Some(self)
    }

    fn pool_state(&self) -> Option<(u32, u32)> {
        Some(PostgresStorage::pool_state(self))
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

    fn export_technician_days(
        &self,
        query: &onsite_api::TechnicianDayQuery,
    ) -> Result<Vec<onsite_api::TechnicianDayFact>> {
        export::export_technician_days(self, query)
    }
}
