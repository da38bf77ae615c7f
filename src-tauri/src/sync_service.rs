//! The background sync: one task that syncs with head office whenever it is due, on a
//! schedule (a short interval after success, exponential backoff with jitter after a
//! failure, never sooner than head office's Retry-After), and at once when the technician
//! asks ("Sync now") or has just enrolled. Only this task runs syncs, so two never
//! overlap. The screen reads its state through [`SyncService::snapshot`].
//!
//! Waits use the monotonic clock ([`tokio::time::Instant`], `sleep_until`), never
//! differences of wall-clock times: the device's clock may be moved by hours (by hand, by
//! a time-zone change, by network time after days offline) and the schedule must not
//! stall or rush because of it. The wall clock is only for display (the next attempt's
//! time on the sync screen, the last run's time).

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
use tokio::time::Instant;

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
    /// When the next run is due, on the wall clock: for display only.
    pub next_attempt: Option<DateTime<Utc>>,
    /// When the next run is due, on the monotonic clock: what the task waits for.
    next_due: Option<Instant>,
}

/// The two clocks the schedule reads: monotonic for waiting, wall for display. Injected so
/// that a test can move the wall clock.
pub trait Clock {
    fn monotonic(&self) -> Instant;
    fn wall(&self) -> DateTime<Utc>;
}

/// The system's clocks.
pub struct SystemClock;

