//! The head-office API: what a dispatcher's tool, a script or an ERP sends with the admin
//! token (`Authorization: Bearer <admin token>`), and the records it gets back. Work orders
//! and reference data published here reach the technicians' devices through pull.

use chrono::{DateTime, NaiveDate, Utc};
use onsite_domain::rules::{ContractCover, ItemKind};
use onsite_domain::view::ProofOfPurchase;
use onsite_domain::{JobType, Money, WorkOrderStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::sync::FactRecord;

// ---------------------------------------------------------------------------------------
// Technicians and devices

/// `POST /v1/admin/technicians`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewTechnician {
    /// Display name, 1–100 chars.
    pub name: String,
}

/// A technician known to head office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Technician {
    /// Head office's id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// When registered.
    pub created_at: DateTime<Utc>,
}

/// `POST /v1/admin/technicians/{id}/enrolment-codes`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewEnrolmentCode {
    /// How long the code stays valid, in hours (default 24, at most 720).
    pub valid_hours: Option<u32>,
}

/// A one-time enrolment code: give it to the technician, who types it into the app. It
/// works once, until `expires_at`. Shown once; the server keeps only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EnrolmentCode {
    /// The code, e.g. `K7QM-3XPD-9WRT`.
    pub code: String,
    /// For whom.
    pub technician_id: Uuid,
    /// Until when.
    pub expires_at: DateTime<Utc>,
}

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Device {
    /// The device's id.
    pub id: Uuid,
    /// Whose device.
    pub technician_id: Uuid,
    /// The label given at enrolment.
    pub name: String,
    /// When enrolled.
    pub enrolled_at: DateTime<Utc>,
    /// When revoked; a revoked device's token is refused (401 `device_revoked`).
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the office marked it lost (`POST /v1/admin/devices/{id}/lost`): its next sync
    /// sends what it holds, then erases its customer data. Absent from older head offices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_at: Option<DateTime<Utc>>,
    /// When the device reported it erased its customer data (it was revoked then), with
    /// what it erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<ErasedRecord>,
}

/// What a lost device reported erasing, and when head office heard it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErasedRecord {
    /// When head office received the report.
    pub at: DateTime<Utc>,
    /// The device's counts.
    pub report: crate::ErasedReport,
}

// ---------------------------------------------------------------------------------------
// Work orders

/// The customer of a work order. Confidential: never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    /// Name.
    pub name: String,
    /// Phone number.
    pub phone: String,
    /// Visit address.
    pub address: String,
    /// The language documents and the quote are shown in: `zh-CN` (the default) or `en`.
    #[serde(default = "default_language")]
    pub language: String,
}

fn default_language() -> String {
    "zh-CN".into()
}

fn yes() -> bool {
    true
}

/// A maintenance contract on the appliance (DOMAIN.md: *contract* service): within its
/// dates, what it covers is free whatever the warranty says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceContract {
    /// Head office's contract number, shown to the technician and the customer.
    pub reference: String,
    /// Labour, parts or both.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ContractCover))]
    pub covers: ContractCover,
    /// First day covered.
    pub valid_from: NaiveDate,
    /// Last day covered (inclusive).
    pub valid_to: NaiveDate,
}

/// The appliance to work on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Appliance {
    /// The fee-table category, e.g. `water_purifier` (a job is priced with the fee table
    /// of its appliance's category).
    pub category: String,
    /// Brand.
    pub brand: String,
    /// Model.
    pub model: String,
    /// Serial number, if known.
    pub serial_no: Option<String>,
    /// Purchase date, for the warranty decision.
    pub purchase_date: Option<NaiveDate>,
    /// The proof of purchase on file (free service needs one with a date and a seal);
    /// none when head office has not seen one (the technician records it on site).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::ProofOfPurchase>))]
    pub proof: Option<ProofOfPurchase>,
    /// Maintenance contracts on the appliance.
    #[serde(default)]
    pub contracts: Vec<ServiceContract>,
}

