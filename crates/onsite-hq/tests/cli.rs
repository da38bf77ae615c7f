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
    assert!(err.contains("--max-in-flight"), "{err}");
    assert!(
        !data.path().join("tls").exists(),
        "nothing made before the flags were checked"
    );
}
