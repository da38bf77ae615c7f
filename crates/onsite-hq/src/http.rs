//! The HTTP API: routes, authentication, request checking and the handlers. Handlers are
//! adapters: check input, call [`Storage`] on the blocking pool, map errors.
//!
//! Every error reply is an [`ErrorBody`] in JSON; no error text or log line carries
//! customer data (names, phones, addresses): request bodies are never logged, and serde
//! errors are scrubbed of the values they quote.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use onsite_api::{
    codes, is_sha256_hex, limits, routes, BlobCheck, BlobCheckReply, BlobPutReply, CancelRequest,
    CarryBackQuery, ChangeItem, Checkpoint, CompanyProfile, Cursor, EnrollReply, EnrollRequest,
    EnrolmentCode, EpochReply, ErrorBody, ExportFormat, ExportQuery, FeeTablePublish, Health,
    NewEnrolmentCode, NewPartsIssue, NewTechnician, NewWorkOrder, PartsCataloguePublish,
    PriceListPublish, PullQuery, PullReply, PushReply, PushRequest, ReassignRequest, ReviewQuery,
    TechnicianDayQuery, WorkOrderQuery, WorkOrderUpdate,
};
use serde::de::DeserializeOwned;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use uuid::Uuid;

use crate::auth;
use crate::export;
use crate::guard::{client_ip, Guard, Limits};
use crate::paging::{self, Page, PageArgs};
use crate::rules;
use crate::storage::{BlobStored, DeviceAuth, NewDevice, Storage, StorageError};

/// Seconds a client is told to wait after a transient failure.
pub const RETRY_AFTER_SECS: u64 = 5;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    storage: Arc<dyn Storage>,
    admin_token_hash: Arc<str>,
    guard: Arc<Guard>,
    metrics: Arc<crate::metrics::Metrics>,
}

impl AppState {
    /// State over `storage`, accepting `admin_token` on the head-office endpoints, with
    /// the default [`Limits`].
    pub fn new(storage: Arc<dyn Storage>, admin_token: &str) -> AppState {
        AppState::with_limits(storage, admin_token, Limits::default())
    }

    /// The same with other limits.
    pub fn with_limits(storage: Arc<dyn Storage>, admin_token: &str, limits: Limits) -> AppState {
        // The pool's use is read at each scrape (a weak reference: metrics never keep the
        // storage open).
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let probe = Arc::downgrade(&storage);
        metrics.set_pool_probe(Box::new(move || probe.upgrade()?.pool_state()));
        AppState {
            storage,
            admin_token_hash: auth::token_hash(admin_token).into(),
            guard: Arc::new(Guard::new(limits)),
            metrics,
        }
    }

    /// The limits (failed-authentication counting).
    pub(crate) fn guard(&self) -> &Guard {
        &self.guard
    }

    /// This instance's metrics (served on their own address by `onsite-hq`).
    pub fn metrics(&self) -> Arc<crate::metrics::Metrics> {
        self.metrics.clone()
    }

    pub(crate) fn is_admin(&self, token: &str) -> bool {
        auth::constant_time_eq(
            auth::token_hash(token).as_bytes(),
            self.admin_token_hash.as_bytes(),
        )
    }
}

// ---------------------------------------------------------------------------------------
// Errors

/// An error reply: status, stable code, message without customer data.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("no such {what}"),
        )
    }

    fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            retry_after: Some(RETRY_AFTER_SECS),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, codes::UNAVAILABLE, message)
        }
    }

    /// 429: the client's address tried too often; retry after `wait`.
    pub(crate) fn rate_limited(wait: std::time::Duration) -> ApiError {
        ApiError {
            retry_after: Some(crate::guard::retry_secs(wait)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                codes::RATE_LIMITED,
                "too many attempts from this address; retry later",
            )
        }
    }

    /// 429: the device stored as many bytes of new blobs in 24 hours as it may.
    pub(crate) fn blob_quota(wait: std::time::Duration) -> ApiError {
        ApiError {
            retry_after: Some(crate::guard::retry_secs(wait)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                codes::BLOB_QUOTA,
                "this device has uploaded as much as head office takes from one device in \
                 24 hours; the file stays on the device, retry later",
            )
        }
    }

    /// 503: the instance has all the requests in flight it takes.
    pub(crate) fn busy(message: impl Into<String>) -> ApiError {
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, codes::BUSY, message)
        }
    }

    /// 503: the request took longer than `within`.
    pub(crate) fn timeout(within: std::time::Duration) -> ApiError {
        ApiError {
            retry_after: Some(RETRY_AFTER_SECS),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                codes::TIMEOUT,
                format!("the request took longer than {} s", within.as_secs()),
            )
        }
    }

    fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            "internal error; see the server log",
        )
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        match e {
            StorageError::NotFound => ApiError::not_found("record"),
            StorageError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, codes::CONFLICT, m),
            StorageError::Invalid(m) => ApiError::bad_request(m),
            StorageError::InvalidCode => ApiError::new(
                StatusCode::UNAUTHORIZED,
                codes::INVALID_CODE,
                "the enrolment code is unknown, already used or expired",
            ),
            StorageError::Transient(m) => {
                tracing::warn!(error = %m, "transient storage failure");
                ApiError::unavailable("the server is busy; retry later")
            }
            StorageError::Internal(m) => {
                tracing::error!(error = %m, "storage failure");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Runs a storage call on the blocking pool.
pub(crate) async fn run<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn Storage) -> Result<T, ApiError> + Send + 'static,
{
    let storage = state.storage.clone();
    let busy = state.metrics.storage_call();
    match tokio::task::spawn_blocking(move || {
        let _busy = busy;
        f(&*storage)
    })
    .await
    {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(error = %e, "storage task failed");
            Err(ApiError::internal())
        }
    }
}

// ---------------------------------------------------------------------------------------
// Extractors

