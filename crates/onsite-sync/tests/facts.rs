//! Issue 9 ("nothing recorded in the field is ever lost") against a real onsite-hq over
//! TLS: facts arrive as recorded (a QR payment stays QR; a signature carries the signer's
//! name and the hash of what was signed, which head office checks), day facts are filed
//! under the day the technician saw, and a photo that could not be sent is on the sync
//! screen and in the day-end count.

mod common;

use chrono::{Duration, Utc};
use common::*;
use onsite_api::{OpKind, OpPayload, PaymentMethod as WireMethod, ReviewReason, TechnicianDayFact};
use onsite_domain::view_sync::{UnsentFileKind, UnsentWhy};
use onsite_domain::WorkOrderStatus::*;
use onsite_store::visit::{
    self, Decision, DiagnosisInput, PaymentInput, PaymentMethod, QuoteLine, QuoteRequest,
    StockCount,
};
use onsite_store::{documents, outbox, sync as store_sync, unsent, workorders};
use serde_json::json;
use uuid::Uuid;

const DEMO: &str = include_str!("../../../assets/demo/demo.json");

#[tokio::test]
async fn a_qr_payment_and_a_signature_arrive_as_recorded_and_the_signature_is_checked() {
    let hq = start().await;
    let tech = hq.technician("李建国").await;
    let mut new = new_work_order("WO-FACTS", Some(tech));
    new.appliance.category = "water_purifier".into();
    let wo: onsite_api::WorkOrder = hq
        .admin_ok(
            reqwest::Method::POST,
            onsite_api::routes::ADMIN_WORK_ORDERS,
            Some(&new),
        )
        .await;
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let now = Utc::now();
    let today = now.with_timezone(&beijing).date_naive();
    let dev = device_seeded(&hq, tech, |s| {
        let data = onsite_store::demo::DemoData::from_json(DEMO).unwrap();
        s.write(|tx| onsite_store::demo::seed(tx, &data, today, beijing, now))
            .unwrap();
    })
    .await;
    let client = hq.client(options());
    assert!(dev.sync(&client).await.unwrap().blocked.is_none());
    let id = wo.id.to_string();
    for to in [EnRoute, OnSite, InProgress] {
        dev.change_status(wo.id, to);
    }
    let blobs = tempfile::tempdir().unwrap();
    // A photo of the fault that is gone from the device by the time of the sync.
    let lost = visit::put_blob(
        &common::sealed(blobs.path()),
        b"\xff\xd8\xff lost jpeg",
        "image/jpeg",
    )
    .unwrap();
    std::fs::remove_file(common::sealed(blobs.path()).path(&lost.sha256).unwrap()).unwrap();
    let png =
        documents::put_blob(&common::sealed(blobs.path()), b"\x89PNG pretend signature").unwrap();
    let filter = dev.with(|s| {
        visit::find_part_no(s.conn(), "F-PP-10")
            .unwrap()
            .unwrap()
            .part_id
    });
    // The day the technician sees on the device; head office files the count under it
    // even though the op's time is the day before in UTC.
    let local_day = today + Duration::days(1);
    let t = Utc::now();
    let signed = dev.with(|s| {
        visit::write(s, |tx| {
            visit::record_diagnosis(
                tx,
                &id,
                &DiagnosisInput {
                    fault_found: "膜堵塞".into(),
                    components: vec![],
                    exclusions: vec![],
                    notes: String::new(),
                    photos: vec![lost.clone()],
                },
                t,
            )?;
            let quote = visit::issue_quote(
                tx,
                &id,
                &QuoteRequest {
                    visit_date: today,
                    work_date: today,
                    lines: vec![QuoteLine {
                        code: "REPLACE".into(),
                        quantity: 1,
                        component: None,
                        price_minor: None,
                    }],
                    contracts: Vec::new(),
                },
                t,
            )?;
            visit::decide_quote(tx, &id, &quote.id, Decision::Accepted, t)?;
            let due = visit::state(tx, &id)?.balance.outstanding_minor;
            assert!(due > 0);
            visit::take_payment(
                tx,
                &id,
                &PaymentInput {
                    method: PaymentMethod::Qr,
                    amount_minor: due,
                    tendered_minor: None,
                },
                t,
            )?;
            workorders::set_notes(tx, &id, "更换PP棉，客户在场", t)?;
            visit::stock_take_on(
                tx,
                &[StockCount {
                    part_id: filter.clone(),
                    counted: 1,
                }],
                local_day,
                t,
            )?;
            Ok(documents::sign(
                tx,
                &documents::NewSignature {
                    work_order_id: &id,
                    signer_name: "王伟",
                    strokes: &json!([{"points": [{"x": 1, "y": 2}]}]),
                    png_sha256: &png,
                },
                t,
            )?)
        })
        .unwrap()
    });
    let config = onsite_sync::SyncConfig {
        blobs: Some(common::sealed(blobs.path())),
        ..Default::default()
    };
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert!(r.blocked.is_none(), "{r:?}");
    assert_eq!((r.ops_rejected, r.ops_flagged), (0, 0), "{r:?}");
    assert_eq!(r.photos_missing, 1, "{r:?}");

    // Head office's work-order detail has the facts as recorded.
    let detail = hq.detail(wo.id).await;
    let payloads: Vec<OpPayload> = detail
        .facts
        .iter()
        .map(|f| OpPayload::parse(f.kind.as_str(), &f.payload).unwrap())
        .collect();
    let Some(OpPayload::TakePayment(pay)) =
        payloads.iter().find(|p| p.kind() == OpKind::TakePayment)
    else {
        panic!("no payment exported")
    };
    assert_eq!(pay.method, WireMethod::Qr);
    assert!(pay.payment_id.is_some() && pay.tendered.is_none());
    let Some(OpPayload::AttachSignature(sig)) = payloads
        .iter()
        .find(|p| p.kind() == OpKind::AttachSignature)
    else {
        panic!("no signature exported")
    };
    assert_eq!(sig.signer_name.as_deref(), Some("王伟"));
    assert_eq!(
        sig.content_hash.as_deref(),
        Some(signed.content_hash.as_str())
    );
    assert_eq!(
        sig.signature_id.map(|s| s.to_string()),
        Some(signed.id.clone())
    );
    assert_eq!(sig.blob_sha256, png);
    // Head office recomputed the signed content from the job and the facts: it matches,
    // so nothing to review.
    assert!(detail.review_flags.is_empty(), "{:?}", detail.review_flags);

    // The stock-take is filed under the technician's day, not the UTC date of `at`.
    let path = format!(
        "{}?technician_id={tech}&from={local_day}&to={local_day}",
        onsite_api::routes::ADMIN_EXPORT_TECHNICIAN_DAYS
    );
    let days: Vec<TechnicianDayFact> = hq
        .admin_ok::<(), _>(reqwest::Method::GET, &path, None)
        .await;
    assert!(
        days.iter()
            .any(|f| f.kind == OpKind::StockTake && f.day == local_day),
        "{days:?}"
    );

    // The photo that could not be sent is listed for the sync screen and counted at day
    // end, with its job and why, until the technician dismisses it.
    let listed = dev.with(|s| unsent::view(s.conn()).unwrap());
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].sha256, lost.sha256);
    assert_eq!(listed[0].kind, UnsentFileKind::Photo);
    assert_eq!(listed[0].why, UnsentWhy::Missing);
    assert_eq!(listed[0].work_order_id.as_deref(), Some(id.as_str()));
    assert_eq!(listed[0].order_no.as_deref(), Some("WO-FACTS"));
    let day_end = dev.with(|s| store_sync::day_end(s.conn()).unwrap());
    assert!(day_end.anything_unsent(), "{day_end:?}");
    assert_eq!(day_end.unsent_blobs, 1);
    dev.with(|s| {
        s.write(|tx| unsent::dismiss(tx, &lost.sha256, &listed[0].op_id, Utc::now()))
            .unwrap()
    });
    let day_end = dev.with(|s| store_sync::day_end(s.conn()).unwrap());
    assert!(!day_end.anything_unsent(), "{day_end:?}");

    // Head office corrects the customer's phone; before the device hears of it, the
    // customer signs again over the old details: stored, and flagged for review.
    let mut customer = wo.customer.clone();
    customer.phone = "139-0000-0000".into();
    let _: onsite_api::WorkOrder = hq
        .admin_ok(
            reqwest::Method::PATCH,
            &onsite_api::routes::ADMIN_WORK_ORDER.replace("{id}", &id),
            Some(&onsite_api::WorkOrderUpdate {
                customer: Some(customer),
                ..Default::default()
            }),
        )
        .await;
    dev.with(|s| {
        s.write(|tx| {
            documents::sign(
                tx,
                &documents::NewSignature {
                    work_order_id: &id,
                    signer_name: "王伟",
                    strokes: &json!([{"points": [{"x": 3, "y": 4}]}]),
                    png_sha256: &png,
                },
                Utc::now(),
            )
        })
        .unwrap()
    });
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert_eq!(
        (r.ops_applied, r.ops_rejected, r.ops_flagged),
        (1, 0, 1),
        "{r:?}"
    );
    let detail = hq.detail(wo.id).await;
    let reasons: Vec<ReviewReason> = detail.review_flags.iter().map(|f| f.reason).collect();
    assert_eq!(reasons, [ReviewReason::SignatureMismatch]);
    let signatures = detail
        .facts
        .iter()
        .filter(|f| f.kind == OpKind::AttachSignature)
        .count();
    assert_eq!(signatures, 2, "the mismatched signature is kept");

    // The device has now pulled the new phone: its signature is void. Signed again over
    // the job as head office has it, it matches (no new flag), and the job completes and
    // is in the export, the QR method its own in the CSV too.
    dev.with(|s| {
        s.write(|tx| {
            documents::sign(
                tx,
                &documents::NewSignature {
                    work_order_id: &id,
                    signer_name: "王伟",
                    strokes: &json!([{"points": [{"x": 5, "y": 6}]}]),
                    png_sha256: &png,
                },
                Utc::now(),
            )
        })
        .unwrap()
    });
    dev.change_status(wo.id, Completed);
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert_eq!(
        (r.ops_applied, r.ops_rejected, r.ops_flagged),
        (2, 0, 0),
        "{r:?}"
    );
    let export = hq.export().await;
    let job = export.iter().find(|j| j.work_order.id == wo.id).unwrap();
    let exported = job
        .facts
        .iter()
        .find(|f| f.kind == OpKind::TakePayment)
        .unwrap();
    assert_eq!(exported.payload["method"], "qr");
    let csv = hq.export_csv().await;
    let line = csv
        .lines()
        .find(|l| l.contains(",take_payment,"))
        .expect("payment in the CSV");
    // order_no, work_order_id, job_type, status, technician_id, fact_id, fact_kind, at, code
    assert_eq!(line.split(',').nth(8), Some("qr"), "{line}");
}

