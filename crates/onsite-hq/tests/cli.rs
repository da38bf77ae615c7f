//! The `onsite-hq` command as an operator runs it: logs as JSON on request, limits from
//! flags checked before anything starts, readiness answered.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_onsite-hq");

#[test]
fn logs_are_one_json_object_per_line_on_request() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--new-epoch",
        ])
        .arg("--data")
        .arg(data.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The new epoch is logged at warn before the server listens: the first line.
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect(&line);
    assert_eq!(v["level"], "WARN");
    assert_eq!(
        v["fields"]["message"],
        "new server epoch: every device will refetch"
    );
    assert!(v["timestamp"].as_str().is_some());
}

#[test]
fn a_limit_of_zero_is_refused_before_anything_starts() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--max-in-flight", "0"])
        .arg("--data")
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_in_flight"), "{err}");
    assert!(
        !data.path().join("tls").exists(),
        "nothing made before the flags were checked"
    );
}

/// The first line the server writes to stderr with `args`, its environment `env` and the
/// configuration file `config`; the server is stopped (by its PID) once it is read.
fn first_log_line(args: &[&str], env: &[(&str, &str)], config: &str) -> String {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("onsite-hq.toml");
    std::fs::write(&file, config).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["--listen", "127.0.0.1:0", "--new-epoch"])
        .arg("--data")
        .arg(data.path().join("data"))
        .arg("--config")
        .arg(&file)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("ONSITE_HQ_LOG_FORMAT")
        .env_remove("ONSITE_HQ_MAX_IN_FLIGHT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut line = lines.next().and_then(Result::ok).unwrap_or_default();
    let _ = child.kill();
    // A refusal is several lines (TOML's error shows where): keep them all.
    for more in lines.map_while(Result::ok) {
        line.push('\n');
        line.push_str(&more);
    }
    child.wait().unwrap();
    line
}

#[test]
fn the_configuration_file_is_read_and_flags_and_environment_win_over_it() {
    let config = "log_format = \"json\"\n[limits]\nmax_in_flight = 0\n";
    // The file's max_in_flight = 0 is refused, naming it.
    let line = first_log_line(&[], &[], config);
    assert!(line.contains("max_in_flight"), "{line}");
    // The environment wins over the file: it starts, and logs as JSON (from the file).
    let line = first_log_line(&[], &[("ONSITE_HQ_MAX_IN_FLIGHT", "5")], config);
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect(&line);
    assert_eq!(v["level"], "WARN");
    // A flag wins over the file too.
    let line = first_log_line(
        &["--max-in-flight", "5", "--log-format", "text"],
        &[],
        config,
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(line.trim()).is_err(),
        "{line}"
    );
    assert!(line.contains("new server epoch"), "{line}");
}

#[test]
fn a_misspelt_setting_in_the_configuration_file_is_refused_naming_it() {
    let line = first_log_line(&[], &[], "max_inflight = 5\n");
    assert!(line.contains("max_inflight"), "{line}");
    assert!(line.contains("onsite-hq.toml"), "{line}");
}

/// Starts the server with `args`, `env` and the configuration file `config` (JSON logs),
/// waits until it listens, stops it; its log lines.
fn run_until_listening(args: &[&str], env: &[(&str, &str)], config: &str) -> String {
    use std::io::Read;
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("onsite-hq.toml");
    std::fs::write(&file, config).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data")
        .arg(data.path().join("data"))
        .arg("--config")
        .arg(&file)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("ONSITE_HQ_DATABASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = child.kill();
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    child.wait().unwrap();
    assert!(
        first.starts_with("onsite-hq listening on"),
        "{first}\n{logs}"
    );
    logs
}

/// Whether head office made its schema in the database at `url`.
fn migrated(url: &str) -> bool {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .unwrap()
        .get(0)
}

/// `--database postgres://…` from the file, the environment or a flag (that order of
/// precedence, each winning over the one before): head office starts on that database and
/// makes its schema there; the URL's password appears in no log line.
#[test]
fn the_database_comes_from_flag_environment_or_file_and_its_password_is_never_logged() {
    use onsite_testkit::pg;
    let secret = "Pw-NeverLogged-7361";
    let with_password = |url: String| url.replacen("onsite@", &format!("onsite:{secret}@"), 1);
    let (file_db, env_db, flag_db) = (
        with_password(pg::fresh_database()),
        with_password(pg::fresh_database()),
        with_password(pg::fresh_database()),
    );
    let config = format!("database = \"{file_db}\"\n");
    let name = |url: &str| url.rsplit_once('/').unwrap().1.to_owned();

    let logs = run_until_listening(
        &["--database", &flag_db],
        &[("ONSITE_HQ_DATABASE", &env_db)],
        &config,
    );
    assert!(logs.contains(&name(&flag_db)), "{logs}");
    assert!(migrated(&flag_db) && !migrated(&env_db) && !migrated(&file_db));
    assert!(!logs.contains(secret), "{logs}");

    let logs = run_until_listening(&[], &[("ONSITE_HQ_DATABASE", &env_db)], &config);
    assert!(logs.contains(&name(&env_db)), "{logs}");
    assert!(migrated(&env_db) && !migrated(&file_db));
    assert!(!logs.contains(secret), "{logs}");

    let logs = run_until_listening(&[], &[], &config);
    assert!(logs.contains(&name(&file_db)), "{logs}");
    assert!(migrated(&file_db));
    assert!(!logs.contains(secret), "{logs}");
    // The line that names it says which backend, without the password.
    let line = logs
        .lines()
        .find(|l| l.contains("PostgreSQL"))
        .expect("a log line naming the database");
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(
        v["fields"]["database"].as_str().unwrap(),
        format!(
            "postgres://onsite@127.0.0.1:{}/{}",
            file_db
                .rsplit_once(':')
                .unwrap()
                .1
                .split('/')
                .next()
                .unwrap(),
            name(&file_db)
        )
    );
}

#[test]
fn a_database_that_is_not_postgres_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--database",
            "mysql://root:Pw-NeverLogged-7361@db/onsite",
        ])
        .arg("--data")
        .arg(data.path())
        .env_remove("ONSITE_HQ_DATABASE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("postgres://"), "{err}");
    assert!(!err.contains("Pw-NeverLogged"), "{err}");
}

