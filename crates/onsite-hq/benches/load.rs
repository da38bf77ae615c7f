//! A bounded load generator against a real onsite-hq over HTTPS on 127.0.0.1.
//!
//! Set-up (not measured): ONSITE_LOAD_DEVICES technicians (default 1,000), one work order
//! each, one device each enrolled through `POST /v1/enroll` with its own token, and one
//! first pull per device (which also opens its connection).
//!
//! Measured, for ONSITE_LOAD_SECS (default 60): every device runs its own loop
//!   think (uniform 0.5–1.5 × ONSITE_LOAD_THINK_MS, default 10,000 ms; the first think
//!   is uniform 0–1 × so devices start spread out) → push 1–5 small ops (edit notes,
//!   record work, consume part on its own job) → pull until `has_more` is false.
//! Concurrency is bounded by construction: one loop and one HTTPS connection (its own
//! reqwest client, HTTP/2 by ALPN as the real client negotiates) per device, at most
//! one request in flight per device, so at most ONSITE_LOAD_DEVICES requests in flight.
//! No client-side queue: latency is measured from sending the request to having read
//! and parsed the whole reply. Server and load generator run in the same process on
//! separate tokio runtimes (2 worker threads each).
//!
//! Backend: SQLite by default; `ONSITE_LOAD_BACKEND=postgres` puts head office on a fresh
//! PostgreSQL database (on the test kit's throwaway cluster, or `ONSITE_TEST_PG_URL`'s),
//! and `ONSITE_LOAD_INSTANCES=N` runs N head offices (own pools, own servers) on it,
//! device i syncing with instance i mod N.
//!
//! `ONSITE_LOAD_SATURATION=1` measures instead the saturation point of SQLite, PostgreSQL
//! with one instance and with two, in one run: the same devices at growing offered rates
//! until a step misses the goal (see [`saturation`]).
//!
//! `cargo bench -p onsite-hq --bench load`
//! (short run: `ONSITE_LOAD_SECS=10 ONSITE_LOAD_DEVICES=100 cargo bench -p onsite-hq --bench load`;
//! saturation: `ONSITE_LOAD_SATURATION=1 cargo bench -p onsite-hq --bench load`)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use onsite_api::*;
use onsite_domain::{JobType, Money};
use onsite_hq::storage::postgres::PostgresStorage;
use onsite_hq::storage::sqlite::SqliteStorage;
use onsite_hq::storage::Storage;
use reqwest::StatusCode;
use uuid::Uuid;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A tiny PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Device {
    technician_id: Uuid,
    work_order: Uuid,
    token: String,
}

#[derive(Default)]
struct Stats {
    /// Latencies in microseconds, per request kind.
    latencies: BTreeMap<&'static str, Vec<u64>>,
    /// Errors, by kind and what happened.
    errors: BTreeMap<String, u64>,
    syncs: u64,
    ops_applied: u64,
    ops_rejected: u64,
    changes_pulled: u64,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        for (k, v) in other.latencies {
            self.latencies.entry(k).or_default().extend(v);
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.syncs += other.syncs;
        self.ops_applied += other.ops_applied;
        self.ops_rejected += other.ops_rejected;
        self.changes_pulled += other.changes_pulled;
    }

    fn error(&mut self, what: String) {
        *self.errors.entry(what).or_default() += 1;
    }
}

fn new_work_order(i: usize, technician: Uuid) -> NewWorkOrder {
    let start = Utc::now();
    NewWorkOrder {
        order_no: format!("WO-LOAD-{i:05}"),
        technician_id: Some(technician),
        job_type: JobType::Repair,
        customer: Customer {
            name: format!("Load Customer {i}"),
            phone: "000-0000-0000".into(),
            address: format!("{i} Bench Road"),
            language: "zh-CN".into(),
        },
        appliance: Appliance {
            category: "water_purifier".into(),
            brand: "Acme".into(),
            model: "RO-500".into(),
            serial_no: None,
            purchase_date: None,
            proof: None,
            contracts: Vec::new(),
        },
        reported_fault: "leaks".into(),
        notes: String::new(),
        appointment_start: start,
        appointment_end: start + chrono::Duration::hours(1),
    }
}

