//! Shared by the sync benchmarks: head office from the test kit (onsite-testkit: a real
//! onsite-hq on 127.0.0.1 over real TLS), with a request counter in front of its router; devices with real temp-file stores; and
//! a byte-counting, optionally delaying TCP proxy between the device and head office.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onsite_api::*;
use onsite_hq::storage::sqlite::SqliteStorage;
use onsite_store::Store;
use onsite_sync::{ClientOptions, HqClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use uuid::Uuid;

use onsite_testkit::pki;

/// HTTP requests head office received, by kind ("POST /v1/sync/push", "HEAD blob", ...),
/// and the time its router spent on them (request in to reply headers out), by kind.
#[derive(Clone, Default)]
pub struct RequestCounter(
    Arc<Mutex<BTreeMap<String, u64>>>,
    Arc<Mutex<BTreeMap<String, Duration>>>,
);

impl RequestCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap().clone()
    }

    /// Router time per kind so far.
    pub fn busy(&self) -> BTreeMap<String, Duration> {
        self.1.lock().unwrap().clone()
    }

    /// Router time per kind since `before`, as "kind: n ms, ...".
    pub fn busy_since(&self, before: &BTreeMap<String, Duration>) -> String {
        self.busy()
            .into_iter()
            .map(|(k, v)| {
                let b = before.get(&k).copied().unwrap_or_default();
                (k, v.saturating_sub(b))
            })
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| format!("{k}: {:.0} ms", v.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Requests per kind since `before`.
    pub fn since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.snapshot()
            .into_iter()
            .map(|(k, v)| {
                let b = before.get(&k).copied().unwrap_or(0);
                (k, v - b)
            })
            .filter(|(_, v)| *v > 0)
            .collect()
    }
}

fn kind_of(method: &str, path: &str) -> String {
    let p = if path.starts_with("/v1/blobs/") {
        "/v1/blobs/{sha256}"
    } else if path.starts_with("/v1/admin/") {
        "/v1/admin/*"
    } else {
        path
    };
    format!("{method} {p}")
}

/// Head office from the test kit, with a request counter in front of its router.
pub struct Hq {
    kit: onsite_testkit::Hq,
    pub requests: RequestCounter,
}

impl std::ops::Deref for Hq {
    type Target = onsite_testkit::Hq;

    fn deref(&self) -> &onsite_testkit::Hq {
        &self.kit
    }
}

/// Starts onsite-hq (SQLite in a temp dir) over TLS on 127.0.0.1, counting requests.
pub async fn start() -> Hq {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let storage = Arc::new(SqliteStorage::open_in_dir(&dir).unwrap());
    let requests = RequestCounter::default();
    let counter = requests.clone();
    let kit = onsite_testkit::start_with(
        storage,
        &dir,
        Arc::new(pki()),
        Some(tmp),
        Duration::from_secs(120),
        move |app| {
            app.layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let kind = kind_of(req.method().as_str(), req.uri().path());
                    *counter.0.lock().unwrap().entry(kind.clone()).or_default() += 1;
                    let busy = counter.1.clone();
                    async move {
                        let t = std::time::Instant::now();
                        let res = next.run(req).await;
                        *busy.lock().unwrap().entry(kind).or_default() += t.elapsed();
                        res
                    }
                },
            ))
        },
    )
    .await;
    Hq { kit, requests }
}

impl Hq {
    /// A client for head office through `addr` (a proxy in front of it).
    pub fn client_via(&self, addr: SocketAddr, options: ClientOptions) -> HqClient {
        HqClient::new(
            &format!("https://127.0.0.1:{}", addr.port()),
            Some(&self.pki.ca_pem),
            options,
        )
        .unwrap()
    }

    pub async fn stop(self) {
        self.kit.stop().await;
    }
}

pub fn options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(120),
        connect_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    }
}

