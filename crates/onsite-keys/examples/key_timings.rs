//! Measures what the key costs at start (the figures in docs/keys.md):
//! `cargo run -p onsite-keys --example key_timings [--release]`.
//!
//! PIN: `set_pin` and `unlock` at the real Argon2id parameters (64 MiB, t=3, p=1).
//! Secret Service (Linux): first start and restart `open` against a real gnome-keyring on
//! a private bus (onsite_keys::session).

use std::time::{Duration, Instant};

use chrono::Utc;
use onsite_keys::{MemoryCredentialStore, Opening, Vault};

const RUNS: usize = 7;

fn main() {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("profile: {profile}");

    let dir = tempfile::tempdir().unwrap();
    let store = MemoryCredentialStore::new();
    store.set_unavailable(true);
    let vault = Vault::new(dir.path(), Box::new(store));
    assert!(matches!(
        vault.open(false, Utc::now()).unwrap(),
        Opening::SetPin
    ));
    let t = Instant::now();
    let key = vault.set_pin("correct horse", Utc::now()).unwrap();
    println!("set_pin (Argon2id 64 MiB t=3 p=1): {:?}", t.elapsed());
    let unlock = measure(|| {
        assert_eq!(*vault.unlock("correct horse", Utc::now()).unwrap(), *key);
    });
    println!("unlock, right PIN: {}", summary(&unlock));
    let wrong = measure(|| {
        // Three wrong tries are free; reset by a right one so no wait starts.
        assert!(vault.unlock("wrong horse", Utc::now()).is_err());
        vault.unlock("correct horse", Utc::now()).unwrap();
    });
    println!("wrong PIN + right PIN: {}", summary(&wrong));

    #[cfg(target_os = "linux")]
    secret_service();
}

#[cfg(target_os = "linux")]
fn secret_service() {
    use onsite_keys::session::KeyringSession;
    use onsite_keys::SystemCredentialStore;

    let t = Instant::now();
    let session = KeyringSession::start().expect("dbus-daemon and gnome-keyring-daemon");
    println!("KeyringSession::start: {:?}", t.elapsed());
    // Single-threaded here: nothing else reads the environment.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", session.address());
    let first = measure(|| {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::new(
            dir.path(),
            Box::new(SystemCredentialStore::for_data_dir(dir.path())),
        );
        assert!(matches!(
            v.open(false, Utc::now()).unwrap(),
            Opening::Ready { fresh: true, .. }
        ));
    });
    println!(
        "Secret Service first start (set + get + key file): {}",
        summary(&first)
    );
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::new(
        dir.path(),
        Box::new(SystemCredentialStore::for_data_dir(dir.path())),
    );
    v.open(false, Utc::now()).unwrap();
    let again = measure(|| {
        assert!(matches!(
            v.open(true, Utc::now()).unwrap(),
            Opening::Ready { fresh: false, .. }
        ));
    });
    println!("Secret Service restart open (get): {}", summary(&again));
    drop(session);
}

fn measure(mut f: impl FnMut()) -> Vec<Duration> {
    let mut out: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    out.sort();
    out
}

fn summary(d: &[Duration]) -> String {
    format!(
        "median {:.0?}, min {:.0?}, max {:.0?} ({} runs)",
        d[d.len() / 2],
        d[0],
        d[d.len() - 1],
        d.len()
    )
}
