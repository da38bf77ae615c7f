//! What can go wrong. No variant carries a PIN, a key or any part of either.

use std::time::Duration;

use onsite_domain::view_keys::{KeyProblem, PIN_MAX_CHARS, PIN_MIN_CHARS};

/// An error from [`crate::Vault`]. Its `Display` and `Debug` never contain a PIN or a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The PIN or passphrase has fewer than [`PIN_MIN_CHARS`] characters.
    #[error("the PIN must have at least {PIN_MIN_CHARS} characters")]
    PinTooShort,
    /// The PIN or passphrase has more than [`PIN_MAX_CHARS`] characters.
    #[error("the PIN must have at most {PIN_MAX_CHARS} characters")]
    PinTooLong,
    /// The PIN was wrong. `tries` wrong tries so far (kept across restarts); the next try
    /// is allowed after `wait` (zero for the first three).
    #[error("wrong PIN ({tries} wrong tries); next try in {} s", wait.as_secs())]
    Wrong { tries: u32, wait: Duration },
    /// Too many wrong tries: the next is allowed after `wait`. The PIN was not tried.
    #[error("too many wrong PINs; next try in {} s", wait.as_secs())]
    Wait { wait: Duration },
    /// The call does not fit the key's state: `set_pin` when `open` did not say `SetPin`
    /// (or a key file exists), `unlock` when the key is not sealed with a PIN,
    /// `record_unsent` with no key file.
    #[error("not expected now: {0}")]
    NotExpected(&'static str),
    /// The key cannot be had (the same problems `open` reports).
    #[error("key problem: {0:?}")]
    Problem(KeyProblem),
    /// The key file could not be written or removed.
    #[error("key file: {0}")]
    Io(#[from] std::io::Error),
    /// The operating system's random generator failed.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    /// The key derivation or sealing failed (bad parameters; never a wrong PIN).
    #[error("key sealing failed: {0}")]
    Crypto(String),
}
