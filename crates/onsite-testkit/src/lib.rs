//! Onsite's test kit, for tests and benchmarks only (a dev-dependency, `publish = false`;
//! no shipped target depends on it).
//!
//! - [`pki`]: a test CA and two server certificates for `127.0.0.1` / `localhost` signed
//!   by it, made with rcgen.
//! - [`start`] and friends: a real onsite-hq (SQLite in a temp dir, the real router) over
//!   real TLS on `127.0.0.1`, port 0, in the current tokio runtime; [`serve`] for a
//!   caller that runs head office on a runtime of its own.
//! - [`Hq`]: the running server with a client that trusts only the test CA, and the admin
//!   requests tests share (technicians, enrolment codes, work orders, push and pull as a
//!   device, exports, blobs, backups).
//! - [`pg`] and [`pg_cluster`]: a throwaway PostgreSQL cluster for the run and a fresh
//!   database per test; [`Backend`] and [`with_backend`] choose what [`start`] opens, so
//!   that one test body runs on SQLite and on PostgreSQL.

pub mod pg_cluster;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use onsite_api::*;
use onsite_domain::JobType;
use onsite_hq::http::{router, AppState};
use onsite_hq::storage::sqlite::SqliteStorage;
use onsite_hq::storage::Storage;
use onsite_hq::RunningServer;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
pub use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

/// The admin token of every test head office.
pub const ADMIN: &str = "testkit-admin-token-0123456789abcdef";

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

/// A new test CA with two server certificates.
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
        .push(DnType::CommonName, "onsite test CA");
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

/// An HTTPS client (rustls) that trusts only the CA `ca_pem`: no system roots, no proxy.
pub fn client_trusting(ca_pem: &str, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .https_only(true)
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap()
}

/// Serves head office's router over TLS on 127.0.0.1 (a free port), `wrap` applied to the
/// router first (a layer that counts requests, say). Call it inside a tokio runtime (the
/// server runs on it); the listener is bound before it returns, so connections queue.
pub fn serve(
    storage: Arc<dyn Storage>,
    pki: &Pki,
    wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> RunningServer {
    let tls =
        onsite_hq::tls::server_config(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = wrap(router(AppState::new(storage, ADMIN)));
    onsite_hq::serve_tls(listener, tls, app).unwrap()
}

/// A running head office.
pub struct Hq {
    /// `https://127.0.0.1:<port>`.
    pub base: String,
    pub addr: SocketAddr,
    pub pki: Arc<Pki>,
    /// Trusts only the test CA; sends no token unless asked.
    pub client: reqwest::Client,
    /// Its storage (call it from a blocking thread: the PostgreSQL client blocks).
    pub storage: Arc<dyn Storage>,
    /// The same storage when it is SQLite (file-level checks: integrity, the path).
    pub sqlite: Option<Arc<SqliteStorage>>,
    /// The database URL when it is PostgreSQL.
    pub database: Option<String>,
    pub server: Option<RunningServer>,
    /// The data directory.
    pub dir: PathBuf,
    /// The temp dir holding `dir`, when the kit made it (dropped with it).
    pub tmp: Option<tempfile::TempDir>,
}

/// Which storage [`start`] opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in a temp dir (the default).
    Sqlite,
    /// A fresh database on the run's PostgreSQL cluster ([`pg`]).
    Postgres,
}

tokio::task_local! {
    static BACKEND: Backend;
}

/// Runs a test body with [`start`] opening `backend`: one body, both backends.
pub async fn with_backend<F: std::future::Future>(backend: Backend, body: F) -> F::Output {
    BACKEND.scope(backend, body).await
}

/// The backend [`start`] opens here (SQLite outside [`with_backend`]).
pub fn backend() -> Backend {
    BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
}

/// One test body, both backends: for each `async fn name()` listed, `sqlite::name` and
/// `postgres::name`, each a `#[tokio::test]` running the body with [`start`] opening that
/// backend (PostgreSQL: a fresh database on the run's throwaway cluster). The calling test
/// crate needs tokio (for `#[tokio::test]`).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::with_backend($crate::Backend::Sqlite, super::$name()).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::with_backend($crate::Backend::Postgres, super::$name()).await
                }
            )*
        }
    };
}

