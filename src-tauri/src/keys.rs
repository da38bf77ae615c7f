//! The data key at start and behind the unlock screens (issue 11, docs/keys.md).
//!
//! At start the vault says where the key is: in the credential store (the store opens at
//! once), sealed with a PIN (the unlock screen asks for it), nowhere yet on a computer
//! without a credential store (the technician sets a PIN), or a problem the screen names.
//! Until the key is had the store slot holds `locked`, and every other command says so.

use chrono::Utc;
use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::view_keys::{
    DataSetAside, ForgottenPin, KeyMethod, KeyProblem, KeyState, ERASE_CONFIRM_WORD, SET_ASIDE_DIR,
};
use onsite_keys::{KeyError, Opening};
use onsite_store::{Blobs, DataKey, StoreError};

use crate::state::AppState;

/// Whether the data file holds sealed data (see [`onsite_store::db::holds_sealed_data`]).
pub fn sealed_data_exists(data_file: &std::path::Path) -> bool {
    onsite_store::db::holds_sealed_data(data_file)
}

/// A key error as the unlock screen receives it; never the PIN.
pub fn key_error(e: KeyError) -> IpcError {
    let code = match &e {
        KeyError::PinTooShort | KeyError::PinTooLong => ErrorCode::PinTooShort,
        KeyError::Wrong { .. } => ErrorCode::PinWrong,
        KeyError::Wait { .. } => ErrorCode::PinWait,
        KeyError::Problem(_) => ErrorCode::KeyUnavailable,
        KeyError::NotExpected(_) => ErrorCode::InvalidInput,
        KeyError::Io(_) | KeyError::Random(_) | KeyError::Crypto(_) => ErrorCode::Internal,
    };
    IpcError::new(code, e.to_string())
}

impl AppState {
    /// The key's state now. When the data is not open yet, asks the vault again (the
    /// keyring may have been unlocked since: "Try again" comes here) and opens the store
    /// if the key is now to be had.
    pub fn key_state(&self) -> KeyState {
        let had = self.key.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some((key, method)) = had {
            if self.store().is_ok() {
                return KeyState::Open { method };
            }
            // The key is had but the store did not open (held by another program, say).
            return self.open_with(key, method);
        }
        let opening = self
            .vault
            .open(sealed_data_exists(&self.data_file), Utc::now());
        match opening {
            Ok(Opening::Ready { key, method, .. }) => {
                self.open_with(DataKey::from_bytes(key), method)
            }
            Ok(Opening::SetPin) => KeyState::SetPin,
            Ok(Opening::EnterPin { wrong_tries, wait }) => KeyState::EnterPin {
                wrong_tries,
                wait_seconds: wait.as_secs().min(u32::MAX as u64) as u32,
            },
            Ok(Opening::Problem(problem)) => KeyState::Problem { problem },
            Err(e) => {
                tracing::error!(error = %e, "cannot keep the data key");
                KeyState::Problem {
                    problem: KeyProblem::KeyDamaged,
                }
            }
        }
    }

    /// First start without a credential store: the technician's PIN seals a new key.
    pub fn set_pin(&self, pin: &str) -> Result<KeyState, IpcError> {
        // The vault allows it only right after it said SetPin.
        if !matches!(self.key_state(), KeyState::SetPin) {
            return Err(IpcError::new(
                ErrorCode::InvalidInput,
                "a PIN can only be set at first start",
            ));
        }
        let key = self.vault.set_pin(pin, Utc::now()).map_err(key_error)?;
        Ok(self.open_with(DataKey::from_bytes(key), KeyMethod::Pin))
    }

    /// The PIN entered at start.
    pub fn unlock(&self, pin: &str) -> Result<KeyState, IpcError> {
        if let state @ KeyState::Open { .. } = self.key_state() {
            return Ok(state);
        }
        let key = self.vault.unlock(pin, Utc::now()).map_err(|e| {
            if let KeyError::Wrong { tries, .. } = &e {
                tracing::info!(tries, "wrong PIN");
            }
            key_error(e)
        })?;
        Ok(self.open_with(DataKey::from_bytes(key), KeyMethod::Pin))
    }

    /// What a forgotten PIN would cost, as counted while the data was last open.
    pub fn forgotten_pin(&self) -> ForgottenPin {
        self.vault.forgotten()
    }

