//! Sync commands: the sync screen, "Sync now", enrolment and the day-end check. Thin:
//! the work is in `onsite-sync` (protocol) and `onsite-store::sync` (state and read
//! models); the schedule is in [`crate::sync_service`].

use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::view_sync::{DayEndCheck, EnrolForm, SyncHealth, SyncView};
use onsite_store::sync as store_sync;
use onsite_store::{workorders, Store, StoreError};
use onsite_sync::ClientOptions;
use tauri::State;

use crate::state::AppState;
use crate::sync_service::{self, SyncService};

type Reply<T> = Result<T, IpcError>;

fn view(store: &Store, service: &SyncService) -> Result<SyncView, StoreError> {
    view_counted(store, service).map(|(view, _)| view)
}

/// The sync screen and the day-end counts it was made from (read once).
fn view_counted(
    store: &Store,
    service: &SyncService,
) -> Result<(SyncView, store_sync::DayEnd), StoreError> {
    let conn = store.conn();
    let st = store_sync::state(conn)?;
    let day_end = store_sync::day_end(conn)?;
    let snap = service.snapshot();
    let health = match (&st, snap.health) {
        (None, _) => SyncHealth::NotEnrolled,
        // Enrolled but no run finished yet in this session: say what the store knows.
        (Some(s), None) | (Some(s), Some(SyncHealth::NotEnrolled)) => {
            if s.last_error.is_some() {
                SyncHealth::Retrying
            } else {
                SyncHealth::Ok
            }
        }
        (Some(_), Some(h)) => h,
    };
    let enrolled = st.is_some();
    let erased = onsite_store::erase::erased(conn)?;
    let view = SyncView {
        enrolled,
        technician_name: if enrolled {
            workorders::technician(conn)?.map(|(_, name)| name)
        } else {
            None
        },
        server_url: st.as_ref().map(|s| s.server_url.clone()),
        certificate: st
            .as_ref()
            .and_then(|s| s.cert_pin.as_deref())
            .map(onsite_sync::pin::display_fingerprint),
        health,
        running: snap.running,
        last_success_at: st.as_ref().and_then(|s| s.last_success_at.clone()),
        last_attempt_at: st.as_ref().and_then(|s| s.last_attempt_at.clone()),
        last_error: st.as_ref().and_then(|s| s.last_error.clone()),
        last_error_code: if enrolled { snap.last_error_code } else { None },
        next_attempt_at: if enrolled {
            snap.next_attempt.map(onsite_store::ts)
        } else {
            None
        },
        last_run: snap.last_run,
        pending: store_sync::pending_view(conn)?,
        unsent_files: day_end.unsent_blobs,
        unsent: onsite_store::unsent::view(conn)?,
        rejected: store_sync::rejected_view(conn)?,
        review: store_sync::review_flags(conn)?,
        erased_at: erased.as_ref().map(|e| onsite_store::ts(e.erased_at)),
        erased_unsent: erased.map_or(0, |e| e.unsent),
    };
    Ok((view, day_end))
}

/// The sync screen.
#[tauri::command]
pub fn sync_status(state: State<AppState>, service: State<SyncService>) -> Reply<SyncView> {
    let (view, counts) = state.with_store(|s| view_counted(s, &service))?;
    // Counts only, for a forgotten PIN to say what erasing would lose.
    state.record_unsent(
        counts.unsent_ops + counts.rejected_ops,
        counts.unsent_blobs,
        counts.enrolled,
    );
    Ok(view)
}

/// Syncs now (whatever the backoff schedule says) and returns the screen afterwards; a
/// failure is in the view (`health`, `last_error_code`), not an error of the command.
#[tauri::command]
pub async fn sync_now(
    state: State<'_, AppState>,
    service: State<'_, SyncService>,
) -> Reply<SyncView> {
    state
        .with_store(|s| store_sync::state(s.conn()))?
        .ok_or_else(|| IpcError::new(ErrorCode::SyncNotEnrolled, "this device is not enrolled"))?;
    service.run_now().await;
    state.with_store(|s| view(s, &service))
}

