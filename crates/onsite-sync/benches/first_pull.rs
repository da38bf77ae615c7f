//! A freshly enrolled device's first full pull: head office holds 5,000 work orders for the
//! technician and a 20,000-part catalogue. Seeded through onsite-hq's storage API (not
//! measured). Each run is a new device with a new temp-file store; measured: the wall time
//! of one `sync_once` (nothing to push: pages pulled and applied to the store), HTTP
//! requests (counted in front of head office's router) and bytes each way at a TCP proxy.
//! Target: under 1.5 s at 200 ms round trip (issue 12; issue 5's was 3 s).
//!
//! `cargo bench -p onsite-sync --bench first_pull` (ONSITE_BENCH_RUNS, default 5;
//! ONSITE_BENCH_ORDERS, default 5000; ONSITE_BENCH_PARTS, default 20000;
//! ONSITE_BENCH_DELAY_MS, default 0: latency added each way at the proxy;
//! ONSITE_BENCH_PULL_LIMIT, default the client's: changes per page asked for)

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use onsite_hq::storage::Storage;
use support::*;
use uuid::Uuid;

fn main() {
    let runs: usize = env_or("ONSITE_BENCH_RUNS", 5);
    let orders: usize = env_or("ONSITE_BENCH_ORDERS", 5000);
    let parts: usize = env_or("ONSITE_BENCH_PARTS", 20_000);
    let pull_limit: u32 = env_or(
        "ONSITE_BENCH_PULL_LIMIT",
        onsite_sync::ClientOptions::default().pull_limit,
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let hq = start().await;
        let tech = hq.technician("Bench Technician").await;
        let seeding = Instant::now();
        let storage = hq.storage.clone();
        tokio::task::spawn_blocking(move || seed(&*storage, tech, orders, parts))
            .await
            .unwrap();
        println!(
            "first_pull: head office seeded with {orders} work orders for the technician and a {parts}-part catalogue in {:.1} s (not measured)",
            seeding.elapsed().as_secs_f64()
        );
        let one_way = Duration::from_millis(env_or("ONSITE_BENCH_DELAY_MS", 0u64));
        if !one_way.is_zero() {
            println!("added delay: {} ms each way at the proxy", one_way.as_millis());
        }
        println!("pages of {pull_limit} changes asked for");
        let proxy = Proxy::start(hq.addr, one_way).await;
        println!();
        println!(
            "{:>4} {:>9} {:>6} {:>8} {:>9} {:>6} {:>12} {:>12} {:>10}",
            "run",
            "wall",
            "pages",
            "changes",
            "requests",
            "conns",
            "up (c→s)",
            "down (s→c)",
            "store file"
        );
        let mut walls = Vec::new();
        for run in 1..=runs {
            let dev = device(&hq, tech, |_| {}).await;
            let client = hq.client_via(
                proxy.addr,
                onsite_sync::ClientOptions {
                    pull_limit,
                    ..options()
                },
            );
            let before = hq.requests.snapshot();
            let busy = hq.requests.busy();
            let wire = proxy.wire();
            let t = Instant::now();
            let r = onsite_sync::sync_once(&dev.store, &client).await.unwrap();
            let wall = t.elapsed();
            let wire = proxy.wire().since(wire);
            let (n, _) = describe_requests(&hq.requests.since(&before));
            let busy = hq.requests.busy_since(&busy);
            assert_eq!(r.changes_applied, orders + 1, "{r:?}");
            let count: i64 = dev.with(|s| {
                s.conn()
                    .query_row("SELECT count(*) FROM work_order", [], |r| r.get(0))
                    .unwrap()
            });
            assert_eq!(count as usize, orders);
            let size = std::fs::metadata(&dev.path).map(|m| m.len()).unwrap_or(0);
            println!(
                "{:>4} {:>7.0}ms {:>6} {:>8} {:>9} {:>6} {:>12} {:>12} {:>10}",
                run,
                wall.as_secs_f64() * 1000.0,
                r.pages_pulled,
                r.changes_applied,
                n,
                wire.connections,
                kib(wire.up),
                kib(wire.down),
                kib(size)
            );
            println!("     head office busy: {busy}");
            walls.push(wall.as_secs_f64());
        }
        let med = median(&mut walls);
        println!();
        println!(
            "median {:.0} ms over {runs} runs (min {:.0}, max {:.0}); target < 1500 ms (issue 12; issue 5's was 3000 ms): {}",
            med * 1000.0,
            walls.first().copied().unwrap_or(f64::NAN) * 1000.0,
            walls.last().copied().unwrap_or(f64::NAN) * 1000.0,
            if med < 1.5 { "met" } else { "MISSED" }
        );
        drop(proxy);
        hq.stop().await;
    });
}

fn seed(storage: &dyn Storage, tech: Uuid, orders: usize, parts: usize) {
    let now = Utc::now();
    for i in 0..orders {
        let mut wo = new_work_order(&format!("WO-FP-{i:05}"), Some(tech));
        wo.appointment_start = now + chrono::Duration::hours((i % 2000) as i64);
        wo.appointment_end = wo.appointment_start + chrono::Duration::hours(1);
        storage.create_work_order(Uuid::now_v7(), &wo, now).unwrap();
    }
    let catalogue = onsite_api::PartsCataloguePublish {
        parts: (0..parts)
            .map(|i| onsite_api::Part {
                part_no: format!("P-{i:06}"),
                name: format!("Bench part {i} (seal, filter or fitting)"),
                serialised: i % 10 == 0,
                consumable: i % 3 == 0,
                name_en: None,
                component: None,
                return_required: false,
            })
            .collect(),
    };
    storage.publish_parts_catalogue(&catalogue, now).unwrap();
}