/// Starts head office on a new database (SQLite in a temp dir, or PostgreSQL inside
/// [`with_backend`]), with a new PKI.
pub async fn start() -> Hq {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    match backend() {
        Backend::Sqlite => start_in(&dir, Arc::new(pki()), Some(tmp)).await,
        Backend::Postgres => {
            let url = pg::fresh_database();
            start_postgres(&url, &dir, Arc::new(pki()), Some(tmp)).await
        }
    }
}

/// Starts head office on the PostgreSQL database at `url` (a new instance on a shared
/// database, or a restored one).
pub async fn start_postgres(
    url: &str,
    dir: &Path,
    pki: Arc<Pki>,
    tmp: Option<tempfile::TempDir>,
) -> Hq {
    let storage = pg::connect(url).await;
    let mut hq = start_with(storage, dir, pki, tmp, Duration::from_secs(30), |r| r).await;
    hq.database = Some(url.to_owned());
    hq
}

/// Starts head office on the data in `dir` (e.g. a restored backup).
pub async fn start_in(dir: &Path, pki: Arc<Pki>, tmp: Option<tempfile::TempDir>) -> Hq {
    let storage = Arc::new(SqliteStorage::open_in_dir(dir).unwrap());
    let mut hq = start_with(
        storage.clone(),
        dir,
        pki,
        tmp,
        Duration::from_secs(30),
        |r| r,
    )
    .await;
    hq.sqlite = Some(storage);
    hq
}

/// Starts head office on a database the caller opened (and seeded) in `tmp`.
pub async fn start_on(storage: Arc<SqliteStorage>, tmp: tempfile::TempDir) -> Hq {
    let dir = tmp.path().to_path_buf();
    let mut hq = start_with(
        storage.clone(),
        &dir,
        Arc::new(pki()),
        Some(tmp),
        Duration::from_secs(30),
        |r| r,
    )
    .await;
    hq.sqlite = Some(storage);
    hq
}