fn main() {
    if std::env::var("ONSITE_LOAD_SATURATION").is_ok_and(|v| v == "1") {
        return saturation();
    }
    let secs: u64 = env_or("ONSITE_LOAD_SECS", 60);
    let n: usize = env_or("ONSITE_LOAD_DEVICES", 1000);
    let think = Duration::from_millis(env_or("ONSITE_LOAD_THINK_MS", 10_000));
    let max_ops: u64 = env_or("ONSITE_LOAD_MAX_OPS", 5u64).max(1);
    let postgres = std::env::var("ONSITE_LOAD_BACKEND").is_ok_and(|b| b == "postgres");
    let instances: usize = env_or("ONSITE_LOAD_INSTANCES", 1usize).max(1);
    let setup = Setup::start(postgres, instances);
    println!(
        "load: {n} devices, {secs} s, think {} ms mean (uniform ±50%), 1–{max_ops} ops per push; onsite-hq over TLS on 127.0.0.1, {}",
        think.as_millis(),
        setup.name
    );
    let mut devices = setup.devices(n);
    let (stats, elapsed) = setup.run(&mut devices, Duration::from_secs(secs), think, max_ops);
    report(&stats, elapsed, n);
    setup.stop();
}

/// Head office as one setup (backend and instances), and the load generator's runtime.
struct Setup {
    name: String,
    server_rt: tokio::runtime::Runtime,
    client_rt: tokio::runtime::Runtime,
    servers: Vec<onsite_hq::RunningServer>,
    bases: Vec<String>,
    storage: Arc<dyn Storage>,
    ca: Arc<String>,
    _tmp: tempfile::TempDir,
}

impl Setup {
    /// Head office on SQLite, or `instances` head offices on one fresh PostgreSQL database
    /// (the test kit's throwaway cluster, or `ONSITE_TEST_PG_URL`'s).
    fn start(postgres: bool, instances: usize) -> Setup {
        // Head office: its own runtime (axum + its blocking pool for storage).
        let server_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hq")
            .enable_all()
            .build()
            .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let storages: Vec<Arc<dyn Storage>> = if postgres {
            let url = onsite_testkit::pg::fresh_database();
            (0..instances)
                .map(|_| Arc::new(PostgresStorage::connect(&url).unwrap()) as Arc<dyn Storage>)
                .collect()
        } else {
            assert_eq!(
                instances, 1,
                "several instances need ONSITE_LOAD_BACKEND=postgres"
            );
            vec![Arc::new(SqliteStorage::open_in_dir(tmp.path()).unwrap())]
        };
        let pki = onsite_testkit::pki();
        let servers: Vec<onsite_hq::RunningServer> = storages
            .iter()
            .map(|storage| {
                let _guard = server_rt.enter();
                onsite_testkit::serve(storage.clone(), &pki, |app| app)
            })
            .collect();
        let bases = servers
            .iter()
            .map(|s| format!("https://127.0.0.1:{}", s.addr.port()))
            .collect();
        // The load generator: another runtime.
        let client_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("load")
            .enable_all()
            .build()
            .unwrap();
        Setup {
            name: if postgres {
                format!("PostgreSQL, {instances} instance(s)")
            } else {
                "SQLite".to_owned()
            },
            server_rt,
            client_rt,
            servers,
            bases,
            storage: storages[0].clone(),
            ca: Arc::new(pki.ca_pem),
            _tmp: tmp,
        }
    }

    /// `n` technicians with a work order each, their devices enrolled over HTTPS and
    /// pulled once (not measured).
    fn devices(&self, n: usize) -> Vec<DeviceState> {
        let t = Instant::now();
        let codes = seed(&*self.storage, n);
        println!(
            "seeded {n} technicians, work orders and enrolment codes in {:.1} s (storage API)",
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        let devices: Vec<DeviceState> =
            self.client_rt
                .block_on(enrol_all(&self.bases[0], &self.ca, codes))
                .into_iter()
                .enumerate()
                .map(|(i, (dev, client, cursor))| DeviceState {
                    dev,
                    client,
                    cursor,
                    seq: 0,
                    rng: Rng(
                        0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9)
                    ),
                })
                .collect();
        println!(
            "enrolled {} devices over HTTPS and pulled once each in {:.1} s (not measured)",
            devices.len(),
            t.elapsed().as_secs_f64()
        );
        devices
    }

