//! Lost device (issue 11): the erase removes every piece of customer data and every blob
//! file; the technician's and the company's own data stay, and every view works on what is
//! left.

use chrono::{Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use onsite_domain::WorkOrderStatus;
use onsite_store::demo::{self, DemoData};
use onsite_store::documents::{self, NewSignature};
use onsite_store::visit::{self, ExpenseInput};
use onsite_store::workorders::{self, Day};
use onsite_store::{dayend, erase, sync as store_sync, Store};
use onsite_store::{Blobs, DataKey};
use serde_json::json;

const DEMO: &str = include_str!("../../../assets/demo/demo.json");

fn day() -> Day {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let start = tz
        .with_ymd_and_hms(2026, 11, 24, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    Day {
        now: start + Duration::hours(15),
        start,
        end: start + Duration::days(1),
    }
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .conn()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_erase_leaves_no_customer_data_and_keeps_the_technicians_own() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::new(dir.path().join("blobs"), &test_key());
    std::fs::create_dir_all(blobs.dir()).unwrap();
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
                day().now,
            )
        })
        .unwrap();
    let id = workorders::search(store.conn(), "刘芳", &day(), 1).unwrap()[0]
        .id
        .clone();
    let png = documents::put_blob(&blobs, b"\x89PNG erase").unwrap();
    std::fs::write(blobs.dir().join("README.txt"), b"not a blob").unwrap();
    // A document opened for viewing leaves a copy for the system's viewer.
    std::fs::create_dir_all(blobs.dir().join(erase::VIEW_DIR)).unwrap();
    std::fs::write(
        blobs.dir().join(erase::VIEW_DIR).join(format!("{png}.pdf")),
        b"%PDF copy",
    )
    .unwrap();
    store
        .write(|tx| {
            workorders::change_status(tx, &id, WorkOrderStatus::OnSite, None, day().now)?;
            documents::sign(
                tx,
                &NewSignature {
                    work_order_id: &id,
                    signer_name: "刘芳",
                    strokes: &json!([{"points": [{"x": 1, "y": 2}]}]),
                    png_sha256: &png,
                },
                day().now,
            )
        })
        .unwrap();
    visit::write(&mut store, |tx| {
        visit::record_expense(
            tx,
            &ExpenseInput {
                day: today,
                km: 42,
                meal_days: 1,
                nights: 0,
            },
            day().now,
        )
    })
    .unwrap();
    let jobs = count(&store, "work_order");
    let pending = store_sync::day_end(store.conn()).unwrap().unsent_ops;
    let kept: Vec<(&str, i64)> = [
        "part",
        "van_stock",
        "fee_table",
        "technician",
        "technician_expense",
    ]
    .into_iter()
    .map(|t| (t, count(&store, t)))
    .collect();
    assert!(jobs > 1 && pending > 1);
    assert!(kept.iter().all(|(_, n)| *n > 0), "{kept:?}");

    let report = store.write(|tx| erase::erase(tx, day().now)).unwrap();
    assert_eq!(report.work_orders, jobs as u64);
    assert!(report.customers > 0);
    assert_eq!(report.unsent, pending as u64);
    erase::scrub(store.conn()).unwrap();
    // A copy of the data files holds nothing of the customer's (SQLite keeps deleted rows
    // in free pages and in the write-ahead log until scrubbed).
    for suffix in ["", "-wal"] {
        let path = dir.path().join(format!("onsite.db{suffix}"));
        let bytes = std::fs::read(&path).unwrap_or_default();
        for needle in ["刘芳".as_bytes(), b"\x89PNG erase"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} still holds {:?}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    assert_eq!(
        erase::remove_all_blob_files(blobs.dir()),
        2,
        "the file and the viewing copy"
    );
    assert!(!blobs.dir().join(erase::VIEW_DIR).exists());
    assert!(
        blobs.dir().join("README.txt").exists(),
        "only blob files go"
    );

    for table in [
        "work_order",
        "work_order_status",
        "customer",
        "appliance",
        "service_contract",
        "payment",
        "signature",
        "document",
        "carry_back",
        "draft",
        "outbox",
        "op_result",
        "pulled_work_order",
        "pulled_fact",
        "review_flag",
        "blob",
        "visit_attachment",
        "search_tri",
        "search_short",
    ] {
        assert_eq!(count(&store, table), 0, "{table}");
    }
    for (table, n) in &kept {
        assert_eq!(count(&store, table), *n, "{table} stays");
    }
    // The views the app shows work on what is left.
    let tech = workorders::technician(store.conn()).unwrap().unwrap().0;
    assert!(workorders::today(store.conn(), &tech, &day())
        .unwrap()
        .is_empty());
    assert!(workorders::search(store.conn(), "刘芳", &day(), 10)
        .unwrap()
        .is_empty());
    dayend::collect(store.conn(), &day()).unwrap();
    assert_eq!(store_sync::day_end(store.conn()).unwrap().unsent_ops, 0);
    let integrity: String = store
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    // Recorded, counts only; forgotten at a new enrolment.
    assert_eq!(erase::erased(store.conn()).unwrap(), Some(report));
    store.write(erase::forget).unwrap();
    assert_eq!(erase::erased(store.conn()).unwrap(), None);
}

fn test_key() -> DataKey {
    DataKey::from_array([7; 32])
}
