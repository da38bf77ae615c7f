//! Read models the UI shows. They cross the IPC boundary, so each derives `TS`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{JobType, Lateness, WorkOrderStatus};

/// One line on Today or in search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WorkOrderSummary {
    pub id: String,
    pub order_no: String,
    pub customer_name: String,
    /// Shown with search results, so that a match on a phone fragment can be checked.
    pub customer_phone: String,
    pub address: String,
    pub appliance_category: String,
    pub appliance_model: String,
    pub job_type: JobType,
    pub status: WorkOrderStatus,
    pub appointment_start: DateTime<Utc>,
    pub appointment_end: DateTime<Utc>,
    pub lateness: Lateness,
}

/// Today's list: open orders from earlier days (overdue) first, then today's, by
/// appointment time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TodayView {
    pub technician_name: String,
    pub date: NaiveDate,
    pub items: Vec<WorkOrderSummary>,
    /// Carry-backs past their return date or the 15-working-day limit.
    pub overdue_carry_backs: Vec<CarryBackView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ProofKind {
    None,
    Receipt,
    Invoice,
}

impl ProofKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ProofKind::None => "none",
            ProofKind::Receipt => "receipt",
            ProofKind::Invoice => "invoice",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "none" => Some(ProofKind::None),
            "receipt" => Some(ProofKind::Receipt),
            "invoice" => Some(ProofKind::Invoice),
            _ => None,
        }
    }
}

/// The proof of purchase the customer showed: free service needs one with a date and a
/// seal (DOMAIN.md, 001 §5.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProofOfPurchase {
    pub kind: ProofKind,
    pub date: Option<NaiveDate>,
    pub sealed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CustomerView {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    /// The language documents are printed in for this customer: "zh-CN" or "en".
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ApplianceView {
    pub id: String,
    pub category: String,
    pub brand: String,
    pub model: String,
    pub serial_no: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    pub proof: ProofOfPurchase,
    /// Maintenance contracts on the appliance (head office's).
    pub contracts: Vec<ContractView>,
}

/// A maintenance contract as the work order shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ContractView {
    pub reference: String,
    pub covers: crate::rules::ContractCover,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
}

/// One stamped status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StatusChangeView {
    pub from: Option<WorkOrderStatus>,
    pub to: WorkOrderStatus,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// An earlier visit to the same appliance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct VisitView {
    pub work_order_id: String,
    pub order_no: String,
    pub job_type: JobType,
    pub status: WorkOrderStatus,
    pub appointment_start: DateTime<Utc>,
    pub reported_fault: String,
}

/// Everything the work-order screen shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WorkOrderDetail {
    pub summary: WorkOrderSummary,
    pub customer: CustomerView,
    pub appliance: ApplianceView,
    pub reported_fault: String,
    pub notes: String,
    pub status_history: Vec<StatusChangeView>,
    pub earlier_visits: Vec<VisitView>,
    /// What the technician may move it to now.
    pub next_statuses: Vec<WorkOrderStatus>,
    /// SHA-256 of the job's content now (see `signoff`).
    pub content_hash: String,
    /// Every signature, oldest first; the last valid one counts.
    pub signatures: Vec<SignatureView>,
    pub documents: Vec<DocumentView>,
    pub carry_backs: Vec<CarryBackView>,
    /// What the technician recorded on this job on their other device (as head office
    /// stored it), oldest first: shown so that nothing is done twice.
    pub other_device: Vec<OtherDeviceFactView>,
    /// Notes added after the job was closed, oldest first. Not part of the content the
    /// customer signed: adding one leaves the signature valid.
    pub addenda: Vec<AddendumView>,
}

/// A note added to a completed (or ended) job, outside the signed content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AddendumView {
    pub id: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// Text typed but not saved yet (kept on this device only, never synced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DraftView {
    /// `notes`, `addendum`, `fault`, `diagnosis_notes` or `feedback_comment`.
    pub field: String,
    pub text: String,
    pub saved_at: DateTime<Utc>,
}

