//! The visit in the store (issue 3): diagnosis, quote and the customer's decision, parts
//! from the van, payments, feedback, the technician's expenses.
//!
//! Every step is a function taking a `&Transaction` that checks its input, writes its rows
//! and exactly one outbox operation ([`crate::outbox::kind`]); run it with [`write`], which
//! commits it or, on any error, rolls everything back and returns the typed
//! [`VisitError`]. Outbox payloads carry ids, codes and amounts, never the customer's
//! name, phone or address. [`state`] reads back where a job's visit stands.
//!
//! Decisions where the issue is silent:
//! - A refused quote ends the visit: the order goes to `unable_to_complete` with the
//!   reason `quote_declined` (the status machine has no status of its own for it), in the
//!   same transaction and under the same single `RecordQuoteDecision` operation. If the fee
//!   table in force has an item `CALLOUT`, it is priced by the rules and becomes due.
//! - Parts are taken for the lines of the current quote: a part must be on it (up to its
//!   quoted quantity) and, if the quote charges anything, the quote must be accepted.
//! - Steps on a cancelled order are refused. On a completed order only old-part returns
//!   (handed in at the warehouse later) are accepted; on an order ended as unable to
//!   complete, also payments and feedback (a call-out fee may be due).

use chrono::{DateTime, Utc};
use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::rules::RulesError;
use onsite_domain::WorkOrderStatus;
use rusqlite::{Connection, OptionalExtension, Transaction};
use serde::Serialize;

use crate::{Store, StoreError};

mod diagnosis;
mod money;
mod parts;
mod quote;
mod read;

pub use diagnosis::{put_blob, record_diagnosis, Blob, Diagnosis, DiagnosisInput, MAX_BLOB_BYTES};
pub use money::{
    customer_balance, expense, expense_rates, invoice_later, job_balance, record_expense,
    record_feedback, set_expense_rates, take_payment, Balance, Expense, ExpenseInput, ExpenseRates,
    Feedback, Payment, PaymentInput, PaymentMethod, PaymentReceipt, Settlement,
};
pub use parts::{
    find_part_no, local_day, return_old_part, return_unused, return_unused_on, search_van_stock,
    stock_movements, stock_take, stock_take_on, take_part, van_stock, OldPartReturn, PartReturn,
    PartUse, StockCount, StockMovement, StockTakeLine, TakePart, VanStockItem,
};
pub use quote::{
    components_for, decide_quote, issue_quote, load_fee_tables, rules_config, Decision, Quote,
    QuoteDecision, QuoteLine, QuoteRequest, StoredFeeTable, CALLOUT_CODE, QUOTE_DECLINED,
};
pub use read::{state, Stage, VisitState};

/// The largest quantity of a part on one step, and of a count in a stock-take.
pub const MAX_PART_QUANTITY: i64 = 999;
/// The largest amount of money accepted in one step: 1,000,000 yuan.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000;

