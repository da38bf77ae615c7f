//! The goods in/out log: take, workshop, repaired, returned; overdue flags.

use chrono::{Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use onsite_domain::carryback::{CarryBackOverdue, CarryBackState};
use onsite_store::carryback::{self, NewCarryBack, Signed};
use onsite_store::demo::{self, DemoData};
use onsite_store::workorders::{self, Day};
use onsite_store::DataKey;
use onsite_store::{outbox, Store, StoreError};

const PNG: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const DEMO: &str = include_str!("../../../assets/demo/demo.json");

fn day() -> Day {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let start = tz
        .with_ymd_and_hms(2026, 11, 24, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    Day {
        now: start + Duration::hours(10),
        start,
        end: start + Duration::days(1),
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

fn seeded(path: &std::path::Path) -> (Store, String) {
    let mut store = Store::open(path, &test_key()).unwrap();
    let data = DemoData::from_json(DEMO).unwrap();
    store
        .write(|tx| {
            demo::seed(
                tx,
                &data,
                today(),
                FixedOffset::east_opt(8 * 3600).unwrap(),
                day().now,
            )
        })
        .unwrap();
    let id = workorders::search(store.conn(), "Müller", &day(), 1).unwrap()[0]
        .id
        .clone();
    (store, id)
}

fn strokes() -> serde_json::Value {
    serde_json::json!([{ "points": [{ "x": 1, "y": 2 }, { "x": 30, "y": 12 }] }])
}

fn new<'a>(
    id: &'a str,
    accessories: &'a [String],
    strokes: &'a serde_json::Value,
    expected: NaiveDate,
) -> NewCarryBack<'a> {
    NewCarryBack {
        work_order_id: id,
        item: "ThermaFlow TF-60E water heater",
        serial_no: Some("TF60E-25-33817"),
        accessories,
        condition: "Scratch on the left side panel",
        fault: "Humming noise, error E3",
        expected_return: expected,
        photos: &[],
        signature: Signed {
            signer_name: "Sophie Müller",
            strokes,
            png_sha256: PNG,
        },
    }
}

#[test]
fn an_item_goes_out_and_comes_back_with_every_step_logged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, id) = seeded(&dir.path().join("onsite.db"));
    let acc = vec![
        "Remote control".to_string(),
        " ".to_string(),
        "Wall bracket".to_string(),
    ];
    let s = strokes();
    let before = outbox::pending_count(store.conn()).unwrap();
    let cb = store
        .write(|tx| {
            carryback::take(
                tx,
                &new(&id, &acc, &s, today() + Duration::days(7)),
                today(),
                day().now,
            )
        })
        .unwrap();
    assert!(
        cb.receipt_no.starts_with("CB-20261124-"),
        "{}",
        cb.receipt_no
    );
    assert_eq!(cb.accessories, vec!["Remote control", "Wall bracket"]);
    assert_eq!(cb.state, CarryBackState::Taken);
    assert_eq!(cb.overdue, None);

    // forward only, one step at a time
    let err = store
        .write(|tx| carryback::advance(tx, &cb.id, CarryBackState::Repaired, today(), day().now))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    let sig = Signed {
        signer_name: "Sophie Müller",
        strokes: &s,
        png_sha256: &"c".repeat(64),
    };
    let err = store
        .write(|tx| carryback::return_item(tx, &cb.id, true, None, &sig, today(), day().now))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "not repaired yet");
    for to in [CarryBackState::AtWorkshop, CarryBackState::Repaired] {
        store
            .write(|tx| carryback::advance(tx, &cb.id, to, today(), day().now))
            .unwrap();
    }
    // a lost receipt needs a note
    let err = store
        .write(|tx| carryback::return_item(tx, &cb.id, false, Some("  "), &sig, today(), day().now))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    let back = store
        .write(|tx| {
            carryback::return_item(
                tx,
                &cb.id,
                false,
                Some("Receipt lost in the move"),
                &sig,
                today(),
                day().now,
            )
        })
        .unwrap();
    assert_eq!(back.state, CarryBackState::Returned);
    assert_eq!(back.receipt_collected, Some(false));
    assert_eq!(
        back.receipt_lost_note.as_deref(),
        Some("Receipt lost in the move")
    );
    assert_eq!(back.returned_signer.as_deref(), Some("Sophie Müller"));
    let log: Vec<CarryBackState> = carryback::log(store.conn(), &cb.id)
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        log,
        vec![
            CarryBackState::Taken,
            CarryBackState::AtWorkshop,
            CarryBackState::Repaired,
            CarryBackState::Returned
        ]
    );
    // one outbox operation per step, none for the refused ones
    assert_eq!(outbox::pending_count(store.conn()).unwrap(), before + 4);
    let detail = workorders::detail(store.conn(), &id, &day()).unwrap();
    assert_eq!(detail.carry_backs.len(), 1);
}

#[test]
fn bad_takes_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, id) = seeded(&dir.path().join("onsite.db"));
    let before = outbox::pending_count(store.conn()).unwrap();
    let s = strokes();
    let empty = serde_json::json!([]);
    for c in [
        new(&id, &[], &s, today() - Duration::days(1)),
        NewCarryBack {
            item: "  ",
            ..new(&id, &[], &s, today())
        },
        new(&id, &[], &empty, today()),
        NewCarryBack {
            work_order_id: "nope",
            ..new(&id, &[], &s, today())
        },
    ] {
        assert!(store
            .write(|tx| carryback::take(tx, &c, today(), day().now))
            .is_err());
    }
    assert_eq!(outbox::pending_count(store.conn()).unwrap(), before);
}

#[test]
fn items_out_too_long_are_flagged_for_today() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, id) = seeded(&dir.path().join("onsite.db"));
    let s = strokes();
    let cb = store
        .write(|tx| {
            carryback::take(
                tx,
                &new(&id, &[], &s, today() + Duration::days(3)),
                today(),
                day().now,
            )
        })
        .unwrap();
    assert!(carryback::overdue_items(store.conn(), today())
        .unwrap()
        .is_empty());
    let later = today() + Duration::days(4);
    let flagged = carryback::overdue_items(store.conn(), later).unwrap();
    assert_eq!(flagged.len(), 1);
    assert_eq!(
        flagged[0].overdue,
        Some(CarryBackOverdue::PastExpectedReturn)
    );
    // 2026-11-24 is a Tuesday: 15 working days later is 2026-12-15
    let past_limit = NaiveDate::from_ymd_opt(2026, 12, 16).unwrap();
    assert_eq!(
        carryback::overdue_items(store.conn(), past_limit).unwrap()[0].overdue,
        Some(CarryBackOverdue::PastRepairLimit)
    );
    assert_eq!(flagged[0].id, cb.id);
}

fn test_key() -> DataKey {
    DataKey::from_array([7; 32])
}