    /// After a forgotten PIN, and only with the confirmation word: erases the sealed data
    /// (database, blobs, the demo set aside) and forgets the key, so the app starts afresh
    /// and the technician enrols the device again.
    pub fn erase_forgotten(&self, confirm: &str) -> Result<KeyState, IpcError> {
        if confirm.trim() != ERASE_CONFIRM_WORD {
            return Err(IpcError::new(
                ErrorCode::InvalidInput,
                "type the confirmation word to erase",
            ));
        }
        if self.store().is_ok() {
            return Err(IpcError::new(
                ErrorCode::InvalidInput,
                "the data is open: nothing to erase",
            ));
        }
        let dir = self.data_dir();
        let files = crate::state::erase_sealed_data(&dir, &self.data_file)
            .map_err(|e| IpcError::new(ErrorCode::DbIo, format!("cannot erase: {e}")))?;
        self.vault.forget().map_err(key_error)?;
        tracing::warn!(files, "data erased after a forgotten PIN");
        Ok(self.key_state())
    }

    /// On a key problem that allows it ([`KeyProblem::may_set_aside`]) and after the
    /// technician confirmed on screen: moves the data (database, files, the demo) and its
    /// key to `set-aside/<UTC time>/` in the data folder, where it still opens with its key
    /// if it is ever needed, and starts afresh. Nothing is deleted.
    pub fn set_data_aside(&self) -> Result<DataSetAside, IpcError> {
        match self.key_state() {
            KeyState::Problem { problem } if problem.may_set_aside() => {}
            _ => {
                return Err(IpcError::new(
                    ErrorCode::InvalidInput,
                    "the data is set aside only when its key cannot be had",
                ))
            }
        }
        let dir = self.data_dir();
        let stamp = Utc::now().format("%Y-%m-%dT%H-%M-%SZ").to_string();
        let to = dir.join(SET_ASIDE_DIR).join(&stamp);
        onsite_store::private_files::create_dir(&to)
            .map_err(|e| IpcError::new(ErrorCode::DbIo, format!("cannot make the folder: {e}")))?;
        // The key first: if it cannot go with the data, nothing moves.
        self.vault.set_aside(&to).map_err(key_error)?;
        let moved = crate::state::move_data_aside(&dir, &self.data_file, &to)
            .map_err(|e| IpcError::new(ErrorCode::DbIo, format!("cannot move the data: {e}")))?;
        *self.key.lock().unwrap_or_else(|p| p.into_inner()) = None;
        tracing::warn!(moved, folder = %stamp, "data set aside after a key problem");
        Ok(DataSetAside {
            folder: to.display().to_string(),
            moved,
            next: self.key_state(),
        })
    }

    /// Opens the store with `key`; the state says whether it opened.
    fn open_with(&self, key: DataKey, method: KeyMethod) -> KeyState {
        match self.open_store_with(&key) {
            Ok(()) => {}
            Err(StoreError::Sealed { .. }) => {
                return KeyState::Problem {
                    problem: KeyProblem::DataFromAnotherDevice,
                }
            }
            // Locked, damaged, too new: the app's error screen explains (app_info), and
            // its "Try again" opens it with the key already had.
            Err(e) => tracing::error!(error = %e, "cannot open the data file"),
        }
        *self.key.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, method));
        KeyState::Open { method }
    }

    /// Counts what has not reached head office into the key file (counts only), for a
    /// forgotten PIN to say; written only when they changed.
    pub fn record_unsent(&self, changes: i64, files: i64, enrolled: bool) {
        let now = (
            changes.clamp(0, u32::MAX as i64) as u32,
            files.clamp(0, u32::MAX as i64) as u32,
            enrolled,
        );
        let mut last = self.last_unsent.lock().unwrap_or_else(|p| p.into_inner());
        if *last == Some(now) {
            return;
        }
        match self.vault.record_unsent(now.0, now.1, now.2, Utc::now()) {
            Ok(()) => *last = Some(now),
            Err(e) => tracing::warn!(error = %e, "cannot count what is unsent into the key file"),
        }
    }

    /// The sealed blobs folder, once the key is had.
    pub fn blobs(&self) -> Result<Blobs, IpcError> {
        self.blobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(locked)
    }
}

/// The error every command gets while the data is sealed and not yet opened.
pub fn locked() -> IpcError {
    IpcError::new(ErrorCode::Locked, "the data is locked: enter the PIN first")
}

#[cfg(test)]
mod tests {
    use super::*;
    use onsite_keys::MemoryCredentialStore;

    fn state(dir: &std::path::Path, creds: &MemoryCredentialStore) -> AppState {
        let vault = onsite_keys::Vault::with_kdf_params(
            dir,
            Box::new(creds.clone()),
            onsite_keys::KdfParams {
                m_kib: 64,
                t: 1,
                p: 1,
            },
        );
        AppState::new(
            dir.join(crate::state::DATA_FILE),
            vault,
            None,
            std::time::Instant::now(),
        )
    }

