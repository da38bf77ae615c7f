//! The wire types of Onsite: what the desktop app's sync client and the head-office server
//! (`onsite-hq`) send each other, and what a dispatcher's tool sends to head office.
//!
//! Serde types only: no I/O, no HTTP library, no runtime. Every JSON body of every endpoint
//! is one of the types below; the endpoints themselves are listed in [`routes`] and
//! described by the server's OpenAPI document (`GET /openapi.json`), which head office
//! generates from these types: with the `openapi` feature (off for the device) each of
//! them derives `utoipa::ToSchema` (docs/openapi.md).
//!
//! Conventions:
//! - ids are UUIDs (v7 when born on a device or at head office), as strings on the wire;
//! - times are RFC 3339 UTC (`chrono::DateTime<Utc>`); dates are `YYYY-MM-DD`;
//! - money is [`onsite_domain::Money`]: integer minor units plus a currency;
//! - every error body is an [`ErrorBody`] with a stable [`ErrorBody::code`] (see [`codes`])
//!   and a human message that never contains customer data.

pub mod admin;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod sync;

pub use admin::*;
pub use sync::*;

use serde::{Deserialize, Serialize};

/// The paths of the API, so that the client and the server cannot disagree on spelling.
/// `{param}` marks a path parameter.
pub mod routes {
    /// `GET`: liveness, no authentication; replies `{"status":"ok"}`.
    pub const HEALTH: &str = "/v1/health";
    /// Readiness: the instance's storage answers (for a load balancer; 503 when not).
    pub const READY: &str = "/v1/ready";
    /// `GET`: the OpenAPI 3 document of this API, no authentication.
    pub const OPENAPI: &str = "/openapi.json";
    /// `POST` [`crate::EnrollRequest`] → [`crate::EnrollReply`], no authentication.
    pub const ENROLL: &str = "/v1/enroll";
    /// `POST` [`crate::PushRequest`] → [`crate::PushReply`]; device token.
    pub const SYNC_PUSH: &str = "/v1/sync/push";
    /// `GET ?cursor=&limit=` → [`crate::PullReply`]; device token.
    pub const SYNC_PULL: &str = "/v1/sync/pull";
    /// `GET` → [`crate::Hello`]: what head office speaks (protocol 2 on; a 404 means a
    /// protocol-1 head office, [`crate::Hello::protocol1`]); device token.
    pub const SYNC_HELLO: &str = "/v1/sync/hello";
    /// `POST` [`crate::ErasedReport`] → [`crate::Device`]: a device marked lost says it
    /// erased its customer data; head office records it and revokes the device's token.
    /// 409 `conflict` from a device not marked lost; device token.
    pub const SYNC_ERASED: &str = "/v1/sync/erased";
    /// `POST` [`crate::BlobCheck`] → [`crate::BlobCheckReply`]: which of many blobs head
    /// office lacks, in one request (feature [`crate::features::BLOBS_MISSING`]); device
    /// token.
    pub const SYNC_BLOBS_MISSING: &str = "/v1/sync/blobs/missing";
    /// `HEAD` (200 if stored, 404 if not) and `PUT` (raw bytes) → [`crate::BlobPutReply`];
    /// device or admin token.
    pub const BLOB: &str = "/v1/blobs/{sha256}";