/// A head-office process started by a test, stopped (by its PID) when dropped.
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `onsite-hq` on the PostgreSQL database `url` with the given certificate and the
/// test kit's admin token; returns it once it listens, with its address.
fn start_process(url: &str, data: &std::path::Path, cert: &str, key: &str) -> (Process, String) {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--database", url])
        .args(["--admin-token", onsite_testkit::ADMIN])
        .args(["--cert", cert, "--key", key])
        .arg("--data")
        .arg(data)
        .env_remove("ONSITE_HQ_DATABASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first
        .trim()
        .strip_prefix("onsite-hq listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    (Process(child), base)
}

/// Two `onsite-hq` processes on one PostgreSQL database, as behind a load balancer: a
/// device enrolled on one syncs with the other; what one instance stores (work orders,
/// facts, blobs, the epoch) the other serves; an op pushed to both is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_head_office_processes_share_one_postgres_database() {
    use onsite_api::*;
    use onsite_testkit::{client_trusting, new_work_order, pg, pki, Hq};
    use std::sync::Arc;

    let url = pg::fresh_database();
    let pki = Arc::new(pki());
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert, &pki.cert_pem).unwrap();
    std::fs::write(&key, &pki.key_pem).unwrap();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let storage = pg::connect(&url).await;
    let mut running = Vec::new();
    let mut hqs = Vec::new();
    for name in ["a", "b"] {
        let data = tmp.path().join(name);
        let (process, base) = start_process(&url, &data, cert, key);
        running.push(process);
        hqs.push(Hq {
            addr: base.trim_start_matches("https://").parse().unwrap(),
            base,
            client: client_trusting(&pki.ca_pem, std::time::Duration::from_secs(30)),
            pki: pki.clone(),
            storage: storage.clone(),
            sqlite: None,
            database: Some(url.clone()),
            server: None,
            dir: data,
            tmp: None,
        });
    }
    let (a, b) = (&hqs[0], &hqs[1]);

    let dev = a.enrolled("Tech").await;
    let wo: WorkOrder = b
        .admin_ok(
            reqwest::Method::POST,
            routes::ADMIN_WORK_ORDERS,
            Some(&new_work_order("WO-P", Some(dev.technician_id))),
        )
        .await;
    let (changes, cursor) = a.pull_all(&dev.token, None, None).await;
    assert!(changes
        .iter()
        .any(|c| matches!(&c.item, ChangeItem::WorkOrder(w) if w.id == wo.id)));

    // A photo uploaded to one is there on the other.
    let photo = b"not really a jpeg".to_vec();
    let sha = onsite_domain::signoff::sha256_hex(&photo);
    let res = b
        .client
        .put(b.url(&routes::BLOB.replace("{sha256}", &sha)))
        .bearer_auth(&dev.token)
        .body(photo.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    assert_eq!(a.blob(&sha).await, (200, photo));

    // The same status change pushed to both: one applies it, the other says duplicate.
    let op = Op::new(
        uuid::Uuid::now_v7(),
        1,
        wo.id,
        Some(wo.version),
        &OpPayload::ChangeStatus(StatusChange {
            from: None,
            fact_id: uuid::Uuid::now_v7(),
            to: onsite_domain::WorkOrderStatus::EnRoute,
            reason: None,
            at: chrono::Utc::now(),
        }),
    );
    let (ra, rb) = tokio::join!(
        a.push(&dev.token, vec![op.clone()]),
        b.push(&dev.token, vec![op])
    );
    assert_ne!(ra.results[0].duplicate, rb.results[0].duplicate);
    assert_eq!(ra.epoch, rb.epoch, "one epoch for every instance");
    let detail = b.detail(wo.id).await;
    assert_eq!(detail.facts.len(), 1);
    assert_eq!(
        detail.work_order.status,
        onsite_domain::WorkOrderStatus::EnRoute
    );
    // The other instance carries the device's cursor on.
    let page = b.pull(&dev.token, Some(&cursor), None).await;
    assert!(!page.reset);
    assert!(page.changes.iter().any(
        |c| matches!(&c.item, ChangeItem::WorkOrder(w) if w.id == wo.id
            && w.status == onsite_domain::WorkOrderStatus::EnRoute)
    ));
}
