//! HTTPS to head office: reqwest with rustls (ring), trusting the system's roots plus an
//! optional head-office CA certificate. Every reply is read with a size limit and checked
//! before use; a malformed, oversized or hostile reply is an error, never a panic.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use onsite_api::{
    routes, BlobCheck, BlobCheckReply, BlobPutReply, ChangeItem, EnrollReply, EnrollRequest,
    ErrorBody, Hello, PullReply, PushReply, PushRequest,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::plan::{classify_status, Failure};

/// Limits and timeouts.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Whole request, including reading the reply.
    pub timeout: Duration,
    /// TCP and TLS set-up.
    pub connect_timeout: Duration,
    /// The largest reply body accepted (pull pages, push replies).
    pub max_reply_bytes: usize,
    /// Changes per pull page asked for.
    pub pull_limit: u32,
    /// Ops per push.
    pub max_ops_per_push: usize,
    /// The largest push body sent (head office refuses more than
    /// `onsite_api::limits::MAX_JSON_BODY_BYTES`): a larger batch is split.
    pub max_push_bytes: usize,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            max_reply_bytes: 32 * 1024 * 1024,
            // Fewer, larger pages: a first pull of 5,000 jobs on a slow link is bound by
            // round trips (docs/sync-benchmarks.md); a page stays around 1 MB.
            pull_limit: 2_000,
            // As many as head office takes: each push is a round trip.
            max_ops_per_push: onsite_api::limits::MAX_OPS_PER_PUSH,
            max_push_bytes: onsite_api::limits::MAX_JSON_BODY_BYTES,
        }
    }
}

