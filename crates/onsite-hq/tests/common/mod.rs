//! A real onsite-hq on 127.0.0.1 (port 0) over real TLS, with a CA made here with rcgen,
//! and a reqwest client that trusts only that CA.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use onsite_api::*;
use onsite_domain::{JobType, Money, WorkOrderStatus};
use onsite_hq::http::{router, AppState};
use onsite_hq::storage::sqlite::SqliteStorage;
use onsite_hq::RunningServer;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

pub const ADMIN: &str = "test-admin-token-0123456789";

pub struct Hq {
    pub base: String,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub storage: Arc<SqliteStorage>,
    pub server: Option<RunningServer>,
    pub dir: tempfile::TempDir,
}

/// A test CA and a server certificate for localhost / 127.0.0.1 signed by it.
fn test_pki() -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "onsite-hq test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

pub async fn start() -> Hq {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open_in_dir(dir.path()).unwrap());
    start_on(storage, dir).await
}

pub async fn start_on(storage: Arc<SqliteStorage>, dir: tempfile::TempDir) -> Hq {
    let (ca_pem, cert_pem, key_pem) = test_pki();
    let tls = onsite_hq::tls::server_config(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    // Bound before the server task starts: connections queue on it, no waiting needed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = router(AppState::new(storage.clone(), ADMIN));
    let server = onsite_hq::serve_tls(listener, tls, app).unwrap();
    let addr = server.addr;
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .https_only(true)
        .resolve("localhost", addr)
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    Hq {
        base: format!("https://localhost:{}", addr.port()),
        addr,
        client,
        storage,
        server: Some(server),
        dir,
    }
}

pub struct Enrolled {
    pub technician_id: Uuid,
    pub device_id: Uuid,
    pub token: String,
}

impl Hq {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

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

    pub async fn admin<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        status: StatusCode,
    ) -> R {
        self.expect(method, path, Some(ADMIN), body, status).await
    }

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

    pub async fn work_order(&self, order_no: &str, technician: Option<Uuid>) -> WorkOrder {
        self.admin(
            Method::POST,
            routes::ADMIN_WORK_ORDERS,
            Some(&new_work_order(order_no, technician)),
            StatusCode::CREATED,
        )
        .await
    }

    pub async fn detail(&self, id: Uuid) -> WorkOrderDetail {
        let path = routes::ADMIN_WORK_ORDER.replace("{id}", &id.to_string());
        self.admin::<(), _>(Method::GET, &path, None, StatusCode::OK)
            .await
    }

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
}

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

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub fn new_work_order(order_no: &str, technician: Option<Uuid>) -> NewWorkOrder {
    NewWorkOrder {
        order_no: order_no.into(),
        technician_id: technician,
        job_type: JobType::Repair,
        customer: Customer {
            name: "Customer Secretname".into(),
            phone: "13912345678".into(),
            address: "99 Hidden Street".into(),
            language: "zh-CN".into(),
        },
        appliance: Appliance {
            category: "water purifier".into(),
            brand: "Acme".into(),
            model: "RO-1".into(),
            serial_no: None,
            purchase_date: None,
            proof: None,
            contracts: Vec::new(),
        },
        reported_fault: "leaks".into(),
        notes: String::new(),
        appointment_start: now(),
        appointment_end: now() + chrono::Duration::hours(2),
    }
}

/// A fee item with the defaults an old publisher gets.
pub fn fee_item(code: &str, minor: i64) -> FeeItem {
    FeeItem {
        code: code.into(),
        description: format!("{code} service"),
        fee: Money::cny(minor),
        plus_parts: false,
        name_zh: String::new(),
        name_en: String::new(),
        kind: onsite_domain::rules::ItemKind::Service,
        open_priced: false,
        coverable: true,
        includes: Vec::new(),
    }
}

/// Builds ops with increasing device_seq from `seq`.
pub struct OpMaker {
    pub seq: i64,
}

impl OpMaker {
    pub fn op(&mut self, work_order: Uuid, payload: OpPayload) -> Op {
        self.seq += 1;
        Op::new(Uuid::now_v7(), self.seq, work_order, Some(1), &payload)
    }

