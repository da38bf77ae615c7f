//! onsite-sync: the client side of Onsite's sync with head office (`onsite-hq`).
//!
//! - [`plan`]: pure decisions, tested by tables: which ops go in the next push and which
//!   blobs must be uploaded first, what a push or pull reply means (reject, duplicate,
//!   epoch change, reset), and how a pulled work order merges with local state;
//! - [`map`]: the store's outbox kinds → `onsite-api` ops (unknown kinds block the queue
//!   loudly, they are never dropped);
//! - [`backoff`]: the retry schedule (exponential, jitter, Retry-After) as a pure function;
//! - [`client`]: HTTPS to head office (reqwest + rustls with ring; system roots plus an
//!   optional head-office CA), with timeouts and reply size limits;
//! - [`engine`]: [`engine::enroll`] and [`engine::sync_once`] over the local store;
//! - [`unsent`]: photos that could not be sent, recorded for the sync screen and day end.

pub mod backoff;
pub mod client;
pub mod engine;
pub mod map;
pub mod pin;
pub mod plan;
pub mod unsent;

pub use client::{ClientError, ClientOptions, HqClient};
pub use engine::{
    enroll, request_enrolment, sync_once, sync_once_with, ProgressSink, SyncConfig, SyncError,
    SyncPhase, SyncReport,
};

/// Lowercase hex SHA-256 of `bytes` (blob ids): onsite-domain's, the one definition.
pub use onsite_domain::signoff::sha256_hex;