/// A JSON body of type `T`: `application/json`, within the body limit, well-formed.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                codes::UNSUPPORTED_MEDIA_TYPE,
                "the body must be application/json",
            ));
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                codes::MALFORMED,
                format!(
                    "malformed JSON body: {}",
                    onsite_api::describe_serde_error(&e)
                ),
            )
        })
    }
}

/// The raw body within the route's size limit.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        codes::TOO_LARGE,
                        "the body is larger than this endpoint accepts",
                    )
                } else {
                    ApiError::bad_request("the body could not be read")
                }
            })
    }
}

/// Query parameters of type `T`.
pub struct QueryArgs<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryArgs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(QueryArgs)
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "invalid query string: {}",
                    onsite_api::scrub_error_text(&e.to_string())
                ))
            })
    }
}

/// A UUID path parameter.
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("invalid path"))?;
        Uuid::parse_str(&text)
            .map(PathId)
            .map_err(|_| ApiError::bad_request("the id in the path is not a UUID"))
    }
}

/// A SHA-256 path parameter (64 lowercase hex digits).
pub struct PathSha(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathSha {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("invalid path"))?;
        if !is_sha256_hex(&text) {
            return Err(ApiError::bad_request(
                "the blob name must be its SHA-256 as 64 lowercase hex digits",
            ));
        }
        Ok(PathSha(text))
    }
}

pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        codes::UNAUTHORIZED,
        "a valid bearer token is required",
    )
}

/// The device behind a valid, unrevoked device token.
pub struct DeviceToken(pub DeviceAuth);

impl FromRequestParts<AppState> for DeviceToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = client_ip(parts);
        state.guard.auth_allowed(ip)?;
        let token = bearer(parts).ok_or_else(unauthorized)?;
        let hash = auth::token_hash(token);
        let device = run(state, move |s| Ok(s.device_for_token(&hash)?)).await?;
        match device {
            None => {
                state.guard.auth_failed(ip);
                Err(unauthorized())
            }
            Some(d) if d.revoked => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                codes::DEVICE_REVOKED,
                "this device was revoked by head office; enrol it again",
            )),
            Some(d) => Ok(DeviceToken(d)),
        }
    }
}

/// Someone of the office allowed this route: the admin token, an integration's API token
/// with the route's permission, or a signed-in person whose role has it (with the CSRF
/// token on a change); see [`crate::office::authorize`]. Any other token (a device's)
/// gets 403.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        crate::office::authorize(parts, state).await?;
        Ok(Admin)
    }
}

/// Either a device (`Some`) or the admin (blob upload).
pub struct DeviceOrAdmin(pub Option<DeviceAuth>);

impl FromRequestParts<AppState> for DeviceOrAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The admin token is tried without counting a miss: a device's token is not a
        // failed admin login.
        if bearer(parts).is_some_and(|t| state.is_admin(t)) {
            state.guard.auth_allowed(client_ip(parts))?;
            return Ok(DeviceOrAdmin(None));
        }
        let DeviceToken(device) = DeviceToken::from_request_parts(parts, state).await?;
        Ok(DeviceOrAdmin(Some(device)))
    }
}

// ---------------------------------------------------------------------------------------
// Routes

/// One route of the API: what [`router`] serves and [`route_table`] lists.
pub struct Route {
    /// The path, with `{param}` placeholders.
    pub path: &'static str,
    /// The method.
    pub method: Method,
    handler: MethodRouter<AppState>,
}

pub(crate) fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone())
        .unwrap_or_else(|_| panic!("unsupported method {method} in the route table"));
    Route {
        path,
        method,
        handler: on(filter, handler),
    }
}

fn routes() -> Vec<Route> {
    use routes::*;
    let mut list = vec![
        route(Method::GET, HEALTH, health),
        route(Method::GET, READY, ready),
        route(Method::GET, OPENAPI, openapi_json),
        route(Method::POST, ENROLL, enroll),
        route(Method::POST, SYNC_PUSH, push),
        route(Method::GET, SYNC_HELLO, hello),
        route(Method::GET, SYNC_PULL, pull),
        route(Method::HEAD, BLOB, blob_head),
        route(Method::POST, SYNC_BLOBS_MISSING, blobs_missing),
        route(Method::GET, ADMIN_TECHNICIANS, list_technicians),
        route(Method::POST, ADMIN_TECHNICIANS, create_technician),
        route(Method::POST, ADMIN_ENROLMENT_CODES, issue_enrolment_code),
        route(Method::GET, ADMIN_DEVICES, list_devices),
        route(Method::POST, ADMIN_DEVICE_REVOKE, revoke_device),
        route(Method::POST, ADMIN_DEVICE_LOST, mark_device_lost),
        route(Method::POST, SYNC_ERASED, device_erased),
        route(Method::GET, ADMIN_WORK_ORDERS, list_work_orders),
        route(Method::POST, ADMIN_WORK_ORDERS, create_work_order),
        route(Method::GET, ADMIN_WORK_ORDER, get_work_order),
        route(Method::PATCH, ADMIN_WORK_ORDER, update_work_order),
        route(Method::POST, ADMIN_WORK_ORDER_REASSIGN, reassign_work_order),
        route(Method::POST, ADMIN_WORK_ORDER_CANCEL, cancel_work_order),
        route(Method::GET, ADMIN_FEE_TABLES, list_fee_tables),
        route(Method::POST, ADMIN_FEE_TABLES, publish_fee_table),
        route(Method::PUT, ADMIN_PARTS_CATALOGUE, publish_parts_catalogue),
        route(Method::POST, ADMIN_PARTS_ISSUES, issue_parts),
        route(Method::GET, ADMIN_PARTS_ISSUES, list_parts_issues),
        route(Method::PUT, ADMIN_COMPANY, put_company),
        route(Method::POST, ADMIN_PRICE_LISTS, publish_price_list),
        route(Method::GET, ADMIN_REVIEW, list_review_flags),
        route(Method::POST, ADMIN_REVIEW_RESOLVE, resolve_review_flag),
        route(Method::GET, ADMIN_REFUSED_OPS, list_refused_ops),
        route(Method::GET, ADMIN_RESTORE_HORIZON, get_restore_horizon),
        route(Method::PUT, ADMIN_RESTORE_HORIZON, set_restore_horizon),
        route(Method::GET, ADMIN_SETTINGS_RETENTION, get_retention),
        route(Method::PUT, ADMIN_SETTINGS_RETENTION, set_retention),
        route(Method::POST, ADMIN_REFUSED_OP_APPLY, apply_refused_op),
        route(Method::GET, ADMIN_EXPORT, export),
        route(
            Method::GET,
            ADMIN_EXPORT_TECHNICIAN_DAYS,
            export_technician_days,
        ),
        route(Method::GET, ADMIN_CARRY_BACKS, list_carry_backs),
        route(Method::GET, ADMIN_BLOB, admin_get_blob),
        route(Method::POST, ADMIN_EPOCH_ROTATE, rotate_epoch),
    ];
    // Blob uploads have their own, larger limit.
    let mut put = route(Method::PUT, BLOB, blob_put);
    put.handler = put
        .handler
        .layer(DefaultBodyLimit::max(limits::MAX_BLOB_BYTES));
    list.push(put);
    list.extend(crate::office::routes());
    list
}

