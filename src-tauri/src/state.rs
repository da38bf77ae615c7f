//! Start-up: find the data file, open the store (or keep the reason it could not be
//! opened, for the UI to explain), hand a second instance over to the first, open the
//! window.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{Duration, Local, NaiveTime, TimeZone, Utc};
use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_store::visit::VisitError;
use onsite_store::workorders::Day;
use onsite_store::{demo, Store, StoreError};
use tauri::{Manager, WebviewUrl, WebviewWindowBuilder};

use crate::{carryback_commands, commands, day_commands, instance, visit_commands};

pub const DATA_FILE: &str = "onsite.db";
const DEMO: &str = include_str!("../../assets/demo/demo.json");

/// What every command works on: the open store, or why there is none.
pub struct AppState {
    store: Mutex<Result<Store, IpcError>>,
    pub data_file: PathBuf,
    /// Signatures, photos and documents, each under its SHA-256.
    pub blobs_dir: PathBuf,
    pub started: Instant,
}

impl AppState {
    /// When the data file could not be opened (say, another program held it), tries again;
    /// the UI's "Try again" comes here.
    pub fn reopen_if_needed(&self, app: &tauri::AppHandle) {
        let Ok(mut guard) = self.store.lock() else {
            return;
        };
        if guard.is_err() {
            if let Ok(store) = open_store(&self.data_file) {
                if let Some(dir) = self.data_file.parent() {
                    instance::listen(dir, app.clone());
                }
                *guard = Ok(store);
            }
        }
    }

    pub fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, IpcError> {
        let mut guard = self
            .store
            .lock()
            .map_err(|_| IpcError::new(ErrorCode::Internal, "store lock poisoned"))?;
        let store = guard.as_mut().map_err(|e| e.clone())?;
        f(store).map_err(|e| self.store_error(e))
    }

    /// Like [`AppState::with_store`] for the visit's steps, which refuse with a `VisitError`.
    pub fn with_visit<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, VisitError>,
    ) -> Result<T, IpcError> {
        let mut guard = self
            .store
            .lock()
            .map_err(|_| IpcError::new(ErrorCode::Internal, "store lock poisoned"))?;
        let store = guard.as_mut().map_err(|e| e.clone())?;
        f(store).map_err(|e| match e {
            VisitError::Store(e) => self.store_error(e),
            other => other.to_ipc(),
        })
    }

    fn store_error(&self, e: StoreError) -> IpcError {
        let e = match e {
            StoreError::Sqlite(inner) => onsite_store::db::classify(inner, &self.data_file),
            other => other,
        };
        e.to_ipc()
    }
}

/// The technician's day in the device's time zone.
pub fn local_day() -> Day {
    let now = Local::now();
    let midnight = Local
        .from_local_datetime(&now.date_naive().and_time(NaiveTime::MIN))
        .earliest()
        .unwrap_or(now);
    let start = midnight.with_timezone(&Utc);
    Day {
        now: now.with_timezone(&Utc),
        start,
        end: start + Duration::days(1),
    }
}

/// Opens the data file; a file that did not exist is created with the demo day.
fn open_store(path: &std::path::Path) -> Result<Store, StoreError> {
    let fresh = !path.exists();
    let mut store = Store::open(path)?;
    if fresh {
        let data = demo::DemoData::from_json(DEMO)?;
        let now = Local::now();
        store.write(|tx| {
            demo::seed(
                tx,
                &data,
                now.date_naive(),
                *now.offset(),
                now.with_timezone(&Utc),
            )
        })?;
    }
    Ok(store)
}

fn data_dir(app: &tauri::App) -> PathBuf {
    // ONSITE_DATA_DIR lets an IT admin (or a test) put the data elsewhere.
    match std::env::var_os("ONSITE_DATA_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => app
            .path()
            .app_data_dir()
            .unwrap_or_else(|_| PathBuf::from(".")),
    }
}

pub fn run() {
    let started = Instant::now();
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            let dir = data_dir(app);
            let data_file = dir.join(DATA_FILE);
            let store = match open_store(&data_file) {
                Ok(store) => {
                    instance::listen(&dir, app.handle().clone());
                    Ok(store)
                }
                Err(StoreError::Locked { .. }) if instance::hand_over(&dir) => {
                    eprintln!("Onsite is already running on this data file; focused its window.");
                    std::process::exit(0);
                }
                Err(e) => {
                    eprintln!("onsite: {e}");
                    Err(e.to_ipc())
                }
            };
            app.manage(AppState {
                store: Mutex::new(store),
                blobs_dir: dir.join("blobs"),
                data_file,
                started,
            });
            WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
                .title("Onsite")
                .inner_size(1100.0, 760.0)
                .min_inner_size(360.0, 480.0)
                .build()?;
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::today,
            commands::search,
            commands::work_order,
            commands::change_status,
            commands::save_notes,
            commands::set_locale,
            commands::sign_work_order,
            commands::create_sign_off,
            commands::open_document,
            commands::create_quote_document,
            commands::create_payment_receipt,
            commands::create_day_end,
            commands::save_document_as,
            carryback_commands::take_carry_back,
            carryback_commands::advance_carry_back,
            carryback_commands::return_carry_back,
            commands::ui_ready,
            visit_commands::visit,
            visit_commands::visit_catalog,
            visit_commands::van_stock_search,
            visit_commands::add_photo,
            visit_commands::record_diagnosis,
            visit_commands::issue_quote,
            visit_commands::decide_quote,
            visit_commands::take_part,
            visit_commands::return_unused,
            visit_commands::return_old_part,
            visit_commands::take_payment,
            visit_commands::invoice_later,
            visit_commands::record_feedback,
            day_commands::expenses,
            day_commands::record_expense,
            day_commands::set_expense_rates,
            day_commands::van_stock,
            day_commands::stock_take,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Onsite");
}
