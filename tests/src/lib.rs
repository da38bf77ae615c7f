//! Harness for end-to-end tests: a private Xvfb display, tauri-driver on free ports, and a
//! WebDriver session on the real Onsite binary. Everything started here is stopped on drop,
//! by PID (tauri-driver with SIGTERM, so that it stops its WebKitWebDriver too).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use onsite_keys::CredentialStore;

/// The app binary under test: $ONSITE_BIN, else target/debug/onsite.
pub fn app_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("ONSITE_BIN") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("debug").join("onsite");
    assert!(
        bin.exists(),
        "{} not found: build it first (cargo build -p onsite), or run `cargo xtask test`",
        bin.display()
    );
    bin.canonicalize().unwrap()
}

fn stop(child: &mut Child, signal: &str) {
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
}

/// A private X display, started with -displayfd so we wait for it to be ready, not sleep.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Xvfb {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x900x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is not installed (apt-get install xvfb), or run `cargo xtask test`");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("Xvfb did not report its display");
        let n = line.trim();
        assert!(!n.is_empty(), "Xvfb exited without a display");
        Xvfb {
            child,
            display: format!(":{n}"),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        stop(&mut self.child, "-TERM");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// tauri-driver with the app's environment (data folder, XDG folders, display, language).
pub struct Driver {
    child: Child,
    pub port: u16,
    /// The app's data folder (`ONSITE_DATA_DIR`), when given.
    data_dir: Option<PathBuf>,
}

impl Driver {
    pub fn start(display: &str, env: &[(&str, &Path)], lang: &str) -> Driver {
        let port = free_port();
        let native = free_port();
        let mut cmd = Command::new("tauri-driver");
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("DISPLAY", display)
        .env("LANG", lang)
        .env("LC_ALL", lang)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect(
            "tauri-driver is not installed (cargo install tauri-driver), or run `cargo xtask test`",
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("tauri-driver exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let data_dir = env
            .iter()
            .find(|(k, _)| *k == "ONSITE_DATA_DIR")
            .map(|(_, v)| v.to_path_buf());
        Driver {
            child,
            port,
            data_dir,
        }
    }

    pub async fn session(&self, app: &Path) -> Client {
        // A restart in the same data folder: the app of the previous session may still be
        // closing, and a new one would hand over to it and exit (no session). Wait for it.
        if let Some(dir) = &self.data_dir {
            wait_apps_gone(dir, Duration::from_secs(20));
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app }),
        );
        caps.insert("browserName".into(), "wry".into());
        // Bounded: a session that never comes (the app did not start) fails the test
        // instead of hanging the suite.
        let url = format!("http://127.0.0.1:{}", self.port);
        let mut builder = ClientBuilder::native();
        builder.capabilities(caps);
        tokio::time::timeout(Duration::from_secs(90), builder.connect(&url))
            .await
            .expect("no WebDriver session within 90 s: the app did not start")
            .expect("WebDriver session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        stop(&mut self.child, "-TERM");
    }
}

/// A fresh user: data folder and XDG folders in a temporary directory, and the user's own
/// Secret Service (a private D-Bus session with an unlocked gnome-keyring, stopped when
/// the sandbox is dropped) where the app keeps its data key; or, made with
/// [`Sandbox::without_keyring`], no credential store at all (the PIN path).
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// Decrypted copies of blobs for tools (pdftotext, pdftoppm): outside the data folder.
    outside: tempfile::TempDir,
    /// The value the app gets as `DBUS_SESSION_BUS_ADDRESS`.
    bus: String,
    /// The private keyring session (none on the PIN path). Dropped after the app stopped:
    /// the sandbox outlives the driver in every test.
    keyring: Option<onsite_keys::session::KeyringSession>,
    /// The PIN the test chose at the app's "set a PIN" screen (PIN path only).
    pin: std::sync::Mutex<Option<String>>,
}

impl Sandbox {
    /// A sandbox with a Secret Service of its own: the app keeps its key there (the
    /// common path, no PIN screen).
    pub fn new() -> Sandbox {
        let keyring = onsite_keys::session::KeyringSession::start()
            .unwrap_or_else(|e| panic!("the test's keyring session did not start: {e}"));
        Sandbox::make(Some(keyring))
    }

    /// A sandbox where no credential store answers: the app's bus address points at a
    /// socket that does not exist (the real "no keyring" path), so the app asks for a PIN.
    pub fn without_keyring() -> Sandbox {
        Sandbox::make(None)
    }

    fn make(keyring: Option<onsite_keys::session::KeyringSession>) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["data", "xdg-data", "xdg-cache", "xdg-config", "home"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let bus = match &keyring {
            Some(k) => k.address().to_string(),
            None => {
                let nowhere = dir.path().join("no-bus-here");
                assert!(!nowhere.exists());
                format!("unix:path={}", nowhere.display())
            }
        };
        let sandbox = Sandbox {
            dir,
            outside: tempfile::tempdir().unwrap(),
            bus,
            keyring,
            pin: std::sync::Mutex::new(None),
        };
        // The harness reads the key through the same bus (keyring reads it from this
        // process's environment; the tests run one at a time).
        sandbox.point_process_at_bus();
        sandbox
    }

    fn point_process_at_bus(&self) {
        std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &self.bus);
    }

    /// Whether this sandbox has a Secret Service.
    pub fn has_keyring(&self) -> bool {
        self.keyring.is_some()
    }

    /// The PIDs of the keyring session's `dbus-daemon` and `gnome-keyring-daemon` (none on
    /// the PIN path): both are stopped when the sandbox is dropped.
    pub fn keyring_pids(&self) -> Vec<u32> {
        self.keyring
            .as_ref()
            .map(|k| vec![k.dbus_pid(), k.keyring_pid()])
            .unwrap_or_default()
    }

    /// The bus address the app is given.
    pub fn bus_address(&self) -> &str {
        &self.bus
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("ONSITE_DATA_DIR", self.data_dir()),
            ("XDG_DATA_HOME", self.dir.path().join("xdg-data")),
            ("XDG_CACHE_HOME", self.dir.path().join("xdg-cache")),
            ("XDG_CONFIG_HOME", self.dir.path().join("xdg-config")),
            ("HOME", self.dir.path().join("home")),
            ("DBUS_SESSION_BUS_ADDRESS", PathBuf::from(&self.bus)),
        ]
    }

    /// Records the PIN the test set (or set again after an erase) at the app's screen, so
    /// that [`Sandbox::key`] can unseal the key with it.
    pub fn remember_pin(&self, pin: &str) {
        *self.pin.lock().unwrap() = Some(pin.to_string());
    }

    /// The device's data key: from this sandbox's Secret Service, or unsealed from the
    /// key file with the PIN the test set. Panics (saying why) when it cannot be had.
    pub fn key(&self) -> onsite_keys::Key {
        let pin = self.pin.lock().unwrap().clone();
        if let Some(pin) = pin {
            let vault = onsite_keys::Vault::new(
                &self.data_dir(),
                Box::new(onsite_keys::MemoryCredentialStore::new()),
            );
            return vault
                .unlock(&pin, chrono::Utc::now())
                .unwrap_or_else(|e| panic!("the key file does not open with the PIN set: {e}"));
        }
        assert!(
            self.has_keyring(),
            "no keyring and no PIN set: call remember_pin (or choose_pin) first"
        );
        self.keyring_key(&self.data_dir())
            .expect("the app's data key is in the Secret Service")
    }

    /// The key the test's Secret Service keeps for the data folder `dir` (the app's, or
    /// one where data was set aside), `None` when it keeps none.
    pub fn keyring_key(&self, dir: &Path) -> Option<onsite_keys::Key> {
        self.point_process_at_bus();
        let secret = onsite_keys::SystemCredentialStore::for_data_dir(dir)
            .get()
            .unwrap_or_else(|e| panic!("the test's Secret Service: {e}"))?;
        let secret = zeroize::Zeroizing::new(secret);
        let bytes: [u8; 32] = secret
            .as_slice()
            .try_into()
            .unwrap_or_else(|_| panic!("the stored key has {} bytes, not 32", secret.len()));
        Some(zeroize::Zeroizing::new(bytes))
    }

    /// The sealed blobs folder, opened with the device's key.
    pub fn blobs(&self) -> onsite_store::Blobs {
        let key = onsite_store::DataKey::from_bytes(self.key());
        onsite_store::Blobs::new(self.data_dir().join("blobs"), &key)
    }

    /// The plain bytes of the blob `sha256` (decrypted with the device's key; the store
    /// checks they hash to `sha256`).
    pub fn blob(&self, sha256: &str) -> Vec<u8> {
        let blobs = self.blobs();
        let sealed = blobs.path(sha256).unwrap();
        let sealed = std::fs::read(&sealed)
            .unwrap_or_else(|e| panic!("no sealed file for {sha256}: {}: {e}", sealed.display()));
        let plain = onsite_store::documents::read_blob(&blobs, sha256)
            .unwrap_or_else(|e| panic!("blob {sha256}: {e}"));
        assert!(
            !sealed.ends_with(&plain) && !sealed.starts_with(&plain),
            "blob {sha256} is stored in clear"
        );
        plain
    }

    /// A decrypted copy of the blob `sha256`, written outside the data folder (for
    /// pdftotext, pdftoppm), removed with the sandbox.
    pub fn blob_file(&self, sha256: &str) -> PathBuf {
        let path = self.outside.path().join(sha256);
        std::fs::write(&path, self.blob(sha256)).unwrap();
        path
    }

    /// A connection of the test's own to the sealed database, opened with the device's
    /// key (the app may be running: the database is in WAL mode).
    pub fn db(&self) -> rusqlite::Connection {
        let key = onsite_store::DataKey::from_bytes(self.key());
        let path = self.data_dir().join("onsite.db");
        let conn = onsite_store::db::connect_sealed(&path, &key, false)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        conn
    }

    /// The first column of each row `sql` returns, as text, read from the sealed database
    /// with the device's key.
    pub fn sql(&self, sql: &str) -> Vec<String> {
        let conn = self.db();
        let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let rows = stmt
            .query_map([], |r| {
                let v: rusqlite::types::Value = r.get(0)?;
                Ok(match v {
                    rusqlite::types::Value::Null => String::new(),
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Real(f) => f.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
                })
            })
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.map(|r| r.unwrap()).collect()
    }

    /// A plain (unencrypted) copy of the database at `dest` (outside the data folder),
    /// what the data would look like without the seal: for tests that show a search of
    /// the sealed files would have found what it looks for.
    pub fn export_plain_db(&self, dest: &Path) {
        let conn = self.db();
        // The connection may not create files (it must not make a new onsite.db): an empty
        // file is an empty database to attach.
        std::fs::write(dest, b"").unwrap();
        conn.execute(
            "ATTACH DATABASE ?1 AS plain KEY ''",
            [dest.to_str().unwrap()],
        )
        .unwrap();
        conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
            .unwrap();
        conn.execute_batch("DETACH DATABASE plain").unwrap();
    }

    /// The files in the blobs folder (sealed; named by keyed hash, not by content hash).
    pub fn blob_files(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.data_dir().join("blobs")) {
            Ok(entries) => entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

pub fn css(selector: &str) -> Locator<'_> {
    Locator::Css(selector)
}

