//! Renders every sample document into a folder:
//! `cargo run -p onsite-docs --example samples -- <dir>`

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: samples <output-dir>");
        return ExitCode::from(2);
    };
    match onsite_docs::samples::render_all(&dir) {
        Ok(paths) => {
            for p in paths {
                println!("{}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("samples: {e}");
            ExitCode::FAILURE
        }
    }
}
