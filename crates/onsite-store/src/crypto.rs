//! The device's data key and what it seals (issue 11, docs/data-at-rest.md).
//!
//! One random 256-bit [`DataKey`] per device (kept by `onsite-keys` in the OS credential
//! store or sealed with the technician's PIN). Three keys are derived from it with
//! HKDF-SHA256, one per use, so none is used for two things:
//! - the database's SQLCipher raw key;
//! - the blobs' XChaCha20-Poly1305 key;
//! - the blobs' file-name key: a blob's content address stays the SHA-256 of its plain
//!   bytes (in the database, in ops, at head office), but its file is named by an
//!   HMAC-SHA256 of that address, so that guessing a file's content (say, a known PDF) and
//!   hashing it confirms nothing to whoever holds the folder without the key.
//!
//! A blob file is `ONSB` · version 1 · a random 24-byte nonce · the ciphertext with its
//! 16-byte tag; the content address is the associated data, so a file moved under another
//! name does not decrypt.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use onsite_domain::signoff::sha256_hex;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{StoreError, StoreResult};

const MAGIC: &[u8; 4] = b"ONSB";
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Bytes a sealed blob adds to its content.
pub const BLOB_OVERHEAD: usize = MAGIC.len() + 1 + NONCE_LEN + TAG_LEN;

/// The device's data key. Never printed (its `Debug` says nothing) and wiped from memory
/// when dropped.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> DataKey {
        DataKey(bytes)
    }

    /// A key from its bytes as they are (tests that reopen a file from another process
    /// use a fixed one).
    pub fn from_array(bytes: [u8; 32]) -> DataKey {
        DataKey(Zeroizing::new(bytes))
    }

    /// A fresh random key (tests, benchmarks; the app's comes from `onsite-keys`).
    pub fn random() -> DataKey {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(&mut k[..]).expect("the OS random source");
        DataKey(k)
    }

    fn derive(&self, info: &str) -> Zeroizing<[u8; 32]> {
        let hk = hkdf::Hkdf::<Sha256>::new(None, &self.0[..]);
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand(info.as_bytes(), &mut out[..])
            .expect("32 bytes is a valid HKDF-SHA256 length");
        out
    }

    /// `x'<64 hex digits>'`: SQLCipher's raw-key form (no PBKDF2 at each open).
    pub(crate) fn sqlcipher_raw_key(&self) -> Zeroizing<String> {
        let k = self.derive("onsite database v1");
        Zeroizing::new(format!("x'{}'", hex::encode(&k[..])))
    }
}

/// The blobs folder and the keys that seal it: signatures, photos and documents, each
/// found by the SHA-256 of its plain bytes.
#[derive(Clone)]
pub struct Blobs {
    dir: PathBuf,
    seal: Zeroizing<[u8; 32]>,
    names: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs").field("dir", &self.dir).finish()
    }
}

fn check_sha(sha256: &str) -> StoreResult<String> {
    if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(StoreError::Invalid("not a SHA-256".into()));
    }
    Ok(sha256.to_ascii_lowercase())
}

