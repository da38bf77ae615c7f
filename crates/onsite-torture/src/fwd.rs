//! The fault forwarder between the device and head office: an HTTPS server on 127.0.0.1
//! with head office's own certificate (so the device trusts it with head office's CA),
//! forwarding each request to the real head office, or doing to it the fault armed for it:
//! a canned 500/503, a reply lost after head office did the work, a reply or a request
//! cut off mid-body, or a hold while the orchestrator kills someone.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use onsite_hq::RunningServer;
use tokio::sync::{oneshot, Notify};

/// What happens to one request.
pub enum Fault {
    /// Answered here with this status (500, 503 with Retry-After); head office never sees it.
    Reply(u16),
    /// Forwarded (head office does the work), then answered 500: the reply is lost.
    LostReply,
    /// Forwarded, then half of the reply's body is sent and the connection dropped.
    CutReply,
    /// Half of the request's body reaches head office, then that connection is dropped;
    /// the device's reply is cut too.
    CutRequest,
    /// The orchestrator is told (`arrived`), before or after head office did the work,
    /// and the request waits until `release` (it kills the device or head office then).
    Hold {
        after_forward: bool,
        arrived: oneshot::Sender<()>,
        release: Arc<Notify>,
    },
}

impl Fault {
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Reply(500) => "500",
            Fault::Reply(_) => "503",
            Fault::LostReply => "lost-reply",
            Fault::CutReply => "cut-reply",
            Fault::CutRequest => "cut-request",
            Fault::Hold { .. } => "hold",
        }
    }
}

struct Armed {
    prefix: String,
    /// Matching requests to let through first.
    skip: usize,
    fault: Fault,
}

#[derive(Clone)]
struct State {
    upstream: Arc<Mutex<String>>,
    client: reqwest::Client,
    armed: Arc<Mutex<VecDeque<Armed>>>,
    fired: Arc<Mutex<Vec<&'static str>>>,
}

pub struct Forwarder {
    pub url: String,
    state: State,
    server: Option<RunningServer>,
}

impl Forwarder {
    /// Serves `cert`/`key` (head office's), forwarding to `upstream`, trusting `ca_pem`.
    pub fn start(
        cert: &Path,
        key: &Path,
        ca_pem: &str,
        upstream: &str,
    ) -> Result<Forwarder, String> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(
                reqwest::Certificate::from_pem(ca_pem.as_bytes()).map_err(|e| e.to_string())?,
            )
            .no_proxy()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        let state = State {
            upstream: Arc::new(Mutex::new(upstream.to_owned())),
            client,
            armed: Arc::default(),
            fired: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let tls = onsite_hq::tls::server_config_from_files(cert, key).map_err(|e| e.to_string())?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let server = onsite_hq::serve_tls(listener, tls, app).map_err(|e| e.to_string())?;
        Ok(Forwarder {
            url: format!("https://127.0.0.1:{}", server.addr.port()),
            state,
            server: Some(server),
        })
    }

    /// The `skip`+1-th next request whose path starts with `prefix` gets `fault`.
    pub fn arm(&self, prefix: &str, skip: usize, fault: Fault) {
        lock(&self.state.armed).push_back(Armed {
            prefix: prefix.to_owned(),
            skip,
            fault,
        });
    }

    /// Forgets faults that did not fire; returns the names of those that did.
    pub fn reset(&self) -> Vec<&'static str> {
        lock(&self.state.armed).clear();
        std::mem::take(&mut *lock(&self.state.fired))
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            let _ = s.shutdown(std::time::Duration::from_secs(1)).await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn take_fault(s: &State, path: &str) -> Option<Fault> {
    let mut armed = lock(&s.armed);
    let i = armed
        .iter()
        .position(|a| path.starts_with(a.prefix.as_str()))?;
    if armed[i].skip > 0 {
        armed[i].skip -= 1;
        return None;
    }
    let fault = armed.remove(i).map(|a| a.fault)?;
    lock(&s.fired).push(fault.name());
    Some(fault)
}

fn cut_body(bytes: Vec<u8>, headers: HeaderMap, status: StatusCode) -> Response {
    // The whole length is announced, half is sent, then the stream fails: hyper drops
    // the connection mid-body.
    let half = bytes[..bytes.len() / 2].to_vec();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "cut",
        )),
    ];
    let mut res = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    if let Ok(v) = HeaderValue::from_str(&bytes.len().max(2).to_string()) {
        res.headers_mut().insert("content-length", v);
    }
    res
}

async fn forward(
    axum::extract::State(s): axum::extract::State<State>,
    req: axum::extract::Request,
) -> Response {
    let path = req.uri().path().to_owned();
    let (fault, hold) = match take_fault(&s, &path) {
        Some(Fault::Hold {
            after_forward,
            arrived,
            release,
        }) => (None, Some((after_forward, arrived, release))),
        other => (other, None),
    };
    if let Some(Fault::Reply(status)) = fault {
        let mut res = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            r#"{"code":"unavailable","message":"torture: injected"}"#,
        )
            .into_response();
        res.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        if status == 503 {
            res.headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
        }
        return res;
    }
    let mut after_hold = None;
    match hold {
        Some((false, arrived, release)) => {
            let _ = arrived.send(());
            release.notified().await;
        }
        Some((true, arrived, release)) => after_hold = Some((arrived, release)),
        None => {}
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let upstream = lock(&s.upstream).clone();
    let mut out = s
        .client
        .request(parts.method.clone(), format!("{upstream}{pq}"));
    for h in [
        "authorization",
        "content-type",
        "content-encoding",
        "accept",
    ] {
        if let Some(v) = parts.headers.get(h) {
            out = out.header(h, v.as_bytes());
        }
    }
    if matches!(fault, Some(Fault::CutRequest)) {
        let half = bytes[..bytes.len() / 2].to_vec();
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
            Ok(half),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "cut",
            )),
        ];
        let _ = out
            .header("content-length", bytes.len().max(2).to_string())
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            )))
            .send()
            .await;
        return cut_body(b"{\"cut\":true}".to_vec(), HeaderMap::new(), StatusCode::OK);
    }
    let res = match out.body(bytes.to_vec()).send().await {
        Ok(r) => r,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = HeaderMap::new();
    for h in ["content-type", "retry-after"] {
        if let Some(v) = res.headers().get(h) {
            if let Ok(v) = HeaderValue::from_bytes(v.as_bytes()) {
                headers.insert(h, v);
            }
        }
    }
    let body = match res.bytes().await {
        Ok(b) => b.to_vec(),
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    if let Some((arrived, release)) = after_hold {
        let _ = arrived.send(());
        release.notified().await;
    }
    match fault {
        Some(Fault::LostReply) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"code":"internal","message":"torture: reply lost"}"#,
        )
            .into_response(),
        Some(Fault::CutReply) => cut_body(body, headers, status),
        _ => (status, headers, body).into_response(),
    }
}