/// Every (method, path) the router serves, sorted. The router is built from the same list,
/// so this cannot go stale; a test checks the OpenAPI document against it.
pub fn route_table() -> Vec<(String, String)> {
    let mut table: Vec<(String, String)> = routes()
        .into_iter()
        .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
        .collect();
    table.sort();
    table
}

/// The whole API as an axum router.
pub fn router(state: AppState) -> Router {
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for r in routes() {
        match by_path.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, existing)) => {
                let merged = std::mem::take(existing).merge(r.handler);
                *existing = merged;
            }
            None => by_path.push((r.path, r.handler)),
        }
    }
    let mut router = Router::new();
    for (path, handler) in by_path {
        router = router.route(path, handler);
    }
    router
        .merge(crate::console::router())
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits::MAX_JSON_BODY_BYTES))
        // A compressed request body is decompressed as the handler reads it, so the body
        // limits above hold for the decompressed bytes: a decompression bomb is cut off at
        // the limit (413), never inflated in memory.
        .layer(RequestDecompressionLayer::new().gzip(true).zstd(true))
        .layer(axum::middleware::from_fn(known_encoding))
        .layer(axum::middleware::from_fn_with_state(
            state.guard.clone(),
            crate::guard::limit,
        ))
        .layer(compression())
        .layer(axum::middleware::from_fn(log_request))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::track,
        ))
        .with_state(state)
}

/// Replies compressed (zstd or gzip) when the request's `Accept-Encoding` allows: JSON and
/// CSV (pull pages, exports), not blobs (`application/octet-stream`: photos and PDFs are
/// compressed already) nor bodies too small to gain.
fn compression() -> CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    use tower_http::compression::CompressionLevel;
    CompressionLayer::new()
        .gzip(true)
        .zstd(true)
        // zstd's and gzip's fast levels: a pull page of 2,000 jobs (2 MB of JSON) shrinks
        // about tenfold either way, in milliseconds rather than gzip's default tens.
        .quality(CompressionLevel::Fastest)
        .compress_when(
            SizeAbove::new(256)
                .and(NotForContentType::const_new("application/octet-stream"))
                .and(NotForContentType::GRPC)
                .and(NotForContentType::IMAGES)
                .and(NotForContentType::SSE),
        )
}

/// A request body in an encoding head office does not decompress is refused with 415 and
/// an [`ErrorBody`] (naming the encodings it takes), before anything reads it.
async fn known_encoding(req: Request, next: axum::middleware::Next) -> Response {
    let known = req
        .headers()
        .get_all(axum::http::header::CONTENT_ENCODING)
        .iter()
        .all(|v| {
            v.to_str()
                .is_ok_and(|e| e == "identity" || onsite_api::encodings::ALL.contains(&e))
        });
    if known {
        return next.run(req).await;
    }
    let mut res = ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        codes::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "the body's Content-Encoding must be one of: identity, {}",
            onsite_api::encodings::ALL.join(", ")
        ),
    )
    .into_response();
    res.headers_mut().insert(
        axum::http::header::ACCEPT_ENCODING,
        HeaderValue::from_static("zstd, gzip"),
    );
    res
}

/// One debug line per request: method, path and status. Paths hold ids and hashes only;
/// the query string (which may carry search words) and bodies are never logged.
async fn log_request(req: Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    tracing::debug!(%method, %path, status = res.status().as_u16(), "request");
    res
}

async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, codes::NO_ROUTE, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        codes::NO_ROUTE,
        "this endpoint does not take that method",
    )
}

// ---------------------------------------------------------------------------------------
// Handlers: public and sync

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Ready when the storage answers a read: a load balancer sends no traffic to an instance
/// whose database is away.
async fn ready(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    run(&state, |s| {
        s.epoch().map_err(|e| {
            tracing::warn!(error = %e, "not ready: the storage does not answer");
            ApiError::unavailable("the storage does not answer")
        })
    })
    .await?;
    Ok(Json(Health {
        status: "ready".into(),
    }))
}

async fn openapi_json() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

/// The client's address (see [`client_ip`]).
pub struct ClientIp(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(ClientIp(client_ip(parts)))
    }
}

