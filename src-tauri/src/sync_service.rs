//! The background sync: one task that syncs with head office whenever it is due, on a
//! schedule (a short interval after success, exponential backoff with jitter after a
//! failure, never sooner than head office's Retry-After), and at once when the technician
//! asks ("Sync now") or has just enrolled. Only this task runs syncs, so two never
//! overlap. The screen reads its state through [`SyncService::snapshot`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::view_sync::{SyncHealth, SyncPhaseView, SyncProgressView, SyncRunView};
use onsite_store::sync as store_sync;
use onsite_sync::backoff::{random_jitter, Backoff};
use onsite_sync::plan::Failure;
use onsite_sync::{ClientError, ClientOptions, ProgressSink, SyncConfig, SyncError, SyncPhase};
use tauri::{AppHandle, Manager};
use tokio::sync::{watch, Notify};

use crate::state::{lock, AppState};

/// How long after a good sync the next one runs (pulls new assignments, pushes what was
/// recorded meanwhile). `ONSITE_SYNC_INTERVAL_SECS` overrides it.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(120);

/// What the task knows beyond the store; the screen reads a copy ([`SyncService::snapshot`]).
#[derive(Default, Clone)]
pub struct Inner {
    pub running: Option<SyncProgressView>,
    pub last_run: Option<SyncRunView>,
    failures: u32,
    /// None before the first run of this session.
    pub health: Option<SyncHealth>,
    pub last_error_code: Option<ErrorCode>,
    pub next_attempt: Option<DateTime<Utc>>,
}

pub struct SyncService {
    wake: Notify,
    /// Runs asked for ("Sync now", enrolment); a run serves every request made before
    /// it started.
    requested: AtomicU64,
    /// The highest request a finished run served.
    served: watch::Sender<u64>,
    inner: Arc<Mutex<Inner>>,
    interval: Duration,
    backoff: Backoff,
}

impl SyncService {
    pub fn new() -> SyncService {
        let interval = std::env::var("ONSITE_SYNC_INTERVAL_SECS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&s| s > 0)
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_INTERVAL);
        SyncService {
            wake: Notify::new(),
            requested: AtomicU64::new(0),
            served: watch::channel(0).0,
            // The first run is due at start-up: an enrolled device syncs as soon as the
            // app opens (an unenrolled one then waits for enrolment).
            inner: Arc::new(Mutex::new(Inner {
                next_attempt: Some(Utc::now()),
                ..Inner::default()
            })),
            interval,
            backoff: Backoff::default(),
        }
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> Inner {
        self.shared().clone()
    }

    /// Asks for a run now and waits until a run that started after this call has finished.
    pub async fn run_now(&self) {
        let mine = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut served = self.served.subscribe();
        self.wake.notify_one();
        // The task never ends while the app runs; if it did, the sender is gone and this
        // returns at once.
        let _ = served.wait_for(|&s| s >= mine).await;
    }

    /// Asks for a run soon, without waiting for it.
    pub fn nudge(&self) {
        self.requested.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }

    fn progress(&self, f: impl FnOnce(&mut SyncProgressView)) {
        if let Some(p) = self.shared().running.as_mut() {
            f(p);
        }
    }
}

/// The task: wait until due or asked, run, schedule the next run. Never returns.
pub async fn run(app: AppHandle) {
    let service = app.state::<SyncService>();
    let state = app.state::<AppState>();
    loop {
        let due = service.shared().next_attempt;
        match due {
            Some(at) => {
                let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = service.wake.notified() => {}
                }
            }
            None => service.wake.notified().await,
        }
        let serving = service.requested.load(Ordering::SeqCst);
        sync_once(&service, &state).await;
        service.served.send_replace(serving);
    }
}

