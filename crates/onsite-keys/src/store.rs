//! Credential stores: the operating system's (through `keyring`), and one in memory for
//! tests.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The credential store did not answer, or answered with an error. The message names the
/// failure (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("credential store unavailable: {0}")]
pub struct Unavailable(pub String);

/// Where the data key can be kept outside the key file: one entry, for one data folder.
pub trait CredentialStore: Send + Sync {
    /// The secret, `None` when the store answers and holds no entry.
    fn get(&self) -> Result<Option<Vec<u8>>, Unavailable>;
    /// Stores the secret, replacing any there.
    fn set(&self, secret: &[u8]) -> Result<(), Unavailable>;
    /// Removes the entry; no entry is not an error.
    fn delete(&self) -> Result<(), Unavailable>;
    /// The same kind of store's entry for another data folder (where data set aside
    /// keeps its key, so it can still be opened there).
    fn elsewhere(&self, dir: &Path) -> Box<dyn CredentialStore>;
}

/// The service name of Onsite's entries in the OS credential store.
pub const SERVICE: &str = "onsite";

/// The operating system's credential store through the `keyring` crate: on Linux the
/// Secret Service over D-Bus (pure Rust: zbus on tokio, `crypto-rust`), on Windows the
/// Credential Manager, on macOS the login Keychain (these two compiled, never run here).
///
/// One entry per data folder: service `onsite`, account `data-key <16 hex>`, the hex being
/// the start of SHA-256 of the folder's canonical path, so two data folders never share a
/// key.
///
/// Each call runs on a fresh thread of its own and is joined with a time limit: the
/// Secret Service backend blocks on a tokio runtime of its own, which panics when called
/// from a thread that is already inside a tokio runtime (Tauri commands, async tests).
/// Called this way it is safe from any thread; a call that does not answer in time, or
/// panics, is [`Unavailable`].
#[derive(Debug, Clone)]
pub struct SystemCredentialStore {
    account: String,
    #[cfg_attr(
        not(any(target_os = "linux", target_os = "windows", target_os = "macos")),
        allow(dead_code)
    )]
    timeout: Duration,
}

impl SystemCredentialStore {
    /// How long a call may take before the store counts as unavailable. Long enough for
    /// a desktop to show its "unlock your keyring" prompt and the technician to answer.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    /// The entry for the data folder `dir`, named by its canonical path. A folder that
    /// does not exist yet is named by its nearest existing ancestor's canonical path and
    /// the rest, so creating it later does not change the entry.
    pub fn for_data_dir(dir: &Path) -> Self {
        let canonical = canonical(dir);
        let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
        SystemCredentialStore {
            account: format!("data-key {}", hex::encode(&digest[..8])),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// The same entry with another time limit per call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The entry's account name (`data-key <16 hex>`), e.g. to find it with
    /// `secret-tool search service onsite username '<account>'`.
    pub fn account(&self) -> &str {
        &self.account
    }
}

/// `dir` canonicalised, or, where it does not exist yet, its nearest existing ancestor
/// canonicalised with the missing components appended.
fn canonical(dir: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(dir) {
        return c;
    }
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut missing = Vec::new();
    let mut at = abs.as_path();
    loop {
        if let Ok(mut c) = std::fs::canonicalize(at) {
            c.extend(missing.iter().rev());
            return c;
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                at = parent;
            }
            _ => return abs,
        }
    }
}

/// Runs `f` on a fresh thread and waits for it at most `timeout`. A thread that does not
/// answer in time is left to finish on its own (it holds no lock of ours).
#[cfg_attr(
    not(any(target_os = "linux", target_os = "windows", target_os = "macos")),
    allow(dead_code)
)]
fn off_thread<T: Send + 'static>(
    timeout: Duration,
    what: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Unavailable> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("onsite-keyring".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| Unavailable(format!("{what}: no thread: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(v) => Ok(v),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Unavailable(format!(
            "{what}: no answer within {} s",
            timeout.as_secs()
        ))),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Unavailable(format!(
            "{what}: the credential store call panicked"
        ))),
    }
}