/// Waits (WebDriver polling, bounded) until `selector`'s text satisfies `pred`.
pub async fn wait_text(client: &Client, selector: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(el) = client.find(css(selector)).await {
            if let Ok(text) = el.text().await {
                if pred(&text) {
                    return text;
                }
            }
        }
        if Instant::now() >= deadline {
            // What the window showed instead, for whoever reads the failure.
            shot(client, "timeout").await;
            let body = match client.find(css("body")).await {
                Ok(b) => b.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!(
                "timed out waiting on {selector}; target/e2e-shots/timeout.png; the page said:\n{body}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Keeps a file the test produced in `target/e2e-shots/`, for people to look at.
pub fn keep(bytes: &[u8], name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-shots");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(name), bytes);
}

/// Saves a screenshot of the window as `target/e2e-shots/<name>.png`, for people to look at.
pub async fn shot(client: &Client, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-shots");
    let _ = std::fs::create_dir_all(&dir);
    // WebKit's snapshot is the last painted frame: let two frames pass first.
    let _ = client
        .execute_async(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));",
            vec![],
        )
        .await;
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
}

/// The sandbox's environment as the driver takes it.
pub fn refs<'a>(env: &'a [(&'static str, PathBuf)]) -> Vec<(&'static str, &'a Path)> {
    env.iter().map(|(k, v)| (*k, v.as_path())).collect()
}

/// Waits for the element `selector` (the test fails, naming it, when it does not come).
pub async fn element(c: &Client, selector: &str) -> fantoccini::elements::Element {
    c.wait()
        .for_element(css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
}

/// Waits for `selector`, brings it to the middle of the window (as a person looks at
/// what they tap; WebDriver's own scrolling can leave it under a bar fixed to the bottom of
/// the window) and clicks it.
pub async fn click(c: &Client, selector: &str) {
    let el = element(c, selector).await;
    c.execute(
        "arguments[0].scrollIntoView({block: 'center'});",
        vec![serde_json::to_value(&el).unwrap()],
    )
    .await
    .unwrap();
    el.click()
        .await
        .unwrap_or_else(|e| panic!("click {selector}: {e:?}"));
}

/// Replaces the text of the field `selector` with `text`.
pub async fn fill(c: &Client, selector: &str, text: &str) {
    let el = element(c, selector).await;
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

/// Types `query` in the search field (replacing what was there) and waits for results.
pub async fn search(c: &Client, query: &str) {
    let field = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(css("[data-testid=search]"))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys(query).await.unwrap();
    wait_text(c, "[data-testid=results-heading]", |t| t.contains(query)).await;
}

/// Searches for `customer` and opens their most recent work order.
pub async fn open_order(c: &Client, customer: &str) {
    search(c, customer).await;
    click(c, "[data-testid=results] [data-testid=order-card]").await;
    wait_text(c, "[data-testid=detail-customer]", |t| t == customer).await;
}

/// Draws a signature-like zigzag across the canvas `selector` with the mouse.
pub async fn draw_signature(c: &Client, selector: &str) {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
    let canvas = element(c, selector).await;
    // Pointer actions do not scroll: bring the pad on screen first.
    c.execute(
        "arguments[0].scrollIntoView({block: 'center'});",
        vec![serde_json::to_value(&canvas).unwrap()],
    )
    .await
    .unwrap();
    let mut stroke = MouseActions::new("pen".into())
        .then(PointerAction::MoveToElement {
            element: canvas,
            duration: None,
            x: -180.0,
            y: 10.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        });
    for (x, y) in [
        (40.0, -40.0),
        (40.0, 50.0),
        (40.0, -45.0),
        (40.0, 35.0),
        (60.0, -20.0),
    ] {
        stroke = stroke.then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(60)),
            x,
            y,
        });
    }
    stroke = stroke.then(PointerAction::Up {
        button: MOUSE_BUTTON_LEFT,
    });
    c.perform_actions(stroke).await.unwrap();
}

/// The current value of the form field `selector` (waiting for the field).
pub async fn value(c: &Client, selector: &str) -> String {
    element(c, selector)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The text of a PDF, after `qpdf --check` has passed on it.
pub fn pdf_text(pdf: &Path) -> String {
    let check = Command::new("qpdf")
        .arg("--check")
        .arg(pdf)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    let out = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The head-office binary: $ONSITE_HQ_BIN, else target/debug/onsite-hq.
pub fn hq_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("ONSITE_HQ_BIN") {
        return PathBuf::from(p);
    }
    let bin = app_binary().with_file_name("onsite-hq");
    assert!(
        bin.exists(),
        "{} not found: build it first (cargo build -p onsite-hq), or run `cargo xtask test`",
        bin.display()
    );
    bin
}

/// A real head office (`onsite-hq`) on a loopback port, with its self-made TLS CA and an
/// admin token; stopped (SIGTERM) on drop. `stop` and `start_again` simulate losing and
/// regaining the connection: the same data, the same address. Everything it prints
/// (stdout and its log on stderr, across restarts) is kept in [`HeadOffice::log`].
pub struct HeadOffice {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub admin_token: String,
    http: reqwest::Client,
    /// Its log's level (`RUST_LOG`).
    log_level: String,
    log_dir: tempfile::TempDir,
}

impl HeadOffice {
    pub fn start() -> HeadOffice {
        HeadOffice::start_logging("info")
    }

    /// [`HeadOffice::start`] with `RUST_LOG=level`.
    pub fn start_logging(level: &str) -> HeadOffice {
        let dir = tempfile::tempdir().unwrap();
        let mut hq = HeadOffice {
            child: None,
            dir,
            port: free_port(),
            admin_token: "e2e-admin-token-0123456789abcdef".into(),
            http: reqwest::Client::new(),
            log_level: level.into(),
            log_dir: tempfile::tempdir().unwrap(),
        };
        hq.start_again();
        let ca = reqwest::Certificate::from_pem(hq.ca_pem().as_bytes()).unwrap();
        hq.http = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        hq
    }

    /// Starts the server (again) and waits for its "listening" line.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "head office is already running");
        let log = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log_path())
                .expect("head office's log file")
        };
        let mut child = Command::new(hq_binary())
            .arg("--data")
            .arg(self.dir.path())
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .env("ONSITE_HQ_ADMIN_TOKEN", &self.admin_token)
            .env("RUST_LOG", &self.log_level)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(log())
            .spawn()
            .expect("start onsite-hq");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut out = log();
        let listening = lines.by_ref().map_while(Result::ok).any(|l| {
            let _ = writeln!(out, "{l}");
            l.starts_with("onsite-hq listening on")
        });
        assert!(listening, "onsite-hq did not start");
        // Keep draining its output (into the log) so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                let _ = writeln!(out, "{l}");
            }
        });
        self.child = Some(child);
    }

    fn log_path(&self) -> PathBuf {
        self.log_dir.path().join("onsite-hq.log")
    }

    /// All head office printed so far: stdout and its log (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Stops the server: the device is offline from now on.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, "-TERM");
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The CA devices must trust (made by the server at its first start).
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tls").join("ca.pem")).unwrap()
    }

    /// An admin API call; panics with the reply unless it succeeded.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.url()))
            .bearer_auth(&self.admin_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    /// In the app `c`: the sync screen's enrolment form filled with this head office's
    /// address, `code` and its CA certificate, and sent (what follows is the caller's to
    /// wait for).
    pub async fn enrol_app(&self, c: &Client, code: &str) {
        click(c, "[data-testid=nav-sync]").await;
        fill(c, "[data-testid=enrol-url]", &self.url()).await;
        fill(c, "[data-testid=enrol-code]", code).await;
        fill(c, "[data-testid=enrol-ca]", &self.ca_pem()).await;
        click(c, "[data-testid=enrol-submit]").await;
    }

    /// A technician at head office and a one-time enrolment code for them: (id, code).
    pub async fn technician_with_code(&self, name: &str) -> (String, String) {
        let tech = self
            .admin(
                reqwest::Method::POST,
                "/v1/admin/technicians",
                Some(serde_json::json!({ "name": name })),
            )
            .await;
        let tech_id = tech["id"].as_str().unwrap().to_owned();
        let code = self
            .admin(
                reqwest::Method::POST,
                &format!("/v1/admin/technicians/{tech_id}/enrolment-codes"),
                Some(serde_json::json!({})),
            )
            .await["code"]
            .as_str()
            .unwrap()
            .to_owned();
        (tech_id, code)
    }

    /// The bytes of a blob head office holds.
    pub async fn blob(&self, sha256: &str) -> Vec<u8> {
        let res = self
            .http
            .get(format!("{}/v1/admin/blobs/{sha256}", self.url()))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "blob {sha256}: {}", res.status());
        res.bytes().await.unwrap().to_vec()
    }
}

