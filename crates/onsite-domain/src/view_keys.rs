//! The key that opens the technician's data (issue 11), as the UI sees it: whether the
//! data is open, and if not, what the technician must do (set a PIN at first start where
//! no credential store answers, enter it at each start, or read why the key cannot be
//! had). No key, PIN or part of either ever crosses here.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where this device's key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum KeyMethod {
    /// The operating system's credential store (Secret Service, Credential Manager,
    /// Keychain): nothing to type at start.
    CredentialStore,
    /// Sealed with the technician's PIN or passphrase, entered at each start.
    Pin,
}

/// Why the key cannot be had; each names what to do, and none deletes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum KeyProblem {
    /// The key is kept in the credential store, which does not answer now (the keyring is
    /// locked, or the desktop session has none): unlock it or log in again, then try again.
    CredentialStoreUnavailable,
    /// The credential store answers but holds no key for this data (removed from it):
    /// restore it, or re-enrol the device.
    KeyMissing,
    /// The kept key is damaged (wrong length, unreadable, or not the key this data was
    /// sealed with).
    KeyDamaged,
    /// The data file does not open with this device's key: it was copied from another
    /// device, or is damaged. It is left as it is.
    DataFromAnotherDevice,
}

/// The key's state at start and after each step of the unlock screens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KeyState {
    /// The data is open.
    Open { method: KeyMethod },
    /// First start, no credential store answered: the technician sets a PIN or passphrase.
    SetPin,
    /// The data is sealed with a PIN: enter it. After wrong tries, the next try is allowed
    /// only after `wait_seconds` (growing with each wrong try, kept across restarts).
    EnterPin { wrong_tries: u32, wait_seconds: u32 },
    /// The key cannot be had; see [`KeyProblem`].
    Problem { problem: KeyProblem },
}

/// What a forgotten PIN costs: what this device holds that head office has not received
/// (as of the last time the data was open), said before anything is erased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ForgottenPin {
    /// Changes (ops) recorded here and not yet acknowledged by head office.
    pub unsent_changes: u32,
    /// Signatures, photos and documents not yet uploaded.
    pub unsent_files: u32,
    /// When these counts were taken (RFC 3339 UTC), `None` if never.
    pub counted_at: Option<String>,
    /// Whether the device was enrolled with head office (otherwise it held the demo).
    pub enrolled: bool,
}

impl KeyProblem {
    /// Whether the technician may set the data aside and start again: when the key is
    /// missing or damaged, or the data does not open with it. Not when the credential
    /// store merely does not answer: unlocking it opens the data again.
    pub fn may_set_aside(self) -> bool {
        !matches!(self, KeyProblem::CredentialStoreUnavailable)
    }
}

/// The data set aside after a key problem (moved, not deleted) and the state after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DataSetAside {
    /// The folder the data (database, files and key file) was moved to.
    pub folder: String,
    /// How many files and folders were moved.
    pub moved: u32,
    /// The key's state now (a fresh start).
    pub next: KeyState,
}

/// Where data set aside goes, inside the data folder: `set-aside/<UTC time>/`.
pub const SET_ASIDE_DIR: &str = "set-aside";

/// The least a PIN or passphrase may be: six characters (digits or anything else).
pub const PIN_MIN_CHARS: usize = 6;
/// The most: a passphrase, not a novel.
pub const PIN_MAX_CHARS: usize = 128;

/// The word the technician types to confirm erasing the data after a forgotten PIN.
pub const ERASE_CONFIRM_WORD: &str = "ERASE";
