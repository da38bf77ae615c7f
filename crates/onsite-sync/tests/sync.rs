//! The sync client against a real onsite-hq over real TLS on 127.0.0.1, with real
//! temp-file stores.

mod common;

use std::collections::HashSet;

use chrono::Utc;
use common::*;
use onsite_api::{ChangeItem, OpKind};
use onsite_domain::WorkOrderStatus::*;
use onsite_store::{outbox, sync as store_sync, workorders};
use serde_json::json;
use uuid::Uuid;

fn append(dev: &Device, kind: &str, entity: Uuid, payload: serde_json::Value) -> String {
    dev.with(|s| {
        s.write(|tx| outbox::append(tx, kind, &entity.to_string(), Some(1), &payload, Utc::now()))
            .unwrap()
    })
}

#[tokio::test]
async fn enrol_pull_work_locally_sync_and_head_office_sees_every_fact() {
    let hq = start().await;
    let tech = hq.technician("李建国").await;
    let wo = hq.work_order("WO-1", Some(tech)).await;
    let other = hq.work_order("WO-2", Some(tech)).await;
    let dev = device_for(&hq, tech).await;
    let client = hq.client(options());

    // Nothing local yet; the first sync pulls the technician's jobs.
    assert!(dev.today().is_empty());
    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.ops_applied, 0);
    assert!(r.changes_applied >= 2, "{r:?}");
    let today: HashSet<String> = dev.today().into_iter().map(|s| s.id).collect();
    assert_eq!(
        today,
        HashSet::from([wo.id.to_string(), other.id.to_string()])
    );
    let hits = dev.with(|s| workorders::search(s.conn(), "WO-1", &day(), 10).unwrap());
    assert_eq!(hits.len(), 1);
    let hits = dev.with(|s| workorders::search(s.conn(), "王伟", &day(), 10).unwrap());
    assert_eq!(hits.len(), 2);
    // Pulling wrote no outbox row.
    assert_eq!(dev.outbox_count(), 0);
    let st = dev.with(|s| store_sync::state(s.conn()).unwrap().unwrap());
    assert!(st.last_success_at.is_some() && st.cursor.is_some());

    // The technician works the job offline.
    for to in [EnRoute, OnSite, InProgress] {
        dev.change_status(wo.id, to);
    }
    // No signature pad in this test: completed with the technician's reason.
    dev.with(|s| {
        s.write(|tx| {
            workorders::change_status(
                tx,
                &wo.id.to_string(),
                Completed,
                Some("customer absent"),
                Utc::now(),
            )
        })
        .unwrap()
    });
    dev.with(|s| {
        s.write(|tx| {
            workorders::set_notes(tx, &wo.id.to_string(), "replaced the membrane", Utc::now())
        })
        .unwrap()
    });
    assert_eq!(dev.pending().len(), 5);
    assert!(dev
        .with(|s| store_sync::day_end(s.conn()).unwrap())
        .anything_unsent());

    let r = dev.sync(&client).await.unwrap();
    assert_eq!(
        (r.ops_applied, r.ops_rejected, r.ops_duplicate),
        (5, 0, 0),
        "{r:?}"
    );
    assert!(dev.pending().is_empty());
    assert!(!dev
        .with(|s| store_sync::day_end(s.conn()).unwrap())
        .anything_unsent());
    // The pull after the push brought the server's view; the local status stays completed.
    assert_eq!(dev.status(wo.id), Completed);

    let detail = hq.detail(wo.id).await;
    assert_eq!(detail.work_order.status, Completed);
    let kinds: Vec<OpKind> = detail.facts.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            OpKind::ChangeStatus,
            OpKind::ChangeStatus,
            OpKind::ChangeStatus,
            OpKind::ChangeStatus,
            OpKind::EditNotes
        ]
    );
    let export = hq.export().await;
    let job = export
        .iter()
        .find(|j| j.work_order.id == wo.id)
        .expect("exported");
    assert_eq!(job.facts.len(), 5);
    assert_eq!(job.facts[4].payload["notes"], "replaced the membrane");
    // Head office's notes did not replace the technician's.
    let notes = dev.with(|s| {
        workorders::detail(s.conn(), &wo.id.to_string(), &day())
            .unwrap()
            .notes
    });
    assert_eq!(notes, "replaced the membrane");
    assert_eq!(dev.integrity(), "ok");
}

