//! Thin adapters: take the state, call the library, map the error.

use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::view::{AppInfo, Settings, TodayView, WorkOrderDetail, WorkOrderSummary};
use onsite_domain::WorkOrderStatus;
use onsite_store::{settings, workorders, StoreError};
use tauri::State;

use crate::state::{local_day, AppState};

type Reply<T> = Result<T, IpcError>;

#[tauri::command]
pub fn app_info(app: tauri::AppHandle, state: State<AppState>) -> Reply<AppInfo> {
    state.reopen_if_needed(&app);
    let settings = state.with_store(|s| settings::current(s.conn()))?;
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        data_file: state.data_file.display().to_string(),
        system_locale: sys_locale::get_locale().unwrap_or_else(|| "en".into()),
        settings,
    })
}

#[tauri::command]
pub fn today(state: State<AppState>) -> Reply<TodayView> {
    let day = local_day();
    state.with_store(|s| {
        let (id, name) =
            workorders::technician(s.conn())?.ok_or(StoreError::NotFound("technician"))?;
        Ok(TodayView {
            technician_name: name,
            date: chrono::Local::now().date_naive(),
            items: workorders::today(s.conn(), &id, &day)?,
        })
    })
}

#[tauri::command]
pub fn search(state: State<AppState>, query: String) -> Reply<Vec<WorkOrderSummary>> {
    if query.chars().count() > 200 {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            "search text too long",
        ));
    }
    state.with_store(|s| workorders::search(s.conn(), &query, &local_day(), 100))
}

#[tauri::command]
pub fn work_order(state: State<AppState>, id: String) -> Reply<WorkOrderDetail> {
    state.with_store(|s| workorders::detail(s.conn(), &id, &local_day()))
}

#[tauri::command]
pub fn change_status(
    state: State<AppState>,
    id: String,
    to: WorkOrderStatus,
    reason: Option<String>,
) -> Reply<WorkOrderDetail> {
    let day = local_day();
    state.with_store(|s| {
        s.write(|tx| workorders::change_status(tx, &id, to, reason.as_deref(), day.now))?;
        workorders::detail(s.conn(), &id, &day)
    })
}

#[tauri::command]
pub fn save_notes(state: State<AppState>, id: String, notes: String) -> Reply<WorkOrderDetail> {
    let day = local_day();
    state.with_store(|s| {
        s.write(|tx| workorders::set_notes(tx, &id, &notes, day.now))?;
        workorders::detail(s.conn(), &id, &day)
    })
}

#[tauri::command]
pub fn set_locale(state: State<AppState>, locale: Option<String>) -> Reply<Settings> {
    if let Some(l) = &locale {
        if !settings::LOCALES.contains(&l.as_str()) {
            return Err(IpcError::new(ErrorCode::InvalidInput, "unknown language"));
        }
    }
    state.with_store(|s| {
        s.write(|tx| match &locale {
            Some(l) => settings::set(tx, settings::LOCALE, l),
            None => settings::unset(tx, settings::LOCALE),
        })?;
        settings::current(s.conn())
    })
}

/// The UI calls this once Today is on screen. With ONSITE_REPORT_READY set, the time since
/// the process started is printed, for `cargo xtask bench`.
#[tauri::command]
pub fn ui_ready(state: State<AppState>) {
    if std::env::var_os("ONSITE_REPORT_READY").is_some() {
        println!("ONSITE_READY {}", state.started.elapsed().as_millis());
    }
}
