//! The store against the demo data, on a real SQLite file.

use chrono::{Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use onsite_domain::{Lateness, WorkOrderStatus};
use onsite_store::demo::{self, DemoData};
use onsite_store::workorders::{self, Day};
use onsite_store::DataKey;
use onsite_store::{outbox, Store, StoreError};

const DEMO: &str = include_str!("../../../assets/demo/demo.json");

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// 2026-11-24 in Beijing, at local `hour`.
fn day_at(hour: u32) -> Day {
    let tz = beijing();
    let start = tz
        .with_ymd_and_hms(2026, 11, 24, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    Day {
        now: start + Duration::hours(hour as i64),
        start,
        end: start + Duration::days(1),
    }
}

fn seeded(path: &std::path::Path) -> Store {
    let mut store = Store::open(path, &test_key()).unwrap();
    let data = DemoData::from_json(DEMO).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    store
        .write(|tx| demo::seed(tx, &data, today, beijing(), day_at(7).now))
        .unwrap();
    store
}

fn tech(store: &Store) -> String {
    workorders::technician(store.conn()).unwrap().unwrap().0
}

#[test]
fn today_lists_overdue_then_todays_orders_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir.path().join("onsite.db"));
    let day = day_at(10);
    let items = workorders::today(store.conn(), &tech(&store), &day).unwrap();
    // 1 open order from yesterday + 7 booked today; yesterday's completed ones are not shown
    assert_eq!(items.len(), 8, "{items:#?}");
    assert!(items
        .windows(2)
        .all(|w| w[0].appointment_start <= w[1].appointment_start));
    assert_eq!(items[0].lateness, Lateness::Overdue);
    assert_eq!(items[0].customer_name, "陈晓东");
    // 08:30-09:30 install, still assigned at 10:00: late
    assert_eq!(items[1].customer_name, "欧阳玥");
    assert_eq!(items[1].lateness, Lateness::Late);
    assert!(items[2..].iter().all(|i| i.lateness == Lateness::OnTime));
    assert!(items[1..].iter().all(|i| i.appointment_start >= day.start));
}

#[test]
fn search_finds_chinese_names_of_any_length_phones_and_english() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir.path().join("onsite.db"));
    let day = day_at(10);
    let names = |q: &str| -> Vec<String> {
        let mut v: Vec<String> = workorders::search(store.conn(), q, &day, 50)
            .unwrap()
            .into_iter()
            .map(|s| s.customer_name)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(names("王伟"), vec!["王伟"], "two-character name");
    assert_eq!(names("欧阳玥"), vec!["欧阳玥"], "three-character name");
    assert_eq!(names("玥"), vec!["欧阳玥"], "one character");
    assert!(names("王").contains(&"王伟".to_string()));
    assert_eq!(names("501234"), vec!["张志强"], "phone fragment");
    assert_eq!(
        names("0011-2233"),
        vec!["Margaret O'Donnell"],
        "dashed fragment"
    );
    assert_eq!(
        names("18600112233"),
        vec!["Margaret O'Donnell"],
        "phone typed without dashes"
    );
    assert_eq!(
        names("donnell"),
        vec!["Margaret O'Donnell"],
        "case-insensitive English"
    );
    assert_eq!(names("muller"), vec!["Sophie Müller"], "diacritics folded");
    assert_eq!(names("望京"), vec!["王伟"], "address fragment");
    assert_eq!(names("望京 王伟"), vec!["王伟"], "all terms must match");
    assert!(names("望京 张志强").is_empty());
    assert!(names("不存在的人").is_empty());
    assert!(names("   ").is_empty());
    // every visit of a customer, past ones included, most recent first
    let wang = workorders::search(store.conn(), "王伟", &day, 50).unwrap();
    assert_eq!(wang.len(), 3);
    assert!(wang[0].appointment_start > wang[2].appointment_start);
    // order number
    let no = &wang[0].order_no;
    assert_eq!(
        workorders::search(store.conn(), no, &day, 50)
            .unwrap()
            .len(),
        1
    );
    // FTS syntax in the query is text, not syntax
    assert!(workorders::search(store.conn(), "\" OR * NEAR(", &day, 50).is_ok());
}

