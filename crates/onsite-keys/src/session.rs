//! A private D-Bus session bus with a real gnome-keyring on it, for tests (this crate's,
//! the E2E harness's, xtask's). Linux only.
//!
//! [`KeyringSession::start`] runs `dbus-daemon` with a configuration of its own (listening
//! on a socket in a temporary folder, no service activation, so nothing else is ever
//! started on it) and `gnome-keyring-daemon --unlock --components=secrets --foreground`
//! with its home, data and runtime folders in that temporary folder and the password on
//! stdin, which creates and unlocks a "login" collection that is the default one. It
//! returns once the bus has printed its address, the name `org.freedesktop.secrets` has
//! an owner (waited for with the bus's `NameOwnerChanged` signal) and the default
//! collection alias answers.
//!
//! Point a process at it with `DBUS_SESSION_BUS_ADDRESS=<address()>`. Dropping the
//! session kills exactly the two processes it started (by their PIDs, waiting for them)
//! and removes the temporary folder.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The Secret Service's bus name.
pub const SECRETS_NAME: &str = "org.freedesktop.secrets";

/// The password of the test keyring (it only ever protects test secrets).
pub const PASSWORD: &str = "onsite-test-keyring";

/// How long start may take before it gives up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running private session bus with gnome-keyring's Secret Service on it.
#[derive(Debug)]
pub struct KeyringSession {
    address: String,
    dbus: Option<Child>,
    keyring: Option<Child>,
    dir: Option<tempfile::TempDir>,
}

impl KeyringSession {
    /// Starts the bus and the keyring and waits until the Secret Service answers. `Err`
    /// says what is missing or failed (e.g. "dbus-daemon: No such file or directory"):
    /// a test should fail on it, not skip.
    pub fn start() -> Result<KeyringSession, String> {
        let dir = tempfile::Builder::new()
            .prefix("onsite-keyring-")
            .tempdir()
            .map_err(|e| format!("temporary folder: {e}"))?;
        let mut session = KeyringSession {
            address: String::new(),
            dbus: None,
            keyring: None,
            dir: None,
        };
        let root = dir.path().to_path_buf();
        session.dir = Some(dir);
        // On any error below, dropping `session` kills what was started.
        session.start_bus(&root)?;
        session.start_keyring(&root)?;
        session.wait_for_secrets(&root)?;
        Ok(session)
    }

    /// The bus address, for `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The PID of the `dbus-daemon` this session started.
    pub fn dbus_pid(&self) -> u32 {
        self.dbus.as_ref().map_or(0, Child::id)
    }

    /// The PID of the `gnome-keyring-daemon` this session started.
    pub fn keyring_pid(&self) -> u32 {
        self.keyring.as_ref().map_or(0, Child::id)
    }

    /// The session's temporary folder (the bus socket, the keyring's files and logs).
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map(|d| d.path())
            .unwrap_or(Path::new("/"))
    }

    fn start_bus(&mut self, root: &Path) -> Result<(), String> {
        let socket = root.join("bus");
        let config = root.join("session.conf");
        fs::write(&config, bus_config(&socket)).map_err(|e| format!("bus config: {e}"))?;
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .arg("--print-address=1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file(root, "dbus-daemon.log")?)
            .spawn()
            .map_err(|e| format!("dbus-daemon: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        self.dbus = Some(child);
        // The daemon prints its address once it listens: read it (EOF if it died).
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("dbus-daemon address: {e}"))?;
        let address = line.trim().to_string();
        if address.is_empty() {
            return Err(format!(
                "dbus-daemon printed no address: {}",
                read_log(root, "dbus-daemon.log")
            ));
        }
        self.address = address;
        Ok(())
    }

    fn start_keyring(&mut self, root: &Path) -> Result<(), String> {
        let home = root.join("home");
        let run = root.join("run");
        for d in [&home, &run] {
            fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            private_dir(d)?;
        }
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
        let mut child = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .env_clear()
            .env("PATH", path)
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_RUNTIME_DIR", &run)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("LANG", "C")
            .stdin(Stdio::piped())
            .stdout(log_file(root, "gnome-keyring.log")?)
            .stderr(log_file(root, "gnome-keyring.err")?)
            .spawn()
            .map_err(|e| format!("gnome-keyring-daemon: {e}"))?;
        let mut stdin = child.stdin.take().expect("piped");
        self.keyring = Some(child);
        // The password, then EOF: --unlock reads until the end.
        stdin
            .write_all(PASSWORD.as_bytes())
            .map_err(|e| format!("gnome-keyring-daemon password: {e}"))?;
        drop(stdin);
        Ok(())
    }

    fn wait_for_secrets(&mut self, root: &Path) -> Result<(), String> {
        let (tx, rx) = mpsc::channel();
        let address = self.address.clone();
        // zbus's blocking calls run on a tokio runtime of their own: a thread of their own
        // keeps this safe to call from inside a runtime. If the wait is abandoned, the
        // thread ends when the bus is killed.
        std::thread::Builder::new()
            .name("onsite-keyring-wait".into())
            .spawn(move || {
                let _ = tx.send(secrets_ready(&address));
            })
            .map_err(|e| format!("thread: {e}"))?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            // Wake now and then only to notice a keyring that died at start.
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => {
                    return Err(format!(
                        "Secret Service: {e}; gnome-keyring said: {}",
                        read_log(root, "gnome-keyring.err")
                    ))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err("the wait for the Secret Service panicked".into())
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let Some(k) = self.keyring.as_mut() {
                if let Ok(Some(status)) = k.try_wait() {
                    return Err(format!(
                        "gnome-keyring-daemon exited ({status}): {}",
                        read_log(root, "gnome-keyring.err")
                    ));
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no Secret Service on the bus within {} s: {}",
                    START_TIMEOUT.as_secs(),
                    read_log(root, "gnome-keyring.err")
                ));
            }
        }
    }
}

