//! The visit on screen (issue 3), driven through the real app on the demo data: diagnosis,
//! quote in the customer's language, parts from the van, payment, feedback, and the same
//! visit shown again when the work order is reopened.

use fantoccini::Client;
use onsite_e2e::{
    app_binary, click, css, fill, keep, open_order, pdf_text, refs, set_value, shot, small_targets,
    value, wait_text, Driver, Fresh, Sandbox, Walk, Xvfb,
};

const ENTER: &str = "\u{E007}";

/// Adds a part to the quote as a scanner would: its exact number, then Enter.
async fn scan_part(c: &Client, part_no: &str) {
    fill(c, "[data-testid=part-search]", &format!("{part_no}{ENTER}")).await;
    wait_text(c, "[data-testid=quote-parts]", |t| t.contains(part_no)).await;
}

/// Quote lines as (code, status) in screen order.
async fn quote_lines(c: &Client) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    for el in c.find_all(css("[data-testid=quote-line]")).await.unwrap() {
        lines.push((
            el.attr("data-code").await.unwrap().unwrap_or_default(),
            el.attr("data-status").await.unwrap().unwrap_or_default(),
        ));
    }
    lines
}

/// What the visit area shows, as text: compared before and after reopening.
async fn visit_text(c: &Client) -> String {
    wait_text(c, "[data-testid=visit-stage]", |t| !t.is_empty()).await;
    c.find(css("[data-testid=visit]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn paid_out_of_warranty_repair_with_bundle_part_and_cash_change() {
    let app = app_binary();
    let x = Xvfb::start();
    let sandbox = Sandbox::new();
    let env = sandbox.env();
    let before_restart;
    {
        let driver = Driver::start(&x.display, &refs(&env), "en_US.UTF-8");
        let c = driver.session(&app).await;
        // 张志强's QY-RO500, bought 2024-06-10: out of warranty.
        open_order(&c, "张志强").await;
        assert!(
            c.find(css("[data-testid=visit]")).await.is_err(),
            "no visit before arriving"
        );
        click(&c, "[data-testid=to-on_site]").await;
        wait_text(&c, "[data-testid=visit-stage]", |t| {
            t.contains("Not started")
        })
        .await;

        // 1. Diagnosis
        fill(
            &c,
            "[data-testid=fault-found]",
            "Flow low, PP filter clogged",
        )
        .await;
        click(&c, "[data-testid=component-filter]").await;
        fill(
            &c,
            "[data-testid=diagnosis-notes]",
            "Customer moving the unit to the new sink",
        )
        .await;
        click(&c, "[data-testid=save-diagnosis]").await;
        wait_text(&c, "[data-testid=diagnosis-fault]", |t| {
            t == "Flow low, PP filter clogged"
        })
        .await;
        wait_text(&c, "[data-testid=visit-stage]", |t| t.contains("Diagnosed")).await;

        // 2. Quote: relocate + maintain + replace is the ¥60 bundle, plus the filter.
        wait_text(&c, "[data-testid=quote-form]", |t| {
            t.contains("Fee table version 1")
        })
        .await;
        for code in ["RELOCATE", "MAINT", "REPLACE"] {
            click(&c, &format!("[data-testid=service-{code}]")).await;
        }
        scan_part(&c, "F-PP-10").await;
        click(&c, "[data-testid=price-quote]").await;
        wait_text(&c, "[data-testid=total-due]", |t| t == "¥88.00").await;
        assert_eq!(
            quote_lines(&c).await,
            [
                ("RELOCATE_MAINT_REPLACE".to_string(), "charged".to_string()),
                ("F-PP-10".to_string(), "charged".to_string()),
            ]
        );
        // Shown in the customer's language (Chinese), whatever the UI language.
        let quote = wait_text(&c, "[data-testid=quote]", |t| t.contains("收费")).await;
        assert!(quote.contains("移机＋保养＋更换"), "{quote}");
        assert!(quote.contains("耗材"), "the filter's reason: {quote}");
        wait_text(&c, "[data-testid=quote-fee-table]", |t| t == "v1").await;
        wait_text(&c, "[data-testid=total-gross]", |t| t == "¥88.00").await;
        shot(&c, "visit-quote").await;
        click(&c, "[data-testid=accept-quote]").await;
        wait_text(&c, "[data-testid=quote-decision]", |t| {
            t.contains("Accepted by the customer")
        })
        .await;

        // 3. The filter from the van.
        click(&c, "[data-testid=take-F-PP-10]").await;
        // Every quoted part taken: the step folds to one line.
        wait_text(&c, "[data-testid=parts-summary]", |t| t == "F-PP-10 × 1").await;
        wait_text(&c, "[data-testid=visit-stage]", |t| {
            t.contains("Parts taken")
        })
        .await;

        // 4. Cash. More than is due is refused, translated, and nothing typed is lost.
        wait_text(&c, "[data-testid=balance-outstanding]", |t| t == "¥88.00").await;
        assert_eq!(value(&c, "[data-testid=pay-amount]").await, "88.00");
        fill(&c, "[data-testid=pay-amount]", "100").await;
        fill(&c, "[data-testid=pay-tendered]", "100").await;
        click(&c, "[data-testid=take-payment]").await;
        // Said next to the button pressed, not at the top of the card.
        wait_text(&c, "[data-testid=payment-error]", |t| {
            t.contains("more than the customer still owes")
        })
        .await;
        assert_eq!(value(&c, "[data-testid=pay-amount]").await, "100");
        assert_eq!(value(&c, "[data-testid=pay-tendered]").await, "100");
        fill(&c, "[data-testid=pay-amount]", "88").await;
        wait_text(&c, "[data-testid=change-preview]", |t| {
            t == "Change to give: ¥12.00"
        })
        .await;
        click(&c, "[data-testid=take-payment]").await;
        wait_text(&c, "[data-testid=change-given]", |t| {
            t == "Give back ¥12.00 in change"
        })
        .await;
        wait_text(&c, "[data-testid=balance-outstanding]", |t| t == "¥0.00").await;
        wait_text(&c, "[data-testid=balance-paid]", |t| t == "¥88.00").await;
        wait_text(&c, "[data-testid=settlement]", |t| t == "Paid").await;
        assert!(c.find(css("[data-testid=payment-error]")).await.is_err());
        assert!(
            c.find(css("[data-testid=payment-form]")).await.is_err(),
            "nothing left to take"
        );

        // 5. Feedback.
        click(&c, "[data-testid=rating-5]").await;
        fill(&c, "[data-testid=feedback-comment]", "Quick and tidy").await;
        click(&c, "[data-testid=save-feedback]").await;
        wait_text(&c, "[data-testid=feedback-recorded]", |t| {
            t.contains("★★★★★") && t.contains("may call back")
        })
        .await;
        wait_text(&c, "[data-testid=visit-stage]", |t| {
            t.contains("Feedback given")
        })
        .await;
        shot(&c, "visit-paid").await;
        before_restart = visit_text(&c).await;
        c.close().await.unwrap();
    }

    // Restart on the same data: the work order shows the same visit.
    let driver = Driver::start(&x.display, &refs(&env), "en_US.UTF-8");
    let c = driver.session(&app).await;
    open_order(&c, "张志强").await;
    wait_text(&c, "[data-testid=visit-stage]", |t| {
        t.contains("Feedback given")
    })
    .await;
    wait_text(&c, "[data-testid=total-due]", |t| t == "¥88.00").await;
    let after = visit_text(&c).await;
    // The change notice belongs to the moment of payment; the payment line keeps it.
    let expected = before_restart.replace("Give back ¥12.00 in change ", "");
    assert_eq!(after, expected);
    click(&c, "[data-testid=open-payment]").await;
    let payment = wait_text(&c, "[data-testid=payment]", |t| !t.is_empty()).await;
    assert!(
        payment.contains("Cash · ¥88.00 · Handed over ¥100.00 · change ¥12.00"),
        "{payment}"
    );

    // The visit's paperwork, in the customer's language (Chinese), checked as PDFs.
    click(&c, "[data-testid=create-quote]").await;
    c.wait()
        .for_element(css("[data-testid=document][data-kind=quote]"))
        .await
        .unwrap();
    click(&c, "[data-testid=create-receipt]").await;
    c.wait()
        .for_element(css("[data-testid=document][data-kind=payment_receipt]"))
        .await
        .unwrap();
    // Not signed yet: no sign-off sheet to make (the path test makes it by completing).
    assert!(c.find(css("[data-testid=create-sign-off]")).await.is_err());
    let mut kinds = Vec::new();
    for doc in c.find_all(css("[data-testid=document]")).await.unwrap() {
        let kind = doc.attr("data-kind").await.unwrap().unwrap();
        let sha = doc.attr("data-sha256").await.unwrap().unwrap();
        keep(
            &sandbox.blob(&sha),
            &format!("visit-{kind}-{}.pdf", kinds.len()),
        );
        let text = pdf_text(&sandbox.blob_file(&sha)).replace(char::is_whitespace, "");
        assert!(text.contains("张志强"), "{kind}: {text}");
        assert!(text.contains("¥88.00"), "{kind} shows the total: {text}");
        if kind == "payment_receipt" {
            assert!(text.contains("¥12.00"), "change on the receipt: {text}");
        }
        if kind == "quote" {
            assert!(text.contains("¥60.00"), "the bundle: {text}");
        }
        kinds.push(kind);
    }
    kinds.sort();
    assert_eq!(kinds, ["payment_receipt", "payment_receipt", "quote"]);
    let order_no = c
        .find(css("[data-testid=order-no]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    // The day-end summary lists the money taken today, by method.
    click(&c, "[data-testid=nav-today]").await;
    click(&c, "[data-testid=day-end]").await;
    // The demo device is not connected to head office: closing the day warns first.
    let warning = wait_text(&c, "[data-testid=day-end-unsent]", |t| !t.is_empty()).await;
    assert!(warning.contains("not connected"), "{warning}");
    click(&c, "[data-testid=day-end-anyway]").await;
    let doc = c
        .wait()
        .for_element(css("[data-testid=day-end-doc]"))
        .await
        .unwrap();
    let sha = doc.attr("data-sha256").await.unwrap().unwrap();
    keep(&sandbox.blob(&sha), "day-end.pdf");
    let text = pdf_text(&sandbox.blob_file(&sha)).replace(char::is_whitespace, "");
    assert!(
        text.contains(&order_no),
        "{order_no} in the day-end: {text}"
    );
    assert!(text.contains("¥88.00"), "cash taken: {text}");
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn in_warranty_repair_with_consumable_charged_and_old_part_returned() {
    let fresh = Fresh::start("en_US.UTF-8").await;
    let c = fresh.c.clone();

    // 陈晓东's QY-RO800 Pro, bought 2025-11-30 with a sealed invoice: in warranty.
    open_order(&c, "陈晓东").await;
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "On site").await;

    fill(&c, "[data-testid=fault-found]", "Booster pump leaking").await;
    click(&c, "[data-testid=component-pump]").await;
    click(&c, "[data-testid=save-diagnosis]").await;
    wait_text(&c, "[data-testid=diagnosis-fault]", |t| {
        t == "Booster pump leaking"
    })
    .await;

    click(&c, "[data-testid=service-REPLACE]").await;
    scan_part(&c, "F-PP-10").await;
    // By name, then picked from the results.
    fill(&c, "[data-testid=part-search]", "Booster pump 24").await;
    click(&c, "[data-testid=add-part-P-PUMP-24V]").await;
    wait_text(&c, "[data-testid=quote-parts]", |t| {
        t.contains("P-PUMP-24V")
    })
    .await;
    click(&c, "[data-testid=price-quote]").await;
    wait_text(&c, "[data-testid=total-due]", |t| t == "¥208.00").await;
    let mut lines = quote_lines(&c).await;
    lines.sort();
    assert_eq!(
        lines,
        [
            ("F-PP-10".to_string(), "charged".to_string()),
            ("P-PUMP-24V".to_string(), "deposit".to_string()),
            ("REPLACE".to_string(), "covered".to_string()),
        ]
    );
    wait_text(&c, "[data-testid=total-deposit]", |t| t == "¥180.00").await;
    wait_text(&c, "[data-testid=total-covered]", |t| t == "¥20.00").await;
    click(&c, "[data-testid=accept-quote]").await;
    wait_text(&c, "[data-testid=quote-decision]", |t| {
        t.contains("Accepted")
    })
    .await;
    // Accepting the quote starts the work: the status follows, stamped in the history.
    wait_text(&c, "[data-testid=order-status]", |t| t == "In progress").await;

    // The pump is serialized: without the serials the step is refused, translated, on
    // the pump's own row.
    click(&c, "[data-testid=take-P-PUMP-24V]").await;
    wait_text(&c, "[data-testid=take-error-P-PUMP-24V]", |t| {
        t.contains("not valid")
    })
    .await;
    fill(
        &c,
        "[data-testid=serial-fitted-P-PUMP-24V]",
        "PUMP-NEW-0001",
    )
    .await;
    fill(
        &c,
        "[data-testid=serial-removed-P-PUMP-24V]",
        "PUMP-OLD-0042",
    )
    .await;
    click(&c, "[data-testid=take-P-PUMP-24V]").await;
    wait_text(&c, "[data-testid=part-use][data-code=P-PUMP-24V]", |t| {
        t.contains("PUMP-NEW-0001") && t.contains("PUMP-OLD-0042")
    })
    .await;
    assert!(c
        .find(css("[data-testid=take-error-P-PUMP-24V]"))
        .await
        .is_err());
    click(&c, "[data-testid=take-F-PP-10]").await;
    wait_text(&c, "[data-testid=parts-summary]", |t| {
        t.contains("F-PP-10 × 1")
    })
    .await;

    // An unused filter goes back to the warehouse (the parts step, done, is reopened).
    click(&c, "[data-testid=open-parts]").await;
    click(&c, "[data-testid=step-parts] details summary").await;
    fill(&c, "[data-testid=unused-part]", "F-CTO-10").await;
    click(&c, "[data-testid=return-unused]").await;
    wait_text(&c, "[data-testid=unused-returns]", |t| {
        t.contains("F-CTO-10 × 1")
    })
    .await;

    // The customer pays the filter by QR; the deposit is still due.
    click(&c, "[data-testid=method-qr]").await;
    assert!(c.find(css("[data-testid=pay-tendered]")).await.is_err());
    fill(&c, "[data-testid=pay-amount]", "28").await;
    click(&c, "[data-testid=take-payment]").await;
    wait_text(&c, "[data-testid=balance-outstanding]", |t| t == "¥180.00").await;
    wait_text(&c, "[data-testid=settlement]", |t| t == "Part paid").await;

    // The old pump comes back: the deposit is reversed and nothing is owed.
    click(&c, "[data-testid=return-old-P-PUMP-24V]").await;
    wait_text(&c, "[data-testid=old-returned]", |t| {
        t == "Old part returned"
    })
    .await;
    wait_text(&c, "[data-testid=total-due]", |t| t == "¥28.00").await;
    wait_text(&c, "[data-testid=balance-outstanding]", |t| t == "¥0.00").await;
    wait_text(&c, "[data-testid=settlement]", |t| t == "Paid").await;
    click(&c, "[data-testid=open-quote]").await;
    wait_text(&c, "[data-testid=quote]", |t| !t.is_empty()).await;
    let mut lines = quote_lines(&c).await;
    lines.sort();
    assert_eq!(lines[1], ("P-PUMP-24V".into(), "covered".into()));

    click(&c, "[data-testid=rating-4]").await;
    click(&c, "[data-testid=callback]").await;
    click(&c, "[data-testid=save-feedback]").await;
    wait_text(&c, "[data-testid=feedback-recorded]", |t| {
        t.contains("★★★★☆") && t.contains("no call back")
    })
    .await;
    shot(&c, "visit-warranty").await;
    let before = visit_text(&c).await;

    // Reopen the work order from search: the same visit.
    click(&c, "[data-testid=back]").await;
    open_order(&c, "陈晓东").await;
    wait_text(&c, "[data-testid=visit-stage]", |t| {
        t.contains("Feedback given")
    })
    .await;
    wait_text(&c, "[data-testid=total-due]", |t| t == "¥28.00").await;
    // The steps the technician had opened are opened again to compare.
    click(&c, "[data-testid=open-parts]").await;
    click(&c, "[data-testid=open-quote]").await;
    wait_text(&c, "[data-testid=quote]", |t| !t.is_empty()).await;
    assert_eq!(visit_text(&c).await, before);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn english_quote_photo_stock_override_card_and_invoice_later() {
    let fresh = Fresh::start("zh_CN.UTF-8").await;
    let c = fresh.c.clone();
    let sandbox = &fresh.sandbox;

    // Margaret O'Donnell speaks English: her quote is in English, the UI in Chinese.
    open_order(&c, "Margaret O'Donnell").await;
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=visit-stage]", |t| t.contains("未开始")).await;

    // A photo from disk: stored, sealed, under its SHA-256.
    let photo = sandbox.dir.path().join("leak.png");
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82";
    std::fs::write(&photo, png).unwrap();
    c.find(css("[data-testid=photos]"))
        .await
        .unwrap()
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    fill(
        &c,
        "[data-testid=fault-found]",
        "Pressure tank bladder split",
    )
    .await;
    click(&c, "[data-testid=component-tank]").await;
    click(&c, "[data-testid=save-diagnosis]").await;
    wait_text(&c, "[data-testid=diagnosis-recorded]", |t| {
        t.contains("1 张照片")
    })
    .await;
    let files = sandbox.blob_files();
    assert_eq!(files.len(), 1, "one sealed photo: {files:?}");
    assert_ne!(std::fs::read(&files[0]).unwrap(), png, "sealed, not plain");
    let sha = onsite_domain::signoff::sha256_hex(png);
    assert_eq!(sandbox.blob(&sha), png);

    // Two tanks quoted; the van holds one.
    click(&c, "[data-testid=service-REPLACE]").await;
    scan_part(&c, "T-TANK-3G").await;
    fill(&c, "[data-testid=qty-T-TANK-3G]", "2").await;
    click(&c, "[data-testid=price-quote]").await;
    wait_text(&c, "[data-testid=total-due]", |t| t == "¥276.00").await;
    let quote = wait_text(&c, "[data-testid=quote]", |t| t.contains("Charged")).await;
    assert!(quote.contains("Pressure tank 3.2 gal"), "{quote}");
    assert!(!quote.contains("收费"), "all in English: {quote}");
    click(&c, "[data-testid=accept-quote]").await;
    wait_text(&c, "[data-testid=quote-decision]", |t| {
        t.contains("客户已接受")
    })
    .await;

    fill(&c, "[data-testid=take-qty-T-TANK-3G]", "2").await;
    click(&c, "[data-testid=take-T-TANK-3G]").await;
    wait_text(&c, "[data-testid=take-error-T-TANK-3G]", |t| {
        t.contains("库存不足")
    })
    .await;
    fill(
        &c,
        "[data-testid=override-T-TANK-3G]",
        "Borrowed one from a colleague",
    )
    .await;
    assert_eq!(value(&c, "[data-testid=take-qty-T-TANK-3G]").await, "2");
    click(&c, "[data-testid=take-T-TANK-3G]").await;
    wait_text(&c, "[data-testid=parts-summary]", |t| {
        t.contains("T-TANK-3G × 2")
    })
    .await;
    click(&c, "[data-testid=open-parts]").await;
    wait_text(&c, "[data-testid=part-use][data-code=T-TANK-3G]", |t| {
        t.contains("× 2") && t.contains("Borrowed one from a colleague")
    })
    .await;
    wait_text(&c, "[data-testid=to-take]", |t| t.contains("车内 -1 件")).await;

    // Part by card, the rest invoiced later.
    click(&c, "[data-testid=method-card]").await;
    fill(&c, "[data-testid=pay-amount]", "100").await;
    click(&c, "[data-testid=take-payment]").await;
    wait_text(&c, "[data-testid=balance-outstanding]", |t| t == "¥176.00").await;
    wait_text(&c, "[data-testid=settlement]", |t| t == "部分付款").await;
    click(&c, "[data-testid=invoice-later]").await;
    wait_text(&c, "[data-testid=settlement]", |t| t == "稍后开票收款").await;
    assert!(c.find(css("[data-testid=payment-form]")).await.is_err());
    wait_text(&c, "[data-testid=visit-stage]", |t| t.contains("收款")).await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_quote_ends_the_visit() {
    let fresh = Fresh::start("en_US.UTF-8").await;
    let c = fresh.c.clone();

    // 赵磊's QY-RO500 (2023): out of warranty, tomorrow's repair.
    open_order(&c, "赵磊").await;
    click(&c, "[data-testid=to-en_route]").await;
    click(&c, "[data-testid=to-on_site]").await;
    // Straight to the quote, before any diagnosis: the step is opened by hand.
    click(&c, "[data-testid=open-quote]").await;
    click(&c, "[data-testid=service-MAINT]").await;
    click(&c, "[data-testid=price-quote]").await;
    wait_text(&c, "[data-testid=total-due]", |t| t == "¥30.00").await;
    click(&c, "[data-testid=decline-quote]").await;
    wait_text(&c, "[data-testid=order-status]", |t| {
        t == "Unable to complete"
    })
    .await;
    wait_text(&c, "[data-testid=visit-stage]", |t| {
        t.contains("Quote declined")
    })
    .await;
    wait_text(&c, "[data-testid=quote-decision]", |t| {
        t.contains("Declined by the customer")
    })
    .await;
    // The demo fee table has no call-out fee: nothing is due, no form to take money.
    wait_text(&c, "[data-testid=settlement]", |t| t == "Nothing due").await;
    assert!(c.find(css("[data-testid=payment-form]")).await.is_err());
    assert!(c.find(css("[data-testid=quote-form]")).await.is_err());
    assert!(c.find(css("[data-testid=parts-to-take]")).await.is_err());
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exclusion_on_one_component_and_an_open_priced_repair() {
    let fresh = Fresh::start("en_US.UTF-8").await;
    let c = fresh.c.clone();

    // 孙丽华's QY-UF300, bought 2026-05-03 with a sealed invoice: in warranty.
    open_order(&c, "孙丽华").await;
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "On site").await;

    // The faucet was broken when the unit was moved; the pump failed on its own.
    fill(
        &c,
        "[data-testid=fault-found]",
        "Faucet cracked, pump noisy",
    )
    .await;
    click(&c, "[data-testid=component-pump]").await;
    click(&c, "[data-testid=component-fitting]").await;
    click(&c, "[data-testid=exclusion-dropped_or_moved_improperly]").await;
    let scope = c
        .find(css(
            "[data-testid=exclusion-scope-dropped_or_moved_improperly]",
        ))
        .await
        .unwrap();
    scope.select_by_value("fitting").await.unwrap();
    // No camera on this machine (and no mock): no camera button, photos from files only.
    assert!(c.find(css("[data-testid=camera-open]")).await.is_err());
    click(&c, "[data-testid=save-diagnosis]").await;
    wait_text(&c, "[data-testid=diagnosis-exclusions]", |t| {
        t.contains("Dropped or moved improperly (Fitting)")
    })
    .await;

    // An open-priced repair: a price field, which must hold an amount; fixed items have
    // none.
    click(&c, "[data-testid=service-REPAIR_QUOTED]").await;
    assert!(
        c.find(css("[data-testid=price-REPLACE]")).await.is_err(),
        "no price field on a fixed-price item"
    );
    scan_part(&c, "X-FAUCET-01").await;
    scan_part(&c, "P-PUMP-24V").await;
    fill(&c, "[data-testid=price-REPAIR_QUOTED]", "abc").await;
    click(&c, "[data-testid=price-quote]").await;
    wait_text(&c, "[data-testid=quote-error]", |t| {
        t.contains("Type the price agreed with the customer for Repair")
    })
    .await;
    assert_eq!(value(&c, "[data-testid=price-REPAIR_QUOTED]").await, "abc");
    fill(&c, "[data-testid=price-REPAIR_QUOTED]", "150").await;
    click(&c, "[data-testid=price-quote]").await;
    wait_text(&c, "[data-testid=total-due]", |t| t.starts_with('¥')).await;
    let lines = quote_lines(&c).await;
    let status = |code: &str| {
        lines
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, s)| s.as_str())
            .unwrap_or_else(|| panic!("{code} in {lines:?}"))
            .to_owned()
    };
    // The exclusion makes the faucet (a fitting) charged; the pump keeps its warranty.
    assert_eq!(status("X-FAUCET-01"), "charged", "{lines:?}");
    assert_ne!(status("P-PUMP-24V"), "charged", "{lines:?}");
    let repair = c
        .find(css("[data-testid=quote-line][data-code=REPAIR_QUOTED]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(repair.contains("¥150.00"), "{repair}");
    shot(&c, "exclusion-open-priced").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_diagnosis_photo_taken_with_the_webcam() {
    // WebKit's synthetic camera: the machine running the tests has none.
    let fresh = Fresh::start_with("en_US.UTF-8", &[("ONSITE_MOCK_CAMERA", "1")]).await;
    let (c, sandbox) = (fresh.c.clone(), &fresh.sandbox);

    open_order(&c, "李娜").await;
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=visit-stage]", |t| !t.is_empty()).await;
    fill(&c, "[data-testid=fault-found]", "Scale on the inlet valve").await;
    click(&c, "[data-testid=camera-open]").await;
    c.wait()
        .for_element(css("[data-testid=camera-preview]"))
        .await
        .unwrap();
    // Wait for the first frame, then take two photos.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let width = c
            .execute(
                "return document.querySelector('[data-testid=camera-preview]').videoWidth;",
                vec![],
            )
            .await
            .unwrap();
        if width.as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no camera picture");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    shot(&c, "camera").await;
    click(&c, "[data-testid=camera-capture]").await;
    wait_text(&c, "[data-testid=diagnosis-form]", |t| {
        t.contains("1 photo")
    })
    .await;
    click(&c, "[data-testid=camera-close]").await;
    click(&c, "[data-testid=save-diagnosis]").await;
    wait_text(&c, "[data-testid=diagnosis-fault]", |t| {
        t == "Scale on the inlet valve"
    })
    .await;

    // The photo is a real JPEG, stored (sealed) under its hash, which the diagnosis holds.
    let shas = sandbox.sql("SELECT sha256 FROM visit_diagnosis_photo");
    assert_eq!(shas.len(), 1, "one photo recorded: {shas:?}");
    let jpegs: Vec<_> = shas
        .iter()
        .map(|sha| sandbox.blob(sha))
        .filter(|b| b.starts_with(&[0xff, 0xd8, 0xff]))
        .collect();
    assert_eq!(jpegs.len(), 1, "one JPEG");
    assert!(
        sandbox
            .blob_files()
            .iter()
            .all(|f| !std::fs::read(f).unwrap().starts_with(&[0xff, 0xd8, 0xff])),
        "no plain JPEG in the blobs folder"
    );
    assert!(jpegs[0].len() > 1000, "{} bytes", jpegs[0].len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_maintenance_contract_makes_what_it_covers_free() {
    let fresh = Fresh::start("en_US.UTF-8").await;
    let c = fresh.c.clone();

    // 欧阳玥's QY-RO800 Pro: no proof of purchase (no warranty), but a maintenance
    // contract for labour and parts, shown on the work order.
    open_order(&c, "欧阳玥").await;
    let contract = wait_text(&c, "[data-testid=contract]", |t| !t.is_empty()).await;
    assert!(
        contract.contains("MC-2026-0088") && contract.contains("labour and parts"),
        "{contract}"
    );
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=visit-stage]", |t| !t.is_empty()).await;
    fill(&c, "[data-testid=fault-found]", "Pump does not start").await;
    click(&c, "[data-testid=component-pump]").await;
    click(&c, "[data-testid=save-diagnosis]").await;
    wait_text(&c, "[data-testid=diagnosis-fault]", |t| {
        t == "Pump does not start"
    })
    .await;
    click(&c, "[data-testid=service-REPLACE]").await;
    scan_part(&c, "P-PUMP-24V").await;
    click(&c, "[data-testid=price-quote]").await;
    wait_text(&c, "[data-testid=total-due]", |t| t.starts_with('¥')).await;
    let lines = quote_lines(&c).await;
    assert!(
        lines.contains(&("REPLACE".to_string(), "covered".to_string())),
        "{lines:?}"
    );
    // Covered by the contract, said so in the customer's language (not "warranty").
    let replace = wait_text(
        &c,
        "[data-testid=quote-line][data-code=REPLACE] [data-testid=line-status]",
        |t| !t.is_empty(),
    )
    .await;
    assert_eq!(replace, "合同");
    assert!(
        !lines.contains(&("P-PUMP-24V".to_string(), "charged".to_string())),
        "{lines:?}"
    );
    shot(&c, "contract-quote").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_repair_from_arrival_to_the_sign_off_sheet_without_scrolling_back() {
    let fresh = Fresh::start("en_US.UTF-8").await;
    let (c, sandbox) = (fresh.c.clone(), &fresh.sandbox);
    c.set_window_size(1280, 800).await.unwrap();
    // 张志强's QY-RO500, a water purifier, out of warranty.
    open_order(&c, "张志强").await;
    // Before arriving: no visit, no signature pad, no document buttons.
    assert!(c.find(css("[data-testid=visit]")).await.is_err());
    assert!(c.find(css("[data-testid=signature-canvas]")).await.is_err());
    assert!(c.find(css("[data-testid=create-sign-off]")).await.is_err());

    let mut w = Walk::default();
    w.tap(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=path-diagnosis]", |t| !t.is_empty()).await;
    // The diagnosis offers a water purifier's components only.
    for absent in ["compressor", "glass", "heater", "mirror"] {
        assert!(
            c.find(css(&format!("[data-testid=component-{absent}]")))
                .await
                .is_err(),
            "a water purifier has no {absent}"
        );
    }
    assert_eq!(small_targets(&c).await, Vec::<String>::new());
    w.type_in(&c, "[data-testid=fault-found]", "PP filter clogged")
        .await;
    // An emoji, as technicians type them (WebDriver cannot type it: set as typed): kept as
    // typed, printed readably.
    set_value(&c, "[data-testid=fault-found]", "PP filter clogged 👍").await;
    w.tap(&c, "[data-testid=component-filter]").await;
    w.tap(&c, "[data-testid=save-diagnosis]").await;
    wait_text(&c, "[data-testid=step-quote]", |t| t.contains("Next")).await;
    w.tap(&c, "[data-testid=service-REPLACE]").await;
    w.type_in(&c, "[data-testid=part-search]", &format!("F-PP-10{ENTER}"))
        .await;
    wait_text(&c, "[data-testid=quote-parts]", |t| t.contains("F-PP-10")).await;
    w.tap(&c, "[data-testid=price-quote]").await;
    w.tap(&c, "[data-testid=accept-quote]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "In progress").await;
    w.tap(&c, "[data-testid=take-F-PP-10]").await;
    wait_text(&c, "[data-testid=step-payment]", |t| t.contains("Next")).await;
    shot(&c, "visit-path").await;
    w.tap(&c, "[data-testid=tendered-exact]").await;
    w.tap(&c, "[data-testid=take-payment]").await;
    wait_text(&c, "[data-testid=settlement]", |t| t == "Paid").await;
    w.tap(&c, "[data-testid=rating-5]").await;
    w.tap(&c, "[data-testid=save-feedback]").await;
    wait_text(&c, "[data-testid=where]", |t| {
        t.contains("the customer can sign")
    })
    .await;
    assert_eq!(small_targets(&c).await, Vec::<String>::new());
    // The customer's name is filled in for them.
    assert_eq!(value(&c, "[data-testid=signer]").await, "张志强");
    w.sign(&c, "[data-testid=signature-canvas]").await;
    w.tap(&c, "[data-testid=sign-submit]").await;
    wait_text(&c, "[data-testid=where]", |t| {
        t.contains("ready to complete")
    })
    .await;
    w.tap(&c, "[data-testid=to-completed]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "Completed").await;
    // Completing made the sign-off sheet.
    let doc = c
        .wait()
        .for_element(css("[data-testid=document][data-kind=sign_off]"))
        .await
        .unwrap();
    shot(&c, "path-completed").await;
    eprintln!("paid repair, arrival to sign-off sheet: {}", w.summary());
    assert_eq!(w.scrolled_up_px, 0, "scrolled back up: {}", w.summary());
    assert!(w.taps <= 16 && w.typed <= 2, "{}", w.summary());

    // Every status the visit implied is stamped in the history.
    let mut stamped = Vec::new();
    for item in c.find_all(css("[data-testid=history-item]")).await.unwrap() {
        stamped.push(item.attr("data-status").await.unwrap().unwrap());
    }
    assert!(
        stamped.ends_with(&["on_site".into(), "in_progress".into(), "completed".into()]),
        "{stamped:?}"
    );

    // The sheet says what it is, and what was done.
    let label = doc
        .find(css("[data-testid=document-label]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(label.contains("A4") && label.contains("Chinese"), "{label}");
    let sha = doc.attr("data-sha256").await.unwrap().unwrap();
    keep(&sandbox.blob(&sha), "path-sign-off.pdf");
    let text = pdf_text(&sandbox.blob_file(&sha));
    assert!(text.contains("PP filter clogged"), "the fault: {text}");
    assert!(!text.contains('👍') && !text.contains('□'), "{text}");
    assert!(text.contains("[…]"), "the emoji's place is marked: {text}");
    // Defect 7: "work done" says what was done (the accepted quote's service and part, in
    // the customer's language), and the diagnosis notes have their row.
    assert!(
        text.contains("更换滤芯或配件 × 1") && text.contains("PP棉滤芯 10寸 × 1"),
        "work done: {text}"
    );
    assert!(
        text.contains("检查备注"),
        "the diagnosis notes' row: {text}"
    );
    wait_text(&c, "[data-testid=diagnosis-fault]", |t| {
        t == "PP filter clogged 👍"
    })
    .await;

    // No PDF viewer on this machine: "Open" says so, next to the document, and points to
    // "Save as…".
    click(
        &c,
        "[data-testid=document][data-kind=sign_off] [data-testid=open-document]",
    )
    .await;
    let why = wait_text(&c, "[data-testid=document-error]", |t| !t.is_empty()).await;
    assert!(
        why.contains("No program to show PDFs") && why.contains("Save as"),
        "{why}"
    );

    // A note after completion is an addendum: the signature stays valid.
    fill(
        &c,
        "[data-testid=addendum-text]",
        "Customer asked for a call in a month",
    )
    .await;
    click(&c, "[data-testid=add-addendum]").await;
    wait_text(&c, "[data-testid=addendum]", |t| {
        t.contains("call in a month")
    })
    .await;
    assert!(c.find(css("[data-testid=signature-void]")).await.is_err());
    click(&c, "[data-testid=open-signature]").await;
    wait_text(&c, "[data-testid=signature-valid]", |t| {
        t.contains("张志强")
    })
    .await;
    shot(&c, "path-addendum").await;
}

/// How far (px, vertically) the error `error` is shown from the control `control` the
/// technician pressed: errors belong next to what caused them.
async fn distance(c: &Client, error: &str, control: &str) -> f64 {
    let d = c
        .execute(
            "const a = document.querySelector(arguments[0]).getBoundingClientRect();
             const b = document.querySelector(arguments[1]).getBoundingClientRect();
             return Math.max(0, a.top - b.bottom, b.top - a.bottom);",
            vec![error.into(), control.into()],
        )
        .await
        .unwrap();
    d.as_f64().unwrap()
}

/// Waits for the error `error`, checks it is announced (role=alert) and next to `control`.
async fn error_next_to(c: &Client, error: &str, control: &str, says: &str) {
    let text = wait_text(c, error, |t| !t.is_empty()).await;
    assert!(text.contains(says), "{error}: {text}");
    let role = c
        .find(css(error))
        .await
        .unwrap()
        .attr("role")
        .await
        .unwrap();
    assert_eq!(role.as_deref(), Some("alert"), "{error} is announced");
    let d = distance(c, error, control).await;
    assert!(d < 150.0, "{error} is {d} px from {control}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_next_to_where_it_was_typed() {
    let fresh = Fresh::start("en_US.UTF-8").await;
    let c = fresh.c.clone();
    c.set_window_size(1280, 800).await.unwrap();
    open_order(&c, "张志强").await;
    click(&c, "[data-testid=to-on_site]").await;

    // An empty diagnosis is not a diagnosis.
    click(&c, "[data-testid=save-diagnosis]").await;
    error_next_to(
        &c,
        "[data-testid=diagnosis-error]",
        "[data-testid=save-diagnosis]",
        "fault",
    )
    .await;
    wait_text(&c, "[data-testid=visit-stage]", |t| {
        t.contains("Not started")
    })
    .await;
    fill(&c, "[data-testid=fault-found]", "PP filter clogged").await;
    click(&c, "[data-testid=save-diagnosis]").await;
    wait_text(&c, "[data-testid=visit-stage]", |t| t.contains("Diagnosed")).await;

    // Pricing nothing says what is missing; letters in a quantity are refused.
    click(&c, "[data-testid=price-quote]").await;
    error_next_to(
        &c,
        "[data-testid=quote-error]",
        "[data-testid=price-quote]",
        "Choose at least one service or part",
    )
    .await;
    click(&c, "[data-testid=service-REPLACE]").await;
    fill(&c, "[data-testid=part-search]", &format!("F-PP-10{ENTER}")).await;
    wait_text(&c, "[data-testid=quote-parts]", |t| t.contains("F-PP-10")).await;
    fill(&c, "[data-testid=qty-F-PP-10]", "abc").await;
    click(&c, "[data-testid=price-quote]").await;
    error_next_to(
        &c,
        "[data-testid=quote-error]",
        "[data-testid=price-quote]",
        "type a whole number",
    )
    .await;
    assert!(
        c.find(css("[data-testid=quote]")).await.is_err(),
        "no quote"
    );
    click(&c, "[data-testid=qty-F-PP-10-more]").await;
    assert_eq!(value(&c, "[data-testid=qty-F-PP-10]").await, "1");
    click(&c, "[data-testid=qty-F-PP-10-more]").await;
    assert_eq!(value(&c, "[data-testid=qty-F-PP-10]").await, "2");
    click(&c, "[data-testid=price-quote]").await;
    click(&c, "[data-testid=accept-quote]").await;

    // Letters in the quantity to take from the van take nothing.
    fill(&c, "[data-testid=take-qty-F-PP-10]", "abc").await;
    click(&c, "[data-testid=take-F-PP-10]").await;
    error_next_to(
        &c,
        "[data-testid=take-error-F-PP-10]",
        "[data-testid=take-F-PP-10]",
        "type a whole number",
    )
    .await;
    assert!(
        c.find(css("[data-testid=part-use]")).await.is_err(),
        "nothing taken"
    );
    fill(&c, "[data-testid=take-qty-F-PP-10]", "3").await;
    click(&c, "[data-testid=take-F-PP-10]").await;
    error_next_to(
        &c,
        "[data-testid=take-error-F-PP-10]",
        "[data-testid=take-F-PP-10]",
        "at most 2",
    )
    .await;
    fill(&c, "[data-testid=take-qty-F-PP-10]", "2").await;
    click(&c, "[data-testid=take-F-PP-10]").await;
    wait_text(&c, "[data-testid=parts-summary]", |t| {
        t.contains("F-PP-10 × 2")
    })
    .await;

    // An absurd payment is refused next to the button, and what was typed stays.
    fill(&c, "[data-testid=pay-amount]", "99999999").await;
    click(&c, "[data-testid=tendered-exact]").await;
    click(&c, "[data-testid=take-payment]").await;
    error_next_to(
        &c,
        "[data-testid=payment-error]",
        "[data-testid=take-payment]",
        "That amount is not possible",
    )
    .await;
    assert_eq!(value(&c, "[data-testid=pay-amount]").await, "99999999");
    shot(&c, "error-in-place").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn text_typed_and_not_saved_is_kept_as_a_draft() {
    let app = app_binary();
    let x = Xvfb::start();
    let sandbox = Sandbox::new();
    let env = sandbox.env();
    {
        let driver = Driver::start(&x.display, &refs(&env), "en_US.UTF-8");
        let c = driver.session(&app).await;
        open_order(&c, "张志强").await;
        click(&c, "[data-testid=to-on_site]").await;
        fill(&c, "[data-testid=fault-found]", "Half-typed fault").await;
        fill(&c, "[data-testid=notes]", "Gate code 4711").await;
        wait_text(&c, "[data-testid=notes-draft]", |t| !t.is_empty()).await;
        // Away and back: nothing lost.
        click(&c, "[data-testid=back]").await;
        open_order(&c, "张志强").await;
        assert_eq!(
            value(&c, "[data-testid=fault-found]").await,
            "Half-typed fault"
        );
        assert_eq!(value(&c, "[data-testid=notes]").await, "Gate code 4711");
        fill(&c, "[data-testid=notes]", "Gate code 4712").await;
        // Said once the draft is really kept.
        wait_text(&c, "[data-testid=notes-draft]", |t| !t.is_empty()).await;
        c.close().await.unwrap();
    }
    // The app closed and started again: still there, and nothing was recorded as saved.
    let driver = Driver::start(&x.display, &refs(&env), "en_US.UTF-8");
    let c = driver.session(&app).await;
    open_order(&c, "张志强").await;
    assert_eq!(
        value(&c, "[data-testid=fault-found]").await,
        "Half-typed fault"
    );
    assert_eq!(value(&c, "[data-testid=notes]").await, "Gate code 4712");
    wait_text(&c, "[data-testid=visit-stage]", |t| {
        t.contains("Not started")
    })
    .await;
    // Saving the notes clears their draft.
    click(&c, "[data-testid=save-notes]").await;
    wait_text(&c, "[data-testid=notes-saved]", |t| !t.is_empty()).await;
    c.close().await.unwrap();
}
