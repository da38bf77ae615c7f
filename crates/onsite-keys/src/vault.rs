//! The vault: decides at start where the key comes from, and unlocks it with a PIN.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use onsite_domain::view_keys::{ForgottenPin, KeyMethod, KeyProblem, PIN_MAX_CHARS, PIN_MIN_CHARS};
use zeroize::Zeroizing;

use crate::file::{self, Body, Kdf, KeyFile, Read, Sealed, Unsent, KDF_ALG, SEAL_ALG, VERSION};
use crate::seal::{self, KdfParams};
use crate::store::CredentialStore;
use crate::wait::{wait_after, wait_left};
use crate::{Key, KeyError};

/// The key file's name in the data folder.
pub const KEY_FILE_NAME: &str = "onsite.key";

/// What [`Vault::open`] found.
pub enum Opening {
    /// The key is here. `fresh`: it was made just now (first start), so there is no
    /// sealed data yet.
    Ready {
        key: Key,
        method: KeyMethod,
        fresh: bool,
    },
    /// First start and no credential store answered: ask for a PIN, then
    /// [`Vault::set_pin`].
    SetPin,
    /// The key is sealed with a PIN: ask for it, then [`Vault::unlock`]. `wait` is what
    /// is left of the wait after wrong tries (zero: try now).
    EnterPin { wrong_tries: u32, wait: Duration },
    /// The key cannot be had; nothing was deleted or overwritten.
    Problem(KeyProblem),
}

/// Never shows the key.
impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opening::Ready { method, fresh, .. } => f
                .debug_struct("Ready")
                .field("key", &"<redacted>")
                .field("method", method)
                .field("fresh", fresh)
                .finish(),
            Opening::SetPin => f.write_str("SetPin"),
            Opening::EnterPin { wrong_tries, wait } => f
                .debug_struct("EnterPin")
                .field("wrong_tries", wrong_tries)
                .field("wait", wait)
                .finish(),
            Opening::Problem(p) => f.debug_tuple("Problem").field(p).finish(),
        }
    }
}

/// The key of one data folder: its key file and its credential store entry.
///
/// Every call reads the key file afresh, so two `Vault`s on one folder (a restart) agree.
/// Calls are not meant to race each other: the app holds one `Vault`.
pub struct Vault {
    dir: PathBuf,
    store: Box<dyn CredentialStore>,
    kdf: KdfParams,
    /// Whether the last `open` said `SetPin` (the only state `set_pin` is allowed in).
    may_set_pin: AtomicBool,
    /// How many times Argon2 ran (tests check that a wait does not run it).
    kdf_runs: AtomicU32,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("kdf", &self.kdf)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// The vault of the data folder `data_dir`, keeping the key in `store` where it
    /// answers. New PINs are sealed with [`KdfParams::DEFAULT`].
    pub fn new(data_dir: &Path, store: Box<dyn CredentialStore>) -> Vault {
        Self::with_kdf_params(data_dir, store, KdfParams::DEFAULT)
    }

    /// The same with other Argon2id parameters for new PINs (tests use cheap ones).
    /// Existing key files are always opened with the parameters they record.
    pub fn with_kdf_params(
        data_dir: &Path,
        store: Box<dyn CredentialStore>,
        kdf: KdfParams,
    ) -> Vault {
        Vault {
            dir: data_dir.to_path_buf(),
            store,
            kdf,
            may_set_pin: AtomicBool::new(false),
            kdf_runs: AtomicU32::new(0),
        }
    }

    /// The key file's path, `<data dir>/onsite.key`.
    pub fn key_file(&self) -> PathBuf {
        self.dir.join(KEY_FILE_NAME)
    }

    /// How many times this vault has run Argon2 (derived a key from a PIN).
    pub fn kdf_runs(&self) -> u32 {
        self.kdf_runs.load(Ordering::SeqCst)
    }

