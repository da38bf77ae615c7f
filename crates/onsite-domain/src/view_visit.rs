//! The visit as the UI sees it (issue 3): what was recorded on a job (diagnosis, quote and
//! decision, parts, returns, payments, balance, feedback), the choices the visit screen
//! offers, and the forms it sends. They cross the IPC boundary, so each derives `TS`.
//! Amounts are minor units (fen).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::rules::{Bilingual, FeeItem, FeeTableStamp, PricedJob, RecordedExclusion};
use crate::WorkOrderStatus;

/// A photo stored under its SHA-256 in the blobs folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PhotoView {
    pub sha256: String,
    pub media_type: String,
    #[ts(type = "number")]
    pub size: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DiagnosisView {
    pub id: String,
    pub fault_found: String,
    /// Warranty component codes (`pump`, `filter`...).
    pub components: Vec<String>,
    pub exclusions: Vec<RecordedExclusion>,
    pub notes: String,
    pub photos: Vec<PhotoView>,
    pub recorded_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum QuoteDecisionKind {
    Accepted,
    Declined,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct QuoteDecisionView {
    pub decision: QuoteDecisionKind,
    pub at: String,
}

/// The job's current quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct QuoteView {
    pub id: String,
    pub work_order_id: String,
    pub fee_table_id: String,
    #[ts(type = "number")]
    pub fee_table_version: i64,
    pub issued_at: String,
    /// As shown to the customer.
    pub priced: PricedJob,
    /// As it stands now: deposits of returned old parts reversed.
    pub current: PricedJob,
    pub decision: Option<QuoteDecisionView>,
    /// Due when declined: the call-out fee, if the fee table has one.
    pub callout: Option<PricedJob>,
}

/// A part taken from the van for the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PartUseView {
    pub id: String,
    pub part_id: String,
    pub part_no: String,
    #[ts(type = "number")]
    pub quantity: i64,
    pub serial_fitted: Option<String>,
    pub serial_removed: Option<String>,
    pub override_reason: Option<String>,
    pub at: String,
    /// Old parts handed back for this use.
    #[ts(type = "number")]
    pub old_returned: i64,
}

/// Parts going back to the warehouse: `unused` ones from the van or the `old` part removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PartReturnView {
    pub id: String,
    pub kind: String,
    pub part_id: String,
    #[ts(type = "number")]
    pub quantity: i64,
    pub part_use_id: Option<String>,
    pub serial: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    BankTransfer,
    Qr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PaymentView {
    pub id: String,
    pub method: PaymentMethod,
    #[ts(type = "number")]
    pub amount_minor: i64,
    #[ts(type = "number | null")]
    pub tendered_minor: Option<i64>,
    #[ts(type = "number | null")]
    pub change_minor: Option<i64>,
    pub at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    NothingDue,
    Unpaid,
    PartPaid,
    Paid,
    InvoicedLater,
    RefundDue,
}

/// Where the job's money stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BalanceView {
    #[ts(type = "number")]
    pub due_minor: i64,
    #[ts(type = "number")]
    pub paid_minor: i64,
    /// `due - paid`; negative when a refund is owed.
    #[ts(type = "number")]
    pub outstanding_minor: i64,
    #[ts(type = "number | null")]
    pub invoiced_later_minor: Option<i64>,
    pub settlement: Settlement,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FeedbackView {
    pub rating: u8,
    pub comment: String,
    pub callback_allowed: bool,
    pub at: String,
}

/// The furthest step the visit reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum VisitStage {
    NotStarted,
    Diagnosed,
    Quoted,
    QuoteAccepted,
    QuoteDeclined,
    PartsTaken,
    Payment,
    FeedbackGiven,
}

/// Everything recorded on a job's visit: reopening the job shows where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct VisitStateView {
    pub work_order_id: String,
    pub status: WorkOrderStatus,
    pub stage: VisitStage,
    pub diagnosis: Option<DiagnosisView>,
    pub quote: Option<QuoteView>,
    pub parts: Vec<PartUseView>,
    pub returns: Vec<PartReturnView>,
    pub payments: Vec<PaymentView>,
    pub balance: BalanceView,
    pub feedback: Option<FeedbackView>,
}

/// A part in the van.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct VanPartView {
    pub part_id: String,
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub category: String,
    #[ts(type = "number")]
    pub price_minor: i64,
    pub serialized: bool,
    pub consumable: bool,
    pub return_required: bool,
    #[ts(type = "number")]
    pub quantity: i64,
}

/// A component the technician may name in the diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ComponentOption {
    pub code: String,
    pub name: Bilingual,
}

/// What the visit screen offers for a job: the fee table in force today (its services,
/// bundles excluded: the rules choose them) and the components of its appliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct VisitCatalog {
    pub fee_table: FeeTableStamp,
    pub services: Vec<FeeItem>,
    pub components: Vec<ComponentOption>,
    /// The van's stock now.
    pub van: Vec<VanPartView>,
}

/// The diagnosis form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DiagnosisForm {
    pub fault_found: String,
    pub components: Vec<String>,
    pub exclusions: Vec<RecordedExclusion>,
    pub notes: String,
    /// Photos already stored with `add_photo`.
    pub photos: Vec<PhotoView>,
}

/// One line to quote: a fee-item code or a van part number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct QuoteLineForm {
    pub code: String,
    pub quantity: i32,
    pub component: Option<String>,
    /// Open-priced items only.
    #[ts(type = "number | null")]
    pub price_minor: Option<i64>,
}

/// Taking a part from the van.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TakePartForm {
    pub part_id: String,
    #[ts(type = "number")]
    pub quantity: i64,
    pub serial_fitted: Option<String>,
    pub serial_removed: Option<String>,
    /// Needed when the van would go below zero.
    pub override_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PaymentForm {
    pub method: PaymentMethod,
    #[ts(type = "number")]
    pub amount_minor: i64,
    /// Cash only: what the customer handed over.
    #[ts(type = "number | null")]
    pub tendered_minor: Option<i64>,
}

/// A payment taken: the change to give back (cash) and the visit after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PaymentResult {
    #[ts(type = "number | null")]
    pub change_minor: Option<i64>,
    pub visit: VisitStateView,
}
