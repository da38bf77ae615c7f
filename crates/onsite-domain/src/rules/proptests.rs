//! Properties of pricing over random jobs on the water-purifier table: the totals add up,
//! never go negative, and the result does not depend on the order of the lines.
//! Amounts are written yuan_fen: `180_00` is ¥180.00.
#![allow(clippy::inconsistent_digit_grouping)]

use proptest::prelude::*;

use super::tests::{config, d, job, line, tables};
use super::*;
use crate::view::ProofKind;
use crate::Money;

const SERVICES: [&str; 6] = [
    "INSTALL",
    "MAINT",
    "RELOCATE",
    "REPLACE",
    "RELOCATE_MAINT",
    "RELOCATE_MAINT_REPLACE",
];
const OTHERS: [&str; 6] = [
    "FILTER_PP",
    "PUMP",
    "VALVE",
    "FAUCET",
    "LABOUR_QUOTED",
    "TRAVEL_KM",
];
const COMPONENTS: [&str; 5] = ["filter", "pump", "glass", "compressor", "gasket"];

fn other_line() -> impl Strategy<Value = RequestedLine> {
    (
        prop::sample::select(OTHERS.to_vec()),
        1..=MAX_QUANTITY,
        prop::option::of(0i64..10_000_00),
        any::<bool>(),
    )
        .prop_map(|(code, quantity, price, returned)| RequestedLine {
            // Only the open-priced item gets a technician's price.
            price: price.filter(|_| code == "LABOUR_QUOTED").map(Money::cny),
            old_part_returned: returned,
            ..line(code, quantity)
        })
}

fn service_lines() -> impl Strategy<Value = Vec<RequestedLine>> {
    // A subset of the plain services, or one bundle code: never the same service twice.
    prop_oneof![
        prop::sample::subsequence(SERVICES[..4].to_vec(), 0..=4),
        prop::sample::select(SERVICES[4..].to_vec()).prop_map(|c| vec![c]),
    ]
    .prop_flat_map(|codes| {
        let n = codes.len();
        (
            Just(codes),
            prop::collection::vec(
                prop::option::of(prop::sample::select(COMPONENTS.to_vec())),
                n,
            ),
        )
    })
    .prop_map(|(codes, components)| {
        codes
            .into_iter()
            .zip(components)
            .map(|(code, component)| RequestedLine {
                component: component.map(Into::into),
                ..line(code, 1)
            })
            .collect()
    })
}

fn job_input() -> impl Strategy<Value = JobInput> {
    (
        service_lines(),
        prop::collection::vec(other_line(), 0..40),
        0i64..2000, // days from purchase to visit
        0u8..4,     // proof: ok, none, undated, unsealed
        prop::option::of((0u8..3, -400i64..400, 0i64..800)),
        prop::collection::vec((0usize..5, prop::option::of(0usize..5)), 0..3),
    )
        .prop_map(|(services, others, age, proof, contract, exclusions)| {
            let mut input = job("2024-01-01", "2024-01-01", services);
            input.lines.extend(others);
            input.visit_date = d("2024-01-01") + chrono::Days::new(age as u64);
            input.work_date = input.visit_date;
            match proof {
                1 => input.appliance.proof.kind = ProofKind::None,
                2 => input.appliance.proof.date = None,
                3 => input.appliance.proof.sealed = false,
                _ => {}
            }
            if let Some((covers, start, length)) = contract {
                let valid_from = input.visit_date + chrono::TimeDelta::days(start);
                input.contracts.push(ServiceContract {
                    covers: [
                        ContractCover::Labour,
                        ContractCover::Parts,
                        ContractCover::Both,
                    ][covers as usize],
                    valid_from,
                    valid_to: valid_from + chrono::TimeDelta::days(length),
                });
            }
            input.exclusions = exclusions
                .into_iter()
                .map(|(kind, component)| RecordedExclusion {
                    kind: Exclusion::ALL[kind],
                    component: component.map(|c| COMPONENTS[c].into()),
                })
                .collect();
            input
        })
}

fn sum(amounts: impl Iterator<Item = Money>) -> i64 {
    amounts.map(|m| m.minor).sum()
}

proptest! {
    #[test]
    fn totals_add_up_and_are_never_negative(input in job_input()) {
        let priced = price_job(&tables(), &config(), &input).unwrap();
        let t = priced.totals;
        let lines = &priced.lines;
        prop_assert_eq!(t.due.minor, sum(lines.iter().map(|l| l.charged)));
        prop_assert_eq!(t.gross.minor, sum(lines.iter().map(|l| l.amount)));
        prop_assert_eq!(t.gross.minor, t.covered.minor + t.deposit.minor + t.charged.minor);
        prop_assert_eq!(t.due.minor, t.charged.minor + t.deposit.minor);
        for total in [t.gross, t.covered, t.deposit, t.charged, t.due] {
            prop_assert!(total.minor >= 0);
        }
        for l in lines {
            prop_assert!(l.quantity >= 1 && l.quantity <= MAX_QUANTITY);
            prop_assert_eq!(l.amount.minor, l.unit_price.minor * i64::from(l.quantity));
            let expected = if l.status == LineStatus::Covered { 0 } else { l.amount.minor };
            prop_assert_eq!(l.charged.minor, expected);
            prop_assert_eq!(l.status == LineStatus::Deposit, l.old_part == Some(OldPartState::Awaiting));
            prop_assert!(!l.reasons.is_empty());
        }
    }

    #[test]
    fn pricing_ignores_the_order_of_the_lines(
        (input, shuffled) in job_input().prop_flat_map(|input| {
            let lines = input.lines.clone();
            (Just(input), Just(lines).prop_shuffle())
        })
    ) {
        let first = price_job(&tables(), &config(), &input).unwrap();
        let again = price_job(&tables(), &config(), &input).unwrap();
        prop_assert_eq!(&first, &again);
        let reordered = JobInput { lines: shuffled, ..input };
        prop_assert_eq!(first, price_job(&tables(), &config(), &reordered).unwrap());
    }

    /// Bundles never make the customer pay more than the services one by one.
    #[test]
    fn bundles_never_cost_more(services in prop::sample::subsequence(SERVICES[..4].to_vec(), 1..=4)) {
        let lines: Vec<RequestedLine> = services.iter().map(|c| line(c, 1)).collect();
        let priced = price_job(&tables(), &config(), &job("2010-01-01", "2025-06-01", lines)).unwrap();
        let table = &tables()[0];
        let one_by_one: i64 = services.iter().map(|c| table.item(c).unwrap().price.minor).sum();
        prop_assert!(priced.totals.due.minor <= one_by_one);
    }
}