    /// At start: where the key is, or what to ask the technician.
    ///
    /// `sealed_data_exists`: the app already holds data sealed with a key (an encrypted
    /// database or blobs). With no key file that is [`KeyProblem::KeyMissing`]: a new key
    /// is never made over sealed data.
    ///
    /// With no key file and no sealed data (first start) a key is made, stored in the
    /// credential store and read back; then the key file is written and the key is
    /// `Ready { fresh: true }`. If the store fails at any step the answer is `SetPin`
    /// and nothing is written.
    ///
    /// `Err` only when the key file cannot be written at first start.
    pub fn open(&self, sealed_data_exists: bool, now: DateTime<Utc>) -> Result<Opening, KeyError> {
        self.may_set_pin.store(false, Ordering::SeqCst);
        let found = match file::read(&self.key_file()) {
            Read::Absent if sealed_data_exists => {
                return Ok(Opening::Problem(KeyProblem::KeyMissing))
            }
            Read::Absent => return self.first_start(),
            Read::Damaged => return Ok(Opening::Problem(KeyProblem::KeyDamaged)),
            Read::Found(f) => f,
        };
        let mut found = found;
        if clock_went_back(&mut found, now) {
            // Best effort: if it cannot be written, the whole wait is simply asked again.
            let _ = file::write(&self.key_file(), &found);
        }
        match found.body {
            Body::CredentialStore { check } => {
                let Some(check) = hex_array::<16>(&check) else {
                    return Ok(Opening::Problem(KeyProblem::KeyDamaged));
                };
                let secret = match self.store.get() {
                    Ok(Some(s)) => Zeroizing::new(s),
                    Ok(None) => return Ok(Opening::Problem(KeyProblem::KeyMissing)),
                    Err(_) => return Ok(Opening::Problem(KeyProblem::CredentialStoreUnavailable)),
                };
                let Some(key) = key_from(&secret) else {
                    return Ok(Opening::Problem(KeyProblem::KeyDamaged));
                };
                if !seal::check_matches(&key, &check) {
                    return Ok(Opening::Problem(KeyProblem::KeyDamaged));
                }
                Ok(Opening::Ready {
                    key,
                    method: KeyMethod::CredentialStore,
                    fresh: false,
                })
            }
            Body::Pin {
                wrong_tries,
                last_wrong_at,
                ..
            } => {
                if parse_pin_body(&found.body).is_none() {
                    return Ok(Opening::Problem(KeyProblem::KeyDamaged));
                }
                Ok(Opening::EnterPin {
                    wrong_tries,
                    wait: wait_left(wrong_tries, last_wrong_at, now),
                })
            }
        }
    }

    fn first_start(&self) -> Result<Opening, KeyError> {
        let key = seal::new_key()?;
        if self.store.set(key.as_ref()).is_err() {
            self.may_set_pin.store(true, Ordering::SeqCst);
            return Ok(Opening::SetPin);
        }
        let same = match self.store.get() {
            Ok(Some(back)) => {
                let back = Zeroizing::new(back);
                back.as_slice() == key.as_slice()
            }
            _ => false,
        };
        if !same {
            // The store took it but does not give it back: do not rely on it. Removing
            // what it kept is best effort (a later first start replaces it anyway).
            let _ = self.store.delete();
            self.may_set_pin.store(true, Ordering::SeqCst);
            return Ok(Opening::SetPin);
        }
        let f = KeyFile {
            version: VERSION,
            body: Body::CredentialStore {
                check: hex::encode(seal::check_value(&key)),
            },
            unsent: Unsent::default(),
        };
        file::write(&self.key_file(), &f)?;
        Ok(Opening::Ready {
            key,
            method: KeyMethod::CredentialStore,
            fresh: true,
        })
    }

    /// Seals a new key with `pin` (used exactly as typed) and writes the key file. Only
    /// right after [`Vault::open`] said [`Opening::SetPin`] and while there is no key
    /// file; refused with [`KeyError::NotExpected`] otherwise.
    pub fn set_pin(&self, pin: &str, _now: DateTime<Utc>) -> Result<Key, KeyError> {
        pin_length(pin)?;
        if !self.may_set_pin.load(Ordering::SeqCst) {
            return Err(KeyError::NotExpected("set_pin only after open said SetPin"));
        }
        if !matches!(file::read(&self.key_file()), Read::Absent) {
            return Err(KeyError::NotExpected("set_pin: a key file exists"));
        }
        let key = seal::new_key()?;
        let salt = *seal::random::<16>()?;
        self.kdf_runs.fetch_add(1, Ordering::SeqCst);
        let kek = seal::derive(pin, &salt, self.kdf)?;
        let (nonce, ct) = seal::seal(&kek, &key)?;
        let f = KeyFile {
            version: VERSION,
            body: Body::Pin {
                check: hex::encode(seal::check_value(&key)),
                kdf: Kdf {
                    alg: KDF_ALG.into(),
                    params: self.kdf,
                    salt: hex::encode(salt),
                },
                sealed: Sealed {
                    alg: SEAL_ALG.into(),
                    nonce: hex::encode(nonce),
                    ct: hex::encode(ct),
                },
                wrong_tries: 0,
                last_wrong_at: None,
            },
            unsent: Unsent::default(),
        };
        file::write(&self.key_file(), &f)?;
        self.may_set_pin.store(false, Ordering::SeqCst);
        Ok(key)
    }