/// Waits until `org.freedesktop.secrets` has an owner on the bus, then checks that the
/// default collection exists.
fn secrets_ready(address: &str) -> Result<(), String> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: zbus::Error| format!("{what}: {err}")
    };
    let conn = zbus::blocking::connection::Builder::address(address)
        .map_err(e("bus address"))?
        .build()
        .map_err(e("connect to the bus"))?;
    let bus = zbus::blocking::fdo::DBusProxy::new(&conn).map_err(e("bus proxy"))?;
    // Subscribe first, then ask: an owner that appears in between is not missed.
    let mut changes = bus
        .receive_name_owner_changed_with_args(&[(0, SECRETS_NAME)])
        .map_err(e("subscribe to NameOwnerChanged"))?;
    let name = zbus::names::BusName::try_from(SECRETS_NAME).expect("a valid name");
    let fe = |what: &'static str| move |err: zbus::fdo::Error| format!("{what}: {err}");
    if !bus.name_has_owner(name).map_err(fe("NameHasOwner"))? {
        loop {
            let signal = changes.next().ok_or("the bus closed")?;
            let args = signal.args().map_err(e("NameOwnerChanged arguments"))?;
            if args.new_owner().is_some() {
                break;
            }
        }
    }
    let reply = conn
        .call_method(
            Some(SECRETS_NAME),
            "/org/freedesktop/secrets",
            Some("org.freedesktop.Secret.Service"),
            "ReadAlias",
            &("default",),
        )
        .map_err(e("ReadAlias(default)"))?;
    let path: zbus::zvariant::OwnedObjectPath = reply
        .body()
        .deserialize()
        .map_err(e("ReadAlias(default) reply"))?;
    if path.as_str() == "/" {
        return Err("the keyring has no default collection".into());
    }
    Ok(())
}

impl Drop for KeyringSession {
    fn drop(&mut self) {
        // Exactly the processes started here, by their own handles (PIDs), then reaped.
        for child in [self.keyring.take(), self.dbus.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

/// A session bus configuration: one socket in our folder, anyone may own or call
/// anything, and no service activation (nothing is started on demand).
fn bus_config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        xml_escape(&dbus_escape(&socket.to_string_lossy()))
    )
}

/// D-Bus address value escaping: bytes outside `[-0-9A-Za-z_/.\*]` as `%xx`.
fn dbus_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_/.\\*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn log_file(root: &Path, name: &str) -> Result<fs::File, String> {
    fs::File::create(root.join(name)).map_err(|e| format!("{name}: {e}"))
}

fn read_log(root: &Path, name: &str) -> String {
    let text = fs::read_to_string(root.join(name)).unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        "(nothing)".into()
    } else {
        text.chars().take(2000).collect()
    }
}

fn private_dir(d: &PathBuf) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(d, fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("{}: {e}", d.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PIDs whose parent is `pid` (from /proc/<pid>/stat, field 4).
    fn children_of(pid: u32) -> Vec<u32> {
        let mut out = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may hold spaces, so split after the ')'.
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            let ppid = after
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(pid) {
                out.push(child);
            }
        }
        out
    }

    #[test]
    fn addresses_are_escaped() {
        assert_eq!(dbus_escape("/tmp/a b,c"), "/tmp/a%20b%2cc");
        assert_eq!(dbus_escape("/tmp/.tmpA-1_z"), "/tmp/.tmpA-1_z");
    }

    #[test]
    fn a_session_starts_answers_and_cleans_up() {
        let s = KeyringSession::start().expect("dbus-daemon and gnome-keyring-daemon start");
        assert!(s.address().starts_with("unix:path="), "{}", s.address());
        let (dbus, keyring, dir) = (s.dbus_pid(), s.keyring_pid(), s.dir().to_path_buf());
        assert!(Path::new(&format!("/proc/{dbus}")).exists());
        assert!(Path::new(&format!("/proc/{keyring}")).exists());
        // secret-tool stores and finds through it.
        let store = Command::new("secret-tool")
            .args(["store", "--label=probe", "onsite-probe", "1"])
            .env("DBUS_SESSION_BUS_ADDRESS", s.address())
            .stdin(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(b"probe-secret")?;
                c.wait()
            })
            .expect("secret-tool store");
        assert!(store.success());
        let out = Command::new("secret-tool")
            .args(["lookup", "onsite-probe", "1"])
            .env("DBUS_SESSION_BUS_ADDRESS", s.address())
            .output()
            .expect("secret-tool lookup");
        assert_eq!(out.stdout, b"probe-secret");
        // The helper sees a child when there is one...
        let mut cat = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
        assert!(children_of(std::process::id()).contains(&cat.id()));
        drop(cat.stdin.take());
        cat.wait().unwrap();
        // ...and neither daemon started a process of its own (no activation, no helper), so
        // killing the two PIDs leaves nothing behind.
        assert_eq!(
            children_of(dbus),
            Vec::<u32>::new(),
            "dbus-daemon's children"
        );
        assert_eq!(
            children_of(keyring),
            Vec::<u32>::new(),
            "gnome-keyring's children"
        );
        drop(s);
        // Reaped (no zombie left behind either) and the folder is gone.
        assert!(!Path::new(&format!("/proc/{dbus}")).exists());
        assert!(!Path::new(&format!("/proc/{keyring}")).exists());
        assert!(!dir.exists());
    }
}
