//! The inputs of the documents. Plain data: the app maps its job records into these.
//! Money is integer minor units (fen); times carry the offset they were recorded in.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

/// The customer's language: every label of a document is printed in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

/// Paper for the receipts: an A4 sheet or an 80 mm thermal roll (height fitted to the
/// content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Paper {
    A4,
    Roll80,
}

/// The issuing company, from the app's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    pub name: String,
    pub phone: String,
    /// Optional address line under the name.
    pub address: Option<String>,
    /// Optional logo, PNG bytes.
    pub logo_png: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
    pub phone: Option<String>,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appliance {
    /// What it is, e.g. "净水器" / "Water purifier".
    pub product: String,
    pub model: String,
    pub serial: Option<String>,
    pub purchase_date: Option<NaiveDate>,
}

/// Who pays for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cover {
    /// The customer pays quantity × unit price.
    Charged,
    /// Free to the customer under the product's warranty ("保修").
    Warranty,
    /// Free to the customer under a service contract ("合同").
    Contract,
}

impl Cover {
    /// The customer pays nothing for the line.
    pub fn is_covered(self) -> bool {
        !matches!(self, Cover::Charged)
    }
}

/// One line of a job: a service from the fee table or a part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    /// Fee-table code or part number (may be empty).
    pub code: String,
    pub description: String,
    pub quantity: u32,
    pub unit_price_fen: i64,
    /// Charged, or covered by the warranty or a contract (then the customer pays nothing
    /// for this line).
    pub cover: Cover,
    /// Why it is covered or charged, e.g. "在保修期内" / "Consumable, never covered".
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayMethod {
    Cash,
    WeChatPay,
    Alipay,
    BankCard,
    BankTransfer,
    Other(String),
}

/// What has been paid for the job so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub paid_fen: i64,
    pub method: Option<PayMethod>,
    /// An invoice follows and the balance is collected later.
    pub invoice_to_follow: bool,
}

/// A signature captured on screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// The signature image, PNG bytes (transparent background is fine).
    pub png: Vec<u8>,
    pub signer: String,
    pub signed_at: DateTime<FixedOffset>,
}

/// The customer's signature on a sign-off sheet, or the recorded reason there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CustomerSignature {
    Signed(Signature),
    NotSigned { reason: String },
}

/// 1. Sign-off sheet (A4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignOffInput {
    pub lang: Lang,
    pub company: Company,
    pub work_order_no: String,
    /// When the document is produced; also its PDF creation date.
    pub issued_at: DateTime<FixedOffset>,
    pub visit_date: NaiveDate,
    pub customer: Customer,
    pub appliance: Appliance,
    pub fault_reported: String,
    pub fault_found: String,
    /// The technician's notes taken with the diagnosis.
    #[serde(default)]
    pub diagnosis_notes: String,
    /// What was done: services and parts with quantities and serials, then notes. An empty
    /// field (and any other empty fault row) prints as "—": nothing was recorded.
    pub work_done: String,
    pub items: Vec<LineItem>,
    /// Version of the fee table the prices come from.
    pub fee_table_version: String,
    pub payment: Payment,
    pub signature: CustomerSignature,
    pub technician: String,
    /// SHA-256 hex of the job's canonical content, computed by the caller at signing.
    pub content_hash: String,
}

/// The customer's acceptance of a quote: signed on screen, or recorded by the technician
/// (the customer said yes) with the time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Acceptance {
    Signed(Signature),
    Recorded { at: DateTime<FixedOffset> },
}

/// 2. Quote (A4): the lines before the work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteInput {
    pub lang: Lang,
    pub company: Company,
    pub quote_no: String,
    pub work_order_no: String,
    pub issued_at: DateTime<FixedOffset>,
    pub customer: Customer,
    pub appliance: Appliance,
    pub fault_found: String,
    pub items: Vec<LineItem>,
    pub fee_table_version: String,
    pub valid_until: NaiveDate,
    /// `None` until the customer accepts.
    pub acceptance: Option<Acceptance>,
    pub technician: String,
}

/// 3. Payment receipt (A4 or 80 mm roll).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentReceiptInput {
    pub lang: Lang,
    pub paper: Paper,
    pub company: Company,
    pub receipt_no: String,
    pub work_order_no: String,
    pub issued_at: DateTime<FixedOffset>,
    pub customer_name: String,
    /// What the money is for, e.g. "更换滤芯及维护" / "Filter replacement and service".
    pub description: String,
    /// Total charged for the job.
    pub job_total_fen: i64,
    /// Paid before this payment.
    pub previously_paid_fen: i64,
    /// Paid now (this receipt's amount).
    pub amount_fen: i64,
    pub method: PayMethod,
    /// Cash handed over, when more than the amount (change is given back).
    pub tendered_fen: Option<i64>,
    pub technician: String,
}

/// 4. Carry-back receipt (A4 or 80 mm roll): the appliance goes to the workshop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CarryBackInput {
    pub lang: Lang,
    pub paper: Paper,
    pub company: Company,
    pub receipt_no: String,
    pub work_order_no: String,
    /// When the appliance was taken.
    pub issued_at: DateTime<FixedOffset>,
    pub customer: Customer,
    pub appliance: Appliance,
    pub accessories: Vec<String>,
    pub condition: String,
    pub fault: String,
    pub expected_return: NaiveDate,
    pub signature: Signature,
    pub technician: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobOutcome {
    Completed,
    CarriedBack,
    NotCompleted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayJob {
    pub work_order_no: String,
    pub customer_name: String,
    pub summary: String,
    pub outcome: JobOutcome,
    pub charged_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartMovement {
    pub part_no: String,
    pub description: String,
    pub quantity: u32,
    pub serial: Option<String>,
    /// Work order it was used on, or that the returned old part came from.
    pub work_order_no: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayPayment {
    pub work_order_no: String,
    pub method: PayMethod,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenCarryBack {
    pub receipt_no: String,
    pub customer_name: String,
    pub appliance: String,
    pub taken_on: NaiveDate,
    pub expected_return: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpenseKind {
    Meals,
    Lodging,
    Mileage,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expense {
    pub kind: ExpenseKind,
    pub description: String,
    pub amount_fen: i64,
}

/// 5. Day-end summary (A4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayEndInput {
    pub lang: Lang,
    pub company: Company,
    pub technician: String,
    pub date: NaiveDate,
    pub issued_at: DateTime<FixedOffset>,
    pub jobs: Vec<DayJob>,
    pub parts_used: Vec<PartMovement>,
    /// Unused parts and old (replaced) parts going back to the warehouse.
    pub parts_returned: Vec<PartMovement>,
    pub payments: Vec<DayPayment>,
    pub carry_backs_open: Vec<OpenCarryBack>,
    pub expenses: Vec<Expense>,
}