/// Starts head office: every other start comes here. `timeout` is the client's;
/// `wrap` is applied to the router.
pub async fn start_with(
    storage: Arc<dyn Storage>,
    dir: &Path,
    pki: Arc<Pki>,
    tmp: Option<tempfile::TempDir>,
    timeout: Duration,
    wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> Hq {
    let server = serve(storage.clone(), &pki, wrap);
    let addr = server.addr;
    Hq {
        base: format!("https://127.0.0.1:{}", addr.port()),
        addr,
        client: client_trusting(&pki.ca_pem, timeout),
        pki,
        storage,
        sqlite: None,
        database: None,
        server: Some(server),
        dir: dir.to_path_buf(),
        tmp,
    }
}

/// A technician with one enrolled device.
pub struct Enrolled {
    pub technician_id: Uuid,
    pub device_id: Uuid,
    pub token: String,
}

impl Hq {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request (with a bearer token and a JSON body when given).
    pub async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.unwrap()
    }

    /// Sends and expects `status`; returns the JSON body.
    pub async fn expect<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
        status: StatusCode,
    ) -> R {
        let res = self.send(method.clone(), path, token, body).await;
        let got = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(got, status, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
    }

    /// Expects an error status with an ErrorBody of `code`.
    pub async fn expect_error<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
        status: StatusCode,
        code: &str,
    ) -> ErrorBody {
        let e: ErrorBody = self.expect(method, path, token, body, status).await;
        assert_eq!(e.code, code, "{path}: {}", e.message);
        e
    }

    /// An admin request that must answer `status`; the JSON body.
    pub async fn admin<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        status: StatusCode,
    ) -> R {
        self.expect(method, path, Some(ADMIN), body, status).await
    }

    /// An admin request that must succeed (any 2xx); the JSON body.
    pub async fn admin_ok<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> R {
        let res = self.send(method.clone(), path, Some(ADMIN), body).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    /// An admin GET whose reply is not JSON (a blob, a CSV export): status and bytes.
    pub async fn admin_raw(&self, path: &str) -> (u16, Vec<u8>) {
        let res = self.send::<()>(Method::GET, path, Some(ADMIN), None).await;
        (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
    }

    /// A PUT as the office, whatever the answer: status and body.
    pub async fn admin_raw_put<B: Serialize>(&self, path: &str, body: &B) -> (u16, Vec<u8>) {
        let res = self.send(Method::PUT, path, Some(ADMIN), Some(body)).await;
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

    /// The completed jobs' export as JSON.
    pub async fn export(&self) -> Vec<ExportJob> {
        self.admin_ok::<(), _>(Method::GET, routes::ADMIN_EXPORT, None)
            .await
    }

    /// A new technician's id.
    pub async fn technician(&self, name: &str) -> Uuid {
        let t: Technician = self
            .admin(
                Method::POST,
                routes::ADMIN_TECHNICIANS,
                Some(&NewTechnician { name: name.into() }),
                StatusCode::CREATED,
            )
            .await;
        t.id
    }

    /// A one-time enrolment code for `technician`.
    pub async fn code_for(&self, technician: Uuid) -> String {
        let path = routes::ADMIN_ENROLMENT_CODES.replace("{id}", &technician.to_string());
        let c: EnrolmentCode = self
            .admin(
                Method::POST,
                &path,
                Some(&NewEnrolmentCode::default()),
                StatusCode::CREATED,
            )
            .await;
        c.code
    }

    /// Enrols a device with `code`, as a device does.
    pub async fn enroll_code(&self, code: &str) -> EnrollReply {
        self.expect(
            Method::POST,
            routes::ENROLL,
            None,
            Some(&EnrollRequest {
                code: code.into(),
                device_name: "test laptop".into(),
            }),
            StatusCode::OK,
        )
        .await
    }

    /// A new technician with one enrolled device.
    pub async fn enrolled(&self, name: &str) -> Enrolled {
        let technician_id = self.technician(name).await;
        let code = self.code_for(technician_id).await;
        let reply = self.enroll_code(&code).await;
        assert_eq!(reply.technician_id, technician_id);
        Enrolled {
            technician_id,
            device_id: reply.device_id,
            token: reply.token,
        }
    }

    /// A new work order ([`new_work_order`]).
    pub async fn work_order(&self, order_no: &str, technician: Option<Uuid>) -> WorkOrder {
        self.admin(
            Method::POST,
            routes::ADMIN_WORK_ORDERS,
            Some(&new_work_order(order_no, technician)),
            StatusCode::CREATED,
        )
        .await
    }

    /// A work order with its facts and flags.
    pub async fn detail(&self, id: Uuid) -> WorkOrderDetail {
        let path = routes::ADMIN_WORK_ORDER.replace("{id}", &id.to_string());
        self.admin::<(), _>(Method::GET, &path, None, StatusCode::OK)
            .await
    }

    /// Cancels a work order ("customer cancelled").
    pub async fn cancel(&self, id: Uuid) -> WorkOrder {
        let path = routes::ADMIN_WORK_ORDER_CANCEL.replace("{id}", &id.to_string());
        self.admin_ok(
            Method::POST,
            &path,
            Some(&CancelRequest {
                reason: "customer cancelled".into(),
            }),
        )
        .await
    }

    /// Reassigns a work order to `to`.
    pub async fn reassign(&self, id: Uuid, to: Uuid) -> WorkOrder {
        let path = routes::ADMIN_WORK_ORDER_REASSIGN.replace("{id}", &id.to_string());
        self.admin_ok(
            Method::POST,
            &path,
            Some(&ReassignRequest {
                technician_id: to,
                expected_version: None,
            }),
        )
        .await
    }

    /// Starts a new epoch; returns it.
    pub async fn rotate_epoch(&self) -> String {
        let r: EpochReply = self
            .admin_ok::<(), _>(Method::POST, routes::ADMIN_EPOCH_ROTATE, None)
            .await;
        r.epoch
    }

    /// Pushes ops as a device.
    pub async fn push(&self, token: &str, ops: Vec<Op>) -> PushReply {
        self.expect(
            Method::POST,
            routes::SYNC_PUSH,
            Some(token),
            Some(&PushRequest { ops }),
            StatusCode::OK,
        )
        .await
    }

    /// Pulls one page as a device.
    pub async fn pull(&self, token: &str, cursor: Option<&str>, limit: Option<u32>) -> PullReply {
        let mut path = format!("{}?", routes::SYNC_PULL);
        if let Some(c) = cursor {
            path.push_str(&format!("cursor={}&", urlencode(c)));
        }
        if let Some(l) = limit {
            path.push_str(&format!("limit={l}"));
        }
        self.expect::<(), _>(Method::GET, &path, Some(token), None, StatusCode::OK)
            .await
    }

    /// Pulls every page from `cursor` on; returns the changes and the last cursor.
    pub async fn pull_all(
        &self,
        token: &str,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> (Vec<Change>, String) {
        let mut cursor = cursor.map(str::to_owned);
        let mut all = Vec::new();
        for _ in 0..1000 {
            let page = self.pull(token, cursor.as_deref(), limit).await;
            all.extend(page.changes);
            cursor = Some(page.cursor);
            if !page.has_more {
                return (all, cursor.unwrap());
            }
        }
        panic!("pull never finished");
    }

    /// Copies the (stopped) server's data files to `to`: a backup.
    pub fn backup(dir: &Path, to: &Path) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }

    /// Stops the server (requests in flight finish) and closes its database; the data
    /// directory, the PKI and the temp dir, to start again on them.
    pub async fn stop(mut self) -> (PathBuf, Arc<Pki>, Option<tempfile::TempDir>) {
        if let Some(s) = self.server.take() {
            s.shutdown(Duration::from_secs(5)).await.unwrap();
        }
        (self.dir, self.pki, self.tmp)
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A work order with an invented customer whose name, phone and address tests look for
/// where they must not appear (logs, error texts, an erased device).
pub fn new_work_order(order_no: &str, technician: Option<Uuid>) -> NewWorkOrder {
    let start = Utc::now();
    NewWorkOrder {
        order_no: order_no.into(),
        technician_id: technician,
        job_type: JobType::Repair,
        customer: Customer {
            name: format!("王伟 Secretname {order_no}"),
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
        appointment_end: start + chrono::Duration::hours(2),
    }
}

/// PostgreSQL for tests: the run's cluster (`ONSITE_TEST_PG_URL`, set by `cargo xtask
/// test`, or one started here for this process, stopped when it ends) and a fresh database
/// per test.
pub mod pg {
    use std::sync::{Arc, OnceLock};

    use onsite_hq::storage::postgres::PostgresStorage;

    use crate::pg_cluster::{Cluster, URL_VAR};

    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

    /// The process's own cluster (started on first use), when no run-wide one is named.
    pub fn cluster() -> &'static Cluster {
        match CLUSTER.get_or_init(Cluster::start) {
            Ok(c) => c,
            Err(e) => panic!("cannot start a PostgreSQL cluster for the tests: {e}"),
        }
    }

    /// The cluster's admin URL (its `postgres` database).
    pub fn admin_url() -> String {
        match std::env::var(URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ => cluster().url("postgres"),
        }
    }

    /// The URL of database `name` on the cluster.
    pub fn url_of(name: &str) -> String {
        let admin = admin_url();
        match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("unreadable {URL_VAR}"),
        }
    }

    /// Runs SQL on the admin database (on a thread of its own: the client blocks).
    pub fn admin_sql(sql: &str) {
        let (admin, sql) = (admin_url(), sql.to_owned());
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls)
                .unwrap_or_else(|e| panic!("cannot reach the test cluster: {e}"));
            c.batch_execute(&sql).unwrap();
        })
        .join()
        .unwrap();
    }

    /// A new empty database; its URL.
    pub fn fresh_database() -> String {
        let name = format!("t_{}", uuid::Uuid::now_v7().simple());
        admin_sql(&format!("CREATE DATABASE {name}"));
        url_of(&name)
    }

    /// Opens (migrating) the database at `url`, a small pool, off the async thread.
    pub async fn connect(url: &str) -> Arc<PostgresStorage> {
        let url = url.to_owned();
        tokio::task::spawn_blocking(move || {
            Arc::new(PostgresStorage::connect_with(&url, 4).unwrap())
        })
        .await
        .unwrap()
    }
}
