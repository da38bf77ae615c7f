//! Start-up: find the data file, open the store (or keep the reason it could not be
//! opened, for the UI to explain), hand a second instance over to the first, open the
//! window.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use chrono::{Duration, Local, NaiveTime, TimeZone, Utc};
use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::view_keys::KeyMethod;
use onsite_store::visit::VisitError;
use onsite_store::workorders::Day;
use onsite_store::{demo, Blobs, DataKey, Store, StoreError};
use tauri::{Manager, WebviewUrl, WebviewWindowBuilder};

use crate::sync_service::SyncService;
use crate::viewing::{self, ViewFolder};
use crate::{
    carryback_commands, commands, day_commands, instance, key_commands, sync_commands,
    sync_service, visit_commands,
};

pub const DATA_FILE: &str = "onsite.db";
const DEMO: &str = include_str!("../../assets/demo/demo.json");

/// What every command works on: the open store, or why there is none.
///
/// The store is shared (an `Arc`) with the background sync, which locks it only for short
/// local steps; the outer lock guards the slot itself (re-opened after "Try again", or
/// replaced when a demo database is set aside at enrolment).
pub struct AppState {
    store: Mutex<Result<Arc<Mutex<Store>>, IpcError>>,
    pub data_file: PathBuf,
    /// Where the data key is kept (issue 11, `keys.rs`).
    pub vault: onsite_keys::Vault,
    /// The data key once had, and where it came from.
    pub key: Mutex<Option<(DataKey, KeyMethod)>>,
    /// Signatures, photos and documents, sealed, each found by its SHA-256 (once the key
    /// is had).
    pub blobs: Mutex<Option<Blobs>>,
    /// The unsent counts last written to the key file.
    pub last_unsent: Mutex<Option<(u32, u32, bool)>>,
    /// The running app, for the single-instance listener once the store opens.
    pub app: std::sync::OnceLock<tauri::AppHandle>,
    /// This run's private folder for documents opened for viewing (`None` when it could
    /// not be made: opening a document then says so).
    pub view: Option<ViewFolder>,
    pub started: Instant,
}

