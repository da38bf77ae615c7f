//! A real onsite-hq on 127.0.0.1 over real TLS (a CA made here with rcgen), devices with
//! real temp-file stores, and two fault injectors: a TCP proxy (resets, truncation,
//! delays, below TLS) and an HTTPS forwarder (500s, 503s, hostile replies, a gate that
//! holds a request until the test lets it go).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use onsite_api::*;
use onsite_domain::JobType;
use onsite_hq::http::{router, AppState};
use onsite_hq::storage::sqlite::SqliteStorage;
use onsite_hq::RunningServer;
use onsite_store::workorders::Day;
use onsite_store::Store;
use onsite_sync::{ClientOptions, HqClient};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use uuid::Uuid;

pub const ADMIN: &str = "sync-test-admin-token-0123456789";

/// A test CA and a certificate for 127.0.0.1 / localhost signed by it.
pub struct Pki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    /// Another certificate for the same names from the same CA (valid, but not the one a
    /// device pinned).
    pub other_cert_pem: String,
    pub other_key_pem: String,
}

impl Pki {
    /// The same CA, serving the other certificate.
    pub fn with_other_certificate(&self) -> Pki {
        Pki {
            ca_pem: self.ca_pem.clone(),
            cert_pem: self.other_cert_pem.clone(),
            key_pem: self.other_key_pem.clone(),
            other_cert_pem: self.cert_pem.clone(),
            other_key_pem: self.key_pem.clone(),
        }
    }
}

pub fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "onsite-sync test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf = || {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (cert_pem, key_pem) = leaf();
    let (other_cert_pem, other_key_pem) = leaf();
    Pki {
        ca_pem: ca.pem(),
        cert_pem,
        key_pem,
        other_cert_pem,
        other_key_pem,
    }
}

