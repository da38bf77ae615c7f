//! Issue 11, what can be tested today: after a whole visit and a sync, the app's data
//! folder is the technician's own (folders 0700, files 0600), a document opened for
//! viewing went to a private temporary folder under its order number (not beside the
//! blobs), and neither the app's log nor head office's holds the customer's name, phone or
//! address, with both logs at debug level.

use std::path::{Path, PathBuf};
use std::time::Duration;

use onsite_e2e::{
    app_pids, click, css, draw_signature, fill, search, wait_text, Fresh, HeadOffice,
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
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(sandbox.data_dir().join("blobs").join(&sha)).unwrap()
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
    for want in ["onsite.db", "onsite.db-wal", "onsite.db-shm", "blobs"] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    assert!(
        names.iter().any(|n| n.starts_with("onsite-demo-")),
        "{names:?}"
    );
    let blobs = std::fs::read_dir(data.join("blobs")).unwrap().count();
    assert!(blobs >= 2, "the signature and the sheet: {blobs}");
    let open = too_open(&data);
    assert!(open.is_empty(), "readable by others: {open:?}");

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
    let digits: String = PHONE.chars().filter(char::is_ascii_digit).collect();
    let needles = [
        NAME_ZH,
        NAME_LATIN,
        PHONE,
        &digits,
        "8765-4321",
        "87654321",
        ADDRESS,
        "学院路",
        "Xueyuan Road",
    ];
    let mut leaks = Vec::new();
    for (which, log) in [("app", &app), ("head office", &office)] {
        for line in log.lines() {
            for needle in needles {
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
