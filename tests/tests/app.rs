//! The technician's first day, driven through the real app: tauri-driver → WebKitWebDriver
//! → the onsite binary, under a private Xvfb, on an empty data folder.

use std::process::Command;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::Client;
use onsite_e2e::{
    app_binary, click, css, draw_signature, fill, keep, pdf_text, refs, search, shot,
    small_targets, wait_text, Driver, Fresh, Sandbox, Xvfb,
};

async fn last_history_item(c: &Client) -> Element {
    c.find(css("[data-testid=history-item]:last-child"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn today_search_status_change_survive_restart() {
    let app = app_binary();
    let x = Xvfb::start();
    let sandbox = Sandbox::new();
    let env = sandbox.env();

    let history_text;
    {
        let driver = Driver::start(&x.display, &refs(&env), "zh_CN.UTF-8");
        let c = driver.session(&app).await;

        // Today: the demo day, in Chinese (the system language here)
        c.wait()
            .at_most(Duration::from_secs(20))
            .for_element(css("[data-testid=order-card]"))
            .await
            .expect("Today shows work orders");
        let names: Vec<String> = {
            let mut v = Vec::new();
            for el in c
                .find_all(css("[data-testid=today-list] [data-testid=customer-name]"))
                .await
                .unwrap()
            {
                v.push(el.text().await.unwrap());
            }
            v
        };
        assert!(names.len() >= 7, "today's demo orders: {names:?}");
        assert!(names.contains(&"欧阳玥".to_string()), "{names:?}");
        assert!(
            names.contains(&"Margaret O'Donnell".to_string()),
            "{names:?}"
        );
        assert_eq!(
            c.find(css("h1")).await.unwrap().text().await.unwrap(),
            "今日工单"
        );
        shot(&c, "today").await;
        assert!(
            sandbox.data_dir().join("onsite.db").exists(),
            "the demo database is created in the data folder"
        );

        // A second instance on the same data hands over to this one and exits.
        let second = Command::new(&app)
            .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
            .env("DISPLAY", &x.display)
            .output()
            .expect("start a second instance");
        assert!(second.status.success(), "{second:?}");
        assert!(
            String::from_utf8_lossy(&second.stderr).contains("already running"),
            "{second:?}"
        );

        // Search by a two-character Chinese name
        search(&c, "王伟").await;
        let first = c
            .wait()
            .for_element(css("[data-testid=results] [data-testid=order-card]"))
            .await
            .unwrap();
        let results = c
            .find_all(css("[data-testid=results] [data-testid=customer-name]"))
            .await
            .unwrap();
        assert_eq!(
            results.len(),
            3,
            "王伟 has three work orders, past ones included"
        );
        shot(&c, "search").await;
        for r in results {
            assert_eq!(r.text().await.unwrap(), "王伟");
        }
        first.click().await.unwrap();

        // Open it and move it to "on site"
        wait_text(&c, "[data-testid=detail-customer]", |t| t == "王伟").await;
        wait_text(&c, "[data-testid=order-status]", |t| t == "已派工").await;
        click(&c, "[data-testid=to-on_site]").await;
        wait_text(&c, "[data-testid=order-status]", |t| t == "已到场").await;
        let last = last_history_item(&c).await;
        assert_eq!(
            last.attr("data-status").await.unwrap().as_deref(),
            Some("on_site")
        );
        history_text = last.text().await.unwrap();
        shot(&c, "work-order").await;
        assert!(history_text.contains("已到场"), "{history_text}");

        c.close().await.unwrap();
    }

    // Restart on the same data folder: the status and its time are still there.
    {
        let driver = Driver::start(&x.display, &refs(&env), "zh_CN.UTF-8");
        let c = driver.session(&app).await;
        search(&c, "王伟").await;
        click(&c, "[data-testid=results] [data-testid=order-card]").await;
        wait_text(&c, "[data-testid=order-status]", |t| t == "已到场").await;
        assert_eq!(
            last_history_item(&c).await.text().await.unwrap(),
            history_text
        );

        // The language switch in settings takes effect at once and is kept.
        click(&c, "[data-testid=nav-settings]").await;
        click(&c, "[data-testid=lang-en]").await;
        wait_text(&c, "h1", |t| t == "Settings").await;
        click(&c, "[data-testid=nav-today]").await;
        wait_text(&c, "h1", |t| t == "Today").await;
        c.close().await.unwrap();
    }

    {
        let driver = Driver::start(&x.display, &refs(&env), "zh_CN.UTF-8");
        let c = driver.session(&app).await;
        c.wait()
            .at_most(Duration::from_secs(20))
            .for_element(css("[data-testid=order-card]"))
            .await
            .unwrap();
        wait_text(&c, "h1", |t| t == "Today").await;
        c.close().await.unwrap();
    }
}

/// A data file of the earlier plain version (SQLite's header), damaged: the app cannot
/// seal it, says so naming the file, and leaves it as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_data_file_is_explained_and_left_alone() {
    let app = app_binary();
    let x = Xvfb::start();
    let sandbox = Sandbox::new();
    let env = sandbox.env();
    let file = sandbox.data_dir().join("onsite.db");
    let mut garbage = b"SQLite format 3\0".to_vec();
    garbage.extend(b"not a database, but the only copy of someone's data\n".repeat(200));
    std::fs::write(&file, &garbage).unwrap();

    let driver = Driver::start(&x.display, &refs(&env), "en_US.UTF-8");
    let c = driver.session(&app).await;
    let alert = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(css("[data-testid=fatal-error]"))
        .await
        .unwrap();
    assert_eq!(
        alert.attr("data-code").await.unwrap().as_deref(),
        Some("db_corrupt")
    );
    let text = alert.text().await.unwrap();
    shot(&c, "damaged-file").await;
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(text.contains("has not changed it"), "{text}");
    c.close().await.unwrap();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        garbage,
        "the file is untouched"
    );
}

/// A data file that is not plain SQLite and no key for it: it may be sealed data whose key
/// is lost, so the app never makes a new key over it. It says the key is missing, writes
/// no key file and leaves the file as it was.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_data_file_without_its_key_is_left_alone() {
    let app = app_binary();
    let x = Xvfb::start();
    let sandbox = Sandbox::new();
    let env = sandbox.env();
    let file = sandbox.data_dir().join("onsite.db");
    let garbage = b"not a database, but the only copy of someone's data\n".repeat(200);
    std::fs::write(&file, &garbage).unwrap();

    let driver = Driver::start(&x.display, &refs(&env), "en_US.UTF-8");
    let c = driver.session(&app).await;
    let problem = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(css("[data-testid=key-problem]"))
        .await
        .unwrap();
    assert_eq!(
        problem.attr("data-problem").await.unwrap().as_deref(),
        Some("key_missing")
    );
    let text = problem.text().await.unwrap();
    shot(&c, "key-missing").await;
    assert!(text.contains("Nothing has been deleted"), "{text}");
    // "Try again" asks again and finds the same: still nothing touched.
    click(&c, "[data-testid=key-retry]").await;
    wait_text(&c, "[data-testid=key-retry-checked]", |t| !t.is_empty()).await;
    c.close().await.unwrap();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        garbage,
        "the file is untouched"
    );
    assert!(
        !sandbox.data_dir().join(onsite_keys::KEY_FILE_NAME).exists(),
        "no new key over data that may be sealed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_customer_signs_and_the_signed_sheet_is_a_real_pdf() {
    let fresh = Fresh::start("en_US.UTF-8").await;
    let c = fresh.c.clone();
    let sandbox = &fresh.sandbox;

    search(&c, "张志强").await;
    click(&c, "[data-testid=results] [data-testid=order-card]").await;
    wait_text(&c, "[data-testid=detail-customer]", |t| t == "张志强").await;
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "On site").await;

    // Completing with nothing recorded says what is left; going on anyway asks for the
    // customer's signature (or a reason there is none).
    click(&c, "[data-testid=to-completed]").await;
    wait_text(&c, "[data-testid=still-to-do]", |t| {
        t.contains("Diagnosis") && t.contains("Payment")
    })
    .await;
    click(&c, "[data-testid=complete-anyway]").await;
    wait_text(&c, "[data-testid=need-signature]", |t| {
        t.contains("not signed")
    })
    .await;
    click(&c, "[data-testid=go-to-signature]").await;

    draw_signature(
        &c,
        "[data-testid=signature-section] [data-testid=signature-canvas]",
    )
    .await;
    fill(&c, "[data-testid=signer]", "张志强").await;
    click(&c, "[data-testid=sign-submit]").await;
    wait_text(&c, "[data-testid=signature-valid]", |t| {
        t.contains("张志强")
    })
    .await;
    let hash_line = wait_text(&c, ".hash", |t| t.len() > 64).await;
    let hash = hash_line.rsplit(' ').next().unwrap().to_string();
    assert_eq!(hash.len(), 64, "{hash_line}");
    shot(&c, "signed").await;

    click(&c, "[data-testid=to-completed]").await;
    click(&c, "[data-testid=complete-anyway]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "Completed").await;

    // The sign-off sheet, made by completing: stored under its hash, and a real PDF with
    // the signed content.
    let doc = c
        .wait()
        .for_element(css("[data-testid=document][data-kind=sign_off]"))
        .await
        .unwrap();
    let sha = doc.attr("data-sha256").await.unwrap().unwrap();
    let bytes = sandbox.blob(&sha);
    assert!(bytes.starts_with(b"%PDF-"));
    keep(&bytes, "sign-off.pdf");
    let text = pdf_text(&sandbox.blob_file(&sha)).replace(char::is_whitespace, "");
    assert!(text.contains("张志强"), "{text}");
    assert!(text.contains(&hash), "content hash on the sheet: {text}");
    // The signature PNG and the PDF, both sealed (the files are named by a keyed hash).
    assert!(
        sandbox.blob_files().len() >= 2,
        "signature PNG and PDF stored"
    );

    // A note after completion does not touch the signed content: the signature holds.
    fill(
        &c,
        "[data-testid=addendum-text]",
        "Replaced the RO membrane",
    )
    .await;
    click(&c, "[data-testid=add-addendum]").await;
    wait_text(&c, "[data-testid=addendum]", |t| t.contains("RO membrane")).await;
    click(&c, "[data-testid=open-signature]").await;
    wait_text(&c, "[data-testid=signature-valid]", |t| {
        t.contains("张志强")
    })
    .await;
    assert!(c.find(css("[data-testid=signature-void]")).await.is_err());
    c.close().await.unwrap();
}

