//! The technician's day outside any one job, as the UI sees it: the day's expenses
//! (mileage, meals, lodging at configurable rates) and the van's stock-take. They cross
//! the IPC boundary, so each derives `TS`. Amounts are minor units (fen); days are
//! calendar days, `YYYY-MM-DD`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::view_visit::VanPartView;

/// The expense rates (minor units): per km driven, per meal day, per night of lodging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExpenseRatesView {
    #[ts(type = "number")]
    pub per_km_minor: i64,
    #[ts(type = "number")]
    pub meal_per_day_minor: i64,
    #[ts(type = "number")]
    pub lodging_per_night_minor: i64,
}

/// The expenses form: the day and what was used on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExpenseForm {
    /// `YYYY-MM-DD`.
    pub day: String,
    #[ts(type = "number")]
    pub km: i64,
    #[ts(type = "number")]
    pub meal_days: i64,
    #[ts(type = "number")]
    pub nights: i64,
}

/// A day's expenses as recorded, with the rates they were computed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExpenseView {
    pub day: String,
    #[ts(type = "number")]
    pub km: i64,
    #[ts(type = "number")]
    pub meal_days: i64,
    #[ts(type = "number")]
    pub nights: i64,
    pub rates: ExpenseRatesView,
    #[ts(type = "number")]
    pub mileage_minor: i64,
    #[ts(type = "number")]
    pub meals_minor: i64,
    #[ts(type = "number")]
    pub lodging_minor: i64,
    #[ts(type = "number")]
    pub total_minor: i64,
}

/// The expenses screen for one day: the rates in force now and what is recorded, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExpensesDayView {
    pub day: String,
    pub rates: ExpenseRatesView,
    pub recorded: Option<ExpenseView>,
}

/// One part counted in a stock-take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StockCountForm {
    pub part_id: String,
    #[ts(type = "number")]
    pub counted: i64,
}

/// A counted part: expected (the van's ledger before the count), counted, and the
/// difference recorded as a stock movement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StockTakeLineView {
    pub part_id: String,
    #[ts(type = "number")]
    pub expected: i64,
    #[ts(type = "number")]
    pub counted: i64,
    #[ts(type = "number")]
    pub difference: i64,
}

/// A recorded stock-take and the van's stock after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StockTakeResult {
    pub stock_take_id: String,
    pub lines: Vec<StockTakeLineView>,
    pub van: Vec<VanPartView>,
}
