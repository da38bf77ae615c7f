use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// One command, echoed before it runs, failing the task when it fails.
pub struct Step {
    cmd: Command,
    shown: String,
}

impl Step {
    pub fn new(program: &str, args: &[&str]) -> Step {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(root());
        Step {
            cmd,
            shown: format!("{program} {}", args.join(" ")),
        }
    }

    pub fn dir(mut self, dir: &Path) -> Step {
        self.cmd.current_dir(dir);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Step {
        self.cmd.env(key, value);
        self
    }

    pub fn run(mut self) -> Result<(), String> {
        eprintln!("\n==> {}", self.shown);
        let status = self
            .cmd
            .status()
            .map_err(|e| format!("{}: {e}", self.shown))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed ({status})", self.shown))
        }
    }

    pub fn output(mut self) -> Result<String, String> {
        let out = self
            .cmd
            .output()
            .map_err(|e| format!("{}: {e}", self.shown))?;
        if !out.status.success() {
            return Err(format!(
                "`{}` failed: {}",
                self.shown,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

pub fn cargo(args: &[&str]) -> Step {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Step::new(&cargo, args)
}

pub fn npm(args: &[&str]) -> Step {
    Step::new("npm", args).dir(&root().join("ui"))
}

pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// The libraries under crates/ must not depend on tauri, directly or not: they are tested
/// in seconds without a webview, and the desktop shell only adapts them.
pub fn check_libraries_are_tauri_free() -> Result<(), String> {
    eprintln!("\n==> checking that crates/* do not depend on tauri");
    let text = cargo(&["metadata", "--format-version", "1"]).output()?;
    let meta: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let crates_dir = root().join("crates");
    let packages = meta["packages"].as_array().ok_or("no packages")?;
    let name_of = |id: &str| -> String {
        packages
            .iter()
            .find(|p| p["id"] == id)
            .and_then(|p| p["name"].as_str())
            .unwrap_or(id)
            .to_string()
    };
    let nodes = meta["resolve"]["nodes"].as_array().ok_or("no resolve")?;
    let deps_of = |id: &str| -> Vec<String> {
        nodes
            .iter()
            .find(|n| n["id"] == id)
            .and_then(|n| n["deps"].as_array())
            .map(|deps| {
                deps.iter()
                    .filter(|d| {
                        d["dep_kinds"]
                            .as_array()
                            .is_some_and(|k| k.iter().any(|k| k["kind"].is_null()))
                    })
                    .filter_map(|d| d["pkg"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut checked = 0;
    for p in packages {
        let manifest = p["manifest_path"].as_str().unwrap_or_default();
        if !Path::new(manifest).starts_with(&crates_dir) {
            continue;
        }
        let lib = p["name"].as_str().unwrap_or_default().to_string();
        let mut stack = vec![p["id"].as_str().unwrap_or_default().to_string()];
        let mut seen = std::collections::HashSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let name = name_of(&id);
            if name == "tauri"
                || name.starts_with("tauri-")
                || name == "wry"
                || name == "webkit2gtk"
            {
                return Err(format!("library {lib} depends on {name}"));
            }
            stack.extend(deps_of(&id));
        }
        checked += 1;
    }
    if checked == 0 {
        return Err("no library found under crates/".into());
    }
    eprintln!("    {checked} libraries, none depends on tauri");
    Ok(())
}