/// A work order for a technician; invented customer (no real data).
pub fn new_work_order(order_no: &str, technician: Option<Uuid>) -> NewWorkOrder {
    let start = chrono::Utc::now();
    NewWorkOrder {
        order_no: order_no.into(),
        technician_id: technician,
        job_type: onsite_domain::JobType::Repair,
        customer: Customer {
            name: format!("Bench Customer {order_no}"),
            phone: "000-0000-0000".into(),
            address: format!("{order_no} Bench Road, Test Town"),
            language: "zh-CN".into(),
        },
        appliance: Appliance {
            category: "water_purifier".into(),
            brand: "Acme".into(),
            model: "RO-500".into(),
            serial_no: Some(format!("SN-{order_no}")),
            purchase_date: None,
            proof: None,
            contracts: Vec::new(),
        },
        reported_fault: "low flow, leaks under the sink".into(),
        notes: "ring twice; parking behind the building".into(),
        appointment_start: start,
        appointment_end: start + chrono::Duration::hours(1),
    }
}

/// A device: a real store in a temp file, enrolled (directly with head office).
pub struct Device {
    pub store: Arc<Mutex<Store>>,
    pub path: PathBuf,
    pub blobs: PathBuf,
    _dir: tempfile::TempDir,
}

pub async fn device(hq: &Hq, technician: Uuid, seed: impl FnOnce(&mut Store)) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onsite.db");
    let blobs = dir.path().join("blobs");
    let mut opened = Store::open(&path, &onsite_store::DataKey::from_array([7; 32])).unwrap();
    seed(&mut opened);
    let store = Arc::new(Mutex::new(opened));
    let code = hq.code_for(technician).await;
    onsite_sync::enroll(
        &store,
        &hq.base,
        &code,
        "bench laptop",
        Some(&hq.pki.ca_pem),
        options(),
    )
    .await
    .unwrap();
    Device {
        store,
        path,
        blobs,
        _dir: dir,
    }
}

impl Device {
    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.store.lock().unwrap())
    }

    pub fn pending(&self) -> usize {
        self.with(|s| onsite_store::sync::pending_view(s.conn()).unwrap().len())
    }
}

// ---------------------------------------------------------------------------------------
// Counting, delaying TCP proxy (bytes only: TLS passes through untouched).

/// Counts bytes each way and, when `one_way` is not zero, delivers every chunk `one_way`
/// after it was read, in each direction (a delay line: added latency, no bandwidth cap;
/// so one request/reply exchange costs 2 × `one_way` more). The TCP handshake to the
/// proxy itself is local and not delayed; TLS's handshake is (it is data).
pub struct Proxy {
    pub addr: SocketAddr,
    pub one_way: Duration,
    pub up: Arc<AtomicU64>,
    pub down: Arc<AtomicU64>,
    pub connections: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wire {
    pub up: u64,
    pub down: u64,
    pub connections: u64,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr, one_way: Duration) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicU64::new(0));
        let down = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let (u, d, c) = (up.clone(), down.clone(), connections.clone());
        let task = tokio::spawn(async move {
            // Bounded: at most this many connections over the proxy's life.
            for _ in 0..100_000 {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::Relaxed);
                let (u, d) = (u.clone(), d.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let a = tokio::spawn(delay_line(cr, sw, one_way, u));
                    let b = tokio::spawn(delay_line(sr, cw, one_way, d));
                    let _ = a.await;
                    let _ = b.await;
                });
            }
        });
        Proxy {
            addr,
            one_way,
            up,
            down,
            connections,
            task,
        }
    }

    pub fn wire(&self) -> Wire {
        Wire {
            up: self.up.load(Ordering::Relaxed),
            down: self.down.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
        }
    }
}

impl Wire {
    pub fn since(self, before: Wire) -> Wire {
        Wire {
            up: self.up - before.up,
            down: self.down - before.down,
            connections: self.connections - before.connections,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn delay_line(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    one_way: Duration,
    counter: Arc<AtomicU64>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await; // the simulated latency itself
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                counter.fetch_add(n as u64, Ordering::Relaxed);
                if tx
                    .send((Instant::now() + one_way, buf[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

// ---------------------------------------------------------------------------------------
// Small helpers.

/// A tiny deterministic PRNG (xorshift64*): random-ish bytes without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// In `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    pub fn bytes(&mut self, prefix: &[u8], len: usize) -> Vec<u8> {
        let mut out = prefix.to_vec();
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

pub fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Requests counted, as "n (push 3, pull 2, ...)".
pub fn describe_requests(by_kind: &BTreeMap<String, u64>) -> (u64, String) {
    let total = by_kind.values().sum();
    let parts: Vec<String> = by_kind.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    (total, parts.join(", "))
}