/// `POST /v1/admin/work-orders`: dispatch a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewWorkOrder {
    /// Head office's order number (unique; 409 if taken).
    pub order_no: String,
    /// The technician to assign it to, or none for "not dispatched yet".
    pub technician_id: Option<Uuid>,
    /// What kind of job.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::JobType))]
    pub job_type: JobType,
    /// The customer.
    pub customer: Customer,
    /// The appliance.
    pub appliance: Appliance,
    /// The fault as reported.
    pub reported_fault: String,
    /// Notes for the technician.
    #[serde(default)]
    pub notes: String,
    /// Appointment window start.
    pub appointment_start: DateTime<Utc>,
    /// Appointment window end (not before the start).
    pub appointment_end: DateTime<Utc>,
}

/// `PATCH /v1/admin/work-orders/{id}`: change what head office owns (schedule, customer
/// and appliance details, notes). Absent fields stay as they are. Head office wins: the
/// change goes to the technician's device on its next pull.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkOrderUpdate {
    /// When set, the update is refused with 409 unless the order is at this version.
    pub expected_version: Option<i64>,
    /// New job type.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::JobType>))]
    pub job_type: Option<JobType>,
    /// New customer details.
    pub customer: Option<Customer>,
    /// New appliance details.
    pub appliance: Option<Appliance>,
    /// New fault text.
    pub reported_fault: Option<String>,
    /// New notes.
    pub notes: Option<String>,
    /// New appointment start.
    pub appointment_start: Option<DateTime<Utc>>,
    /// New appointment end.
    pub appointment_end: Option<DateTime<Utc>>,
}

/// `POST /v1/admin/work-orders/{id}/reassign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReassignRequest {
    /// The new technician.
    pub technician_id: Uuid,
    /// When set, refused with 409 unless the order is at this version.
    pub expected_version: Option<i64>,
}

/// `POST /v1/admin/work-orders/{id}/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelRequest {
    /// Why (for the office; shown to the technician). No customer data please.
    pub reason: String,
}

/// A work order as head office holds it (and as a device pulls it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkOrder {
    /// Head office's id (UUIDv7).
    pub id: Uuid,
    /// Order number.
    pub order_no: String,
    /// Bumped by every change, from head office or from a technician's status change.
    pub version: i64,
    /// The assigned technician.
    pub technician_id: Option<Uuid>,
    /// The current status.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::WorkOrderStatus))]
    pub status: WorkOrderStatus,
    /// Job type.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::JobType))]
    pub job_type: JobType,
    /// The customer.
    pub customer: Customer,
    /// The appliance.
    pub appliance: Appliance,
    /// The fault as reported.
    pub reported_fault: String,
    /// Notes for the technician.
    pub notes: String,
    /// Appointment window start.
    pub appointment_start: DateTime<Utc>,
    /// Appointment window end.
    pub appointment_end: DateTime<Utc>,
    /// Why head office cancelled it, if it did.
    pub cancel_reason: Option<String>,
    /// True while an unresolved review flag is open on it.
    pub flagged_for_review: bool,
    /// Created at head office.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A note the technician added after the job was closed ([`crate::Addendum`]), as head
/// office stored it. Not part of what the customer signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobAddendum {
    /// The device's id of the addendum.
    pub id: Uuid,
    /// The note.
    pub text: String,
    /// When it was added (device clock).
    pub at: DateTime<Utc>,
    /// Who added it.
    pub technician_id: Uuid,
    /// When head office received it.
    pub received_at: DateTime<Utc>,
}

/// `GET /v1/admin/work-orders/{id}`: the order with everything recorded on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkOrderDetail {
    /// The order.
    pub work_order: WorkOrder,
    /// The technician's own notes on the job as they last left them (their latest
    /// `edit_notes` fact); `None` when they never edited them. Head office's notes for the
    /// technician are [`WorkOrder::notes`].
    #[serde(default)]
    pub technician_notes: Option<String>,
    /// Notes the technician added after the job was closed, oldest first.
    #[serde(default)]
    pub addenda: Vec<JobAddendum>,
    /// Every technician fact, in the order received.
    pub facts: Vec<FactRecord>,
    /// Its review flags, resolved or not.
    pub review_flags: Vec<ReviewFlag>,
}

