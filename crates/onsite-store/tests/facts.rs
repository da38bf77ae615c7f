//! Issue 9: facts recorded as the technician saw them (the local day of a stock-take or
//! an unused return, hole 12) and photos refused at capture when head office could never
//! take them (hole 8).

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use onsite_domain::ipc::ErrorCode;
use onsite_store::demo::{self, DemoData};
use onsite_store::visit::{self, StockCount, VisitError};
use onsite_store::{outbox, Store};
use onsite_store::{Blobs, DataKey};

const DEMO: &str = include_str!("../../../assets/demo/demo.json");

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn seeded() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let data = DemoData::from_json(DEMO).unwrap();
    let now = beijing()
        .with_ymd_and_hms(2026, 11, 24, 10, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    store
        .write(|tx| demo::seed(tx, &data, "2026-11-24".parse().unwrap(), beijing(), now))
        .unwrap();
    store
}

fn last_payload(store: &Store, kind: &str) -> serde_json::Value {
    let text: String = store
        .conn()
        .query_row(
            "SELECT payload FROM outbox WHERE kind = ?1 ORDER BY device_seq DESC LIMIT 1",
            [kind],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn stock_takes_and_unused_returns_carry_the_local_day_the_technician_saw() {
    let mut store = seeded();
    let van = visit::van_stock(store.conn()).unwrap();
    let part = van
        .iter()
        .find(|p| p.quantity > 1)
        .expect("stock in the van");
    // 07:30 in Beijing on the 25th is 23:30 UTC on the 24th: filed under the 25th.
    let local = beijing().with_ymd_and_hms(2026, 11, 25, 7, 30, 0).unwrap();
    let now: DateTime<Utc> = local.with_timezone(&Utc);
    let day: NaiveDate = local.date_naive();
    assert_ne!(now.date_naive(), day);
    visit::write(&mut store, |tx| {
        visit::stock_take_on(
            tx,
            &[StockCount {
                part_id: part.part_id.clone(),
                counted: part.quantity,
            }],
            day,
            now,
        )
    })
    .unwrap();
    let p = last_payload(&store, outbox::kind::STOCK_TAKE);
    assert_eq!(p["day"], "2026-11-25");
    assert_eq!(p["at"], "2026-11-24T23:30:00Z");
    visit::write(&mut store, |tx| {
        visit::return_unused_on(tx, &part.part_id, 1, None, day, now)
    })
    .unwrap();
    let p = last_payload(&store, outbox::kind::RETURN_PART);
    assert_eq!(p["day"], "2026-11-25");
    assert_eq!(p["work_order_id"], serde_json::Value::Null);
    // Without a day given, the device's own calendar (its time zone) is used.
    visit::write(&mut store, |tx| {
        visit::return_unused(tx, &part.part_id, 1, None, now)
    })
    .unwrap();
    let p = last_payload(&store, outbox::kind::RETURN_PART);
    assert_eq!(p["day"], visit::local_day(now).to_string());
}

#[test]
fn a_photo_head_office_could_never_take_is_refused_at_capture() {
    // One limit end to end: head office's.
    assert_eq!(visit::MAX_BLOB_BYTES, onsite_api::limits::MAX_BLOB_BYTES);
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::new(dir.path().join("blobs"), &test_key());
    let at_limit = vec![0xffu8; visit::MAX_BLOB_BYTES];
    let ok = visit::put_blob(&blobs, &at_limit, "image/jpeg").unwrap();
    assert_eq!(ok.size, visit::MAX_BLOB_BYTES as i64);
    let over = vec![0xffu8; visit::MAX_BLOB_BYTES + 1];
    let e = visit::put_blob(&blobs, &over, "image/jpeg").unwrap_err();
    assert!(
        matches!(e, VisitError::PhotoTooLarge { size, max } if size == over.len() && max == visit::MAX_BLOB_BYTES),
        "{e:?}"
    );
    // A stable code the UI translates, and nothing written.
    let ipc = e.to_ipc();
    assert_eq!(ipc.code, ErrorCode::PhotoTooLarge);
    assert_eq!(std::fs::read_dir(blobs.dir()).unwrap().count(), 1);
    // An empty file is still invalid input, not "too large".
    let e = visit::put_blob(&blobs, b"", "image/jpeg").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
}

#[test]
fn the_ui_checks_the_same_photo_limit() {
    // ui/src/lib/limits.ts refuses a photo before sending it to the store: same number.
    let ts = include_str!("../../../ui/src/lib/limits.ts");
    let line = ts
        .lines()
        .find(|l| l.starts_with("export const MAX_BLOB_BYTES = "))
        .expect("the UI's limit");
    let expr = line
        .trim_start_matches("export const MAX_BLOB_BYTES = ")
        .trim_end_matches(';');
    let value: usize = expr
        .split('*')
        .map(|f| f.trim().parse::<usize>().expect("a product of integers"))
        .product();
    assert_eq!(value, onsite_api::limits::MAX_BLOB_BYTES, "{line}");
}

fn test_key() -> DataKey {
    DataKey::from_array([7; 32])
}