async fn enroll(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<EnrollRequest>,
) -> ApiResult<Json<EnrollReply>> {
    state.guard.enrol_allowed(ip)?;
    rules::check_name("device_name", &req.device_name).map_err(ApiError::bad_request)?;
    if req.code.len() > 64 {
        return Err(ApiError::bad_request("code is too long"));
    }
    let code_hash = auth::code_hash(&req.code);
    let token = auth::new_token();
    let token_hash = auth::token_hash(&token);
    let device_id = Uuid::now_v7();
    let enrolled = run(&state, move |s| {
        let (device, technician) = s.enroll_device(
            &code_hash,
            NewDevice {
                id: device_id,
                name: &req.device_name,
                token_hash: &token_hash,
            },
            Utc::now(),
        )?;
        Ok((device, technician, s.epoch()?, s.server_id()?))
    })
    .await;
    if enrolled
        .as_ref()
        .is_err_and(|e| e.code == codes::INVALID_CODE)
    {
        state.guard.enrol_failed(ip);
    }
    let (device, technician, epoch, server_id) = enrolled?;
    tracing::info!(device = %device.id, technician = %technician.id, "device enrolled");
    Ok(Json(EnrollReply {
        device_id: device.id,
        technician_id: technician.id,
        technician_name: technician.name,
        token,
        epoch,
        server_id: Some(server_id),
    }))
}

async fn push(
    State(state): State<AppState>,
    DeviceToken(device): DeviceToken,
    JsonBody(req): JsonBody<PushRequest>,
) -> ApiResult<Json<PushReply>> {
    if req.ops.len() > limits::MAX_OPS_PER_PUSH {
        return Err(ApiError::bad_request(format!(
            "at most {} ops per push",
            limits::MAX_OPS_PER_PUSH
        )));
    }
    if req
        .ops
        .windows(2)
        .any(|w| w[0].device_seq >= w[1].device_seq)
    {
        return Err(ApiError::bad_request(
            "ops must be in strictly increasing device_seq order",
        ));
    }
    let device_id = device.device_id;
    let reply = run(&state, move |s| {
        // The whole push in one transaction: a failure leaves none of it applied, and the
        // device sends it again.
        let results = s.apply_ops(&device, &req.ops, Utc::now())?;
        let newest = results
            .iter()
            .filter_map(|r| match r.outcome {
                onsite_api::OpOutcome::Applied { server_seq, .. } => Some(server_seq),
                onsite_api::OpOutcome::Rejected { .. } => None,
            })
            .max();
        Ok(PushReply {
            results,
            epoch: s.epoch()?,
            checkpoint: checkpoint_of(s, newest)?,
        })
    })
    .await?;
    let rejected = reply
        .results
        .iter()
        .filter(|r| matches!(r.outcome, onsite_api::OpOutcome::Rejected { .. }))
        .count();
    let duplicates = reply.results.iter().filter(|r| r.duplicate).count();
    let new_rejected = reply
        .results
        .iter()
        .filter(|r| !r.duplicate && matches!(r.outcome, onsite_api::OpOutcome::Rejected { .. }))
        .count();
    state.metrics.ops(
        (reply.results.len() - duplicates - new_rejected) as u64,
        duplicates as u64,
        new_rejected as u64,
    );
    tracing::info!(device = %device_id, ops = reply.results.len(), rejected, "push");
    Ok(Json(reply))
}

/// Query of `GET /v1/sync/hello` (its OpenAPI parameters are derived from it).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HelloQuery {
    /// `<seq>:<tag>` of the newest commit the device knows of: `history_lost` when this
    /// database does not hold it.
    checkpoint: Option<String>,
}

async fn hello(
    State(state): State<AppState>,
    DeviceToken(device): DeviceToken,
    QueryArgs(query): QueryArgs<HelloQuery>,
) -> ApiResult<Json<onsite_api::Hello>> {
    let checkpoint = query.checkpoint.filter(|c| !c.is_empty());
    let (horizon, history_lost, epoch, retention_days) = run(&state, move |s| {
        let lost = history_lost(s, checkpoint.as_deref())?;
        Ok((
            s.restore_horizon()?.checkpoint,
            lost,
            s.epoch()?,
            s.retention_days()?,
        ))
    })
    .await?;
    Ok(Json(onsite_api::Hello {
        epoch,
        restore_horizon: horizon,
        history_lost,
        retention_days: Some(retention_days),
        erase: device.lost,
        ..onsite_api::Hello::current()
    }))
}

async fn get_retention(
    State(state): State<AppState>,
    _: Admin,
) -> ApiResult<Json<onsite_api::RetentionSetting>> {
    run(&state, |s| {
        Ok(Json(onsite_api::RetentionSetting {
            days: s.retention_days()?,
        }))
    })
    .await
}

async fn set_retention(
    State(state): State<AppState>,
    _: Admin,
    JsonBody(req): JsonBody<onsite_api::RetentionSetting>,
) -> ApiResult<Json<onsite_api::RetentionSetting>> {
    use onsite_api::retention::{valid, MAX_DAYS, MIN_DAYS};
    if !valid(req.days) {
        return Err(ApiError::bad_request(format!(
            "days must be between {MIN_DAYS} and {MAX_DAYS}"
        )));
    }
    run(&state, move |s| Ok(s.set_retention_days(req.days)?)).await?;
    tracing::info!(days = req.days, "retention period set");
    Ok(Json(req))
}

async fn get_restore_horizon(
    State(state): State<AppState>,
    _: Admin,
) -> ApiResult<Json<onsite_api::RestoreHorizon>> {
    run(&state, |s| Ok(Json(s.restore_horizon()?))).await
}

async fn set_restore_horizon(
    State(state): State<AppState>,
    _: Admin,
    JsonBody(req): JsonBody<onsite_api::RestoreHorizonRequest>,
) -> ApiResult<Json<onsite_api::RestoreHorizon>> {
    if req.oldest_backup_at > Utc::now() {
        return Err(ApiError::bad_request(
            "oldest_backup_at is in the future: a backup not taken yet cannot be kept",
        ));
    }
    let h = run(&state, move |s| {
        Ok(s.set_restore_horizon(req.oldest_backup_at)?)
    })
    .await?;
    tracing::info!(forgotten = h.forgotten_results, "restore horizon moved");
    Ok(Json(h))
}