#[tokio::test]
async fn a_replayed_push_is_idempotent() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-R", Some(dev.technician_id)).await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    dev.change_status(wo.id, EnRoute);
    dev.change_status(wo.id, OnSite);
    dev.sync(&client).await.unwrap();
    // The replies were "lost": the ops go out again.
    let n = dev.with(|s| s.write(|tx| store_sync::requeue_applied(tx, None)).unwrap());
    assert_eq!(n, 2);
    let r = dev.sync(&client).await.unwrap();
    assert_eq!((r.ops_applied, r.ops_duplicate), (2, 2), "{r:?}");
    let detail = hq.detail(wo.id).await;
    assert_eq!(detail.facts.len(), 2);
    assert_eq!(detail.work_order.status, OnSite);
    assert!(dev.pending().is_empty());
}

#[tokio::test]
async fn a_poison_op_is_rejected_with_its_reason_and_the_queue_moves_on() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-P", Some(dev.technician_id)).await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    // An op about a work order head office never had, between two good ones.
    dev.change_status(wo.id, EnRoute);
    let poison = append(
        &dev,
        outbox::kind::CHANGE_STATUS,
        Uuid::now_v7(),
        json!({"to": "on_site"}),
    );
    dev.change_status(wo.id, OnSite);
    let r = dev.sync(&client).await.unwrap();
    assert_eq!((r.ops_applied, r.ops_rejected), (2, 1), "{r:?}");
    assert!(dev.pending().is_empty());
    let rejected = dev.with(|s| store_sync::rejected_view(s.conn()).unwrap());
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].op_id, poison);
    assert_eq!(rejected[0].code, "unknown_work_order");
    assert!(!rejected[0].reason.is_empty());
    assert_eq!(hq.detail(wo.id).await.work_order.status, OnSite);
    // A later sync does not send it again.
    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.ops_applied + r.ops_rejected, 0);
}

#[tokio::test]
async fn an_op_kind_head_office_cannot_take_blocks_the_queue_loudly_and_is_kept() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-U", Some(dev.technician_id)).await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    dev.change_status(wo.id, EnRoute);
    append(
        &dev,
        "RecordDiagnosis",
        wo.id,
        json!({"finding": "worn seal"}),
    );
    dev.change_status(wo.id, OnSite);
    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.ops_applied, 1);
    let blocked = r.blocked.expect("the sync reports the blocked op");
    assert_eq!(blocked.kind, "RecordDiagnosis");
    assert!(!blocked.why.contains("worn seal"));
    // Nothing dropped: it and everything after it are still pending, in order.
    let kinds: Vec<String> = dev.pending().into_iter().map(|p| p.kind).collect();
    assert_eq!(kinds, ["RecordDiagnosis", "ChangeStatus"]);
    assert!(dev
        .with(|s| store_sync::day_end(s.conn()).unwrap())
        .anything_unsent());
    // Local edits still win on screen while their ops wait.
    assert_eq!(dev.status(wo.id), OnSite);
}

#[tokio::test]
async fn blobs_are_uploaded_before_the_ops_that_reference_them() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-B", Some(dev.technician_id)).await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    let bytes = b"signature strokes".to_vec();
    let sha = onsite_sync::sha256_hex(&bytes);
    dev.with(|s| {
        s.write(|tx| store_sync::put_blob(tx, &sha, &bytes, Utc::now()))
            .unwrap()
    });
    append(
        &dev,
        "AttachSignature",
        wo.id,
        json!({"blob_sha256": sha, "signer": "customer"}),
    );
    // An op whose blob is not on this device blocks, and is kept.
    let r = dev.sync(&client).await.unwrap();
    assert_eq!((r.blobs_uploaded, r.ops_applied), (1, 1), "{r:?}");
    assert!(dev.with(|s| store_sync::blob_uploaded(s.conn(), &sha).unwrap()));
    let detail = hq.detail(wo.id).await;
    assert_eq!(detail.facts[0].kind, OpKind::AttachSignature);
    // Damaged bytes (they no longer hash to their id) are never uploaded: the op stops
    // the queue, reported and kept; the good op before it still goes.
    dev.change_status(wo.id, EnRoute);
    let fake = onsite_sync::sha256_hex(b"what was signed");
    dev.with(|s| {
        s.write(|tx| store_sync::put_blob(tx, &fake, b"something else", Utc::now()))
            .unwrap()
    });
    append(
        &dev,
        "AttachSignature",
        wo.id,
        json!({"blob_sha256": fake, "signer": "technician"}),
    );
    let r = dev.sync(&client).await.unwrap();
    assert_eq!((r.ops_applied, r.blobs_uploaded), (1, 0), "{r:?}");
    let blocked = r.blocked.expect("blocked");
    assert_eq!(blocked.kind, "AttachSignature");
    assert!(blocked.why.contains("damaged"), "{}", blocked.why);
    assert_eq!(dev.pending().len(), 1);

    // A blob that is not on this device at all: the same.
    dev.with(|s| {
        s.write(|tx| {
            tx.execute("DELETE FROM blob WHERE sha256 = ?1", [&fake])?;
            Ok(())
        })
        .unwrap()
    });
    let r = dev.sync(&client).await.unwrap();
    assert!(r.blocked.expect("blocked").why.contains("missing"));
    assert_eq!(dev.pending().len(), 1);
    assert_eq!(hq.detail(wo.id).await.facts.len(), 2);
}

