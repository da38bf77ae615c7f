//! Head office's view of carry-backs (appliances taken to the workshop), folded from the
//! technicians' facts as stored: `take_carry_back` opens one, `advance_carry_back` and
//! `return_carry_back` move it on. Pure, tested by tables below; the storage only loads
//! the facts.
//!
//! The state is the furthest step any fact recorded, so the order in which facts arrive
//! does not matter. A carry-back whose take has not reached head office (e.g. rejected)
//! is not listed: there is no receipt to show.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use onsite_api::{CarryBack, CarryBackQuery, FactRecord, OpPayload};
use onsite_domain::carryback::{overdue, working_days_between, CarryBackState};
use uuid::Uuid;

/// A stored carry-back fact with what head office knows of its job.
#[derive(Debug, Clone, PartialEq)]
pub struct CarryBackFact {
    /// The job's order number.
    pub order_no: String,
    /// Whether the job has an open review flag.
    pub flagged_for_review: bool,
    /// The fact.
    pub fact: FactRecord,
}

fn rank(state: CarryBackState) -> u8 {
    match state {
        CarryBackState::Taken => 0,
        CarryBackState::AtWorkshop => 1,
        CarryBackState::Repaired => 2,
        CarryBackState::Returned => 3,
    }
}

/// The carry-backs the facts describe, as of `today` (head office's date), filtered by
/// `query`, oldest taken first.
pub fn fold(facts: &[CarryBackFact], today: NaiveDate, query: &CarryBackQuery) -> Vec<CarryBack> {
    let mut taken: Vec<CarryBack> = Vec::new();
    let mut furthest: HashMap<Uuid, CarryBackState> = HashMap::new();
    let mut returned: HashMap<Uuid, (DateTime<Utc>, bool)> = HashMap::new();
    for f in facts {
        let Ok(payload) = OpPayload::parse(f.fact.kind.as_str(), &f.fact.payload) else {
            continue;
        };
        match payload {
            OpPayload::TakeCarryBack(p) => {
                if taken.iter().any(|c| c.carry_back_id == p.carry_back_id) {
                    continue;
                }
                taken.push(CarryBack {
                    carry_back_id: p.carry_back_id,
                    receipt_no: p.receipt_no,
                    work_order_id: f.fact.work_order_id,
                    order_no: f.order_no.clone(),
                    technician_id: f.fact.technician_id,
                    item: p.item,
                    state: CarryBackState::Taken,
                    taken_at: p.at,
                    expected_return: p.expected_return,
                    working_days_out: 0,
                    overdue: None,
                    returned_at: None,
                    receipt_collected: None,
                    flagged_for_review: f.flagged_for_review,
                });
            }
            OpPayload::AdvanceCarryBack(p) => {
                let s = furthest.entry(p.carry_back_id).or_insert(p.to);
                if rank(p.to) > rank(*s) {
                    *s = p.to;
                }
            }
            OpPayload::ReturnCarryBack(p) => {
                furthest.insert(p.carry_back_id, CarryBackState::Returned);
                returned
                    .entry(p.carry_back_id)
                    .or_insert((p.at, p.receipt_collected));
            }
            _ => {}
        }
    }
    let mut out: Vec<CarryBack> = taken
        .into_iter()
        .map(|mut c| {
            if let Some(s) = furthest.get(&c.carry_back_id) {
                c.state = *s;
            }
            if let Some((at, collected)) = returned.get(&c.carry_back_id) {
                c.returned_at = Some(*at);
                c.receipt_collected = Some(*collected);
            }
            let taken_on = c.taken_at.date_naive();
            let until = c.returned_at.map_or(today, |t| t.date_naive());
            c.working_days_out = working_days_between(taken_on, until);
            c.overdue = overdue(c.state, taken_on, c.expected_return, today);
            c
        })
        .filter(|c| query.include_returned.unwrap_or(false) || c.state != CarryBackState::Returned)
        .filter(|c| query.technician_id.is_none_or(|t| t == c.technician_id))
        .collect();
    out.sort_by(|a, b| (a.taken_at, &a.receipt_no).cmp(&(b.taken_at, &b.receipt_no)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use onsite_api::{CarryBackAdvanced, CarryBackReturned, CarryBackTaken, OpKind};
    use onsite_domain::carryback::CarryBackOverdue;

    fn fact(n: u128, technician: u128, payload: OpPayload) -> CarryBackFact {
        CarryBackFact {
            order_no: "WO-1".into(),
            flagged_for_review: false,
            fact: FactRecord {
                fact_id: Uuid::from_u128(1000 + n),
                op_id: Uuid::from_u128(2000 + n),
                work_order_id: Uuid::from_u128(9),
                technician_id: Uuid::from_u128(technician),
                device_id: Uuid::from_u128(7),
                kind: payload.kind(),
                payload: payload.to_value(),
                base_version: None,
                received_at: "2026-11-24T12:00:00Z".parse().unwrap(),
                file_missing: None,
            },
        }
    }

    fn take(id: u128, technician: u128, at: &str, expected: &str) -> CarryBackFact {
        fact(
            id,
            technician,
            OpPayload::TakeCarryBack(CarryBackTaken {
                fact_id: Uuid::from_u128(1000 + id),
                carry_back_id: Uuid::from_u128(id),
                receipt_no: format!("CB-{id}"),
                item: "water heater".into(),
                serial_no: None,
                accessories: vec![],
                condition: String::new(),
                fault: "E3".into(),
                expected_return: expected.parse().unwrap(),
                photos: vec![],
                signer_name: "S".into(),
                png_sha256: "ab".repeat(32),
                at: at.parse().unwrap(),
            }),
        )
    }

    fn advance(n: u128, id: u128, from: CarryBackState, to: CarryBackState) -> CarryBackFact {
        fact(
            n,
            1,
            OpPayload::AdvanceCarryBack(CarryBackAdvanced {
                fact_id: Uuid::from_u128(1000 + n),
                carry_back_id: Uuid::from_u128(id),
                from,
                to,
                at: "2026-11-25T02:00:00Z".parse().unwrap(),
            }),
        )
    }

    fn give_back(n: u128, id: u128, collected: bool) -> CarryBackFact {
        fact(
            n,
            1,
            OpPayload::ReturnCarryBack(CarryBackReturned {
                fact_id: Uuid::from_u128(1000 + n),
                carry_back_id: Uuid::from_u128(id),
                receipt_collected: collected,
                receipt_lost_note: (!collected).then(|| "lost".into()),
                signer_name: "S".into(),
                png_sha256: "ab".repeat(32),
                at: "2026-11-30T02:00:00Z".parse().unwrap(),
            }),
        )
    }

    #[test]
    fn facts_fold_into_carry_backs_with_state_and_overdue() {
        use CarryBackState::*;
        let day = |d: &str| -> NaiveDate { d.parse().unwrap() };
        // 1: taken Fri 20 Nov, promised 27 Nov, at the workshop; 2: returned;
        // 3: taken by another technician, its advance arrived before its take;
        // 4: an advance whose take never arrived.
        let facts = vec![
            take(1, 1, "2026-11-20T02:00:00Z", "2026-11-27"),
            advance(11, 1, Taken, AtWorkshop),
            take(2, 1, "2026-11-23T02:00:00Z", "2026-12-10"),
            advance(21, 2, Taken, AtWorkshop),
            advance(22, 2, AtWorkshop, Repaired),
            give_back(23, 2, false),
            advance(31, 3, Taken, AtWorkshop),
            take(3, 2, "2026-11-24T02:00:00Z", "2026-12-31"),
            advance(41, 4, Taken, AtWorkshop),
            // A re-sent advance of 1 changes nothing.
            advance(12, 1, Taken, AtWorkshop),
        ];
        let open = CarryBackQuery::default();
        let all = CarryBackQuery {
            include_returned: Some(true),
            technician_id: None,
        };
        // (today, query, expected (receipt, state, overdue, working days out))
        type Want = Vec<(&'static str, CarryBackState, Option<CarryBackOverdue>, u32)>;
        let cases: Vec<(NaiveDate, &CarryBackQuery, Want)> = vec![
            (
                day("2026-11-27"),
                &open,
                vec![("CB-1", AtWorkshop, None, 5), ("CB-3", AtWorkshop, None, 3)],
            ),
            (
                day("2026-11-28"),
                &open,
                vec![
                    (
                        "CB-1",
                        AtWorkshop,
                        Some(CarryBackOverdue::PastExpectedReturn),
                        5,
                    ),
                    ("CB-3", AtWorkshop, None, 3),
                ],
            ),
            (
                day("2026-12-14"),
                &all,
                vec![
                    (
                        "CB-1",
                        AtWorkshop,
                        Some(CarryBackOverdue::PastRepairLimit),
                        16,
                    ),
                    ("CB-2", Returned, None, 5),
                    ("CB-3", AtWorkshop, None, 14),
                ],
            ),
        ];
        for (today, query, want) in cases {
            let got: Want = fold(&facts, today, query)
                .into_iter()
                .map(|c| {
                    let receipt: &'static str = match c.receipt_no.as_str() {
                        "CB-1" => "CB-1",
                        "CB-2" => "CB-2",
                        "CB-3" => "CB-3",
                        other => panic!("unexpected {other}"),
                    };
                    (receipt, c.state, c.overdue, c.working_days_out)
                })
                .collect();
            assert_eq!(got, want, "{today}");
        }
        let returned = fold(&facts, day("2026-12-14"), &all)
            .into_iter()
            .find(|c| c.receipt_no == "CB-2")
            .unwrap();
        assert_eq!(returned.receipt_collected, Some(false));
        assert!(returned.returned_at.is_some());
        let theirs = CarryBackQuery {
            include_returned: None,
            technician_id: Some(Uuid::from_u128(2)),
        };
        let got = fold(&facts, day("2026-11-27"), &theirs);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].receipt_no, "CB-3");
        assert_eq!(got[0].order_no, "WO-1");
        // Facts of other kinds are ignored.
        assert_eq!(facts[0].fact.kind, OpKind::TakeCarryBack);
    }
}
