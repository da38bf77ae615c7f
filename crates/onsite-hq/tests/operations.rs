//! The `onsite-hq` command as systemd runs it (issue 12, operations): Prometheus metrics
//! on their own address, a stop (SIGTERM) that finishes a push in flight, and a backup
//! taken while it runs, restored, and noticed by a device.

mod common;

use std::io::{BufRead, BufReader};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use common::*;
use onsite_api::{routes, EnrollReply, PushReply, PushRequest};
use reqwest::StatusCode;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_onsite-hq");
const ADMIN: &str = "operations-test-admin-token";

/// A real `onsite-hq` process with metrics; stopped by its PID when dropped.
struct Server {
    child: Child,
    base: String,
    metrics: String,
    client: reqwest::Client,
    plain: reqwest::Client,
    data: std::path::PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    fn start() -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Server::start_in(tmp.path());
        s._tmp = Some(tmp);
        s
    }

    /// On the data directory `data` (kept: a restart finds its database and certificate).
    fn start_in(data: &std::path::Path) -> Server {
        let mut child = Command::new(BIN)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
                "--shutdown-grace",
                "20",
                "--admin-token",
                ADMIN,
            ])
            .arg("--data")
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (mut base, mut metrics, mut ca) = (None, None, None);
        let mut line = String::new();
        while base.is_none() || metrics.is_none() || ca.is_none() {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "the server stopped");
            let l = line.trim();
            if let Some(a) = l.strip_prefix("onsite-hq listening on ") {
                base = Some(a.to_owned());
            } else if let Some(p) = l.strip_prefix("devices must trust the CA certificate: ") {
                ca = Some(std::fs::read_to_string(p).unwrap());
            } else if let Some(m) = l.strip_prefix("metrics on ") {
                metrics = Some(m.to_owned());
            }
        }
        // The rest of stdout is drained so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Server {
            child,
            base: base.unwrap(),
            metrics: metrics.unwrap(),
            client: client_trusting(&ca.unwrap(), Duration::from_secs(30)),
            plain: reqwest::Client::builder().no_proxy().build().unwrap(),
            data: data.to_path_buf(),
            _tmp: None,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn admin_post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// A technician with an enrolled device: (device token, technician id).
    async fn device(&self) -> (String, uuid::Uuid) {
        let t = self
            .admin_post(routes::ADMIN_TECHNICIANS, json!({"name": "测试师傅"}))
            .await;
        let id = t["id"].as_str().unwrap().to_owned();
        let c = self
            .admin_post(
                &routes::ADMIN_ENROLMENT_CODES.replace("{id}", &id),
                json!({}),
            )
            .await;
        let reply: EnrollReply = self
            .client
            .post(self.url(routes::ENROLL))
            .json(&json!({"code": c["code"], "device_name": "van laptop"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (reply.token, id.parse().unwrap())
    }

    async fn scrape(&self) -> String {
        let r = self.plain.get(&self.metrics).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.unwrap()
    }

    /// Polls the metrics until `pred` holds (bounded): the server's own report is the event.
    async fn wait_metrics(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.scrape().await;
            if pred(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "{what} never showed:\n{text}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops it with SIGTERM and waits for it to exit successfully.
    async fn stop(mut self) {
        self.terminate();
        self.exited().await;
    }

    /// Waits (bounded) for the process to exit by itself, successfully.
    async fn exited(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "still running after SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(status.success(), "{status:?}");
    }

    /// Pushes `ops` as the device: the checkpoint of the reply.
    async fn push(&self, token: &str, ops: Vec<onsite_api::Op>) -> String {
        let r = self
            .client
            .post(self.url(routes::SYNC_PUSH))
            .bearer_auth(token)
            .json(&PushRequest { ops })
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let reply: PushReply = r.json().await.unwrap();
        assert!(reply.results.iter().all(applied), "{:?}", reply.results);
        reply.checkpoint.expect("a checkpoint")
    }

    /// The hello a device gets when it names `checkpoint`.
    async fn hello(&self, token: &str, checkpoint: &str) -> onsite_api::Hello {
        let r = self
            .client
            .get(self.url(routes::SYNC_HELLO))
            .query(&[("checkpoint", checkpoint)])
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the sample `name` (with its labels as written), if present.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// A request body fed chunk by chunk from the test.
struct Feed(tokio::sync::mpsc::Receiver<Vec<u8>>);

impl futures_core::Stream for Feed {
    type Item = Result<Vec<u8>, std::io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|c| c.map(Ok))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_ops_and_the_feed_on_their_own_address() {
    let hq = Server::start();
    assert_ne!(hq.metrics, hq.base);
    let (token, technician) = hq.device().await;
    let wo = hq
        .admin_post(
            routes::ADMIN_WORK_ORDERS,
            serde_json::to_value(new_work_order("OPS-1", Some(technician))).unwrap(),
        )
        .await;
    let wo: uuid::Uuid = wo["id"].as_str().unwrap().parse().unwrap();
    let mut ops = OpMaker { seq: 0 };
    let batch = vec![
        ops.status(wo, onsite_domain::WorkOrderStatus::EnRoute),
        ops.status(wo, onsite_domain::WorkOrderStatus::OnSite),
    ];
    for _ in 0..2 {
        // The second time, both come back as duplicates.
        let r = hq
            .client
            .post(hq.url(routes::SYNC_PUSH))
            .bearer_auth(&token)
            .json(&PushRequest { ops: batch.clone() })
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = hq
        .client
        .get(hq.url(routes::SYNC_PULL))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A wrong token: counted with its status.
    let r = hq
        .client
        .get(hq.url(routes::SYNC_PULL))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let text = hq.scrape().await;
    assert_eq!(
        sample(&text, r#"onsite_hq_ops_total{outcome="applied"}"#),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"onsite_hq_ops_total{outcome="duplicate"}"#),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"onsite_hq_http_requests_total{route="/v1/sync/push",method="POST",status="200"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"onsite_hq_http_requests_total{route="/v1/sync/pull",method="GET",status="401"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"onsite_hq_http_request_duration_seconds_count{route="/v1/sync/push",method="POST"}"#
        ),
        Some(2.0)
    );
    // The work order and the two ops moved the feed; at its first pull the device was
    // behind by all of it.
    let head = sample(&text, "onsite_hq_feed_head_seq").unwrap();
    assert!(head >= 1.0, "{text}");
    assert_eq!(
        sample(&text, "onsite_hq_pull_behind_commits_count"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "onsite_hq_pull_behind_commits_sum"),
        Some(head)
    );
    assert_eq!(
        sample(&text, "onsite_hq_storage_calls_in_flight"),
        Some(0.0)
    );
    // Routes are patterns, never ids or tokens.
    assert!(!text.contains(&wo.to_string()));
    assert!(!text.contains(&token));
    // The metrics are not on the API's address, and the API is not on the metrics'.
    let r = hq.client.get(hq.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let api_on_metrics = hq.metrics.replace("/metrics", routes::SYNC_PULL);
    let r = hq.plain.get(api_on_metrics).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_a_push_in_flight_then_stops() {
    let mut hq = Server::start();
    let (token, technician) = hq.device().await;
    let wo = hq
        .admin_post(
            routes::ADMIN_WORK_ORDERS,
            serde_json::to_value(new_work_order("OPS-2", Some(technician))).unwrap(),
        )
        .await;
    let wo: uuid::Uuid = wo["id"].as_str().unwrap().parse().unwrap();
    let mut ops = OpMaker { seq: 0 };
    let body = serde_json::to_vec(&PushRequest {
        ops: vec![
            ops.status(wo, onsite_domain::WorkOrderStatus::EnRoute),
            ops.status(wo, onsite_domain::WorkOrderStatus::OnSite),
        ],
    })
    .unwrap();
    let (half, rest) = body.split_at(body.len() / 2);

    // The push starts: headers and half its body sent.
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let push = {
        let req = hq
            .client
            .post(hq.url(routes::SYNC_PUSH))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("content-length", body.len())
            .body(reqwest::Body::wrap_stream(Feed(rx)));
        tokio::spawn(req.send())
    };
    tx.send(half.to_vec()).await.unwrap();
    hq.wait_metrics("the push in flight", |t| {
        sample(t, "onsite_hq_http_requests_in_flight") == Some(1.0)
    })
    .await;

    // Stopped now: no new connections are taken...
    hq.terminate();
    let addr = hq.base.trim_start_matches("https://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(&addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...but the push in flight is read to its end, applied and answered.
    tx.send(rest.to_vec()).await.unwrap();
    drop(tx);
    let reply = push.await.unwrap().unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let reply: PushReply = reply.json().await.unwrap();
    assert_eq!(reply.results.len(), 2);
    assert!(reply.results.iter().all(applied), "{:?}", reply.results);

    // Then the process ends by itself, successfully, within the grace.
    hq.exited().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_running_restores_and_devices_notice_what_it_lacks() {
    let data = tempfile::tempdir().unwrap();
    let hq = Server::start_in(data.path());
    let (token, technician) = hq.device().await;
    let wo = hq
        .admin_post(
            routes::ADMIN_WORK_ORDERS,
            serde_json::to_value(new_work_order("BK-1", Some(technician))).unwrap(),
        )
        .await;
    let wo: uuid::Uuid = wo["id"].as_str().unwrap().parse().unwrap();
    let mut ops = OpMaker { seq: 0 };
    let before = hq
        .push(
            &token,
            vec![ops.status(wo, onsite_domain::WorkOrderStatus::EnRoute)],
        )
        .await;

    // The backup, while head office runs.
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("onsite-hq-backup.sqlite3");
    let out = Command::new(BIN)
        .arg("backup")
        .arg("--data")
        .arg(&hq.data)
        .arg("--to")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    let seq: &str = before.split(':').next().unwrap();
    assert!(said.contains(&format!("newest commit {seq}")), "{said}");
    // A second backup never replaces the first.
    let again = Command::new(BIN)
        .arg("backup")
        .arg("--data")
        .arg(&hq.data)
        .arg("--to")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));

    // More work after the backup, then head office is stopped and the backup restored.
    let after = hq
        .push(
            &token,
            vec![ops.status(wo, onsite_domain::WorkOrderStatus::OnSite)],
        )
        .await;
    assert!(!hq.hello(&token, &after).await.history_lost);
    hq.stop().await;
    let db = data.path().join("onsite-hq.sqlite3");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::copy(&file, &db).unwrap();

    // The device that knows the lost commit is told; one that knew only what the backup
    // holds is not.
    let hq = Server::start_in(data.path());
    assert!(hq.hello(&token, &after).await.history_lost);
    assert!(!hq.hello(&token, &before).await.history_lost);
    hq.stop().await;
}