async fn pull(
    State(state): State<AppState>,
    DeviceToken(device): DeviceToken,
    QueryArgs(query): QueryArgs<PullQuery>,
) -> ApiResult<Json<PullReply>> {
    // A device marked lost may still send what it holds, but is sent nothing more.
    if device.lost {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            codes::DEVICE_LOST,
            "head office marked this device lost; it is sent nothing",
        ));
    }
    let limit = query
        .limit
        .unwrap_or(limits::DEFAULT_PULL_LIMIT)
        .clamp(1, limits::MAX_PULL_LIMIT);
    let cursor = query.cursor.filter(|c| !c.is_empty());
    let accept = query.accept;
    let checkpoint = query.checkpoint.filter(|c| !c.is_empty());
    let metrics = state.metrics.clone();
    run(&state, move |s| {
        let epoch = s.epoch()?;
        let history_lost = history_lost(s, checkpoint.as_deref())?;
        let head = s.max_seq()?;
        let (after, reset) = match cursor {
            None => (0, history_lost),
            Some(_) if history_lost => (0, true),
            Some(text) => match Cursor::parse(&text) {
                Some(c) if c.epoch == epoch && c.seq <= head => (c.seq, false),
                _ => (0, true),
            },
        };
        metrics.pulled(after, head);
        let accepted: Vec<&str> = accept
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .collect();
        let mut from = after;
        let page = loop {
            let mut page = s.pull(device.technician_id, from, limit)?;
            // A device's own facts are already on it: only the technician's other devices'
            // come down (the cursor still moves past them).
            page.changes.retain(
                |c| !matches!(&c.item, ChangeItem::Fact(f) if f.device_id == device.device_id),
            );
            // Item types an older client does not know would fail its whole page: only
            // clients that name them get them (the cursor still moves past them).
            page.changes
                .retain(|c| c.item.opt_in_type().is_none_or(|t| accepted.contains(&t)));
            // A page left empty while more follows would read as "no progress" to a
            // client of the previous build, which then retries it forever: read on.
            if !page.changes.is_empty() || !page.has_more || page.last_seq <= from {
                break page;
            }
            from = page.last_seq;
        };
        Ok(Json(PullReply {
            cursor: Cursor {
                epoch: epoch.clone(),
                seq: page.last_seq,
            }
            .to_string(),
            epoch,
            reset,
            changes: page.changes,
            has_more: page.has_more,
            checkpoint: checkpoint_of(s, Some(page.last_seq))?,
        }))
    })
    .await
}

/// Whether the newest commit a device knows of (`<seq>:<tag>`) is one this database does
/// not hold: after a restore from a backup (with or without a new epoch) it is lost, or its
/// number was reused by another commit, and the device must refetch and re-send. A
/// malformed checkpoint counts as lost (a refetch is always safe).
fn history_lost(s: &dyn Storage, checkpoint: Option<&str>) -> Result<bool, ApiError> {
    Ok(match checkpoint {
        None => false,
        Some(text) => match Checkpoint::parse(text) {
            Some(c) => !s.holds(&c)?,
            None => true,
        },
    })
}

/// Commit `seq` as a device names it (`<seq>:<tag>`), `None` for no commit.
fn checkpoint_of(s: &dyn Storage, seq: Option<i64>) -> Result<Option<String>, ApiError> {
    let Some(seq) = seq.filter(|&q| q > 0) else {
        return Ok(None);
    };
    Ok(s.commit_tag(seq)?
        .map(|tag| Checkpoint { seq, tag }.to_string()))
}

async fn blob_head(
    State(state): State<AppState>,
    _auth: DeviceOrAdmin,
    PathSha(sha): PathSha,
) -> ApiResult<StatusCode> {
    let present = run(&state, move |s| Ok(s.has_blob(&sha)?)).await?;
    Ok(if present {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    })
}

/// Which of the named blobs head office lacks: one request for a whole push instead of a
/// `HEAD` per blob. Device token only (a device marked lost may still send what it holds).
async fn blobs_missing(
    State(state): State<AppState>,
    DeviceToken(_device): DeviceToken,
    JsonBody(req): JsonBody<BlobCheck>,
) -> ApiResult<Json<BlobCheckReply>> {
    if req.sha256.len() > limits::MAX_BLOBS_PER_CHECK {
        return Err(ApiError::bad_request(format!(
            "at most {} blobs per check",
            limits::MAX_BLOBS_PER_CHECK
        )));
    }
    if !req.sha256.iter().all(|s| is_sha256_hex(s)) {
        return Err(ApiError::bad_request(
            "each blob name must be its SHA-256 as 64 lowercase hex digits",
        ));
    }
    let mut asked = req.sha256;
    let mut seen = std::collections::HashSet::with_capacity(asked.len());
    asked.retain(|s| seen.insert(s.clone()));
    let missing = run(&state, move |s| {
        let mut missing = Vec::new();
        for sha in asked {
            if !s.has_blob(&sha)? {
                missing.push(sha);
            }
        }
        Ok(missing)
    })
    .await?;
    Ok(Json(BlobCheckReply { missing }))
}

async fn blob_put(
    State(state): State<AppState>,
    DeviceOrAdmin(device): DeviceOrAdmin,
    PathSha(sha): PathSha,
    RawBody(bytes): RawBody,
) -> ApiResult<(StatusCode, Json<BlobPutReply>)> {
    if auth::sha256_hex(&bytes) != sha {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::HASH_MISMATCH,
            "the body does not hash to the SHA-256 in the path",
        ));
    }
    let size = bytes.len() as u64;
    let sha_stored = sha.clone();
    let quota = state.guard.blob_bytes_per_day();
    let device_id = device.as_ref().map(|d| d.device_id);
    let stored = run(&state, move |s| {
        Ok(match device {
            // A device's uploads count against its quota; the admin's do not.
            Some(d) => s.put_device_blob(d.device_id, &sha_stored, &bytes, Utc::now(), quota)?,
            None if s.put_blob(&sha_stored, &bytes, Utc::now())? => BlobStored::Created,
            None => BlobStored::Present,
        })
    })
    .await?;
    let created = match stored {
        BlobStored::Created => true,
        BlobStored::Present => false,
        BlobStored::OverQuota { retry_after } => {
            if let Some(d) = device_id {
                tracing::warn!(device = %d, "a device reached its blob quota");
            }
            return Err(ApiError::blob_quota(retry_after));
        }
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(BlobPutReply {
            sha256: sha,
            size,
            created,
        }),
    ))
}