/// A failure talking to head office. Texts carry no customer data and no token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("the head-office address is not a valid https:// URL")]
    BadUrl,
    #[error("the head-office CA certificate is not a valid PEM certificate")]
    BadCa,
    #[error("cannot set up HTTPS: {0}")]
    Setup(String),
    #[error("head office did not answer in time")]
    Timeout,
    #[error("cannot reach head office: {0}")]
    Connect(String),
    #[error("the connection to head office broke: {0}")]
    Transport(String),
    #[error("head office answered {status} ({code}): {message}")]
    Status {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("head office's reply is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("head office's reply is malformed: {0}")]
    Malformed(String),
}

impl ClientError {
    /// What the failure means for the sync.
    pub fn failure(&self) -> Failure {
        match self {
            ClientError::Timeout
            | ClientError::Connect(_)
            | ClientError::Transport(_)
            | ClientError::TooLarge { .. }
            | ClientError::Malformed(_) => Failure::Transient { retry_after: None },
            ClientError::Status {
                status,
                retry_after,
                ..
            } => classify_status(*status, *retry_after),
            ClientError::BadUrl | ClientError::BadCa | ClientError::Setup(_) => Failure::Permanent,
        }
    }
}

fn describe(e: &reqwest::Error) -> ClientError {
    if e.is_timeout() {
        return ClientError::Timeout;
    }
    // The chain of causes, without the URL; none of it carries customer data.
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.is_empty() {
        text = e.to_string();
    }
    let text: String = text.chars().take(300).collect();
    if e.is_connect() {
        ClientError::Connect(text)
    } else {
        ClientError::Transport(text)
    }
}

/// PEM text as people paste it: line breaks lost or changed (a form field, an e-mail),
/// spaces or CRs around the base64. Each `-----BEGIN …-----`/`-----END …-----` block is
/// rebuilt with its base64 on 64-character lines; text outside blocks is dropped. Text
/// with no block at all is returned as it was (and then fails as a certificate).
pub fn normalise_pem(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let after_begin = &rest[begin + 11..];
        let Some(label_end) = after_begin.find("-----") else {
            break;
        };
        let label = &after_begin[..label_end];
        let body_and_rest = &after_begin[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_and_rest.find(&end_marker) else {
            break;
        };
        let body: String = body_and_rest[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push_str(&format!("-----BEGIN {label}-----\n"));
        for line in body.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str(&end_marker);
        out.push('\n');
        rest = &body_and_rest[end + end_marker.len()..];
    }
    if out.is_empty() {
        text.to_owned()
    } else {
        out
    }
}

/// A client for one head office.
#[derive(Debug, Clone)]
pub struct HqClient {
    http: reqwest::Client,
    base: String,
    options: ClientOptions,
    /// The fingerprint (SHA-256 hex of the DER) of the certificate head office last
    /// presented.
    seen: Arc<Mutex<Option<String>>>,
    /// How push bodies are sent: plain until a hello names an encoding head office
    /// decompresses, and for good once a compressed push came back unreadable.
    push_encoding: Arc<Mutex<PushEncoding>>,
}

#[derive(Debug, Default)]
struct PushEncoding {
    /// What the last hello offered that this build compresses with.
    offered: Option<&'static str>,
    /// A compressed push was refused as unreadable on the way: plain from then on.
    refused: bool,
}

/// Push bodies smaller than this go plain (compressing them gains nothing worth the work).
const COMPRESS_ABOVE: usize = 1024;

/// zstd's level for push bodies: its default, fast (hundreds of MB/s) and about eightfold
/// on a day's records.
const ZSTD_LEVEL: i32 = 3;

impl HqClient {
    /// A client for `base_url` (`https://host[:port]`), trusting the system's roots and,
    /// when given, the head office's CA certificate (PEM). No proxies, no redirects.
    pub fn new(
        base_url: &str,
        ca_pem: Option<&str>,
        options: ClientOptions,
    ) -> Result<HqClient, ClientError> {
        HqClient::pinned(base_url, ca_pem, None, options)
    }

    /// [`HqClient::new`], accepting only the certificate whose fingerprint (SHA-256 hex of
    /// its DER) is `pin`, when given: any other fails the handshake.
    pub fn pinned(
        base_url: &str,
        ca_pem: Option<&str>,
        pin: Option<&str>,
        options: ClientOptions,
    ) -> Result<HqClient, ClientError> {
        let url = reqwest::Url::parse(base_url.trim()).map_err(|_| ClientError::BadUrl)?;
        if url.scheme() != "https"
            || url.host_str().is_none()
            || url.query().is_some()
            || !url.username().is_empty()
        {
            return Err(ClientError::BadUrl);
        }
        let base = url.as_str().trim_end_matches('/').to_owned();
        let seen = Arc::new(Mutex::new(None));
        let tls = crate::pin::tls_config(ca_pem, pin, seen.clone())?;
        let builder = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("onsite-sync/", env!("CARGO_PKG_VERSION")));
        let http = builder
            .build()
            .map_err(|e| ClientError::Setup(e.without_url().to_string()))?;
        Ok(HqClient {
            http,
            base,
            options,
            seen,
            push_encoding: Arc::default(),
        })
    }

    /// The fingerprint (SHA-256 hex of the DER) of the certificate head office presented
    /// on the last connection, once one was made.
    pub fn certificate_fingerprint(&self) -> Option<String> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// The `Content-Encoding` pushes are sent in (`None`: plain), as the last hello
    /// negotiated.
    pub fn push_encoding(&self) -> Option<&'static str> {
        let e = self.push_encoding.lock().unwrap_or_else(|p| p.into_inner());
        e.offered.filter(|_| !e.refused)
    }

    fn with_push_encoding(&self, f: impl FnOnce(&mut PushEncoding)) {
        f(&mut self.push_encoding.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let res = req.send().await.map_err(|e| describe(&e))?;
        if res.status().is_success() || res.status() == StatusCode::NOT_FOUND {
            return Ok(res);
        }
        Err(self.error_reply(res).await)
    }

    async fn error_reply(&self, res: reqwest::Response) -> ClientError {
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(24 * 3600)));
        let body = read_limited(res, 64 * 1024).await.unwrap_or_default();
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(b) => (
                b.code.chars().take(64).collect(),
                b.message.chars().take(300).collect(),
            ),
            Err(_) => ("unknown".to_owned(), String::new()),
        };
        ClientError::Status {
            status,
            code,
            message,
            retry_after,
        }
    }

    async fn json<T: DeserializeOwned>(&self, res: reqwest::Response) -> Result<T, ClientError> {
        if res.status() == StatusCode::NOT_FOUND {
            return Err(self.error_reply(res).await);
        }
        let body = read_limited(res, self.options.max_reply_bytes).await?;
        serde_json::from_slice(&body)
            .map_err(|e| ClientError::Malformed(onsite_api::describe_serde_error(&e)))
    }

    /// `POST /v1/enroll`.
    pub async fn enroll(&self, code: &str, device_name: &str) -> Result<EnrollReply, ClientError> {
        let req = self
            .http
            .post(self.url(routes::ENROLL))
            .json(&EnrollRequest {
                code: code.to_owned(),
                device_name: device_name.to_owned(),
            });
        let res = self.send(req).await?;
        self.json(res).await
    }

    /// `HEAD /v1/blobs/{sha256}`: whether head office has the blob.
    pub async fn blob_exists(&self, token: &str, sha256: &str) -> Result<bool, ClientError> {
        let path = routes::BLOB.replace("{sha256}", sha256);
        let res = self
            .send(
                self.http
                    .request(Method::HEAD, self.url(&path))
                    .bearer_auth(token),
            )
            .await?;
        Ok(res.status() != StatusCode::NOT_FOUND)
    }

    /// `POST /v1/sync/blobs/missing`: which of `shas` (at most
    /// [`onsite_api::limits::MAX_BLOBS_PER_CHECK`]) head office lacks. Only for a head
    /// office whose hello names [`onsite_api::features::BLOBS_MISSING`].
    pub async fn blobs_missing(
        &self,
        token: &str,
        shas: &[String],
    ) -> Result<Vec<String>, ClientError> {
        let res = self
            .send(
                self.http
                    .post(self.url(routes::SYNC_BLOBS_MISSING))
                    .bearer_auth(token)
                    .json(&BlobCheck {
                        sha256: shas.to_vec(),
                    }),
            )
            .await?;
        let reply: BlobCheckReply = self.json(res).await?;
        // Only what was asked: a blob it names that was not asked about is a broken reply.
        if reply.missing.iter().any(|m| !shas.contains(m)) {
            return Err(ClientError::Malformed(
                "blob check reply names a blob not asked about".into(),
            ));
        }
        Ok(reply.missing)
    }

    /// `PUT /v1/blobs/{sha256}`; checks head office acknowledged this very blob.
    pub async fn put_blob(
        &self,
        token: &str,
        sha256: &str,
        bytes: Vec<u8>,
    ) -> Result<BlobPutReply, ClientError> {
        let path = routes::BLOB.replace("{sha256}", sha256);
        let size = bytes.len() as u64;
        let res = self
            .send(
                self.http
                    .put(self.url(&path))
                    .bearer_auth(token)
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .body(bytes),
            )
            .await?;
        let reply: BlobPutReply = self.json(res).await?;
        if reply.sha256 != sha256 || reply.size != size {
            return Err(ClientError::Malformed(
                "blob reply does not acknowledge the blob sent".into(),
            ));
        }
        Ok(reply)
    }

    /// `POST /v1/sync/push`, compressed when the hello said head office takes it. A
    /// compressed body refused as unreadable (a proxy on the way that drops the
    /// `Content-Encoding` header, say) is sent again plain, and pushes stay plain on this
    /// client. (A push refused as unreadable applied nothing: sending it again is safe.)
    pub async fn push(&self, token: &str, request: &PushRequest) -> Result<PushReply, ClientError> {
        let json = serde_json::to_vec(request)
            .map_err(|e| ClientError::Malformed(onsite_api::describe_serde_error(&e)))?;
        let encoding = self.push_encoding().filter(|_| json.len() > COMPRESS_ABOVE);
        if let Some(encoding) = encoding {
            let body = match encoding {
                onsite_api::encodings::ZSTD => zstd::bulk::compress(&json, ZSTD_LEVEL).ok(),
                _ => None,
            };
            if let Some(body) = body {
                match self.post_push(token, body, Some(encoding)).await {
                    Err(ClientError::Status { status, code, .. })
                        if (status == 400 && code == onsite_api::codes::MALFORMED)
                            || status == 415 =>
                    {
                        self.with_push_encoding(|e| e.refused = true);
                    }
                    other => return other,
                }
            }
        }
        self.post_push(token, json, None).await
    }

    async fn post_push(
        &self,
        token: &str,
        body: Vec<u8>,
        encoding: Option<&'static str>,
    ) -> Result<PushReply, ClientError> {
        let mut req = self
            .http
            .post(self.url(routes::SYNC_PUSH))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(e) = encoding {
            req = req.header(reqwest::header::CONTENT_ENCODING, e);
        }
        let res = self.send(req.body(body)).await?;
        self.json(res).await
    }

    /// `POST /v1/sync/erased`: tells head office this lost device erased its customer data
    /// (counts only); head office revokes the device.
    pub async fn erased(
        &self,
        token: &str,
        report: &onsite_api::ErasedReport,
    ) -> Result<onsite_api::Device, ClientError> {
        let res = self
            .send(
                self.http
                    .post(self.url(routes::SYNC_ERASED))
                    .bearer_auth(token)
                    .json(report),
            )
            .await?;
        self.json(res).await
    }

    /// `GET /v1/sync/hello`: what head office speaks; a head office of the first release
    /// has no such route (404) and speaks protocol 1.
    pub async fn hello(&self, token: &str, checkpoint: Option<&str>) -> Result<Hello, ClientError> {
        let mut req = self
            .http
            .get(self.url(routes::SYNC_HELLO))
            .bearer_auth(token);
        if let Some(c) = checkpoint {
            req = req.query(&[("checkpoint", c)]);
        }
        let res = self.send(req).await?;
        if res.status() == StatusCode::NOT_FOUND {
            self.with_push_encoding(|e| e.offered = None);
            return Ok(Hello::protocol1());
        }
        let hello: Hello = self.json(res).await?;
        // The one encoding this build compresses with, when head office takes it.
        let zstd = onsite_api::encodings::ZSTD;
        let offered = hello.request_encodings.iter().any(|e| e == zstd);
        self.with_push_encoding(|e| e.offered = offered.then_some(zstd));
        Ok(hello)
    }

    /// `GET /v1/sync/pull?cursor=&limit=&accept=&checkpoint=`: `checkpoint` is the newest
    /// commit the device knows of (head office answers `reset` when it lost it).
    pub async fn pull(
        &self,
        token: &str,
        cursor: Option<&str>,
        checkpoint: Option<&str>,
    ) -> Result<PullReply, ClientError> {
        let limit = self.options.pull_limit.to_string();
        let accept = ChangeItem::OPT_IN.join(",");
        let mut query: Vec<(&str, &str)> = vec![("limit", &limit), ("accept", &accept)];
        if let Some(c) = cursor {
            query.push(("cursor", c));
        }
        if let Some(c) = checkpoint {
            query.push(("checkpoint", c));
        }
        let res = self
            .send(
                self.http
                    .get(self.url(routes::SYNC_PULL))
                    .bearer_auth(token)
                    .query(&query),
            )
            .await?;
        self.json(res).await
    }
}

