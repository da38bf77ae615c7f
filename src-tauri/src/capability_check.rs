//! Every command the app registers is granted to the main window: a command missing from
//! the capability fails at run time with an internal error (it happened: issue 9's "send
//! without the file"), so this test reads the three lists and compares them.

use std::collections::BTreeSet;

fn quoted_in(text: &str, start: &str, end: &str) -> BTreeSet<String> {
    let from = text.find(start).expect("start marker") + start.len();
    let to = from + text[from..].find(end).expect("end marker");
    text[from..to]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_is_registered_and_granted_to_the_main_window() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
    let manifest = quoted_in(&read("build.rs"), "const COMMANDS", "];");
    let granted: BTreeSet<String> =
        quoted_in(&read("capabilities/main.json"), "\"permissions\"", "]")
            .into_iter()
            .filter_map(|p| p.strip_prefix("allow-").map(|c| c.replace('-', "_")))
            .collect();
    let state = read("src/state.rs");
    let from = state.find("generate_handler![").unwrap();
    let to = from + state[from..].find("])").unwrap();
    let handled: BTreeSet<String> = state[from..to]
        .split(|c: char| c == ',' || c.is_whitespace() || c == '[')
        .filter_map(|w| w.rsplit_once("::").map(|(_, name)| name.to_owned()))
        .collect();
    assert!(!manifest.is_empty());
    assert_eq!(manifest, handled, "build.rs COMMANDS vs the invoke handler");
    assert_eq!(
        manifest, granted,
        "build.rs COMMANDS vs capabilities/main.json"
    );
}
