//! `cargo bench -p onsite-store --bench visit`: recording each visit step (its rows and its
//! outbox operation, committed with synchronous=FULL) on a real file holding the demo data
//! plus a few hundred copies of a repair order. Prints median and p99 per step; the
//! issue's target is p99 under 5 ms (release). Run twice in one go, on a plain file (as
//! before issue 11) and on a sealed one (as the app keeps it), and printed side by side.

use onsite_store::{Blobs, DataKey};
use std::time::{Duration, Instant};

use chrono::{Duration as D, FixedOffset, NaiveDate, TimeZone, Utc};
use onsite_store::demo::{self, DemoData};
use onsite_store::visit::{
    self, Decision, DiagnosisInput, ExpenseInput, PaymentInput, PaymentMethod, QuoteLine,
    QuoteRequest, StockCount, TakePart,
};
use onsite_store::Store;

const DEMO: &str = include_str!("../../../assets/demo/demo.json");
const RUNS: usize = 300;

/// (median, p99) in ms.
fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5).as_secs_f64() * 1e3, at(0.99).as_secs_f64() * 1e3)
}

fn line(code: &str) -> QuoteLine {
    QuoteLine {
        code: code.into(),
        quantity: 1,
        component: None,
        price_minor: None,
    }
}

fn main() {
    // Both files are set up, then each round runs every step on both, alternating which
    // goes first: whatever else the machine does at that moment weighs on both alike.
    let mut plain = rig(false);
    let mut sealed = rig(true);
    for i in 0..RUNS {
        if i % 2 == 0 {
            round(&mut plain, i);
            round(&mut sealed, i);
        } else {
            round(&mut sealed, i);
            round(&mut plain, i);
        }
    }
    let (plain, sealed) = (finish(plain), finish(sealed));
    println!("visit steps (synchronous=FULL, WAL; {RUNS} runs, interleaved; median / p99)");
    for ((name, p), (_, s)) in plain.iter().zip(&sealed) {
        println!(
            "{name:<30} plain {:>7.3} / {:>7.3} ms   sealed {:>7.3} / {:>7.3} ms   median x{:.2}  p99 x{:.2}",
            p.0,
            p.1,
            s.0,
            s.1,
            s.0 / p.0,
            s.1 / p.1
        );
    }
}

const NAMES: [&str; 10] = [
    "RecordDiagnosis",
    "IssueQuote (4 lines, bundle)",
    "RecordQuoteDecision (accept)",
    "ConsumePart (serialized)",
    "TakePayment (cash, change)",
    "RecordFeedback",
    "ReturnPart (old part)",
    "ReturnPart (unused)",
    "StockTake (2 parts)",
    "RecordExpense",
];

/// One file with the demo and RUNS copies of a repair, and the samples taken on it.
struct Rig {
    store: Store,
    dir: std::path::PathBuf,
    orders: Vec<String>,
    now: chrono::DateTime<Utc>,
    today: NaiveDate,
    pump: String,
    filter: String,
    blob: visit::Blob,
    samples: Vec<Vec<Duration>>,
}