    /// `GET` → `Vec<`[`crate::Technician`]`>`, `POST` [`crate::NewTechnician`] → [`crate::Technician`].
    pub const ADMIN_TECHNICIANS: &str = "/v1/admin/technicians";
    /// `POST` [`crate::NewEnrolmentCode`] → [`crate::EnrolmentCode`].
    pub const ADMIN_ENROLMENT_CODES: &str = "/v1/admin/technicians/{id}/enrolment-codes";
    /// `GET` → `Vec<`[`crate::Device`]`>`.
    pub const ADMIN_DEVICES: &str = "/v1/admin/devices";
    /// `POST` (no body) → [`crate::Device`]; the device's token stops working at once.
    pub const ADMIN_DEVICE_REVOKE: &str = "/v1/admin/devices/{id}/revoke";
    /// `POST` (no body) → [`crate::Device`]: marks the device lost (idempotent). Its next
    /// hello says [`crate::Hello::erase`]: it sends what it holds unsent, erases its
    /// customer data and files, reports ([`SYNC_ERASED`]) and is revoked.
    pub const ADMIN_DEVICE_LOST: &str = "/v1/admin/devices/{id}/lost";
    /// `GET ?status=&technician_id=` → `Vec<`[`crate::WorkOrder`]`>`,
    /// `POST` [`crate::NewWorkOrder`] → [`crate::WorkOrder`].
    pub const ADMIN_WORK_ORDERS: &str = "/v1/admin/work-orders";
    /// `GET` → [`crate::WorkOrderDetail`], `PATCH` [`crate::WorkOrderUpdate`] → [`crate::WorkOrder`].
    pub const ADMIN_WORK_ORDER: &str = "/v1/admin/work-orders/{id}";
    /// `POST` [`crate::ReassignRequest`] → [`crate::WorkOrder`].
    pub const ADMIN_WORK_ORDER_REASSIGN: &str = "/v1/admin/work-orders/{id}/reassign";
    /// `POST` [`crate::CancelRequest`] → [`crate::WorkOrder`].
    pub const ADMIN_WORK_ORDER_CANCEL: &str = "/v1/admin/work-orders/{id}/cancel";
    /// `GET` → `Vec<`[`crate::FeeTable`]`>`, `POST` [`crate::FeeTablePublish`] → [`crate::FeeTable`].
    pub const ADMIN_FEE_TABLES: &str = "/v1/admin/fee-tables";
    /// `POST` [`crate::NewPartsIssue`] → [`crate::PartsIssue`] (201); `GET` → the
    /// technician's issues, oldest first.
    pub const ADMIN_PARTS_ISSUES: &str = "/v1/admin/technicians/{id}/parts-issues";
    /// `PUT` [`crate::CompanyProfile`] → the profile as stored.
    pub const ADMIN_COMPANY: &str = "/v1/admin/company";
    /// `PUT` [`crate::PartsCataloguePublish`] → [`crate::PartsCatalogue`].
    pub const ADMIN_PARTS_CATALOGUE: &str = "/v1/admin/parts-catalogue";
    /// `POST` [`crate::PriceListPublish`] → [`crate::PriceList`].
    pub const ADMIN_PRICE_LISTS: &str = "/v1/admin/price-lists";
    /// `GET ?include_resolved=` → `Vec<`[`crate::ReviewFlag`]`>`.
    pub const ADMIN_REVIEW: &str = "/v1/admin/review";
    /// `POST` (no body) → [`crate::ReviewFlag`]: marks a flag as dealt with.
    pub const ADMIN_REVIEW_RESOLVE: &str = "/v1/admin/review/{id}/resolve";
    /// `GET ?format=json|csv&since=` → `Vec<`[`crate::ExportJob`]`>` or CSV of [`crate::ExportRow`].
    pub const ADMIN_EXPORT: &str = "/v1/admin/export";
    /// `GET ?format=json|csv&from=&to=&technician_id=` → `Vec<`[`crate::TechnicianDayFact`]`>`
    /// or CSV of [`crate::TechnicianDayRow`]: stock-takes, expenses and unused returns,
    /// which belong to a technician's day, not to a work order.
    pub const ADMIN_EXPORT_TECHNICIAN_DAYS: &str = "/v1/admin/export/technician-days";
    /// `GET ?include_returned=&technician_id=` → `Vec<`[`crate::CarryBack`]`>`: appliances
    /// taken to the workshop, with their state and whether they are overdue.
    pub const ADMIN_CARRY_BACKS: &str = "/v1/admin/carry-backs";
    /// `GET ?include_resolved=&technician_id=` → `Vec<`[`crate::RefusedOp`]`>`: every op
    /// head office refused, kept whole with its reason, oldest first.
    pub const ADMIN_REFUSED_OPS: &str = "/v1/admin/refused-ops";
    /// `POST` (no body) → [`crate::OpResult`]: try a refused op again now that its cause
    /// is fixed (the job restored or given back, head office upgraded); the device hears of
    /// it when it next sends the op.
    pub const ADMIN_REFUSED_OP_APPLY: &str = "/v1/admin/refused-ops/{device_id}/{op_id}/apply";
    /// `GET` → [`crate::RestoreHorizon`]; `PUT` [`crate::RestoreHorizonRequest`] →
    /// [`crate::RestoreHorizon`]: the operator declares the oldest backup head office could
    /// still be restored from; what is older than it may be forgotten (issue 9).
    pub const ADMIN_RESTORE_HORIZON: &str = "/v1/admin/restore-horizon";
    /// `GET` → the blob's bytes (`application/octet-stream`).
    pub const ADMIN_BLOB: &str = "/v1/admin/blobs/{sha256}";
    /// `POST` (no body) → [`crate::EpochReply`]: start a new server epoch, for use after the
    /// database was restored from a backup; every device then refetches from scratch.
    pub const ADMIN_EPOCH_ROTATE: &str = "/v1/admin/epoch/rotate";
    /// `GET` → [`crate::RetentionSetting`]; `PUT` [`crate::RetentionSetting`] → the same:
    /// how many days devices keep closed jobs ([`crate::retention`], issue 11).
    pub const ADMIN_SETTINGS_RETENTION: &str = "/v1/admin/settings/retention";
}

