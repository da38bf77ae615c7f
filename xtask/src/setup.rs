//! Installs what a fresh Debian/Ubuntu machine lacks: apt packages, npm modules,
//! tauri-driver. Does nothing for what is already there.

use std::process::Command;

use crate::util::{cargo, have, root, Step};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Build and run the app.
    Run,
    /// Everything `cargo xtask test` uses.
    Test,
}

const RUN_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libssl-dev",
    "libwebkit2gtk-4.1-dev",
    "fonts-noto-cjk",
];

const TEST_PACKAGES: &[&str] = &[
    "webkit2gtk-driver",
    "xvfb",
    "xauth",
    "qpdf",
    "poppler-utils",
    // Issue 11: a real Secret Service for the key (its own D-Bus session per test), the
    // Secret Service's command-line client, and the sqlite3 shell the thief test opens the
    // sealed database with.
    "dbus",
    "gnome-keyring",
    "libsecret-tools",
    "sqlite3",
    // Issue 13: the office's console tested in a real browser (playwright-core drives it).
    "chromium",
    // Issue 12: head office's tests run on PostgreSQL too (a throwaway cluster per run:
    // crates/onsite-testkit/src/pg_cluster.rs).
    "postgresql",
];

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

fn apt(packages: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !have("apt-get") {
        return Err(format!(
            "this machine has no apt-get; install these packages (or their equivalents): {}",
            missing.join(" ")
        ));
    }
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let (program, prefix): (&str, Vec<&str>) = if root_user {
        ("apt-get", vec![])
    } else {
        ("sudo", vec!["apt-get"])
    };
    let with = |args: &[&str]| -> Vec<String> {
        prefix
            .iter()
            .chain(args.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let update = with(&["update", "-qq"]);
    Step::new(
        program,
        &update.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .run()?;
    let mut install = with(&["install", "-y", "-qq", "--no-install-recommends"]);
    install.extend(missing.iter().map(|s| s.to_string()));
    Step::new(
        program,
        &install.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .run()
}

fn node_modules() -> Result<(), String> {
    if !have("npm") {
        return Err("Node.js 20.19 or newer with npm is needed to build the UI (https://nodejs.org or your distribution's nodejs package)".into());
    }
    let version = Step::new("node", &["--version"]).output()?;
    let major: u32 = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        return Err(format!(
            "Node.js {} is too old: the UI build (Vite 7) needs 20.19 or newer",
            version.trim()
        ));
    }
    // The app's UI and head office's console.
    for dir in [root().join("ui"), crate::console_dir()] {
        let lock = dir.join("package-lock.json");
        let stamp = dir.join("node_modules/.package-lock.json");
        let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&stamp)) {
            (Ok(l), Ok(s)) => s.modified().ok() >= l.modified().ok(),
            _ => false,
        };
        if fresh {
            continue;
        }
        // Not `npm ci`: the lock file lists only the optional platform packages the
        // registry here serves (rollup's Linux builds), and `npm ci` refuses such a lock as
        // out of sync. `npm install` still installs exactly the locked versions.
        Step::new("npm", &["install", "--no-audit", "--no-fund"])
            .dir(&dir)
            .run()?;
    }
    Ok(())
}

fn tauri_driver() -> Result<(), String> {
    if have("tauri-driver") {
        return Ok(());
    }
    cargo(&["install", "tauri-driver", "--version", "^2", "--locked"]).run()?;
    if !have("tauri-driver") {
        return Err(
            "tauri-driver was installed but is not on PATH: add ~/.cargo/bin to PATH".into(),
        );
    }
    Ok(())
}

/// cargo-fuzz, for the fuzz run of head office's op handling (issue 12).
fn cargo_fuzz() -> Result<(), String> {
    if have("cargo-fuzz") {
        return Ok(());
    }
    cargo(&["install", "cargo-fuzz", "--version", "^0.13", "--locked"]).run()?;
    if !have("cargo-fuzz") {
        return Err("cargo-fuzz was installed but is not on PATH: add ~/.cargo/bin to PATH".into());
    }
    Ok(())
}

pub fn ensure(need: Need) -> Result<(), String> {
    let mut packages = RUN_PACKAGES.to_vec();
    if need == Need::Test {
        packages.extend_from_slice(TEST_PACKAGES);
    }
    apt(&packages)?;
    node_modules()?;
    if need == Need::Test {
        tauri_driver()?;
        cargo_fuzz()?;
    }
    Ok(())
}
