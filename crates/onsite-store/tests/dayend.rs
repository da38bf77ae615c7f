//! The day-end summary collects what happened on the day, and nothing from other days.

use chrono::{Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use onsite_domain::WorkOrderStatus;
use onsite_store::demo::{self, DemoData};
use onsite_store::visit::{self, ExpenseInput};
use onsite_store::workorders::{self, Day};
use onsite_store::DataKey;
use onsite_store::{dayend, Store};

const DEMO: &str = include_str!("../../../assets/demo/demo.json");

fn day(offset_days: i64) -> Day {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let start = tz
        .with_ymd_and_hms(2026, 11, 24, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
        + Duration::days(offset_days);
    Day {
        now: start + Duration::hours(15),
        start,
        end: start + Duration::days(1),
    }
}

#[test]
fn the_day_end_lists_the_days_closed_jobs_and_expenses() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("onsite.db"), &test_key()).unwrap();
    let data = DemoData::from_json(DEMO).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    store
        .write(|tx| {
            demo::seed(
                tx,
                &data,
                today,
                FixedOffset::east_opt(8 * 3600).unwrap(),
                day(0).now,
            )
        })
        .unwrap();
    let id = workorders::search(store.conn(), "刘芳", &day(0), 1).unwrap()[0]
        .id
        .clone();
    for (to, reason) in [
        (WorkOrderStatus::OnSite, None),
        (WorkOrderStatus::InProgress, None),
        (WorkOrderStatus::Completed, Some("customer_absent")),
    ] {
        store
            .write(|tx| workorders::change_status(tx, &id, to, reason, day(0).now))
            .unwrap();
    }
    visit::write(&mut store, |tx| {
        visit::record_expense(
            tx,
            &ExpenseInput {
                day: today,
                km: 42,
                meal_days: 1,
                nights: 0,
            },
            day(0).now,
        )
    })
    .unwrap();

    let summary = dayend::collect(store.conn(), &day(0)).unwrap();
    assert_eq!(summary.date, today);
    assert_eq!(
        summary.jobs.len(),
        1,
        "yesterday's demo completions are not today's"
    );
    assert_eq!(summary.jobs[0].customer_name, "刘芳");
    assert_eq!(summary.jobs[0].status, WorkOrderStatus::Completed);
    assert_eq!(summary.expense.as_ref().unwrap().total_minor, 7200);
    assert!(summary.payments.is_empty() && summary.parts_used.is_empty());

    let tomorrow = dayend::collect(store.conn(), &day(1)).unwrap();
    assert!(tomorrow.jobs.is_empty());
    assert!(tomorrow.expense.is_none());
}

fn test_key() -> DataKey {
    DataKey::from_array([7; 32])
}