    /// Opens the key sealed with a PIN. A wrong PIN counts (in the key file, so a
    /// restart keeps it) and answers [`KeyError::Wrong`] with the wait before the next
    /// try; during a wait the PIN is not tried at all ([`KeyError::Wait`], no Argon2).
    /// The right PIN sets the count back to zero.
    pub fn unlock(&self, pin: &str, now: DateTime<Utc>) -> Result<Key, KeyError> {
        pin_length(pin)?;
        let path = self.key_file();
        let mut f = match file::read(&path) {
            Read::Found(f) => f,
            Read::Absent => return Err(KeyError::NotExpected("unlock: no key file")),
            Read::Damaged => return Err(KeyError::Problem(KeyProblem::KeyDamaged)),
        };
        if clock_went_back(&mut f, now) {
            file::write(&path, &f)?;
        }
        let Body::Pin {
            wrong_tries,
            last_wrong_at,
            ..
        } = f.body
        else {
            return Err(KeyError::NotExpected(
                "unlock: the key is not sealed with a PIN",
            ));
        };
        let Some(parts) = parse_pin_body(&f.body) else {
            return Err(KeyError::Problem(KeyProblem::KeyDamaged));
        };
        let wait = wait_left(wrong_tries, last_wrong_at, now);
        if !wait.is_zero() {
            return Err(KeyError::Wait { wait });
        }
        self.kdf_runs.fetch_add(1, Ordering::SeqCst);
        let kek = seal::derive(pin, &parts.salt, parts.params)?;
        let Body::Pin {
            wrong_tries: tries,
            last_wrong_at: at,
            ..
        } = &mut f.body
        else {
            unreachable!("matched above");
        };
        match seal::unseal(&kek, &parts.nonce, &parts.ct) {
            Some(key) => {
                if !seal::check_matches(&key, &parts.check) {
                    return Err(KeyError::Problem(KeyProblem::KeyDamaged));
                }
                if *tries != 0 || at.is_some() {
                    *tries = 0;
                    *at = None;
                    file::write(&path, &f)?;
                }
                Ok(key)
            }
            None => {
                *tries = tries.saturating_add(1);
                *at = Some(now);
                let (tries, wait) = (*tries, wait_after(*tries));
                file::write(&path, &f)?;
                Err(KeyError::Wrong { tries, wait })
            }
        }
    }

    /// Records what this device holds that head office has not received (counts only),
    /// so that a forgotten PIN can say what erasing would lose. Call it while the data
    /// is open, whenever the counts change or at least before closing.
    pub fn record_unsent(
        &self,
        changes: u32,
        files: u32,
        enrolled: bool,
        now: DateTime<Utc>,
    ) -> Result<(), KeyError> {
        let path = self.key_file();
        let mut f = match file::read(&path) {
            Read::Found(f) => f,
            Read::Absent => return Err(KeyError::NotExpected("record_unsent: no key file")),
            Read::Damaged => return Err(KeyError::Problem(KeyProblem::KeyDamaged)),
        };
        f.unsent = Unsent {
            changes,
            files,
            counted_at: Some(now),
            enrolled,
        };
        file::write(&path, &f)?;
        Ok(())
    }

    /// What a forgotten PIN costs, as last recorded by [`Vault::record_unsent`]: zeros
    /// and no time when never recorded or the key file cannot be read.
    pub fn forgotten(&self) -> ForgottenPin {
        let unsent = match file::read(&self.key_file()) {
            Read::Found(f) => f.unsent,
            _ => Unsent::default(),
        };
        ForgottenPin {
            unsent_changes: unsent.changes,
            unsent_files: unsent.files,
            counted_at: unsent
                .counted_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            enrolled: unsent.enrolled,
        }
    }

