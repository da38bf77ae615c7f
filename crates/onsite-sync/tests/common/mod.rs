//! Head office from the test kit (onsite-testkit: a real onsite-hq over real TLS, its own
//! CA), and what only the sync tests use: devices with real temp-file stores, and two fault
//! injectors: a TCP proxy (resets, truncation, delays, below TLS) and an HTTPS forwarder
//! (500s, 503s, hostile replies, a gate that holds a request until the test lets it go).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
#[allow(unused_imports)]
use onsite_api::*;
use onsite_hq::RunningServer;
use onsite_store::workorders::Day;
use onsite_store::Store;
use onsite_sync::{ClientOptions, HqClient};
// Not every test uses every item of the kit.
#[allow(unused_imports)]
pub use onsite_testkit::{new_work_order, pki, start, start_in, urlencode, Hq, Pki, ADMIN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use uuid::Uuid;

/// Sync clients for the kit's head office.
pub trait HqClients {
    /// A client for head office, trusting its test CA.
    fn client(&self, options: ClientOptions) -> HqClient;
    /// A client for head office reached through `addr` (a proxy or forwarder).
    fn client_to(&self, addr: SocketAddr, options: ClientOptions) -> HqClient;
}

impl HqClients for Hq {
    fn client(&self, options: ClientOptions) -> HqClient {
        HqClient::new(&self.base, Some(&self.pki.ca_pem), options).unwrap()
    }

    fn client_to(&self, addr: SocketAddr, options: ClientOptions) -> HqClient {
        HqClient::new(
            &format!("https://127.0.0.1:{}", addr.port()),
            Some(&self.pki.ca_pem),
            options,
        )
        .unwrap()
    }
}

/// A technician's device: a real store in a temp file.
pub struct Device {
    pub store: Arc<Mutex<Store>>,
    pub technician_id: Uuid,
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

/// A new technician at head office and an enrolled device for them.
pub async fn device(hq: &Hq, name: &str) -> Device {
    let technician_id = hq.technician(name).await;
    device_for(hq, technician_id).await
}

pub async fn device_for(hq: &Hq, technician_id: Uuid) -> Device {
    device_seeded(hq, technician_id, |_| {}).await
}

/// A device whose store `seed` fills before it enrols (e.g. with the demo's fee tables,
/// warranty components and van stock, which the visit needs).
pub async fn device_seeded(hq: &Hq, technician_id: Uuid, seed: impl FnOnce(&mut Store)) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onsite.db");
    let mut opened = Store::open(&path, &key()).unwrap();
    seed(&mut opened);
    let store = Arc::new(Mutex::new(opened));
    let code = hq.code_for(technician_id).await;
    let e = onsite_sync::enroll(
        &store,
        &hq.base,
        &code,
        "van laptop",
        Some(&hq.pki.ca_pem),
        options(),
    )
    .await
    .unwrap();
    assert_eq!(e.technician_id, technician_id.to_string());
    Device {
        store,
        technician_id,
        path,
        _dir: dir,
    }
}

impl Device {
    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.store.lock().unwrap())
    }

    pub fn integrity(&self) -> String {
        self.with(|s| {
            s.conn()
                .query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
                .unwrap()
        })
    }

    pub fn today(&self) -> Vec<onsite_domain::view::WorkOrderSummary> {
        self.with(|s| {
            onsite_store::workorders::today(s.conn(), &self.technician_id.to_string(), &day())
                .unwrap()
        })
    }

    pub fn status(&self, id: Uuid) -> onsite_domain::WorkOrderStatus {
        self.with(|s| {
            onsite_store::workorders::detail(s.conn(), &id.to_string(), &day())
                .unwrap()
                .summary
                .status
        })
    }

    pub fn change_status(&self, id: Uuid, to: onsite_domain::WorkOrderStatus) {
        self.with(|s| {
            s.write(|tx| {
                onsite_store::workorders::change_status(tx, &id.to_string(), to, None, Utc::now())
            })
            .unwrap()
        })
    }

    pub fn pending(&self) -> Vec<onsite_store::sync::PendingView> {
        self.with(|s| onsite_store::sync::pending_view(s.conn()).unwrap())
    }

    pub fn outbox_count(&self) -> i64 {
        self.with(|s| {
            s.conn()
                .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
                .unwrap()
        })
    }

    pub fn applied_count(&self) -> i64 {
        self.with(|s| {
            s.conn()
                .query_row(
                    "SELECT count(*) FROM outbox WHERE state = 'applied'",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        })
    }

    pub fn work_order_ids(&self) -> Vec<String> {
        self.with(|s| {
            let mut stmt = s
                .conn()
                .prepare("SELECT id FROM work_order ORDER BY id")
                .unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<Vec<String>, _>>()
                .unwrap()
        })
    }

    pub async fn sync(
        &self,
        client: &HqClient,
    ) -> Result<onsite_sync::SyncReport, onsite_sync::SyncError> {
        onsite_sync::sync_once(&self.store, client).await
    }
}

