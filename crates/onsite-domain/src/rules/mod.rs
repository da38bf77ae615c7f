//! The visit's rules: entitlement (warranty, contract, exclusions), pricing with versioned
//! fee tables and bundles, old-part deposits. Pure functions, no I/O.
//!
//! The one entry point is [`price_job`]: give it the fee-table versions, the rules
//! configuration and what was done on the job; it returns a [`PricedJob`] whose every line
//! says whether it is covered, charged or held as a deposit, and why, in Chinese and
//! English. Each rule lives in one place:
//!
//! - [`fee_table`]: fee items, bundles, which version is in force on a date.
//! - [`entitlement`]: warranty periods, proof of purchase, exclusions, service contracts.
//! - [`old_parts`]: deposits on covered parts until the old part is back.
//! - [`pricing`]: quantities, technician prices, bundle choice, lines and totals.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub mod entitlement;
pub mod fee_table;
pub mod old_parts;
pub mod pricing;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use entitlement::{
    entitle, warranty_expiry, Appliance, ComponentRule, ContractCover, CoveredBy, Entitlement,
    Exclusion, RecordedExclusion, ServiceContract, Term, WarrantyPolicy,
};
pub use fee_table::{select_version, Bundle, FeeItem, FeeTableStamp, FeeTableVersion, ItemKind};
pub use old_parts::{OldPartPolicy, OldPartState};
pub use pricing::{
    price_job, JobInput, LineStatus, PricedJob, PricedLine, RequestedLine, Totals, MAX_QUANTITY,
};

/// A text shown to the customer or the technician, in both of the app's languages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct Bilingual {
    /// Simplified Chinese (zh-CN).
    pub zh: String,
    /// English.
    pub en: String,
}

impl Bilingual {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Bilingual {
            zh: zh.into(),
            en: en.into(),
        }
    }
}

/// Everything head office configures that the rules read, apart from the fee tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesConfig {
    pub warranty: WarrantyPolicy,
    pub old_parts: OldPartPolicy,
}

/// Why the rules refused a job. Messages name item and component codes (configuration),
/// never anything about the customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum RulesError {
    #[error("no fee table is in force on {date}")]
    NoFeeTableInForce { date: chrono::NaiveDate },
    #[error("two fee-table versions take effect on {effective_from}")]
    AmbiguousFeeTable { effective_from: chrono::NaiveDate },
    #[error("fee table {version} is invalid: {problem}")]
    InvalidFeeTable { version: String, problem: String },
    #[error("item {code} is not in the fee table in force")]
    UnknownItem { code: String },
    #[error("component {code} is not in the warranty policy")]
    UnknownComponent { code: String },
    #[error("quantity {quantity} for item {code} must be between 1 and {max}")]
    InvalidQuantity {
        code: String,
        quantity: i32,
        max: i32,
    },
    #[error("service {code} is charged once per job: quantity must be 1")]
    ServiceQuantityNotOne { code: String },
    #[error("service {code} is requested more than once")]
    DuplicateService { code: String },
    #[error("item {code} has a fixed price: the technician cannot change it")]
    PriceNotEditable { code: String },
    #[error("the price entered for item {code} is negative")]
    NegativePrice { code: String },
    #[error("the price entered for item {code} is in another currency")]
    CurrencyMismatch { code: String },
    #[error("the purchase date is after the visit date")]
    PurchaseDateInFuture,
    #[error("a service contract ends before it starts")]
    InvalidContract,
    #[error("a warranty of {months} months is out of range")]
    InvalidWarrantyTerm { months: u32 },
    #[error("the job has more than {max} distinct services")]
    TooManyServices { max: usize },
    #[error("line {line} holds no deposit to reverse")]
    NoDepositOnLine { line: usize },
    #[error("the amounts are too large to add up")]
    Overflow,
}

impl RulesError {
    /// A stable code the UI translates into the user's language.
    pub fn code(&self) -> &'static str {
        match self {
            RulesError::NoFeeTableInForce { .. } => "no_fee_table_in_force",
            RulesError::AmbiguousFeeTable { .. } => "ambiguous_fee_table",
            RulesError::InvalidFeeTable { .. } => "invalid_fee_table",
            RulesError::UnknownItem { .. } => "unknown_item",
            RulesError::UnknownComponent { .. } => "unknown_component",
            RulesError::InvalidQuantity { .. } => "invalid_quantity",
            RulesError::ServiceQuantityNotOne { .. } => "service_quantity_not_one",
            RulesError::DuplicateService { .. } => "duplicate_service",
            RulesError::PriceNotEditable { .. } => "price_not_editable",
            RulesError::NegativePrice { .. } => "negative_price",
            RulesError::CurrencyMismatch { .. } => "currency_mismatch",
            RulesError::PurchaseDateInFuture => "purchase_date_in_future",
            RulesError::InvalidContract => "invalid_contract",
            RulesError::InvalidWarrantyTerm { .. } => "invalid_warranty_term",
            RulesError::TooManyServices { .. } => "too_many_services",
            RulesError::NoDepositOnLine { .. } => "no_deposit_on_line",
            RulesError::Overflow => "overflow",
        }
    }
}