impl Clock for SystemClock {
    fn monotonic(&self) -> Instant {
        Instant::now()
    }
    fn wall(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

impl Inner {
    /// Schedules the next run `delay` from now (`None`: not until asked).
    pub fn schedule(&mut self, delay: Option<Duration>, clock: &dyn Clock) {
        self.next_due = delay.map(|d| clock.monotonic() + d);
        self.next_attempt = delay.and_then(|d| {
            clock
                .wall()
                .checked_add_signed(chrono::Duration::from_std(d).ok()?)
        });
    }
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
            inner: Arc::new(Mutex::new({
                let mut inner = Inner::default();
                inner.schedule(Some(Duration::ZERO), &SystemClock);
                inner
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
        // Retention: once a day (at start, and on a later wake when the app stays open).
        if let (Ok(store), Ok(blobs)) = (state.store(), state.blobs()) {
            crate::retention::log(crate::retention::run_if_due(&store, &blobs, Utc::now()));
        }
        let due = service.shared().next_due;
        match due {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
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
        service.shared().schedule(None, &SystemClock);
        return;
    };
    let pending = {
        let s = lock(&store);
        match store_sync::day_end(s.conn()) {
            Ok(d) if d.enrolled => d.unsent_ops,
            _ => {
                let mut i = service.shared();
                i.health = Some(SyncHealth::NotEnrolled);
                i.schedule(None, &SystemClock);
                return;
            }
        }
    };
    tracing::debug!(pending, "sync starting");
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
        blobs: state.blobs().ok(),
        progress: Some(sink),
        ..Default::default()
    };
    let result = match onsite_sync::engine::client_for(&store, ClientOptions::default()) {
        Ok(client) => {
            service.progress(|p| p.phase = SyncPhaseView::Uploading);
            onsite_sync::sync_once_with(&store, &client, &config).await
        }
        Err(e) => Err(e),
    };
    let now = Utc::now();
    let synced = result.is_ok();
    let mut i = service.shared();
    i.running = None;
    match result {
        Ok(r) => {
            tracing::info!(
                blobs_uploaded = r.blobs_uploaded,
                ops_applied = r.ops_applied,
                ops_rejected = r.ops_rejected,
                ops_flagged = r.ops_flagged,
                pages_pulled = r.pages_pulled,
                changes_received = r.changes_applied,
                blocked = r.blocked.is_some(),
                "sync finished"
            );
            if let Some(e) = &r.erased {
                // Counts only: what went was customer data.
                tracing::warn!(
                    work_orders = e.work_orders,
                    customers = e.customers,
                    records = e.records,
                    unsent = e.unsent,
                    files = e.files,
                    "head office marked this device lost: customer data erased"
                );
                // Copies of documents opened for viewing are customer data too.
                if let Some(view) = &state.view {
                    view.empty();
                }
            }
            i.failures = 0;
            i.last_error_code = None;
            if r.erased.is_some() {
                // Head office revoked this device on hearing of the erase: no more runs.
                i.health = Some(SyncHealth::NeedsEnrolment);
                i.schedule(None, &SystemClock);
            } else {
                i.health = Some(SyncHealth::Ok);
                i.schedule(Some(service.interval), &SystemClock);
            }
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
            let code = error_code(&e, false);
            // The code only: an error's text may quote what head office sent back.
            tracing::warn!(?code, failures = i.failures, "sync failed");
            i.last_error_code = Some(code);
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
            i.schedule(next, &SystemClock);
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
    drop(i);
    // Retention after each good sync: what was just acknowledged may now leave.
    if let (true, Ok(blobs)) = (synced, state.blobs()) {
        crate::retention::log(crate::retention::run(&store, &blobs, now).map(Some));
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
            // Enrolment does not retry: an address that does not answer is to be checked.
            ClientError::Timeout if enrolling => ErrorCode::EnrolUnreachable,
            ClientError::Timeout => ErrorCode::SyncOffline,
            ClientError::Connect(text) | ClientError::Transport(text) => {
                if text.to_ascii_lowercase().contains("certificate") {
                    ErrorCode::SyncBadCertificate
                } else if enrolling {
                    ErrorCode::EnrolUnreachable
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
    match error_code(e, enrolling) {
        ErrorCode::EnrolUnreachable => IpcError::new(
            ErrorCode::EnrolUnreachable,
            format!("the head-office address did not answer; check the address ({e})"),
        ),
        code => IpcError::new(code, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_run_is_due_at_start_up() {
        let service = SyncService::new();
        let snap = service.snapshot();
        let due = snap.next_attempt.expect("a first run is scheduled");
        assert!(due <= Utc::now());
        assert_eq!(snap.wait(&SystemClock), Some(Duration::ZERO));
    }

    impl Inner {
        /// How long until the next run is due (zero when it is), by the monotonic clock,
        /// as the task's `sleep_until(next_due)` waits; `None` when no run is scheduled.
        fn wait(&self, clock: &dyn Clock) -> Option<Duration> {
            self.next_due
                .map(|due| due.saturating_duration_since(clock.monotonic()))
        }
    }

    /// A clock whose wall time can be moved independently of its monotonic time, as when
    /// the technician (or network time) sets the device's clock.
    struct FakeClock {
        monotonic: std::cell::Cell<Instant>,
        wall: std::cell::Cell<DateTime<Utc>>,
    }

    impl Clock for FakeClock {
        fn monotonic(&self) -> Instant {
            self.monotonic.get()
        }
        fn wall(&self) -> DateTime<Utc> {
            self.wall.get()
        }
    }

    impl FakeClock {
        /// Real time passes: both clocks advance.
        fn pass(&self, d: Duration) {
            self.monotonic.set(self.monotonic.get() + d);
            self.wall
                .set(self.wall.get() + chrono::Duration::from_std(d).unwrap());
        }
        /// The wall clock is set: only it moves.
        fn set_wall(&self, by_hours: i64) {
            self.wall
                .set(self.wall.get() + chrono::Duration::hours(by_hours));
        }
    }

    #[test]
    fn the_next_run_is_due_on_time_whatever_the_wall_clock_does() {
        for moved_by_hours in [-5, -1, 0, 1, 5, 24 * 3] {
            let clock = FakeClock {
                monotonic: std::cell::Cell::new(Instant::now()),
                wall: std::cell::Cell::new("2026-05-01T10:00:00Z".parse().unwrap()),
            };
            let mut inner = Inner::default();
            assert_eq!(inner.wait(&clock), None, "nothing scheduled yet");
            inner.schedule(Some(Duration::from_secs(120)), &clock);
            // Shown on the screen by the wall clock at scheduling time.
            assert_eq!(
                inner.next_attempt,
                Some("2026-05-01T10:02:00Z".parse().unwrap())
            );
            clock.pass(Duration::from_secs(30));
            clock.set_wall(moved_by_hours);
            // Not due early because the wall clock jumped forward, nor late because it
            // jumped back: 90 s left, then due.
            assert_eq!(
                inner.wait(&clock),
                Some(Duration::from_secs(90)),
                "{moved_by_hours} h"
            );
            clock.pass(Duration::from_secs(89));
            assert_eq!(inner.wait(&clock), Some(Duration::from_secs(1)));
            clock.pass(Duration::from_secs(1));
            assert_eq!(
                inner.wait(&clock),
                Some(Duration::ZERO),
                "{moved_by_hours} h"
            );
            clock.pass(Duration::from_secs(3600));
            assert_eq!(inner.wait(&clock), Some(Duration::ZERO));
            inner.schedule(None, &clock);
            assert_eq!((inner.wait(&clock), inner.next_attempt), (None, None));
        }
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
            // Enrolment does not retry: an address that does not answer is to be checked.
            (
                SyncError::Client(ClientError::Connect(
                    "Connection refused (os error 111)".into(),
                )),
                true,
                ErrorCode::EnrolUnreachable,
            ),
            (
                SyncError::Client(ClientError::Connect(
                    "dns error: failed to lookup address information".into(),
                )),
                true,
                ErrorCode::EnrolUnreachable,
            ),
            (
                SyncError::Client(ClientError::Timeout),
                true,
                ErrorCode::EnrolUnreachable,
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
