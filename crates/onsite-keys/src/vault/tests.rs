//! Every branch of `open`, PINs and their waits, with a credential store in memory.

use std::time::{Duration, Instant};

use chrono::TimeZone;

use super::*;
use crate::MemoryCredentialStore;

const CHEAP: KdfParams = KdfParams {
    m_kib: 64,
    t: 1,
    p: 1,
};
const PIN: &str = "correct horse";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

fn secs(s: i64) -> chrono::Duration {
    chrono::Duration::seconds(s)
}

struct Fixture {
    dir: tempfile::TempDir,
    store: MemoryCredentialStore,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            store: MemoryCredentialStore::new(),
        }
    }

    /// A vault on the folder (a new one is a restart of the app).
    fn vault(&self) -> Vault {
        Vault::with_kdf_params(self.dir.path(), Box::new(self.store.clone()), CHEAP)
    }

    fn key_file(&self) -> PathBuf {
        self.dir.path().join(KEY_FILE_NAME)
    }

    fn file_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.key_file()).ok()
    }

    /// A vault whose key is sealed with PIN.
    fn with_pin(&self) -> (Vault, Key) {
        self.store.set_unavailable(true);
        let v = self.vault();
        assert!(matches!(v.open(false, t0()).unwrap(), Opening::SetPin));
        let key = v.set_pin(PIN, t0()).unwrap();
        (v, key)
    }
}

fn ready(o: Opening) -> (Key, KeyMethod, bool) {
    match o {
        Opening::Ready { key, method, fresh } => (key, method, fresh),
        other => panic!("expected Ready, got {other:?}"),
    }
}

fn problem(o: Opening) -> KeyProblem {
    match o {
        Opening::Problem(p) => p,
        other => panic!("expected Problem, got {other:?}"),
    }
}

#[test]
fn first_start_keeps_a_new_key_in_the_credential_store() {
    let fx = Fixture::new();
    let (key, method, fresh) = ready(fx.vault().open(false, t0()).unwrap());
    assert_eq!(method, KeyMethod::CredentialStore);
    assert!(fresh);
    assert_eq!(fx.store.peek().unwrap(), key.to_vec());
    assert_ne!(*key, [0u8; 32]);
    let Read::Found(f) = file::read(&fx.key_file()) else {
        panic!("key file written")
    };
    assert_eq!(
        f.body,
        Body::CredentialStore {
            check: hex::encode(seal::check_value(&key))
        }
    );
    // The file holds no part of the key.
    let text = String::from_utf8(fx.file_bytes().unwrap()).unwrap();
    assert!(!text.contains(&hex::encode(&key[..8])));

    // A restart: the same key, not fresh.
    let (again, method, fresh) = ready(fx.vault().open(true, t0()).unwrap());
    assert_eq!(*again, *key);
    assert_eq!(method, KeyMethod::CredentialStore);
    assert!(!fresh);
}

#[test]
fn two_first_starts_make_different_keys() {
    let a = Fixture::new();
    let b = Fixture::new();
    let (ka, _, _) = ready(a.vault().open(false, t0()).unwrap());
    let (kb, _, _) = ready(b.vault().open(false, t0()).unwrap());
    assert_ne!(*ka, *kb);
}

