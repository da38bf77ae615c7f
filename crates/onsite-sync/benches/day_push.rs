//! A technician's day against a real onsite-hq over HTTPS on 127.0.0.1.
//!
//! Head office assigns 40 jobs; a freshly enrolled device pulls them (the morning pull),
//! then records the day with the store's own APIs (each job: status changes, a quote with
//! five parts, the customer's acceptance, five parts taken from the van (200 parts
//! movements in all), a card payment, the customer's signature (PNG blob, 8–16 KB), the
//! completion and the sign-off PDF (blob, 20–65 KB)), and syncs once with
//! `sync_once_with` (the evening push, followed by the pull the run always does).
//!
//! Measured for each phase: HTTP requests (counted by a layer in front of head office's
//! router), bytes on the wire each way and TCP connections (counted at a TCP proxy between
//! the device and head office: TLS records, headers and bodies as sent), and wall time of
//! the sync call. Then all of it again with 100 ms added in each direction at the proxy
//! (ONSITE_BENCH_DELAY_MS to change it).
//!
//! `cargo bench -p onsite-sync --bench day_push`

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use onsite_domain::WorkOrderStatus::*;
use onsite_store::visit::{self, Decision, PaymentInput, PaymentMethod, QuoteLine, QuoteRequest};
use onsite_store::{documents, workorders};
use serde_json::json;
use support::*;

const JOBS: usize = 40;
const PARTS_PER_JOB: usize = 5;
const DEMO: &str = include_str!("../../../assets/demo/demo.json");

/// Non-serialised van parts the jobs use, five distinct per job.
const PARTS: &[&str] = &[
    "F-PP-10",
    "F-CTO-10",
    "F-GAC-10",
    "F-T33",
    "V-CHECK-14",
    "V-WASTE-300",
    "V-BALL-14",
    "E-HPS-01",
    "E-LPS-01",
    "X-TUBE-14",
    "X-TUBE-38",
    "X-ELBOW-14",
    "X-TEE-14",
    "X-ORING-SET",
];

struct Phase {
    name: &'static str,
    requests: BTreeMap<String, u64>,
    /// Head office's router time per kind of request.
    busy: String,
    wire: Wire,
    wall: Duration,
    report: onsite_sync::SyncReport,
}

struct Scenario {
    one_way: Duration,
    pull: Phase,
    push: Phase,
    ops: usize,
    blob_bytes: u64,
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let delay = Duration::from_millis(env_or("ONSITE_BENCH_DELAY_MS", 100u64));
    println!("day_push: {JOBS} jobs, {} parts movements, signature + PDF per job; onsite-hq over TLS on 127.0.0.1", JOBS * PARTS_PER_JOB);
    let mut scenarios = Vec::new();
    for one_way in [Duration::ZERO, delay] {
        scenarios.push(rt.block_on(scenario(one_way)));
    }
    print_table(&scenarios);
}

async fn scenario(one_way: Duration) -> Scenario {
    let hq = start().await;
    let tech = hq.technician("Bench Technician").await;
    for i in 0..JOBS {
        let _: onsite_api::WorkOrder = hq
            .admin_ok(
                reqwest::Method::POST,
                onsite_api::routes::ADMIN_WORK_ORDERS,
                Some(&new_work_order(&format!("WO-DAY-{i:03}"), Some(tech))),
            )
            .await;
    }
    let dev = device(&hq, tech, seed_van).await;
    let proxy = Proxy::start(hq.addr, one_way).await;
    let config = onsite_sync::SyncConfig {
        blobs: Some(onsite_store::Blobs::new(
            &dev.blobs,
            &onsite_store::DataKey::from_array([7; 32]),
        )),
        ..Default::default()
    };

    // Morning: the day's assignments come down (a new connection, as after waking up).
    let pull = measure("pull (40 assignments)", &hq, &proxy, &dev, &config).await;
    assert_eq!(pull.report.changes_applied, JOBS, "{:?}", pull.report);

    // The day, recorded locally (not measured).
    let ids: Vec<String> = dev.with(|s| {
        let mut stmt = s
            .conn()
            .prepare("SELECT id FROM work_order ORDER BY order_no")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<Vec<String>, _>>()
            .unwrap()
    });
    assert_eq!(ids.len(), JOBS);
    let blob_bytes = record_day(&dev, &ids);
    let ops = dev.pending();

    // Evening: one sync pushes it all.
    let push = measure("push (the day)", &hq, &proxy, &dev, &config).await;
    let r = &push.report;
    assert!(r.blocked.is_none(), "{r:?}");
    assert_eq!((r.ops_applied, r.ops_rejected), (ops, 0), "{r:?}");
    assert_eq!(r.blobs_uploaded, 2 * JOBS, "{r:?}");
    assert_eq!(dev.pending(), 0);
    drop(proxy);
    hq.stop().await;
    Scenario {
        one_way,
        pull,
        push,
        ops,
        blob_bytes,
    }
}