#[test]
fn detail_shows_customer_appliance_and_earlier_visits() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir.path().join("onsite.db"));
    let day = day_at(10);
    let hit = &workorders::search(store.conn(), "张志强", &day, 50).unwrap()[0];
    let d = workorders::detail(store.conn(), &hit.id, &day).unwrap();
    assert_eq!(d.customer.phone, "13501234567");
    assert_eq!(d.appliance.serial_no.as_deref(), Some("QY500-2406-003317"));
    assert_eq!(
        d.appliance.purchase_date,
        NaiveDate::from_ymd_opt(2024, 6, 10)
    );
    assert!(d.appliance.proof.sealed);
    assert_eq!(d.earlier_visits.len(), 1);
    assert_eq!(d.earlier_visits[0].reported_fault, "TDS值偏高，出水有异味");
    assert_eq!(d.status_history.len(), 1);
    assert_eq!(
        d.next_statuses,
        vec![
            WorkOrderStatus::EnRoute,
            WorkOrderStatus::OnSite,
            WorkOrderStatus::UnableToComplete
        ]
    );
    assert!(matches!(
        workorders::detail(store.conn(), "no-such-id", &day),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn status_changes_are_stamped_written_to_the_outbox_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onsite.db");
    let day = day_at(10);
    let id;
    {
        let mut store = seeded(&path);
        id = workorders::search(store.conn(), "张志强", &day, 1).unwrap()[0]
            .id
            .clone();
        let before = outbox::pending_count(store.conn()).unwrap();
        store
            .write(|tx| workorders::change_status(tx, &id, WorkOrderStatus::EnRoute, None, day.now))
            .unwrap();
        let later = day.now + Duration::minutes(25);
        store
            .write(|tx| workorders::change_status(tx, &id, WorkOrderStatus::OnSite, None, later))
            .unwrap();
        assert_eq!(outbox::pending_count(store.conn()).unwrap(), before + 2);
        let op = outbox::last_for(store.conn(), &id).unwrap().unwrap();
        assert_eq!(op.kind, "ChangeStatus");
        assert_eq!(op.payload["to"], "on_site");
        assert_eq!(op.base_version, Some(2));
        // no customer data in the operation
        assert!(!op.payload.to_string().contains("张志强"));
    }
    let store = Store::open(&path, &test_key()).unwrap();
    let d = workorders::detail(store.conn(), &id, &day).unwrap();
    assert_eq!(d.summary.status, WorkOrderStatus::OnSite);
    let last = d.status_history.last().unwrap();
    assert_eq!(last.to, WorkOrderStatus::OnSite);
    assert_eq!(last.from, Some(WorkOrderStatus::EnRoute));
    assert_eq!(last.at, day.now + Duration::minutes(25));
    assert_eq!(d.status_history.len(), 3);
}

#[test]
fn refused_changes_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir.path().join("onsite.db"));
    let day = day_at(10);
    let id = workorders::search(store.conn(), "张志强", &day, 1).unwrap()[0]
        .id
        .clone();
    let before = outbox::pending_count(store.conn()).unwrap();
    let err = store
        .write(|tx| workorders::change_status(tx, &id, WorkOrderStatus::Completed, None, day.now))
        .unwrap_err();
    assert!(matches!(err, StoreError::Transition(_)), "{err:?}");
    let err = store
        .write(|tx| {
            workorders::change_status(
                tx,
                &id,
                WorkOrderStatus::UnableToComplete,
                Some(" "),
                day.now,
            )
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Transition(_)), "{err:?}");
    assert_eq!(outbox::pending_count(store.conn()).unwrap(), before);
    let d = workorders::detail(store.conn(), &id, &day).unwrap();
    assert_eq!(d.summary.status, WorkOrderStatus::Assigned);
    assert_eq!(d.status_history.len(), 1);

    store
        .write(|tx| {
            workorders::change_status(
                tx,
                &id,
                WorkOrderStatus::UnableToComplete,
                Some("客户不在家"),
                day.now,
            )
        })
        .unwrap();
    let d = workorders::detail(store.conn(), &id, &day).unwrap();
    assert_eq!(
        d.status_history.last().unwrap().reason.as_deref(),
        Some("客户不在家")
    );
    assert!(d.next_statuses.is_empty());
}

#[test]
fn notes_are_saved_with_an_outbox_operation() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir.path().join("onsite.db"));
    let day = day_at(10);
    let id = workorders::search(store.conn(), "Müller", &day, 1).unwrap()[0]
        .id
        .clone();
    store
        .write(|tx| workorders::set_notes(tx, &id, "Bring the 2 kW element", day.now))
        .unwrap();
    assert_eq!(
        workorders::detail(store.conn(), &id, &day).unwrap().notes,
        "Bring the 2 kW element"
    );
    assert_eq!(
        outbox::last_for(store.conn(), &id).unwrap().unwrap().kind,
        "EditNotes"
    );
    let long = "x".repeat(10_001);
    assert!(store
        .write(|tx| workorders::set_notes(tx, &id, &long, day.now))
        .is_err());
}

#[test]
fn demo_loads_fee_tables_and_van_stock() {
    let store = {
        let mut s = Store::open_in_memory().unwrap();
        let data = DemoData::from_json(DEMO).unwrap();
        s.write(|tx| {
            demo::seed(
                tx,
                &data,
                NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                beijing(),
                day_at(7).now,
            )
        })
        .unwrap();
        s
    };
    let c = store.conn();
    let n = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(n("SELECT count(*) FROM work_order"), 17);
    assert_eq!(n("SELECT count(*) FROM van_stock"), 31);
    assert_eq!(n("SELECT count(*) FROM fee_table"), 2);
    assert_eq!(
        n(
            "SELECT price_minor FROM fee_item i JOIN fee_table t ON t.id = i.fee_table_id
           WHERE t.version = 1 AND code = 'RELOCATE_MAINT'"
        ),
        5000
    );
    // seeding writes no outbox operations: it is not a user's change
    assert_eq!(outbox::pending_count(c).unwrap(), 0);
}

fn test_key() -> DataKey {
    DataKey::from_array([7; 32])
}