    pub fn status(&mut self, work_order: Uuid, to: WorkOrderStatus) -> Op {
        self.op(
            work_order,
            OpPayload::ChangeStatus(StatusChange {
                from: None,
                fact_id: Uuid::now_v7(),
                to,
                reason: None,
                at: now(),
            }),
        )
    }

    pub fn payment(&mut self, work_order: Uuid, minor: i64) -> Op {
        self.op(
            work_order,
            OpPayload::TakePayment(Payment {
                change: None,
                payment_id: None,
                tendered: None,
                fact_id: Uuid::now_v7(),
                amount: Money::cny(minor),
                method: PaymentMethod::Cash,
                receipt_no: Some("R-77".into()),
                at: now(),
            }),
        )
    }

    pub fn work(&mut self, work_order: Uuid, code: &str, minor: i64) -> Op {
        self.op(
            work_order,
            OpPayload::RecordWork(WorkDone {
                fact_id: Uuid::now_v7(),
                service_code: code.into(),
                description: "done".into(),
                fee_table_version: 1,
                charge: Money::cny(minor),
                warranty: false,
                at: now(),
            }),
        )
    }

    pub fn part(&mut self, work_order: Uuid, part_no: &str, quantity: u32) -> Op {
        self.op(
            work_order,
            OpPayload::ConsumePart(PartUsed {
                part_id: None,
                part_use_id: None,
                stock_after: None,
                fact_id: Uuid::now_v7(),
                part_no: part_no.into(),
                quantity,
                serial_no: None,
                unit_price: Some(Money::cny(2500)),
                price_list_version: Some(1),
                warranty: false,
                at: now(),
                quote_id: None,
                serial_removed: None,
                stock_override_reason: None,
            }),
        )
    }

    pub fn signature(&mut self, work_order: Uuid, sha: &str) -> Op {
        self.op(
            work_order,
            OpPayload::AttachSignature(Signature {
                content_hash: None,
                signature_id: None,
                signer_name: None,
                fact_id: Uuid::now_v7(),
                blob_sha256: sha.into(),
                signer: Signer::Customer,
                at: now(),
            }),
        )
    }

    pub fn document(&mut self, work_order: Uuid, sha: &str) -> Op {
        self.op(
            work_order,
            OpPayload::AttachDocument(Document {
                lang: None,
                size: None,
                fact_id: Uuid::now_v7(),
                blob_sha256: sha.into(),
                doc_type: "work_order_pdf".into(),
                content_type: "application/pdf".into(),
                at: now(),
            }),
        )
    }

    /// The ops of a whole visit: en route … completed, with work, a part and a payment.
    pub fn visit(&mut self, work_order: Uuid) -> Vec<Op> {
        vec![
            self.status(work_order, WorkOrderStatus::EnRoute),
            self.status(work_order, WorkOrderStatus::OnSite),
            self.status(work_order, WorkOrderStatus::InProgress),
            self.work(work_order, "REPLACE", 2000),
            self.part(work_order, "F-PP-10", 1),
            self.payment(work_order, 4500),
            self.status(work_order, WorkOrderStatus::Completed),
        ]
    }
}

pub fn applied(r: &OpResult) -> bool {
    matches!(r.outcome, OpOutcome::Applied { .. })
}

pub fn flagged(r: &OpResult) -> bool {
    matches!(
        r.outcome,
        OpOutcome::Applied {
            flagged_for_review: true,
            ..
        }
    )
}

pub fn rejected_code(r: &OpResult) -> Option<RejectCode> {
    match r.outcome {
        OpOutcome::Rejected { code, .. } => Some(code),
        _ => None,
    }
}

pub fn work_order_ids(changes: &[Change]) -> Vec<Uuid> {
    changes
        .iter()
        .filter_map(|c| match &c.item {
            ChangeItem::WorkOrder(w) => Some(w.id),
            _ => None,
        })
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    onsite_hq::auth::sha256_hex(bytes)
}