#[tokio::test]
async fn two_technicians_devices_cannot_see_or_change_each_others_work() {
    let hq = start().await;
    let a = device(&hq, "A").await;
    let b = device(&hq, "B").await;
    let wa = hq.work_order("WO-A", Some(a.technician_id)).await;
    let wb = hq.work_order("WO-B", Some(b.technician_id)).await;
    let (ca, cb) = (hq.client(options()), hq.client(options()));
    a.sync(&ca).await.unwrap();
    b.sync(&cb).await.unwrap();
    assert_eq!(a.work_order_ids(), [wa.id.to_string()]);
    assert_eq!(b.work_order_ids(), [wb.id.to_string()]);
    // B's device tries to record a fact on A's job: refused, nothing stored.
    append(
        &b,
        outbox::kind::CHANGE_STATUS,
        wa.id,
        json!({"to": "en_route"}),
    );
    let r = b.sync(&cb).await.unwrap();
    assert_eq!(r.ops_rejected, 1);
    let rejected = b.with(|s| store_sync::rejected_view(s.conn()).unwrap());
    assert_eq!(rejected[0].code, "not_your_work_order");
    assert!(hq.detail(wa.id).await.facts.is_empty());
    // A's facts never reach B.
    a.change_status(wa.id, EnRoute);
    a.sync(&ca).await.unwrap();
    b.sync(&cb).await.unwrap();
    assert_eq!(b.work_order_ids(), [wb.id.to_string()]);
    assert_eq!(
        b.with(|s| store_sync::pulled_fact_count(s.conn()).unwrap()),
        0
    );
}

#[tokio::test]
async fn cancelled_or_reassigned_while_done_offline_keeps_the_work_and_flags_it() {
    let hq = start().await;
    let dev = device(&hq, "A").await;
    let other = hq.technician("B").await;
    let cancelled = hq.work_order("WO-C", Some(dev.technician_id)).await;
    let moved = hq.work_order("WO-M", Some(dev.technician_id)).await;
    let untouched = hq.work_order("WO-X", Some(dev.technician_id)).await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    for id in [cancelled.id, moved.id] {
        dev.change_status(id, EnRoute);
        dev.change_status(id, OnSite);
    }
    hq.cancel(cancelled.id).await;
    hq.reassign(moved.id, other).await;
    hq.reassign(untouched.id, other).await;

    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.ops_applied, 4, "{r:?}");
    assert_eq!(r.ops_flagged, 4, "{r:?}");
    // Head office kept every fact.
    assert_eq!(hq.detail(cancelled.id).await.facts.len(), 2);
    assert_eq!(hq.detail(moved.id).await.facts.len(), 2);
    // Here: the untouched job is gone, the worked ones are kept and flagged.
    let ids: HashSet<String> = dev.work_order_ids().into_iter().collect();
    assert!(!ids.contains(&untouched.id.to_string()));
    assert!(ids.contains(&cancelled.id.to_string()) && ids.contains(&moved.id.to_string()));
    let flags = dev.with(|s| store_sync::review_flags(s.conn()).unwrap());
    let flagged: HashSet<String> = flags.iter().map(|f| f.work_order_id.clone()).collect();
    assert_eq!(
        flagged,
        HashSet::from([cancelled.id.to_string(), moved.id.to_string()])
    );
    assert_eq!(dev.status(cancelled.id), Cancelled);
    assert_eq!(dev.outbox_count(), 4);
    assert_eq!(dev.integrity(), "ok");
}

