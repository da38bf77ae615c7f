//! `cargo xtask <task>`: the project's chores, in Rust so they run the same everywhere.
//!
//! - `run`    install what this machine lacks, build the UI, start Onsite (demo data on first run)
//! - `test`   install what this machine lacks, then every check and test (what CI runs)
//! - `setup`  only install what is missing
//! - `bench`  benchmarks: store queries on 50,000 orders; cold start and memory of the app
//! - `samples <dir>`  render every document into <dir> (once onsite-docs is in the workspace)
//! - `torture [--seed N] [--actions N] [--syncs N] [--skip FAULT,...]`  the seeded sync
//!   torture test against the real head office (docs/torture.md)
//! - `fuzz [SECONDS]`  head office's op handling under libFuzzer (default 60 s, as in CI)

mod bench;
// The test kit's throwaway PostgreSQL cluster (standard library only), shared by file so
// that xtask does not depend on the test kit.
#[path = "../../crates/onsite-testkit/src/pg_cluster.rs"]
#[allow(dead_code)]
mod pg_cluster;
mod setup;
mod util;

use std::process::ExitCode;

use util::{cargo, npm, root, Step};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("setup") => setup::ensure(setup::Need::Test),
        Some("bench") => bench::all(),
        Some("samples") => samples(&args[1..]),
        Some("torture") => torture(&args[1..]),
        Some("fuzz") => match args.get(1).map(|s| s.parse::<u32>()) {
            None => fuzz(FUZZ_SECONDS_IN_CI),
            Some(Ok(seconds)) => fuzz(seconds),
            Some(Err(_)) => Err("usage: cargo xtask fuzz [SECONDS]".into()),
        },
        _ => {
            eprintln!(
                "usage: cargo xtask <run|test|setup|bench|samples DIR|torture [ARGS]|fuzz [SECONDS]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn build_ui() -> Result<(), String> {
    npm(&["run", "build"]).run()
}

/// Head office's console (a Svelte app embedded into onsite-hq by its build.rs).
pub fn console_dir() -> std::path::PathBuf {
    root().join("crates/onsite-hq/console")
}

/// Checks, tests and builds the console, before onsite-hq is compiled.
fn console() -> Result<(), String> {
    let dir = console_dir();
    Step::new("npm", &["run", "check"]).dir(&dir).run()?;
    Step::new("npm", &["test"]).dir(&dir).run()?;
    Step::new("npm", &["run", "build"]).dir(&dir).run()
}

fn run(extra: &[String]) -> Result<(), String> {
    setup::ensure(setup::Need::Run)?;
    build_ui()?;
    let mut args = vec!["run", "--package", "onsite"];
    if extra.iter().any(|a| a == "--release") {
        args.push("--release");
    }
    cargo(&args).run()
}

fn test() -> Result<(), String> {
    setup::ensure(setup::Need::Test)?;
    // One PostgreSQL cluster for the whole run (head office's tests make a database each
    // on it), stopped and removed when this returns, or when xtask ends in any other way.
    let cluster = pg_cluster::Cluster::start()?;
    std::env::set_var(pg_cluster::URL_VAR, cluster.url("postgres"));
    println!(
        "xtask: PostgreSQL for the tests on 127.0.0.1:{} ({})",
        cluster.port(),
        cluster.dir().display()
    );
    let ui = root().join("ui");
    Step::new("npm", &["run", "check"]).dir(&ui).run()?;
    Step::new("npm", &["test"]).dir(&ui).run()?;
    build_ui()?;
    console()?;
    cargo(&["fmt", "--all", "--", "--check"]).run()?;
    util::check_libraries_are_tauri_free()?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])
    .run()?;
    // Libraries first, without the GTK stack (no feature unification with the app).
    cargo(&[
        "test",
        "--workspace",
        "--exclude",
        "onsite",
        "--exclude",
        "onsite-e2e",
    ])
    .run()?;
    // The seeded sync torture test at CI size (a full run: `cargo xtask torture`).
    torture(&ci_torture_args())?;
    // Head office's op handling under libFuzzer for a fixed time (`cargo xtask fuzz SECONDS`
    // for longer).
    fuzz(FUZZ_SECONDS_IN_CI)?;
    cargo(&["test", "--package", "onsite"]).run()?;
    cargo(&["build", "--package", "onsite"]).run()?;
    // The sync E2E runs the real head office next to the app.
    cargo(&["build", "--package", "onsite-hq", "--bin", "onsite-hq"]).run()?;
    // The office's console in chromium against that head office (playwright-core).
    let hq = root().join("target/debug/onsite-hq");
    Step::new("node", &["--test", "e2e/"])
        .dir(&console_dir())
        .env("ONSITE_HQ_BIN", hq.to_str().unwrap_or("onsite-hq"))
        .run()?;
    cargo(&["test", "--package", "onsite-e2e", "--", "--test-threads=1"]).run()
}

/// How long CI fuzzes head office's op handling.
const FUZZ_SECONDS_IN_CI: u32 = 60;

/// `cargo xtask fuzz [seconds]`: runs the `ops` fuzz target of onsite-hq
/// (crates/onsite-hq/fuzz) for that long, from the seed batches in its `seeds/ops`, with a
/// fresh corpus in a temporary folder. Any panic fails it and leaves the input in
/// crates/onsite-hq/fuzz/artifacts. cargo fuzz needs unstable compiler flags for its
/// instrumentation: this machine has only the stable toolchain, so RUSTC_BOOTSTRAP=1 lets
/// it pass them (the sanitizer is off: the code has no unsafe; what is looked for is a
/// panic).
fn fuzz(seconds: u32) -> Result<(), String> {
    let dir = root().join("crates/onsite-hq/fuzz");
    let corpus = std::env::temp_dir().join(format!("onsite-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&corpus).map_err(|e| e.to_string())?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("fuzz");
    let limit = format!("-max_total_time={seconds}");
    let result = Step::new(
        "cargo",
        &[
            "fuzz",
            "run",
            "--fuzz-dir",
            &dir.to_string_lossy(),
            "--target-dir",
            &target_dir.to_string_lossy(),
            "--sanitizer",
            "none",
            "ops",
            &corpus.to_string_lossy(),
            &dir.join("seeds/ops").to_string_lossy(),
            "--",
            &limit,
        ],
    )
    .env("RUSTC_BOOTSTRAP", "1")
    .run();
    let _ = std::fs::remove_dir_all(&corpus);
    result
}

/// CI's torture run: a fixed seed, at least 200 actions and 20 syncs, every fault kind.
fn ci_torture_args() -> Vec<String> {
    ["--seed", "20261129", "--actions", "300", "--syncs", "30"]
        .map(String::from)
        .to_vec()
}

/// `cargo xtask torture [args]`: builds the real head office and the torture binary, then
/// runs it with `args` (its last line is the verdict; it fails when anything was lost,
/// duplicated or wedged).
fn torture(args: &[String]) -> Result<(), String> {
    cargo(&["build", "--package", "onsite-hq", "--bin", "onsite-hq"]).run()?;
    cargo(&["build", "--package", "onsite-torture"]).run()?;
    let mut run = vec!["run", "--quiet", "--package", "onsite-torture", "--"];
    run.extend(args.iter().map(String::as_str));
    cargo(&run).run()
}

fn samples(args: &[String]) -> Result<(), String> {
    let dir = args.first().ok_or("usage: cargo xtask samples <dir>")?;
    cargo(&[
        "run",
        "--release",
        "--package",
        "onsite-docs",
        "--example",
        "samples",
        "--",
        dir,
    ])
    .run()
}