/// Reads a body of at most `limit` bytes (refusing a larger announced length at once).
async fn read_limited(mut res: reqwest::Response, limit: usize) -> Result<Vec<u8>, ClientError> {
    if res.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ClientError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > limit {
            return Err(ClientError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_and_valid_cas_are_accepted() {
        let o = ClientOptions::default;
        for bad in [
            "http://127.0.0.1:8443",
            "ftp://x",
            "not a url",
            "https://user:pw@host",
            "https://host/?q=1",
            "",
        ] {
            assert_eq!(
                HqClient::new(bad, None, o()).unwrap_err(),
                ClientError::BadUrl,
                "{bad}"
            );
        }
        let c = HqClient::new("https://127.0.0.1:8443/", None, o()).unwrap();
        assert_eq!(c.base_url(), "https://127.0.0.1:8443");
        for bad_pem in [
            "",
            "garbage",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            assert_eq!(
                HqClient::new("https://h", Some(bad_pem), o()).unwrap_err(),
                ClientError::BadCa,
                "{bad_pem}"
            );
        }
    }

    #[test]
    fn a_pasted_ca_that_lost_its_line_breaks_still_works() {
        let pem = onsite_testkit::pki().ca_pem;
        assert_eq!(normalise_pem(&pem), pem, "a proper PEM is unchanged");
        let flat = pem.replace('\n', "");
        assert_eq!(normalise_pem(&flat), pem);
        let crlf = format!("  note: our CA\r\n{}\r\n", pem.replace('\n', "\r\n "));
        assert_eq!(normalise_pem(&crlf), pem);
        let two = normalise_pem(&format!("{flat}{flat}"));
        assert_eq!(two, format!("{pem}{pem}"));
        assert!(HqClient::new("https://h", Some(&flat), ClientOptions::default()).is_ok());
        assert_eq!(normalise_pem("garbage"), "garbage");
        assert_eq!(
            normalise_pem("-----BEGIN CERTIFICATE-----AAAA"),
            "-----BEGIN CERTIFICATE-----AAAA",
            "an unterminated block is left for the parser to refuse"
        );
    }
}