impl Blobs {
    pub fn new(dir: impl Into<PathBuf>, key: &DataKey) -> Blobs {
        Blobs {
            dir: dir.into(),
            seal: key.derive("onsite blob encryption v1"),
            names: key.derive("onsite blob names v1"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds the blob whose plain bytes hash to `sha256` (which may not
    /// exist).
    pub fn path(&self, sha256: &str) -> StoreResult<PathBuf> {
        let sha = check_sha(sha256)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.names[..])
            .expect("HMAC takes any key length");
        mac.update(sha.as_bytes());
        Ok(self.dir.join(hex::encode(mac.finalize().into_bytes())))
    }

    /// Seals `bytes` and puts them in the folder (written to a temporary file, synced,
    /// renamed, the folder synced: a crash never leaves half a file under a valid name).
    /// Returns the content address. The same bytes twice keep one file; a file under that
    /// name that does not open (torn, damaged) is replaced.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha = sha256_hex(bytes);
        let path = self.path(&sha).map_err(std::io::Error::other)?;
        let sealed_len = (bytes.len() + BLOB_OVERHEAD) as u64;
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == sealed_len)
            && std::fs::read(&path)
                .ok()
                .and_then(|b| self.open(&sha, &b))
                .is_some()
        {
            return Ok(sha);
        }
        let sealed = self.seal(&sha, bytes);
        crate::private_files::create_dir(&self.dir)?;
        write_atomically(&self.dir, &path, &sealed)?;
        Ok(sha)
    }

    fn seal(&self, sha: &str, bytes: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new_from_slice(&self.seal[..]).expect("32-byte key");
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).expect("the OS random source");
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: bytes,
                    aad: sha.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any length we hold in memory");
        let mut out = Vec::with_capacity(bytes.len() + BLOB_OVERHEAD);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// The plain bytes of a blob, checked: a file that does not decrypt with this
    /// device's key, or whose bytes do not hash to `sha256`, is `Corrupt` (and left
    /// alone); a missing one is `Io` with `NotFound`.
    pub fn read(&self, sha256: &str) -> StoreResult<Vec<u8>> {
        let sha = check_sha(sha256)?;
        let path = self.path(&sha)?;
        let sealed = std::fs::read(&path).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        self.open(&sha, &sealed).ok_or(StoreError::Corrupt { path })
    }

    /// The plain size of a stored blob, from its file's size (without reading it).
    pub fn size(&self, sha256: &str) -> std::io::Result<u64> {
        let path = self.path(sha256).map_err(std::io::Error::other)?;
        let len = std::fs::metadata(path)?.len();
        Ok(len.saturating_sub(BLOB_OVERHEAD as u64))
    }

    fn open(&self, sha: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let body = sealed.strip_prefix(MAGIC)?.strip_prefix(&[VERSION])?;
        if body.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, ct) = body.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new_from_slice(&self.seal[..]).ok()?;
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: sha.as_bytes(),
                },
            )
            .ok()?;
        (sha256_hex(&plain) == sha).then_some(plain)
    }

    /// Seals the blobs an earlier version left in clear (named by their SHA-256, their
    /// bytes hashing to it): each sealed copy is written and synced before the plain file
    /// is removed, so a crash at any point loses nothing and the next start finishes the
    /// job. Files that are neither (a torn copy, a stranger's file) are left alone.
    /// Returns how many were sealed.
    pub fn seal_plain_leftovers(&self) -> std::io::Result<usize> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut sealed = 0;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if check_sha(name).ok().as_deref() != Some(name) || !entry.file_type()?.is_file() {
                continue;
            }
            let bytes = std::fs::read(entry.path())?;
            if bytes.starts_with(MAGIC) || sha256_hex(&bytes) != name {
                continue;
            }
            self.put(&bytes)?;
            // Read back before the plain copy goes.
            if self.read(name).ok().as_deref() != Some(&bytes[..]) {
                return Err(std::io::Error::other("a sealed blob did not read back"));
            }
            std::fs::remove_file(entry.path())?;
            sealed += 1;
        }
        if sealed > 0 {
            if let Ok(d) = std::fs::File::open(&self.dir) {
                let _ = d.sync_all();
            }
        }
        Ok(sealed)
    }
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::now_v7()));
    let written = (|| {
        let mut f = crate::private_files::create_file(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_round_trips_and_its_file_reveals_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::new(dir.path().join("blobs"), &DataKey::random());
        let content = "收据 张志强 13501234567".as_bytes();
        let sha = blobs.put(content).unwrap();
        assert_eq!(sha, sha256_hex(content));
        assert_eq!(blobs.read(&sha).unwrap(), content);
        assert_eq!(blobs.size(&sha).unwrap(), content.len() as u64);
        let files: Vec<_> = std::fs::read_dir(blobs.dir())
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(files.len(), 1, "one file, no temporary left");
        let name = files[0].file_name().into_string().unwrap();
        assert_ne!(name, sha, "the name is not the guessable content hash");
        assert_eq!(name.len(), 64);
        let on_disk = std::fs::read(files[0].path()).unwrap();
        assert!(!on_disk.windows(9).any(|w| w == "张志强".as_bytes()));
        assert!(!on_disk.windows(11).any(|w| w == b"13501234567"));
        // the same bytes again: one file
        assert_eq!(blobs.put(content).unwrap(), sha);
        assert_eq!(std::fs::read_dir(blobs.dir()).unwrap().count(), 1);
    }

    #[test]
    fn another_key_a_moved_file_or_a_flipped_bit_do_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let key = DataKey::random();
        let blobs = Blobs::new(dir.path(), &key);
        let a = blobs.put(b"first document").unwrap();
        let b = blobs.put(b"second document").unwrap();
        let other = Blobs::new(dir.path(), &DataKey::random());
        assert!(
            matches!(other.read(&a), Err(StoreError::Io { .. })),
            "other names"
        );
        std::fs::copy(blobs.path(&a).unwrap(), other.path(&a).unwrap()).unwrap();
        assert!(matches!(other.read(&a), Err(StoreError::Corrupt { .. })));
        // b's file put under a's name
        std::fs::copy(blobs.path(&b).unwrap(), blobs.path(&a).unwrap()).unwrap();
        assert!(matches!(blobs.read(&a), Err(StoreError::Corrupt { .. })));
        let p = blobs.path(&b).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        assert!(matches!(blobs.read(&b), Err(StoreError::Corrupt { .. })));
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "left alone");
        // a file under the name that does not open is replaced by the next put
        assert_eq!(blobs.put(b"second document").unwrap(), b);
        assert_eq!(blobs.read(&b).unwrap(), b"second document");
    }

    #[test]
    fn plain_leftovers_are_sealed_and_strangers_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let plain = b"%PDF-1.7 older receipt";
        let sha = sha256_hex(plain);
        std::fs::write(dir.path().join(&sha), plain).unwrap();
        let torn = "a".repeat(64);
        std::fs::write(dir.path().join(&torn), b"not what the name says").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"a stranger").unwrap();
        let blobs = Blobs::new(dir.path(), &DataKey::random());
        assert_eq!(blobs.seal_plain_leftovers().unwrap(), 1);
        assert!(!dir.path().join(&sha).exists());
        assert_eq!(blobs.read(&sha).unwrap(), plain);
        assert!(dir.path().join(&torn).exists());
        assert!(dir.path().join("notes.txt").exists());
        assert_eq!(blobs.seal_plain_leftovers().unwrap(), 0, "idempotent");
    }

    #[test]
    fn keys_never_print() {
        let key = DataKey::random();
        assert_eq!(format!("{key:?}"), "DataKey(…)");
        let blobs = Blobs::new("/x", &key);
        assert!(!format!("{blobs:?}").contains("seal"));
        let raw = key.sqlcipher_raw_key();
        assert!(raw.starts_with("x'") && raw.len() == 67);
    }
}
