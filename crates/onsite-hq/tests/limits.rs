//! Head office's limits (issue 12), through the real router, on SQLite and on PostgreSQL: a
//! request that stalls is cut off, requests past the cap are refused while others are in
//! flight, an address that tries too many enrolment codes or wrong tokens is refused for
//! a while, and other addresses are not.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::{backend, pg, Backend};
use onsite_hq::guard::Limits;
use onsite_hq::http::{router, AppState};
use onsite_hq::storage::sqlite::SqliteStorage;
use onsite_hq::storage::Storage;
use tower::ServiceExt;

mod common;

common::both_backends!(
    a_request_whose_body_stalls_is_cut_off_with_a_timeout,
    a_blob_upload_has_its_own_longer_limit,
    past_the_cap_of_requests_in_flight_one_more_is_refused_as_busy,
    an_address_trying_enrolment_codes_is_refused_for_a_while_and_others_are_not,
    an_address_guessing_tokens_is_refused_for_a_while_even_with_the_right_one,
    a_device_past_its_blob_quota_is_told_when_to_try_again,
);

const ADMIN: &str = "admin-token-for-limits";

/// A new database on the test's backend (`common::both_backends!`).
async fn storage() -> (Arc<dyn Storage>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn Storage> = match backend() {
        Backend::Sqlite => Arc::new(SqliteStorage::open_in_dir(dir.path()).unwrap()),
        Backend::Postgres => pg::connect(&pg::fresh_database()).await,
    };
    (storage, dir)
}

async fn app(limits: Limits) -> (Router, tempfile::TempDir) {
    let (storage, dir) = storage().await;
    (router(AppState::with_limits(storage, ADMIN, limits)), dir)
}