    /// Every device's loop for `secs`, device i syncing with instance i mod N.
    fn run(
        &self,
        devices: &mut Vec<DeviceState>,
        secs: Duration,
        think: Duration,
        max_ops: u64,
    ) -> (Stats, Duration) {
        let states = std::mem::take(devices);
        let bases = self.bases.clone();
        let (stats, elapsed, states) = self.client_rt.block_on(async move {
            let start = Instant::now();
            let deadline = start + secs;
            let tasks: Vec<_> = states
                .into_iter()
                .enumerate()
                .map(|(i, state)| {
                    let base = bases[i % bases.len()].clone();
                    tokio::spawn(device_loop(state, base, deadline, think, max_ops))
                })
                .collect();
            let mut all = Stats::default();
            let mut states = Vec::with_capacity(tasks.len());
            for t in tasks {
                let (state, stats) = t.await.unwrap();
                all.merge(stats);
                states.push(state);
            }
            (all, start.elapsed(), states)
        });
        *devices = states;
        (stats, elapsed)
    }

    fn stop(self) {
        self.server_rt.block_on(async {
            for server in self.servers {
                let _ = server.shutdown(Duration::from_secs(5)).await;
            }
        });
    }
}

/// One setup's step at one offered rate.
struct Step {
    offered: f64,
    syncs_per_s: f64,
    push_p99: f64,
    pull_p99: f64,
    errors: u64,
}

impl Step {
    fn met(&self) -> bool {
        self.push_p99 < 250.0 && self.pull_p99 < 250.0 && self.errors == 0
    }
}

