//! Sealing the key with a PIN (Argon2id + XChaCha20-Poly1305) and the check value.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{Key, KeyError};

/// What the check value is computed over (with the key as the HMAC key).
const CHECK_LABEL: &[u8] = b"onsite key check v1";
/// Associated data of the sealed key: binds the ciphertext to this format.
const SEAL_AD: &[u8] = b"onsite sealed data key v1";

/// Argon2id's cost: memory in KiB, passes, lanes. Stored in the key file with the salt,
/// so a later version can raise them for new PINs and still open old files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory, KiB.
    pub m_kib: u32,
    /// Passes (time cost).
    pub t: u32,
    /// Lanes (parallelism).
    pub p: u32,
}

impl KdfParams {
    /// The parameters new PINs are sealed with: 64 MiB, 3 passes, 1 lane (OWASP's
    /// second Argon2id profile is 46 MiB/1 pass; this costs more on purpose, see
    /// docs/keys.md for the time it takes).
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };

    /// Whether a key file's parameters are sane enough to run: a damaged or hostile
    /// file must not make the app allocate gigabytes or spin for hours.
    pub(crate) fn plausible(&self) -> bool {
        (8..=1024 * 1024).contains(&self.m_kib)
            && (1..=64).contains(&self.t)
            && (1..=16).contains(&self.p)
            && self.m_kib >= 8 * self.p
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Fills a buffer from the operating system's random generator.
pub(crate) fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, KeyError> {
    let mut out = Zeroizing::new([0u8; N]);
    getrandom::fill(out.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(out)
}

/// A fresh data key.
pub(crate) fn new_key() -> Result<Key, KeyError> {
    random::<32>()
}

/// First 16 bytes of HMAC-SHA256(key, "onsite key check v1"): tells the right key from a
/// damaged or foreign one. A MAC output reveals nothing usable about its key.
pub(crate) fn check_value(key: &[u8; 32]) -> [u8; 16] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(CHECK_LABEL);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// Compares a check value in constant time.
pub(crate) fn check_matches(key: &[u8; 32], check: &[u8; 16]) -> bool {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(CHECK_LABEL);
    mac.verify_truncated_left(check).is_ok()
}

/// The key-encryption key derived from the PIN (the PIN's UTF-8 bytes, exactly as typed).
pub(crate) fn derive(
    pin: &str,
    salt: &[u8; 16],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let p = Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|e| KeyError::Crypto(format!("Argon2 parameters: {e}")))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(pin.as_bytes(), salt, out.as_mut())
        .map_err(|e| KeyError::Crypto(format!("Argon2: {e}")))?;
    Ok(out)
}

/// Seals the data key under `kek` with a random nonce: (nonce, ciphertext with tag).
pub(crate) fn seal(kek: &[u8; 32], key: &[u8; 32]) -> Result<([u8; 24], Vec<u8>), KeyError> {
    let nonce = *random::<24>()?;
    let cipher = XChaCha20Poly1305::new(kek.into());
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: key,
                aad: SEAL_AD,
            },
        )
        .map_err(|_| KeyError::Crypto("sealing failed".into()))?;
    Ok((nonce, ct))
}

/// Opens a sealed key; `None` when `kek` is not the one it was sealed with (a wrong PIN)
/// or the ciphertext was altered.
pub(crate) fn unseal(kek: &[u8; 32], nonce: &[u8; 24], ct: &[u8]) -> Option<Key> {
    let cipher = XChaCha20Poly1305::new(kek.into());
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: SEAL_AD,
                },
            )
            .ok()?,
    );
    let mut key = Key::default();
    if plain.len() != 32 {
        return None;
    }
    key.copy_from_slice(&plain);
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    #[test]
    fn seal_and_unseal_round_trip_only_with_the_right_pin() {
        let key = new_key().unwrap();
        let salt = *random::<16>().unwrap();
        let kek = derive("123456", &salt, CHEAP).unwrap();
        let (nonce, ct) = seal(&kek, &key).unwrap();
        assert_eq!(ct.len(), 32 + 16);
        assert_eq!(*unseal(&kek, &nonce, &ct).unwrap(), *key);
        let wrong = derive("123457", &salt, CHEAP).unwrap();
        assert!(unseal(&wrong, &nonce, &ct).is_none());
        let mut bent = ct.clone();
        bent[3] ^= 1;
        assert!(unseal(&kek, &nonce, &bent).is_none());
    }

    #[test]
    fn check_value_tells_keys_apart() {
        let a = new_key().unwrap();
        let b = new_key().unwrap();
        let ca = check_value(&a);
        assert!(check_matches(&a, &ca));
        assert!(!check_matches(&b, &ca));
        // Not the key itself, nor a slice of it.
        assert!(!a.windows(16).any(|w| w == ca));
    }

    #[test]
    fn derivation_is_deterministic_and_salted() {
        let kek = derive("password", b"somesaltsomesalt", CHEAP).unwrap();
        let again = derive("password", b"somesaltsomesalt", CHEAP).unwrap();
        assert_eq!(*kek, *again);
        let other = derive("password", b"somesaltsomesalu", CHEAP).unwrap();
        assert_ne!(*kek, *other);
    }

    #[test]
    fn implausible_params_are_refused() {
        assert!(KdfParams::DEFAULT.plausible());
        assert!(CHEAP.plausible());
        assert!(!KdfParams {
            m_kib: 4 * 1024 * 1024,
            t: 3,
            p: 1
        }
        .plausible());
        assert!(!KdfParams {
            m_kib: 65536,
            t: 0,
            p: 1
        }
        .plausible());
        assert!(!KdfParams {
            m_kib: 65536,
            t: 1000,
            p: 1
        }
        .plausible());
        assert!(!KdfParams {
            m_kib: 65536,
            t: 3,
            p: 0
        }
        .plausible());
    }
}