async fn measure(
    name: &'static str,
    hq: &Hq,
    proxy: &Proxy,
    dev: &Device,
    config: &onsite_sync::SyncConfig,
) -> Phase {
    // A new client: a new connection and TLS handshake, as a device waking up has.
    let client = hq.client_via(proxy.addr, options());
    let requests = hq.requests.snapshot();
    let busy = hq.requests.busy();
    let wire = proxy.wire();
    let t = Instant::now();
    let report = onsite_sync::sync_once_with(&dev.store, &client, config)
        .await
        .unwrap();
    let wall = t.elapsed();
    drop(client);
    Phase {
        name,
        requests: hq.requests.since(&requests),
        busy: hq.requests.busy_since(&busy),
        wire: proxy.wire().since(wire),
        wall,
        report,
    }
}

/// The demo's fee tables and van parts (no demo jobs), with enough stock for the day.
fn seed_van(s: &mut onsite_store::Store) {
    let mut data = onsite_store::demo::DemoData::from_json(DEMO).unwrap();
    data.work_orders.clear();
    data.appliances.clear();
    data.customers.clear();
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let now = Utc::now();
    let today = now.with_timezone(&beijing).date_naive();
    s.write(|tx| {
        onsite_store::demo::seed(tx, &data, today, beijing, now)?;
        tx.execute("UPDATE van_stock SET quantity = 1000", [])?;
        Ok(())
    })
    .unwrap();
}