/// Issue 10: a touchscreen in a customer's hallway. On every screen, every visible button,
/// field, list and link is at least 44 px tall, and no number field has spinner arrows.
#[tokio::test(flavor = "multi_thread")]
async fn every_screen_has_targets_a_thumb_can_hit() {
    let fresh = Fresh::start("zh_CN.UTF-8").await;
    let c = fresh.c.clone();
    c.set_window_size(1280, 800).await.unwrap();
    let mut bad = Vec::new();
    let mut look = |screen: &str, found: Vec<String>| {
        bad.extend(found.into_iter().map(|f| format!("{screen}: {f}")));
    };
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(css("[data-testid=order-card]"))
        .await
        .unwrap();
    look("today", small_targets(&c).await);
    // A phone fragment finds the job, and the result shows the phone to check it by.
    search(&c, "2020-30").await;
    let phone = wait_text(
        &c,
        "[data-testid=results] [data-testid=customer-phone]",
        |t| !t.is_empty(),
    )
    .await;
    assert!(phone.contains("130-2020-3030"), "{phone}");
    search(&c, "Sophie").await;
    look("search", small_targets(&c).await);
    click(&c, "[data-testid=results] [data-testid=order-card]").await;
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "已到场").await;
    look("visit", small_targets(&c).await);
    click(&c, "[data-testid=cb-start]").await;
    wait_text(&c, "[data-testid=cb-photo-count]", |t| !t.is_empty()).await;
    look("carry-back form", small_targets(&c).await);
    for (nav, screen) in [
        ("nav-expenses", "expenses"),
        ("nav-stock-take", "stock-take"),
        ("nav-sync", "sync"),
        ("nav-settings", "settings"),
    ] {
        click(&c, &format!("[data-testid={nav}]")).await;
        c.wait().for_element(css("main h1, main h2")).await.unwrap();
        look(screen, small_targets(&c).await);
    }
    assert_eq!(bad, Vec::<String>::new());
}
