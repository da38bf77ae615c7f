//! The technician's day outside any one job (issue 3): the day's expenses and the van's
//! stock-take. Thin adapters over `onsite_store::visit`; each write runs in one
//! transaction (with its outbox operation where the store records one) and returns what
//! the store holds afterwards, so the screen always shows the recorded state.

use chrono::NaiveDate;
use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::view_day::{
    ExpenseForm, ExpenseRatesView, ExpensesDayView, StockCountForm, StockTakeResult,
};
use onsite_domain::view_visit::VanPartView;
use onsite_store::visit::{self, ExpenseInput, ExpenseRates, StockCount, VisitError};
use onsite_store::Store;
use serde::{de::DeserializeOwned, Serialize};
use tauri::State;

use crate::state::{local_day, AppState};

type Reply<T> = Result<T, IpcError>;

/// The store's types and the IPC ones have the same fields (the IPC ones add the
/// TypeScript bindings); a field that drifted is an internal error, not a silent loss.
fn convert<A: Serialize, B: DeserializeOwned>(value: &A) -> Result<B, VisitError> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(VisitError::from)
}

/// A calendar day as the UI sends it (`YYYY-MM-DD`); none means today on this device.
fn parse_day(day: Option<&str>) -> Reply<NaiveDate> {
    match day.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(chrono::Local::now().date_naive()),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| IpcError::new(ErrorCode::InvalidInput, "the day is not a date")),
    }
}

fn day_view(store: &Store, day: NaiveDate) -> Result<ExpensesDayView, VisitError> {
    Ok(ExpensesDayView {
        day: day.to_string(),
        rates: convert(&visit::expense_rates(store.conn())?)?,
        recorded: visit::expense(store.conn(), day)?
            .map(|e| convert(&e))
            .transpose()?,
    })
}

/// The expenses screen for `day` (today when none): the rates now and what is recorded.
#[tauri::command]
pub fn expenses(state: State<AppState>, day: Option<String>) -> Reply<ExpensesDayView> {
    let day = parse_day(day.as_deref())?;
    state.with_visit(|s| day_view(s, day))
}

/// Records the day's expenses at the current rates; recording a day again replaces it.
#[tauri::command]
pub fn record_expense(state: State<AppState>, form: ExpenseForm) -> Reply<ExpensesDayView> {
    let day = parse_day(Some(&form.day))?;
    let input = ExpenseInput {
        day,
        km: form.km,
        meal_days: form.meal_days,
        nights: form.nights,
    };
    let now = local_day().now;
    state.with_visit(|s| {
        visit::write(s, |tx| visit::record_expense(tx, &input, now))?;
        day_view(s, day)
    })
}

/// Changes the expense rates (a device setting); returns `day`'s screen with the new rates.
#[tauri::command]
pub fn set_expense_rates(
    state: State<AppState>,
    rates: ExpenseRatesView,
    day: Option<String>,
) -> Reply<ExpensesDayView> {
    let day = parse_day(day.as_deref())?;
    let rates = ExpenseRates {
        per_km_minor: rates.per_km_minor,
        meal_per_day_minor: rates.meal_per_day_minor,
        lodging_per_night_minor: rates.lodging_per_night_minor,
    };
    state.with_visit(|s| {
        visit::write(s, |tx| visit::set_expense_rates(tx, &rates))?;
        day_view(s, day)
    })
}

/// Every part the van carries, by part number, with the quantity the ledger expects.
#[tauri::command]
pub fn van_stock(state: State<AppState>) -> Reply<Vec<VanPartView>> {
    state.with_visit(|s| convert(&visit::van_stock(s.conn())?))
}

/// Records a stock-take of the parts counted (each difference becomes a stock movement)
/// and returns the lines with the van's stock after it.
#[tauri::command]
pub fn stock_take(state: State<AppState>, counts: Vec<StockCountForm>) -> Reply<StockTakeResult> {
    let counts: Vec<StockCount> = counts
        .into_iter()
        .map(|c| StockCount {
            part_id: c.part_id,
            counted: c.counted,
        })
        .collect();
    // Filed by the local day the technician sees, not the UTC date (issue 9, hole 12).
    let day = local_day();
    state.with_visit(|s| {
        let (stock_take_id, lines) = visit::write(s, |tx| {
            visit::stock_take_on(tx, &counts, day.today(), day.now)
        })?;
        Ok(StockTakeResult {
            stock_take_id,
            lines: convert(&lines)?,
            van: convert(&visit::van_stock(s.conn())?)?,
        })
    })
}