/// The keyring-backed calls, on the three systems `keyring` is built for here.
#[cfg(any(target_os = "linux", target_os = "windows", target_os = "macos"))]
mod system {
    use zeroize::Zeroizing;

    use super::{off_thread, CredentialStore, SystemCredentialStore, Unavailable, SERVICE};

    impl SystemCredentialStore {
        fn call<T: Send + 'static>(
            &self,
            what: &'static str,
            f: impl FnOnce(keyring::Entry) -> Result<T, keyring::Error> + Send + 'static,
        ) -> Result<Result<T, keyring::Error>, Unavailable> {
            let account = self.account.clone();
            off_thread(self.timeout, what, move || {
                keyring::Entry::new(SERVICE, &account).and_then(f)
            })
        }
    }

    fn unavailable(what: &str, e: keyring::Error) -> Unavailable {
        // keyring's errors name the platform failure; none carries the secret.
        Unavailable(format!("{what}: {e}"))
    }

    impl CredentialStore for SystemCredentialStore {
        fn get(&self) -> Result<Option<Vec<u8>>, Unavailable> {
            match self.call("get", |e| e.get_secret())? {
                Ok(secret) => Ok(Some(secret)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(unavailable("get", e)),
            }
        }

        fn set(&self, secret: &[u8]) -> Result<(), Unavailable> {
            let secret = Zeroizing::new(secret.to_vec());
            self.call("set", move |e| e.set_secret(&secret))?
                .map_err(|e| unavailable("set", e))
        }

        fn delete(&self) -> Result<(), Unavailable> {
            match self.call("delete", |e| e.delete_credential())? {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(unavailable("delete", e)),
            }
        }

        fn elsewhere(&self, dir: &std::path::Path) -> Box<dyn CredentialStore> {
            Box::new(SystemCredentialStore::for_data_dir(dir).with_timeout(self.timeout))
        }
    }
}

/// Other systems have no credential store here: every call is unavailable, so the app
/// falls back to a PIN.
#[cfg(not(any(target_os = "linux", target_os = "windows", target_os = "macos")))]
impl CredentialStore for SystemCredentialStore {
    fn get(&self) -> Result<Option<Vec<u8>>, Unavailable> {
        Err(Unavailable(
            "no credential store on this operating system".into(),
        ))
    }
    fn set(&self, _secret: &[u8]) -> Result<(), Unavailable> {
        Err(Unavailable(
            "no credential store on this operating system".into(),
        ))
    }
    fn delete(&self) -> Result<(), Unavailable> {
        Err(Unavailable(
            "no credential store on this operating system".into(),
        ))
    }
}

/// A credential store in memory, for tests (here and in the app's). Clones share the
/// same entry, so a test can look at or change it behind a [`crate::Vault`]'s back; the
/// entries of other folders ([`MemoryCredentialStore::at`]) are shared by all clones too.
#[derive(Debug, Clone, Default)]
pub struct MemoryCredentialStore {
    inner: Arc<Mutex<Memory>>,
    others: Arc<Mutex<std::collections::HashMap<PathBuf, MemoryCredentialStore>>>,
}

#[derive(Debug, Default)]
struct Memory {
    secret: Option<Zeroizing<Vec<u8>>>,
    unavailable: bool,
    lossy: bool,
    calls: u32,
}