// ---------------------------------------------------------------------------------------
// Fee tables, parts, prices

/// One line of a fee table (DOMAIN.md, water purifiers). The fields after `plus_parts`
/// are what the device's pricing rules need; older publishers may leave them out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeeItem {
    /// Stable code, e.g. `RELOCATE_MAINT`.
    pub code: String,
    /// What the service is (used for a name left empty).
    pub description: String,
    /// The fee for the service itself.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub fee: Money,
    /// True when parts are charged on top ("20 + parts").
    pub plus_parts: bool,
    /// Name in Chinese, as the customer reads it.
    #[serde(default)]
    pub name_zh: String,
    /// Name in English.
    #[serde(default)]
    pub name_en: String,
    /// Service (once per job, may be bundled), labour, travel or part. Default: service.
    #[serde(default = "service")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ItemKind))]
    pub kind: ItemKind,
    /// The technician sets the price on site (a quoted repair); every other item's price
    /// is fixed.
    #[serde(default)]
    pub open_priced: bool,
    /// Warranty and contracts may make it free (false: relocation, which the customer
    /// chooses, is charged whatever the warranty). Default: true.
    #[serde(default = "yes")]
    pub coverable: bool,
    /// For a bundle: the codes of the services it replaces when all are on one job
    /// (relocate + maintain = 50, not 40 + 30).
    #[serde(default)]
    pub includes: Vec<String>,
}

fn service() -> ItemKind {
    ItemKind::Service
}

/// `POST /v1/admin/fee-tables`: publish a new fee-table version. Versions are numbered by
/// the server (1, 2, …) with one counter for every category, and never change once
/// published; a device uses, per category, the version in force on the work date
/// (docs/hq-reference-data.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeeTablePublish {
    /// The appliance category it prices, e.g. `water_purifier` (default `hq`, for older
    /// publishers: such a table prices no appliance until republished with a category).
    #[serde(default = "default_category")]
    pub category: String,
    /// From when it applies (work done before keeps the older table's prices).
    pub effective_from: DateTime<Utc>,
    /// The lines; codes unique.
    pub items: Vec<FeeItem>,
}

fn default_category() -> String {
    "hq".into()
}

/// A published fee-table version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeeTable {
    /// The appliance category it prices.
    #[serde(default = "default_category")]
    pub category: String,
    /// The version number.
    pub version: i64,
    /// From when it applies.
    pub effective_from: DateTime<Utc>,
    /// When published.
    pub published_at: DateTime<Utc>,
    /// The lines.
    pub items: Vec<FeeItem>,
}

/// A catalogue part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Part {
    /// Part number, unique.
    pub part_no: String,
    /// Name (in Chinese when `name_en` is given).
    pub name: String,
    /// Carries a serial number to record when fitted.
    pub serialised: bool,
    /// A consumable (e.g. a filter): never covered by warranty.
    pub consumable: bool,
    /// Name in English.
    #[serde(default)]
    pub name_en: Option<String>,
    /// The appliance component it is, which decides its warranty term (`filter`, `pump`,
    /// `glass`, …; see the device's warranty components).
    #[serde(default)]
    pub component: Option<String>,
    /// The old part has a recovery value: it must come back even when cheap (004 §4.5a).
    #[serde(default)]
    pub return_required: bool,
}

/// `PUT /v1/admin/parts-catalogue`: replace the catalogue (a new version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartsCataloguePublish {
    /// Every part; part numbers unique.
    pub parts: Vec<Part>,
}

/// The parts catalogue in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartsCatalogue {
    /// The version number.
    pub version: i64,
    /// When published.
    pub published_at: DateTime<Utc>,
    /// Every part.
    pub parts: Vec<Part>,
}

