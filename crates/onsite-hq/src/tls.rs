//! TLS: the rustls server configuration (ring provider), and a self-made certificate
//! authority for a head office that has no certificate of its own: a CA and a server
//! certificate signed by it, made with rcgen at first start and kept in the data directory.
//! Devices trust the CA file (`tls/ca.pem`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS set-up failure.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A PEM file that holds no usable certificate or key.
    #[error("{0}")]
    Pem(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// rcgen failed to make a certificate.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// PEM texts of a generated CA and of a server certificate signed by it.
pub struct GeneratedCerts {
    /// The CA certificate (give it to devices).
    pub ca_pem: String,
    /// The server certificate followed by the CA certificate.
    pub cert_chain_pem: String,
    /// The server's private key (PKCS#8).
    pub key_pem: String,
}

/// Makes a CA and a server certificate for `names` (DNS names or IP addresses).
pub fn generate(names: &[String]) -> Result<GeneratedCerts, TlsError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Onsite head office local CA");
    ca_params.distinguished_name = dn;
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut params = CertificateParams::new(names.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "onsite-hq");
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;
    let ca_pem = ca.pem();
    Ok(GeneratedCerts {
        cert_chain_pem: format!("{}{}", cert.pem(), ca_pem),
        ca_pem,
        key_pem: key.serialize_pem(),
    })
}

/// Where [`ensure_self_signed`] keeps its files.
pub struct CertPaths {
    /// The CA certificate devices should trust.
    pub ca: PathBuf,
    /// The server certificate chain.
    pub cert: PathBuf,
    /// The server key.
    pub key: PathBuf,
    /// Whether they were made by this call.
    pub created: bool,
}

fn write_file(path: &Path, text: &str, secret: bool) -> Result<(), TlsError> {
    let io = |source| TlsError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(io)?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Uses `<data>/tls/{ca,cert,key}.pem`, making them on first use for `names`.
pub fn ensure_self_signed(data: &Path, names: &[String]) -> Result<CertPaths, TlsError> {
    let dir = data.join("tls");
    let paths = CertPaths {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        created: false,
    };
    if paths.cert.exists() && paths.key.exists() {
        return Ok(paths);
    }
    std::fs::create_dir_all(&dir).map_err(|source| TlsError::Io {
        path: dir.clone(),
        source,
    })?;
    let certs = generate(names)?;
    for p in [&paths.ca, &paths.cert, &paths.key] {
        // A half-made set from an interrupted start: make it again whole.
        let _ = std::fs::remove_file(p);
    }
    write_file(&paths.ca, &certs.ca_pem, false)?;
    write_file(&paths.cert, &certs.cert_chain_pem, false)?;
    write_file(&paths.key, &certs.key_pem, true)?;
    Ok(CertPaths {
        created: true,
        ..paths
    })
}

/// A rustls server configuration (ring, TLS 1.2 and 1.3, ALPN h2 and http/1.1) from PEM
/// texts of a certificate chain and a private key.
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem(format!("certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::Pem(
            "the certificate file holds no certificate".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| TlsError::Pem(format!("private key PEM: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// [`server_config`] from files.
pub fn server_config_from_files(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| TlsError::Io {
            path: p.to_owned(),
            source,
        })
    };
    server_config(&read(cert)?, &read(key)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certs_load() {
        let c = generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
        assert!(c.ca_pem.contains("BEGIN CERTIFICATE"));
        server_config(c.cert_chain_pem.as_bytes(), c.key_pem.as_bytes()).unwrap();
        assert!(server_config(b"junk", c.key_pem.as_bytes()).is_err());
    }

    #[test]
    fn self_signed_is_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["localhost".to_owned()];
        let first = ensure_self_signed(dir.path(), &names).unwrap();
        assert!(first.created);
        let ca = std::fs::read(&first.ca).unwrap();
        let second = ensure_self_signed(dir.path(), &names).unwrap();
        assert!(!second.created);
        assert_eq!(std::fs::read(&second.ca).unwrap(), ca);
        server_config_from_files(&second.cert, &second.key).unwrap();
    }
}
