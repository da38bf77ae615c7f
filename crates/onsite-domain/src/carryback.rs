//! Carry-back (000 §5.10): an appliance that cannot be fixed on site goes to the workshop
//! against a receipt, is logged in the goods in/out book, and comes back. A repair must be
//! done within 15 working days (003), so items past their expected return date or past 15
//! working days are flagged on Today.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Working days allowed for a repair (003: repaired within 15 working days).
pub const REPAIR_WORKING_DAYS: u32 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CarryBackState {
    Taken,
    AtWorkshop,
    Repaired,
    Returned,
}

impl CarryBackState {
    pub const fn as_str(self) -> &'static str {
        match self {
            CarryBackState::Taken => "taken",
            CarryBackState::AtWorkshop => "at_workshop",
            CarryBackState::Repaired => "repaired",
            CarryBackState::Returned => "returned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            CarryBackState::Taken,
            CarryBackState::AtWorkshop,
            CarryBackState::Repaired,
            CarryBackState::Returned,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// The next step of the goods in/out log; `None` once returned.
    pub const fn next(self) -> Option<CarryBackState> {
        match self {
            CarryBackState::Taken => Some(CarryBackState::AtWorkshop),
            CarryBackState::AtWorkshop => Some(CarryBackState::Repaired),
            CarryBackState::Repaired => Some(CarryBackState::Returned),
            CarryBackState::Returned => None,
        }
    }
}

/// Why an open carry-back is flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CarryBackOverdue {
    /// Past the return date promised on the receipt.
    PastExpectedReturn,
    /// More than 15 working days since it was taken (003).
    PastRepairLimit,
}

/// Monday to Friday between `from` (exclusive) and `to` (inclusive). No public-holiday
/// calendar yet: a known simplification. Counted by arithmetic (five per whole week, then
/// at most six days one by one), so any two dates chrono can hold take the same time: a
/// date from a device in the year -200000 must not make a listing count for minutes
/// (issue 12).
pub fn working_days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    if to <= from {
        return 0;
    }
    let days = (to - from).num_days();
    let (weeks, rest) = (days / 7, days % 7);
    // The `rest` days after the whole weeks start on the weekday after `from`.
    let mut weekday = from.weekday().succ();
    let mut count = weeks * 5;
    for _ in 0..rest {
        if !matches!(weekday, Weekday::Sat | Weekday::Sun) {
            count += 1;
        }
        weekday = weekday.succ();
    }
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The flag for an item still out, on `today`.
pub fn overdue(
    state: CarryBackState,
    taken_on: NaiveDate,
    expected_return: NaiveDate,
    today: NaiveDate,
) -> Option<CarryBackOverdue> {
    if state == CarryBackState::Returned {
        return None;
    }
    if working_days_between(taken_on, today) > REPAIR_WORKING_DAYS {
        Some(CarryBackOverdue::PastRepairLimit)
    } else if today > expected_return {
        Some(CarryBackOverdue::PastExpectedReturn)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn working_days_skip_weekends() {
        // 2026-11-20 is a Friday
        assert_eq!(working_days_between(d(11, 20), d(11, 20)), 0);
        assert_eq!(working_days_between(d(11, 20), d(11, 22)), 0, "Sat, Sun");
        assert_eq!(working_days_between(d(11, 20), d(11, 23)), 1, "Monday");
        assert_eq!(working_days_between(d(11, 20), d(12, 11)), 15);
        assert_eq!(working_days_between(d(11, 23), d(11, 20)), 0);
    }

    /// The definition, one day at a time, for short ranges.
    fn counted(from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
            .count() as u32
    }

    #[test]
    fn working_days_by_arithmetic_match_counting_day_by_day() {
        let start = d(1, 1);
        for a in 0..21 {
            for len in 0..60 {
                let from = start + chrono::Duration::days(a);
                let to = from + chrono::Duration::days(len);
                assert_eq!(
                    working_days_between(from, to),
                    counted(from, to),
                    "{from} {to}"
                );
            }
        }
    }

    #[test]
    fn working_days_across_the_whole_calendar_do_not_overflow() {
        let n = working_days_between(NaiveDate::MIN, NaiveDate::MAX);
        // 2 × 262,143 years ≈ 191 million days, five in seven
        assert!(n > 130_000_000 && n < 140_000_000, "{n}");
        assert_eq!(working_days_between(NaiveDate::MAX, NaiveDate::MIN), 0);
        let far = NaiveDate::from_ymd_opt(-200_000, 1, 1).unwrap();
        assert!(working_days_between(far, d(11, 20)) > 50_000_000);
    }

    #[test]
    fn overdue_table() {
        use CarryBackOverdue::*;
        use CarryBackState::*;
        let cases = [
            (Taken, d(11, 20), d(11, 27), d(11, 27), None),
            (
                AtWorkshop,
                d(11, 20),
                d(11, 27),
                d(11, 28),
                Some(PastExpectedReturn),
            ),
            (Repaired, d(11, 20), d(12, 31), d(12, 11), None),
            (
                Repaired,
                d(11, 20),
                d(12, 31),
                d(12, 14),
                Some(PastRepairLimit),
            ),
            (
                Taken,
                d(11, 20),
                d(11, 21),
                d(12, 14),
                Some(PastRepairLimit),
            ),
            (Returned, d(11, 1), d(11, 2), d(12, 14), None),
        ];
        for (state, taken, expected, today, want) in cases {
            assert_eq!(
                overdue(state, taken, expected, today),
                want,
                "{state:?} {today}"
            );
        }
    }

    #[test]
    fn states_go_forward_only() {
        assert_eq!(
            CarryBackState::Taken.next(),
            Some(CarryBackState::AtWorkshop)
        );
        assert_eq!(CarryBackState::Returned.next(), None);
        for s in ["taken", "at_workshop", "repaired", "returned"] {
            assert_eq!(CarryBackState::parse(s).unwrap().as_str(), s);
        }
    }
}
