//! Carry-back through the real app: the appliance goes to the workshop against a signed
//! receipt (A4 and 80 mm PDFs), moves along the goods in/out log, and comes back with the
//! loss of the receipt recorded and a second signature.

use std::time::Duration;

use onsite_e2e::{
    click, css, draw_signature, fill, keep, open_order, pdf_text, shot, value, wait_text, Fresh,
};

const PAD: &str = "[data-testid=carry-back] [data-testid=signature-canvas]";
const STATE: &str = "[data-testid=carry-back-item] [data-testid=cb-state]";

async fn sign(c: &fantoccini::Client, name: &str) {
    draw_signature(c, PAD).await;
    fill(c, "[data-testid=carry-back] [data-testid=signer]", name).await;
    click(c, "[data-testid=carry-back] [data-testid=sign-submit]").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_appliance_goes_to_the_workshop_and_comes_back() {
    let fresh = Fresh::start("en_US.UTF-8").await;
    let c = fresh.c.clone();
    let sandbox = &fresh.sandbox;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(css("[data-testid=order-card]"))
        .await
        .unwrap();

    open_order(&c, "Sophie Müller").await;
    click(&c, "[data-testid=to-on_site]").await;
    wait_text(&c, "[data-testid=order-status]", |t| t == "On site").await;

    click(&c, "[data-testid=cb-start]").await;
    let item = value(&c, "[data-testid=cb-item]").await;
    assert!(
        item.contains("TF-60E"),
        "prefilled from the appliance: {item}"
    );
    fill(
        &c,
        "[data-testid=cb-accessories]",
        "Remote control, Wall bracket",
    )
    .await;
    fill(
        &c,
        "[data-testid=cb-condition]",
        "Scratch on the left side panel",
    )
    .await;
    sign(&c, "Sophie Müller").await;
    wait_text(&c, STATE, |t| t == "Taken").await;
    let receipt = c
        .find(css("[data-testid=carry-back-item]"))
        .await
        .unwrap()
        .attr("data-receipt")
        .await
        .unwrap()
        .unwrap();
    assert!(receipt.starts_with("CB-"), "{receipt}");

    // The receipt, on A4 and on the 80 mm roll, in the customer's language (English).
    let docs = c
        .find_all(css("[data-testid=document][data-kind=carry_back]"))
        .await
        .unwrap();
    assert_eq!(docs.len(), 2, "A4 and roll");
    for (i, doc) in docs.iter().enumerate() {
        let sha = doc.attr("data-sha256").await.unwrap().unwrap();
        keep(&sandbox.blob(&sha), &format!("carry-back-{i}.pdf"));
        let text = pdf_text(&sandbox.blob_file(&sha));
        for want in [
            receipt.as_str(),
            "Sophie Müller",
            "Remote control",
            "Wall bracket",
        ] {
            assert!(text.contains(want), "{want} in the receipt: {text}");
        }
    }
    shot(&c, "carry-back-taken").await;

    click(&c, "[data-testid=cb-to-at_workshop]").await;
    wait_text(&c, STATE, |t| t == "At the workshop").await;
    click(&c, "[data-testid=cb-to-repaired]").await;
    wait_text(&c, STATE, |t| t == "Repaired").await;

    // Back to the customer, who has lost the receipt.
    click(&c, "[data-testid=cb-return]").await;
    click(&c, "[data-testid=cb-receipt-collected]").await;
    fill(&c, "[data-testid=cb-lost-note]", "Lost when moving house").await;
    sign(&c, "Sophie Müller").await;
    wait_text(&c, STATE, |t| t == "Returned").await;
    let returned = wait_text(&c, "[data-testid=cb-returned]", |t| {
        t.contains("Receipt lost")
    })
    .await;
    assert!(returned.contains("Lost when moving house"), "{returned}");
    shot(&c, "carry-back-returned").await;
    c.close().await.unwrap();
}