impl Drop for HeadOffice {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP proxy in front of head office that can break connections halfway: with a cut
/// set, each connection is reset once it has carried that many bytes (both directions
/// together), in the middle of whatever request or reply is under way. Stopped on drop.
pub struct CutProxy {
    pub port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CutProxy {
    pub fn start(upstream_port: u16) -> CutProxy {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (cut2, stop2) = (cut.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                    continue;
                };
                let limit = cut2.load(Ordering::SeqCst);
                let carried = Arc::new(AtomicUsize::new(0));
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let carried = carried.clone();
                    std::thread::spawn(move || pipe(from, to, limit, &carried));
                }
            }
        });
        CutProxy { port, cut, stop }
    }

    /// From now on, reset each new connection after `bytes` (0: pass everything).
    pub fn cut_after(&self, bytes: usize) {
        self.cut.store(bytes, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    limit: usize,
    carried: &std::sync::atomic::AtomicUsize,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let mut buf = [0u8; 4096];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let before = carried.fetch_add(n, Ordering::SeqCst);
        if limit > 0 && before + n > limit {
            let _ = to.write_all(&buf[..limit.saturating_sub(before).min(n)]);
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(std::net::Shutdown::Both);
    let _ = to.shutdown(std::net::Shutdown::Both);
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A fresh user running the real app: a private display, a sandbox, tauri-driver and a
/// WebDriver session on the app. Fields drop in the order they must stop: the driver
/// (and with it the app) before the sandbox is removed, the display last.
pub struct Fresh {
    pub c: Client,
    _driver: Driver,
    pub sandbox: Sandbox,
    _x: Xvfb,
}

impl Fresh {
    /// The app on a new data folder (the demo), in the language `lang` (`en_US.UTF-8`).
    pub async fn start(lang: &str) -> Fresh {
        Fresh::start_with(lang, &[]).await
    }

    /// [`Fresh::start`] with extra environment variables for the app.
    pub async fn start_with(lang: &str, extra: &[(&'static str, &str)]) -> Fresh {
        Fresh::start_in(Sandbox::new(), lang, extra).await
    }

    /// The app on a new data folder where no credential store answers: it shows the
    /// "set a PIN" screen.
    pub async fn start_pin(lang: &str) -> Fresh {
        Fresh::start_in(Sandbox::without_keyring(), lang, &[]).await
    }

    /// The app on `sandbox`, with extra environment variables.
    pub async fn start_in(sandbox: Sandbox, lang: &str, extra: &[(&'static str, &str)]) -> Fresh {
        let x = Xvfb::start();
        let mut env = sandbox.env();
        env.extend(extra.iter().map(|(k, v)| (*k, PathBuf::from(v))));
        let driver = Driver::start(&x.display, &refs(&env), lang);
        let c = driver.session(&app_binary()).await;
        Fresh {
            c,
            _driver: driver,
            sandbox,
            _x: x,
        }
    }
}

/// The PIDs of the app processes this harness started on `data_dir`: the app binary with
/// that data folder in its environment (tauri-driver and WebKitWebDriver carry the same
/// environment and are not counted).
fn apps_of(data_dir: &Path) -> Vec<u32> {
    let marker = format!("ONSITE_DATA_DIR={}", data_dir.display());
    let app = std::fs::canonicalize(app_binary()).unwrap_or_else(|_| app_binary());
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|p| {
            let pid = p.file_name().to_str()?.parse::<u32>().ok()?;
            let exe = std::fs::read_link(p.path().join("exe")).ok()?;
            if exe != app {
                return None;
            }
            let environ = std::fs::read(p.path().join("environ")).ok()?;
            environ
                .split(|b| *b == 0)
                .any(|kv| kv == marker.as_bytes())
                .then_some(pid)
        })
        .collect()
}

/// The PIDs of the apps running on `data_dir` (started by this harness).
pub fn app_pids(data_dir: &Path) -> Vec<u32> {
    apps_of(data_dir)
}

/// Stops the app processes this harness had started on `data_dir`, by PID.
fn stop_apps_of(data_dir: &Path) {
    for pid in apps_of(data_dir) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

/// Whether the data file's lock (`onsite.db.lock`, an flock the running app holds) is
/// free: taken and let go at once. An app whose main thread has exited but whose other
/// threads are still dying (a write to disk under load) no longer shows in /proc as the
/// app binary, yet still holds the lock and its single-instance socket: a new app started
/// then would hand over to it and exit.
pub fn data_lock_free(data_dir: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new()
        .write(true)
        .open(data_dir.join("onsite.db.lock"))
    else {
        return true;
    };
    file.try_lock().is_ok()
}

/// Waits until no app this harness started on `data_dir` runs and the data file's lock
/// is free (a previous session's app closing); after `within`, stops them. They are not
/// this process's children, so they cannot be waited on: /proc and the lock are looked at
/// every 50 ms.
fn wait_apps_gone(data_dir: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !apps_of(data_dir).is_empty() || !data_lock_free(data_dir) {
        if Instant::now() > deadline {
            eprintln!("e2e: the previous app on this data folder did not exit; stopping it");
            stop_apps_of(data_dir);
            let stopped = Instant::now() + Duration::from_secs(5);
            while (!apps_of(data_dir).is_empty() || !data_lock_free(data_dir))
                && Instant::now() < stopped
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A person's walk through the app, counted: taps, fields typed into, and how far the page
/// had to scroll to bring each thing they touched into view (issue 10's measure of the
/// visit). Each step scrolls the target into view the least a person would (`nearest`) and
/// adds the distance, then taps or types.
#[derive(Debug, Default)]
pub struct Walk {
    pub taps: u32,
    pub typed: u32,
    pub scrolled_px: i64,
    pub tallest_px: i64,
    /// Scrolls upwards (back to something above what the person was looking at).
    pub scrolled_up_px: i64,
}

impl Walk {
    async fn bring_into_view(
        &mut self,
        c: &Client,
        selector: &str,
    ) -> fantoccini::elements::Element {
        let el = element(c, selector).await;
        let moved = c
            .execute(
                "const s = document.scrollingElement; const before = s.scrollTop;
                 arguments[0].scrollIntoView({block: 'nearest'});
                 return [s.scrollTop - before, s.scrollHeight];",
                vec![serde_json::to_value(&el).unwrap()],
            )
            .await
            .unwrap();
        let delta = moved[0].as_f64().unwrap_or(0.0).round() as i64;
        let height = moved[1].as_f64().unwrap_or(0.0).round() as i64;
        self.scrolled_px += delta.abs();
        if delta < 0 {
            self.scrolled_up_px += -delta;
        }
        self.tallest_px = self.tallest_px.max(height);
        el
    }

    /// Taps `selector` (waiting for it).
    pub async fn tap(&mut self, c: &Client, selector: &str) {
        let el = self.bring_into_view(c, selector).await;
        el.click()
            .await
            .unwrap_or_else(|e| panic!("click {selector}: {e}"));
        self.taps += 1;
    }

    /// Types `text` into the field `selector` (replacing what was there): one tap into the
    /// field and one typed field.
    pub async fn type_in(&mut self, c: &Client, selector: &str, text: &str) {
        let el = self.bring_into_view(c, selector).await;
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
        self.taps += 1;
        self.typed += 1;
    }

    /// Draws a signature on the pad `selector` (counted as one tap: one gesture).
    pub async fn sign(&mut self, c: &Client, selector: &str) {
        self.bring_into_view(c, selector).await;
        draw_signature(c, selector).await;
        self.taps += 1;
    }

    /// One line for the test's output and the note.
    pub fn summary(&self) -> String {
        format!(
            "taps {}, typed fields {}, scrolled {} px ({} px upwards), page up to {} px tall",
            self.taps, self.typed, self.scrolled_px, self.scrolled_up_px, self.tallest_px
        )
    }
}

/// Sets the field `selector` to `text` as typing would end (an `input` event follows), for
/// characters WebDriver cannot type, such as emoji outside the Basic Multilingual Plane.
pub async fn set_value(c: &Client, selector: &str, text: &str) {
    let el = element(c, selector).await;
    c.execute(
        "arguments[0].value = arguments[1];
         arguments[0].dispatchEvent(new Event('input', { bubbles: true }));",
        vec![serde_json::to_value(&el).unwrap(), text.into()],
    )
    .await
    .unwrap();
}

/// Every visible control in the page at least 44 px tall (touch targets), and no number
/// field with spinner arrows. Returns the offenders as "testid-or-tag: height".
pub async fn small_targets(c: &Client) -> Vec<String> {
    let found = c
        .execute(
            "const bad = [];
             for (const el of document.querySelectorAll('button, select, textarea, a, label.button, input')) {
               if (el.type === 'checkbox' || el.type === 'radio' || el.type === 'file') continue;
               const r = el.getBoundingClientRect();
               if (r.width === 0 && r.height === 0) continue;
               if (r.height < 43.5) bad.push((el.dataset.testid || el.tagName) + ': ' + r.height);
             }
             for (const el of document.querySelectorAll('input[type=number]')) bad.push('number field ' + (el.dataset.testid || ''));
             if (document.querySelectorAll('button').length === 0) bad.push('no buttons: nothing on screen');
             return bad;",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

/// At the app's "set a PIN" screen (first start without a credential store): types `pin`
/// twice and saves; the sandbox remembers it for [`Sandbox::key`]. What follows (Today)
/// is the caller's to wait for.
pub async fn choose_pin(c: &Client, sandbox: &Sandbox, pin: &str) {
    element(c, "[data-testid=unlock-screen][data-state=set_pin]").await;
    fill(c, "[data-testid=set-pin]", pin).await;
    fill(c, "[data-testid=set-pin-repeat]", pin).await;
    click(c, "[data-testid=set-pin-save]").await;
    sandbox.remember_pin(pin);
}

/// At the app's "enter the PIN" screen: types `pin` and taps Unlock. What follows (Today,
/// or the error) is the caller's to wait for.
pub async fn unlock_with_pin(c: &Client, pin: &str) {
    element(c, "[data-testid=unlock-screen][data-state=enter_pin]").await;
    fill(c, "[data-testid=pin]", pin).await;
    click(c, "[data-testid=pin-unlock]").await;
}

/// Waits (up to 20 s) for Today's work orders: the data is open.
pub async fn wait_today(c: &Client) {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(css("[data-testid=order-card]"))
        .await
        .unwrap_or_else(|e| panic!("Today's work orders: {e}"));
}

/// Every regular file under `dir` (recursively, symlinks not followed).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            out.extend(files_under(&e.path()));
        } else if t.is_file() {
            out.push(e.path());
        }
    }
    out
}

/// Waits (bounded, 15 s) until the control `selector` is enabled or, with `enabled`
/// false, disabled; returns it.
pub async fn wait_enabled(
    c: &Client,
    selector: &str,
    enabled: bool,
) -> fantoccini::elements::Element {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let el = element(c, selector).await;
        if el.is_enabled().await.unwrap_or(!enabled) == enabled {
            return el;
        }
        if Instant::now() >= deadline {
            shot(c, "timeout").await;
            panic!(
                "{selector} did not become {}",
                if enabled { "enabled" } else { "disabled" }
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ends the WebDriver session `c` and the driver, and waits (bounded, 20 s) until the
/// app on `data_dir` has really exited (it is not this process's child: /proc is looked
/// at). A test that restarts the app calls this between runs.
pub async fn end_session(c: Client, driver: Driver, data_dir: &Path) {
    c.close().await.unwrap();
    // The driver stays up until the app has gone: stopping it at once can cut the close
    // on its way to the app, which then stays open with nobody driving it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = app_pids(data_dir);
        if left.is_empty() && data_lock_free(data_dir) {
            drop(driver);
            return;
        }
        if Instant::now() >= deadline {
            // What its threads were doing, for whoever reads the failure.
            let mut threads = Vec::new();
            for pid in &left {
                let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                    continue;
                };
                for t in tasks.flatten() {
                    let read = |f: &str| {
                        std::fs::read_to_string(t.path().join(f))
                            .unwrap_or_default()
                            .trim()
                            .to_string()
                    };
                    threads.push(format!("{} in {}", read("comm"), read("wchan")));
                }
            }
            // Nothing left running behind the failure.
            stop_apps_of(data_dir);
            panic!("the app did not exit when its session ended: {left:?}; threads: {threads:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
