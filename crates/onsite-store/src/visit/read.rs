//! Where a job's visit stands: everything recorded, read back after a restart.

use onsite_domain::WorkOrderStatus;
use rusqlite::Connection;
use serde::Serialize;

use super::money::{self, Balance, Feedback, Payment};
use super::parts::{self, PartReturn, PartUse};
use super::quote::{self, Decision, Quote};
use super::{diagnosis, Diagnosis, VisitResult};

/// The furthest step the visit reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    NotStarted,
    Diagnosed,
    Quoted,
    QuoteAccepted,
    QuoteDeclined,
    PartsTaken,
    Payment,
    FeedbackGiven,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitState {
    pub work_order_id: String,
    pub status: WorkOrderStatus,
    pub stage: Stage,
    pub diagnosis: Option<Diagnosis>,
    /// The current quote and its decision.
    pub quote: Option<Quote>,
    pub parts: Vec<PartUse>,
    pub returns: Vec<PartReturn>,
    pub payments: Vec<Payment>,
    pub balance: Balance,
    pub feedback: Option<Feedback>,
}

/// The visit of `work_order_id` as recorded.
pub fn state(conn: &Connection, work_order_id: &str) -> VisitResult<VisitState> {
    let order = super::order(conn, work_order_id)?;
    let diagnosis = diagnosis::current(conn, &order.id)?;
    let quote = quote::current(conn, &order.id)?;
    let parts = parts::uses(conn, &order.id)?;
    let returns = parts::returns(conn, &order.id)?;
    let payments = money::payments(conn, &order.id)?;
    let balance = money::job_balance(conn, &order.id)?;
    let feedback = money::feedback(conn, &order.id)?;
    let stage = if feedback.is_some() {
        Stage::FeedbackGiven
    } else if !payments.is_empty() || balance.invoiced_later_minor.is_some() {
        Stage::Payment
    } else if !parts.is_empty() {
        Stage::PartsTaken
    } else if let Some(q) = &quote {
        match q.decision.as_ref().map(|d| d.decision) {
            Some(Decision::Accepted) => Stage::QuoteAccepted,
            Some(Decision::Declined) => Stage::QuoteDeclined,
            None => Stage::Quoted,
        }
    } else if diagnosis.is_some() {
        Stage::Diagnosed
    } else {
        Stage::NotStarted
    };
    Ok(VisitState {
        work_order_id: order.id,
        status: order.status,
        stage,
        diagnosis,
        quote,
        parts,
        returns,
        payments,
        balance,
        feedback,
    })
}
