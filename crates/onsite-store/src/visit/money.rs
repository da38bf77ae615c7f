//! Payments, the outstanding balance per job and per customer, feedback, and the
//! technician's expenses for a day.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::{amount, append, new_id, open_order, quote, text, Step, VisitError, VisitResult};
use crate::{outbox, settings, ts, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    BankTransfer,
    Qr,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Card => "card",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Qr => "qr",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "cash" => PaymentMethod::Cash,
            "card" => PaymentMethod::Card,
            "bank_transfer" => PaymentMethod::BankTransfer,
            "qr" => PaymentMethod::Qr,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInput {
    pub method: PaymentMethod,
    /// What is taken towards the job (minor units).
    pub amount_minor: i64,
    /// Cash only (required): what the customer handed over; the change is the rest.
    pub tendered_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    pub id: String,
    pub method: PaymentMethod,
    pub amount_minor: i64,
    pub tendered_minor: Option<i64>,
    pub change_minor: Option<i64>,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentReceipt {
    pub payment_id: String,
    pub change_minor: Option<i64>,
    pub balance: Balance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    /// Nothing is due (no accepted quote, or everything covered).
    NothingDue,
    Unpaid,
    PartPaid,
    Paid,
    /// The rest is to be invoiced and collected later.
    InvoicedLater,
    /// More was paid than is now due (a deposit reversed after payment).
    RefundDue,
}

/// Where a job's money stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub due_minor: i64,
    pub paid_minor: i64,
    /// `due - paid`; negative when a refund is owed.
    pub outstanding_minor: i64,
    /// The amount handed over to be invoiced later, if that was chosen.
    pub invoiced_later_minor: Option<i64>,
    pub settlement: Settlement,
}

/// The job's balance: due from its current quote (accepted: its total due after reversed
/// deposits; declined: the call-out fee; otherwise nothing) less what was paid.
pub fn job_balance(conn: &Connection, work_order_id: &str) -> VisitResult<Balance> {
    let due = quote::current(conn, work_order_id)?.map_or(0, |q| q.due_minor());
    let paid: i64 = conn.query_row(
        "SELECT coalesce(sum(amount_minor), 0) FROM payment WHERE work_order_id = ?1",
        [work_order_id],
        |r| r.get(0),
    )?;
    let invoiced: Option<i64> = conn
        .query_row(
            "SELECT amount_minor FROM visit_invoice_later WHERE work_order_id = ?1",
            [work_order_id],
            |r| r.get(0),
        )
        .optional()?;
    let outstanding = due - paid;
    let settlement = if outstanding < 0 {
        Settlement::RefundDue
    } else if due == 0 {
        Settlement::NothingDue
    } else if outstanding == 0 {
        Settlement::Paid
    } else if invoiced.is_some() {
        Settlement::InvoicedLater
    } else if paid > 0 {
        Settlement::PartPaid
    } else {
        Settlement::Unpaid
    };
    Ok(Balance {
        due_minor: due,
        paid_minor: paid,
        outstanding_minor: outstanding,
        invoiced_later_minor: invoiced,
        settlement,
    })
}

/// What a customer still owes over all their jobs (negative: owed a refund).
pub fn customer_balance(conn: &Connection, customer_id: &str) -> VisitResult<i64> {
    let mut stmt = conn.prepare_cached(
        "SELECT w.id FROM work_order w WHERE w.customer_id = ?1
           AND EXISTS (SELECT 1 FROM visit_quote q WHERE q.work_order_id = w.id)",
    )?;
    let ids = stmt
        .query_map([customer_id], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut total = 0i64;
    for id in ids {
        total += job_balance(conn, &id)?.outstanding_minor;
    }
    Ok(total)
}

pub(crate) fn payments(conn: &Connection, work_order_id: &str) -> VisitResult<Vec<Payment>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, method, amount_minor, tendered_minor, change_minor, at FROM payment
         WHERE work_order_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([work_order_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(id, method, amount_minor, tendered_minor, change_minor, at)| {
                Ok(Payment {
                    id,
                    method: PaymentMethod::parse(&method).ok_or_else(|| {
                        StoreError::Invalid("unknown payment method stored".into())
                    })?,
                    amount_minor,
                    tendered_minor,
                    change_minor,
                    at,
                })
            },
        )
        .collect()
}

#[derive(Serialize)]
struct PaymentPayload<'a> {
    work_order_id: &'a str,
    customer_id: &'a str,
    payment_id: &'a str,
    method: PaymentMethod,
    amount_minor: i64,
    tendered_minor: Option<i64>,
    change_minor: Option<i64>,
    at: String,
}

/// Takes money towards a job: never more than is outstanding. Cash needs the amount
/// tendered, at least the amount; the change is worked out.
pub fn take_payment(
    tx: &Transaction,
    work_order_id: &str,
    input: &PaymentInput,
    now: DateTime<Utc>,
) -> VisitResult<PaymentReceipt> {
    let order = open_order(tx, work_order_id, Step::Settle)?;
    let amount_minor = amount(input.amount_minor)?;
    let (tendered, change) = match (input.method, input.tendered_minor) {
        (PaymentMethod::Cash, Some(tendered)) => {
            let tendered = amount(tendered)?;
            if tendered < amount_minor {
                return Err(VisitError::TenderedTooLittle {
                    tendered,
                    amount: amount_minor,
                });
            }
            (Some(tendered), Some(tendered - amount_minor))
        }
        (PaymentMethod::Cash, None) => {
            return Err(VisitError::Invalid(
                "a cash payment needs the amount tendered".into(),
            ))
        }
        (_, Some(_)) => {
            return Err(VisitError::Invalid(
                "only cash payments have an amount tendered".into(),
            ))
        }
        (_, None) => (None, None),
    };
    let before = job_balance(tx, &order.id)?;
    if amount_minor > before.outstanding_minor {
        return Err(VisitError::PaymentAboveDue {
            outstanding: before.outstanding_minor.max(0),
            offered: amount_minor,
        });
    }
    let order = super::begin_work(tx, order, now)?;
    let id = new_id();
    let op_id = append(
        tx,
        outbox::kind::TAKE_PAYMENT,
        &order.id,
        Some(order.version),
        &PaymentPayload {
            work_order_id: &order.id,
            customer_id: &order.customer_id,
            payment_id: &id,
            method: input.method,
            amount_minor,
            tendered_minor: tendered,
            change_minor: change,
            at: ts(now),
        },
        now,
    )?;
    tx.execute(
        "INSERT INTO payment (id, work_order_id, customer_id, method, amount_minor,
                              tendered_minor, change_minor, at, op_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            id,
            order.id,
            order.customer_id,
            input.method.as_str(),
            amount_minor,
            tendered,
            change,
            ts(now),
            op_id
        ],
    )?;
    Ok(PaymentReceipt {
        payment_id: id,
        change_minor: change,
        balance: job_balance(tx, &order.id)?,
    })
}