/// One price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartPrice {
    /// Part number.
    pub part_no: String,
    /// Unit price.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub price: Money,
}

/// `POST /v1/admin/price-lists`: publish a parts price-list version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceListPublish {
    /// From when it applies.
    pub effective_from: DateTime<Utc>,
    /// The prices; part numbers unique.
    pub prices: Vec<PartPrice>,
}

/// A published price-list version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceList {
    /// The version number.
    pub version: i64,
    /// From when it applies.
    pub effective_from: DateTime<Utc>,
    /// When published.
    pub published_at: DateTime<Utc>,
    /// The prices.
    pub prices: Vec<PartPrice>,
}

// ---------------------------------------------------------------------------------------
// Parts issued to a technician, the company profile

/// One line of a parts issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartsIssueLine {
    /// Part number, in the catalogue in force when issued.
    pub part_no: String,
    /// How many, 1–999.
    pub quantity: u32,
}

/// `POST /v1/admin/technicians/{id}/parts-issues`: parts handed to a technician (their
/// van stock grows by these quantities once the device pulls it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewPartsIssue {
    /// 1–200 lines.
    pub lines: Vec<PartsIssueLine>,
    /// Head office's note (up to 500 characters).
    #[serde(default)]
    pub note: Option<String>,
    /// The repair order the parts are issued against, if any.
    #[serde(default)]
    pub work_order_id: Option<Uuid>,
}

/// Parts issued to a technician, as stored (never changed afterwards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartsIssue {
    /// Head office's id (UUIDv7): a device applies an issue once by this id.
    pub id: Uuid,
    /// The technician.
    pub technician_id: Uuid,
    /// When head office recorded it.
    pub issued_at: DateTime<Utc>,
    /// The lines.
    pub lines: Vec<PartsIssueLine>,
    /// Head office's note.
    #[serde(default)]
    pub note: Option<String>,
    /// The repair order, if any.
    #[serde(default)]
    pub work_order_id: Option<Uuid>,
}

/// `PUT /v1/admin/company`: the letterhead the devices print on their documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompanyProfile {
    /// Company name, 1–200 characters.
    pub name: String,
    /// Phone, up to 200 characters.
    #[serde(default)]
    pub phone: String,
    /// Address, up to 200 characters.
    #[serde(default)]
    pub address: String,
}

// ---------------------------------------------------------------------------------------
// Review, export, epoch

/// Why a job needs an office look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// A technician's fact arrived for a job head office had cancelled.
    CancelledBeforeSync,
    /// A technician's fact arrived for a job head office had reassigned to someone else.
    ReassignedBeforeSync,
    /// A status change that the status machine does not allow from the server's status
    /// (kept as a fact; the server's status was left as it was).
    StatusConflict,
    /// A signature whose content hash does not match the job's content as head office
    /// recomputes it from the job and the technician's facts (stored all the same).
    SignatureMismatch,
    /// A fact arrived without the file it references (a signature or document lost or
    /// damaged on the device); the technician's reason is on the fact
    /// ([`crate::FactRecord::file_missing`]).
    FileMissing,
}

