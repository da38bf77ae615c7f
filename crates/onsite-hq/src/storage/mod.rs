//! Head office's storage, behind a trait: SQLite ([`sqlite::SqliteStorage`], the default)
//! and PostgreSQL ([`postgres::PostgresStorage`], several instances on one database).
//!
//! Methods are blocking; the HTTP layer calls them on tokio's blocking pool. Every method
//! that changes what devices see does so in one transaction that takes one new **commit
//! sequence number** (`seq`), and records which technician (or everyone) sees each changed
//! entity at that `seq`; [`Storage::pull`] reads that feed. The rules for technicians' ops
//! are the pure [`crate::rules::decide`]; a backend only loads state, calls it, and writes.
//!
//! The trait's methods are grouped by aggregate, in the order of the SQLite backend's
//! modules; docs/hq-storage.md has the map and the rules every backend keeps.

pub mod accounts;
pub mod postgres;
pub mod sqlite;

use chrono::{DateTime, Utc};
use onsite_api::{
    Change, CompanyProfile, Device, ExportJob, FeeTable, FeeTablePublish, NewPartsIssue,
    NewWorkOrder, Op, OpResult, PartsCatalogue, PartsCataloguePublish, PartsIssue, PriceList,
    PriceListPublish, ReassignRequest, ReviewFlag, Technician, WorkOrder, WorkOrderDetail,
    WorkOrderQuery, WorkOrderUpdate,
};
use uuid::Uuid;

/// A storage failure. Texts carry no customer data.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No such record.
    #[error("not found")]
    NotFound,
    /// The change clashes with the current state (duplicate key, version mismatch, a final
    /// status).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input breaks a rule.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The enrolment code is unknown, spent or expired.
    #[error("invalid or expired enrolment code")]
    InvalidCode,
    /// A passing failure (database busy or locked, disk full): retry later.
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// Anything else.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// Storage result.
pub type Result<T> = std::result::Result<T, StorageError>;

/// What [`Storage::put_device_blob`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobStored {
    /// Stored now, charged to the device.
    Created,
    /// Already stored (by this device or another): nothing charged.
    Present,
    /// Not stored: the device's blobs of the last 24 hours and this one would pass its
    /// quota. `retry_after` is when its oldest upload in that window leaves it.
    OverQuota { retry_after: std::time::Duration },
}

/// The quota's window, and how [`BlobStored::OverQuota`]'s wait is worked out from the
/// device's oldest upload in it (`None`: none in it, the blob alone is too large).
pub fn blob_quota_wait(
    oldest_in_window: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> std::time::Duration {
    let day = chrono::Duration::hours(24);
    let wait = oldest_in_window.map_or(day, |t| (t + day) - now);
    wait.to_std()
        .unwrap_or_default()
        .max(std::time::Duration::from_secs(1))
}

/// An authenticated device, as the HTTP layer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuth {
    /// The device.
    pub device_id: Uuid,
    /// Its technician.
    pub technician_id: Uuid,
    /// Revoked devices are refused.
    pub revoked: bool,
    /// Marked lost by the office: told to erase in the hello, sent nothing.
    pub lost: bool,
}

/// A new device to enrol.
#[derive(Debug, Clone)]
pub struct NewDevice<'a> {
    /// Its id (UUIDv7, made by the server).
    pub id: Uuid,
    /// Its label.
    pub name: &'a str,
    /// SHA-256 (hex) of its token.
    pub token_hash: &'a str,
}

/// One page of the pull feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    /// Whole commits, oldest first.
    pub changes: Vec<Change>,
    /// The last `seq` in the page (the `after` asked for when empty).
    pub last_seq: i64,
    /// Whether changes after `last_seq` exist.
    pub has_more: bool,
}

