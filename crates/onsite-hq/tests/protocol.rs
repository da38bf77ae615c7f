//! Protocol versions (issue 9, hole 4): a device of the first release (protocol 1, its wire
//! types frozen in `protocol1/`) keeps working with this head office, and this build's
//! device reads what a protocol-1 head office sends. The protocol-1 push is also frozen as
//! JSON (`fixtures/protocol1-push.json`; `UPDATE_FIXTURES=1` rewrites it, which should
//! never be needed: protocol 1 does not change).

mod common;
#[allow(clippy::all, dead_code, unused_imports)]
mod protocol1;

use chrono::{DateTime, Utc};
use common::*;
use onsite_domain::{Money, WorkOrderStatus};
use protocol1::sync as v1;
use reqwest::{Method, StatusCode};
use uuid::Uuid;

fn at() -> DateTime<Utc> {
    "2026-11-24T09:30:00Z".parse().unwrap()
}

/// A protocol-1 device's push: ops of several kinds on one job and the technician's day,
/// with fixed ids so that the JSON is the same every time.
fn v1_push(job: Uuid) -> v1::PushRequest {
    let id = |n: u128| Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n);
    let payloads = [
        v1::OpPayload::ChangeStatus(v1::StatusChange {
            fact_id: id(1),
            to: WorkOrderStatus::EnRoute,
            reason: None,
            at: at(),
        }),
        v1::OpPayload::EditNotes(v1::NotesEdit {
            fact_id: id(2),
            notes: "gate code 1234".into(),
            at: at(),
        }),
        v1::OpPayload::TakePayment(v1::Payment {
            fact_id: id(3),
            amount: Money::cny(8800),
            method: v1::PaymentMethod::Card,
            receipt_no: Some("R-1".into()),
            at: at(),
        }),
        v1::OpPayload::InvoiceLater(v1::InvoiceLater {
            fact_id: id(4),
            amount: Money::cny(1200),
            at: at(),
        }),
        v1::OpPayload::RecordFeedback(v1::Feedback {
            fact_id: id(5),
            rating: 5,
            comment: "quick".into(),
            callback_allowed: true,
            at: at(),
        }),
        v1::OpPayload::RecordExpense(v1::Expense {
            fact_id: id(6),
            day: "2026-11-24".parse().unwrap(),
            km: 42,
            meal_days: 1,
            nights: 0,
            per_km: Money::cny(100),
            meal_per_day: Money::cny(3000),
            lodging_per_night: Money::cny(0),
            mileage: Money::cny(4200),
            meals: Money::cny(3000),
            lodging: Money::cny(0),
            total: Money::cny(7200),
            at: at(),
        }),
        v1::OpPayload::StockTake(v1::StockTake {
            fact_id: id(7),
            stock_take_id: id(70),
            lines: vec![v1::StockTakeLine {
                part_id: "F-PP-10".into(),
                expected: 12,
                counted: 10,
                difference: -2,
            }],
            at: at(),
        }),
        v1::OpPayload::ChangeStatus(v1::StatusChange {
            fact_id: id(8),
            to: WorkOrderStatus::OnSite,
            reason: None,
            at: at(),
        }),
    ];
    v1::PushRequest {
        ops: payloads
            .iter()
            .enumerate()
            .map(|(n, p)| v1::Op::new(id(100 + n as u128), n as i64 + 1, job, Some(1), p))
            .collect(),
    }
}

