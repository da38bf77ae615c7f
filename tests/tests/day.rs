//! The technician's day outside any one job, through the real app: the day's expenses
//! (defaults, a changed rate applied, a day recorded again replacing the first, bad input
//! refused in the user's language with nothing typed lost) and a van stock-take (one part
//! short, one over, the new quantities and the recorded differences in the list).

use std::time::Duration;

use fantoccini::Client;
use onsite_e2e::{click, css, fill, shot, value, wait_text, Fresh};

fn row(part_no: &str, cell: &str) -> String {
    format!("[data-testid=stock-row][data-part-no=\"{part_no}\"] [data-testid={cell}]")
}

/// The van's quantity of `part_no` as the stock-take list shows it (filtered to that part).
async fn expected(c: &Client, part_no: &str) -> i64 {
    fill(c, "[data-testid=stock-filter]", part_no).await;
    wait_text(c, &row(part_no, "stock-expected"), |t| {
        t.parse::<i64>().is_ok()
    })
    .await
    .parse()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn expenses_for_the_day_and_a_van_stock_take() {
    let fresh = Fresh::start("en_US.UTF-8").await;
    let c = fresh.c.clone();
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(css("[data-testid=order-card]"))
        .await
        .unwrap();

    // Expenses: the defaults (1 yuan/km, 30 per meal day, 150 per night).
    click(&c, "[data-testid=nav-expenses]").await;
    wait_text(&c, "[data-testid=exp-recorded]", |t| {
        t.contains("Nothing recorded")
    })
    .await;
    fill(&c, "[data-testid=exp-km]", "42").await;
    fill(&c, "[data-testid=exp-meals]", "1").await;
    fill(&c, "[data-testid=exp-nights]", "0").await;
    wait_text(&c, "[data-testid=exp-mileage]", |t| t == "¥42.00").await;
    wait_text(&c, "[data-testid=exp-meals-amount]", |t| t == "¥30.00").await;
    wait_text(&c, "[data-testid=exp-total]", |t| t == "¥72.00").await;
    click(&c, "[data-testid=exp-save]").await;
    wait_text(&c, "[data-testid=exp-recorded]", |t| {
        t.contains("Recorded for this day: ¥72.00")
    })
    .await;

    // Not a number of kilometres: refused in English, and what was typed stays.
    fill(&c, "[data-testid=exp-km]", "-5").await;
    click(&c, "[data-testid=exp-save]").await;
    wait_text(&c, "[data-testid=exp-error]", |t| {
        t.contains("Enter whole numbers")
    })
    .await;
    assert_eq!(value(&c, "[data-testid=exp-km]").await, "-5");

    // A rate that is not an amount is refused; a new rate per km applies.
    fill(&c, "[data-testid=rate-km]", "abc").await;
    click(&c, "[data-testid=rate-save]").await;
    wait_text(&c, "[data-testid=rate-error]", |t| {
        t.contains("amount in yuan")
    })
    .await;
    assert_eq!(value(&c, "[data-testid=rate-km]").await, "abc");
    fill(&c, "[data-testid=rate-km]", "1.50").await;
    click(&c, "[data-testid=rate-save]").await;
    wait_text(&c, "[data-testid=rate-notice]", |t| {
        t.contains("Rates saved")
    })
    .await;
    fill(&c, "[data-testid=exp-km]", "42").await;
    wait_text(&c, "[data-testid=exp-total]", |t| t == "¥93.00").await;
    wait_text(&c, "[data-testid=exp-recorded]", |t| {
        t.contains("¥72.00") && t.contains("earlier rates")
    })
    .await;
    // Recording the same day again replaces it.
    click(&c, "[data-testid=exp-save]").await;
    wait_text(&c, "[data-testid=exp-recorded]", |t| {
        t.contains("Recorded for this day: ¥93.00")
    })
    .await;
    shot(&c, "day-expenses").await;

    // Back later: the day as recorded, the rate as changed.
    click(&c, "[data-testid=nav-today]").await;
    click(&c, "[data-testid=nav-expenses]").await;
    wait_text(&c, "[data-testid=exp-recorded]", |t| t.contains("¥93.00")).await;
    assert_eq!(value(&c, "[data-testid=exp-km]").await, "42");
    assert_eq!(value(&c, "[data-testid=rate-km]").await, "1.50");

    // Stock-take: one part counted two short, another one over.
    click(&c, "[data-testid=nav-stock-take]").await;
    let pp = expected(&c, "F-PP-10").await;
    assert_eq!(
        c.find_all(css("[data-testid=stock-row]"))
            .await
            .unwrap()
            .len(),
        1,
        "the filter keeps the one part"
    );
    fill(&c, &row("F-PP-10", "stock-count"), &(pp - 2).to_string()).await;
    wait_text(&c, &row("F-PP-10", "stock-diff"), |t| t == "-2").await;
    let cto = expected(&c, "F-CTO-10").await;
    fill(&c, &row("F-CTO-10", "stock-count"), &(cto + 1).to_string()).await;
    wait_text(&c, &row("F-CTO-10", "stock-diff"), |t| t == "+1").await;
    wait_text(&c, "[data-testid=stock-counted-n]", |t| {
        t.contains("2 parts counted")
    })
    .await;
    click(&c, "[data-testid=stock-submit]").await;
    wait_text(&c, "[data-testid=stock-notice]", |t| {
        t.contains("2 parts counted, 2 with a difference")
    })
    .await;

    // The list: the new quantities and the differences recorded.
    wait_text(&c, &row("F-CTO-10", "stock-expected"), |t| {
        t == (cto + 1).to_string()
    })
    .await;
    wait_text(&c, &row("F-CTO-10", "stock-recorded"), |t| {
        t == format!("{cto} → {} (+1)", cto + 1)
    })
    .await;
    assert_eq!(expected(&c, "F-PP-10").await, pp - 2);
    wait_text(&c, &row("F-PP-10", "stock-recorded"), |t| {
        t == format!("{pp} → {} (-2)", pp - 2)
    })
    .await;
    assert_eq!(value(&c, &row("F-PP-10", "stock-count")).await, "");
    shot(&c, "day-stock-take").await;

    // Reopened, the van holds what was counted.
    click(&c, "[data-testid=nav-today]").await;
    click(&c, "[data-testid=nav-stock-take]").await;
    assert_eq!(expected(&c, "F-PP-10").await, pp - 2);
    assert_eq!(expected(&c, "F-CTO-10").await, cto + 1);
}