pub struct Hq {
    pub base: String,
    pub addr: SocketAddr,
    pub pki: Arc<Pki>,
    pub admin: reqwest::Client,
    pub storage: Arc<SqliteStorage>,
    pub server: Option<RunningServer>,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

fn admin_client(pki: &Pki) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub async fn start() -> Hq {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    start_in(&dir, Arc::new(pki()), Some(tmp)).await
}

/// Starts a server on the data in `dir` (e.g. a restored backup).
pub async fn start_in(dir: &Path, pki: Arc<Pki>, tmp: Option<tempfile::TempDir>) -> Hq {
    let storage = Arc::new(SqliteStorage::open_in_dir(dir).unwrap());
    let tls =
        onsite_hq::tls::server_config(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = router(AppState::new(storage.clone(), ADMIN));
    let server = onsite_hq::serve_tls(listener, tls, app).unwrap();
    let addr = server.addr;
    Hq {
        base: format!("https://127.0.0.1:{}", addr.port()),
        addr,
        admin: admin_client(&pki),
        pki,
        storage,
        server: Some(server),
        dir: dir.to_path_buf(),
        _tmp: tmp,
    }
}

impl Hq {
    pub async fn admin<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> R {
        let mut req = self
            .admin
            .request(method.clone(), format!("{}{}", self.base, path))
            .bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    /// An admin GET whose reply is not JSON (a blob, a CSV export): status and bytes.
    pub async fn admin_raw(&self, path: &str) -> (u16, Vec<u8>) {
        let res = self
            .admin
            .get(format!("{}{}", self.base, path))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
    }

    /// A PUT as the office, whatever the answer: status and body.
    pub async fn admin_raw_put<B: Serialize>(&self, path: &str, body: &B) -> (u16, Vec<u8>) {
        let res = self
            .admin
            .put(format!("{}{}", self.base, path))
            .bearer_auth(ADMIN)
            .json(body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
    }

    /// A blob head office holds, by hash: status and bytes.
    pub async fn blob(&self, sha256: &str) -> (u16, Vec<u8>) {
        self.admin_raw(&routes::ADMIN_BLOB.replace("{sha256}", sha256))
            .await
    }

    /// The completed jobs' export as CSV.
    pub async fn export_csv(&self) -> String {
        let (status, bytes) = self
            .admin_raw(&format!("{}?format=csv", routes::ADMIN_EXPORT))
            .await;
        assert_eq!(status, 200);
        String::from_utf8(bytes).unwrap()
    }

    pub async fn technician(&self, name: &str) -> Uuid {
        let t: Technician = self
            .admin(
                Method::POST,
                routes::ADMIN_TECHNICIANS,
                Some(&NewTechnician { name: name.into() }),
            )
            .await;
        t.id
    }

    pub async fn code_for(&self, technician: Uuid) -> String {
        let path = routes::ADMIN_ENROLMENT_CODES.replace("{id}", &technician.to_string());
        let c: EnrolmentCode = self
            .admin(Method::POST, &path, Some(&NewEnrolmentCode::default()))
            .await;
        c.code
    }

    pub async fn work_order(&self, order_no: &str, technician: Option<Uuid>) -> WorkOrder {
        self.admin(
            Method::POST,
            routes::ADMIN_WORK_ORDERS,
            Some(&new_work_order(order_no, technician)),
        )
        .await
    }

    pub async fn detail(&self, id: Uuid) -> WorkOrderDetail {
        let path = routes::ADMIN_WORK_ORDER.replace("{id}", &id.to_string());
        self.admin::<(), _>(Method::GET, &path, None).await
    }

    pub async fn export(&self) -> Vec<ExportJob> {
        self.admin::<(), _>(Method::GET, routes::ADMIN_EXPORT, None)
            .await
    }

    pub async fn cancel(&self, id: Uuid) -> WorkOrder {
        let path = routes::ADMIN_WORK_ORDER_CANCEL.replace("{id}", &id.to_string());
        self.admin(
            Method::POST,
            &path,
            Some(&CancelRequest {
                reason: "customer cancelled".into(),
            }),
        )
        .await
    }

    pub async fn reassign(&self, id: Uuid, to: Uuid) -> WorkOrder {
        let path = routes::ADMIN_WORK_ORDER_REASSIGN.replace("{id}", &id.to_string());
        self.admin(
            Method::POST,
            &path,
            Some(&ReassignRequest {
                technician_id: to,
                expected_version: None,
            }),
        )
        .await
    }

    pub async fn rotate_epoch(&self) -> String {
        let r: EpochReply = self
            .admin::<(), _>(Method::POST, routes::ADMIN_EPOCH_ROTATE, None)
            .await;
        r.epoch
    }

    /// Stops the server (requests in flight finish) and closes its database.
    /// Copies the (stopped) server's data files to `to`: a backup.
    pub fn backup(dir: &Path, to: &Path) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }

    pub async fn stop(mut self) -> (PathBuf, Arc<Pki>, Option<tempfile::TempDir>) {
        if let Some(s) = self.server.take() {
            s.shutdown(Duration::from_secs(5)).await.unwrap();
        }
        (self.dir, self.pki, self._tmp)
    }

    pub fn client(&self, options: ClientOptions) -> HqClient {
        HqClient::new(&self.base, Some(&self.pki.ca_pem), options).unwrap()
    }

    pub fn client_to(&self, addr: SocketAddr, options: ClientOptions) -> HqClient {
        HqClient::new(
            &format!("https://127.0.0.1:{}", addr.port()),
            Some(&self.pki.ca_pem),
            options,
        )
        .unwrap()
    }
}

pub fn new_work_order(order_no: &str, technician: Option<Uuid>) -> NewWorkOrder {
    let start = Utc::now();
    NewWorkOrder {
        order_no: order_no.into(),
        technician_id: technician,
        job_type: JobType::Repair,
        customer: Customer {
            name: format!("王伟 {order_no}"),
            phone: "139-1234-5678".into(),
            address: "99 Hidden Street".into(),
            language: "zh-CN".into(),
        },
        appliance: Appliance {
            category: "water purifier".into(),
            brand: "Acme".into(),
            model: "RO-1".into(),
            serial_no: Some(format!("SN-{order_no}")),
            purchase_date: None,
            proof: None,
            contracts: Vec::new(),
        },
        reported_fault: "leaks".into(),
        notes: "gate code 1234".into(),
        appointment_start: start,
        appointment_end: start + chrono::Duration::hours(1),
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
}

impl Forwarder {
    pub async fn start(hq: &Hq) -> Forwarder {
        let faults: Arc<Mutex<Vec<(String, HttpFault)>>> = Arc::default();
        let state = FwdState {
            upstream: hq.base.clone(),
            client: admin_client(&hq.pki),
            faults: faults.clone(),
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
    for h in ["authorization", "content-type"] {
        if let Some(v) = parts.headers.get(h) {
            out = out.header(h, v.as_bytes());
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
