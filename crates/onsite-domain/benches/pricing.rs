//! Pricing a 50-line job (issue 3: "under 1 ms"). A plain timing loop, no harness:
//! `cargo bench -p onsite-domain --bench pricing` prints the median and the 99th
//! percentile over 2,000 runs, after 200 warm-up runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use onsite_domain::rules::entitlement::{ComponentRule, Term};
use onsite_domain::rules::fee_table::water_purifier_table;
use onsite_domain::rules::{
    price_job, Appliance, Bilingual, JobInput, OldPartPolicy, RequestedLine, RulesConfig,
    WarrantyPolicy,
};
use onsite_domain::view::{ProofKind, ProofOfPurchase};
use onsite_domain::Money;

const RUNS: usize = 2_000;
const WARM_UP: usize = 200;

fn date(text: &str) -> NaiveDate {
    text.parse().expect("a valid date")
}

fn config() -> RulesConfig {
    let rule = |code: &str, zh: &str, en: &str, term| ComponentRule {
        category: None,
        code: code.into(),
        name: Bilingual::new(zh, en),
        term,
    };
    RulesConfig {
        warranty: WarrantyPolicy {
            default_months: 12,
            categories: Vec::new(),
            components: vec![
                rule("filter", "滤芯", "Filter", Term::Consumable),
                rule("pump", "增压泵", "Booster pump", Term::CategoryDefault),
                rule("valve", "电磁阀", "Solenoid valve", Term::CategoryDefault),
                rule("faucet", "龙头", "Faucet", Term::Months(6)),
            ],
        },
        old_parts: OldPartPolicy::default(),
    }
}

/// Three services (one bundle), then 47 lines of parts, labour and travel in warranty:
/// every rule runs (consumable, deposits, exemption, open price).
fn fifty_line_job() -> JobInput {
    let mut lines: Vec<RequestedLine> = ["RELOCATE", "MAINT", "REPLACE"]
        .iter()
        .map(|code| RequestedLine {
            code: (*code).into(),
            quantity: 1,
            component: None,
            price: None,
            old_part_returned: false,
        })
        .collect();
    let others = [
        "FILTER_PP",
        "PUMP",
        "VALVE",
        "FAUCET",
        "LABOUR_QUOTED",
        "TRAVEL_KM",
    ];
    for i in 0..47 {
        let code = others[i % others.len()];
        lines.push(RequestedLine {
            code: code.into(),
            quantity: 1 + (i as i32 % 5),
            component: None,
            price: (code == "LABOUR_QUOTED").then(|| Money::cny(10_000 + i as i64)),
            old_part_returned: i % 4 == 0,
        });
    }
    JobInput {
        visit_date: date("2025-06-01"),
        work_date: date("2025-06-01"),
        appliance: Appliance {
            category: "water_purifier".into(),
            purchase_date: Some(date("2025-03-02")),
            proof: ProofOfPurchase {
                kind: ProofKind::Invoice,
                date: Some(date("2025-03-02")),
                sealed: true,
            },
        },
        contracts: Vec::new(),
        exclusions: Vec::new(),
        lines,
    }
}

fn main() {
    let versions = vec![
        water_purifier_table("2024-01", date("2024-01-01")),
        water_purifier_table("2025-01", date("2025-01-01")),
        water_purifier_table("2026-01", date("2026-01-01")),
    ];
    let config = config();
    let job = fifty_line_job();
    assert_eq!(job.lines.len(), 50);

    for _ in 0..WARM_UP {
        black_box(price_job(&versions, &config, black_box(&job)).expect("prices"));
    }
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(price_job(&versions, &config, black_box(&job)).expect("prices"));
            start.elapsed()
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "pricing a 50-line job, {RUNS} runs: median {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
}