/// A day that holds now.
pub fn day() -> Day {
    let now = Utc::now();
    Day {
        now,
        start: now - chrono::Duration::hours(12),
        end: now + chrono::Duration::hours(12),
    }
}

// ---------------------------------------------------------------------------------------
// TCP fault proxy: bytes only (TLS passes through), 127.0.0.1 only, bounded.

/// What the proxy does to one connection.
#[derive(Debug, Clone, Copy)]
pub enum TcpFault {
    /// Pass everything.
    Pass,
    /// Close both sides abruptly after this many bytes from the server.
    CutAfter(usize),
    /// Hold the server's first bytes this long.
    Delay(Duration),
}

pub struct TcpProxy {
    pub addr: SocketAddr,
    faults: Arc<Mutex<VecDeque<TcpFault>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let faults: Arc<Mutex<VecDeque<TcpFault>>> = Arc::default();
        let f = faults.clone();
        let task = tokio::spawn(async move {
            // Bounded: at most this many connections over the proxy's life.
            for _ in 0..10_000 {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let fault = f.lock().unwrap().pop_front().unwrap_or(TcpFault::Pass);
                tokio::spawn(pipe(client, upstream, fault));
            }
        });
        TcpProxy { addr, faults, task }
    }

    /// Faults for the next connections, in order (then everything passes).
    pub fn arm(&self, faults: &[TcpFault]) {
        self.faults.lock().unwrap().extend(faults.iter().copied());
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(client: TcpStream, upstream: SocketAddr, fault: TcpFault) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sw.shutdown().await;
    });
    let mut sent = 0usize;
    let mut buf = vec![0u8; 16 * 1024];
    if let TcpFault::Delay(d) = fault {
        tokio::time::sleep(d).await; // the fault itself: a slow network, not a wait for an event
    }
    loop {
        let n = match sr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let n = match fault {
            TcpFault::CutAfter(limit) => {
                let allowed = limit.saturating_sub(sent).min(n);
                if allowed < n {
                    let _ = cw.write_all(&buf[..allowed]).await;
                    up.abort();
                    return; // both halves dropped: the connection dies mid-stream
                }
                n
            }
            _ => n,
        };
        if cw.write_all(&buf[..n]).await.is_err() {
            break;
        }
        sent += n;
    }
    let _ = cw.shutdown().await;
    let _ = up.await;
}

// ---------------------------------------------------------------------------------------
// HTTPS forwarder: terminates TLS (same test CA), forwards to the real server, or
// answers with a fault.

pub enum HttpFault {
    /// Forward as usual (to let earlier requests through).
    Pass,
    /// Answer with this status and body (and Retry-After when set).
    Reply {
        status: u16,
        body: Vec<u8>,
        retry_after: Option<u64>,
    },
    /// Forward, then replace the reply's body.
    ReplaceBody(Vec<u8>),
    /// Tell the test the request arrived, wait until it says go, then forward.
    Gate {
        arrived: oneshot::Sender<()>,
        go: Arc<Notify>,
    },
    /// Forward (head office does the work), tell the test, then never answer.
    HoldReply { arrived: oneshot::Sender<()> },
}

pub struct Forwarder {
    pub addr: SocketAddr,
    /// Faults per path prefix, consumed in order.
    faults: Arc<Mutex<Vec<(String, HttpFault)>>>,
    server: Option<RunningServer>,
}

#[derive(Clone)]
struct FwdState {
    upstream: String,
    client: reqwest::Client,
    faults: Arc<Mutex<Vec<(String, HttpFault)>>>,
    /// Request headers passed on (a proxy that drops `content-encoding` is a fault too).
    headers: &'static [&'static str],
}

impl Forwarder {
    pub async fn start(hq: &Hq) -> Forwarder {
        Forwarder::start_passing(hq, &["authorization", "content-type", "content-encoding"]).await
    }

    /// A forwarder that drops the request's `Content-Encoding` (the body goes on as it came).
    pub async fn start_dropping_encoding(hq: &Hq) -> Forwarder {
        Forwarder::start_passing(hq, &["authorization", "content-type"]).await
    }