    #[test]
    fn with_a_credential_store_the_data_opens_at_once_and_again_after_a_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let creds = MemoryCredentialStore::new();
        let s = state(tmp.path(), &creds);
        assert_eq!(
            s.key_state(),
            KeyState::Open {
                method: KeyMethod::CredentialStore
            }
        );
        s.with_store(|st| st.write(|tx| onsite_store::settings::set(tx, "probe", "kept")))
            .unwrap();
        drop(s);
        assert!(sealed_data_exists(&tmp.path().join("onsite.db")));
        let s = state(tmp.path(), &creds);
        assert!(matches!(s.key_state(), KeyState::Open { .. }));
        assert_eq!(
            s.with_store(|st| onsite_store::settings::get(st.conn(), "probe"))
                .unwrap()
                .as_deref(),
            Some("kept")
        );
        // The keyring locked at the next start: a problem named, nothing touched.
        drop(s);
        creds.set_unavailable(true);
        let s = state(tmp.path(), &creds);
        assert_eq!(
            s.key_state(),
            KeyState::Problem {
                problem: KeyProblem::CredentialStoreUnavailable
            }
        );
        assert_eq!(s.store().err().map(|e| e.code), Some(ErrorCode::Locked));
        // Unlocked again: "Try again" opens it.
        creds.set_unavailable(false);
        assert!(matches!(s.key_state(), KeyState::Open { .. }));
    }

    #[test]
    fn without_one_a_pin_is_set_then_asked_for_with_waits_and_a_forgotten_pin_erases() {
        let tmp = tempfile::tempdir().unwrap();
        let creds = MemoryCredentialStore::new();
        creds.set_unavailable(true);
        let s = state(tmp.path(), &creds);
        assert_eq!(s.key_state(), KeyState::SetPin);
        assert_eq!(s.set_pin("12345").unwrap_err().code, ErrorCode::PinTooShort);
        assert_eq!(s.key_state(), KeyState::SetPin);
        assert_eq!(
            s.set_pin("246810").unwrap(),
            KeyState::Open {
                method: KeyMethod::Pin
            }
        );
        s.with_store(|st| st.write(|tx| onsite_store::settings::set(tx, "probe", "kept")))
            .unwrap();
        drop(s);

        // Restart: the PIN is asked for; wrong tries counted, then a wait.
        let s = state(tmp.path(), &creds);
        assert_eq!(
            s.key_state(),
            KeyState::EnterPin {
                wrong_tries: 0,
                wait_seconds: 0
            }
        );
        assert_eq!(s.store().err().map(|e| e.code), Some(ErrorCode::Locked));
        for _ in 0..3 {
            assert_eq!(s.unlock("999999").unwrap_err().code, ErrorCode::PinWrong);
        }
        let e = s.unlock("999999").unwrap_err();
        assert_eq!(e.code, ErrorCode::PinWrong);
        assert!(!e.message.contains("999999"));
        match s.key_state() {
            KeyState::EnterPin {
                wrong_tries: 4,
                wait_seconds,
            } => assert!((25..=30).contains(&wait_seconds), "{wait_seconds}"),
            other => panic!("{other:?}"),
        }
        // During the wait even the right PIN waits.
        assert_eq!(s.unlock("246810").unwrap_err().code, ErrorCode::PinWait);

        // Forgotten: what is unsent was counted while open (none here: never enrolled).
        let f = s.forgotten_pin();
        assert!(!f.enrolled);
        assert_eq!(
            s.erase_forgotten("erase please").unwrap_err().code,
            ErrorCode::InvalidInput
        );
        assert!(tmp.path().join("onsite.db").exists(), "nothing erased yet");
        let after = s.erase_forgotten("ERASE").unwrap();
        assert_eq!(after, KeyState::SetPin);
        assert!(!tmp.path().join("onsite.db").exists());
        assert_eq!(
            s.set_pin("new pin 2").unwrap(),
            KeyState::Open {
                method: KeyMethod::Pin
            }
        );
        assert_eq!(
            s.with_store(|st| onsite_store::settings::get(st.conn(), "probe"))
                .unwrap(),
            None,
            "a fresh start"
        );
    }

    #[test]
    fn a_data_file_from_another_device_is_named_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        {
            let s = state(other.path(), &MemoryCredentialStore::new());
            assert!(matches!(s.key_state(), KeyState::Open { .. }));
        }
        let creds = MemoryCredentialStore::new();
        {
            let s = state(tmp.path(), &creds);
            assert!(matches!(s.key_state(), KeyState::Open { .. }));
        }
        std::fs::copy(other.path().join("onsite.db"), tmp.path().join("onsite.db")).unwrap();
        let _ = std::fs::remove_file(tmp.path().join("onsite.db-wal"));
        let bytes = std::fs::read(tmp.path().join("onsite.db")).unwrap();
        let s = state(tmp.path(), &creds);
        assert_eq!(
            s.key_state(),
            KeyState::Problem {
                problem: KeyProblem::DataFromAnotherDevice
            }
        );
        assert_eq!(std::fs::read(tmp.path().join("onsite.db")).unwrap(), bytes);
    }

    #[test]
    fn data_whose_key_is_missing_is_set_aside_on_request_and_the_app_starts_afresh() {
        let tmp = tempfile::tempdir().unwrap();
        let creds = MemoryCredentialStore::new();
        {
            let s = state(tmp.path(), &creds);
            assert!(matches!(s.key_state(), KeyState::Open { .. }));
            s.with_store(|st| st.write(|tx| onsite_store::settings::set(tx, "probe", "kept")))
                .unwrap();
        }
        let db = std::fs::read(tmp.path().join("onsite.db")).unwrap();
        let key = creds.peek().unwrap();
        // The keyring lost the key: a problem, and nothing moves without the request.
        creds.put(None);
        let s = state(tmp.path(), &creds);
        assert_eq!(
            s.key_state(),
            KeyState::Problem {
                problem: KeyProblem::KeyMissing
            }
        );
        // While the keyring merely does not answer, setting aside is refused.
        creds.set_unavailable(true);
        assert_eq!(
            s.set_data_aside().unwrap_err().code,
            ErrorCode::InvalidInput
        );
        assert_eq!(std::fs::read(tmp.path().join("onsite.db")).unwrap(), db);
        creds.set_unavailable(false);

        let done = s.set_data_aside().unwrap();
        assert!(
            matches!(done.next, KeyState::Open { .. }),
            "{:?}",
            done.next
        );
        assert!(done.moved >= 1, "the database at least: {}", done.moved);
        let folder = std::path::PathBuf::from(&done.folder);
        assert!(folder.starts_with(tmp.path().join(SET_ASIDE_DIR)));
        assert_eq!(std::fs::read(folder.join("onsite.db")).unwrap(), db);
        assert!(folder.join(onsite_keys::KEY_FILE_NAME).exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        // A fresh start: new key, the demo, not the old data.
        assert_ne!(creds.peek().unwrap(), key);
        assert_eq!(
            s.with_store(|st| onsite_store::settings::get(st.conn(), "probe"))
                .unwrap(),
            None
        );
        // The set-aside folder still opens, with the key it kept (restored by support).
        creds.at(&folder).put(Some(&key));
        let there = state(&folder, &creds.at(&folder));
        assert!(matches!(there.key_state(), KeyState::Open { .. }));
        assert_eq!(
            there
                .with_store(|st| onsite_store::settings::get(st.conn(), "probe"))
                .unwrap()
                .as_deref(),
            Some("kept")
        );
        // With the data open, nothing more is set aside.
        assert_eq!(
            s.set_data_aside().unwrap_err().code,
            ErrorCode::InvalidInput
        );
    }

    #[test]
    fn the_plain_data_of_the_previous_version_is_sealed_at_first_start() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let mut plain =
                onsite_store::Store::open_unsealed(&tmp.path().join("onsite.db")).unwrap();
            plain
                .write(|tx| onsite_store::settings::set(tx, "probe", "张志强"))
                .unwrap();
        }
        std::fs::create_dir_all(tmp.path().join("blobs")).unwrap();
        let pdf = b"%PDF-1.7 older receipt";
        let sha = onsite_domain::signoff::sha256_hex(pdf);
        std::fs::write(tmp.path().join("blobs").join(&sha), pdf).unwrap();
        assert!(!sealed_data_exists(&tmp.path().join("onsite.db")));
        let s = state(tmp.path(), &MemoryCredentialStore::new());
        assert!(matches!(s.key_state(), KeyState::Open { .. }));
        assert_eq!(
            s.with_store(|st| onsite_store::settings::get(st.conn(), "probe"))
                .unwrap()
                .as_deref(),
            Some("张志强")
        );
        assert!(sealed_data_exists(&tmp.path().join("onsite.db")));
        assert!(!tmp.path().join("blobs").join(&sha).exists());
        assert_eq!(
            onsite_store::documents::read_blob(&s.blobs().unwrap(), &sha).unwrap(),
            pdf
        );
    }
}