/// A head office whose hello does not name `payment_qr` (here one of the first release: no
/// hello, 404) would refuse a QR payment: the device holds it (never sent as something it
/// is not, never refused) and sends it as `qr` once head office is upgraded.
#[tokio::test]
async fn a_qr_payment_is_held_for_a_head_office_that_does_not_speak_qr_then_sent_as_qr() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-QR", Some(dev.technician_id)).await;
    dev.sync(&hq.client(options())).await.unwrap();
    let pay = || {
        // As crates/onsite-store/src/visit/money.rs writes it.
        let payload = json!({"work_order_id": wo.id, "customer_id": "c",
            "payment_id": Uuid::now_v7(), "method": "qr", "amount_minor": 4500,
            "tendered_minor": null, "change_minor": null, "at": Utc::now()});
        dev.with(|s| {
            s.write(|tx| {
                outbox::append(
                    tx,
                    outbox::kind::TAKE_PAYMENT,
                    &wo.id.to_string(),
                    Some(1),
                    &payload,
                    Utc::now(),
                )
            })
            .unwrap()
        })
    };
    let methods = |detail: onsite_api::WorkOrderDetail| -> Vec<String> {
        detail
            .facts
            .iter()
            .filter(|f| f.kind == OpKind::TakePayment)
            .map(|f| f.payload["method"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    pay();
    let fwd = Forwarder::start(&hq).await;
    fwd.arm(
        onsite_api::routes::SYNC_HELLO,
        HttpFault::Reply {
            status: 404,
            body: br#"{"code":"no_route","message":"no such route"}"#.to_vec(),
            retry_after: None,
        },
    );
    let r = dev.sync(&hq.client_to(fwd.addr, options())).await.unwrap();
    assert_eq!((r.ops_applied, r.ops_rejected), (0, 0), "{r:?}");
    assert_eq!(r.held.len(), 1, "{r:?}");
    assert!(methods(hq.detail(wo.id).await).is_empty());
    assert!(dev.pending()[0].held);
    pay();
    let r = dev.sync(&hq.client(options())).await.unwrap();
    assert_eq!((r.ops_applied, r.ops_rejected), (2, 0), "{r:?}");
    assert_eq!(methods(hq.detail(wo.id).await), ["qr", "qr"]);
}