/// Records 40 completed jobs with the store's APIs; returns the blob bytes written.
fn record_day(dev: &Device, ids: &[String]) -> u64 {
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let today = Utc::now().with_timezone(&beijing).date_naive();
    let mut rng = Rng::new(0x5eed_0fda);
    let mut blob_bytes = 0u64;
    let strokes = json!([{"points": [{"x": 1, "y": 2}, {"x": 40, "y": 18}, {"x": 90, "y": 5}]}]);
    for (j, id) in ids.iter().enumerate() {
        let parts: Vec<&str> = (0..PARTS_PER_JOB)
            .map(|k| PARTS[(j * PARTS_PER_JOB + k) % PARTS.len()])
            .collect();
        dev.with(|s| {
            for to in [EnRoute, OnSite, InProgress] {
                s.write(|tx| workorders::change_status(tx, id, to, None, Utc::now()))
                    .unwrap();
            }
            visit::write(s, |tx| {
                let mut lines = vec![QuoteLine {
                    code: "REPLACE".into(),
                    quantity: 1,
                    component: None,
                    price_minor: None,
                }];
                lines.extend(parts.iter().map(|p| QuoteLine {
                    code: (*p).into(),
                    quantity: 1,
                    component: None,
                    price_minor: None,
                }));
                let quote = visit::issue_quote(
                    tx,
                    id,
                    &QuoteRequest {
                        visit_date: today,
                        work_date: today,
                        lines,
                        contracts: Vec::new(),
                    },
                    Utc::now(),
                )?;
                visit::decide_quote(tx, id, &quote.id, Decision::Accepted, Utc::now())?;
                Ok(())
            })
            .unwrap();
            // Each part taken is its own step on screen.
            for p in &parts {
                visit::write(s, |tx| {
                    let part_id = visit::find_part_no(tx, p)?.expect("demo part").part_id;
                    visit::take_part(
                        tx,
                        id,
                        &visit::TakePart {
                            part_id,
                            quantity: 1,
                            serial_fitted: None,
                            serial_removed: None,
                            override_reason: None,
                        },
                        Utc::now(),
                    )
                })
                .unwrap();
            }
            visit::write(s, |tx| {
                let due = visit::state(tx, id)?.balance.outstanding_minor;
                if due > 0 {
                    visit::take_payment(
                        tx,
                        id,
                        &PaymentInput {
                            method: PaymentMethod::Card,
                            amount_minor: due,
                            tendered_minor: None,
                        },
                        Utc::now(),
                    )?;
                }
                Ok(())
            })
            .unwrap();
        });
        // Signature and sign-off sheet: random-ish bytes (incompressible, like PNG/PDF
        // streams) of realistic sizes, in the blobs folder as the app writes them.
        let png_len = rng.range(8 * 1024, 16 * 1024);
        let png = rng.bytes(b"\x89PNG\r\n\x1a\n", png_len);
        let pdf_len = rng.range(20 * 1024, 65 * 1024);
        let pdf = rng.bytes(b"%PDF-1.7\n", pdf_len);
        blob_bytes += (png.len() + pdf.len()) as u64;
        let png_sha = documents::put_blob(
            &onsite_store::Blobs::new(&dev.blobs, &onsite_store::DataKey::from_array([7; 32])),
            &png,
        )
        .unwrap();
        let pdf_sha = documents::put_blob(
            &onsite_store::Blobs::new(&dev.blobs, &onsite_store::DataKey::from_array([7; 32])),
            &pdf,
        )
        .unwrap();
        dev.with(|s| {
            s.write(|tx| {
                documents::sign(
                    tx,
                    &documents::NewSignature {
                        work_order_id: id,
                        signer_name: "Bench Customer",
                        strokes: &strokes,
                        png_sha256: &png_sha,
                    },
                    Utc::now(),
                )?;
                workorders::change_status(tx, id, Completed, None, Utc::now())
            })
            .unwrap();
            s.write(|tx| {
                documents::record_document(
                    tx,
                    id,
                    onsite_domain::view::DocumentKind::SignOff,
                    "zh-CN",
                    &pdf_sha,
                    pdf.len() as i64,
                    Utc::now(),
                )
                .map(|_| ())
            })
            .unwrap();
        });
    }
    blob_bytes
}

fn print_table(scenarios: &[Scenario]) {
    println!();
    println!(
        "{:<16} {:<22} {:>8} {:>12} {:>12} {:>6} {:>9}  requests by kind",
        "added delay", "phase", "requests", "up (c→s)", "down (s→c)", "conns", "wall",
    );
    for s in scenarios {
        let delay = if s.one_way.is_zero() {
            "none".to_owned()
        } else {
            format!("{} ms each way", s.one_way.as_millis())
        };
        for p in [&s.pull, &s.push] {
            let (n, kinds) = describe_requests(&p.requests);
            println!(
                "{:<16} {:<22} {:>8} {:>12} {:>12} {:>6} {:>7.0}ms  {}",
                delay,
                p.name,
                n,
                kib(p.wire.up),
                kib(p.wire.down),
                p.wire.connections,
                p.wall.as_secs_f64() * 1000.0,
                kinds
            );
        }
    }
    println!();
    for s in scenarios {
        for p in [&s.pull, &s.push] {
            println!(
                "head office busy, {} ms each way, {}: {}",
                s.one_way.as_millis(),
                p.name,
                p.busy
            );
        }
    }
    let s = &scenarios[0];
    println!();
    println!(
        "day: {} outbox ops, {} blobs ({}), push report: applied {}, uploaded {}, pages pulled {} ({} changes)",
        s.ops,
        2 * JOBS,
        kib(s.blob_bytes),
        s.push.report.ops_applied,
        s.push.report.blobs_uploaded,
        s.push.report.pages_pulled,
        s.push.report.changes_applied
    );
    println!(
        "morning pull report: pages {}, changes {}",
        s.pull.report.pages_pulled, s.pull.report.changes_applied
    );
}