    async fn start_passing(hq: &Hq, headers: &'static [&'static str]) -> Forwarder {
        let faults: Arc<Mutex<Vec<(String, HttpFault)>>> = Arc::default();
        let state = FwdState {
            upstream: hq.base.clone(),
            client: onsite_testkit::client_trusting(&hq.pki.ca_pem, Duration::from_secs(30)),
            faults: faults.clone(),
            headers,
        };
        let app = axum::Router::new().fallback(forward).with_state(state);
        let tls =
            onsite_hq::tls::server_config(hq.pki.cert_pem.as_bytes(), hq.pki.key_pem.as_bytes())
                .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = onsite_hq::serve_tls(listener, tls, app).unwrap();
        Forwarder {
            addr: server.addr,
            faults,
            server: Some(server),
        }
    }

    /// The next request whose path starts with `prefix` gets `fault`.
    pub fn arm(&self, prefix: &str, fault: HttpFault) {
        self.faults.lock().unwrap().push((prefix.to_owned(), fault));
    }
}

async fn forward(
    axum::extract::State(s): axum::extract::State<FwdState>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = req.uri().path().to_owned();
    let fault = {
        let mut faults = s.faults.lock().unwrap();
        faults
            .iter()
            .position(|(p, _)| path.starts_with(p.as_str()))
            .map(|i| faults.remove(i).1)
    };
    let mut replace = None;
    let mut hold = None;
    match fault {
        Some(HttpFault::Reply {
            status,
            body,
            retry_after,
        }) => {
            let mut res = (axum::http::StatusCode::from_u16(status).unwrap(), body).into_response();
            res.headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            if let Some(r) = retry_after {
                res.headers_mut()
                    .insert("retry-after", r.to_string().parse().unwrap());
            }
            return res;
        }
        Some(HttpFault::ReplaceBody(b)) => replace = Some(b),
        Some(HttpFault::Gate { arrived, go }) => {
            let _ = arrived.send(());
            go.notified().await;
        }
        Some(HttpFault::HoldReply { arrived }) => hold = Some(arrived),
        Some(HttpFault::Pass) | None => {}
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut out = s
        .client
        .request(parts.method.clone(), format!("{}{}", s.upstream, pq));
    for h in s.headers {
        if let Some(v) = parts.headers.get(*h) {
            out = out.header(*h, v.as_bytes());
        }
    }
    let res = match out.body(bytes.to_vec()).send().await {
        Ok(r) => r,
        Err(_) => return axum::http::StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = axum::http::StatusCode::from_u16(res.status().as_u16()).unwrap();
    let mut headers = axum::http::HeaderMap::new();
    for h in ["content-type", "retry-after"] {
        if let Some(v) = res.headers().get(h) {
            headers.insert(
                h,
                axum::http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
            );
        }
    }
    let body = res.bytes().await.unwrap_or_default().to_vec();
    if let Some(arrived) = hold {
        let _ = arrived.send(());
        std::future::pending::<()>().await;
    }
    (status, headers, replace.unwrap_or(body)).into_response()
}

/// The technician's notes on a job, as the app saves them (one outbox op).
pub fn set_notes(dev: &Device, id: Uuid, text: &str) {
    dev.with(|s| {
        s.write(|tx| onsite_store::workorders::set_notes(tx, &id.to_string(), text, Utc::now()))
            .unwrap()
    });
}

/// An outbox op written as a store module writes it (for shapes no helper records).
pub fn append(dev: &Device, kind: &str, entity: Uuid, payload: serde_json::Value) -> String {
    dev.with(|s| {
        s.write(|tx| {
            onsite_store::outbox::append(
                tx,
                kind,
                &entity.to_string(),
                Some(1),
                &payload,
                Utc::now(),
            )
        })
        .unwrap()
    })
}

/// The data key every test device's store and blobs are sealed with (fixed, so that a
/// second process, like the kill test's, can open the same file).
pub const KEY: [u8; 32] = [7; 32];

pub fn key() -> onsite_store::DataKey {
    onsite_store::DataKey::from_array(KEY)
}

/// The sealed blobs folder at `dir`.
#[allow(dead_code)]
pub fn sealed(dir: &std::path::Path) -> onsite_store::Blobs {
    onsite_store::Blobs::new(dir, &key())
}

/// The both-backends test macro lives in the test kit (`onsite_testkit::both_backends!`).
#[allow(unused_imports)]
pub(crate) use onsite_testkit::both_backends;