/// The saturation point of each setup, in one run: the same devices sync at offered
/// rates that grow step by step (think time = devices / rate) until a step misses the goal
/// (push and pull p99 under 250 ms, no errors). The saturation point is the highest rate
/// met; the missed step shows what the setup delivers when pushed past it.
///
/// ONSITE_LOAD_DEVICES (default 1,000), ONSITE_LOAD_STEP_SECS (default 10),
/// ONSITE_LOAD_RATES (syncs/s, default 50,100,150,200,300,400,500,700),
/// ONSITE_LOAD_SETUPS (default sqlite,postgres:1,postgres:2).
fn saturation() {
    let n: usize = env_or("ONSITE_LOAD_DEVICES", 1000);
    let step_secs = Duration::from_secs(env_or("ONSITE_LOAD_STEP_SECS", 10));
    let max_ops: u64 = env_or("ONSITE_LOAD_MAX_OPS", 5u64).max(1);
    let rates: Vec<f64> = std::env::var("ONSITE_LOAD_RATES")
        .unwrap_or_else(|_| "50,100,150,200,300,400,500,700".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let setups: Vec<(bool, usize)> = std::env::var("ONSITE_LOAD_SETUPS")
        .unwrap_or_else(|_| "sqlite,postgres:1,postgres:2".into())
        .split(',')
        .map(|s| match s.trim().split_once(':') {
            Some(("postgres", k)) => (true, k.parse().unwrap_or(1)),
            None if s.trim() == "postgres" => (true, 1),
            _ => (false, 1),
        })
        .collect();
    println!(
        "saturation: {n} devices, steps of {} s at offered rates {rates:?} syncs/s, 1–{max_ops} ops per push; goal push and pull p99 < 250 ms, 0 errors",
        step_secs.as_secs()
    );
    let mut summary = Vec::new();
    for (postgres, instances) in setups {
        let setup = Setup::start(postgres, instances);
        println!();
        println!("== {}", setup.name);
        let mut devices = setup.devices(n);
        println!(
            "{:>8} {:>9} {:>12} {:>12} {:>7}",
            "offered", "syncs/s", "push p99 ms", "pull p99 ms", "errors"
        );
        let mut steps = Vec::new();
        for &rate in &rates {
            let think = Duration::from_secs_f64(n as f64 / rate);
            let (stats, elapsed) = setup.run(&mut devices, step_secs, think, max_ops);
            let p99 = |kind: &str| {
                let mut v = stats.latencies.get(kind).cloned().unwrap_or_default();
                v.sort_unstable();
                percentile(&v, 99.0)
            };
            let step = Step {
                offered: rate,
                syncs_per_s: stats.syncs as f64 / elapsed.as_secs_f64(),
                push_p99: p99("push"),
                pull_p99: p99("pull"),
                errors: stats.errors.values().sum(),
            };
            println!(
                "{:>8.0} {:>9.1} {:>12.1} {:>12.1} {:>7}",
                step.offered, step.syncs_per_s, step.push_p99, step.pull_p99, step.errors
            );
            let met = step.met();
            steps.push(step);
            if !met {
                break;
            }
        }
        summary.push((setup.name.clone(), steps));
        setup.stop();
    }
    println!();
    println!("saturation point (highest offered rate within the goal), per setup:");
    for (name, steps) in &summary {
        let best = steps.iter().rfind(|s| s.met());
        let missed = steps.iter().find(|s| !s.met());
        println!(
            "  {name:<28} {}; {}",
            match best {
                Some(b) => format!(
                    "{:.0} syncs/s offered ({:.1} done, push p99 {:.0} ms)",
                    b.offered, b.syncs_per_s, b.push_p99
                ),
                None => "none of the rates".into(),
            },
            match missed {
                Some(m) => format!(
                    "at {:.0} offered: {:.1} syncs/s done, push p99 {:.0} ms, {} errors",
                    m.offered, m.syncs_per_s, m.push_p99, m.errors
                ),
                None => "every rate tried was met".into(),
            }
        );
    }
}

/// Technicians, one work order each, and a one-time code each: straight into storage.
fn seed(storage: &dyn Storage, n: usize) -> Vec<(Uuid, Uuid, String)> {
    let now = Utc::now();
    (0..n)
        .map(|i| {
            let tech = Uuid::now_v7();
            storage
                .create_technician(tech, &format!("Load Technician {i}"), now)
                .unwrap();
            let wo = storage
                .create_work_order(Uuid::now_v7(), &new_work_order(i, tech), now)
                .unwrap();
            let code = onsite_hq::auth::new_enrolment_code();
            storage
                .store_enrolment_code(
                    tech,
                    &onsite_hq::auth::code_hash(&code),
                    now,
                    now + chrono::Duration::hours(1),
                )
                .unwrap();
            (tech, wo.id, code)
        })
        .collect()
}

fn client_for(ca: &str) -> reqwest::Client {
    onsite_testkit::client_trusting(ca, Duration::from_secs(30))
}

/// Enrols every device (16 at a time) and pulls once for each: its own client, own token.
async fn enrol_all(
    base: &str,
    ca: &Arc<String>,
    codes: Vec<(Uuid, Uuid, String)>,
) -> Vec<(Device, reqwest::Client, Option<String>)> {
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::new();
    for (tech, wo, code) in codes {
        let (base, ca, sem) = (base.to_owned(), ca.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            let client = client_for(&ca);
            let reply: EnrollReply = client
                .post(format!("{base}{}", routes::ENROLL))
                .json(&EnrollRequest {
                    code,
                    device_name: "load van".into(),
                })
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(reply.technician_id, tech);
            let dev = Device {
                technician_id: tech,
                work_order: wo,
                token: reply.token,
            };
            let mut cursor = None;
            loop {
                let page = pull(&client, &base, &dev.token, cursor.as_deref())
                    .await
                    .unwrap();
                cursor = Some(page.cursor);
                if !page.has_more {
                    break;
                }
            }
            (dev, client, cursor)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn pull(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    cursor: Option<&str>,
) -> Result<PullReply, String> {
    let mut query: Vec<(&str, &str)> = vec![("limit", "500")];
    if let Some(c) = cursor {
        query.push(("cursor", c));
    }
    let res = client
        .get(format!("{base}{}", routes::SYNC_PULL))
        .bearer_auth(token)
        .query(&query)
        .send()
        .await
        .map_err(|e| transport(&e))?;
    let status = res.status();
    if status != StatusCode::OK {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    res.json::<PullReply>()
        .await
        .map_err(|e| format!("bad reply: {}", transport(&e)))
}

fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else if e.is_decode() {
        "decode".into()
    } else {
        "transport".into()
    }
}

fn ops_for(dev: &Device, seq: &mut i64, count: u64, rng: &mut Rng) -> Vec<Op> {
    let now = Utc::now();
    (0..count)
        .map(|_| {
            *seq += 1;
            let payload = match rng.next() % 3 {
                0 => OpPayload::EditNotes(NotesEdit {
                    fact_id: Uuid::now_v7(),
                    notes: format!("checked the pre-filter; note {seq}"),
                    at: now,
                }),
                1 => OpPayload::RecordWork(WorkDone {
                    fact_id: Uuid::now_v7(),
                    service_code: "REPLACE".into(),
                    description: "replaced a filter".into(),
                    fee_table_version: 1,
                    charge: Money::cny(2000),
                    warranty: false,
                    at: now,
                }),
                _ => OpPayload::ConsumePart(PartUsed {
                    part_id: None,
                    part_use_id: None,
                    stock_after: None,
                    fact_id: Uuid::now_v7(),
                    part_no: "F-PP-10".into(),
                    quantity: 1,
                    serial_no: None,
                    unit_price: Some(Money::cny(2800)),
                    price_list_version: Some(1),
                    quote_id: None,
                    serial_removed: None,
                    stock_override_reason: None,
                    warranty: false,
                    at: now,
                }),
            };
            Op::new(Uuid::now_v7(), *seq, dev.work_order, Some(1), &payload)
        })
        .collect()
}

/// One device between runs: its token, its connection, its cursor, its op counter.
struct DeviceState {
    dev: Device,
    client: reqwest::Client,
    cursor: Option<String>,
    seq: i64,
    rng: Rng,
}

/// One device's loop until `deadline`; gives its state back for the next run.
async fn device_loop(
    mut state: DeviceState,
    base: String,
    deadline: Instant,
    think: Duration,
    max_ops: u64,
) -> (DeviceState, Stats) {
    let DeviceState {
        dev,
        client,
        cursor,
        seq,
        rng,
    } = &mut state;
    let _ = dev.technician_id;
    let mut stats = Stats::default();
    let mut first = true;
    loop {
        let factor = if first { rng.unit() } else { 0.5 + rng.unit() };
        first = false;
        let wake = Instant::now() + think.mul_f64(factor);
        if wake >= deadline {
            tokio::time::sleep_until(deadline.into()).await;
            return (state, stats);
        }
        tokio::time::sleep_until(wake.into()).await;

        // Push.
        let count = 1 + rng.next() % max_ops;
        let ops = ops_for(dev, seq, count, rng);
        let t = Instant::now();
        let res = client
            .post(format!("{base}{}", routes::SYNC_PUSH))
            .bearer_auth(&dev.token)
            .json(&PushRequest { ops })
            .send()
            .await;
        let pushed = match res {
            Err(e) => Err(transport(&e)),
            Ok(r) if r.status() != StatusCode::OK => Err(format!("HTTP {}", r.status().as_u16())),
            Ok(r) => r
                .json::<PushReply>()
                .await
                .map_err(|e| format!("bad reply: {}", transport(&e))),
        };
        let took = t.elapsed();
        match pushed {
            Ok(reply) if reply.results.len() as u64 == count => {
                stats
                    .latencies
                    .entry("push")
                    .or_default()
                    .push(took.as_micros() as u64);
                for r in &reply.results {
                    match r.outcome {
                        OpOutcome::Applied { .. } => stats.ops_applied += 1,
                        OpOutcome::Rejected { .. } => stats.ops_rejected += 1,
                    }
                }
            }
            Ok(_) => {
                stats.error("push: wrong number of results".into());
                continue;
            }
            Err(e) => {
                stats.error(format!("push: {e}"));
                continue;
            }
        }

        // Pull until done.
        let mut ok = true;
        for _ in 0..100 {
            let t = Instant::now();
            match pull(client, &base, &dev.token, cursor.as_deref()).await {
                Ok(page) => {
                    stats
                        .latencies
                        .entry("pull")
                        .or_default()
                        .push(t.elapsed().as_micros() as u64);
                    stats.changes_pulled += page.changes.len() as u64;
                    *cursor = Some(page.cursor);
                    if !page.has_more {
                        break;
                    }
                }
                Err(e) => {
                    stats.error(format!("pull: {e}"));
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            stats.syncs += 1;
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn report(stats: &Stats, elapsed: Duration, devices: usize) {
    let secs = elapsed.as_secs_f64();
    let requests: usize = stats.latencies.values().map(Vec::len).sum();
    let errors: u64 = stats.errors.values().sum();
    println!();
    println!(
        "{:<6} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "kind", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let mut worst_p99 = 0f64;
    for (kind, lat) in &stats.latencies {
        let mut v = lat.clone();
        v.sort_unstable();
        let p99 = percentile(&v, 99.0);
        worst_p99 = worst_p99.max(p99);
        println!(
            "{:<6} {:>9} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            kind,
            v.len(),
            v.len() as f64 / secs,
            percentile(&v, 50.0),
            percentile(&v, 90.0),
            p99,
            v.last().copied().unwrap_or(0) as f64 / 1000.0
        );
    }
    println!();
    println!(
        "{devices} devices over {secs:.1} s: {requests} successful requests ({:.1}/s), {} syncs ({:.1}/s), ops applied {}, rejected {}, changes pulled {}",
        requests as f64 / secs,
        stats.syncs,
        stats.syncs as f64 / secs,
        stats.ops_applied,
        stats.ops_rejected,
        stats.changes_pulled
    );
    println!("errors: {errors} {:?}", stats.errors);
    println!(
        "goal p99 < 250 ms and 0 errors: {}",
        if worst_p99 < 250.0 && errors == 0 {
            "met"
        } else {
            "MISSED"
        }
    );
}