/// Why a visit step was refused. Messages name codes, ids and amounts, never customer data.
#[derive(Debug, thiserror::Error)]
pub enum VisitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("pricing refused the job: {0}")]
    Rules(#[from] RulesError),
    #[error("the work order was cancelled by head office")]
    OrderCancelled,
    #[error("the work order is {status}: this step can no longer be recorded")]
    OrderClosed { status: &'static str },
    #[error("quantity {quantity} must be between {min} and {max}")]
    InvalidQuantity { quantity: i64, min: i64, max: i64 },
    #[error("amount {amount} (minor units) must be between 1 and {max}")]
    InvalidAmount { amount: i64, max: i64 },
    #[error("a payment of {offered} is above the {outstanding} still due (minor units)")]
    PaymentAboveDue { outstanding: i64, offered: i64 },
    #[error("cash tendered ({tendered}) is less than the amount taken ({amount})")]
    TenderedTooLittle { tendered: i64, amount: i64 },
    #[error("only {available} of part {part_no} in the van, {requested} asked: an override with a reason is needed")]
    InsufficientStock {
        part_no: String,
        available: i64,
        requested: i64,
    },
    #[error("no quote has been issued for this job")]
    NoQuote,
    #[error("part {part_no} is not on the current quote, or more than quoted is taken")]
    PartNotQuoted { part_no: String },
    #[error("the quote charges the customer and has not been accepted")]
    QuoteNotAccepted,
    #[error("the quote has already been decided")]
    QuoteAlreadyDecided,
    #[error("quote {quote_id} is not the job's current quote")]
    QuoteSuperseded { quote_id: String },
    #[error("part {part_no} is serialized: {what} is required")]
    SerialRequired { part_no: String, what: &'static str },
    #[error("the old part of part use {part_use_id} has already been returned")]
    AlreadyReturned { part_use_id: String },
    #[error("the photo is {size} bytes; head office accepts at most {max} bytes")]
    PhotoTooLarge { size: usize, max: usize },
    #[error("the fault found is required")]
    FaultRequired,
    #[error("choose at least one service or part for the quote")]
    QuoteEmpty,
    #[error("invalid input: {0}")]
    Invalid(String),
}

pub type VisitResult<T> = Result<T, VisitError>;

impl From<rusqlite::Error> for VisitError {
    fn from(e: rusqlite::Error) -> Self {
        VisitError::Store(StoreError::from(e))
    }
}

impl From<serde_json::Error> for VisitError {
    fn from(e: serde_json::Error) -> Self {
        VisitError::Store(StoreError::from(e))
    }
}

impl VisitError {
    pub fn code(&self) -> ErrorCode {
        match self {
            VisitError::Store(e) => e.to_ipc().code,
            VisitError::Rules(e) => match e {
                RulesError::InvalidQuantity { .. } | RulesError::ServiceQuantityNotOne { .. } => {
                    ErrorCode::InvalidQuantity
                }
                RulesError::PriceNotEditable { .. } => ErrorCode::PriceNotEditable,
                RulesError::NegativePrice { .. } => ErrorCode::InvalidAmount,
                RulesError::PurchaseDateInFuture => ErrorCode::PurchaseDateInFuture,
                RulesError::NoFeeTableInForce { .. } => ErrorCode::NoFeeTable,
                _ => ErrorCode::InvalidInput,
            },
            VisitError::OrderCancelled => ErrorCode::OrderCancelled,
            VisitError::OrderClosed { .. } => ErrorCode::OrderClosed,
            VisitError::InvalidQuantity { .. } => ErrorCode::InvalidQuantity,
            VisitError::InvalidAmount { .. } | VisitError::TenderedTooLittle { .. } => {
                ErrorCode::InvalidAmount
            }
            VisitError::PaymentAboveDue { .. } => ErrorCode::PaymentAboveDue,
            VisitError::PhotoTooLarge { .. } => ErrorCode::PhotoTooLarge,
            VisitError::InsufficientStock { .. } => ErrorCode::InsufficientStock,
            VisitError::NoQuote | VisitError::PartNotQuoted { .. } => ErrorCode::QuoteRequired,
            VisitError::QuoteNotAccepted => ErrorCode::QuoteNotAccepted,
            VisitError::FaultRequired => ErrorCode::FaultRequired,
            VisitError::QuoteEmpty => ErrorCode::QuoteEmpty,
            VisitError::QuoteAlreadyDecided
            | VisitError::QuoteSuperseded { .. }
            | VisitError::SerialRequired { .. }
            | VisitError::AlreadyReturned { .. }
            | VisitError::Invalid(_) => ErrorCode::InvalidInput,
        }
    }

    /// The error as the UI receives it.
    pub fn to_ipc(&self) -> IpcError {
        match self {
            VisitError::Store(e) => e.to_ipc(),
            other => IpcError::new(other.code(), other.to_string()),
        }
    }
}

/// Runs one visit step in one IMMEDIATE transaction: committed if it succeeds, rolled back
/// (nothing written, no outbox row) if it fails, with the step's own error.
pub fn write<T>(
    store: &mut Store,
    step: impl FnOnce(&Transaction) -> VisitResult<T>,
) -> VisitResult<T> {
    let mut refused: Option<VisitError> = None;
    let result = store.write(|tx| match step(tx) {
        Ok(value) => Ok(value),
        Err(VisitError::Store(e)) => Err(e),
        Err(e) => {
            refused = Some(e);
            Err(StoreError::Invalid("visit step refused".into()))
        }
    });
    result.map_err(|e| refused.take().unwrap_or(VisitError::Store(e)))
}

/// What a step may be recorded on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Diagnosis, quote, decision, parts: only while the order is open.
    Work,
    /// Payment and feedback: also after the visit ended as unable to complete.
    Settle,
    /// An old part handed back: also after the order is completed.
    OldPart,
}

#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub id: String,
    pub status: WorkOrderStatus,
    pub version: i64,
    pub customer_id: String,
    pub appliance_id: String,
}