async fn sync_once(service: &SyncService, state: &AppState) {
    let Ok(store) = state.store() else {
        // The data file is not open (the error screen explains why): nothing to sync.
        service.shared().next_attempt = None;
        return;
    };
    let pending = {
        let s = lock(&store);
        match store_sync::day_end(s.conn()) {
            Ok(d) if d.enrolled => d.unsent_ops,
            _ => {
                let mut i = service.shared();
                i.health = Some(SyncHealth::NotEnrolled);
                i.next_attempt = None;
                return;
            }
        }
    };
    service.shared().running = Some(SyncProgressView {
        phase: SyncPhaseView::Starting,
        pending_at_start: u32::try_from(pending).unwrap_or(u32::MAX),
        blobs_uploaded: 0,
        ops_sent: 0,
        pages_pulled: 0,
        changes_received: 0,
    });
    let inner = Arc::clone(&service.inner);
    let sink = ProgressSink(Arc::new(move |phase, r: &onsite_sync::SyncReport| {
        let mut i = inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = i.running.as_mut() {
            p.phase = match phase {
                SyncPhase::Uploading => SyncPhaseView::Uploading,
                SyncPhase::Pushing => SyncPhaseView::Pushing,
                SyncPhase::Pulling => SyncPhaseView::Pulling,
            };
            p.blobs_uploaded = count(r.blobs_uploaded);
            p.ops_sent = count(r.ops_applied + r.ops_rejected);
            p.pages_pulled = count(r.pages_pulled);
            p.changes_received = count(r.changes_applied);
        }
    }));
    let config = SyncConfig {
        blobs_dir: Some(state.blobs_dir.clone()),
        progress: Some(sink),
    };
    let result = match onsite_sync::engine::client_for(&store, ClientOptions::default()) {
        Ok(client) => {
            service.progress(|p| p.phase = SyncPhaseView::Uploading);
            onsite_sync::sync_once_with(&store, &client, &config).await
        }
        Err(e) => Err(e),
    };
    let now = Utc::now();
    let mut i = service.shared();
    i.running = None;
    match result {
        Ok(r) => {
            i.failures = 0;
            i.health = Some(SyncHealth::Ok);
            i.last_error_code = None;
            i.next_attempt = Some(now + service.interval);
            i.last_run = Some(SyncRunView {
                finished_at: onsite_store::ts(now),
                ok: true,
                blobs_uploaded: count(r.blobs_uploaded),
                ops_applied: count(r.ops_applied),
                ops_rejected: count(r.ops_rejected),
                ops_flagged: count(r.ops_flagged),
                changes_received: count(r.changes_applied),
                blocked: r
                    .blocked
                    .map(|b| format!("{} (#{}): {}", b.kind, b.device_seq, b.why)),
            });
        }
        Err(e) => {
            i.failures = i.failures.saturating_add(1);
            i.last_error_code = Some(error_code(&e, false));
            let (health, next) = match e.failure() {
                Failure::NeedsEnrolment => (SyncHealth::NeedsEnrolment, None),
                Failure::Transient { retry_after } => (
                    SyncHealth::Retrying,
                    Some(
                        service
                            .backoff
                            .delay(i.failures, retry_after, random_jitter()),
                    ),
                ),
                Failure::Permanent => (
                    SyncHealth::Failing,
                    Some(service.backoff.delay(i.failures, None, random_jitter())),
                ),
            };
            i.health = Some(health);
            i.next_attempt = next.map(|d| now + d);
            i.last_run = Some(SyncRunView {
                finished_at: onsite_store::ts(now),
                ok: false,
                blobs_uploaded: 0,
                ops_applied: 0,
                ops_rejected: 0,
                ops_flagged: 0,
                changes_received: 0,
                blocked: None,
            });
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The code the UI translates for a sync failure. `enrolling`: a 401 means the code was
/// refused, not that the device was revoked.
pub fn error_code(e: &SyncError, enrolling: bool) -> ErrorCode {
    match e {
        SyncError::NotEnrolled => ErrorCode::SyncNotEnrolled,
        SyncError::Store(_) => ErrorCode::DbIo,
        SyncError::Protocol(_) => ErrorCode::SyncServerError,
        SyncError::Client(c) => match c {
            ClientError::BadUrl => ErrorCode::SyncBadAddress,
            ClientError::BadCa => ErrorCode::SyncBadCertificate,
            ClientError::Setup(_) => ErrorCode::Internal,
            ClientError::Timeout => ErrorCode::SyncOffline,
            ClientError::Connect(text) | ClientError::Transport(text) => {
                if text.to_ascii_lowercase().contains("certificate") {
                    ErrorCode::SyncBadCertificate
                } else {
                    ErrorCode::SyncOffline
                }
            }
            ClientError::Status { status, .. } => match status {
                401 if enrolling => ErrorCode::SyncCodeRefused,
                401 => ErrorCode::SyncDeviceRevoked,
                502..=504 => ErrorCode::SyncOffline,
                _ => ErrorCode::SyncServerError,
            },
            ClientError::TooLarge { .. } | ClientError::Malformed(_) => ErrorCode::SyncServerError,
        },
    }
}

/// A sync failure for a command's reply (English text for support; no customer data).
pub fn to_ipc(e: &SyncError, enrolling: bool) -> IpcError {
    IpcError::new(error_code(e, enrolling), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_run_is_due_at_start_up() {
        let service = SyncService::new();
        let due = service
            .snapshot()
            .next_attempt
            .expect("a first run is scheduled");
        assert!(due <= Utc::now());
    }

    #[test]
    fn failures_map_to_codes_the_ui_translates() {
        let status = |status| {
            SyncError::Client(ClientError::Status {
                status,
                code: "x".into(),
                message: "m".into(),
                retry_after: None,
            })
        };
        let cases = [
            (status(401), true, ErrorCode::SyncCodeRefused),
            (status(401), false, ErrorCode::SyncDeviceRevoked),
            (status(503), false, ErrorCode::SyncOffline),
            (status(400), false, ErrorCode::SyncServerError),
            (
                SyncError::Client(ClientError::BadUrl),
                true,
                ErrorCode::SyncBadAddress,
            ),
            (
                SyncError::Client(ClientError::BadCa),
                true,
                ErrorCode::SyncBadCertificate,
            ),
            (
                SyncError::Client(ClientError::Timeout),
                false,
                ErrorCode::SyncOffline,
            ),
            (
                SyncError::Client(ClientError::Connect(
                    "invalid peer certificate: UnknownIssuer".into(),
                )),
                true,
                ErrorCode::SyncBadCertificate,
            ),
            (
                SyncError::Client(ClientError::Connect(
                    "Connection refused (os error 111)".into(),
                )),
                false,
                ErrorCode::SyncOffline,
            ),
            (SyncError::NotEnrolled, false, ErrorCode::SyncNotEnrolled),
            (
                SyncError::Protocol("x".into()),
                false,
                ErrorCode::SyncServerError,
            ),
        ];
        for (e, enrolling, want) in cases {
            assert_eq!(error_code(&e, enrolling), want, "{e:?}");
        }
    }
}
