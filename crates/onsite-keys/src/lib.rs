//! The key that opens the technician's data (issue 11).
//!
//! The device's database (SQLCipher) and blob files (AEAD) are sealed under one random
//! 256-bit data key. This crate decides where that key comes from and keeps it safe:
//!
//! 1. **The operating system's credential store** first ([`SystemCredentialStore`]: the
//!    Secret Service on Linux, Credential Manager on Windows, the Keychain on macOS, all
//!    through the `keyring` crate). Nothing to type at start.
//! 2. **A PIN or passphrase** where no credential store answers: the key is sealed with a
//!    key derived from the PIN by Argon2id and XChaCha20-Poly1305, and kept in the key file.
//!
//! Either way `<data dir>/onsite.key` records which method holds the key and a check value
//! that tells a damaged or foreign key from the right one. [`Vault`] is the whole API the
//! app needs; [`session`] starts a private D-Bus session with a real gnome-keyring for tests.
//!
//! No key or PIN ever appears in an error's or a value's `Display`/`Debug`. Key material is
//! held in [`zeroize::Zeroizing`] buffers, wiped when dropped.
//!
//! Only Linux is tested; the Windows and macOS backends are compiled through `keyring`'s
//! native features but have not been run (see docs/keys.md).

mod error;
mod file;
mod seal;
#[cfg(target_os = "linux")]
pub mod session;
mod store;
mod vault;
mod wait;

pub use error::KeyError;
pub use seal::KdfParams;
pub use store::{
    CredentialStore, MemoryCredentialStore, SystemCredentialStore, Unavailable, SERVICE,
};
pub use vault::{Opening, Vault, KEY_FILE_NAME};
pub use wait::wait_after;

pub use onsite_domain::view_keys::{
    ForgottenPin, KeyMethod, KeyProblem, ERASE_CONFIRM_WORD, PIN_MAX_CHARS, PIN_MIN_CHARS,
};

/// The data key: 32 random bytes, wiped from memory when dropped.
pub type Key = zeroize::Zeroizing<[u8; 32]>;