pub(crate) fn order(conn: &Connection, id: &str) -> VisitResult<Order> {
    let row = conn
        .query_row(
            "SELECT id, status, version, customer_id, appliance_id FROM work_order WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            },
        )
        .optional()?;
    let (id, status, version, customer_id, appliance_id) =
        row.ok_or(StoreError::NotFound("work order"))?;
    let status = WorkOrderStatus::parse(&status)
        .ok_or_else(|| StoreError::Invalid("unknown status in the database".into()))?;
    Ok(Order {
        id,
        status,
        version,
        customer_id,
        appliance_id,
    })
}

/// The order, if `step` may be recorded on it.
pub(crate) fn open_order(conn: &Connection, id: &str, step: Step) -> VisitResult<Order> {
    use WorkOrderStatus::*;
    let order = order(conn, id)?;
    let allowed = match order.status {
        Cancelled => return Err(VisitError::OrderCancelled),
        Assigned | EnRoute | OnSite | InProgress => true,
        UnableToComplete => step != Step::Work,
        Completed => step == Step::OldPart,
    };
    if allowed {
        Ok(order)
    } else {
        Err(VisitError::OrderClosed {
            status: order.status.as_str(),
        })
    }
}

/// The visit's work has started: an order still `on_site` moves to `in_progress` first
/// (stamped at `now`, its own status-change operation before the step's), and is read
/// again. Call it after the step's checks, before its operation.
pub(crate) fn begin_work(
    tx: &Transaction,
    current: Order,
    now: DateTime<Utc>,
) -> VisitResult<Order> {
    if crate::workorders::start_work(tx, &current.id, now)? {
        order(tx, &current.id)
    } else {
        Ok(current)
    }
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Trims `text` and refuses it above `max` characters.
pub(crate) fn text(field: &str, text: &str, max: usize) -> VisitResult<String> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(VisitError::Invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(text.to_string())
}

pub(crate) fn quantity(quantity: i64, min: i64, max: i64) -> VisitResult<i64> {
    if (min..=max).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(VisitError::InvalidQuantity { quantity, min, max })
    }
}

pub(crate) fn amount(amount: i64) -> VisitResult<i64> {
    if (1..=MAX_AMOUNT_MINOR).contains(&amount) {
        Ok(amount)
    } else {
        Err(VisitError::InvalidAmount {
            amount,
            max: MAX_AMOUNT_MINOR,
        })
    }
}

pub(crate) fn append(
    tx: &Transaction,
    kind: &str,
    entity_id: &str,
    base_version: Option<i64>,
    payload: &impl Serialize,
    now: DateTime<Utc>,
) -> VisitResult<String> {
    Ok(crate::outbox::append(
        tx,
        kind,
        entity_id,
        base_version,
        payload,
        now,
    )?)
}