fn from(ip: &str, mut req: Request<Body>) -> Request<Body> {
    let addr = SocketAddr::new(ip.parse::<IpAddr>().unwrap(), 40000);
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

fn get(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn enrol(code: &str) -> Request<Body> {
    Request::post("/v1/enroll")
        .header("content-type", "application/json")
        .body(Body::from(format!(
            r#"{{"code":"{code}","device_name":"van laptop"}}"#
        )))
        .unwrap()
}

async fn code_of(res: axum::response::Response) -> (StatusCode, Option<String>, String) {
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    (
        status,
        retry,
        json["code"].as_str().unwrap_or("").to_owned(),
    )
}

/// A body that sends a first byte and then nothing, ever: a client on a link that died.
struct Stall(bool);

impl futures_core::Stream for Stall {
    type Item = Result<bytes::Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if self.0 {
            std::task::Poll::Pending
        } else {
            self.0 = true;
            std::task::Poll::Ready(Some(Ok(bytes::Bytes::from_static(b"{"))))
        }
    }
}

fn stalled_body() -> Body {
    Body::from_stream(Stall(false))
}

/// An enrolment whose body never finishes (no token needed: the body is read at once).
fn stalled_enrol() -> Request<Body> {
    Request::post(onsite_api::routes::ENROLL)
        .header("content-type", "application/json")
        .body(stalled_body())
        .unwrap()
}

/// A blob upload (admin token) whose body never finishes.
fn stalled_blob() -> Request<Body> {
    Request::put(format!("/v1/blobs/{}", "ab".repeat(32)))
        .header("content-type", "application/octet-stream")
        .header("authorization", format!("Bearer {ADMIN}"))
        .body(stalled_body())
        .unwrap()
}

async fn a_request_whose_body_stalls_is_cut_off_with_a_timeout() {
    let (app, _dir) = app(Limits {
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let (status, retry, code) = code_of(
        tokio::time::timeout(
            Duration::from_secs(20),
            app.clone().oneshot(from("10.0.0.1", stalled_enrol())),
        )
        .await
        .expect("the stalled request was cut off, not left hanging")
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "timeout")
    );
    assert!(retry.is_some());
    // The server still answers.
    let (status, _, _) = code_of(
        app.oneshot(from("10.0.0.1", get(onsite_api::routes::HEALTH, "")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_blob_upload_has_its_own_longer_limit() {
    let (app, _dir) = app(Limits {
        request_timeout: Duration::from_secs(3600),
        blob_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let (status, _, code) =
        code_of(app.oneshot(from("10.0.0.5", stalled_blob())).await.unwrap()).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "timeout")
    );
}

async fn past_the_cap_of_requests_in_flight_one_more_is_refused_as_busy() {
    let (app, _dir) = app(Limits {
        max_in_flight: 2,
        request_timeout: Duration::from_secs(30),
        ..Limits::default()
    })
    .await;
    // Two uploads that never finish hold both places.
    let a = tokio::spawn(app.clone().oneshot(from("10.0.0.2", stalled_enrol())));
    let b = tokio::spawn(app.clone().oneshot(from("10.0.0.3", stalled_enrol())));
    // Wait until both are in: the third is refused (polled until it is, never slept).
    let mut refused = None;
    for _ in 0..1000 {
        let (status, retry, code) = code_of(
            app.clone()
                .oneshot(from("10.0.0.4", get(onsite_api::routes::HEALTH, "")))
                .await
                .unwrap(),
        )
        .await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some((retry, code));
            break;
        }
        tokio::task::yield_now().await;
    }
    let (retry, code) = refused.expect("the third request was refused");
    assert_eq!(code, "busy");
    assert_eq!(retry.as_deref(), Some("1"));
    a.abort();
    b.abort();
    let _ = (a.await, b.await);
    // Places free again once those are gone.
    let (status, _, _) = code_of(
        app.oneshot(from("10.0.0.4", get(onsite_api::routes::HEALTH, "")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn an_address_trying_enrolment_codes_is_refused_for_a_while_and_others_are_not() {
    let (app, _dir) = app(Limits {
        failed_enrol_per_minute: 3,
        ..Limits::default()
    })
    .await;
    // Three wrong codes are allowed a minute; the fourth is answered, and blocks.
    for i in 0..4 {
        let (status, _, code) = code_of(
            app.clone()
                .oneshot(from("192.0.2.7", enrol(&format!("WRONG-{i}"))))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_code"),
            "attempt {i}"
        );
    }
    let (status, retry, code) = code_of(
        app.clone()
            .oneshot(from("192.0.2.7", enrol("WRONG-4")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let secs: u64 = retry.unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    // Another address is not affected.
    let (status, _, _) = code_of(
        app.oneshot(from("192.0.2.8", enrol("WRONG-5")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn an_address_guessing_tokens_is_refused_for_a_while_even_with_the_right_one() {
    let (app, _dir) = app(Limits {
        failed_auth_per_minute: 5,
        ..Limits::default()
    })
    .await;
    let devices = onsite_api::routes::ADMIN_DEVICES;
    let ok = code_of(
        app.clone()
            .oneshot(from("198.51.100.9", get(devices, ADMIN)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ok.0, StatusCode::OK);
    let mut statuses = Vec::new();
    for i in 0..8 {
        let (status, _, _) = code_of(
            app.clone()
                .oneshot(from(
                    "198.51.100.9",
                    get(onsite_api::routes::SYNC_PULL, &format!("guess-{i}")),
                ))
                .await
                .unwrap(),
        )
        .await;
        statuses.push(status);
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(statuses[7], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Blocked now, whatever the token.
    let (status, retry, code) = code_of(
        app.clone()
            .oneshot(from("198.51.100.9", get(devices, ADMIN)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(retry.unwrap().parse::<u64>().unwrap() <= 60);
    // Others are not.
    let (status, _, _) = code_of(
        app.oneshot(from("198.51.100.10", get(devices, ADMIN)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

fn put_blob(token: &str, bytes: &[u8]) -> Request<Body> {
    Request::put(format!("/v1/blobs/{}", onsite_hq::auth::sha256_hex(bytes)))
        .header("content-type", "application/octet-stream")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(bytes.to_vec()))
        .unwrap()
}

/// A device past its blob quota gets 429 `blob_quota_exceeded` with a wait of most of a
/// day; a blob head office has is still answered 200; the admin is not counted.
async fn a_device_past_its_blob_quota_is_told_when_to_try_again() {
    let (storage, _dir) = storage().await;
    let app = router(AppState::with_limits(
        storage.clone(),
        ADMIN,
        Limits {
            blob_bytes_per_day: 1_000,
            ..Limits::default()
        },
    ));
    // The storage's calls block (PostgreSQL's client): off the async thread.
    let code = {
        let storage = storage.clone();
        tokio::task::spawn_blocking(move || {
            let now = chrono::Utc::now();
            let tech = uuid::Uuid::now_v7();
            storage.create_technician(tech, "T", now).unwrap();
            let code = onsite_hq::auth::new_enrolment_code();
            storage
                .store_enrolment_code(
                    tech,
                    &onsite_hq::auth::code_hash(&code),
                    now,
                    now + chrono::Duration::hours(1),
                )
                .unwrap();
            code
        })
        .await
        .unwrap()
    };
    let res = app
        .clone()
        .oneshot(from("198.51.100.20", enrol(&code)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let token = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let send = |req| {
        let app = app.clone();
        async move { code_of(app.oneshot(from("198.51.100.20", req)).await.unwrap()).await }
    };
    let (first, second) = (vec![1u8; 700], vec![2u8; 700]);
    assert_eq!(send(put_blob(&token, &first)).await.0, StatusCode::CREATED);
    let (status, retry, code) = send(put_blob(&token, &second)).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "blob_quota_exceeded")
    );
    let retry: u64 = retry.unwrap().parse().unwrap();
    assert!((86_000..=86_400).contains(&retry), "{retry}");
    let sha = onsite_hq::auth::sha256_hex(&second);
    let stored = tokio::task::spawn_blocking(move || storage.has_blob(&sha).unwrap());
    assert!(!stored.await.unwrap(), "nothing stored past the quota");
    // What head office has is acknowledged, quota or not.
    assert_eq!(send(put_blob(&token, &first)).await.0, StatusCode::OK);
    // The admin is not counted; once stored, the device's upload is acknowledged.
    assert_eq!(send(put_blob(ADMIN, &second)).await.0, StatusCode::CREATED);
    assert_eq!(send(put_blob(&token, &second)).await.0, StatusCode::OK);
}