// ---------------------------------------------------------------------------------------
// Handlers: head office

/// One page of a whole list (crate::paging), with the next page's headers.
fn page_of<T: serde::Serialize>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    page: &PageArgs,
    uri: &Uri,
) -> ApiResult<Response> {
    let limit = page
        .limit(paging::DEFAULT_LIMIT, paging::MAX_LIMIT)
        .map_err(ApiError::bad_request)?;
    let p = paging::cut(items, key, page.cursor(), limit)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(paging::respond(Json(p.items), p.next, uri))
}

/// A keyset page's start (the cursor is the last item's id) and size.
fn keyset(page: &PageArgs, default: usize, max: usize) -> ApiResult<(Option<Uuid>, usize)> {
    let limit = page.limit(default, max).map_err(ApiError::bad_request)?;
    let after = page
        .cursor()
        .map(|c| {
            Uuid::parse_str(c).map_err(|_| ApiError::bad_request(paging::BadCursor.to_string()))
        })
        .transpose()?;
    Ok((after, limit))
}

async fn list_technicians(
    State(state): State<AppState>,
    _: Admin,
    QueryArgs(page): QueryArgs<PageArgs>,
    uri: Uri,
) -> ApiResult<Response> {
    let all = run(&state, |s| Ok(s.list_technicians()?)).await?;
    page_of(all, |t| t.id.to_string(), &page, &uri)
}