    /// After the app has erased the sealed data (the technician confirmed): removes the
    /// credential store entry and the key file, so the next [`Vault::open`] starts afresh.
    ///
    /// A credential store that does not answer keeps its entry: that is harmless (the
    /// next first start replaces it, and it opens nothing any more), so it is not an
    /// error. `Err` only when the key file cannot be removed.
    pub fn forget(&self) -> Result<(), KeyError> {
        let _ = self.store.delete();
        file::remove(&self.key_file())?;
        self.may_set_pin.store(false, Ordering::SeqCst);
        Ok(())
    }
}

impl Vault {
    /// Hands the key to data being set aside in the folder `to` (the technician confirmed
    /// "set this data aside and start again" on a key problem): the key file moves there,
    /// and the credential store entry, if one answers, is copied to `to`'s own entry before
    /// this folder's is removed. The set-aside folder is then a data folder of its own that
    /// opens with its key wherever it is put back; this folder starts afresh at the next
    /// [`Vault::open`].
    ///
    /// `Err` (and nothing moved) when the store holds an entry that cannot be copied, or the
    /// key file cannot be moved. `to` must exist and be on the same file system.
    pub fn set_aside(&self, to: &Path) -> Result<(), KeyError> {
        // No entry, or no store at all (a PIN keeps the key in the key file): nothing to copy.
        if let Ok(Some(secret)) = self.store.get() {
            let secret = Zeroizing::new(secret);
            let there = self.store.elsewhere(to);
            let kept = there.set(&secret).is_ok()
                && match there.get() {
                    Ok(Some(back)) => Zeroizing::new(back).as_slice() == secret.as_slice(),
                    _ => false,
                };
            if !kept {
                return Err(KeyError::Problem(KeyProblem::CredentialStoreUnavailable));
            }
        }
        let from = self.key_file();
        match std::fs::rename(&from, to.join(KEY_FILE_NAME)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(KeyError::Io(e)),
        }
        file::sync_dir(&self.dir)?;
        // Best effort, as in `forget`: a first start replaces what stays.
        let _ = self.store.delete();
        self.may_set_pin.store(false, Ordering::SeqCst);
        Ok(())
    }
}

/// A last wrong try later than `now` means the clock went back: no time has passed, and
/// the wait starts again from `now` (written back), so that a clock set back by a year
/// costs one whole wait, not a year.
fn clock_went_back(f: &mut KeyFile, now: DateTime<Utc>) -> bool {
    if let Body::Pin {
        last_wrong_at: Some(at),
        ..
    } = &mut f.body
    {
        if *at > now {
            *at = now;
            return true;
        }
    }
    false
}

/// The checked length rule: characters (not bytes), used exactly as typed.
fn pin_length(pin: &str) -> Result<(), KeyError> {
    let n = pin.chars().count();
    if n < PIN_MIN_CHARS {
        Err(KeyError::PinTooShort)
    } else if n > PIN_MAX_CHARS {
        Err(KeyError::PinTooLong)
    } else {
        Ok(())
    }
}

fn key_from(secret: &[u8]) -> Option<Key> {
    if secret.len() != 32 {
        return None;
    }
    let mut key = Key::default();
    key.copy_from_slice(secret);
    Some(key)
}

fn hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

/// A PIN body's parts, decoded and checked.
struct PinParts {
    check: [u8; 16],
    params: KdfParams,
    salt: [u8; 16],
    nonce: [u8; 24],
    ct: Vec<u8>,
}

fn parse_pin_body(body: &Body) -> Option<PinParts> {
    let Body::Pin {
        check, kdf, sealed, ..
    } = body
    else {
        return None;
    };
    if kdf.alg != KDF_ALG || sealed.alg != SEAL_ALG || !kdf.params.plausible() {
        return None;
    }
    let ct = hex::decode(&sealed.ct).ok()?;
    if ct.len() != 32 + 16 {
        return None;
    }
    Some(PinParts {
        check: hex_array(check)?,
        params: kdf.params,
        salt: hex_array(&kdf.salt)?,
        nonce: hex_array(&sealed.nonce)?,
        ct,
    })
}

#[cfg(test)]
mod tests;