#[tokio::test]
async fn reference_data_and_facts_from_other_devices_arrive() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-F", Some(dev.technician_id)).await;
    let second = device_for(&hq, dev.technician_id).await;
    let client = hq.client(options());
    let _: onsite_api::FeeTable = hq
        .admin(
            reqwest::Method::POST,
            onsite_api::routes::ADMIN_FEE_TABLES,
            Some(&onsite_api::FeeTablePublish {
                effective_from: Utc::now(),
                items: vec![onsite_api::FeeItem {
                    code: "CLEAN".into(),
                    description: "Clean".into(),
                    fee: onsite_domain::Money::cny(3000),
                    plus_parts: true,
                }],
            }),
        )
        .await;
    let _: onsite_api::PartsCatalogue = hq
        .admin(
            reqwest::Method::PUT,
            onsite_api::routes::ADMIN_PARTS_CATALOGUE,
            Some(&onsite_api::PartsCataloguePublish {
                parts: vec![onsite_api::Part {
                    part_no: "HQ-PART-1".into(),
                    name: "Seal".into(),
                    serialised: false,
                    consumable: true,
                }],
            }),
        )
        .await;
    let _: onsite_api::PriceList = hq
        .admin(
            reqwest::Method::POST,
            onsite_api::routes::ADMIN_PRICE_LISTS,
            Some(&onsite_api::PriceListPublish {
                effective_from: Utc::now(),
                prices: vec![onsite_api::PartPrice {
                    part_no: "HQ-PART-1".into(),
                    price: onsite_domain::Money::cny(1200),
                }],
            }),
        )
        .await;
    second.sync(&client).await.unwrap();
    second.change_status(wo.id, EnRoute);
    second.sync(&client).await.unwrap();
    dev.sync(&client).await.unwrap();
    let (fee, price): (i64, i64) = dev.with(|s| {
        (
            s.conn()
                .query_row(
                    "SELECT price_minor FROM fee_item WHERE code = 'CLEAN'",
                    [],
                    |r| r.get(0),
                )
                .unwrap(),
            s.conn()
                .query_row(
                    "SELECT price_minor FROM part WHERE part_no = 'HQ-PART-1'",
                    [],
                    |r| r.get(0),
                )
                .unwrap(),
        )
    });
    assert_eq!((fee, price), (3000, 1200));
    // The other device's status change: as a fact and as the work order's status.
    assert_eq!(
        dev.with(|s| store_sync::pulled_fact_count(s.conn()).unwrap()),
        1
    );
    assert_eq!(dev.status(wo.id), EnRoute);
    let _ = ChangeItem::WorkOrderRemoved { id: wo.id };
}

#[tokio::test]
async fn a_job_signed_and_completed_with_the_visit_code_reaches_the_export_with_its_files() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-SIGN", Some(dev.technician_id)).await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let png = b"\x89PNG pretend signature".to_vec();
    let pdf = b"%PDF-1.7 pretend sign-off sheet".to_vec();
    let png_sha = onsite_store::documents::put_blob(blobs.path(), &png).unwrap();
    let pdf_sha = onsite_store::documents::put_blob(blobs.path(), &pdf).unwrap();
    let id = wo.id.to_string();
    for to in [EnRoute, OnSite, InProgress] {
        dev.change_status(wo.id, to);
    }
    dev.with(|s| {
        s.write(|tx| {
            onsite_store::documents::sign(
                tx,
                &onsite_store::documents::NewSignature {
                    work_order_id: &id,
                    signer_name: "王伟",
                    strokes: &json!([{"points": [{"x": 1, "y": 2}]}]),
                    png_sha256: &png_sha,
                },
                Utc::now(),
            )?;
            workorders::change_status(tx, &id, Completed, None, Utc::now())?;
            onsite_store::documents::record_document(
                tx,
                &id,
                onsite_domain::view::DocumentKind::SignOff,
                "zh-CN",
                &pdf_sha,
                pdf.len() as i64,
                Utc::now(),
            )?;
            Ok(())
        })
        .unwrap()
    });
    // Without the blobs folder the signature's bytes are nowhere: the queue stops there.
    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.ops_applied, 3, "{r:?}");
    assert_eq!(r.blocked.expect("blocked").kind, "AttachSignature");
    let config = onsite_sync::SyncConfig {
        blobs_dir: Some(blobs.path().to_path_buf()),
    };
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert_eq!((r.ops_applied, r.blobs_uploaded), (3, 2), "{r:?}");
    assert!(r.blocked.is_none());
    assert!(dev.pending().is_empty());

    let export = hq.export().await;
    let job = export
        .iter()
        .find(|j| j.work_order.id == wo.id)
        .expect("exported");
    assert_eq!(job.work_order.status, Completed);
    let kinds: Vec<OpKind> = job.facts.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            OpKind::ChangeStatus,
            OpKind::ChangeStatus,
            OpKind::ChangeStatus,
            OpKind::AttachSignature,
            OpKind::ChangeStatus,
            OpKind::AttachDocument
        ]
    );
    let mut want = vec![png_sha, pdf_sha];
    want.sort();
    let mut got = job.blobs.clone();
    got.sort();
    assert_eq!(got, want);
}