#[cfg(unix)]
#[test]
fn the_key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    ready(fx.vault().open(false, t0()).unwrap());
    let mode = std::fs::metadata(fx.key_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    let fx = Fixture::new();
    fx.with_pin();
    let mode = std::fs::metadata(fx.key_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[test]
fn no_key_file_over_sealed_data_is_key_missing_and_makes_nothing() {
    let fx = Fixture::new();
    assert_eq!(
        problem(fx.vault().open(true, t0()).unwrap()),
        KeyProblem::KeyMissing
    );
    assert_eq!(fx.store.calls(), 0);
    assert!(fx.store.peek().is_none());
    assert!(fx.file_bytes().is_none());
}

#[test]
fn first_start_without_a_credential_store_asks_for_a_pin_and_writes_nothing() {
    let fx = Fixture::new();
    fx.store.set_unavailable(true);
    assert!(matches!(
        fx.vault().open(false, t0()).unwrap(),
        Opening::SetPin
    ));
    assert!(fx.file_bytes().is_none());
    assert!(fx.store.peek().is_none());
}

#[test]
fn a_store_that_does_not_give_the_key_back_is_not_used() {
    let fx = Fixture::new();
    fx.store.set_lossy(true);
    assert!(matches!(
        fx.vault().open(false, t0()).unwrap(),
        Opening::SetPin
    ));
    assert!(fx.file_bytes().is_none());
    assert!(fx.store.peek().is_none(), "what it kept was removed");
}

#[test]
fn the_key_removed_from_the_store_is_key_missing() {
    let fx = Fixture::new();
    ready(fx.vault().open(false, t0()).unwrap());
    let before = fx.file_bytes().unwrap();
    fx.store.put(None);
    assert_eq!(
        problem(fx.vault().open(true, t0()).unwrap()),
        KeyProblem::KeyMissing
    );
    assert_eq!(fx.file_bytes().unwrap(), before, "nothing overwritten");
    assert!(fx.store.peek().is_none(), "no new key made");
}

#[test]
fn a_store_that_does_not_answer_is_credential_store_unavailable() {
    let fx = Fixture::new();
    let (key, _, _) = ready(fx.vault().open(false, t0()).unwrap());
    let before = fx.file_bytes().unwrap();
    fx.store.set_unavailable(true);
    assert_eq!(
        problem(fx.vault().open(true, t0()).unwrap()),
        KeyProblem::CredentialStoreUnavailable
    );
    // Even with no sealed data yet: the key file says the key is in the store.
    assert_eq!(
        problem(fx.vault().open(false, t0()).unwrap()),
        KeyProblem::CredentialStoreUnavailable
    );
    assert_eq!(fx.file_bytes().unwrap(), before);
    fx.store.set_unavailable(false);
    assert_eq!(fx.store.peek().unwrap(), key.to_vec());
}

#[test]
fn a_key_of_the_wrong_length_is_damaged() {
    let fx = Fixture::new();
    let (key, _, _) = ready(fx.vault().open(false, t0()).unwrap());
    fx.store.put(Some(&key[..31]));
    assert_eq!(
        problem(fx.vault().open(true, t0()).unwrap()),
        KeyProblem::KeyDamaged
    );
    let mut long = key.to_vec();
    long.push(0);
    fx.store.put(Some(&long));
    assert_eq!(
        problem(fx.vault().open(true, t0()).unwrap()),
        KeyProblem::KeyDamaged
    );
    assert_eq!(
        fx.store.peek().unwrap(),
        long,
        "the store's entry is left alone"
    );
}

#[test]
fn a_foreign_key_fails_the_check() {
    let fx = Fixture::new();
    let (key, _, _) = ready(fx.vault().open(false, t0()).unwrap());
    let mut other = *key;
    other[0] ^= 0x80;
    fx.store.put(Some(&other));
    assert_eq!(
        problem(fx.vault().open(true, t0()).unwrap()),
        KeyProblem::KeyDamaged
    );
    assert_eq!(fx.store.peek().unwrap(), other.to_vec());
}

#[test]
fn an_unreadable_key_file_is_damaged_and_left_as_it_is() {
    let fx = Fixture::new();
    let cases: &[&[u8]] = &[
        b"",
        b"not json",
        b"{\"version\":1}",
        b"{\"version\":2,\"method\":\"credential_store\",\"check\":\"00112233445566778899aabbccddeeff\"}",
        b"{\"version\":1,\"method\":\"tpm\",\"check\":\"00112233445566778899aabbccddeeff\"}",
        b"{\"version\":1,\"method\":\"credential_store\",\"check\":\"zz\"}",
        b"{\"version\":1,\"method\":\"credential_store\",\"check\":\"0011\"}",
        b"\xff\xfe\x00",
    ];
    for (i, bytes) in cases.iter().enumerate() {
        std::fs::write(fx.key_file(), bytes).unwrap();
        for sealed in [false, true] {
            assert_eq!(
                problem(fx.vault().open(sealed, t0()).unwrap()),
                KeyProblem::KeyDamaged,
                "case {i}"
            );
        }
        assert_eq!(
            fx.file_bytes().unwrap(),
            bytes.to_vec(),
            "case {i} untouched"
        );
        assert_eq!(fx.store.calls(), 0, "case {i}: no key made");
    }
    // A key file that is a folder cannot be read: damaged too.
    std::fs::remove_file(fx.key_file()).unwrap();
    std::fs::create_dir(fx.key_file()).unwrap();
    assert_eq!(
        problem(fx.vault().open(false, t0()).unwrap()),
        KeyProblem::KeyDamaged
    );
}

#[test]
fn a_damaged_pin_file_is_damaged() {
    let fx = Fixture::new();
    fx.with_pin();
    let good = String::from_utf8(fx.file_bytes().unwrap()).unwrap();
    let f: serde_json::Value = serde_json::from_str(&good).unwrap();
    let bend = |path: &[&str], v: serde_json::Value| {
        let mut f = f.clone();
        let mut at = &mut f;
        for p in &path[..path.len() - 1] {
            at = at.get_mut(*p).unwrap();
        }
        at[path[path.len() - 1]] = v;
        f.to_string()
    };
    let cases = [
        bend(&["sealed", "ct"], "00".into()),
        bend(&["sealed", "nonce"], "0011".into()),
        bend(&["sealed", "alg"], "aes-gcm".into()),
        bend(&["kdf", "alg"], "scrypt".into()),
        bend(&["kdf", "salt"], "xyz".into()),
        bend(&["kdf", "m_kib"], (8u64 * 1024 * 1024).into()),
        bend(&["kdf", "t"], 0.into()),
    ];
    for (i, text) in cases.iter().enumerate() {
        std::fs::write(fx.key_file(), text).unwrap();
        let v = fx.vault();
        assert_eq!(
            problem(v.open(true, t0()).unwrap()),
            KeyProblem::KeyDamaged,
            "case {i}"
        );
        assert!(
            matches!(
                v.unlock(PIN, t0()),
                Err(KeyError::Problem(KeyProblem::KeyDamaged))
            ),
            "case {i}"
        );
        assert_eq!(
            v.kdf_runs(),
            0,
            "case {i}: Argon2 not run on a damaged file"
        );
        assert_eq!(
            fx.file_bytes().unwrap(),
            text.as_bytes(),
            "case {i} untouched"
        );
    }
}

#[test]
fn a_sealed_key_that_fails_its_check_is_damaged_not_a_wrong_pin() {
    let fx = Fixture::new();
    fx.with_pin();
    let text = String::from_utf8(fx.file_bytes().unwrap()).unwrap();
    let mut f: serde_json::Value = serde_json::from_str(&text).unwrap();
    f["check"] = "00112233445566778899aabbccddeeff".into();
    std::fs::write(fx.key_file(), f.to_string()).unwrap();
    let v = fx.vault();
    assert!(matches!(
        v.unlock(PIN, t0()),
        Err(KeyError::Problem(KeyProblem::KeyDamaged))
    ));
    let Read::Found(f) = file::read(&fx.key_file()) else {
        panic!()
    };
    let Body::Pin { wrong_tries, .. } = f.body else {
        panic!()
    };
    assert_eq!(wrong_tries, 0);
}

#[test]
fn set_pin_only_after_open_said_set_pin() {
    let fx = Fixture::new();
    let v = fx.vault();
    // Before any open.
    assert!(matches!(
        v.set_pin(PIN, t0()),
        Err(KeyError::NotExpected(_))
    ));
    // After open said Ready.
    ready(v.open(false, t0()).unwrap());
    assert!(matches!(
        v.set_pin(PIN, t0()),
        Err(KeyError::NotExpected(_))
    ));
    // After open said SetPin: too short or too long is refused, then it works once.
    let fx = Fixture::new();
    let v = fx.vault();
    fx.store.set_unavailable(true);
    assert!(matches!(v.open(false, t0()).unwrap(), Opening::SetPin));
    assert!(matches!(
        v.set_pin("12345", t0()),
        Err(KeyError::PinTooShort)
    ));
    assert!(matches!(
        v.set_pin(&"x".repeat(PIN_MAX_CHARS + 1), t0()),
        Err(KeyError::PinTooLong)
    ));
    assert!(fx.file_bytes().is_none());
    v.set_pin("123456", t0()).unwrap();
    let first = fx.file_bytes().unwrap();
    assert!(matches!(
        v.set_pin("654321", t0()),
        Err(KeyError::NotExpected(_))
    ));
    assert_eq!(fx.file_bytes().unwrap(), first, "not overwritten");
}

#[test]
fn set_pin_refuses_when_a_key_file_appeared() {
    let fx = Fixture::new();
    fx.store.set_unavailable(true);
    let v = fx.vault();
    assert!(matches!(v.open(false, t0()).unwrap(), Opening::SetPin));
    // Another vault on the folder wrote a key file meanwhile.
    fx.store.set_unavailable(false);
    ready(fx.vault().open(false, t0()).unwrap());
    let written = fx.file_bytes().unwrap();
    assert!(matches!(
        v.set_pin(PIN, t0()),
        Err(KeyError::NotExpected(_))
    ));
    assert_eq!(fx.file_bytes().unwrap(), written);
}

#[test]
fn set_pin_then_unlock_right_and_wrong() {
    let fx = Fixture::new();
    let (v, key) = fx.with_pin();
    assert!(fx.store.peek().is_none(), "a PIN key is not in the store");
    match v.open(true, t0()).unwrap() {
        Opening::EnterPin { wrong_tries, wait } => {
            assert_eq!((wrong_tries, wait), (0, Duration::ZERO))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*v.unlock(PIN, t0()).unwrap(), *key);
    // Another vault (a restart) opens it with the same PIN.
    assert_eq!(*fx.vault().unlock(PIN, t0()).unwrap(), *key);
    // Exactly as typed: no trimming, no case folding.
    for wrong in [
        " correct horse",
        "correct horse ",
        "Correct horse",
        "correct horsf",
    ] {
        assert!(matches!(v.unlock(wrong, t0()), Err(KeyError::Wrong { .. })));
    }
    // Four wrong tries: the right PIN waits its 30 s, then opens.
    assert!(matches!(v.unlock(PIN, t0()), Err(KeyError::Wait { .. })));
    assert_eq!(*v.unlock(PIN, t0() + secs(30)).unwrap(), *key);
}

#[test]
fn pin_length_is_counted_in_characters() {
    assert!(matches!(pin_length("ééééé"), Err(KeyError::PinTooShort)));
    assert!(pin_length("éééééé").is_ok());
    assert!(pin_length(&"é".repeat(PIN_MAX_CHARS)).is_ok());
    assert!(matches!(
        pin_length(&"é".repeat(PIN_MAX_CHARS + 1)),
        Err(KeyError::PinTooLong)
    ));
    assert!(matches!(pin_length(""), Err(KeyError::PinTooShort)));
    // A wrong-length PIN does not count as a wrong try.
    let fx = Fixture::new();
    let (v, _) = fx.with_pin();
    assert!(matches!(
        v.unlock("12345", t0()),
        Err(KeyError::PinTooShort)
    ));
    assert!(matches!(
        v.open(true, t0()).unwrap(),
        Opening::EnterPin { wrong_tries: 0, .. }
    ));
}

#[test]
fn wrong_pins_wait_longer_and_waits_survive_a_restart() {
    let fx = Fixture::new();
    let (v, key) = fx.with_pin();
    let mut now = t0();
    for n in 1..=3 {
        match v.unlock("wrong pin", now) {
            Err(KeyError::Wrong { tries, wait }) => {
                assert_eq!((tries, wait), (n, Duration::ZERO))
            }
            other => panic!("{other:?}"),
        }
    }
    now += secs(5);
    match v.unlock("wrong pin", now) {
        Err(KeyError::Wrong { tries, wait }) => {
            assert_eq!((tries, wait), (4, Duration::from_secs(30)))
        }
        other => panic!("{other:?}"),
    }
    // During the wait, even the right PIN is not tried: no Argon2 run.
    let runs = v.kdf_runs();
    match v.unlock(PIN, now + secs(10)) {
        Err(KeyError::Wait { wait }) => assert_eq!(wait, Duration::from_secs(20)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        v.unlock("wrong pin", now + secs(10)),
        Err(KeyError::Wait { .. })
    ));
    assert_eq!(v.kdf_runs(), runs);

    // A restart keeps the count and the wait.
    let v = fx.vault();
    match v.open(true, now + secs(10)).unwrap() {
        Opening::EnterPin { wrong_tries, wait } => {
            assert_eq!((wrong_tries, wait), (4, Duration::from_secs(20)))
        }
        other => panic!("{other:?}"),
    }
    // A clock set back counts as no time passed: the whole wait, from the new now.
    match v.unlock(PIN, now - secs(3600)) {
        Err(KeyError::Wait { wait }) => assert_eq!(wait, Duration::from_secs(30)),
        other => panic!("{other:?}"),
    }
    assert_eq!(v.kdf_runs(), 0);
    match v.open(true, now - secs(3590)).unwrap() {
        Opening::EnterPin { wrong_tries, wait } => {
            assert_eq!((wrong_tries, wait), (4, Duration::from_secs(20)))
        }
        other => panic!("{other:?}"),
    }
    // ...and not a year: once the wait has passed on the clock as it is now, a try runs.
    assert!(matches!(
        v.unlock("wrong pin", now - secs(3600) + secs(30)),
        Err(KeyError::Wrong { tries: 5, .. })
    ));
    // Back to the clock as it was: after the 60 s of the fifth wrong try.
    match fx.vault().open(true, now - secs(3600) + secs(30)).unwrap() {
        Opening::EnterPin { wrong_tries, wait } => {
            assert_eq!((wrong_tries, wait), (5, Duration::from_secs(60)))
        }
        other => panic!("{other:?}"),
    }
    now = now - secs(3600) + secs(30);

    // After the wait a sixth wrong try doubles it again.
    now += secs(60);
    match v.unlock("wrong pin", now) {
        Err(KeyError::Wrong { tries, wait }) => {
            assert_eq!((tries, wait), (6, Duration::from_secs(120)))
        }
        other => panic!("{other:?}"),
    }
    now += secs(120);
    // The right PIN after the wait opens and resets the count.
    assert_eq!(*v.unlock(PIN, now).unwrap(), *key);
    match fx.vault().open(true, now).unwrap() {
        Opening::EnterPin { wrong_tries, wait } => {
            assert_eq!((wrong_tries, wait), (0, Duration::ZERO))
        }
        other => panic!("{other:?}"),
    }
    let Read::Found(f) = file::read(&fx.key_file()) else {
        panic!()
    };
    assert!(matches!(
        f.body,
        Body::Pin {
            wrong_tries: 0,
            last_wrong_at: None,
            ..
        }
    ));
}

#[test]
fn unlock_is_refused_when_the_key_is_not_sealed_with_a_pin() {
    let fx = Fixture::new();
    let v = fx.vault();
    assert!(matches!(v.unlock(PIN, t0()), Err(KeyError::NotExpected(_))));
    ready(v.open(false, t0()).unwrap());
    assert!(matches!(v.unlock(PIN, t0()), Err(KeyError::NotExpected(_))));
    assert_eq!(v.kdf_runs(), 0);
}

#[test]
fn no_pin_or_key_in_any_error_or_opening() {
    let fx = Fixture::new();
    let (v, key) = fx.with_pin();
    let mut errors = vec![
        KeyError::PinTooShort,
        KeyError::PinTooLong,
        KeyError::NotExpected("x"),
        KeyError::Problem(KeyProblem::KeyDamaged),
    ];
    errors.push(v.unlock("wrong pin one", t0()).unwrap_err());
    errors.push(v.unlock("wrong pin two", t0()).unwrap_err());
    errors.push(v.unlock("wrong pin three", t0()).unwrap_err());
    errors.push(v.unlock("wrong pin four", t0()).unwrap_err());
    errors.push(v.unlock(PIN, t0()).unwrap_err());
    errors.push(v.unlock("12345", t0()).unwrap_err());
    let mut texts: Vec<String> = errors
        .iter()
        .flat_map(|e| [e.to_string(), format!("{e:?}"), format!("{e:#?}")])
        .collect();
    let fx2 = Fixture::new();
    let opening = fx2.vault().open(false, t0()).unwrap();
    let (key2, _, _) = match &opening {
        Opening::Ready { key, method, fresh } => (key.clone(), *method, *fresh),
        other => panic!("{other:?}"),
    };
    texts.push(format!("{opening:?}"));
    texts.push(format!("{opening:#?}"));
    texts.push(format!("{v:?}"));
    for t in &texts {
        for secret in ["wrong pin", "correct horse", "12345"] {
            assert!(!t.contains(secret), "{t:?} shows a PIN");
        }
        for k in [&key, &key2] {
            assert!(!t.contains(&hex::encode(&k[..4])), "{t:?} shows a key");
            assert!(!t.contains(&format!("{:?}", &k[..4]).trim_end_matches(']').to_string()));
            assert!(!t.to_lowercase().contains(&hex::encode(&k[..4])));
        }
    }
}

#[test]
fn unsent_counts_round_trip_for_a_forgotten_pin() {
    let fx = Fixture::new();
    let (v, _) = fx.with_pin();
    assert_eq!(
        v.forgotten(),
        ForgottenPin {
            unsent_changes: 0,
            unsent_files: 0,
            counted_at: None,
            enrolled: false
        }
    );
    v.record_unsent(12, 3, true, t0() + secs(90)).unwrap();
    let after_restart = fx.vault().forgotten();
    assert_eq!(
        after_restart,
        ForgottenPin {
            unsent_changes: 12,
            unsent_files: 3,
            counted_at: Some("2026-12-01T10:01:30Z".into()),
            enrolled: true
        }
    );
    // Wrong tries and the sealed key are kept beside the counts.
    assert!(v.unlock("wrong pin", t0()).is_err());
    assert_eq!(fx.vault().forgotten().unsent_changes, 12);
    assert!(v.unlock(PIN, t0()).is_ok());

    // The credential store method keeps them too.
    let fx = Fixture::new();
    let v = fx.vault();
    assert!(matches!(
        v.record_unsent(1, 1, false, t0()),
        Err(KeyError::NotExpected(_))
    ));
    ready(v.open(false, t0()).unwrap());
    v.record_unsent(1, 2, false, t0()).unwrap();
    assert_eq!(fx.vault().forgotten().unsent_files, 2);
    ready(fx.vault().open(true, t0()).unwrap());
}

#[test]
fn forget_removes_the_key_file_and_the_entry() {
    let fx = Fixture::new();
    let (old, _, _) = ready(fx.vault().open(false, t0()).unwrap());
    let v = fx.vault();
    v.forget().unwrap();
    assert!(fx.file_bytes().is_none());
    assert!(fx.store.peek().is_none());
    v.forget().unwrap(); // twice is fine
                         // The next start begins afresh with a new key.
    let (new, _, fresh) = ready(v.open(false, t0()).unwrap());
    assert!(fresh);
    assert_ne!(*new, *old);

    // A PIN device: the key file goes, even with no credential store answering.
    let fx = Fixture::new();
    let (v, _) = fx.with_pin();
    v.forget().unwrap();
    assert!(fx.file_bytes().is_none());
    assert!(matches!(v.open(false, t0()).unwrap(), Opening::SetPin));
}

#[test]
fn the_real_argon2_parameters() {
    let fx = Fixture::new();
    fx.store.set_unavailable(true);
    let v = Vault::new(fx.dir.path(), Box::new(fx.store.clone()));
    assert!(matches!(v.open(false, t0()).unwrap(), Opening::SetPin));
    let started = Instant::now();
    let key = v.set_pin(PIN, t0()).unwrap();
    let set = started.elapsed();
    let text = String::from_utf8(fx.file_bytes().unwrap()).unwrap();
    let f: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(f["kdf"]["m_kib"], 65536);
    assert_eq!(f["kdf"]["t"], 3);
    assert_eq!(f["kdf"]["p"], 1);
    assert_eq!(f["kdf"]["alg"], "argon2id");
    assert_eq!(f["kdf"]["salt"].as_str().unwrap().len(), 32);
    assert_eq!(f["sealed"]["nonce"].as_str().unwrap().len(), 48);
    assert_eq!(f["wrong_tries"], 0);
    assert!(f["last_wrong_at"].is_null());

    // A vault with cheap parameters for new PINs still opens it with the file's.
    let cheap = fx.vault();
    let started = Instant::now();
    assert_eq!(*cheap.unlock(PIN, t0()).unwrap(), *key);
    let unlock = started.elapsed();
    eprintln!("Argon2id m=64MiB t=3 p=1: set_pin {set:?}, unlock {unlock:?}");
    for n in 1..=4 {
        assert!(cheap.unlock("wrong pin", t0()).is_err(), "try {n}");
    }
    let started = Instant::now();
    assert!(matches!(
        cheap.unlock(PIN, t0()),
        Err(KeyError::Wait { .. })
    ));
    let waited = started.elapsed();
    assert!(
        waited * 10 < unlock,
        "a refused try during a wait ({waited:?}) must not run Argon2 ({unlock:?})"
    );
}

#[test]
fn a_vault_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Vault>();
    shareable::<KeyError>();
}

#[test]
fn works_inside_a_tokio_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let fx = Fixture::new();
        ready(fx.vault().open(false, t0()).unwrap());
    });
}

