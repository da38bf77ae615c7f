//! Against a real gnome-keyring on a private D-Bus session (onsite_keys::session).
//!
//! The `keyring` crate finds the Secret Service through DBUS_SESSION_BUS_ADDRESS in the
//! process environment, so this binary sets it, and its tests run one at a time (LOCK).
//! They fail, not skip, when dbus-daemon or gnome-keyring-daemon is missing.

#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use chrono::Utc;
use onsite_keys::session::KeyringSession;
use onsite_keys::{CredentialStore, KeyMethod, KeyProblem, Opening, SystemCredentialStore, Vault};

static LOCK: Mutex<()> = Mutex::new(());

/// One test at a time: taken first thing in each test, before any process is started
/// or the environment is read or changed.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Points this process's session bus at `address` (with the lock held).
fn use_bus(address: &str) {
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", address);
}

fn session() -> KeyringSession {
    KeyringSession::start()
        .expect("a private bus with gnome-keyring (packages dbus, gnome-keyring)")
}

fn vault(dir: &Path) -> Vault {
    Vault::new(dir, Box::new(SystemCredentialStore::for_data_dir(dir)))
}

fn secret_tool(address: &str, args: &[&str]) -> std::process::Output {
    Command::new("secret-tool")
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .output()
        .expect("secret-tool (package libsecret-tools)")
}

#[test]
fn the_key_is_kept_in_the_secret_service_across_restarts() {
    let _one = one_at_a_time();
    let s = session();
    use_bus(s.address());
    let dir = tempfile::tempdir().unwrap();
    let store = SystemCredentialStore::for_data_dir(dir.path());

    let started = Instant::now();
    let first = vault(dir.path()).open(false, Utc::now()).unwrap();
    let first_start = started.elapsed();
    let Opening::Ready { key, method, fresh } = first else {
        panic!("expected Ready, got {first:?}")
    };
    assert_eq!(method, KeyMethod::CredentialStore);
    assert!(fresh);

    // Another reader sees the 32 bytes: a second store handle, and secret-tool.
    assert_eq!(store.get().unwrap().unwrap(), key.to_vec());
    let found = secret_tool(
        s.address(),
        &["lookup", "service", "onsite", "username", store.account()],
    );
    assert!(found.status.success(), "{found:?}");
    assert_eq!(found.stdout, key.to_vec());

    // A restart: the same key, not fresh.
    let started = Instant::now();
    let again = vault(dir.path()).open(true, Utc::now()).unwrap();
    let restart = started.elapsed();
    let Opening::Ready {
        key: again, fresh, ..
    } = again
    else {
        panic!("expected Ready, got {again:?}")
    };
    assert_eq!(*again, *key);
    assert!(!fresh);
    eprintln!("Secret Service: first start {first_start:?}, restart open {restart:?}");

    // Another data folder has an entry of its own.
    let other = tempfile::tempdir().unwrap();
    let Opening::Ready { key: other_key, .. } =
        vault(other.path()).open(false, Utc::now()).unwrap()
    else {
        panic!("second folder")
    };
    assert_ne!(*other_key, *key);
    assert_eq!(store.get().unwrap().unwrap(), key.to_vec());

    // forget removes the entry.
    vault(dir.path()).forget().unwrap();
    assert_eq!(store.get().unwrap(), None);
    assert!(!dir.path().join("onsite.key").exists());
}

