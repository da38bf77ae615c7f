//! Head office's certificate, pinned at enrolment (issue 9, hole 11).
//!
//! The usual checks run first (the system's roots and head office's own CA, the host
//! name, the dates). The fingerprint of the certificate head office presents (SHA-256 of
//! its DER) is then recorded, for enrolment to show and keep; once a fingerprint is pinned,
//! any other certificate fails the TLS handshake, before a single byte of the request (or
//! the device's token) is sent. A head office that renews its certificate makes its
//! devices enrol again (docs/sync.md).

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::client::ClientError;

/// The text of a pin mismatch (it names the certificate, so the app reads it as a
/// certificate failure).
pub const PIN_MISMATCH: &str =
    "head office's certificate is not the one this device was enrolled with";

/// A fingerprint as people compare it: upper-case hex pairs joined by colons.
pub fn display_fingerprint(sha256_hex: &str) -> String {
    sha256_hex
        .as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

#[derive(Debug)]
struct PinningVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pin: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let fingerprint = crate::sha256_hex(end_entity.as_ref());
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(fingerprint.clone());
        match &self.pin {
            Some(pin) if *pin != fingerprint => Err(rustls::Error::General(PIN_MISMATCH.into())),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A rustls configuration trusting the system's roots and `ca_pem`, pinning `pin` when
/// given, and recording the certificate seen in `seen`.
pub(crate) fn tls_config(
    ca_pem: Option<&str>,
    pin: Option<&str>,
    seen: Arc<Mutex<Option<String>>>,
) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    // The system's roots: an unreadable one is skipped, as the platform verifier would.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(pem) = ca_pem {
        let pem = crate::client::normalise_pem(pem);
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|_| ClientError::BadCa)?;
            roots.add(cert).map_err(|_| ClientError::BadCa)?;
            added += 1;
        }
        if added == 0 {
            return Err(ClientError::BadCa);
        }
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| ClientError::Setup(e.to_string()))?;
    let verifier = PinningVerifier {
        inner,
        pin: pin.map(str::to_ascii_lowercase),
        seen,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_as_people_compare_them() {
        assert_eq!(display_fingerprint("ab01ff"), "AB:01:FF");
    }

    #[test]
    fn a_ca_that_is_not_a_certificate_is_refused() {
        let seen = Arc::new(Mutex::new(None));
        assert!(matches!(
            tls_config(Some("not a pem"), None, seen.clone()),
            Err(ClientError::BadCa)
        ));
        assert!(tls_config(None, Some("00"), seen).is_ok());
    }
}