#[test]
fn set_aside_hands_the_key_to_the_folder_and_this_one_starts_afresh() {
    let f = Fixture::new();
    let v = f.vault();
    let (key, _, _) = ready(v.open(false, t0()).unwrap());
    // The data cannot be opened (say it came from elsewhere): set aside.
    let aside = f.dir.path().join("set-aside").join("one");
    std::fs::create_dir_all(&aside).unwrap();
    let file = f.file_bytes().unwrap();
    v.set_aside(&aside).unwrap();
    assert!(f.file_bytes().is_none(), "the key file moved");
    assert_eq!(std::fs::read(aside.join(KEY_FILE_NAME)).unwrap(), file);
    assert_eq!(f.store.peek(), None, "this folder's entry removed");
    assert_eq!(
        f.store.at(&aside).peek().as_deref(),
        Some(key.as_slice()),
        "the set-aside folder's entry holds the key"
    );
    // The set-aside folder opens with its key as a data folder of its own.
    let there = Vault::with_kdf_params(&aside, Box::new(f.store.at(&aside)), CHEAP);
    let (back, _, fresh) = ready(there.open(true, t0()).unwrap());
    assert!(!fresh);
    assert_eq!(back.as_slice(), key.as_slice());
    // Here: a first start with a new key.
    let (new, _, fresh) = ready(f.vault().open(false, t0()).unwrap());
    assert!(fresh);
    assert_ne!(new.as_slice(), key.as_slice());
}