/// Everything head office stores.
pub trait Storage: Send + Sync + 'static {
    /// The office's accounts (issue 13), where this backend keeps them.
    fn accounts(&self) -> Option<&dyn accounts::AccountStore> {
        None
    }

    /// Database connections held by this instance's pool: (open, of which idle); `None`
    /// for a backend without a pool (SQLite's two connections).
    fn pool_state(&self) -> Option<(u32, u32)> {
        None
    }

    // Head office's identity and its commits (SQLite: facts.rs).
    /// The current epoch (made when the database was created).
    fn epoch(&self) -> Result<String>;
    /// This head office's lasting identity (made with the database, kept by backups).
    fn server_id(&self) -> Result<String>;
    /// Starts a new epoch (after a restore from backup); returns it.
    fn rotate_epoch(&self) -> Result<String>;
    /// The latest commit sequence number (0 when none).
    fn max_seq(&self) -> Result<i64>;
    /// The random tag of commit `seq` (made with it, never reused), `None` when there is
    /// no such commit.
    fn commit_tag(&self, seq: i64) -> Result<Option<String>>;
    /// Whether this database holds the commit a device names (`<seq>:<tag>`): false for a
    /// commit it lost (restored from an older backup) or that another history made.
    fn holds(&self, checkpoint: &onsite_api::Checkpoint) -> Result<bool> {
        Ok(self.commit_tag(checkpoint.seq)?.as_deref() == Some(checkpoint.tag.as_str()))
    }

    // Devices and enrolment: technicians, enrolment codes, devices and their tokens (devices.rs).
    /// Registers a technician.
    fn create_technician(&self, id: Uuid, name: &str, now: DateTime<Utc>) -> Result<Technician>;
    /// All technicians, by name.
    fn list_technicians(&self) -> Result<Vec<Technician>>;
    /// Stores a one-time enrolment code's hash. `NotFound` for an unknown technician.
    fn store_enrolment_code(
        &self,
        technician_id: Uuid,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Spends an enrolment code and creates the device, atomically. `InvalidCode` when
    /// the code is unknown, spent or expired.
    fn enroll_device(
        &self,
        code_hash: &str,
        device: NewDevice<'_>,
        now: DateTime<Utc>,
    ) -> Result<(Device, Technician)>;
    /// The device a token hash belongs to.
    fn device_for_token(&self, token_hash: &str) -> Result<Option<DeviceAuth>>;
    /// All devices.
    fn list_devices(&self) -> Result<Vec<Device>>;
    /// Revokes a device (idempotent).
    fn revoke_device(&self, id: Uuid, now: DateTime<Utc>) -> Result<Device>;
    /// Marks a device lost (idempotent: the first time counts). `NotFound` when unknown.
    fn mark_device_lost(&self, id: Uuid, now: DateTime<Utc>) -> Result<Device>;
    /// Records that a lost device erased its customer data, and revokes it, in one
    /// transaction. `Conflict` when the device was not marked lost.
    fn record_device_erased(
        &self,
        id: Uuid,
        report: &onsite_api::ErasedReport,
        now: DateTime<Utc>,
    ) -> Result<Device>;

    // Facts and the feed: technicians' ops, refused ops, the restore horizon, retention, the
    // pull feed, and the carry-back facts read from them (facts.rs).
    /// Applies one op from a device in one transaction with its processed-ops row; a
    /// replay returns the stored result with `duplicate: true`. `Transient` errors leave
    /// nothing behind.
    fn apply_op(&self, device: &DeviceAuth, op: &Op, now: DateTime<Utc>) -> Result<OpResult>;
    /// Applies a push's ops in order, all in one transaction (one commit and one wait for
    /// the disk, instead of one per op): each still gets its own commit number, result and
    /// processed-ops row, exactly as if applied one by one with [`Storage::apply_op`]. An
    /// error (not a refusal) leaves none of them applied.
    fn apply_ops(
        &self,
        device: &DeviceAuth,
        ops: &[Op],
        now: DateTime<Utc>,
    ) -> Result<Vec<OpResult>>;
    /// The restore horizon declared by the operator (none declared: nothing forgotten).
    fn restore_horizon(&self) -> Result<onsite_api::RestoreHorizon>;
    /// Declares the oldest backup still kept: the horizon becomes the newest commit made
    /// before it, and results of applied ops processed before it are forgotten (a re-sent
    /// op is still recognised by its fact id). `Invalid` when it would move back.
    fn set_restore_horizon(
        &self,
        oldest_backup_at: DateTime<Utc>,
    ) -> Result<onsite_api::RestoreHorizon>;
    /// How many days devices keep closed jobs ([`onsite_api::retention`]); the default
    /// when the office never set it.
    fn retention_days(&self) -> Result<u32>;
    /// Sets it (the caller checked the range).
    fn set_retention_days(&self, days: u32) -> Result<()>;
    /// Refused ops, kept whole, oldest first.
    fn list_refused_ops(
        &self,
        query: &onsite_api::RefusedQuery,
    ) -> Result<Vec<onsite_api::RefusedOp>>;
    /// Decides a refused op again, as if its device sent it now (the office fixed the
    /// cause). `NotFound` when no such op was refused.
    fn apply_refused_op(
        &self,
        device_id: Uuid,
        op_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<OpResult>;
    /// The changes visible to `technician_id` after commit `after`, at least `limit` unless
    /// fewer remain, never splitting a commit.
    fn pull(&self, technician_id: Uuid, after: i64, limit: u32) -> Result<FeedPage>;
    /// Every stored carry-back fact (`take_carry_back`, `advance_carry_back`,
    /// `return_carry_back`) with its job's order number and open-flag state, in the order
    /// stored; [`crate::carryback::fold`] makes the list of carry-backs.
    fn carry_back_facts(&self) -> Result<Vec<crate::carryback::CarryBackFact>>;

    // Work orders and their review flags (work_orders.rs).
    /// Creates a work order. `Conflict` when the order number is taken, `NotFound` for an
    /// unknown technician.
    fn create_work_order(
        &self,
        id: Uuid,
        new: &NewWorkOrder,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder>;
    /// Updates head office's fields of a work order.
    fn update_work_order(
        &self,
        id: Uuid,
        update: &WorkOrderUpdate,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder>;
    /// Reassigns a work order (open statuses go back to `assigned`); `Conflict` on a
    /// finished order.
    fn reassign_work_order(
        &self,
        id: Uuid,
        request: &ReassignRequest,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder>;
    /// Cancels a work order; `Conflict` when it is completed; idempotent when cancelled.
    fn cancel_work_order(&self, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<WorkOrder>;
    /// A work order with its facts and flags.
    fn get_work_order(&self, id: Uuid) -> Result<Option<WorkOrderDetail>>;
    /// Work orders, newest first.
    fn list_work_orders(&self, query: &WorkOrderQuery) -> Result<Vec<WorkOrder>>;
    /// At most `limit` work orders in [`Storage::list_work_orders`]'s order, starting
    /// after the one with id `after`; `Invalid` when `after` names none of them. The
    /// default cuts the whole list; a backend reads only the page (keyset).
    fn list_work_orders_page(
        &self,
        query: &WorkOrderQuery,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<WorkOrder>> {
        cut_after(self.list_work_orders(query)?, |w| w.id, after, limit)
    }
    /// Review flags, oldest first.
    fn list_review_flags(&self, include_resolved: bool) -> Result<Vec<ReviewFlag>>;
    /// Marks a flag resolved (idempotent).
    fn resolve_review_flag(&self, id: Uuid, now: DateTime<Utc>) -> Result<ReviewFlag>;

    // Reference data: fee tables, parts catalogue, price lists, parts issues, the company
    // profile (reference.rs).
    /// Publishes the next fee-table version.
    fn publish_fee_table(&self, table: &FeeTablePublish, now: DateTime<Utc>) -> Result<FeeTable>;
    /// Every fee-table version, oldest first.
    fn list_fee_tables(&self) -> Result<Vec<FeeTable>>;
    /// Replaces the parts catalogue (next version).
    fn publish_parts_catalogue(
        &self,
        catalogue: &PartsCataloguePublish,
        now: DateTime<Utc>,
    ) -> Result<PartsCatalogue>;
    /// Publishes the next price-list version.
    fn publish_price_list(&self, list: &PriceListPublish, now: DateTime<Utc>) -> Result<PriceList>;
    /// Records parts issued to a technician (id made by the caller) and feeds the issue
    /// to them. `NotFound` for an unknown technician; `Invalid` (naming the part number)
    /// for a part not in the catalogue in force, or an unknown work order.
    fn issue_parts(
        &self,
        technician_id: Uuid,
        id: Uuid,
        issue: &NewPartsIssue,
        now: DateTime<Utc>,
    ) -> Result<PartsIssue>;
    /// A technician's parts issues, oldest first. `NotFound` for an unknown technician.
    fn list_parts_issues(&self, technician_id: Uuid) -> Result<Vec<PartsIssue>>;
    /// Replaces the company profile and feeds it to every device.
    fn put_company(&self, company: &CompanyProfile, now: DateTime<Utc>) -> Result<CompanyProfile>;

    // Blobs: photos, signatures and documents by SHA-256 (blobs.rs).
    /// Whether a blob is stored.
    fn has_blob(&self, sha256: &str) -> Result<bool>;
    /// Stores a blob whose hash the caller verified; `true` if newly stored.
    fn put_blob(&self, sha256: &str, bytes: &[u8], now: DateTime<Utc>) -> Result<bool>;
    /// Stores a blob a device uploaded, within its quota: the blobs it first stored in the
    /// 24 hours before `now` and this one together at most `bytes_per_day` bytes. A blob
    /// already stored is not stored again and costs the device nothing. The check and the
    /// insert are one step for the device (two uploads at once cannot both slip under).
    fn put_device_blob(
        &self,
        device_id: Uuid,
        sha256: &str,
        bytes: &[u8],
        now: DateTime<Utc>,
        bytes_per_day: u64,
    ) -> Result<BlobStored>;
    /// A blob's bytes.
    fn get_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>>;

    // Exports, read only (export.rs).
    /// Completed (and unable-to-complete) jobs finished at or after `since`, with facts.
    fn export_completed(&self, since: Option<DateTime<Utc>>) -> Result<Vec<ExportJob>>;
    /// At most `limit` of them in the same order, after the job of work order `after`;
    /// `Invalid` when `after` names none. The default cuts the whole export; a backend
    /// reads only the page.
    fn export_completed_page(
        &self,
        since: Option<DateTime<Utc>>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<ExportJob>> {
        cut_after(
            self.export_completed(since)?,
            |j| j.work_order.id,
            after,
            limit,
        )
    }
    /// Technician-day facts (stock-takes, expenses, unused returns without a job) by day,
    /// technician, then receipt.
    fn export_technician_days(
        &self,
        query: &onsite_api::TechnicianDayQuery,
    ) -> Result<Vec<onsite_api::TechnicianDayFact>>;
}

/// The items after the one whose id is `after` (all when none), at most `limit`: the
/// keyset cut of [`crate::paging::cut`], for the paged methods' defaults.
fn cut_after<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> Uuid,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Vec<T>> {
    let after = after.map(|a| a.to_string());
    crate::paging::cut(items, |i| id(i).to_string(), after.as_deref(), limit)
        .map(|page| page.items)
        .map_err(|e| StorageError::Invalid(e.to_string()))
}

/// An `Arc` of a storage is a storage (the HTTP layer and the tests hold `Arc<dyn Storage>`;
/// with this, a call through the `Arc` resolves to the trait like a call on the backend).
impl<S: Storage + ?Sized> Storage for std::sync::Arc<S> {
    fn epoch(&self) -> Result<String> {
        (**self).epoch()
    }

    fn server_id(&self) -> Result<String> {
        (**self).server_id()
    }

    fn rotate_epoch(&self) -> Result<String> {
        (**self).rotate_epoch()
    }

    fn max_seq(&self) -> Result<i64> {
        (**self).max_seq()
    }

    fn commit_tag(&self, seq: i64) -> Result<Option<String>> {
        (**self).commit_tag(seq)
    }

    fn holds(&self, checkpoint: &onsite_api::Checkpoint) -> Result<bool> {
        (**self).holds(checkpoint)
    }

    fn create_technician(&self, id: Uuid, name: &str, now: DateTime<Utc>) -> Result<Technician> {
        (**self).create_technician(id, name, now)
    }

    fn list_technicians(&self) -> Result<Vec<Technician>> {
        (**self).list_technicians()
    }

    fn store_enrolment_code(
        &self,
        technician_id: Uuid,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        (**self).store_enrolment_code(technician_id, code_hash, now, expires_at)
    }

    fn enroll_device(
        &self,
        code_hash: &str,
        device: NewDevice<'_>,
        now: DateTime<Utc>,
    ) -> Result<(Device, Technician)> {
        (**self).enroll_device(code_hash, device, now)
    }

    fn device_for_token(&self, token_hash: &str) -> Result<Option<DeviceAuth>> {
        (**self).device_for_token(token_hash)
    }

    fn list_devices(&self) -> Result<Vec<Device>> {
        (**self).list_devices()
    }

    fn revoke_device(&self, id: Uuid, now: DateTime<Utc>) -> Result<Device> {
        (**self).revoke_device(id, now)
    }

    fn mark_device_lost(&self, id: Uuid, now: DateTime<Utc>) -> Result<Device> {
        (**self).mark_device_lost(id, now)
    }

    fn record_device_erased(
        &self,
        id: Uuid,
        report: &onsite_api::ErasedReport,
        now: DateTime<Utc>,
    ) -> Result<Device> {
        (**self).record_device_erased(id, report, now)
    }

    fn apply_op(&self, device: &DeviceAuth, op: &Op, now: DateTime<Utc>) -> Result<OpResult> {
        (**self).apply_op(device, op, now)
    }

    fn apply_ops(
        &self,
        device: &DeviceAuth,
        ops: &[Op],
        now: DateTime<Utc>,
    ) -> Result<Vec<OpResult>> {
        (**self).apply_ops(device, ops, now)
    }

    fn restore_horizon(&self) -> Result<onsite_api::RestoreHorizon> {
        (**self).restore_horizon()
    }

    fn set_restore_horizon(
        &self,
        oldest_backup_at: DateTime<Utc>,
    ) -> Result<onsite_api::RestoreHorizon> {
        (**self).set_restore_horizon(oldest_backup_at)
    }

    fn retention_days(&self) -> Result<u32> {
        (**self).retention_days()
    }

    fn set_retention_days(&self, days: u32) -> Result<()> {
        (**self).set_retention_days(days)
    }

    fn list_refused_ops(
        &self,
        query: &onsite_api::RefusedQuery,
    ) -> Result<Vec<onsite_api::RefusedOp>> {
        (**self).list_refused_ops(query)
    }

    fn apply_refused_op(
        &self,
        device_id: Uuid,
        op_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<OpResult> {
        (**self).apply_refused_op(device_id, op_id, now)
    }

    fn pull(&self, technician_id: Uuid, after: i64, limit: u32) -> Result<FeedPage> {
        (**self).pull(technician_id, after, limit)
    }

    fn carry_back_facts(&self) -> Result<Vec<crate::carryback::CarryBackFact>> {
        (**self).carry_back_facts()
    }

    fn create_work_order(
        &self,
        id: Uuid,
        new: &NewWorkOrder,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder> {
        (**self).create_work_order(id, new, now)
    }

    fn update_work_order(
        &self,
        id: Uuid,
        update: &WorkOrderUpdate,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder> {
        (**self).update_work_order(id, update, now)
    }

    fn reassign_work_order(
        &self,
        id: Uuid,
        request: &ReassignRequest,
        now: DateTime<Utc>,
    ) -> Result<WorkOrder> {
        (**self).reassign_work_order(id, request, now)
    }

    fn cancel_work_order(&self, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<WorkOrder> {
        (**self).cancel_work_order(id, reason, now)
    }

    fn get_work_order(&self, id: Uuid) -> Result<Option<WorkOrderDetail>> {
        (**self).get_work_order(id)
    }

    fn list_work_orders(&self, query: &WorkOrderQuery) -> Result<Vec<WorkOrder>> {
        (**self).list_work_orders(query)
    }

    fn list_review_flags(&self, include_resolved: bool) -> Result<Vec<ReviewFlag>> {
        (**self).list_review_flags(include_resolved)
    }

    fn resolve_review_flag(&self, id: Uuid, now: DateTime<Utc>) -> Result<ReviewFlag> {
        (**self).resolve_review_flag(id, now)
    }

    fn publish_fee_table(&self, table: &FeeTablePublish, now: DateTime<Utc>) -> Result<FeeTable> {
        (**self).publish_fee_table(table, now)
    }

    fn list_fee_tables(&self) -> Result<Vec<FeeTable>> {
        (**self).list_fee_tables()
    }

    fn publish_parts_catalogue(
        &self,
        catalogue: &PartsCataloguePublish,
        now: DateTime<Utc>,
    ) -> Result<PartsCatalogue> {
        (**self).publish_parts_catalogue(catalogue, now)
    }

    fn publish_price_list(&self, list: &PriceListPublish, now: DateTime<Utc>) -> Result<PriceList> {
        (**self).publish_price_list(list, now)
    }

    fn issue_parts(
        &self,
        technician_id: Uuid,
        id: Uuid,
        issue: &NewPartsIssue,
        now: DateTime<Utc>,
    ) -> Result<PartsIssue> {
        (**self).issue_parts(technician_id, id, issue, now)
    }

    fn list_parts_issues(&self, technician_id: Uuid) -> Result<Vec<PartsIssue>> {
        (**self).list_parts_issues(technician_id)
    }

    fn put_company(&self, company: &CompanyProfile, now: DateTime<Utc>) -> Result<CompanyProfile> {
        (**self).put_company(company, now)
    }

    fn has_blob(&self, sha256: &str) -> Result<bool> {
        (**self).has_blob(sha256)
    }

    fn put_blob(&self, sha256: &str, bytes: &[u8], now: DateTime<Utc>) -> Result<bool> {
        (**self).put_blob(sha256, bytes, now)
    }

    fn put_device_blob(
        &self,
        device_id: Uuid,
        sha256: &str,
        bytes: &[u8],
        now: DateTime<Utc>,
        bytes_per_day: u64,
    ) -> Result<BlobStored> {
        (**self).put_device_blob(device_id, sha256, bytes, now, bytes_per_day)
    }

    fn get_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        (**self).get_blob(sha256)
    }

    fn export_completed(&self, since: Option<DateTime<Utc>>) -> Result<Vec<ExportJob>> {
        (**self).export_completed(since)
    }

    fn export_technician_days(
        &self,
        query: &onsite_api::TechnicianDayQuery,
    ) -> Result<Vec<onsite_api::TechnicianDayFact>> {
        (**self).export_technician_days(query)
    }

    fn accounts(&self) -> Option<&dyn accounts::AccountStore> {
        (**self).accounts()
    }

    fn pool_state(&self) -> Option<(u32, u32)> {
        (**self).pool_state()
    }

    fn list_work_orders_page(
        &self,
        query: &WorkOrderQuery,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<WorkOrder>> {
        (**self).list_work_orders_page(query, after, limit)
    }

    fn export_completed_page(
        &self,
        since: Option<DateTime<Utc>>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<ExportJob>> {
        (**self).export_completed_page(since, after, limit)
    }
}

/// Whether a re-sent fact is the one stored under its fact id: the same payload, or the
/// same with fields added by a later build of the device (every stored field equal).
/// A device re-sends an acknowledged op after a restore; the result head office kept for
/// it may have been forgotten behind the restore horizon, and the device may have been
/// upgraded since it first sent it.
pub(crate) fn same_fact(stored: &serde_json::Value, sent: &serde_json::Value) -> bool {
    match (stored, sent) {
        // A field stored as null and left out now is the same (optional fields are left out
        // when empty by later builds).
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => a
            .iter()
            .all(|(k, v)| b.get(k).unwrap_or(&serde_json::Value::Null) == v),
        _ => stored == sent,
    }
}