async fn create_technician(
    State(state): State<AppState>,
    _: Admin,
    JsonBody(req): JsonBody<NewTechnician>,
) -> ApiResult<(StatusCode, Json<onsite_api::Technician>)> {
    rules::check_name("name", &req.name).map_err(ApiError::bad_request)?;
    let t = run(&state, move |s| {
        Ok(s.create_technician(Uuid::now_v7(), req.name.trim(), Utc::now())?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

async fn issue_enrolment_code(
    State(state): State<AppState>,
    _: Admin,
    PathId(technician_id): PathId,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<EnrolmentCode>)> {
    // The body is optional: empty means the defaults.
    let options: NewEnrolmentCode = if body.iter().all(u8::is_ascii_whitespace) {
        NewEnrolmentCode::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                codes::MALFORMED,
                format!(
                    "malformed JSON body: {}",
                    onsite_api::describe_serde_error(&e)
                ),
            )
        })?
    };
    let hours = options.valid_hours.unwrap_or(24);
    if !(1..=720).contains(&hours) {
        return Err(ApiError::bad_request("valid_hours must be 1 to 720"));
    }
    let code = auth::new_enrolment_code();
    let hash = auth::code_hash(&code);
    let now = Utc::now();
    let expires_at = now + Duration::hours(i64::from(hours));
    run(&state, move |s| {
        s.store_enrolment_code(technician_id, &hash, now, expires_at)
            .map_err(|e| match e {
                StorageError::NotFound => ApiError::not_found("technician"),
                e => e.into(),
            })
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(EnrolmentCode {
            code,
            technician_id,
            expires_at,
        }),
    ))
}

async fn list_devices(
    State(state): State<AppState>,
    _: Admin,
    QueryArgs(page): QueryArgs<PageArgs>,
    uri: Uri,
) -> ApiResult<Response> {
    let all = run(&state, |s| Ok(s.list_devices()?)).await?;
    page_of(all, |d| d.id.to_string(), &page, &uri)
}

async fn revoke_device(
    State(state): State<AppState>,
    _: Admin,
    PathId(id): PathId,
) -> ApiResult<Json<onsite_api::Device>> {
    let device = run(&state, move |s| {
        s.revoke_device(id, Utc::now()).map_err(|e| match e {
            StorageError::NotFound => ApiError::not_found("device"),
            e => e.into(),
        })
    })
    .await?;
    tracing::info!(device = %device.id, "device revoked");
    Ok(Json(device))
}

async fn mark_device_lost(
    State(state): State<AppState>,
    _: Admin,
    PathId(id): PathId,
) -> ApiResult<Json<onsite_api::Device>> {
    let device = run(&state, move |s| {
        s.mark_device_lost(id, Utc::now()).map_err(|e| match e {
            StorageError::NotFound => ApiError::not_found("device"),
            e => e.into(),
        })
    })
    .await?;
    tracing::info!(device = %device.id, "device marked lost");
    Ok(Json(device))
}

async fn device_erased(
    State(state): State<AppState>,
    DeviceToken(device): DeviceToken,
    JsonBody(report): JsonBody<onsite_api::ErasedReport>,
) -> ApiResult<Json<onsite_api::Device>> {
    let id = device.device_id;
    let counts = report.clone();
    let stored = run(&state, move |s| {
        Ok(s.record_device_erased(id, &report, Utc::now())?)
    })
    .await?;
    // Counts only: what the device erased is customer data.
    tracing::info!(
        device = %id,
        work_orders = counts.work_orders,
        customers = counts.customers,
        records = counts.records,
        unsent = counts.unsent,
        files = counts.files,
        "lost device erased its customer data; revoked"
    );
    Ok(Json(stored))
}

async fn list_work_orders(
    State(state): State<AppState>,
    _: Admin,
    QueryArgs(query): QueryArgs<WorkOrderQuery>,
    QueryArgs(page): QueryArgs<PageArgs>,
    uri: Uri,
) -> ApiResult<Response> {
    let (after, limit) = keyset(&page, paging::DEFAULT_LIMIT, paging::MAX_LIMIT)?;
    let items = run(&state, move |s| {
        Ok(s.list_work_orders_page(&query, after, limit + 1)?)
    })
    .await?;
    let p = Page::from_probe(items, limit, |w| w.id.to_string());
    Ok(paging::respond(Json(p.items), p.next, &uri))
}

async fn create_work_order(
    State(state): State<AppState>,
    _: Admin,
    JsonBody(req): JsonBody<NewWorkOrder>,
) -> ApiResult<(StatusCode, Json<onsite_api::WorkOrder>)> {
    rules::check_new_work_order(&req).map_err(ApiError::bad_request)?;
    let order = run(&state, move |s| {
        Ok(s.create_work_order(Uuid::now_v7(), &req, Utc::now())?)
    })
    .await?;
    tracing::info!(work_order = %order.id, "work order created");
    Ok((StatusCode::CREATED, Json(order)))
}

fn order_not_found(e: StorageError) -> ApiError {
    match e {
        StorageError::NotFound => ApiError::not_found("work order"),
        e => e.into(),
    }
}

async fn get_work_order(
    State(state): State<AppState>,
    _: Admin,
    PathId(id): PathId,
) -> ApiResult<Json<onsite_api::WorkOrderDetail>> {
    run(&state, move |s| {
        s.get_work_order(id)?
            .map(Json)
            .ok_or_else(|| ApiError::not_found("work order"))
    })
    .await
}

async fn update_work_order(
    State(state): State<AppState>,
    _: Admin,
    PathId(id): PathId,
    JsonBody(req): JsonBody<WorkOrderUpdate>,
) -> ApiResult<Json<onsite_api::WorkOrder>> {
    rules::check_update(&req).map_err(ApiError::bad_request)?;
    run(&state, move |s| {
        s.update_work_order(id, &req, Utc::now())
            .map(Json)
            .map_err(order_not_found)
    })
    .await
}

async fn reassign_work_order(
    State(state): State<AppState>,
    _: Admin,
    PathId(id): PathId,
    JsonBody(req): JsonBody<ReassignRequest>,
) -> ApiResult<Json<onsite_api::WorkOrder>> {
    run(&state, move |s| {
        s.reassign_work_order(id, &req, Utc::now())
            .map(Json)
            .map_err(order_not_found)
    })
    .await
}

async fn cancel_work_order(
    State(state): State<AppState>,
    _: Admin,
    PathId(id): PathId,
    JsonBody(req): JsonBody<CancelRequest>,
) -> ApiResult<Json<onsite_api::WorkOrder>> {
    if req.reason.trim().is_empty() || req.reason.chars().count() > rules::MAX_TEXT {
        return Err(ApiError::bad_request(
            "reason must be 1 to 10000 characters",
        ));
    }
    run(&state, move |s| {
        s.cancel_work_order(id, req.reason.trim(), Utc::now())
            .map(Json)
            .map_err(order_not_found)
    })
    .await
}

async fn list_fee_tables(
    State(state): State<AppState>,
    _: Admin,
    QueryArgs(page): QueryArgs<PageArgs>,
    uri: Uri,
) -> ApiResult<Response> {
    let all = run(&state, |s| Ok(s.list_fee_tables()?)).await?;
    page_of(all, |t| t.version.to_string(), &page, &uri)
}

async fn publish_fee_table(
    State(state): State<AppState>,
    _: Admin,
    JsonBody(req): JsonBody<FeeTablePublish>,
) -> ApiResult<(StatusCode, Json<onsite_api::FeeTable>)> {
    rules::check_fee_table(&req).map_err(ApiError::bad_request)?;
    let t = run(&state, move |s| Ok(s.publish_fee_table(&req, Utc::now())?)).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

async fn publish_parts_catalogue(
    State(state): State<AppState>,
    _: Admin,
    JsonBody(req): JsonBody<PartsCataloguePublish>,
) -> ApiResult<Json<onsite_api::PartsCatalogue>> {
    rules::check_catalogue(&req).map_err(ApiError::bad_request)?;
    run(&state, move |s| {
        Ok(Json(s.publish_parts_catalogue(&req, Utc::now())?))
    })
    .await
}

async fn issue_parts(
    State(state): State<AppState>,
    _: Admin,
    PathId(technician_id): PathId,
    JsonBody(req): JsonBody<NewPartsIssue>,
) -> ApiResult<(StatusCode, Json<onsite_api::PartsIssue>)> {
    rules::check_parts_issue(&req).map_err(ApiError::bad_request)?;
    let issue = run(&state, move |s| {
        s.issue_parts(technician_id, Uuid::now_v7(), &req, Utc::now())
            .map_err(|e| match e {
                StorageError::NotFound => ApiError::not_found("technician"),
                e => e.into(),
            })
    })
    .await?;
    tracing::info!(issue = %issue.id, lines = issue.lines.len(), "parts issued");
    Ok((StatusCode::CREATED, Json(issue)))
}

async fn list_parts_issues(
    State(state): State<AppState>,
    _: Admin,
    PathId(technician_id): PathId,
    QueryArgs(page): QueryArgs<PageArgs>,
    uri: Uri,
) -> ApiResult<Response> {
    let all = run(&state, move |s| {
        s.list_parts_issues(technician_id).map_err(|e| match e {
            StorageError::NotFound => ApiError::not_found("technician"),
            e => e.into(),
        })
    })
    .await?;
    page_of(all, |i| i.id.to_string(), &page, &uri)
}

async fn put_company(
    State(state): State<AppState>,
    _: Admin,
    JsonBody(req): JsonBody<CompanyProfile>,
) -> ApiResult<Json<CompanyProfile>> {
    rules::check_company(&req).map_err(ApiError::bad_request)?;
    let c = run(&state, move |s| Ok(s.put_company(&req, Utc::now())?)).await?;
    Ok(Json(c))
}

async fn publish_price_list(
    State(state): State<AppState>,
    _: Admin,
    JsonBody(req): JsonBody<PriceListPublish>,
) -> ApiResult<(StatusCode, Json<onsite_api::PriceList>)> {
    rules::check_price_list(&req).map_err(ApiError::bad_request)?;
    let l = run(&state, move |s| Ok(s.publish_price_list(&req, Utc::now())?)).await?;
    Ok((StatusCode::CREATED, Json(l)))
}

async fn list_review_flags(
    State(state): State<AppState>,
    _: Admin,
    QueryArgs(query): QueryArgs<ReviewQuery>,
    QueryArgs(page): QueryArgs<PageArgs>,
    uri: Uri,
) -> ApiResult<Response> {
    let resolved = query.include_resolved.unwrap_or(false);
    let all = run(&state, move |s| Ok(s.list_review_flags(resolved)?)).await?;
    page_of(all, |f| f.id.to_string(), &page, &uri)
}

async fn resolve_review_flag(
    State(state): State<AppState>,
    _: Admin,
    PathId(id): PathId,
) -> ApiResult<Json<onsite_api::ReviewFlag>> {
    run(&state, move |s| {
        s.resolve_review_flag(id, Utc::now())
            .map(Json)
            .map_err(|e| match e {
                StorageError::NotFound => ApiError::not_found("review flag"),
                e => e.into(),
            })
    })
    .await
}

async fn list_refused_ops(
    State(state): State<AppState>,
    _: Admin,
    QueryArgs(query): QueryArgs<onsite_api::RefusedQuery>,
    QueryArgs(page): QueryArgs<PageArgs>,
    uri: Uri,
) -> ApiResult<Response> {
    let all = run(&state, move |s| Ok(s.list_refused_ops(&query)?)).await?;
    page_of(all, |o| format!("{}.{}", o.device_id, o.op_id), &page, &uri)
}

async fn apply_refused_op(
    State(state): State<AppState>,
    _: Admin,
    Path((device, op)): Path<(String, String)>,
) -> ApiResult<Json<onsite_api::OpResult>> {
    let parse = |text: &str| {
        Uuid::parse_str(text).map_err(|_| ApiError::bad_request("the id in the path is not a UUID"))
    };
    let (device, op) = (parse(&device)?, parse(&op)?);
    let result = run(&state, move |s| {
        s.apply_refused_op(device, op, Utc::now())
            .map_err(|e| match e {
                StorageError::NotFound => ApiError::not_found("refused op"),
                e => e.into(),
            })
    })
    .await?;
    tracing::info!(%device, %op, applied = matches!(result.outcome, onsite_api::OpOutcome::Applied { .. }), "refused op tried again by the office");
    Ok(Json(result))
}

async fn export(
    State(state): State<AppState>,
    _: Admin,
    QueryArgs(query): QueryArgs<ExportQuery>,
    QueryArgs(page): QueryArgs<PageArgs>,
    uri: Uri,
) -> ApiResult<Response> {
    let (after, limit) = keyset(
        &page,
        paging::DEFAULT_EXPORT_LIMIT,
        paging::MAX_EXPORT_LIMIT,
    )?;
    let since = query.since;
    let jobs = run(&state, move |s| {
        Ok(s.export_completed_page(since, after, limit + 1)?)
    })
    .await?;
    let p = Page::from_probe(jobs, limit, |j| j.work_order.id.to_string());
    let body = match query.format.unwrap_or_default() {
        ExportFormat::Json => Json(p.items).into_response(),
        ExportFormat::Csv => (
            [(CONTENT_TYPE, "text/csv; charset=utf-8")],
            export::to_csv(&p.items),
        )
            .into_response(),
    };
    Ok(paging::respond(body, p.next, &uri))
}

async fn export_technician_days(
    State(state): State<AppState>,
    _: Admin,
    QueryArgs(query): QueryArgs<TechnicianDayQuery>,
    QueryArgs(page): QueryArgs<PageArgs>,
    uri: Uri,
) -> ApiResult<Response> {
    let format = query.format.unwrap_or_default();
    let limit = page
        .limit(paging::DEFAULT_LIMIT, paging::MAX_LIMIT)
        .map_err(ApiError::bad_request)?;
    let facts = run(&state, move |s| Ok(s.export_technician_days(&query)?)).await?;
    let p = paging::cut(facts, |f| f.fact_id.to_string(), page.cursor(), limit)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let body = match format {
        ExportFormat::Json => Json(p.items).into_response(),
        ExportFormat::Csv => (
            [(CONTENT_TYPE, "text/csv; charset=utf-8")],
            export::day_csv(&p.items),
        )
            .into_response(),
    };
    Ok(paging::respond(body, p.next, &uri))
}

async fn list_carry_backs(
    State(state): State<AppState>,
    _: Admin,
    QueryArgs(query): QueryArgs<CarryBackQuery>,
    QueryArgs(page): QueryArgs<PageArgs>,
    uri: Uri,
) -> ApiResult<Response> {
    let facts = run(&state, |s| Ok(s.carry_back_facts()?)).await?;
    // Overdue is judged on head office's (UTC) date, as the device judges it on its own.
    let all = crate::carryback::fold(&facts, Utc::now().date_naive(), &query);
    page_of(all, |c| c.receipt_no.clone(), &page, &uri)
}

async fn admin_get_blob(
    State(state): State<AppState>,
    _: Admin,
    PathSha(sha): PathSha,
) -> ApiResult<Response> {
    let bytes = run(&state, move |s| {
        s.get_blob(&sha)?.ok_or_else(|| ApiError::not_found("blob"))
    })
    .await?;
    Ok(([(CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

async fn rotate_epoch(State(state): State<AppState>, _: Admin) -> ApiResult<Json<EpochReply>> {
    let epoch = run(&state, |s| Ok(s.rotate_epoch()?)).await?;
    tracing::warn!(%epoch, "new server epoch: every device will refetch");
    Ok(Json(EpochReply { epoch }))
}
