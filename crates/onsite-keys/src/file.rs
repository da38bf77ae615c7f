//! The key file `<data dir>/onsite.key`: which method holds the key, its check value, the
//! sealed key for a PIN, the wrong tries, and the unsent counts. JSON, written atomically.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::seal::KdfParams;

/// The key file's format version.
pub(crate) const VERSION: u32 = 1;

/// The key file as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyFile {
    pub version: u32,
    #[serde(flatten)]
    pub body: Body,
    #[serde(default)]
    pub unsent: Unsent,
}

/// Where the key is, by method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub(crate) enum Body {
    /// The key is in the OS credential store.
    CredentialStore {
        /// Hex of the 16-byte check value.
        check: String,
    },
    /// The key is sealed here with the PIN.
    Pin {
        check: String,
        kdf: Kdf,
        sealed: Sealed,
        #[serde(default)]
        wrong_tries: u32,
        #[serde(default)]
        last_wrong_at: Option<DateTime<Utc>>,
    },
}

/// The key derivation: algorithm, cost and salt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Kdf {
    pub alg: String,
    #[serde(flatten)]
    pub params: KdfParams,
    pub salt: String,
}

/// The sealed key: algorithm, nonce and ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sealed {
    pub alg: String,
    pub nonce: String,
    pub ct: String,
}

/// What this device holds that head office has not received (counts only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Unsent {
    pub changes: u32,
    pub files: u32,
    pub counted_at: Option<DateTime<Utc>>,
    pub enrolled: bool,
}

pub(crate) const KDF_ALG: &str = "argon2id";
pub(crate) const SEAL_ALG: &str = "xchacha20poly1305";

/// Reading the key file.
pub(crate) enum Read {
    /// No key file.
    Absent,
    /// A key file that is not one this version understands (or could not be read).
    Damaged,
    Found(Box<KeyFile>),
}

/// Reads the key file. Anything but "not found" that keeps it from parsing as version 1
/// is `Damaged`: nothing is deleted or overwritten because of it.
pub(crate) fn read(path: &Path) -> Read {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Read::Absent,
        Err(_) => return Read::Damaged,
    };
    match serde_json::from_slice::<KeyFile>(&bytes) {
        Ok(f) if f.version == VERSION => Read::Found(Box::new(f)),
        _ => Read::Damaged,
    }
}

/// Writes the key file atomically: a 0600 temporary file beside it, fsync, rename over
/// it, fsync of the folder. A crash leaves the old file or the new one, never half.
pub(crate) fn write(path: &Path, file: &KeyFile) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_vec_pretty(file).map_err(std::io::Error::other)?;
    // tempfile creates the file with mode 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".onsite.key.")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    set_private(tmp.path())?;
    tmp.write_all(&json)?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Removes the key file (absent is fine) and syncs the folder.
pub(crate) fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

#[cfg(unix)]
fn set_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private(_path: &Path) -> std::io::Result<()> {
    // Windows: the file inherits the ACL of the app's per-user data folder.
    Ok(())
}

#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Windows cannot open a folder for fsync; the rename is durable with the file's flush.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_formats_parse() {
        let cs = r#"{"version":1,"method":"credential_store","check":"00112233445566778899aabbccddeeff"}"#;
        let Read::Found(f) = parse(cs) else {
            panic!("credential_store file")
        };
        assert!(matches!(f.body, Body::CredentialStore { .. }));
        assert_eq!(f.unsent, Unsent::default());

        let pin = r#"{"version":1,"method":"pin","check":"00112233445566778899aabbccddeeff",
            "kdf":{"alg":"argon2id","m_kib":65536,"t":3,"p":1,"salt":"000102030405060708090a0b0c0d0e0f"},
            "sealed":{"alg":"xchacha20poly1305","nonce":"00","ct":"00"},
            "wrong_tries":2,"last_wrong_at":null,
            "unsent":{"changes":3,"files":1,"counted_at":"2026-12-01T10:00:00Z","enrolled":true}}"#;
        let Read::Found(f) = parse(pin) else {
            panic!("pin file")
        };
        let Body::Pin {
            kdf, wrong_tries, ..
        } = &f.body
        else {
            panic!("pin body")
        };
        assert_eq!(kdf.params, KdfParams::DEFAULT);
        assert_eq!(*wrong_tries, 2);
        assert_eq!(f.unsent.changes, 3);

        assert!(matches!(
            parse(&cs.replace("\"version\":1", "\"version\":2")),
            Read::Damaged
        ));
        assert!(matches!(
            parse(&cs.replace("credential_store", "tpm")),
            Read::Damaged
        ));
        assert!(matches!(parse("{"), Read::Damaged));
        assert!(matches!(parse(""), Read::Damaged));
    }

    fn parse(s: &str) -> Read {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("onsite.key");
        std::fs::write(&p, s).unwrap();
        read(&p)
    }

    #[test]
    fn write_then_read_round_trips_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("onsite.key");
        assert!(matches!(read(&p), Read::Absent));
        let f = KeyFile {
            version: VERSION,
            body: Body::CredentialStore {
                check: "ab".repeat(16),
            },
            unsent: Unsent::default(),
        };
        write(&p, &f).unwrap();
        let Read::Found(back) = read(&p) else {
            panic!("written file reads")
        };
        assert_eq!(*back, f);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("onsite.key")]);
        remove(&p).unwrap();
        remove(&p).unwrap();
        assert!(matches!(read(&p), Read::Absent));
    }
}