/// Enrols this device with head office's one-time code. On a device that was never
/// enrolled, the database holds the demo: it is set aside (kept as
/// `onsite-demo-<time>.db` beside the data file) and the device starts empty, to be
/// filled by the first sync, which starts at once. Enrolling again (say, after head office
/// revoked the device) keeps everything recorded and only replaces the credentials.
/// While demo jobs are on site or in progress, a first enrolment is refused
/// (`demo_in_progress`) unless `set_aside_confirmed` is true. An address that does not
/// answer is `enrol_unreachable` (enrolment does not retry).
#[tauri::command]
pub async fn enrol_device(
    state: State<'_, AppState>,
    service: State<'_, SyncService>,
    form: EnrolForm,
    set_aside_confirmed: bool,
) -> Reply<SyncView> {
    let url = form.server_url.trim();
    let code = form.code.trim();
    let device_name = form.device_name.trim();
    if url.is_empty() || code.is_empty() || device_name.is_empty() {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            "the head-office address, the code and the device name are all needed",
        ));
    }
    if device_name.chars().count() > 100 || code.len() > 64 {
        return Err(IpcError::new(ErrorCode::InvalidInput, "too long"));
    }
    let ca_pem = form
        .ca_pem
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    // Asked before the code is spent: a first enrolment sets the demo aside, and with it
    // any demo job the technician is in the middle of.
    if !set_aside_confirmed {
        let busy = state.with_store(|s| store_sync::demo_jobs_in_progress(s.conn()))?;
        if busy > 0 {
            return Err(IpcError::new(
                ErrorCode::DemoInProgress,
                format!(
                    "{busy} jobs are in progress on the demo data; enrolling sets the demo \
                     data aside: confirm to go on"
                ),
            ));
        }
    }
    let enrolment =
        onsite_sync::request_enrolment(url, code, device_name, ca_pem, ClientOptions::default())
            .await
            .map_err(|e| sync_service::to_ipc(&e, true))?;
    let (old, unsent) = state.with_store(|s| {
        let d = store_sync::day_end(s.conn())?;
        Ok::<_, StoreError>((
            store_sync::state(s.conn())?,
            d.unsent_ops + d.unsent_blobs + d.rejected_ops,
        ))
    })?;
    use store_sync::EnrolmentChange;
    match store_sync::enrolment_change(old.as_ref(), &enrolment, unsent) {
        EnrolmentChange::Renew => {
            state.with_store(|s| s.write(|tx| store_sync::save_enrolment(tx, &enrolment)))?;
        }
        EnrolmentChange::Refuse => {
            return Err(IpcError::new(
                ErrorCode::SyncUnsentElsewhere,
                format!(
                    "{unsent} records or files made here have not reached the head office \
                     they belong to; sync them there first"
                ),
            ));
        }
        change @ (EnrolmentChange::First | EnrolmentChange::Fresh) => {
            let prefix = if change == EnrolmentChange::First {
                "onsite-demo"
            } else {
                "onsite-previous"
            };
            let aside = state.set_aside(chrono::Local::now(), prefix, |tx| {
                store_sync::save_enrolment(tx, &enrolment)
            })?;
            tracing::info!(aside = %aside.display(), "enrolled; the earlier data was set aside");
        }
    }
    service.nudge();
    state.with_store(|s| view(s, &service))
}

/// The technician saw a file that could not be sent (and sent it another way, or accepts
/// it is lost): it no longer counts as unsent. Returns the sync screen.
#[tauri::command]
pub fn dismiss_unsent_file(
    state: State<AppState>,
    service: State<SyncService>,
    sha256: String,
    op_id: String,
) -> Reply<SyncView> {
    state.with_store(|s| {
        s.write(|tx| onsite_store::unsent::dismiss(tx, &sha256, &op_id, chrono::Utc::now()))?;
        view(s, &service)
    })
}

/// Before closing the day: what has not reached head office yet.
/// Sends a pending record without the file it references (lost or damaged here), with the
/// technician's reason; the next sync takes it (head office flags the job for review).
#[tauri::command]
pub fn send_without_file(
    state: State<AppState>,
    service: State<SyncService>,
    op_id: String,
    reason: String,
) -> Reply<SyncView> {
    state.with_store(|s| {
        s.write(|tx| store_sync::send_without_file(tx, &op_id, &reason))?;
        view(s, &service)
    })
}

#[tauri::command]
pub fn day_end_check(state: State<AppState>) -> Reply<DayEndCheck> {
    let d = state.with_store(|s| store_sync::day_end(s.conn()))?;
    Ok(DayEndCheck {
        enrolled: d.enrolled,
        unsent_ops: d.unsent_ops,
        unsent_files: d.unsent_blobs,
        rejected_ops: d.rejected_ops,
        last_success_at: d.last_success_at,
    })
}
