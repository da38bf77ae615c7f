//! Limits that keep one head-office instance answering under load and abuse (issue 12):
//! a time limit per request, a cap on requests in flight, and per-address limits on
//! failed enrolments (wrong codes) and failed authentication (wrong tokens): an address
//! past its allowance is refused for a minute, right code or token or not. Successes are
//! not counted: an office enrolling fifty laptops behind one address is not slowed. All are per instance (several instances behind
//! a load balancer each keep their own: an attacker spread over them gets each one's
//! allowance, which is still a small multiple).
//!
//! Over a limit the reply is a JSON error with `Retry-After`: 503 `busy` or `timeout` when
//! the instance is loaded, 429 `rate_limited` for an address that tried too often.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use crate::http::ApiError;

/// The limits of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The most a request may take, reading its body included (a client that stalls is
    /// cut off).
    pub request_timeout: Duration,
    /// The same for blob uploads (photos over a slow link).
    pub blob_timeout: Duration,
    /// Requests handled at once; one more is refused with 503 `busy`.
    pub max_in_flight: usize,
    /// Failed enrolments (unknown, used or expired codes) per client address per minute;
    /// past it, the address is refused for a minute.
    pub failed_enrol_per_minute: u32,
    /// Failed authentications (a wrong or revoked token) per client address per minute;
    /// past it, the address is refused for a minute, right token or not.
    pub failed_auth_per_minute: u32,
    /// Bytes of new blobs one device may store in any 24 hours (429 `blob_quota_exceeded`
    /// past it; a blob head office already has costs nothing). At least one largest blob.
    pub blob_bytes_per_day: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(30),
            blob_timeout: Duration::from_secs(120),
            max_in_flight: 512,
            failed_enrol_per_minute: 10,
            failed_auth_per_minute: 30,
            blob_bytes_per_day: 2048 * 1024 * 1024,
        }
    }
}

/// How long an address that failed too often is refused.
const BLOCK: Duration = Duration::from_secs(60);

/// An address table larger than this is swept of entries whose block has ended.
const SWEEP_AT: usize = 10_000;

/// Failures counted per address (a keyed GCRA limiter), and the addresses refused until
/// when.
struct Strikes {
    what: &'static str,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl Strikes {
    fn new(what: &'static str, per_minute: u32) -> Strikes {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Strikes {
            what,
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Refused while `ip` is blocked.
    fn allowed(&self, ip: IpAddr) -> Result<(), ApiError> {
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match blocked.get(&ip) {
            Some(until) if *until > now => {
                Err(ApiError::rate_limited(until.saturating_duration_since(now)))
            }
            _ => Ok(()),
        }
    }

    /// One more failure from `ip`; past the allowance it is blocked for [`BLOCK`].
    fn failed(&self, ip: IpAddr) {
        if self.limiter.check_key(&ip).is_ok() {
            return;
        }
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        if blocked.len() >= SWEEP_AT {
            blocked.retain(|_, until| *until > now);
            self.limiter.retain_recent();
        }
        blocked.insert(ip, now + BLOCK);
        tracing::warn!(%ip, what = self.what, "too many failures: address refused for a minute");
    }
}

/// The running limits of one instance.
pub struct Guard {
    limits: Limits,
    in_flight: Arc<Semaphore>,
    enrol: Strikes,
    auth: Strikes,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("limits", &self.limits)
            .finish()
    }
}

impl Guard {
    pub fn new(limits: Limits) -> Guard {
        Guard {
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            enrol: Strikes::new("enrolment", limits.failed_enrol_per_minute),
            auth: Strikes::new("authentication", limits.failed_auth_per_minute),
            limits,
        }
    }

    /// Bytes of new blobs one device may store in any 24 hours.
    pub fn blob_bytes_per_day(&self) -> u64 {
        self.limits.blob_bytes_per_day
    }

    /// Before an enrolment from `ip`: refused while the address is blocked.
    pub fn enrol_allowed(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.enrol.allowed(ip)
    }

    /// An enrolment code from `ip` was refused.
    pub fn enrol_failed(&self, ip: IpAddr) {
        self.enrol.failed(ip)
    }

    /// Before checking a token from `ip`: refused while the address is blocked.
    pub fn auth_allowed(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.auth.allowed(ip)
    }

    /// A token from `ip` was wrong.
    pub fn auth_failed(&self, ip: IpAddr) {
        self.auth.failed(ip)
    }
}

/// The client's address, as the server saw the connection; the unspecified address when
/// the router is driven without a connection (tests).
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |c| c.0.ip())
}

/// The middleware: a place among the requests in flight, then the request within its
/// time limit.
pub async fn limit(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let Ok(_permit) = guard.in_flight.clone().try_acquire_owned() else {
        return ApiError::busy("too many requests in flight; retry shortly").into_response();
    };
    let blob_upload = req.method() == Method::PUT && req.uri().path().starts_with("/v1/blobs/");
    let within = if blob_upload {
        guard.limits.blob_timeout
    } else {
        guard.limits.request_timeout
    };
    match tokio::time::timeout(within, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::info!(secs = within.as_secs(), "request timed out");
            ApiError::timeout(within).into_response()
        }
    }
}

/// 429 and 503 replies carry `Retry-After` in whole seconds, at least one.
pub(crate) fn retry_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}