impl ReviewReason {
    /// Stable text (database, CSV).
    pub const fn as_str(self) -> &'static str {
        match self {
            ReviewReason::CancelledBeforeSync => "cancelled_before_sync",
            ReviewReason::ReassignedBeforeSync => "reassigned_before_sync",
            ReviewReason::StatusConflict => "status_conflict",
            ReviewReason::SignatureMismatch => "signature_mismatch",
            ReviewReason::FileMissing => "file_missing",
        }
    }

    /// Parses [`ReviewReason::as_str`].
    pub fn parse(text: &str) -> Option<ReviewReason> {
        [
            ReviewReason::CancelledBeforeSync,
            ReviewReason::ReassignedBeforeSync,
            ReviewReason::StatusConflict,
            ReviewReason::SignatureMismatch,
            ReviewReason::FileMissing,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

/// A job flagged for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewFlag {
    /// The flag's id.
    pub id: Uuid,
    /// The job.
    pub work_order_id: Uuid,
    /// Its order number.
    pub order_no: String,
    /// Why.
    pub reason: ReviewReason,
    /// The op that raised it.
    pub op_id: Uuid,
    /// Who pushed it.
    pub technician_id: Uuid,
    /// From which device.
    pub device_id: Uuid,
    /// When raised.
    pub created_at: DateTime<Utc>,
    /// When an office user marked it dealt with.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// An op head office refused, kept whole: the office can see it, fix the cause and apply
/// it ([`crate::routes::ADMIN_REFUSED_OP_APPLY`]); the device sends it again when the cause
/// may have gone ([`crate::RejectCode::may_clear`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefusedOp {
    /// The device that sent it.
    pub device_id: Uuid,
    /// Its technician.
    pub technician_id: Uuid,
    /// The op's id.
    pub op_id: Uuid,
    /// The device's sequence number of the op.
    pub device_seq: i64,
    /// The op's kind as sent.
    pub kind: String,
    /// The job (or, for a technician-day fact, the device's id of the record).
    pub entity_id: Uuid,
    /// The work-order version the device had.
    pub base_version: Option<i64>,
    /// The payload as sent.
    pub payload: serde_json::Value,
    /// The technician's reason for sending it without its file, if they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_missing: Option<String>,
    /// Why it was refused (the latest time).
    pub code: crate::RejectCode,
    /// Why, for people; no customer data.
    pub reason: String,
    /// When it was first refused.
    pub first_refused_at: DateTime<Utc>,
    /// When it was last refused.
    pub last_refused_at: DateTime<Utc>,
    /// How many times it was refused.
    pub attempts: i64,
    /// When it stopped being refused (applied on a later try), if it did.
    pub resolved_at: Option<DateTime<Utc>>,
    /// How: `applied_on_resend` (the device sent it again) or `applied_by_office`.
    pub resolution: Option<String>,
}

/// `PUT /v1/admin/restore-horizon`: the oldest backup of head office's database that is
/// still kept (and so could be restored). It may only move forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestoreHorizonRequest {
    /// When the oldest kept backup was taken.
    pub oldest_backup_at: DateTime<Utc>,
}

/// What head office may forget: everything committed before its oldest kept backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestoreHorizon {
    /// When the oldest kept backup was taken (none: never declared, nothing is forgotten).
    pub oldest_backup_at: Option<DateTime<Utc>>,
    /// The newest commit made before it (`<seq>:<tag>`), told to devices in the hello.
    pub checkpoint: Option<String>,
    /// Processed-op results head office forgot when this was declared (a re-sent op is
    /// still recognised by its fact id).
    pub forgotten_results: i64,
}

/// `GET`/`PUT /v1/admin/settings/retention`: devices remove a job closed more than `days`
/// days ago once every record of it reached head office (its history stays here).
/// `days` is within [`crate::retention::MIN_DAYS`]..=[`crate::retention::MAX_DAYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionSetting {
    pub days: u32,
}

/// Query of `GET /v1/admin/refused-ops`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RefusedQuery {
    /// Include those applied since (default false).
    pub include_resolved: Option<bool>,
    /// Only this technician's.
    pub technician_id: Option<Uuid>,
}

/// Query of `GET /v1/admin/review`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ReviewQuery {
    /// Include resolved flags too (default false).
    pub include_resolved: Option<bool>,
}

/// Query of `GET /v1/admin/work-orders`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct WorkOrderQuery {
    /// Only this status.
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::schema::WorkOrderStatus>, inline))]
    pub status: Option<WorkOrderStatus>,
    /// Only this technician's.
    pub technician_id: Option<Uuid>,
}

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// `application/json`: `Vec<ExportJob>`.
    #[default]
    Json,
    /// `text/csv`: one [`ExportRow`] per fact, with a header line.
    Csv,
}

