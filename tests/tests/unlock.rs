//! Issue 11 through the real app: where the data key comes from at each start.
//!
//! - No credential store answers (the app's D-Bus address points at a socket that does not
//!   exist): the technician sets a PIN or passphrase at the first start, types it at each
//!   start after, a wrong one is refused, and a forgotten one erases the data (after the
//!   word ERASE) and starts afresh. In Chinese (the whole walk) and English (the screens).
//! - A Secret Service answers (the test's own gnome-keyring): no PIN screen at any start,
//!   the key is in the keyring and in no file of the data folder.
//! - The key file lost (a key problem): the screen names it; setting the data aside is
//!   asked first, then moves the data with its key to a folder of its own (nothing deleted)
//!   and the app starts afresh.

use std::path::Path;

use fantoccini::Client;
use onsite_e2e::{
    app_binary, choose_pin, click, element, end_session, files_under, fill, open_order, refs, shot,
    unlock_with_pin, wait_enabled, wait_text, wait_today, Driver, Sandbox, Xvfb,
};

const SCREEN: &str = "[data-testid=unlock-screen]";

/// Starts the app on `sandbox` in `lang`.
async fn start(x: &Xvfb, sandbox: &Sandbox, lang: &str) -> (Driver, Client) {
    let env = sandbox.env();
    let driver = Driver::start(&x.display, &refs(&env), lang);
    let c = driver.session(&app_binary()).await;
    (driver, c)
}

