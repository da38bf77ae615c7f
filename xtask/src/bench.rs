//! Benchmarks that print figures (no timed unit tests):
//! - store queries on 50,000 orders (`cargo bench -p onsite-store`);
//! - cold start of the release app under Xvfb until Today is rendered, and the memory (PSS)
//!   of the app with its WebKit processes beside an empty Tauri window measured the same way.
//!   The app runs with a real Secret Service (a private D-Bus session and gnome-keyring)
//!   holding its data key, as on a desktop: the first run makes the key and the sealed
//!   database, later runs read the key and open the sealed database.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cargo, root};

const RUNS: usize = 5;

pub fn all() -> Result<(), String> {
    crate::setup::ensure(crate::setup::Need::Test)?;
    cargo(&["bench", "--package", "onsite-store"]).run()?;
    crate::build_ui()?;
    cargo(&["build", "--release", "--package", "onsite", "--bins"]).run()?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let release = target.join("release");

    let (mut xvfb, display) = xvfb()?;
    let keyring = onsite_keys::session::KeyringSession::start()?;
    let bus = keyring.address().to_string();
    let measure = |bin: &Path, display: &str, fresh: bool, page: Option<&str>| {
        measure(bin, display, fresh, page, &bus)
    };
    let result = (|| {
        println!("\nCold start until the first screen is rendered, and PSS once it is (release, {RUNS} runs each)");
        let onsite_first = measure(&release.join("onsite"), &display, true, None)?;
        let onsite = measure(&release.join("onsite"), &display, false, None)?;
        let empty = measure(&release.join("empty-window"), &display, false, None)?;
        // Where the difference goes: the same window with a page of CJK text, and with
        // Onsite's own UI bundle but no commands behind it (it shows its error screen).
        let cjk = measure(
            &release.join("empty-window"),
            &display,
            false,
            Some("probe-cjk.html"),
        )?;
        let bundle = measure(
            &release.join("empty-window"),
            &display,
            false,
            Some("index.html"),
        )?;
        report("onsite, first run (creates demo db)", &onsite_first);
        report("onsite, existing db", &onsite);
        report("empty Tauri window", &empty);
        report("  same window, a page of CJK text", &cjk);
        report("  same window, Onsite's UI bundle", &bundle);
        let ratio = median(onsite.iter().map(|r| r.pss_kb as f64).collect())
            / median(empty.iter().map(|r| r.pss_kb as f64).collect());
        println!("PSS ratio onsite / empty window: {ratio:.2} (target <= 1.20)");
        Ok(())
    })();
    drop(keyring);
    stop(&mut xvfb);
    result
}

struct Run {
    ready_ms: u128,
    pss_kb: u64,
    processes: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn report(label: &str, runs: &[Run]) {
    let ready = median(runs.iter().map(|r| r.ready_ms as f64).collect());
    let worst = runs.iter().map(|r| r.ready_ms).max().unwrap_or(0);
    let pss = median(runs.iter().map(|r| r.pss_kb as f64).collect());
    println!(
        "{label:<40} ready median {ready:>6.0} ms (max {worst} ms)   PSS median {:>6.1} MB in {} processes",
        pss / 1024.0,
        runs[0].processes
    );
}

fn xvfb() -> Result<(Child, String), String> {
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
        .map_err(|e| format!("Xvfb: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok((child, format!(":{}", line.trim())))
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn measure(
    bin: &Path,
    display: &str,
    fresh_each_time: bool,
    page: Option<&str>,
    bus: &str,
) -> Result<Vec<Run>, String> {
    let keep = std::env::temp_dir().join(format!("onsite-bench-app-{}", std::process::id()));
    let mut runs = Vec::new();
    // one warm-up run so that "existing db" finds a database and the page cache is warm
    for i in 0..=RUNS {
        let home = if fresh_each_time {
            keep.join(format!("fresh-{i}"))
        } else {
            keep.join("shared")
        };
        for sub in ["data", "xdg-data", "xdg-cache", "xdg-config"] {
            std::fs::create_dir_all(home.join(sub)).map_err(|e| e.to_string())?;
        }
        let start = Instant::now();
        let mut cmd = Command::new(bin);
        if let Some(page) = page {
            cmd.env("ONSITE_EMPTY_PAGE", page);
        }
        let mut child = cmd
            .env("DISPLAY", display)
            .env("ONSITE_REPORT_READY", "1")
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .env("ONSITE_DATA_DIR", home.join("data"))
            .env("XDG_DATA_HOME", home.join("xdg-data"))
            .env("XDG_CACHE_HOME", home.join("xdg-cache"))
            .env("XDG_CONFIG_HOME", home.join("xdg-config"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut ready = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| e.to_string())?;
            if line.starts_with("ONSITE_READY") {
                ready = Some(start.elapsed().as_millis());
                break;
            }
        }
        let ready_ms =
            ready.ok_or_else(|| format!("{} exited before it was ready", bin.display()))?;
        // let WebKit finish what it does after the first paint before reading memory
        std::thread::sleep(Duration::from_millis(1500));
        let (pss_kb, processes) = pss_of_tree(child.id());
        stop(&mut child);
        if i > 0 || fresh_each_time {
            runs.push(Run {
                ready_ms,
                pss_kb,
                processes,
            });
        }
        if runs.len() == RUNS {
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&keep);
    Ok(runs)
}

/// PSS (kB) of a process and all its descendants, from /proc/<pid>/smaps_rollup.
fn pss_of_tree(root_pid: u32) -> (u64, usize) {
    let mut parent_of = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                // the command name may hold spaces: fields resume after the last ')'
                if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                    if let Some(ppid) = rest
                        .split_whitespace()
                        .nth(1)
                        .and_then(|p| p.parse::<u32>().ok())
                    {
                        parent_of.push((pid, ppid));
                    }
                }
            }
        }
    }
    let mut tree = vec![root_pid];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    let pss = tree
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .filter_map(|text| {
            text.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum();
    (pss, tree.len())
}
