//! The real head office: the `onsite-hq` binary as a child process on 127.0.0.1, so that
//! it can be killed with SIGKILL, restarted, and restored from a backup of its database.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const DB_FILE: &str = "onsite-hq.sqlite3";

pub struct Hq {
    bin: PathBuf,
    pub dir: PathBuf,
    log: PathBuf,
    port: u16,
    token: String,
    child: Option<Child>,
    pub base: String,
    admin: Option<reqwest::Client>,
    pub ca_pem: String,
}

impl Hq {
    pub fn new(bin: &Path, dir: &Path, log: &Path, token: &str) -> Result<Hq, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let port = free_port_below_ephemeral()?;
        Ok(Hq {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            log: log.to_path_buf(),
            port,
            token: token.to_owned(),
            child: None,
            base: format!("https://127.0.0.1:{port}"),
            admin: None,
            ca_pem: String::new(),
        })
    }

    pub fn is_up(&self) -> bool {
        self.child.is_some()
    }

    pub fn tls_dir(&self) -> PathBuf {
        self.dir.join("tls")
    }

    pub fn db(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }

    /// Starts the server and waits for the line saying it listens (no sleeping).
    pub async fn start(&mut self, new_epoch: bool) -> Result<(), String> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--data")
            .arg(&self.dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--admin-token")
            .arg(&self.token)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if new_epoch {
            cmd.arg("--new-epoch");
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("onsite-hq listening on") {
                    return true;
                }
            }
            false
        })
        .await;
        if ready != Ok(true) {
            let _ = child.kill().await;
            return Err(format!(
                "head office did not start (see {})",
                self.log.display()
            ));
        }
        // Keep draining its stdout: a closed pipe would make its next println fail.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
        if self.admin.is_none() {
            self.ca_pem = std::fs::read_to_string(self.tls_dir().join("ca.pem"))
                .map_err(|e| format!("head office CA: {e}"))?;
            self.admin = Some(
                reqwest::Client::builder()
                    .use_rustls_tls()
                    .tls_built_in_root_certs(false)
                    .add_root_certificate(
                        reqwest::Certificate::from_pem(self.ca_pem.as_bytes())
                            .map_err(|e| e.to_string())?,
                    )
                    .no_proxy()
                    .timeout(Duration::from_secs(60))
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(())
    }

    /// SIGKILL, then waits for it to be gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// A consistent copy of the database while the server runs (`VACUUM INTO`).
    pub fn backup(&self, to: &Path) -> Result<(), String> {
        let conn = rusqlite::Connection::open_with_flags(
            self.db(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .map_err(|e| format!("backup: {e}"))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(|e| format!("backup: {e}"))?;
        conn.execute("VACUUM INTO ?1", [to.to_string_lossy()])
            .map_err(|e| format!("backup: {e}"))?;
        Ok(())
    }

    /// Stops the server, puts `backup` in place of its database, starts it again.
    pub async fn restore(&mut self, backup: &Path, new_epoch: bool) -> Result<(), String> {
        self.kill().await;
        for suffix in ["", "-wal", "-shm"] {
            let p = self.dir.join(format!("{DB_FILE}{suffix}"));
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| format!("restore: {e}"))?;
            }
        }
        std::fs::copy(backup, self.db()).map_err(|e| format!("restore: {e}"))?;
        self.start(new_epoch).await
    }

    pub async fn admin<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, String> {
        let client = self.admin.as_ref().ok_or("head office never started")?;
        let mut req = client
            .request(method.clone(), format!("{}{}", self.base, path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = res.status();
        let text = res.text().await.map_err(|e| format!("{path}: {e}"))?;
        if !status.is_success() {
            // Admin replies carry codes, not customer data.
            return Err(format!("{method} {path}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
    }
}

/// A free port for head office, kept across its restarts (std binds with SO_REUSEADDR).
/// Not from the ephemeral range: while head office is down, an outgoing connection could
/// take such a port (even the forwarder's own attempt to reach the closed port, which
/// Linux may connect to itself), and the restart would fail.
fn free_port_below_ephemeral() -> Result<u16, String> {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| {
            t.split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok())
        })
        .unwrap_or(32768);
    let span = low.saturating_sub(10_000).max(1);
    // Spread runs out (several may run at once), then probe upwards.
    let start = 10_000 + (std::process::id() % u32::from(span)) as u16;
    for i in 0..span {
        let port = 10_000 + (start - 10_000 + i) % span;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free port below the ephemeral range".into())
}