#[test]
fn the_entry_deleted_behind_its_back_is_key_missing() {
    let _one = one_at_a_time();
    let s = session();
    use_bus(s.address());
    let dir = tempfile::tempdir().unwrap();
    let store = SystemCredentialStore::for_data_dir(dir.path());
    assert!(matches!(
        vault(dir.path()).open(false, Utc::now()).unwrap(),
        Opening::Ready { fresh: true, .. }
    ));
    let cleared = secret_tool(
        s.address(),
        &["clear", "service", "onsite", "username", store.account()],
    );
    assert!(cleared.status.success(), "{cleared:?}");
    assert_eq!(store.get().unwrap(), None);
    let before = std::fs::read(dir.path().join("onsite.key")).unwrap();
    match vault(dir.path()).open(true, Utc::now()).unwrap() {
        Opening::Problem(p) => assert_eq!(p, KeyProblem::KeyMissing),
        other => panic!("expected KeyMissing, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(dir.path().join("onsite.key")).unwrap(),
        before
    );
    assert_eq!(store.get().unwrap(), None, "no new key made");
}

#[test]
fn a_bus_that_points_nowhere_asks_for_a_pin_or_says_unavailable() {
    let _one = one_at_a_time();
    let nowhere = tempfile::tempdir().unwrap();
    let address = format!("unix:path={}/no-bus", nowhere.path().display());
    use_bus(&address);
    let dir = tempfile::tempdir().unwrap();

    let started = Instant::now();
    let first = vault(dir.path()).open(false, Utc::now()).unwrap();
    eprintln!("no bus: open answered in {:?}", started.elapsed());
    assert!(matches!(first, Opening::SetPin), "{first:?}");
    assert!(!dir.path().join("onsite.key").exists());
    let err = SystemCredentialStore::for_data_dir(dir.path())
        .get()
        .unwrap_err();
    eprintln!("no bus: {err}");

    // A key file that says the key is in the credential store.
    let s = session();
    use_bus(s.address());
    assert!(matches!(
        vault(dir.path()).open(false, Utc::now()).unwrap(),
        Opening::Ready { .. }
    ));
    use_bus(&address);
    match vault(dir.path()).open(true, Utc::now()).unwrap() {
        Opening::Problem(p) => assert_eq!(p, KeyProblem::CredentialStoreUnavailable),
        other => panic!("expected CredentialStoreUnavailable, got {other:?}"),
    }
    // The bus is killed under it: unavailable too.
    use_bus(s.address());
    drop(s);
    match vault(dir.path()).open(true, Utc::now()).unwrap() {
        Opening::Problem(p) => assert_eq!(p, KeyProblem::CredentialStoreUnavailable),
        other => panic!("expected CredentialStoreUnavailable, got {other:?}"),
    }
}

#[test]
fn no_bus_address_at_all_asks_for_a_pin() {
    let _one = one_at_a_time();
    std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
    let run = tempfile::tempdir().unwrap();
    // zbus falls back to $XDG_RUNTIME_DIR/bus: an empty folder here.
    let old_run = std::env::var_os("XDG_RUNTIME_DIR");
    std::env::set_var("XDG_RUNTIME_DIR", run.path());
    let dir = tempfile::tempdir().unwrap();
    let first = vault(dir.path()).open(false, Utc::now());
    match old_run {
        Some(v) => std::env::set_var("XDG_RUNTIME_DIR", v),
        None => std::env::remove_var("XDG_RUNTIME_DIR"),
    }
    assert!(matches!(first.unwrap(), Opening::SetPin));
}

#[test]
fn safe_to_call_from_inside_tokio_runtimes() {
    let _one = one_at_a_time();
    let s = session();
    use_bus(s.address());
    for multi in [false, true] {
        let rt = if multi {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread().build()
        }
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let (first, again) = rt.block_on(async move {
            let first = vault(&path).open(false, Utc::now()).unwrap();
            // And from a spawned task on a worker thread.
            let again = tokio::spawn(async move { vault(&path).open(true, Utc::now()).unwrap() })
                .await
                .unwrap();
            (first, again)
        });
        let (
            Opening::Ready {
                key: a,
                fresh: true,
                ..
            },
            Opening::Ready {
                key: b,
                fresh: false,
                ..
            },
        ) = (first, again)
        else {
            panic!("multi {multi}: expected Ready twice")
        };
        assert_eq!(*a, *b, "multi {multi}");
    }
}

#[test]
fn the_backend_called_directly_inside_a_runtime_panics() {
    // Why SystemCredentialStore runs every call on a thread of its own: keyring's Secret
    // Service backend blocks on a tokio runtime of its own, which tokio refuses inside
    // another runtime.
    let _one = one_at_a_time();
    let s = session();
    use_bus(s.address());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outcome = rt.block_on(async {
        std::panic::catch_unwind(|| {
            keyring::Entry::new("onsite", "direct-call-probe")
                .and_then(|e| e.get_secret())
                .map(|_| ())
        })
    });
    assert!(
        outcome.is_err(),
        "the direct call did not panic: {outcome:?}"
    );
}