/// Size limits the server enforces; a client should respect them before sending.
pub mod limits {
    /// Largest JSON request body, in bytes (413 beyond it). A compressed body
    /// (`Content-Encoding`, [`crate::Hello::request_encodings`]) is held to it once
    /// decompressed.
    pub const MAX_JSON_BODY_BYTES: usize = 4 * 1024 * 1024;
    /// Most ops in one push (400 beyond it).
    pub const MAX_OPS_PER_PUSH: usize = 500;
    /// Most blobs named in one [`crate::BlobCheck`] (400 beyond it).
    pub const MAX_BLOBS_PER_CHECK: usize = 1000;
    /// Largest blob (signature, photo, PDF), in bytes (413 beyond it).
    pub const MAX_BLOB_BYTES: usize = 16 * 1024 * 1024;
    /// Changes per pull page when the client does not ask for a number.
    pub const DEFAULT_PULL_LIMIT: u32 = 500;
    /// Most changes per pull page a client may ask for. A page may still exceed the limit
    /// when one server commit alone is larger: pages never split a commit.
    pub const MAX_PULL_LIMIT: u32 = 5000;
}

/// The stable error codes of [`ErrorBody::code`].
pub mod codes {
    /// The request is well-formed JSON but its content is not acceptable.
    pub const BAD_REQUEST: &str = "bad_request";
    /// The body is not valid JSON, or not of the expected shape.
    pub const MALFORMED: &str = "malformed";
    /// The body is larger than the endpoint accepts.
    pub const TOO_LARGE: &str = "payload_too_large";
    /// The body must be `application/json`.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    /// No token, or a token the server does not know.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// The device was revoked by head office: enrol again with a new code.
    pub const DEVICE_REVOKED: &str = "device_revoked";
    /// 403: head office marked this device lost; it may send what it holds but is sent
    /// nothing (no pull).
    pub const DEVICE_LOST: &str = "device_lost";
    /// Authenticated, but not allowed to do this (e.g. a device token on an admin endpoint,
    /// or another technician's work order).
    pub const FORBIDDEN: &str = "forbidden";
    /// No such resource (or not visible to the caller).
    pub const NOT_FOUND: &str = "not_found";
    /// No such route or method.
    pub const NO_ROUTE: &str = "no_route";
    /// The enrolment code is unknown, used or expired.
    pub const INVALID_CODE: &str = "invalid_code";
    /// The resource changed meanwhile (e.g. `expected_version` did not match).
    pub const CONFLICT: &str = "conflict";
    /// A blob's bytes do not hash to the SHA-256 in its path.
    pub const HASH_MISMATCH: &str = "hash_mismatch";
    /// A transient failure: retry after the `Retry-After` header's seconds.
    pub const UNAVAILABLE: &str = "unavailable";
    /// 503: this instance has as many requests in flight as it takes; retry after
    /// `Retry-After` seconds.
    pub const BUSY: &str = "busy";
    /// 503: the request took longer than the server allows (a stalled upload); retry.
    pub const TIMEOUT: &str = "timeout";
    /// 429: this address tried too often (enrolment codes, or wrong tokens); retry after
    /// `Retry-After` seconds.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// 429: this device has uploaded as many bytes of new blobs in the last 24 hours as
    /// head office takes from one device; retry after `Retry-After` seconds (the file stays
    /// on the device, nothing is lost).
    pub const BLOB_QUOTA: &str = "blob_quota_exceeded";
    /// A bug on the server; details are in its log (never customer data).
    pub const INTERNAL: &str = "internal";
}

/// The body of every 4xx/5xx reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// One of [`codes`]; stable, for programs.
    pub code: String,
    /// For people; never contains customer data.
    pub message: String,
}

/// `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always `"ok"` when the server answers.
    pub status: String,
}

/// Lowercase hex SHA-256 check: exactly 64 characters `0-9a-f`.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_check() {
        let good = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(is_sha256_hex(good));
        assert!(!is_sha256_hex(&good.to_uppercase()));
        assert!(!is_sha256_hex(&good[1..]));
        assert!(!is_sha256_hex("../../etc/passwd"));
    }
}
