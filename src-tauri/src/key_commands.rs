//! The unlock screens' commands (issue 11); the logic is in `keys.rs`. Each runs on a
//! blocking thread: the credential store answers over D-Bus (and may wait for its own
//! unlock prompt), and Argon2id over a PIN takes a moment.

use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::view_keys::{DataSetAside, ForgottenPin, KeyState};
use tauri::{AppHandle, Manager};

use crate::state::AppState;

async fn blocking<T: Send + 'static>(
    app: AppHandle,
    f: impl FnOnce(&AppState) -> T + Send + 'static,
) -> Result<T, IpcError> {
    tauri::async_runtime::spawn_blocking(move || f(&app.state::<AppState>()))
        .await
        .map_err(|_| IpcError::new(ErrorCode::Internal, "the key task stopped"))
}

/// The system's language, for the screens shown before the data (and its language
/// setting) is open: the webview's own may differ (it falls back to English where the
/// system's locale is not installed).
#[tauri::command]
pub fn system_locale() -> String {
    sys_locale::get_locale().unwrap_or_else(|| "en".into())
}

#[tauri::command]
pub async fn key_state(app: AppHandle) -> Result<KeyState, IpcError> {
    blocking(app, |s| s.key_state()).await
}

#[tauri::command]
pub async fn set_pin(app: AppHandle, pin: String) -> Result<KeyState, IpcError> {
    blocking(app, move |s| s.set_pin(&pin)).await?
}

#[tauri::command]
pub async fn unlock(app: AppHandle, pin: String) -> Result<KeyState, IpcError> {
    blocking(app, move |s| s.unlock(&pin)).await?
}

#[tauri::command]
pub async fn forgotten_pin(app: AppHandle) -> Result<ForgottenPin, IpcError> {
    blocking(app, |s| s.forgotten_pin()).await
}

#[tauri::command]
pub async fn erase_forgotten(app: AppHandle, confirm: String) -> Result<KeyState, IpcError> {
    blocking(app, move |s| s.erase_forgotten(&confirm)).await?
}

#[tauri::command]
pub async fn set_data_aside(app: AppHandle) -> Result<DataSetAside, IpcError> {
    blocking(app, |s| s.set_data_aside()).await?
}