/// The outstanding balance will be invoiced and collected later. Returns the amount.
pub fn invoice_later(
    tx: &Transaction,
    work_order_id: &str,
    now: DateTime<Utc>,
) -> VisitResult<i64> {
    let order = open_order(tx, work_order_id, Step::Settle)?;
    let balance = job_balance(tx, &order.id)?;
    if balance.outstanding_minor <= 0 {
        return Err(VisitError::Invalid(
            "nothing is outstanding to invoice".into(),
        ));
    }
    if balance.invoiced_later_minor.is_some() {
        return Err(VisitError::Invalid(
            "the balance is already to be invoiced".into(),
        ));
    }
    let order = super::begin_work(tx, order, now)?;
    let op_id = append(
        tx,
        outbox::kind::INVOICE_LATER,
        &order.id,
        Some(order.version),
        &serde_json::json!({
            "work_order_id": order.id,
            "customer_id": order.customer_id,
            "amount_minor": balance.outstanding_minor,
            "at": ts(now),
        }),
        now,
    )?;
    tx.execute(
        "INSERT INTO visit_invoice_later (work_order_id, amount_minor, at, op_id)
         VALUES (?1, ?2, ?3, ?4)",
        params![order.id, balance.outstanding_minor, ts(now), op_id],
    )?;
    Ok(balance.outstanding_minor)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feedback {
    pub rating: u8,
    pub comment: String,
    pub callback_allowed: bool,
    pub at: String,
}

/// The customer's feedback after the work (the latest recorded counts).
pub fn record_feedback(
    tx: &Transaction,
    work_order_id: &str,
    rating: u8,
    comment: &str,
    callback_allowed: bool,
    now: DateTime<Utc>,
) -> VisitResult<()> {
    let order = open_order(tx, work_order_id, Step::Settle)?;
    if !(1..=5).contains(&rating) {
        return Err(VisitError::Invalid(format!(
            "rating {rating} must be 1 to 5"
        )));
    }
    let comment = text("the comment", comment, 2_000)?;
    // The comment is the customer's own words: it goes to head office, which asked for
    // the feedback form (004 §3.3), but it is not identifying data like a name or phone.
    let op_id = append(
        tx,
        outbox::kind::RECORD_FEEDBACK,
        &order.id,
        Some(order.version),
        &serde_json::json!({
            "work_order_id": order.id,
            "rating": rating,
            "comment": comment,
            "callback_allowed": callback_allowed,
            "at": ts(now),
        }),
        now,
    )?;
    tx.execute(
        "INSERT INTO visit_feedback (work_order_id, rating, comment, callback_allowed, at, op_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![order.id, rating, comment, callback_allowed, ts(now), op_id],
    )?;
    crate::drafts::clear(tx, &order.id, &[crate::drafts::FEEDBACK_COMMENT])?;
    Ok(())
}

pub(crate) fn feedback(conn: &Connection, work_order_id: &str) -> VisitResult<Option<Feedback>> {
    Ok(conn
        .query_row(
            "SELECT rating, comment, callback_allowed, at FROM visit_feedback
             WHERE work_order_id = ?1 ORDER BY seq DESC LIMIT 1",
            [work_order_id],
            |r| {
                Ok(Feedback {
                    rating: r.get(0)?,
                    comment: r.get(1)?,
                    callback_allowed: r.get(2)?,
                    at: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// Expense rates (minor units), device settings with the seeds' defaults (004 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpenseRates {
    pub per_km_minor: i64,
    pub meal_per_day_minor: i64,
    pub lodging_per_night_minor: i64,
}

impl Default for ExpenseRates {
    fn default() -> Self {
        ExpenseRates {
            per_km_minor: 100,
            meal_per_day_minor: 3_000,
            lodging_per_night_minor: 15_000,
        }
    }
}

pub const RATE_PER_KM_KEY: &str = "expense.per_km_minor";
pub const RATE_MEAL_KEY: &str = "expense.meal_per_day_minor";
pub const RATE_LODGING_KEY: &str = "expense.lodging_per_night_minor";

fn rate(conn: &Connection, key: &str, default: i64) -> VisitResult<i64> {
    match settings::get(conn, key)? {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n: &i64| (0..=MAX_RATE).contains(n))
            .ok_or_else(|| VisitError::Invalid(format!("setting {key} is not a valid rate"))),
    }
}

const MAX_RATE: i64 = 1_000_000;

pub fn expense_rates(conn: &Connection) -> VisitResult<ExpenseRates> {
    let d = ExpenseRates::default();
    Ok(ExpenseRates {
        per_km_minor: rate(conn, RATE_PER_KM_KEY, d.per_km_minor)?,
        meal_per_day_minor: rate(conn, RATE_MEAL_KEY, d.meal_per_day_minor)?,
        lodging_per_night_minor: rate(conn, RATE_LODGING_KEY, d.lodging_per_night_minor)?,
    })
}

/// Changes the rates (device settings: not an outbox operation).
pub fn set_expense_rates(tx: &Transaction, rates: &ExpenseRates) -> VisitResult<()> {
    for (key, value) in [
        (RATE_PER_KM_KEY, rates.per_km_minor),
        (RATE_MEAL_KEY, rates.meal_per_day_minor),
        (RATE_LODGING_KEY, rates.lodging_per_night_minor),
    ] {
        if !(0..=MAX_RATE).contains(&value) {
            return Err(VisitError::InvalidAmount {
                amount: value,
                max: MAX_RATE,
            });
        }
        settings::set(tx, key, &value.to_string())?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpenseInput {
    pub day: NaiveDate,
    /// Kilometres driven in the technician's own vehicle.
    pub km: i64,
    /// Person-days of meals.
    pub meal_days: i64,
    /// Room-nights of lodging.
    pub nights: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expense {
    pub day: NaiveDate,
    pub km: i64,
    pub meal_days: i64,
    pub nights: i64,
    pub rates: ExpenseRates,
    pub mileage_minor: i64,
    pub meals_minor: i64,
    pub lodging_minor: i64,
    pub total_minor: i64,
}

/// Records the day's expenses at the current rates (recording the same day again
/// replaces it). Needs the device's technician.
pub fn record_expense(
    tx: &Transaction,
    input: &ExpenseInput,
    now: DateTime<Utc>,
) -> VisitResult<Expense> {
    let technician_id =
        settings::get(tx, settings::TECHNICIAN_ID)?.ok_or(StoreError::NotFound("technician"))?;
    let km = super::quantity(input.km, 0, 5_000)?;
    let meal_days = super::quantity(input.meal_days, 0, 20)?;
    let nights = super::quantity(input.nights, 0, 20)?;
    let rates = expense_rates(tx)?;
    let mileage = km * rates.per_km_minor;
    let meals = meal_days * rates.meal_per_day_minor;
    let lodging = nights * rates.lodging_per_night_minor;
    let expense = Expense {
        day: input.day,
        km,
        meal_days,
        nights,
        rates,
        mileage_minor: mileage,
        meals_minor: meals,
        lodging_minor: lodging,
        total_minor: mileage + meals + lodging,
    };
    let op_id = append(
        tx,
        outbox::kind::RECORD_EXPENSE,
        &technician_id,
        None,
        &serde_json::json!({
            "technician_id": technician_id,
            "expense": expense,
            "at": ts(now),
        }),
        now,
    )?;
    tx.execute(
        "INSERT INTO technician_expense (technician_id, day, km, rate_per_km_minor, meal_days,
                                         meal_rate_minor, nights, night_rate_minor,
                                         mileage_minor, meals_minor, lodging_minor,
                                         total_minor, at, op_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (technician_id, day) DO UPDATE SET
             km = excluded.km, rate_per_km_minor = excluded.rate_per_km_minor,
             meal_days = excluded.meal_days, meal_rate_minor = excluded.meal_rate_minor,
             nights = excluded.nights, night_rate_minor = excluded.night_rate_minor,
             mileage_minor = excluded.mileage_minor, meals_minor = excluded.meals_minor,
             lodging_minor = excluded.lodging_minor, total_minor = excluded.total_minor,
             at = excluded.at, op_id = excluded.op_id",
        params![
            technician_id,
            input.day.to_string(),
            km,
            rates.per_km_minor,
            meal_days,
            rates.meal_per_day_minor,
            nights,
            rates.lodging_per_night_minor,
            mileage,
            meals,
            lodging,
            expense.total_minor,
            ts(now),
            op_id
        ],
    )?;
    Ok(expense)
}

/// The day's recorded expenses for the device's technician.
pub fn expense(conn: &Connection, day: NaiveDate) -> VisitResult<Option<Expense>> {
    let Some(technician_id) = settings::get(conn, settings::TECHNICIAN_ID)? else {
        return Ok(None);
    };
    Ok(conn
        .query_row(
            "SELECT km, meal_days, nights, rate_per_km_minor, meal_rate_minor, night_rate_minor,
                    mileage_minor, meals_minor, lodging_minor, total_minor
             FROM technician_expense WHERE technician_id = ?1 AND day = ?2",
            params![technician_id, day.to_string()],
            |r| {
                Ok(Expense {
                    day,
                    km: r.get(0)?,
                    meal_days: r.get(1)?,
                    nights: r.get(2)?,
                    rates: ExpenseRates {
                        per_km_minor: r.get(3)?,
                        meal_per_day_minor: r.get(4)?,
                        lodging_per_night_minor: r.get(5)?,
                    },
                    mileage_minor: r.get(6)?,
                    meals_minor: r.get(7)?,
                    lodging_minor: r.get(8)?,
                    total_minor: r.get(9)?,
                })
            },
        )
        .optional()?)
}