/// The unlock screen's state (waiting for the screen).
async fn screen_state(c: &Client) -> String {
    element(c, SCREEN)
        .await
        .attr("data-state")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Waits for the unlock screen in `state`.
async fn wait_state(c: &Client, state: &str) {
    element(c, &format!("{SCREEN}[data-state={state}]")).await;
}

/// The work order's status, after opening `customer`'s.
async fn status_of(c: &Client, customer: &str) -> String {
    open_order(c, customer).await;
    wait_text(c, "[data-testid=order-status]", |t| !t.is_empty()).await
}

/// The key file as JSON.
fn key_file(data: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(data.join(onsite_keys::KEY_FILE_NAME)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Whether any file under `dir` holds `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|f| {
            std::fs::read(f)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle)
        })
        .map(|f| f.display().to_string())
        .collect()
}

/// The key, raw and in hex (both cases), in no file under `dir`.
fn key_in_no_file(dir: &Path, key: &[u8; 32]) {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    for (what, needle) in [
        ("raw", key.to_vec()),
        ("hex", hex.clone().into_bytes()),
        ("HEX", hex.to_uppercase().into_bytes()),
    ] {
        let found = files_holding(dir, &needle);
        assert!(found.is_empty(), "the key ({what}) in {found:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_keyring_a_pin_locks_the_data_and_a_forgotten_one_erases_it() {
    let x = Xvfb::start();
    let sandbox = Sandbox::without_keyring();
    let data = sandbox.data_dir();
    // A passphrase with spaces and Chinese: used exactly as typed.
    let pin = "水管 工 246810";
    let lang = "zh_CN.UTF-8";

    // First start: no credential store, so a PIN is set. The settings (the language
    // chosen) are inside the sealed data, so this first screen speaks the system's
    // language, asked of the backend (LANG): not the webview's, which is en-US here
    // because the C library has no zh_CN locale on this machine.
    let (driver, c) = start(&x, &sandbox, lang).await;
    wait_state(&c, "set_pin").await;
    let heading = "设置PIN码或口令";
    wait_text(&c, "[data-testid=set-pin-screen] h1", |t| t == heading).await;
    assert!(
        !data.join(onsite_keys::KEY_FILE_NAME).exists(),
        "nothing written before a PIN is set"
    );
    shot(&c, "unlock-zh-set-pin").await;
    // Too short: Save stays disabled, the length rule unmet.
    fill(&c, "[data-testid=set-pin]", "12345").await;
    fill(&c, "[data-testid=set-pin-repeat]", "12345").await;
    wait_enabled(&c, "[data-testid=set-pin-save]", false).await;
    assert_eq!(
        element(&c, "[data-testid=set-pin-rule-length]")
            .await
            .attr("data-ok")
            .await
            .unwrap()
            .as_deref(),
        Some("false")
    );
    shot(&c, "unlock-zh-set-pin-too-short").await;
    // Long enough but not the same twice: still disabled.
    fill(&c, "[data-testid=set-pin]", pin).await;
    fill(&c, "[data-testid=set-pin-repeat]", "水管 工 246811").await;
    wait_enabled(&c, "[data-testid=set-pin-save]", false).await;
    // The same twice: saved, and Today with the demo appears.
    choose_pin(&c, &sandbox, pin).await;
    wait_today(&c).await;
    assert!(c.find(onsite_e2e::css(SCREEN)).await.is_err());
    let kf = key_file(&data);
    assert_eq!(kf["method"], "pin", "{kf}");
    let kf_text = std::fs::read(data.join(onsite_keys::KEY_FILE_NAME)).unwrap();
    assert!(
        !kf_text.windows(pin.len()).any(|w| w == pin.as_bytes()),
        "the PIN in the key file"
    );
    // Something recorded: a demo job is now on site.
    assert_eq!(status_of(&c, "王伟").await, "已派工");
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "已到场").await;
    // The harness opens it with the PIN too: sealed, and the key is not in any file.
    let key = sandbox.key();
    let statuses = sandbox.sql("SELECT status FROM work_order");
    assert!(statuses.iter().any(|s| s == "on_site"), "{statuses:?}");
    key_in_no_file(&data, &key);
    end_session(c, driver, &data).await;

    // Second start: the PIN is asked for; a wrong one is refused and said so.
    let (driver, c) = start(&x, &sandbox, lang).await;
    wait_state(&c, "enter_pin").await;
    wait_text(&c, "[data-testid=enter-pin-screen] h1", |t| {
        t == "输入PIN码"
    })
    .await;
    shot(&c, "unlock-zh-enter-pin").await;
    unlock_with_pin(&c, "水管 工 246811").await;
    let wrong = wait_text(&c, "[data-testid=pin-error]", |t| !t.is_empty()).await;
    assert!(wrong.contains("PIN码不正确"), "{wrong}");
    assert!(wrong.contains('1'), "one wrong try: {wrong}");
    assert!(c
        .find(onsite_e2e::css("[data-testid=pin-wait]"))
        .await
        .is_err());
    assert_eq!(screen_state(&c).await, "enter_pin");
    shot(&c, "unlock-zh-wrong-pin").await;
    // The right one: Today, and what was recorded is still there.
    wait_enabled(&c, "[data-testid=pin]", true).await;
    unlock_with_pin(&c, pin).await;
    wait_today(&c).await;
    assert_eq!(status_of(&c, "王伟").await, "已到场");
    assert_eq!(
        key_file(&data)["wrong_tries"],
        0,
        "the right PIN resets the count"
    );
    end_session(c, driver, &data).await;

    // Third start: the PIN is forgotten. The screen says what would be lost (a demo only),
    // and erases only after the word ERASE.
    let (driver, c) = start(&x, &sandbox, lang).await;
    wait_state(&c, "enter_pin").await;
    click(&c, "[data-testid=pin-forgot]").await;
    wait_state(&c, "forgot").await;
    let summary = element(&c, "[data-testid=forgot-summary]").await;
    assert_eq!(
        summary.attr("data-kind").await.unwrap().as_deref(),
        Some("demo_only"),
        "never enrolled: only the demo is lost"
    );
    let said = wait_text(&c, "[data-testid=forgot-summary]", |t| !t.is_empty()).await;
    assert!(said.contains("演示数据"), "{said}");
    wait_enabled(&c, "[data-testid=forgot-erase]", false).await;
    shot(&c, "unlock-zh-forgot").await;
    fill(&c, "[data-testid=forgot-confirm]", "erase").await;
    wait_enabled(&c, "[data-testid=forgot-erase]", false).await;
    fill(&c, "[data-testid=forgot-confirm]", "ERAS").await;
    wait_enabled(&c, "[data-testid=forgot-erase]", false).await;
    assert!(data.join("onsite.db").exists(), "nothing erased yet");
    fill(&c, "[data-testid=forgot-confirm]", "ERASE").await;
    wait_enabled(&c, "[data-testid=forgot-erase]", true).await;
    shot(&c, "unlock-zh-forgot-confirmed").await;
    click(&c, "[data-testid=forgot-erase]").await;
    // Erased: a new PIN is set, on fresh data.
    wait_state(&c, "set_pin").await;
    assert!(
        !data.join(onsite_keys::KEY_FILE_NAME).exists(),
        "the old key file is gone"
    );
    shot(&c, "unlock-zh-after-erase").await;
    choose_pin(&c, &sandbox, "新的口令 135790").await;
    wait_today(&c).await;
    assert_eq!(
        status_of(&c, "王伟").await,
        "已派工",
        "the demo is fresh: what was recorded is gone"
    );
    assert_ne!(&sandbox.key()[..], &key[..], "a new key after the erase");
    shot(&c, "unlock-zh-fresh-today").await;
    end_session(c, driver, &data).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pin_screens_speak_english_too() {
    let x = Xvfb::start();
    let sandbox = Sandbox::without_keyring();
    let data = sandbox.data_dir();
    let pin = "correct horse";
    let lang = "en_US.UTF-8";

    let (driver, c) = start(&x, &sandbox, lang).await;
    wait_state(&c, "set_pin").await;
    wait_text(&c, "[data-testid=set-pin-screen] h1", |t| {
        t == "Set a PIN or passphrase"
    })
    .await;
    fill(&c, "[data-testid=set-pin]", "abc").await;
    fill(&c, "[data-testid=set-pin-repeat]", "abc").await;
    wait_enabled(&c, "[data-testid=set-pin-save]", false).await;
    shot(&c, "unlock-en-set-pin").await;
    choose_pin(&c, &sandbox, pin).await;
    wait_today(&c).await;
    wait_text(&c, "h1", |t| t == "Today").await;
    end_session(c, driver, &data).await;

    let (driver, c) = start(&x, &sandbox, lang).await;
    wait_state(&c, "enter_pin").await;
    wait_text(&c, "[data-testid=enter-pin-screen] h1", |t| {
        t == "Enter your PIN"
    })
    .await;
    unlock_with_pin(&c, "correct horse!").await;
    let wrong = wait_text(&c, "[data-testid=pin-error]", |t| !t.is_empty()).await;
    assert!(
        wrong.contains("not right") && wrong.contains('1'),
        "{wrong}"
    );
    shot(&c, "unlock-en-wrong-pin").await;
    wait_enabled(&c, "[data-testid=pin]", true).await;
    unlock_with_pin(&c, pin).await;
    wait_today(&c).await;
    // The key the PIN seals opens the sealed data (the harness reads it with the PIN).
    let names = sandbox.sql("SELECT count(*) FROM work_order");
    assert!(names[0].parse::<i64>().unwrap() >= 7, "{names:?}");
    end_session(c, driver, &data).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_keyring_every_start_opens_without_a_pin() {
    let x = Xvfb::start();
    let sandbox = Sandbox::new();
    let data = sandbox.data_dir();
    let lang = "en_US.UTF-8";

    let (driver, c) = start(&x, &sandbox, lang).await;
    wait_today(&c).await;
    assert!(
        c.find(onsite_e2e::css(SCREEN)).await.is_err(),
        "no PIN screen"
    );
    assert_eq!(status_of(&c, "王伟").await, "Assigned");
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "On site").await;
    end_session(c, driver, &data).await;

    // The second start: straight to Today, what was recorded is there.
    let (driver, c) = start(&x, &sandbox, lang).await;
    wait_today(&c).await;
    assert!(
        c.find(onsite_e2e::css(SCREEN)).await.is_err(),
        "no PIN screen"
    );
    shot(&c, "unlock-keyring-second-start").await;
    assert_eq!(status_of(&c, "王伟").await, "On site");

    // The key is in the Secret Service (the harness reads it there; secret-tool finds the
    // same 32 bytes), the key file names that method, and no file holds the key.
    let key = sandbox.key();
    let kf = key_file(&data);
    assert_eq!(kf["method"], "credential_store", "{kf}");
    let account = onsite_keys::SystemCredentialStore::for_data_dir(&data)
        .account()
        .to_string();
    let lookup = std::process::Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            onsite_keys::SERVICE,
            "username",
            &account,
        ])
        .env("DBUS_SESSION_BUS_ADDRESS", sandbox.bus_address())
        .output()
        .expect("secret-tool (libsecret-tools)");
    assert!(lookup.status.success(), "{lookup:?}");
    assert_eq!(
        lookup.stdout,
        key.to_vec(),
        "the keyring's entry is the key"
    );
    key_in_no_file(&data, &key);
    let statuses = sandbox.sql("SELECT status FROM work_order");
    assert!(statuses.iter().any(|s| s == "on_site"), "{statuses:?}");
    end_session(c, driver, &data).await;

    // The test's keyring goes with its sandbox: nothing left running.
    let pids = sandbox.keyring_pids();
    assert_eq!(pids.len(), 2);
    for pid in &pids {
        assert!(Path::new(&format!("/proc/{pid}")).exists(), "{pid} runs");
    }
    drop(sandbox);
    for pid in &pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} outlived the sandbox"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_key_lets_the_data_be_set_aside_after_asking_and_nothing_is_deleted() {
    let x = Xvfb::start();
    let sandbox = Sandbox::new();
    let data = sandbox.data_dir();
    let lang = "en_US.UTF-8";

    let (driver, c) = start(&x, &sandbox, lang).await;
    wait_today(&c).await;
    assert_eq!(status_of(&c, "王伟").await, "Assigned");
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "On site").await;
    end_session(c, driver, &data).await;
    let old_key = sandbox.key();

    // The key file is lost: the next start names the problem and deletes nothing.
    std::fs::remove_file(data.join(onsite_keys::KEY_FILE_NAME)).unwrap();
    let db_before = std::fs::read(data.join("onsite.db")).unwrap();
    let (driver, c) = start(&x, &sandbox, lang).await;
    wait_state(&c, "problem").await;
    let problem = element(&c, "[data-testid=key-problem]").await;
    assert_eq!(
        problem.attr("data-problem").await.unwrap().as_deref(),
        Some("key_missing")
    );
    // Asked first, with what has not reached head office; Cancel does nothing.
    click(&c, "[data-testid=aside-offer]").await;
    let summary = wait_text(&c, "[data-testid=aside-summary]", |t| !t.is_empty()).await;
    assert!(!summary.is_empty());
    shot(&c, "unlock-set-aside-ask").await;
    click(&c, "[data-testid=aside-cancel]").await;
    element(&c, "[data-testid=aside-offer]").await;
    assert_eq!(std::fs::read(data.join("onsite.db")).unwrap(), db_before);
    assert_eq!(screen_state(&c).await, "problem");

    // Confirmed: moved, the folder named, then a fresh start on Today.
    click(&c, "[data-testid=aside-offer]").await;
    wait_enabled(&c, "[data-testid=aside-confirm]", true).await;
    click(&c, "[data-testid=aside-confirm]").await;
    let said = wait_text(&c, "[data-testid=aside-folder]", |t| {
        t.contains("set-aside")
    })
    .await;
    shot(&c, "unlock-set-aside-done").await;
    click(&c, "[data-testid=aside-continue]").await;
    wait_today(&c).await;
    assert_eq!(status_of(&c, "王伟").await, "Assigned", "a fresh start");

    // The set-aside folder holds the old data, unchanged, and its key went with it.
    let aside: Vec<_> = std::fs::read_dir(data.join("set-aside"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let folder = &aside[0];
    assert!(said.contains(&folder.display().to_string()), "{said}");
    assert_eq!(std::fs::read(folder.join("onsite.db")).unwrap(), db_before);
    let kept = sandbox
        .keyring_key(folder)
        .expect("the set-aside data's key is in the keyring");
    assert_eq!(kept.as_slice(), old_key.as_slice());
    let conn = onsite_store::db::connect_sealed(
        &folder.join("onsite.db"),
        &onsite_store::DataKey::from_bytes(kept),
        false,
    )
    .unwrap();
    let on_site: i64 = conn
        .query_row(
            "SELECT count(*) FROM work_order WHERE status = 'on_site'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(on_site, 1, "what was recorded is in the set-aside data");
    // The fresh data has a new key.
    assert_ne!(sandbox.key().as_slice(), old_key.as_slice());
    end_session(c, driver, &data).await;
}