/// Query of `GET /v1/admin/export`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ExportQuery {
    /// JSON (default) or CSV.
    #[cfg_attr(feature = "openapi", param(inline))]
    pub format: Option<ExportFormat>,
    /// Only jobs completed (last changed) at or after this time.
    pub since: Option<DateTime<Utc>>,
}

/// A completed job with everything recorded on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportJob {
    /// The order.
    pub work_order: WorkOrder,
    /// Every technician fact (status changes, work, parts, signatures, documents,
    /// payments), in the order received.
    pub facts: Vec<FactRecord>,
    /// The SHA-256 of every blob its facts reference (signatures, documents); fetch each
    /// at `GET /v1/admin/blobs/{sha256}`.
    pub blobs: Vec<String>,
    /// Appliances taken to the workshop on this job (from its carry-back facts), returned
    /// or not, as on `GET /v1/admin/carry-backs`.
    #[serde(default)]
    pub carry_backs: Vec<CarryBack>,
    /// The technician's own notes as they last left them ([`WorkOrderDetail::technician_notes`]).
    #[serde(default)]
    pub technician_notes: Option<String>,
    /// Notes the technician added after the job was closed, oldest first.
    #[serde(default)]
    pub addenda: Vec<JobAddendum>,
}

/// One CSV line of the export: one fact of one completed job. Customer details are not in
/// the CSV (use the JSON export or the order number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportRow {
    /// Order number.
    pub order_no: String,
    /// Work order id.
    pub work_order_id: Uuid,
    /// Job type.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::JobType))]
    pub job_type: JobType,
    /// Current status.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::WorkOrderStatus))]
    pub status: WorkOrderStatus,
    /// Technician who recorded the fact.
    pub technician_id: Uuid,
    /// The fact's client id.
    pub fact_id: Uuid,
    /// Its kind.
    pub fact_kind: String,
    /// When it happened (device clock).
    pub at: DateTime<Utc>,
    /// Service code, part number, new status, document type, signer or payment method.
    pub code: String,
    /// Quantity of parts (empty otherwise).
    pub quantity: Option<u32>,
    /// Money of the fact in minor units: work charge, part unit price or payment.
    pub amount_minor: Option<i64>,
    /// Currency of `amount_minor`.
    pub currency: Option<String>,
    /// Fee-table or price-list version the price came from.
    pub price_version: Option<i64>,
    /// Referenced blob.
    pub blob_sha256: Option<String>,
    /// Whether the job has an open review flag.
    pub flagged_for_review: bool,
}

impl ExportRow {
    /// The CSV header line's columns, in order.
    pub const COLUMNS: &'static [&'static str] = &[
        "order_no",
        "work_order_id",
        "job_type",
        "status",
        "technician_id",
        "fact_id",
        "fact_kind",
        "at",
        "code",
        "quantity",
        "amount_minor",
        "currency",
        "price_version",
        "blob_sha256",
        "flagged_for_review",
    ];
}

/// Query of `GET /v1/admin/export/technician-days`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct TechnicianDayQuery {
    /// JSON (default) or CSV.
    #[cfg_attr(feature = "openapi", param(inline))]
    pub format: Option<ExportFormat>,
    /// Only days on or after this one.
    pub from: Option<chrono::NaiveDate>,
    /// Only days on or before this one.
    pub to: Option<chrono::NaiveDate>,
    /// Only this technician's.
    pub technician_id: Option<Uuid>,
}