/// Locks the store; a panic elsewhere cannot leave a half-written transaction (rusqlite
/// rolls back on drop), so a poisoned lock still guards a consistent store.
pub fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    /// When the data file could not be opened (say, another program held it), tries again
    /// with the key already had; the UI's "Try again" comes here.
    pub fn reopen_if_needed(&self) {
        let had = self.key.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let (Some((key, _)), Err(_)) = (had, self.store()) {
            if let Err(e) = self.open_store_with(&key) {
                tracing::warn!(error = %e, "the data file still does not open");
            }
        }
    }

    /// Opens the store with `key` (creating it with the demo day on a first start, sealing
    /// a plain one of an earlier version), and the sealed blobs with it: the plain blobs
    /// of an earlier version sealed, the paper of older documents read.
    pub fn open_store_with(&self, key: &DataKey) -> Result<(), StoreError> {
        let mut slot = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_ok() {
            return Ok(());
        }
        let mut store = match open_store(&self.data_file, key) {
            Ok(store) => store,
            Err(e) => {
                *slot = Err(e.to_ipc());
                return Err(e);
            }
        };
        let dir = self.data_dir();
        let blobs = Blobs::new(dir.join("blobs"), key);
        match blobs.seal_plain_leftovers() {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "plain files of an earlier version sealed"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot seal the plain files of an earlier version")
            }
        }
        // Documents made before their paper was kept: read it from their files.
        if let Err(e) = store.write(|tx| onsite_store::documents::fill_paper(tx, &blobs)) {
            tracing::warn!(error = %e, "could not read the paper of older documents");
        }
        *self.blobs.lock().unwrap_or_else(|p| p.into_inner()) = Some(blobs);
        if let Some(app) = self.app.get() {
            instance::listen(&dir, app.clone());
        }
        *slot = Ok(Arc::new(Mutex::new(store)));
        Ok(())
    }

    /// The data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.data_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// A state over `data_file` with nothing opened yet: the store slot says `locked`
    /// until [`AppState::key_state`] finds the key.
    pub fn new(
        data_file: PathBuf,
        vault: onsite_keys::Vault,
        view: Option<ViewFolder>,
        started: Instant,
    ) -> AppState {
        // Made private before anything (the key file) is written in it.
        if let Some(dir) = data_file.parent() {
            if let Err(e) = onsite_store::private_files::create_dir(dir) {
                tracing::warn!(error = %e, "cannot make the data folder");
            }
        }
        AppState {
            store: Mutex::new(Err(crate::keys::locked())),
            data_file,
            vault,
            key: Mutex::new(None),
            blobs: Mutex::new(None),
            last_unsent: Mutex::new(None),
            app: std::sync::OnceLock::new(),
            view,
            started,
        }
    }

    /// A state over the data file in `dir` (created with the demo day), as the app opens
    /// it, for tests.
    #[cfg(test)]
    pub fn open_for_test(dir: &std::path::Path) -> AppState {
        AppState::open_for_test_with(dir, onsite_keys::MemoryCredentialStore::new())
    }

    /// The same with a credential store the test keeps (a restart uses the same).
    #[cfg(test)]
    pub fn open_for_test_with(
        dir: &std::path::Path,
        creds: onsite_keys::MemoryCredentialStore,
    ) -> AppState {
        let vault = onsite_keys::Vault::new(dir, Box::new(creds));
        let state = AppState::new(
            dir.join(DATA_FILE),
            vault,
            ViewFolder::create(dir).ok(),
            Instant::now(),
        );
        assert!(matches!(
            state.key_state(),
            onsite_domain::view_keys::KeyState::Open { .. }
        ));
        state
    }

    /// The open store, shared.
    pub fn store(&self) -> Result<Arc<Mutex<Store>>, IpcError> {
        let guard = self
            .store
            .lock()
            .map_err(|_| IpcError::new(ErrorCode::Internal, "store lock poisoned"))?;
        guard.as_ref().map(Arc::clone).map_err(|e| e.clone())
    }

    pub fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, IpcError> {
        let store = self.store()?;
        let mut guard = lock(&store);
        f(&mut guard).map_err(|e| self.store_error(e))
    }

    /// Like [`AppState::with_store`] for the visit's steps, which refuse with a `VisitError`.
    pub fn with_visit<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, VisitError>,
    ) -> Result<T, IpcError> {
        let store = self.store()?;
        let mut guard = lock(&store);
        f(&mut guard).map_err(|e| match e {
            VisitError::Store(e) => self.store_error(e),
            other => other.to_ipc(),
        })
    }

    /// Sets the data file aside as `<prefix>-<time>.db` beside it (never deleted) and opens
    /// an empty one in its place, prepared by `prepare` (the language setting is kept).
    pub fn set_aside(
        &self,
        now: chrono::DateTime<Local>,
        prefix: &str,
        prepare: impl FnOnce(&rusqlite::Transaction) -> Result<(), StoreError>,
    ) -> Result<PathBuf, IpcError> {
        let mut slot = self
            .store
            .lock()
            .map_err(|_| IpcError::new(ErrorCode::Internal, "store lock poisoned"))?;
        let shared = slot.as_ref().map_err(|e| e.clone())?.clone();
        let locale =
            onsite_store::settings::get(lock(&shared).conn(), onsite_store::settings::LOCALE)
                .map_err(|e| self.store_error(e))?;
        drop(shared);
        // Nobody else may hold the store while its file is renamed: the slot is locked, so
        // no new command can take it; one still running (or a sync) keeps its clone, and
        // then the slot keeps the store and the user tries again.
        let busy = || {
            IpcError::new(
                ErrorCode::Internal,
                "the data file is busy; try again in a moment",
            )
        };
        let taken = std::mem::replace(&mut *slot, Err(busy()));
        let store = match taken.map(Arc::try_unwrap) {
            Ok(Ok(store)) => store,
            Ok(Err(still_shared)) => {
                *slot = Ok(still_shared);
                return Err(busy());
            }
            Err(e) => {
                *slot = Err(e.clone());
                return Err(e);
            }
        };
        drop(store.into_inner().unwrap_or_else(|p| p.into_inner()));
        let aside = self
            .data_file
            .with_file_name(format!("{prefix}-{}.db", now.format("%Y%m%d-%H%M%S")));
        let key = self
            .key
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .map(|(k, _)| k)
            .ok_or_else(crate::keys::locked)?;
        let reopen_old = |slot: &mut Result<Arc<Mutex<Store>>, IpcError>| {
            *slot = Store::open(&self.data_file, &key)
                .map(|s| Arc::new(Mutex::new(s)))
                .map_err(|e| e.to_ipc());
        };
        if let Err(e) = move_db(&self.data_file, &aside) {
            reopen_old(&mut slot);
            return Err(IpcError::new(
                ErrorCode::DbIo,
                format!("cannot set the earlier data aside: {e}"),
            ));
        }
        let fresh = Store::open(&self.data_file, &key).and_then(|mut s| {
            s.write(|tx| {
                if let Some(locale) = &locale {
                    onsite_store::settings::set(tx, onsite_store::settings::LOCALE, locale)?;
                }
                prepare(tx)
            })?;
            Ok(s)
        });
        match fresh {
            Ok(store) => {
                *slot = Ok(Arc::new(Mutex::new(store)));
                Ok(aside)
            }
            Err(e) => {
                let _ = remove_db(&self.data_file);
                let restored = move_db(&aside, &self.data_file);
                reopen_old(&mut slot);
                if let Err(r) = restored {
                    tracing::error!(error = %r, "could not put the demo data back");
                }
                Err(self.store_error(e))
            }
        }
    }

    fn store_error(&self, e: StoreError) -> IpcError {
        let e = match e {
            StoreError::Sqlite(inner) => onsite_store::db::classify(inner, &self.data_file),
            other => other,
        };
        e.to_ipc()
    }
}

