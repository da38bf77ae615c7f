//! The configuration file (TOML) of `onsite-hq` (issue 12, operations). Every key is
//! optional; a flag or an environment variable given for the same setting wins over the
//! file, and the file over the built-in default (docs/hq-operations.md). Unknown keys are
//! refused, so a misspelt setting is not silently ignored. The admin token is not read
//! from here (it has its own file, 0600, or `ONSITE_HQ_ADMIN_TOKEN`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `onsite-hq.toml`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The data directory.
    pub data: Option<PathBuf>,
    /// The database URL (postgres://…); SQLite in `data` without it.
    pub database: Option<String>,
    /// At most this many connections to PostgreSQL.
    pub database_pool: Option<u32>,
    /// PEM file of the CA that signed the PostgreSQL server's certificate.
    pub database_ca: Option<PathBuf>,
    /// Address and port to listen on.
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain and its key.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Names for the self-made certificate.
    pub cert_names: Option<Vec<String>>,
    /// `text` or `json`.
    pub log_format: Option<String>,
    /// Address and port for Prometheus metrics (plain HTTP).
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds a stop waits for requests in flight.
    pub shutdown_grace: Option<u64>,
    /// The limits (docs/hq-limits.md).
    #[serde(default)]
    pub limits: FileLimits,
}

/// `[limits]`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    pub request_timeout: Option<u64>,
    pub blob_timeout: Option<u64>,
    pub max_in_flight: Option<usize>,
    pub failed_enrol_per_minute: Option<u32>,
    pub failed_auth_per_minute: Option<u32>,
    pub blob_quota_mib: Option<u64>,
}

/// Reads and checks the file; the error names the file and, for a bad key or value, where.
pub fn read(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the configuration file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("configuration file {}: {e}", path.display()))
}

/// Parses the file's text.
pub fn parse(text: &str) -> Result<FileConfig, String> {
    let config: FileConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    if let Some(f) = &config.log_format {
        if f != "text" && f != "json" {
            return Err(format!(
                "log_format must be \"text\" or \"json\", not {f:?}"
            ));
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_read_and_none_is_required() {
        assert_eq!(parse("").unwrap(), FileConfig::default());
        let c = parse(
            r#"
            data = "/var/lib/onsite-hq"
            database = "postgres://onsite@db.example.com/onsite"
            database_pool = 8
            database_ca = "/etc/onsite-hq/db-ca.pem"
            listen = "0.0.0.0:8443"
            cert = "/etc/onsite-hq/cert.pem"
            key = "/etc/onsite-hq/key.pem"
            cert_names = ["hq.example.com"]
            log_format = "json"
            metrics_listen = "127.0.0.1:9464"
            shutdown_grace = 45
            [limits]
            request_timeout = 20
            blob_timeout = 90
            max_in_flight = 256
            failed_enrol_per_minute = 5
            failed_auth_per_minute = 20
            blob_quota_mib = 512
            "#,
        )
        .unwrap();
        assert_eq!(c.data.as_deref(), Some(Path::new("/var/lib/onsite-hq")));
        assert_eq!(
            c.database.as_deref(),
            Some("postgres://onsite@db.example.com/onsite")
        );
        assert_eq!(c.database_pool, Some(8));
        assert_eq!(
            c.database_ca.as_deref(),
            Some(Path::new("/etc/onsite-hq/db-ca.pem"))
        );
        assert_eq!(c.listen, Some("0.0.0.0:8443".parse().unwrap()));
        assert_eq!(c.cert_names, Some(vec!["hq.example.com".to_string()]));
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(c.shutdown_grace, Some(45));
        assert_eq!(c.limits.max_in_flight, Some(256));
        assert_eq!(c.limits.blob_quota_mib, Some(512));
        assert_eq!(c.limits.failed_auth_per_minute, Some(20));
    }

    #[test]
    fn a_misspelt_key_or_a_bad_value_is_refused_with_where() {
        let e = parse("max_inflight = 3").unwrap_err();
        assert!(e.contains("max_inflight"), "{e}");
        let e = parse("[limits]\nmax_in_flight = -1").unwrap_err();
        assert!(e.contains("max_in_flight") || e.contains("line 2"), "{e}");
        let e = parse("listen = \"not an address\"").unwrap_err();
        assert!(e.contains("listen") || e.contains("line 1"), "{e}");
        let e = parse("log_format = \"xml\"").unwrap_err();
        assert!(e.contains("log_format"), "{e}");
        assert!(
            parse("admin_token = \"secret\"").is_err(),
            "not from the file"
        );
    }
}