/// A plain or a sealed file set up for the rounds.
fn rig(sealed: bool) -> Rig {
    let dir = std::env::temp_dir().join(format!(
        "onsite-visit-bench-{}-{sealed}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.db");
    let mut store = if sealed {
        Store::open(&path, &test_key()).unwrap()
    } else {
        Store::open_unsealed(&path).unwrap()
    };
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let now = tz
        .with_ymd_and_hms(2026, 11, 24, 10, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let data = DemoData::from_json(DEMO).unwrap();
    store
        .write(|tx| demo::seed(tx, &data, today, tz, now))
        .unwrap();

    // RUNS copies of 张志强's repair today (out of warranty), and plenty of stock.
    let orders: Vec<String> = store
        .write(|tx| {
            let template: String = tx.query_row(
                "SELECT w.id FROM work_order w JOIN customer c ON c.id = w.customer_id
                 WHERE c.name = '张志强' AND w.status = 'assigned' AND w.job_type = 'repair'",
                [],
                |r| r.get(0),
            )?;
            let mut ids = Vec::new();
            for i in 0..RUNS {
                let id = uuid::Uuid::now_v7().to_string();
                tx.execute(
                    "INSERT INTO work_order (id, order_no, technician_id, customer_id, appliance_id,
                         job_type, status, reported_fault, appointment_start, appointment_end,
                         notes, created_at, updated_at)
                     SELECT ?1, 'BENCH-' || ?2, technician_id, customer_id, appliance_id, job_type,
                         status, reported_fault, appointment_start, appointment_end, notes,
                         created_at, updated_at
                     FROM work_order WHERE id = ?3",
                    rusqlite::params![id, i as i64, template],
                )?;
                ids.push(id);
            }
            tx.execute(
                "INSERT INTO stock_movement (part_id, kind, delta, at)
                 SELECT part_id, 'restock', 10000, '2026-11-24T00:00:00Z' FROM van_stock",
                [],
            )?;
            Ok(ids)
        })
        .unwrap();
    let pump = visit::find_part_no(store.conn(), "P-PUMP-24V")
        .unwrap()
        .unwrap()
        .part_id;
    let filter = visit::find_part_no(store.conn(), "F-PP-10")
        .unwrap()
        .unwrap()
        .part_id;
    let blob = visit::put_blob(
        &Blobs::new(dir.join("blobs"), &test_key()),
        b"\xff\xd8 bench photo",
        "image/jpeg",
    )
    .unwrap();

    Rig {
        store,
        dir,
        orders,
        now,
        today,
        pump,
        filter,
        blob,
        samples: vec![Vec::with_capacity(RUNS); NAMES.len()],
    }
}

/// Every step once on the rig's `i`th order, each timed.
fn round(rig: &mut Rig, i: usize) {
    let Rig {
        store,
        orders,
        now,
        today,
        pump,
        filter,
        blob,
        samples,
        ..
    } = rig;
    let (now, today) = (*now, *today);
    let (pump, filter) = (pump.clone(), filter.clone());
    let order = &orders[i];
    {
        let t = now + D::seconds(i as i64);
        let mut timed = |k: usize, f: &mut dyn FnMut(&mut Store)| {
            let start = Instant::now();
            f(store);
            samples[k].push(start.elapsed());
        };
        timed(0, &mut |s| {
            visit::write(s, |tx| {
                visit::record_diagnosis(
                    tx,
                    order,
                    &DiagnosisInput {
                        fault_found: "pump seized".into(),
                        components: vec!["pump".into()],
                        exclusions: vec![],
                        notes: String::new(),
                        photos: vec![blob.clone()],
                    },
                    t,
                )
            })
            .unwrap();
        });
        let mut quote_id = String::new();
        timed(1, &mut |s| {
            quote_id = visit::write(s, |tx| {
                visit::issue_quote(
                    tx,
                    order,
                    &QuoteRequest {
                        visit_date: today,
                        work_date: today,
                        lines: vec![
                            line("MAINT"),
                            line("REPLACE"),
                            line("RELOCATE"),
                            line("P-PUMP-24V"),
                        ],
                        contracts: vec![],
                    },
                    t,
                )
            })
            .unwrap()
            .id;
        });
        timed(2, &mut |s| {
            visit::write(s, |tx| {
                visit::decide_quote(tx, order, &quote_id, Decision::Accepted, t)
            })
            .unwrap();
        });
        let mut use_id = String::new();
        timed(3, &mut |s| {
            use_id = visit::write(s, |tx| {
                visit::take_part(
                    tx,
                    order,
                    &TakePart {
                        part_id: pump.clone(),
                        quantity: 1,
                        serial_fitted: Some(format!("NEW-{i}")),
                        serial_removed: Some(format!("OLD-{i}")),
                        override_reason: None,
                    },
                    t,
                )
            })
            .unwrap();
        });
        timed(4, &mut |s| {
            visit::write(s, |tx| {
                visit::take_payment(
                    tx,
                    order,
                    &PaymentInput {
                        method: PaymentMethod::Cash,
                        amount_minor: 24_000,
                        tendered_minor: Some(25_000),
                    },
                    t,
                )
            })
            .unwrap();
        });
        timed(5, &mut |s| {
            visit::write(s, |tx| visit::record_feedback(tx, order, 5, "好", true, t)).unwrap();
        });
        timed(6, &mut |s| {
            visit::write(s, |tx| visit::return_old_part(tx, &use_id, t)).unwrap();
        });
        timed(7, &mut |s| {
            visit::write(s, |tx| visit::return_unused(tx, &filter, 1, None, t)).unwrap();
        });
        timed(8, &mut |s| {
            visit::write(s, |tx| {
                let expected = |id: &str| {
                    visit::van_stock(tx).map(|v| {
                        v.into_iter()
                            .find(|p| p.part_id == id)
                            .map_or(0, |p| p.quantity)
                    })
                };
                let counts = [
                    StockCount {
                        part_id: pump.clone(),
                        counted: expected(&pump)?,
                    },
                    StockCount {
                        part_id: filter.clone(),
                        counted: expected(&filter)? - 1,
                    },
                ];
                visit::stock_take(tx, &counts, t)
            })
            .unwrap();
        });
        timed(9, &mut |s| {
            visit::write(s, |tx| {
                visit::record_expense(
                    tx,
                    &ExpenseInput {
                        day: today + D::days(i as i64),
                        km: 42,
                        meal_days: 1,
                        nights: 0,
                    },
                    t,
                )
            })
            .unwrap();
        });
    }
}

/// The rig's figures per step; its file removed.
fn finish(rig: Rig) -> Vec<(&'static str, (f64, f64))> {
    let state = visit::state(rig.store.conn(), &rig.orders[0]).unwrap();
    assert_eq!(state.balance.outstanding_minor, 0);
    drop(rig.store);
    let _ = std::fs::remove_dir_all(&rig.dir);
    NAMES
        .into_iter()
        .zip(rig.samples.into_iter().map(stats))
        .collect()
}

fn test_key() -> DataKey {
    DataKey::from_array([7; 32])
}