/// A fact recorded on the technician's other device, as shown on the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OtherDeviceFactView {
    /// The outbox kind it stands for (`TakePayment`, `IssueQuote`, …), for its label.
    pub kind: String,
    pub at: String,
    /// An amount it carries: the payment, the quote's total due, the invoice.
    #[ts(type = "number | null")]
    pub amount_minor: Option<i64>,
    /// The status it moved the job to.
    pub status: Option<WorkOrderStatus>,
    /// A part number and quantity, a signer, a rating: what identifies it.
    pub detail: Option<String>,
}

/// The UI language: `None` follows the system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Settings {
    pub locale: Option<String>,
}

/// What the shell tells the UI at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AppInfo {
    pub version: String,
    pub data_file: String,
    pub system_locale: String,
    pub settings: Settings,
}

/// A customer's signature on a job. `valid` is false once the job's content changed after
/// signing (the stored hash no longer matches): the signature is void, kept for history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SignatureView {
    pub id: String,
    pub signer_name: String,
    pub signed_at: DateTime<Utc>,
    pub content_hash: String,
    pub png_sha256: String,
    pub valid: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    SignOff,
    Quote,
    PaymentReceipt,
    CarryBack,
    DayEnd,
}

impl DocumentKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            DocumentKind::SignOff => "sign_off",
            DocumentKind::Quote => "quote",
            DocumentKind::PaymentReceipt => "payment_receipt",
            DocumentKind::CarryBack => "carry_back",
            DocumentKind::DayEnd => "day_end",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            DocumentKind::SignOff,
            DocumentKind::Quote,
            DocumentKind::PaymentReceipt,
            DocumentKind::CarryBack,
            DocumentKind::DayEnd,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// The paper a document is laid out for: an A4 sheet or the 80 mm thermal roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub enum Paper {
    #[serde(rename = "a4")]
    A4,
    #[serde(rename = "roll_80mm")]
    Roll80mm,
}

impl Paper {
    pub const fn as_str(self) -> &'static str {
        match self {
            Paper::A4 => "a4",
            Paper::Roll80mm => "roll_80mm",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Paper::A4, Paper::Roll80mm]
            .into_iter()
            .find(|p| p.as_str() == text)
    }
}

/// A PDF produced for a job, stored by its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct DocumentView {
    pub sha256: String,
    pub kind: DocumentKind,
    pub lang: String,
    /// The paper it is laid out for.
    pub paper: Paper,
    #[ts(type = "number")]
    pub size: i64,
    pub created_at: DateTime<Utc>,
}

/// An appliance taken to the workshop, as the goods in/out log holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CarryBackView {
    pub id: String,
    pub receipt_no: String,
    pub work_order_id: String,
    pub order_no: String,
    pub customer_name: String,
    pub item: String,
    pub serial_no: Option<String>,
    pub accessories: Vec<String>,
    pub condition: String,
    pub fault: String,
    pub expected_return: NaiveDate,
    pub state: crate::carryback::CarryBackState,
    pub taken_at: DateTime<Utc>,
    pub taken_signer: String,
    pub returned_at: Option<DateTime<Utc>>,
    /// On return: whether the customer handed the receipt back (false: its loss recorded).
    pub receipt_collected: Option<bool>,
    pub receipt_lost_note: Option<String>,
    pub returned_signer: Option<String>,
    pub photos: Vec<String>,
    pub overdue: Option<crate::carryback::CarryBackOverdue>,
}

/// What the technician fills in to take an appliance to the workshop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CarryBackForm {
    pub item: String,
    pub serial_no: Option<String>,
    pub accessories: Vec<String>,
    pub condition: String,
    pub fault: String,
    pub expected_return: NaiveDate,
    /// SHA-256 of photos already stored (see the `add_photo` command).
    pub photos: Vec<String>,
}