impl MemoryCredentialStore {
    /// An empty store that answers.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes every call fail with [`Unavailable`] (true) or answer again (false).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.lock().unavailable = unavailable;
    }

    /// Makes `set` keep only the first half of the secret (a store that mangles it).
    pub fn set_lossy(&self, lossy: bool) {
        self.lock().lossy = lossy;
    }

    /// The entry as it is now, without counting as a call.
    pub fn peek(&self) -> Option<Vec<u8>> {
        self.lock().secret.as_ref().map(|s| s.to_vec())
    }

    /// Replaces the entry (None removes it), without counting as a call.
    pub fn put(&self, secret: Option<&[u8]>) {
        self.lock().secret = secret.map(|s| Zeroizing::new(s.to_vec()));
    }

    /// How many calls the store has answered or refused.
    pub fn calls(&self) -> u32 {
        self.lock().calls
    }

    /// The entry of another data folder (made empty on first use), as
    /// [`CredentialStore::elsewhere`] gives it.
    pub fn at(&self, dir: &Path) -> MemoryCredentialStore {
        let mut others = self.others.lock().unwrap_or_else(|p| p.into_inner());
        others
            .entry(dir.to_path_buf())
            .or_insert_with(|| MemoryCredentialStore {
                inner: Arc::default(),
                others: Arc::clone(&self.others),
            })
            .clone()
    }
}

impl CredentialStore for MemoryCredentialStore {
    fn get(&self) -> Result<Option<Vec<u8>>, Unavailable> {
        let mut m = self.lock();
        m.calls += 1;
        if m.unavailable {
            return Err(Unavailable("memory store set unavailable".into()));
        }
        Ok(m.secret.as_ref().map(|s| s.to_vec()))
    }

    fn set(&self, secret: &[u8]) -> Result<(), Unavailable> {
        let mut m = self.lock();
        m.calls += 1;
        if m.unavailable {
            return Err(Unavailable("memory store set unavailable".into()));
        }
        let kept = if m.lossy {
            &secret[..secret.len() / 2]
        } else {
            secret
        };
        m.secret = Some(Zeroizing::new(kept.to_vec()));
        Ok(())
    }

    fn delete(&self) -> Result<(), Unavailable> {
        let mut m = self.lock();
        m.calls += 1;
        if m.unavailable {
            return Err(Unavailable("memory store set unavailable".into()));
        }
        m.secret = None;
        Ok(())
    }

    fn elsewhere(&self, dir: &Path) -> Box<dyn CredentialStore> {
        Box::new(self.at(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_differ_by_data_folder_and_are_stable() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let sa = SystemCredentialStore::for_data_dir(a.path());
        let sb = SystemCredentialStore::for_data_dir(b.path());
        assert_ne!(sa.account(), sb.account());
        assert!(sa.account().starts_with("data-key "));
        assert_eq!(sa.account().len(), "data-key ".len() + 16);
        // The same folder by another spelling is the same entry.
        let dotted = a.path().join(".");
        assert_eq!(
            SystemCredentialStore::for_data_dir(&dotted).account(),
            sa.account()
        );
    }

    #[test]
    fn a_folder_made_later_keeps_its_entry() {
        let root = tempfile::tempdir().unwrap();
        let later = root.path().join("not").join("yet");
        let before = SystemCredentialStore::for_data_dir(&later);
        std::fs::create_dir_all(&later).unwrap();
        let after = SystemCredentialStore::for_data_dir(&later);
        assert_eq!(before.account(), after.account());
        // Through a symlinked parent, the same entry.
        #[cfg(unix)]
        {
            let link = root.path().join("link");
            std::os::unix::fs::symlink(root.path().join("not"), &link).unwrap();
            let linked = SystemCredentialStore::for_data_dir(&link.join("yet"));
            assert_eq!(linked.account(), after.account());
        }
    }

    #[test]
    fn off_thread_reports_a_panic_and_a_timeout_as_unavailable() {
        let r: Result<(), _> = off_thread(Duration::from_secs(5), "t", || panic!("backend"));
        assert!(r.unwrap_err().0.contains("panicked"));
        let (tx, rx) = mpsc::channel::<()>();
        let r = off_thread(Duration::from_millis(50), "t", move || rx.recv().ok());
        assert!(r.unwrap_err().0.contains("no answer"));
        drop(tx);
    }
}