/// A technician fact that belongs to a technician's day rather than to a work order: a
/// van stock-take, the day's expenses, unused stock returned without a job. The JSON
/// export of `GET /v1/admin/export/technician-days`, ordered by day, technician, receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TechnicianDayFact {
    /// The day it counts for (expenses: the day recorded; stock-takes and returns: the UTC
    /// date of their time).
    pub day: chrono::NaiveDate,
    /// The client id of the fact.
    pub fact_id: Uuid,
    /// The op that carried it.
    pub op_id: Uuid,
    /// The technician.
    pub technician_id: Uuid,
    /// The device that pushed it.
    pub device_id: Uuid,
    /// Its kind (`stock_take`, `record_expense`, `return_part`).
    pub kind: crate::OpKind,
    /// The payload as pushed (parse with [`crate::OpPayload::parse`]).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::OpPayload))]
    pub payload: serde_json::Value,
    /// True when a later fact of the same kind replaces it for that technician and day
    /// (expenses recorded again); kept, never deleted.
    pub superseded: bool,
    /// When the server stored it.
    pub received_at: DateTime<Utc>,
}

/// One CSV line of the technician-day export: one expense, one counted part of a
/// stock-take, or one unused return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TechnicianDayRow {
    /// The day.
    pub day: chrono::NaiveDate,
    /// The technician.
    pub technician_id: Uuid,
    /// The fact's client id.
    pub fact_id: Uuid,
    /// Its kind.
    pub fact_kind: String,
    /// When it happened (device clock).
    pub at: DateTime<Utc>,
    /// Part id (stock-take, return) or `expense`.
    pub code: String,
    /// Counted or returned quantity; kilometres for an expense.
    pub quantity: Option<i64>,
    /// Stock-take: counted minus expected.
    pub difference: Option<i64>,
    /// Expense: the day's total, in minor units.
    pub amount_minor: Option<i64>,
    /// Currency of `amount_minor`.
    pub currency: Option<String>,
    /// See [`TechnicianDayFact::superseded`].
    pub superseded: bool,
}

impl TechnicianDayRow {
    /// The CSV header line's columns, in order.
    pub const COLUMNS: &'static [&'static str] = &[
        "day",
        "technician_id",
        "fact_id",
        "fact_kind",
        "at",
        "code",
        "quantity",
        "difference",
        "amount_minor",
        "currency",
        "superseded",
    ];
}

/// Query of `GET /v1/admin/carry-backs`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CarryBackQuery {
    /// Include items already returned (default false: only those still out).
    pub include_returned: Option<bool>,
    /// Only those taken by this technician.
    pub technician_id: Option<Uuid>,
}

/// An appliance taken to the workshop (carry-back), as head office knows it from the
/// technician's facts (`take_carry_back`, `advance_carry_back`, `return_carry_back`).
/// `GET /v1/admin/carry-backs` lists them oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CarryBack {
    /// The device's id of the carry-back.
    pub carry_back_id: Uuid,
    /// The receipt's number.
    pub receipt_no: String,
    /// The job it was taken on.
    pub work_order_id: Uuid,
    /// That job's order number.
    pub order_no: String,
    /// The technician who took it.
    pub technician_id: Uuid,
    /// What was taken.
    pub item: String,
    /// Where it is in the goods in/out log (the furthest step recorded).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CarryBackState))]
    pub state: onsite_domain::carryback::CarryBackState,
    /// When it was taken (device clock).
    pub taken_at: DateTime<Utc>,
    /// The return date promised on the receipt.
    pub expected_return: NaiveDate,
    /// Working days (Monday to Friday) since it was taken, up to today or its return.
    pub working_days_out: u32,
    /// Set while it is out and late: past the promised date, or past the 15 working days a
    /// repair may take (`onsite_domain::carryback::overdue`, on the server's UTC date).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::CarryBackOverdue>))]
    pub overdue: Option<onsite_domain::carryback::CarryBackOverdue>,
    /// When it was handed back.
    pub returned_at: Option<DateTime<Utc>>,
    /// On return: whether the receipt came back (false: its loss was recorded).
    pub receipt_collected: Option<bool>,
    /// Whether the job has an open review flag (e.g. cancelled before the sync).
    pub flagged_for_review: bool,
}

/// Reply of `POST /v1/admin/epoch/rotate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EpochReply {
    /// The new epoch.
    pub epoch: String,
}