#[test]
fn set_aside_with_a_pin_moves_the_sealed_key_and_needs_no_store() {
    let f = Fixture::new();
    let (v, key) = f.with_pin();
    let aside = f.dir.path().join("aside");
    std::fs::create_dir_all(&aside).unwrap();
    v.set_aside(&aside).unwrap();
    assert!(f.file_bytes().is_none());
    let there = Vault::with_kdf_params(&aside, Box::new(f.store.at(&aside)), CHEAP);
    assert!(matches!(
        there.open(true, t0()).unwrap(),
        Opening::EnterPin { .. }
    ));
    assert_eq!(there.unlock(PIN, t0()).unwrap().as_slice(), key.as_slice());
    assert!(matches!(
        f.vault().open(false, t0()).unwrap(),
        Opening::SetPin
    ));
}

#[test]
fn set_aside_moves_nothing_when_the_key_cannot_be_kept_there() {
    let f = Fixture::new();
    let v = f.vault();
    let (key, _, _) = ready(v.open(false, t0()).unwrap());
    let aside = f.dir.path().join("aside");
    std::fs::create_dir_all(&aside).unwrap();
    f.store.at(&aside).set_unavailable(true);
    let file = f.file_bytes().unwrap();
    assert!(matches!(
        v.set_aside(&aside),
        Err(KeyError::Problem(KeyProblem::CredentialStoreUnavailable))
    ));
    assert_eq!(f.file_bytes().unwrap(), file, "key file kept");
    assert_eq!(
        f.store.peek().as_deref(),
        Some(key.as_slice()),
        "entry kept"
    );
}
