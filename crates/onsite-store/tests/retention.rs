//! Retention (issue 11): closed jobs whose records all reached head office leave the device
//! N days after they closed, with their blobs and search entries; nothing else does.

use onsite_store::{Blobs, DataKey};
use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use onsite_domain::view::{DocumentKind, ProofKind, ProofOfPurchase};
use onsite_domain::{JobType, WorkOrderStatus};
use onsite_store::carryback::{self, NewCarryBack, Signed};
use onsite_store::documents::{self, NewSignature};
use onsite_store::retention;
use onsite_store::sync::{self as store_sync, StoredOutcome};
use onsite_store::workorders::{self, Day, NewAppliance, NewCustomer, NewWorkOrder};
use onsite_store::{outbox, Store};

const TECH: &str = "0193a000-0000-7000-8000-000000000001";
const DAYS: u32 = 90;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
}

fn day_at(now: DateTime<Utc>) -> Day {
    let start = now - Duration::hours(12);
    Day {
        now,
        start,
        end: start + Duration::days(1),
    }
}

fn strokes() -> serde_json::Value {
    serde_json::json!([{ "points": [{ "x": 1, "y": 2 }, { "x": 30, "y": 12 }] }])
}

struct World {
    store: Store,
    blobs: tempfile::TempDir,
    _db: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let mut w = World::unenrolled();
        w.enrol();
        w
    }

    /// A device that never enrolled: only the demo, or nothing head office has.
    fn unenrolled() -> World {
        let db = tempfile::tempdir().unwrap();
        let mut store = Store::open(&db.path().join("onsite.db"), &test_key()).unwrap();
        store
            .write(|tx| {
                workorders::insert_technician(
                    tx,
                    &workorders::NewTechnician {
                        id: TECH,
                        name: "Tech",
                        phone: "",
                        employee_no: "T-1",
                    },
                )
            })
            .unwrap();
        World {
            store,
            blobs: tempfile::tempdir().unwrap(),
            _db: db,
        }
    }

    fn enrol(&mut self) {
        self.store
            .write(|tx| {
                store_sync::save_enrolment(
                    tx,
                    &store_sync::Enrolment {
                        server_url: "https://hq.example".into(),
                        ca_pem: None,
                        device_id: "d".into(),
                        technician_id: TECH.into(),
                        technician_name: "Tech".into(),
                        token: "secret".into(),
                        epoch: "epoch-1".into(),
                        server_id: None,
                        cert_sha256: None,
                    },
                )
            })
            .unwrap();
    }

    fn dir(&self) -> &Path {
        self.blobs.path()
    }

    fn blobs(&self) -> Blobs {
        Blobs::new(self.blobs.path(), &test_key())
    }

    /// A customer with one appliance.
    fn customer(&mut self, key: &str, name: &str, phone: &str) {
        let proof = ProofOfPurchase {
            kind: ProofKind::None,
            date: None,
            sealed: false,
        };
        self.store
            .write(|tx| {
                workorders::insert_customer(
                    tx,
                    &NewCustomer {
                        id: &format!("c-{key}"),
                        name,
                        phone,
                        address: "1 Retention Road",
                        language: "en",
                    },
                )?;
                workorders::insert_appliance(
                    tx,
                    &NewAppliance {
                        id: &format!("a-{key}"),
                        customer_id: &format!("c-{key}"),
                        category: "water_purifier",
                        brand: "Brand",
                        model: "RO-1",
                        serial_no: None,
                        purchase_date: None,
                        proof: &proof,
                    },
                )
            })
            .unwrap();
    }

    /// Another appliance `appliance` of the customer `key`.
    fn appliance(&mut self, key: &str, appliance: &str) {
        let proof = ProofOfPurchase {
            kind: ProofKind::None,
            date: None,
            sealed: false,
        };
        self.store
            .write(|tx| {
                workorders::insert_appliance(
                    tx,
                    &NewAppliance {
                        id: &format!("a-{appliance}"),
                        customer_id: &format!("c-{key}"),
                        category: "water_purifier",
                        brand: "Brand",
                        model: "RO-2",
                        serial_no: None,
                        purchase_date: None,
                        proof: &proof,
                    },
                )
            })
            .unwrap();
    }

    fn completed_job(&mut self, key: &str, no: &str, closed: DateTime<Utc>, pdf: &[u8]) -> String {
        self.completed_job_on(key, key, no, closed, pdf)
    }

    /// A job for the customer `key`, in progress, signed for (the signature's PNG and a
    /// sign-off "PDF" stored as blobs), then completed at `closed`. Returns its id.
    fn completed_job_on(
        &mut self,
        key: &str,
        appliance: &str,
        no: &str,
        closed: DateTime<Utc>,
        pdf: &[u8],
    ) -> String {
        let id = format!("w-{no}");
        let png = documents::put_blob(&self.blobs(), format!("png of {no}").as_bytes()).unwrap();
        let pdf_sha = documents::put_blob(&self.blobs(), pdf).unwrap();
        let start = closed - Duration::hours(2);
        self.store
            .write(|tx| {
                workorders::insert_work_order(
                    tx,
                    &NewWorkOrder {
                        id: &id,
                        order_no: no,
                        technician_id: TECH,
                        customer_id: &format!("c-{key}"),
                        appliance_id: &format!("a-{appliance}"),
                        job_type: JobType::Repair,
                        status: WorkOrderStatus::InProgress,
                        reported_fault: "Leaks",
                        appointment_start: start,
                        appointment_end: start + Duration::hours(1),
                        notes: "",
                        created_at: start,
                    },
                )?;
                documents::sign(
                    tx,
                    &NewSignature {
                        work_order_id: &id,
                        signer_name: "Signer",
                        strokes: &strokes(),
                        png_sha256: &png,
                    },
                    closed - Duration::minutes(5),
                )?;
                documents::record_document(
                    tx,
                    &id,
                    DocumentKind::SignOff,
                    "en",
                    &pdf_sha,
                    pdf.len() as i64,
                    closed - Duration::minutes(4),
                )?;
                workorders::change_status(tx, &id, WorkOrderStatus::Completed, None, closed)
            })
            .unwrap();
        id
    }

    /// Head office acknowledges every pending op.
    fn acknowledge_all(&mut self) {
        let now = t0();
        self.store
            .write(|tx| {
                for (i, op) in outbox::pending(tx, 10_000)?.iter().enumerate() {
                    store_sync::record_result(
                        tx,
                        &op.op_id,
                        &StoredOutcome::Applied {
                            server_seq: i as i64 + 1,
                            flagged: false,
                        },
                        "epoch-1",
                        now,
                    )?;
                }
                Ok(())
            })
            .unwrap();
    }

    /// Head office declares a restore horizon past every acknowledged op: the device forgets
    /// them (as the sync does after its hello).
    fn behind_horizon(&mut self) {
        self.store
            .write(|tx| {
                store_sync::prune_acknowledged(
                    tx,
                    i64::MAX,
                    "epoch-1",
                    t0() + Duration::days(10_000),
                )
            })
            .unwrap();
    }

    fn sweep(&mut self, now: DateTime<Utc>) -> retention::RetentionReport {
        let report = self
            .store
            .write(|tx| retention::sweep(tx, DAYS, now))
            .unwrap();
        retention::remove_blob_files(&self.blobs(), &report.blobs);
        report
    }

    fn exists(&self, table: &str, column: &str, value: &str) -> bool {
        self.store
            .conn()
            .query_row(
                &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} = ?1)"),
                [value],
                |r| r.get(0),
            )
            .unwrap()
    }

    fn found(&self, query: &str, now: DateTime<Utc>) -> usize {
        workorders::search(self.store.conn(), query, &day_at(now), 20)
            .unwrap()
            .len()
    }

    fn blob_file(&self, bytes: &[u8]) -> bool {
        self.blobs()
            .path(&onsite_store_sha(bytes))
            .unwrap()
            .exists()
    }

    fn count(&self, sql: &str) -> i64 {
        self.store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

fn onsite_store_sha(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    documents::put_blob(&Blobs::new(dir.path(), &test_key()), bytes).unwrap()
}

#[test]
fn a_job_past_its_days_leaves_with_its_blobs_and_search_entries_one_a_day_short_stays() {
    let mut w = World::new();
    w.customer("old", "Oldfield Okonkwo", "139-0000-1111");
    w.customer("new", "Newton Nakamura", "139-0000-2222");
    let now = t0() + Duration::days(200);
    let old = w.completed_job("old", "R-OLD", now - Duration::days(91), b"old pdf");
    let young = w.completed_job("new", "R-NEW", now - Duration::days(89), b"new pdf");
    w.acknowledge_all();
    w.behind_horizon();
    assert_eq!(w.found("Oldfield", now), 1, "found before the sweep");
    assert_eq!(w.found("1111", now), 1);
    assert!(w.blob_file(b"old pdf") && w.blob_file(b"png of R-OLD"));

    let report = w.sweep(now);

    assert_eq!(report.jobs, 1);
    assert_eq!(report.customers, 1);
    assert_eq!(report.blobs.len(), 2, "its signature PNG and its PDF");
    assert!(!w.exists("work_order", "id", &old));
    for table in ["signature", "document", "work_order_status"] {
        assert!(!w.exists(table, "work_order_id", &old), "{table}");
    }
    assert!(
        !w.exists("outbox", "entity_id", &old),
        "its acknowledged records"
    );
    assert!(
        !w.exists("customer", "id", "c-old"),
        "a customer with no job left"
    );
    assert!(!w.exists("appliance", "id", "a-old"));
    assert_eq!(w.found("Oldfield", now), 0, "search finds nothing of it");
    assert_eq!(w.found("Okonkwo", now), 0);
    assert_eq!(w.found("1111", now), 0, "nor its phone");
    assert_eq!(w.found("R-OLD", now), 0);
    assert_eq!(
        w.count("SELECT count(*) FROM search_tri"),
        1,
        "one entry, the job that stays"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM op_result WHERE op_id NOT IN (SELECT op_id FROM outbox)"),
        0
    );
    assert!(!w.blob_file(b"old pdf") && !w.blob_file(b"png of R-OLD"));

    // A day short of its 90 days: it stays, whole.
    assert!(w.exists("work_order", "id", &young));
    assert_eq!(w.found("Newton", now), 1);
    assert!(w.blob_file(b"new pdf") && w.blob_file(b"png of R-NEW"));
    assert!(w.exists("customer", "id", "c-new"));

    // Once it is past its days too, the next sweep removes it.
    let later = now + Duration::days(2);
    assert_eq!(w.sweep(later).jobs, 1);
    assert_eq!(w.found("Newton", later), 0);
    assert!(!w.blob_file(b"new pdf"));
    let integrity: String = w
        .store
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let fk = w.count("SELECT count(*) FROM pragma_foreign_key_check");
    assert_eq!(fk, 0);
}

/// Acknowledged is not enough: until head office's restore horizon is past its records, a
/// restore of head office could need them sent again, so the job stays on the device.
#[test]
fn an_acknowledged_job_stays_until_its_records_are_behind_the_restore_horizon() {
    let mut w = World::new();
    w.customer("a", "Acked Ada", "1");
    let now = t0() + Duration::days(400);
    let id = w.completed_job("a", "R-A", now - Duration::days(120), b"a");
    w.acknowledge_all();
    assert_eq!(w.sweep(now).jobs, 0);
    assert!(w.exists("work_order", "id", &id));
    w.behind_horizon();
    assert_eq!(w.sweep(now).jobs, 1);
    assert!(!w.exists("work_order", "id", &id));
}

#[test]
fn a_job_with_a_record_head_office_has_not_acknowledged_stays() {
    let mut w = World::new();
    w.customer("a", "Acked Ada", "1");
    w.customer("u", "Unsent Uma", "2");
    let now = t0() + Duration::days(400);
    let acked = w.completed_job("a", "R-A", now - Duration::days(120), b"a");
    w.acknowledge_all();
    w.behind_horizon();
    let unsent = w.completed_job("u", "R-U", now - Duration::days(120), b"u");

    assert_eq!(
        retention::removable(w.store.conn(), DAYS, now).unwrap(),
        vec![acked.clone()]
    );
    assert_eq!(w.sweep(now).jobs, 1);
    assert!(
        w.exists("work_order", "id", &unsent),
        "its records are unsent"
    );
    assert_eq!(w.found("Uma", now), 1);
    assert!(w.blob_file(b"u"));

    // A refused record keeps it too: the office has to decide it.
    let op = outbox::pending(w.store.conn(), 1).unwrap()[0].op_id.clone();
    w.store
        .write(|tx| {
            store_sync::record_result(
                tx,
                &op,
                &StoredOutcome::Rejected {
                    code: "invalid".into(),
                    reason: "no".into(),
                },
                "epoch-1",
                now,
            )
        })
        .unwrap();
    w.acknowledge_all();
    w.behind_horizon();
    assert_eq!(w.sweep(now).jobs, 0, "one record refused");
    assert!(w.exists("work_order", "id", &unsent));
}

#[test]
fn a_job_with_an_open_carry_back_or_a_draft_stays() {
    let mut w = World::new();
    w.customer("cb", "Carry Carla", "3");
    w.customer("d", "Draft Dora", "4");
    let now = t0() + Duration::days(400);
    let closed = now - Duration::days(100);
    let cb = w.completed_job("cb", "R-CB", closed, b"cb");
    let png = documents::put_blob(&w.blobs(), b"carry-back signature").unwrap();
    let s = strokes();
    w.store
        .write(|tx| {
            carryback::take(
                tx,
                &NewCarryBack {
                    work_order_id: &cb,
                    item: "Water heater",
                    serial_no: None,
                    accessories: &[],
                    condition: "",
                    fault: "E3",
                    expected_return: (closed + Duration::days(14)).date_naive(),
                    photos: &[],
                    signature: Signed {
                        signer_name: "Carla",
                        strokes: &s,
                        png_sha256: &png,
                    },
                },
                closed.date_naive(),
                closed - Duration::minutes(30),
            )
            .map(|_| ())
        })
        .unwrap();
    let draft = w.completed_job("d", "R-D", closed, b"d");
    w.store
        .write(|tx| onsite_store::drafts::save(tx, &draft, "addendum", "half a note", closed))
        .unwrap();
    w.acknowledge_all();
    w.behind_horizon();

    assert_eq!(w.sweep(now).jobs, 0);
    assert!(
        w.exists("work_order", "id", &cb),
        "the appliance is not back yet"
    );
    assert!(w.exists("work_order", "id", &draft), "a draft waits");
    assert!(w.blob_file(b"carry-back signature"));
    assert_eq!(w.found("Carla", now), 1);
}

#[test]
fn a_blob_another_job_still_uses_stays_and_the_customer_with_a_remaining_job_stays() {
    let mut w = World::new();
    w.customer("s", "Shared Sam", "5");
    w.appliance("s", "s2");
    let now = t0() + Duration::days(400);
    let old = w.completed_job("s", "R-S1", now - Duration::days(200), b"same pdf");
    let recent = w.completed_job_on("s", "s2", "R-S2", now - Duration::days(10), b"same pdf");
    w.acknowledge_all();
    w.behind_horizon();

    let report = w.sweep(now);

    assert_eq!(report.jobs, 1);
    assert_eq!(report.customers, 0, "a job of theirs remains");
    assert_eq!(report.blobs, vec![onsite_store_sha(b"png of R-S1")]);
    assert!(!w.exists("work_order", "id", &old));
    assert!(w.exists("work_order", "id", &recent));
    assert!(w.blob_file(b"same pdf"), "the recent job's document too");
    assert!(!w.blob_file(b"png of R-S1"));
    assert!(w.exists("customer", "id", "c-s"));
    assert!(
        !w.exists("appliance", "id", "a-s"),
        "no job of its own left"
    );
    assert!(w.exists("appliance", "id", "a-s2"));
    assert_eq!(w.found("Sam", now), 1, "the remaining job");
}

#[test]
fn orphan_blob_files_are_swept_after_a_grace_period_and_other_files_stay() {
    let mut w = World::new();
    w.customer("o", "Orphan Otto", "6");
    let now = Utc::now();
    let job = w.completed_job("o", "R-O", now - Duration::days(100), b"o");
    w.acknowledge_all();
    w.behind_horizon();
    // A crash between the commit and the file deletions: the rows went, the files stayed.
    let report = w.store.write(|tx| retention::sweep(tx, DAYS, now)).unwrap();
    assert_eq!(report.jobs, 1);
    assert!(!w.exists("work_order", "id", &job));
    assert!(w.blob_file(b"o"), "not deleted yet");
    let fresh = documents::put_blob(&w.blobs(), b"written a moment ago").unwrap();
    std::fs::write(w.dir().join("notes.txt"), b"not a blob").unwrap();

    // Within the grace period nothing goes (a file may belong to a row being saved)…
    assert_eq!(
        retention::sweep_orphan_files(w.store.conn(), &w.blobs(), now).unwrap(),
        0
    );
    // …after it, unreferenced blob files go, other files stay.
    let later = now + retention::ORPHAN_GRACE + Duration::minutes(1);
    assert_eq!(
        retention::sweep_orphan_files(w.store.conn(), &w.blobs(), later).unwrap(),
        3
    );
    assert!(!w.blob_file(b"o") && !w.blobs().path(&fresh).unwrap().exists());
    assert!(w.dir().join("notes.txt").exists());
}

#[test]
fn the_days_in_force_are_head_offices_else_the_default_and_the_sweep_is_daily() {
    let mut w = World::new();
    assert_eq!(retention::days(w.store.conn()).unwrap(), 90);
    w.store
        .write(|tx| retention::note_days(tx, Some(30)))
        .unwrap();
    assert_eq!(retention::days(w.store.conn()).unwrap(), 30);
    w.store.write(|tx| retention::note_days(tx, None)).unwrap();
    assert_eq!(
        retention::days(w.store.conn()).unwrap(),
        90,
        "not told: the default"
    );

    let now = t0();
    assert!(retention::due(w.store.conn(), now).unwrap());
    w.sweep(now);
    assert!(!retention::due(w.store.conn(), now + Duration::hours(23)).unwrap());
    assert!(retention::due(w.store.conn(), now + Duration::hours(24)).unwrap());
}

#[test]
fn van_stock_its_movements_and_the_days_expenses_stay() {
    let mut w = World::new();
    w.customer("v", "Van Vera", "7");
    let now = t0() + Duration::days(400);
    let job = w.completed_job("v", "R-V", now - Duration::days(100), b"v");
    w.acknowledge_all();
    w.behind_horizon();
    // As a part taken on the job and the day's expenses leave them (SQL: the visit's own
    // path needs a priced quote, which says nothing more here).
    w.store
        .write(|tx| {
            tx.execute_batch(&format!(
                "INSERT INTO part (id, part_no, name_zh, name_en, category, price_minor)
                     VALUES ('p1', 'F-1', '滤芯', 'Filter', 'filter', 100);
                 INSERT INTO van_stock (part_id, quantity, updated_at) VALUES ('p1', 5, '2026-01-01T00:00:00Z');
                 INSERT INTO stock_movement (part_id, kind, delta, work_order_id, at)
                     VALUES ('p1', 'consume', -1, '{job}', '2026-01-02T00:00:00Z');
                 INSERT INTO technician_expense (technician_id, day, km, rate_per_km_minor, meal_days,
                     meal_rate_minor, nights, night_rate_minor, mileage_minor, meals_minor,
                     lodging_minor, total_minor, at, op_id)
                     VALUES ('{TECH}', '2026-01-02', 10, 100, 1, 3000, 0, 0, 1000, 3000, 0, 4000,
                             '2026-01-02T10:00:00Z', 'op-x');"
            ))?;
            Ok(())
        })
        .unwrap();

    assert_eq!(w.sweep(now).jobs, 1);
    assert!(!w.exists("work_order", "id", &job));
    assert_eq!(
        w.count("SELECT quantity FROM van_stock WHERE part_id = 'p1'"),
        4
    );
    assert_eq!(
        w.count(
            "SELECT count(*) FROM stock_movement WHERE part_id = 'p1' AND work_order_id IS NULL"
        ),
        2,
        "the opening and the movement, which forgot the job"
    );
    assert_eq!(w.count("SELECT count(*) FROM technician_expense"), 1);
}

#[test]
fn an_appliances_earlier_visits_stay_while_it_has_a_job_that_stays() {
    let mut w = World::new();
    w.customer("h", "History Hana", "8");
    let now = t0() + Duration::days(400);
    let earlier = w.completed_job("h", "R-H1", now - Duration::days(300), b"h1");
    let recent = w.completed_job("h", "R-H2", now - Duration::days(5), b"h2");
    w.acknowledge_all();
    w.behind_horizon();
    assert_eq!(
        w.sweep(now).jobs,
        0,
        "the recent visit shows the earlier one"
    );
    assert!(w.exists("work_order", "id", &earlier));
    assert!(w.blob_file(b"h1"));
    // Once the later visit's days are up too, both go.
    let later = now + Duration::days(90);
    assert_eq!(w.sweep(later).jobs, 2);
    assert!(!w.exists("work_order", "id", &recent));
    assert!(!w.exists("customer", "id", "c-h"));
}

#[test]
fn a_device_that_never_enrolled_keeps_everything() {
    let mut w = World::unenrolled();
    w.customer("n", "Never Nils", "9");
    let now = t0() + Duration::days(400);
    let job = w.completed_job("n", "R-N", now - Duration::days(300), b"n");
    // The demo's history has no records to acknowledge: nothing proves head office has it.
    w.store
        .write(|tx| {
            tx.execute("DELETE FROM outbox", [])?;
            Ok(())
        })
        .unwrap();
    assert_eq!(w.sweep(now).jobs, 0);
    assert!(w.exists("work_order", "id", &job));
    w.enrol();
    assert_eq!(w.sweep(now).jobs, 1, "enrolled, head office's view holds");
}

fn test_key() -> DataKey {
    DataKey::from_array([7; 32])
}