/// The database file and its WAL companions, when present.
fn db_files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = path.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

fn move_db(from: &Path, to: &Path) -> std::io::Result<()> {
    for (a, b) in db_files(from).iter().zip(db_files(to).iter()) {
        if a.exists() {
            std::fs::rename(a, b)?;
        }
    }
    Ok(())
}

fn remove_db(path: &Path) -> std::io::Result<()> {
    for f in db_files(path) {
        if f.exists() {
            std::fs::remove_file(f)?;
        }
    }
    Ok(())
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

/// The demo data set aside beside the data file (`onsite-demo-*.db` and its WAL files).
fn demo_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with("onsite-demo-")
                && (name.ends_with(".db") || name.ends_with(".db-wal") || name.ends_with(".db-shm"))
        })
        .map(|entry| entry.path())
        .collect()
}

/// Moves the sealed data into `to` (a key problem, the technician confirmed): the data
/// file and its WAL, the demo data beside it, the blobs folder (with any copies for
/// viewing). Renames only, in the same file system: nothing is copied or deleted. Returns
/// how many files and folders moved.
pub fn move_data_aside(dir: &Path, data_file: &Path, to: &Path) -> std::io::Result<u32> {
    let mut n = 0;
    let mut moves: Vec<(PathBuf, PathBuf)> = Vec::new();
    let name = data_file.file_name().unwrap_or_default();
    for (a, b) in db_files(data_file)
        .iter()
        .zip(db_files(&to.join(name)).iter())
    {
        moves.push((a.clone(), b.clone()));
    }
    for demo in demo_files(dir) {
        if let Some(name) = demo.file_name() {
            moves.push((demo.clone(), to.join(name)));
        }
    }
    moves.push((dir.join("blobs"), to.join("blobs")));
    for (a, b) in moves {
        match std::fs::rename(&a, &b) {
            Ok(()) => n += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Erases the sealed data after a forgotten PIN (the technician confirmed): the data file
/// and its WAL, the demo data set aside beside it, every blob file and copy for viewing.
/// Other files in the folder (the key file, the log) stay. Returns how many files went.
pub fn erase_sealed_data(dir: &Path, data_file: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    for f in db_files(data_file) {
        match std::fs::remove_file(&f) {
            Ok(()) => n += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    for demo in demo_files(dir) {
        std::fs::remove_file(demo)?;
        n += 1;
    }
    n += onsite_store::erase::remove_all_blob_files(&dir.join("blobs"));
    Ok(n)
}

/// Opens the data file; a file that did not exist is created with the demo day.
fn open_store(path: &std::path::Path, key: &DataKey) -> Result<Store, StoreError> {
    let fresh = !path.exists();
    let mut store = Store::open(path, key)?;
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

/// Before the store opens: the data folder 0700 and everything in it 0600, also when an
/// older version made it (Unix; on Windows the profile's ACLs keep it private, see
/// `onsite_store::private_files`), and the copies older versions left beside the blobs
/// for viewing removed.
fn prepare_data_dir(dir: &Path) {
    viewing::remove_old_view_copies(&dir.join("blobs"));
    if let Err(e) = onsite_store::private_files::tighten(dir) {
        tracing::warn!(error = %e, "cannot make the data folder private");
    }
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

/// SIGTERM (logout, shutdown, `kill`): leave through the normal exit, so that this run's
/// folder for viewing is removed; if that has not happened within 5 s, stop anyway.
#[cfg(unix)]
fn exit_on_sigterm(app: tauri::AppHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    tauri::async_runtime::spawn(async move {
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return;
        };
        term.recv().await;
        tracing::info!("SIGTERM: exiting");
        app.exit(0);
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        std::process::exit(0);
    });
}

/// Logs each command's name (at debug level; never its arguments, which carry customer
/// data) before `handler` runs it.
fn logged<R: tauri::Runtime>(
    handler: impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static,
) -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    move |invoke| {
        tracing::debug!(command = invoke.message.command(), "command");
        handler(invoke)
    }
}

pub fn run() {
    let started = Instant::now();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "starting");
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            let dir = data_dir(app);
            prepare_data_dir(&dir);
            let data_file = dir.join(DATA_FILE);
            let vault = onsite_keys::Vault::new(
                &dir,
                Box::new(onsite_keys::SystemCredentialStore::for_data_dir(&dir)),
            );
            let base = viewing::base_dir();
            let view = match ViewFolder::create(&base) {
                Ok(view) => {
                    let removed = viewing::remove_leftovers(&base, &view);
                    tracing::debug!(removed, "folders for viewing left by earlier runs removed");
                    Some(view)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot make a private folder for viewing");
                    None
                }
            };
            let state = AppState::new(data_file, vault, view, started);
            let _ = state.app.set(app.handle().clone());
            // The key: from the credential store the store opens now; a PIN waits for the
            // unlock screen (the UI asks key_state first).
            match state.key_state() {
                onsite_domain::view_keys::KeyState::Open { method } => {
                    tracing::info!(?method, "data opened");
                    if let Err(e) = state.store() {
                        if e.code == ErrorCode::DbLocked && instance::hand_over(&dir) {
                            tracing::info!(
                                "Onsite is already running on this data file; focused its window"
                            );
                            std::process::exit(0);
                        }
                    }
                }
                other => tracing::info!(state = ?other, "data not open yet"),
            }
            app.manage(state);
            let window =
                WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
                    .title("Onsite")
                    .inner_size(1100.0, 760.0)
                    .min_inner_size(360.0, 480.0)
                    .build()?;
            crate::camera::allow_camera(&window);
            #[cfg(unix)]
            exit_on_sigterm(app.handle().clone());
            app.manage(SyncService::new());
            tauri::async_runtime::spawn(sync_service::run(app.handle().clone()));
            Ok(())
        })
        .invoke_handler(logged(tauri::generate_handler![
            commands::app_info,
            key_commands::system_locale,
            key_commands::key_state,
            key_commands::set_pin,
            key_commands::unlock,
            key_commands::forgotten_pin,
            key_commands::erase_forgotten,
            key_commands::set_data_aside,
            commands::today,
            commands::search,
            commands::work_order,
            commands::change_status,
            commands::save_notes,
            commands::add_addendum,
            commands::save_draft,
            commands::drafts,
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
            sync_commands::sync_status,
            sync_commands::sync_now,
            sync_commands::enrol_device,
            sync_commands::day_end_check,
            sync_commands::dismiss_unsent_file,
            sync_commands::send_without_file,
        ]))
        .build(tauri::generate_context!())
        .expect("error while building Onsite")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                // The copies opened for viewing go with the app (a run that did not get
                // here leaves them to the next start).
                let state = app.try_state::<AppState>();
                let view = state.as_ref().and_then(|s| s.view.as_ref());
                if let Some(Err(e)) = view.map(ViewFolder::remove) {
                    tracing::warn!(error = %e, "cannot remove the folder for viewing");
                }
            }
        });
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_older_data_folder_is_made_private_at_start_and_new_files_stay_so() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        // As an older version left it: world-readable, with copies for viewing.
        let creds = onsite_keys::MemoryCredentialStore::new();
        {
            let state = AppState::open_for_test_with(&dir, creds.clone());
            onsite_store::documents::put_blob(&state.blobs().unwrap(), b"%PDF-1.7").unwrap();
        }
        std::fs::create_dir_all(dir.join("blobs").join("view")).unwrap();
        std::fs::write(dir.join("blobs").join("view").join("x.pdf"), b"%PDF").unwrap();
        std::fs::write(dir.join("onsite-demo-20261201-080000.db"), b"").unwrap();
        for entry in [dir.clone(), dir.join("blobs")] {
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for f in [
            "onsite.db",
            "onsite.db-wal",
            "onsite-demo-20261201-080000.db",
        ] {
            let p = dir.join(f);
            if p.exists() {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
        }
        assert!(!onsite_store::private_files::too_open(&dir).is_empty());

        prepare_data_dir(&dir);
        assert_eq!(onsite_store::private_files::too_open(&dir), vec![]);
        assert!(!dir.join("blobs").join("view").exists());

        // And what the app writes afterwards is private from the start.
        let state = AppState::open_for_test_with(&dir, creds);
        onsite_store::documents::put_blob(&state.blobs().unwrap(), b"%PDF-1.7 more").unwrap();
        state
            .with_store(|s| s.write(|tx| onsite_store::settings::set(tx, "probe", "x")))
            .unwrap();
        assert_eq!(onsite_store::private_files::too_open(&dir), vec![]);
    }

    #[test]
    fn a_new_data_folder_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("new").join("data");
        let state = AppState::open_for_test(&dir);
        onsite_store::documents::put_blob(&state.blobs().unwrap(), b"%PDF-1.7").unwrap();
        assert_eq!(onsite_store::private_files::too_open(&dir), vec![]);
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}
