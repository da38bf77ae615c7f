//! The unlock screens' commands (issue 11); the logic is in `keys.rs`. They run off the
//! main thread (`async`): the credential store answers over D-Bus, and Argon2id over a
//! PIN takes a moment.

use onsite_domain::ipc::IpcError;
use onsite_domain::view_keys::{ForgottenPin, KeyState};
use tauri::State;

use crate::state::AppState;

#[tauri::command(async)]
pub fn key_state(state: State<AppState>) -> KeyState {
    state.key_state()
}

#[tauri::command(async)]
pub fn set_pin(state: State<AppState>, pin: String) -> Result<KeyState, IpcError> {
    state.set_pin(&pin)
}

#[tauri::command(async)]
pub fn unlock(state: State<AppState>, pin: String) -> Result<KeyState, IpcError> {
    state.unlock(&pin)
}

#[tauri::command(async)]
pub fn forgotten_pin(state: State<AppState>) -> ForgottenPin {
    state.forgotten_pin()
}

#[tauri::command(async)]
pub fn erase_forgotten(state: State<AppState>, confirm: String) -> Result<KeyState, IpcError> {
    state.erase_forgotten(&confirm)
}