async fn a_protocol_1_device_keeps_working_with_this_head_office_and_reads_all_it_sends() {
    let hq = start().await;
    let tech = hq.technician("Tech").await;
    let job = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0999);
    let storage = hq.storage.clone();
    tokio::task::spawn_blocking(move || {
        storage
            .create_work_order(job, &new_work_order("WO-V1", Some(tech)), now())
            .unwrap()
    })
    .await
    .unwrap();

    // Enrolment, as the old device sends and reads it.
    let code = hq.code_for(tech).await;
    let enrolled: v1::EnrollReply = hq
        .expect(
            Method::POST,
            onsite_api::routes::ENROLL,
            None,
            Some(&v1::EnrollRequest {
                code,
                device_name: "old laptop".into(),
            }),
            StatusCode::OK,
        )
        .await;

    // Its push, frozen as JSON.
    let push = v1_push(job);
    let json = serde_json::to_string_pretty(&push).unwrap();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/protocol1-push.json");
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(&fixture, &json).unwrap();
    }
    assert_eq!(
        json,
        std::fs::read_to_string(&fixture).unwrap(),
        "protocol 1's push changed: it must not"
    );
    let reply: v1::PushReply = hq
        .expect(
            Method::POST,
            onsite_api::routes::SYNC_PUSH,
            Some(&enrolled.token),
            Some(&push),
            StatusCode::OK,
        )
        .await;
    assert_eq!(reply.results.len(), push.ops.len());
    assert!(
        reply
            .results
            .iter()
            .all(|r| matches!(r.outcome, v1::OpOutcome::Applied { .. })),
        "{reply:?}"
    );
    let detail = hq.detail(job).await;
    assert_eq!(detail.work_order.status, WorkOrderStatus::OnSite);
    assert_eq!(
        detail.facts.len(),
        6,
        "the job's facts (the other two are the day's)"
    );

    // Its pull (no accept, no checkpoint) reads page by page with the old types.
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let path = match &cursor {
            None => format!("{}?limit=2", onsite_api::routes::SYNC_PULL),
            Some(c) => format!(
                "{}?limit=2&cursor={}",
                onsite_api::routes::SYNC_PULL,
                urlencode(c)
            ),
        };
        let page: v1::PullReply = hq
            .expect::<(), _>(
                Method::GET,
                &path,
                Some(&enrolled.token),
                None,
                StatusCode::OK,
            )
            .await;
        cursor = Some(page.cursor.clone());
        let more = page.has_more;
        pages.push(page);
        if !more {
            break;
        }
    }
    let jobs: Vec<Uuid> = pages
        .iter()
        .flat_map(|p| &p.changes)
        .filter_map(|c| match &c.item {
            v1::ChangeItem::WorkOrder(w) => Some(w.id),
            _ => None,
        })
        .collect();
    assert!(jobs.contains(&job), "{jobs:?}");
    assert!(pages
        .iter()
        .flat_map(|p| &p.changes)
        .all(|c| !matches!(c.item, v1::ChangeItem::Unknown)));

    // And the other way: this build's types read everything a protocol-1 head office
    // sends (the same replies, in the old types' shape: no checkpoint, no server id).
    let old_pull = serde_json::to_value(&pages[0]).unwrap();
    assert!(old_pull.get("checkpoint").is_none());
    let read: onsite_api::PullReply = serde_json::from_value(old_pull).unwrap();
    assert_eq!(read.checkpoint, None);
    let read: onsite_api::PushReply =
        serde_json::from_value(serde_json::to_value(&reply).unwrap()).unwrap();
    assert_eq!(read.checkpoint, None);
    let read: onsite_api::EnrollReply =
        serde_json::from_value(serde_json::to_value(&enrolled).unwrap()).unwrap();
    assert_eq!(read.server_id, None);
    for op in &push.ops {
        let p = onsite_api::OpPayload::parse(&op.kind, &op.payload);
        assert!(p.is_ok(), "{}: {p:?}", op.kind);
    }
    // A protocol-1 head office has no hello: this build then assumes protocol 1.
    let hello: onsite_api::Hello = hq
        .expect::<(), _>(
            Method::GET,
            onsite_api::routes::SYNC_HELLO,
            Some(&enrolled.token),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(!hello.epoch.is_empty());
    assert_eq!(
        hello.retention_days,
        Some(onsite_api::retention::DEFAULT_DAYS),
        "head office tells devices how long to keep closed jobs"
    );
    assert_eq!(
        onsite_api::Hello {
            epoch: String::new(),
            retention_days: None,
            ..hello
        },
        onsite_api::Hello::current(),
        "this head office says hello"
    );
    let old = onsite_api::Hello::protocol1();
    assert!(old.features.is_empty());
    for op in &push.ops {
        let op: onsite_api::Op = serde_json::from_value(serde_json::to_value(op).unwrap()).unwrap();
        assert_eq!(
            old.cannot_take(&op),
            None,
            "protocol-1 records go to protocol-1 head offices"
        );
    }
}

both_backends!(a_protocol_1_device_keeps_working_with_this_head_office_and_reads_all_it_sends);
