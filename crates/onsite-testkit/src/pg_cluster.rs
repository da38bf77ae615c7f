//! A throwaway PostgreSQL cluster for tests: `initdb` into a new temporary folder (as the
//! `postgres` user when running as root: initdb and the server refuse root), `pg_ctl` on a
//! free port of 127.0.0.1 with its socket in that folder, trust authentication for the user
//! `onsite`, fsync off (nothing here outlives the run). Stopped and removed on drop, and
//! also when the process that started it ends in any way (a watcher process waits for the
//! end of a pipe only this process holds).
//!
//! Standard library only: `cargo xtask test` includes this file too (`#[path]`), so that
//! one cluster serves a whole test run without xtask depending on the test kit.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// The environment variable naming a running cluster's admin URL
/// (`postgres://onsite@127.0.0.1:PORT/postgres`); tests make their databases there.
pub const URL_VAR: &str = "ONSITE_TEST_PG_URL";

/// A running cluster.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    watcher: Option<(Child, ChildStdin)>,
}

/// PostgreSQL's programs: `$ONSITE_PG_BIN`, or the newest /usr/lib/postgresql/*/bin.
pub fn bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("ONSITE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| {
            "PostgreSQL is not installed (no /usr/lib/postgresql): apt-get install postgresql, \
             or cargo xtask setup"
                .to_string()
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_string())
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// A shell word (the paths here are ours: no quote in them, but be safe).
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Cluster {
    /// Makes and starts a new cluster (about 2 s).
    pub fn start() -> Result<Cluster, String> {
        let mut cluster = Cluster::empty()?;
        cluster.init()?;
        cluster.serve()?;
        Ok(cluster)
    }

    /// Makes and starts a new cluster that archives its write-ahead log into
    /// [`Cluster::archive_dir`], for point-in-time recovery.
    pub fn start_archiving() -> Result<Cluster, String> {
        let mut cluster = Cluster::empty()?;
        cluster.init()?;
        let archive = cluster.archive_dir();
        cluster.run(&format!("mkdir -p {}", quote(&archive.to_string_lossy())))?;
        cluster.append_conf(
            "postgresql.conf",
            &format!(
                "archive_mode = on\narchive_command = 'cp %p {}/%f'\n",
                archive.to_string_lossy()
            ),
        )?;
        cluster.serve()?;
        Ok(cluster)
    }

    /// Makes and starts a new cluster that speaks TLS with `cert_pem` and `key_pem` (and
    /// plain text to clients that do not ask for TLS, as PostgreSQL does).
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Result<Cluster, String> {
        let mut cluster = Cluster::empty()?;
        cluster.init()?;
        for (name, pem) in [("server.crt", cert_pem), ("server.key", key_pem)] {
            let path = cluster.data().join(name);
            std::fs::write(&path, pem)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            // PostgreSQL refuses a key others can read, and runs as its own user.
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| format!("cannot protect {}: {e}", path.display()))?;
            }
            cluster.give_to_postgres(&path)?;
        }
        cluster.append_conf(
            "postgresql.conf",
            "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
        )?;
        cluster.serve()?;
        Ok(cluster)
    }

    /// A new cluster made from `base` (a base backup of another) and the write-ahead log in
    /// `archive`, recovered up to `target` (a time as PostgreSQL reads it, `2026-01-05 08:00:00.000000+00`) and
    /// promoted: a
    /// point-in-time recovery. Returns once it accepts writes.
    pub fn recover(base: &Path, archive: &Path, target: &str) -> Result<Cluster, String> {
        let mut cluster = Cluster::empty()?;
        let data = cluster.data();
        cluster.run(&format!(
            "cp -a {} {} && touch {}",
            quote(&base.to_string_lossy()),
            quote(&data.to_string_lossy()),
            quote(&data.join("recovery.signal").to_string_lossy())
        ))?;
        // hot_standby off: the server takes connections only once recovery ended and it
        // was promoted, which is what `pg_ctl -w start` waits for.
        cluster.append_conf(
            "postgresql.auto.conf",
            &format!(
                "restore_command = 'cp {}/%f %p'\nrecovery_target_time = '{target}'\n\
                 recovery_target_action = 'promote'\nhot_standby = off\narchive_mode = off\n",
                archive.to_string_lossy()
            ),
        )?;
        cluster.serve()?;
        Ok(cluster)
    }

    /// Where [`Cluster::start_archiving`] archives the write-ahead log.
    pub fn archive_dir(&self) -> PathBuf {
        self.dir.join("archive")
    }

    /// A base backup (pg_basebackup, with the log it needs) into a new folder; its path.
    pub fn base_backup(&self) -> Result<PathBuf, String> {
        let to = self.dir.join(format!("base-{}", self.backups_made()));
        self.run(&format!(
            "{} -D {} -h 127.0.0.1 -p {} -U onsite -X stream --checkpoint=fast --no-sync",
            quote(&self.bin.join("pg_basebackup").to_string_lossy()),
            quote(&to.to_string_lossy()),
            self.port
        ))?;
        Ok(to)
    }

    fn backups_made(&self) -> usize {
        std::fs::read_dir(&self.dir).map_or(0, |d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("base-"))
                .count()
        })
    }

    /// Stops the server (fast shutdown; what is ready to archive is archived), keeping
    /// the folder (its backups and archive) until the cluster is dropped.
    pub fn halt(&self) -> Result<(), String> {
        self.run(&format!(
            "{} -D {} -m fast -w stop",
            quote(&self.bin.join("pg_ctl").to_string_lossy()),
            quote(&self.data().to_string_lossy())
        ))
    }

    /// A folder for a cluster, owned by the postgres user when running as root, with the
    /// watcher that removes it.
    fn empty() -> Result<Cluster, String> {
        let bin = bin_dir()?;
        let as_postgres = running_as_root();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "onsite-pg-{}-{}",
            std::process::id(),
            nanos % 1_000_000_000
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        let mut cluster = Cluster {
            dir,
            bin,
            port: 0,
            as_postgres,
            watcher: None,
        };
        cluster.watch()?;
        cluster.give_to_postgres(&cluster.dir)?;
        Ok(cluster)
    }

    /// Makes `path` the postgres user's when running as root (the server runs as it).
    fn give_to_postgres(&self, path: &Path) -> Result<(), String> {
        if !self.as_postgres {
            return Ok(());
        }
        let status = Command::new("chown")
            .arg("postgres")
            .arg(path)
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !status.success() {
            return Err("chown postgres failed (is there a postgres user?)".into());
        }
        Ok(())
    }

    fn init(&self) -> Result<(), String> {
        self.run(&format!(
            "{} -D {} -A trust -U onsite --no-sync -E UTF8 --no-locale",
            quote(&self.bin.join("initdb").to_string_lossy()),
            quote(&self.data().to_string_lossy())
        ))
    }

    fn append_conf(&self, file: &str, lines: &str) -> Result<(), String> {
        let path = self.data().join(file);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(lines.as_bytes()))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    fn serve(&mut self) -> Result<(), String> {
        // A port can be taken between our probe and the server's bind: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            self.port = free_port()?;
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c max_connections=300",
                self.port,
                self.dir.to_string_lossy()
            );
            match self.run(&format!(
                "{} -D {} -o {} -l {} -w -t 60 start",
                quote(&self.bin.join("pg_ctl").to_string_lossy()),
                quote(&self.data().to_string_lossy()),
                quote(&options),
                quote(&self.dir.join("server.log").to_string_lossy())
            )) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The folder holding the cluster (its data, socket and log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The TCP port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// PostgreSQL's programs (pg_dump, pg_restore, psql).
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The URL of database `db` as the user `onsite` (trusted: no password).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://onsite@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs a shell command, as the postgres user when running as root.
    fn run(&self, command: &str) -> Result<(), String> {
        let out = if self.as_postgres {
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", command])
                .stdin(Stdio::null())
                .output()
        } else {
            Command::new("/bin/sh")
                .args(["-c", command])
                .stdin(Stdio::null())
                .output()
        }
        .map_err(|e| format!("cannot run {command}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            Err(format!(
                "{command} failed: {}{}\n{log}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// The stop command (fast shutdown), then the folder removed.
    fn stop_command(&self) -> String {
        let stop = format!(
            "{} -D {} -m fast -w stop",
            quote(&self.bin.join("pg_ctl").to_string_lossy()),
            quote(&self.data().to_string_lossy())
        );
        let stop = if self.as_postgres {
            format!("su postgres -s /bin/sh -c {}", quote(&stop))
        } else {
            stop
        };
        format!(
            "{stop} >/dev/null 2>&1; rm -rf {}",
            quote(&self.dir.to_string_lossy())
        )
    }

    /// A watcher that stops the cluster when this process ends without dropping it (a
    /// test binary's statics are never dropped; a panic or a kill): it reads a pipe only
    /// this process writes to, and reaches its end when the process is gone.
    fn watch(&mut self) -> Result<(), String> {
        // In a process group of its own and deaf to the signals a terminal's Ctrl-C or a
        // CI's cancel sends to the test's group (the server runs in its own session
        // already): it outlives the test, stops the cluster, then ends.
        let mut child = Command::new("/bin/sh")
            .args([
                "-c",
                &format!(
                    "trap '' INT TERM HUP QUIT; read _ignored; {}",
                    self.stop_command()
                ),
            ])
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the cluster's watcher: {e}"))?;
        let stdin = child.stdin.take().ok_or("no pipe to the watcher")?;
        self.watcher = Some((child, stdin));
        Ok(())
    }

    /// Stops the cluster and removes its folder, waiting until done.
    pub fn stop(&mut self) {
        if let Some((mut child, mut stdin)) = self.watcher.take() {
            let _ = stdin.write_all(b"stop\n");
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
