//! Issue 11: after a whole visit (a signature, a carry-back with its receipts, the
//! sign-off sheet) and a sync, the app's data folder is the technician's own (folders
//! 0700, files 0600, the key file too), a document opened for viewing went to a private
//! temporary folder under its order number (not beside the blobs), neither the app's log
//! nor head office's holds the customer's name, phone or address, and a thief who copies
//! the whole data folder (while the app runs and after it closed) finds none of them in
//! any file: the database does not even open in the `sqlite3` shell, and the key file holds
//! neither the key nor customer data. The same search finds the data once it is decrypted,
//! so it cannot pass for want of looking.

use std::path::{Path, PathBuf};
use std::time::Duration;

use onsite_e2e::{
    app_pids, click, css, draw_signature, files_under, fill, keep, pdf_text, search, value,
    wait_text, Fresh, HeadOffice,
};
use reqwest::Method;
use serde_json::json;

const NAME_ZH: &str = "钱小兰";
const NAME_LATIN: &str = "Qian Xiaolan";
const PHONE: &str = "139-8765-4321";
const ADDRESS: &str = "海淀区学院路 88 号 Xueyuan Road";
const ORDER_NO: &str = "HQ-PRIV-0001";

#[tokio::test(flavor = "multi_thread")]
async fn a_visit_and_a_sync_leave_private_files_and_logs_without_customer_data() {
    let hq = HeadOffice::start_logging("debug");
    let name = format!("{NAME_ZH} {NAME_LATIN}");
    let (tech_id, code) = hq.technician_with_code("E2E Technician").await;
    // Head office's reference data for the appliance's category.
    hq.admin(
        Method::POST,
        "/v1/admin/fee-tables",
        Some(json!({
            "category": "water_purifier",
            "effective_from": now_plus_minutes(-60 * 24 * 30),
            "items": [
                { "code": "REPLACE", "description": "Replace a filter or part",
                  "fee": { "minor": 2000, "currency": "CNY" }, "plus_parts": true,
                  "name_zh": "更换滤芯或配件", "name_en": "Replace a filter or part",
                  "kind": "labour" }
            ]
        })),
    )
    .await;
    hq.admin(
        Method::PUT,
        "/v1/admin/parts-catalogue",
        Some(json!({ "parts": [
            { "part_no": "P-PUMP-24V", "name": "增压泵 24V", "name_en": "Booster pump 24 V",
              "component": "pump", "serialised": false, "consumable": false }
        ]})),
    )
    .await;
    let order = hq
        .admin(
            Method::POST,
            "/v1/admin/work-orders",
            Some(json!({
                "order_no": ORDER_NO,
                "technician_id": tech_id,
                "job_type": "repair",
                "customer": { "name": name, "phone": PHONE, "address": ADDRESS,
                              "language": "en" },
                "appliance": { "category": "water_purifier", "brand": "Acme", "model": "RO-5",
                               "serial_no": "SN-PRIV-1" },
                "reported_fault": "No water",
                "notes": "",
                "appointment_start": now_plus_minutes(-10),
                "appointment_end": now_plus_minutes(50),
            })),
        )
        .await;
    assert!(order["id"].is_string(), "{order}");

    // The app logs at debug level to a file; documents opened for viewing go under a
    // runtime folder of the test's own.
    let outside = tempfile::tempdir().unwrap();
    let app_log = outside.path().join("onsite.log");
    let runtime = outside.path().join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    let (log_s, runtime_s) = (
        app_log.to_str().unwrap().to_owned(),
        runtime.to_str().unwrap().to_owned(),
    );
    let fresh = Fresh::start_with(
        "en_US.UTF-8",
        &[
            ("ONSITE_LOG_FILE", &log_s),
            ("RUST_LOG", "debug"),
            ("XDG_RUNTIME_DIR", &runtime_s),
        ],
    )
    .await;
    let (c, sandbox) = (fresh.c.clone(), &fresh.sandbox);
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(css("[data-testid=order-card]"))
        .await
        .unwrap();

    // Enrolled; the first sync brings the job.
    hq.enrol_app(&c, &code).await;
    wait_text(&c, "[data-testid=sync-state]", |t| {
        t.contains("E2E Technician")
    })
    .await;
    wait_text(&c, "[data-testid=sync-last-success]", |t| {
        !t.is_empty() && t != "Never"
    })
    .await;

    // The visit: on site, a diagnosis, the customer's signature, completed (the sign-off
    // sheet is made).
    click(&c, "[data-testid=nav-today]").await;
    search(&c, NAME_ZH).await;
    wait_text(&c, "[data-testid=results]", |t| t.contains(ORDER_NO)).await;
    click(&c, "[data-testid=results] [data-testid=order-card]").await;
    wait_text(&c, "[data-testid=detail-customer]", |t| t == name).await;
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "On site").await;
    fill(&c, "[data-testid=fault-found]", "Pump does not turn").await;
    click(&c, "[data-testid=component-pump]").await;
    click(&c, "[data-testid=save-diagnosis]").await;
    wait_text(&c, "[data-testid=diagnosis-fault]", |t| {
        t == "Pump does not turn"
    })
    .await;
    // The appliance goes to the workshop against a signed receipt (A4 and 80 mm PDFs with
    // the customer's name on them).
    click(&c, "[data-testid=cb-start]").await;
    let item = value(&c, "[data-testid=cb-item]").await;
    assert!(
        item.contains("RO-5"),
        "prefilled from the appliance: {item}"
    );
    fill(&c, "[data-testid=cb-accessories]", "Filter housing key").await;
    fill(&c, "[data-testid=cb-condition]", "Dent on the front cover").await;
    draw_signature(&c, CB_PAD).await;
    fill(&c, "[data-testid=carry-back] [data-testid=signer]", &name).await;
    click(&c, "[data-testid=carry-back] [data-testid=sign-submit]").await;
    wait_text(
        &c,
        "[data-testid=carry-back-item] [data-testid=cb-state]",
        |t| t == "Taken",
    )
    .await;
    let mut receipts = Vec::new();
    for doc in c
        .find_all(css("[data-testid=document][data-kind=carry_back]"))
        .await
        .unwrap()
    {
        receipts.push(doc.attr("data-sha256").await.unwrap().unwrap());
    }
    assert_eq!(receipts.len(), 2, "the receipt on A4 and on the roll");

    click(&c, "[data-testid=open-signature]").await;
    draw_signature(
        &c,
        "[data-testid=signature-section] [data-testid=signature-canvas]",
    )
    .await;
    fill(&c, "[data-testid=signer]", &name).await;
    click(&c, "[data-testid=sign-submit]").await;
    wait_text(&c, "[data-testid=signature-valid]", |t| t.contains(NAME_ZH)).await;
    click(&c, "[data-testid=to-completed]").await;
    click(&c, "[data-testid=complete-anyway]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "Completed").await;
    let doc = c
        .wait()
        .for_element(css("[data-testid=document][data-kind=sign_off]"))
        .await
        .unwrap();
    let sha = doc.attr("data-sha256").await.unwrap().unwrap();

    // "Open": no PDF viewer here, but the copy for the viewer was made, privately, in this
    // run's folder for viewing, under the order number, and not beside the blobs.
    click(
        &c,
        "[data-testid=document][data-kind=sign_off] [data-testid=open-document]",
    )
    .await;
    let why = wait_text(&c, "[data-testid=document-error]", |t| !t.is_empty()).await;
    assert!(why.contains("No program to show PDFs"), "{why}");
    let folders = view_folders(&runtime);
    assert_eq!(folders.len(), 1, "one folder for viewing: {folders:?}");
    assert_eq!(mode(&folders[0]), 0o700);
    let copy = folders[0].join(format!("{ORDER_NO} sign-off.pdf"));
    assert_eq!(mode(&copy), 0o600);
    let sheet = sandbox.blob(&sha);
    assert!(sheet.starts_with(b"%PDF-"), "the decrypted sheet");
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        sheet,
        "the plain sheet to view"
    );
    assert!(!sandbox.data_dir().join("blobs").join("view").exists());

    // Everything reaches head office.
    click(&c, "[data-testid=nav-sync]").await;
    click(&c, "[data-testid=sync-now]").await;
    wait_text(&c, "[data-testid=sync-all-sent]", |t| !t.is_empty()).await;
    wait_text(&c, "[data-testid=sync-health]", |t| t.contains("working")).await;
    let detail = hq
        .admin(
            Method::GET,
            &format!("/v1/admin/work-orders/{}", order["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(detail["work_order"]["status"], "completed", "{detail}");

    // The data folder: the database, its WAL, the demo set aside, the blobs; all private.
    let data = sandbox.data_dir();
    let names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for want in [
        "onsite.db",
        "onsite.db-wal",
        "onsite.db-shm",
        "blobs",
        onsite_keys::KEY_FILE_NAME,
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    assert!(
        names.iter().any(|n| n.starts_with("onsite-demo-")),
        "{names:?}"
    );
    let blobs = sandbox.blob_files().len();
    assert!(
        blobs >= 4,
        "the signatures, two receipts and the sheet: {blobs}"
    );
    let open = too_open(&data);
    assert!(open.is_empty(), "readable by others: {open:?}");
    assert_eq!(mode(&data.join(onsite_keys::KEY_FILE_NAME)), 0o600);

    // The logs: both said something, and nothing about the customer.
    let app = std::fs::read_to_string(&app_log).unwrap_or_default();
    let office = hq.log();
    assert!(
        app.contains("command") && app.contains("sync finished"),
        "the app's log at debug level: {app}"
    );
    assert!(
        office.contains("device enrolled") && office.contains("push") && office.contains("request"),
        "head office's log at debug level: {office}"
    );
    onsite_e2e::keep(app.as_bytes(), "privacy-app.log");
    onsite_e2e::keep(office.as_bytes(), "privacy-hq.log");
    let needles = needles();
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    let mut leaks = Vec::new();
    for (which, log) in [("app", &app), ("head office", &office)] {
        for line in log.lines() {
            for needle in &needles {
                if line.contains(needle) {
                    leaks.push(format!("{which}: {needle:?} in {line}"));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "customer data in the logs:\n{}",
        leaks.join("\n")
    );
    eprintln!(
        "privacy: app log {} lines, head office log {} lines",
        app.lines().count(),
        office.lines().count()
    );

    // The thief, first while the app runs (its WAL and shared-memory files as they are).
    let running_copy = outside.path().join("copy-while-running");
    copy_tree(&data, &running_copy);

    // Stopped as at logout (SIGTERM): the app leaves through its normal exit and takes its
    // folder for viewing with it.
    let pids = app_pids(&sandbox.data_dir());
    assert_eq!(pids.len(), 1, "{pids:?}");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pids[0].to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while folders[0].exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the folder for viewing outlived the app"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while !app_pids(&data).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the app did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ...and again after it closed.
    let closed_copy = outside.path().join("copy-after-close");
    copy_tree(&data, &closed_copy);
    thief_finds_nothing(
        sandbox,
        &[&running_copy, &closed_copy],
        &sha,
        &receipts,
        outside.path(),
    );
    drop(fresh);

    // A folder a killed run left (no lock held) is removed at the next start, which makes
    // its own.
    let left = runtime.join("onsite-view-LeftByAKilledRun");
    std::fs::create_dir(&left).unwrap();
    std::fs::write(left.join(format!("{ORDER_NO} sign-off.pdf")), b"%PDF").unwrap();
    let again = Fresh::start_with("en_US.UTF-8", &[("XDG_RUNTIME_DIR", &runtime_s)]).await;
    again
        .c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(css("[data-testid=order-card]"))
        .await
        .unwrap();
    assert!(!left.exists(), "the earlier run's folder is gone");
    assert_eq!(view_folders(&runtime).len(), 1, "this run's own folder");
}

const CB_PAD: &str = "[data-testid=carry-back] [data-testid=signature-canvas]";

/// What a thief must not find: the customer's name (Chinese and Latin), the phone digits
/// with and without separators, the address and its parts. All at least 7 bytes long in
/// UTF-8, so that random ciphertext does not match them by chance.
fn needles() -> Vec<String> {
    let digits: String = PHONE.chars().filter(char::is_ascii_digit).collect();
    let mut out: Vec<String> = [
        NAME_ZH,
        NAME_LATIN,
        "Xiaolan",
        PHONE,
        "139 8765 4321",
        "8765-4321",
        "87654321",
        ADDRESS,
        "海淀区",
        "学院路",
        "Xueyuan Road",
        "Xueyuan",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    out.push(digits);
    out
}

/// The needles found in `bytes` (as UTF-8).
fn found_in(bytes: &[u8]) -> Vec<String> {
    needles()
        .into_iter()
        .filter(|n| {
            let n = n.as_bytes();
            bytes.windows(n.len()).any(|w| w == n)
        })
        .collect()
}

/// Copies every regular file under `from` to the same place under `to`.
fn copy_tree(from: &Path, to: &Path) {
    let files = files_under(from);
    assert!(!files.is_empty(), "nothing to copy in {}", from.display());
    for f in files {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        // A file the app removed in between (a temporary one) is simply not there.
        if let Err(e) = std::fs::copy(&f, &dest) {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::NotFound,
                "{}: {e}",
                f.display()
            );
        }
    }
}

/// What a thief with the copied data folders sees: no customer data in any file, a
/// database the `sqlite3` shell cannot open, a key file with neither the key nor customer
/// data. And the same search does find the data once decrypted (the sign-off sheet, a
/// carry-back receipt, a plain export of the database), so it is not passing for want of
/// looking.
fn thief_finds_nothing(
    sandbox: &onsite_e2e::Sandbox,
    copies: &[&Path],
    sheet_sha: &str,
    receipts: &[String],
    outside: &Path,
) {
    // The search works on what the seal hides.
    let sheet = pdf_text(&sandbox.blob_file(sheet_sha));
    let in_sheet = found_in(sheet.as_bytes());
    assert!(
        in_sheet.iter().any(|n| n == NAME_ZH),
        "the search finds the name in the decrypted sign-off sheet: {in_sheet:?} in {sheet}"
    );
    let receipt = pdf_text(&sandbox.blob_file(&receipts[0]));
    assert!(
        found_in(receipt.as_bytes()).iter().any(|n| n == NAME_LATIN),
        "the search finds the name in the decrypted receipt: {receipt}"
    );
    keep(&sandbox.blob(&receipts[0]), "privacy-carry-back.pdf");
    let plain = outside.join("plain-export.db");
    sandbox.export_plain_db(&plain);
    let in_plain = found_in(&std::fs::read(&plain).unwrap());
    for want in [NAME_ZH, NAME_LATIN, ADDRESS] {
        assert!(
            in_plain.iter().any(|n| n == want),
            "{want} in the database decrypted: {in_plain:?}"
        );
    }
    assert!(
        in_plain.iter().any(|n| n == PHONE || n == "13987654321"),
        "the phone in the database decrypted: {in_plain:?}"
    );
    // The sqlite3 shell is there and reads a plain database.
    let shell = sqlite3(&plain, "SELECT count(*) FROM sqlite_master;");
    assert!(
        shell.status.success(),
        "sqlite3 on the plain export: {shell:?}"
    );
    let tables: i64 = String::from_utf8_lossy(&shell.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(
        tables > 5,
        "the plain export has the app's tables: {tables}"
    );
    let names = sqlite3(
        &plain,
        "SELECT name FROM sqlite_master WHERE type = 'table';",
    );
    let table_names: Vec<String> = String::from_utf8_lossy(&names.stdout)
        .lines()
        .map(str::to_owned)
        .filter(|n| !n.is_empty())
        .collect();
    assert!(!table_names.is_empty(), "{names:?}");

    // The app's other folders in the sandbox (WebKit's caches and storage under the XDG
    // folders and home): nothing of the customer's written in clear there either.
    let mut elsewhere = Vec::new();
    for f in files_under(sandbox.dir.path()) {
        if f.starts_with(sandbox.data_dir()) {
            continue;
        }
        for n in found_in(&std::fs::read(&f).unwrap_or_default()) {
            elsewhere.push(format!("{n:?} in {}", f.display()));
        }
    }
    assert!(
        elsewhere.is_empty(),
        "customer data in the app's other folders:\n{}",
        elsewhere.join("\n")
    );

    let key = sandbox.key();
    let key_hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    for copy in copies {
        // Every file, whatever it is.
        let files = files_under(copy);
        let names: Vec<String> = files
            .iter()
            .map(|f| f.strip_prefix(copy).unwrap().display().to_string())
            .collect();
        if *copy == copies[0] {
            // Copied while the app ran: its write-ahead log and shared memory too.
            for want in ["onsite.db-wal", "onsite.db-shm"] {
                assert!(
                    names.iter().any(|n| n == want),
                    "{want} in the copy: {names:?}"
                );
            }
        }
        for want in ["onsite.db", onsite_keys::KEY_FILE_NAME] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} in the copy: {names:?}"
            );
        }
        assert!(
            names.iter().filter(|n| n.starts_with("blobs/")).count() >= 4,
            "the sealed blobs in the copy: {names:?}"
        );
        let mut leaks = Vec::new();
        let mut bytes_searched = 0;
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            bytes_searched += bytes.len();
            for n in found_in(&bytes) {
                leaks.push(format!("{n:?} in {}", f.display()));
            }
        }
        assert!(
            leaks.is_empty(),
            "customer data in the copied data folder:\n{}",
            leaks.join("\n")
        );
        eprintln!(
            "privacy: {} searched, {} files, {bytes_searched} bytes: {names:?}",
            copy.display(),
            files.len()
        );

        // The key file: neither the key (raw or hex) nor customer data.
        let key_file = std::fs::read(copy.join(onsite_keys::KEY_FILE_NAME)).unwrap();
        assert!(
            !key_file.windows(32).any(|w| w == &key[..]),
            "the raw key in the key file"
        );
        let key_text = String::from_utf8_lossy(&key_file).to_lowercase();
        assert!(
            !key_text.contains(&key_hex),
            "the key in hex in the key file"
        );
        assert!(found_in(&key_file).is_empty());

        // The database does not open without the key.
        let db = copy.join("onsite.db");
        for query in ["SELECT count(*) FROM sqlite_master;", ".tables"] {
            let out = sqlite3(&db, query);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success(),
                "sqlite3 {query} opened the copied database: {stdout}"
            );
            assert!(
                stderr.contains("file is not a database"),
                "sqlite3 {query}: {stderr}"
            );
            assert!(
                stdout.trim().is_empty(),
                "sqlite3 {query} printed: {stdout}"
            );
            for t in &table_names {
                assert!(!stdout.contains(t.as_str()), "{t} in {stdout}");
            }
        }
    }
}

/// Runs the `sqlite3` shell on `db` with `sql`; the test fails loudly if it is missing.
fn sqlite3(db: &Path, sql: &str) -> std::process::Output {
    std::process::Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .unwrap_or_else(|e| {
            panic!("the sqlite3 shell is needed for this test (apt-get install sqlite3): {e}")
        })
}

/// An RFC 3339 UTC time `minutes` from now.
fn now_plus_minutes(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339()
}

fn view_folders(runtime: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(runtime)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("onsite-view-"))
        })
        .collect()
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Folders other than 0700 and files other than 0600 under `dir` (itself included).
fn too_open(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let meta = std::fs::symlink_metadata(dir).unwrap();
    if meta.file_type().is_symlink() {
        return found;
    }
    let want = if meta.is_dir() { 0o700 } else { 0o600 };
    if mode(dir) != want {
        found.push((dir.to_path_buf(), format!("{:o}", mode(dir))));
    }
    if meta.is_dir() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            found.extend(too_open(&e.path()));
        }
    }
    found
}
