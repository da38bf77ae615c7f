//! The sync client against a real onsite-hq over real TLS on 127.0.0.1, with real
//! temp-file stores.

mod common;

common::both_backends!(
    enrol_pull_work_locally_sync_and_head_office_sees_every_fact,
    a_replayed_push_is_idempotent,
    a_push_over_the_body_limit_is_split_and_an_op_too_large_alone_stops_the_queue,
    a_poison_op_is_rejected_with_its_reason_and_the_queue_moves_on,
    an_op_kind_head_office_cannot_take_blocks_the_queue_loudly_and_is_kept,
    blobs_are_uploaded_before_the_ops_that_reference_them,
    two_technicians_devices_cannot_see_or_change_each_others_work,
    cancelled_or_reassigned_while_done_offline_keeps_the_work_and_flags_it,
    reference_data_and_facts_from_other_devices_arrive,
    a_job_signed_and_completed_with_the_visit_code_reaches_the_export_with_its_files,
    a_whole_visit_syncs_with_nothing_blocked_and_every_fact_exported,
    a_carry_back_taken_advanced_and_returned_syncs_and_head_office_shows_it,
    parts_issued_and_the_company_profile_reach_the_device_once,
    a_note_after_completion_reaches_head_office_once_and_the_signature_holds,
);

use std::collections::HashSet;

use chrono::Utc;
use common::*;
use onsite_api::{ChangeItem, OpKind};
use onsite_domain::WorkOrderStatus::*;
use onsite_store::{outbox, sync as store_sync, workorders};
use onsite_sync::ClientOptions;
use serde_json::json;
use uuid::Uuid;

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

    // The technician works the job offline (notes while the job is open: once it is
    // completed they are signed content, and a note after it is an addendum).
    for to in [EnRoute, OnSite, InProgress] {
        dev.change_status(wo.id, to);
    }
    dev.with(|s| {
        s.write(|tx| {
            workorders::set_notes(tx, &wo.id.to_string(), "replaced the membrane", Utc::now())
        })
        .unwrap()
    });
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
            OpKind::EditNotes,
            OpKind::ChangeStatus
        ]
    );
    // Head office's job view shows the technician's notes beside its own.
    assert_eq!(
        detail.technician_notes.as_deref(),
        Some("replaced the membrane")
    );
    let export = hq.export().await;
    let job = export
        .iter()
        .find(|j| j.work_order.id == wo.id)
        .expect("exported");
    assert_eq!(job.facts.len(), 5);
    assert_eq!(job.facts[3].payload["notes"], "replaced the membrane");
    assert_eq!(
        job.technician_notes.as_deref(),
        Some("replaced the membrane")
    );
    // Head office's notes did not replace the technician's.
    let notes = dev.with(|s| {
        workorders::detail(s.conn(), &wo.id.to_string(), &day())
            .unwrap()
            .notes
    });
    assert_eq!(notes, "replaced the membrane");
    assert_eq!(dev.integrity(), "ok");
}

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

async fn a_push_over_the_body_limit_is_split_and_an_op_too_large_alone_stops_the_queue() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-BIG", Some(dev.technician_id)).await;
    let client = hq.client(ClientOptions {
        max_push_bytes: 8 * 1024,
        ..options()
    });
    dev.sync(&client).await.unwrap();
    let id = wo.id.to_string();
    // (Notes are at most 10,000 characters; CJK ones are 3 bytes each on the wire.)
    let note = |i: usize, len: usize| format!("{i:03} {}", "修".repeat(len));
    for i in 0..30 {
        dev.with(|s| {
            s.write(|tx| workorders::set_notes(tx, &id, &note(i, 1000), Utc::now()))
                .unwrap()
        });
    }
    let r = dev.sync(&client).await.unwrap();
    assert!(r.blocked.is_none(), "{r:?}");
    assert_eq!(r.ops_applied, 30, "{r:?}");
    assert!(
        r.push_requests >= 12,
        "90 KB of notes in 8 KB bodies: {r:?}"
    );
    assert!(dev.pending().is_empty());
    let facts = hq.detail(wo.id).await.facts;
    assert_eq!(facts.len(), 30, "each once");
    for (i, f) in facts.iter().enumerate() {
        assert_eq!(f.payload["notes"], note(i, 1000), "in order");
    }

    // One op alone over the limit: the ops before it go, it and those after it wait.
    for (i, len) in [(30, 100), (31, 9_000), (32, 100)] {
        dev.with(|s| {
            s.write(|tx| workorders::set_notes(tx, &id, &note(i, len), Utc::now()))
                .unwrap()
        });
    }
    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.ops_applied, 1, "{r:?}");
    let blocked = r.blocked.expect("blocked");
    assert_eq!(blocked.kind, "EditNotes");
    assert!(
        blocked.why.contains("larger than head office accepts"),
        "{blocked:?}"
    );
    assert_eq!(dev.pending().len(), 2, "kept, not dropped");
}

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

async fn reference_data_and_facts_from_other_devices_arrive() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-F", Some(dev.technician_id)).await;
    let second = device_for(&hq, dev.technician_id).await;
    let client = hq.client(options());
    let _: onsite_api::FeeTable = hq
        .admin_ok(
            reqwest::Method::POST,
            onsite_api::routes::ADMIN_FEE_TABLES,
            Some(&onsite_api::FeeTablePublish {
                category: "water_purifier".into(),
                effective_from: Utc::now(),
                items: vec![onsite_api::FeeItem {
                    code: "CLEAN".into(),
                    description: "Clean".into(),
                    fee: onsite_domain::Money::cny(3000),
                    plus_parts: true,
                    name_zh: "清洗".into(),
                    name_en: "Clean".into(),
                    kind: onsite_domain::rules::ItemKind::Labour,
                    open_priced: false,
                    coverable: true,
                    includes: Vec::new(),
                }],
            }),
        )
        .await;
    let _: onsite_api::PartsCatalogue = hq
        .admin_ok(
            reqwest::Method::PUT,
            onsite_api::routes::ADMIN_PARTS_CATALOGUE,
            Some(&onsite_api::PartsCataloguePublish {
                parts: vec![onsite_api::Part {
                    part_no: "HQ-PART-1".into(),
                    name: "密封圈".into(),
                    serialised: false,
                    consumable: true,
                    name_en: Some("Seal".into()),
                    component: Some("fitting".into()),
                    return_required: false,
                }],
            }),
        )
        .await;
    let _: onsite_api::PriceList = hq
        .admin_ok(
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
    // What the device's pricing needs arrived too: the category, names, kinds, the part's
    // component and English name.
    let reference: (String, String, String, String, String) = dev.with(|s| {
        s.conn()
            .query_row(
                "SELECT t.category, i.name_zh, i.kind, p.category, p.name_en
                 FROM fee_item i JOIN fee_table t ON t.id = i.fee_table_id,
                      part p WHERE i.code = 'CLEAN' AND p.part_no = 'HQ-PART-1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap()
    });
    assert_eq!(
        reference,
        (
            "water_purifier".into(),
            "清洗".into(),
            "labour".into(),
            "fitting".into(),
            "Seal".into()
        )
    );
    // The other device's status change: as a fact and as the work order's status.
    assert_eq!(
        dev.with(|s| store_sync::pulled_fact_count(s.conn()).unwrap()),
        1
    );
    assert_eq!(dev.status(wo.id), EnRoute);
    let _ = ChangeItem::WorkOrderRemoved { id: wo.id };
}

async fn a_job_signed_and_completed_with_the_visit_code_reaches_the_export_with_its_files() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-SIGN", Some(dev.technician_id)).await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let png = b"\x89PNG pretend signature".to_vec();
    let pdf = b"%PDF-1.7 pretend sign-off sheet".to_vec();
    let png_sha = onsite_store::documents::put_blob(&common::sealed(blobs.path()), &png).unwrap();
    let pdf_sha = onsite_store::documents::put_blob(&common::sealed(blobs.path()), &pdf).unwrap();
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
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = {
        let seen = seen.clone();
        onsite_sync::ProgressSink(std::sync::Arc::new(
            move |phase, r: &onsite_sync::SyncReport| {
                seen.lock()
                    .unwrap()
                    .push((phase, r.blobs_uploaded, r.ops_applied))
            },
        ))
    };
    let config = onsite_sync::SyncConfig {
        blobs: Some(common::sealed(blobs.path())),
        progress: Some(sink),
        ..Default::default()
    };
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert_eq!((r.ops_applied, r.blobs_uploaded), (3, 2), "{r:?}");
    // Progress was told as the run went: each blob, then the push, then the pull.
    {
        use onsite_sync::SyncPhase::*;
        let seen = seen.lock().unwrap();
        // (Both blobs go at once, in one chunk.)
        assert_eq!(seen[..2], [(Uploading, 2, 0), (Pushing, 2, 3)], "{seen:?}");
        assert!(
            seen[2..].iter().all(|s| s.0 == Pulling) && seen.len() > 2,
            "{seen:?}"
        );
    }
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

/// A whole visit done with the store's visit API on a job from head office: every outbox
/// kind the visit writes goes out with nothing blocked or rejected, and head office's
/// exports show the facts (the job's in the job export, the day's in the day export).
async fn a_whole_visit_syncs_with_nothing_blocked_and_every_fact_exported() {
    use onsite_api::{ExportRow, OpPayload, TechnicianDayFact};
    use onsite_store::visit::{
        self, Decision, DiagnosisInput, ExpenseInput, PaymentInput, PaymentMethod, QuoteLine,
        QuoteRequest, StockCount, TakePart,
    };
    const DEMO: &str = include_str!("../../../assets/demo/demo.json");

    let hq = start().await;
    let tech = hq.technician("李建国").await;
    // The demo's fee tables, components and parts are for water purifiers.
    let mut new = new_work_order("WO-VISIT", Some(tech));
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
    let r = dev.sync(&client).await.unwrap();
    assert!(r.blocked.is_none(), "{r:?}");
    let id = wo.id.to_string();
    for to in [EnRoute, OnSite, InProgress] {
        dev.change_status(wo.id, to);
    }
    let part = |s: &onsite_store::Store, no: &str| {
        visit::find_part_no(s.conn(), no).unwrap().unwrap().part_id
    };
    let (pump, filter) = dev.with(|s| (part(s, "P-PUMP-24V"), part(s, "F-PP-10")));
    // Two photos of the fault; the second file is lost before the sync (a disk cleaned
    // up): the diagnosis must still go, with the first photo's bytes.
    let blobs = tempfile::tempdir().unwrap();
    let photo = visit::put_blob(
        &common::sealed(blobs.path()),
        b"\xff\xd8\xff pretend jpeg",
        "image/jpeg",
    )
    .unwrap();
    let lost = visit::put_blob(
        &common::sealed(blobs.path()),
        b"\xff\xd8\xff lost jpeg",
        "image/jpeg",
    )
    .unwrap();
    std::fs::remove_file(common::sealed(blobs.path()).path(&lost.sha256).unwrap()).unwrap();
    let t = Utc::now();
    let (quote, pump_use) = dev.with(|s| {
        visit::write(s, |tx| {
            visit::record_diagnosis(
                tx,
                &id,
                &DiagnosisInput {
                    fault_found: "booster pump seized".into(),
                    components: vec!["pump".into()],
                    exclusions: vec![],
                    notes: "filters due too".into(),
                    photos: vec![photo.clone(), lost.clone()],
                },
                t,
            )?;
            let line = |code: &str| QuoteLine {
                code: code.into(),
                quantity: 1,
                component: None,
                price_minor: None,
            };
            let quote = visit::issue_quote(
                tx,
                &id,
                &QuoteRequest {
                    visit_date: today,
                    work_date: today,
                    lines: vec![line("REPLACE"), line("P-PUMP-24V")],
                    contracts: Vec::new(),
                },
                t,
            )?;
            visit::decide_quote(tx, &id, &quote.id, Decision::Accepted, t)?;
            visit::take_part(
                tx,
                &id,
                &TakePart {
                    part_id: pump.clone(),
                    quantity: 1,
                    serial_fitted: Some("PUMP-NEW-001".into()),
                    serial_removed: Some("PUMP-OLD-777".into()),
                    override_reason: None,
                },
                t,
            )?;
            let due = visit::state(tx, &id)?.balance.outstanding_minor;
            visit::take_payment(
                tx,
                &id,
                &PaymentInput {
                    method: PaymentMethod::Card,
                    amount_minor: due - 50_00,
                    tendered_minor: None,
                },
                t,
            )?;
            visit::invoice_later(tx, &id, t)?;
            visit::record_feedback(tx, &id, 5, "准时，专业", true, t)?;
            let pump_use = visit::state(tx, &id)?.parts[0].id.clone();
            visit::return_old_part(tx, &pump_use, t)?;
            // End of the day: an unused filter goes back, the van is counted, expenses.
            // Filed under the technician's day in Beijing (whatever the UTC date).
            visit::return_unused_on(tx, &filter, 1, None, today, t)?;
            visit::stock_take_on(
                tx,
                &[StockCount {
                    part_id: filter.clone(),
                    counted: 0,
                }],
                today,
                t,
            )?;
            visit::record_expense(
                tx,
                &ExpenseInput {
                    day: today,
                    km: 42,
                    meal_days: 1,
                    nights: 0,
                },
                t,
            )?;
            Ok((quote, pump_use))
        })
        .unwrap()
    });
    // The customer signs the job off; then it is completed.
    let png_sha = onsite_store::documents::put_blob(
        &common::sealed(blobs.path()),
        b"\x89PNG pretend signature",
    )
    .unwrap();
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
            workorders::change_status(tx, &id, Completed, None, Utc::now())
        })
        .unwrap()
    });

    let kinds: HashSet<String> = dev.pending().into_iter().map(|p| p.kind).collect();
    for k in [
        "RecordDiagnosis",
        "IssueQuote",
        "RecordQuoteDecision",
        "ConsumePart",
        "TakePayment",
        "InvoiceLater",
        "RecordFeedback",
        "ReturnPart",
        "StockTake",
        "RecordExpense",
        "ChangeStatus",
    ] {
        assert!(kinds.contains(k), "{k} missing from {kinds:?}");
    }
    let pending = dev.pending().len();
    let config = onsite_sync::SyncConfig {
        blobs: Some(common::sealed(blobs.path())),
        ..Default::default()
    };
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert!(r.blocked.is_none(), "{r:?}");
    assert_eq!(r.ops_rejected, 0, "{r:?}");
    assert_eq!(r.ops_applied, pending, "{r:?}");
    assert!(dev.pending().is_empty());
    assert_eq!((r.photos_uploaded, r.photos_missing), (1, 1), "{r:?}");
    // Head office has the photo's bytes, not the lost one's.
    assert_eq!(
        hq.blob(&photo.sha256).await,
        (200, b"\xff\xd8\xff pretend jpeg".to_vec())
    );
    assert_eq!(hq.blob(&lost.sha256).await.0, 404);

    // The job's facts, in the job export.
    let export = hq.export().await;
    let job = export
        .iter()
        .find(|j| j.work_order.id == wo.id)
        .expect("exported");
    assert_eq!(job.work_order.status, Completed);
    let payloads: Vec<OpPayload> = job
        .facts
        .iter()
        .map(|f| OpPayload::parse(f.kind.as_str(), &f.payload).unwrap())
        .collect();
    let find = |k: OpKind| {
        payloads
            .iter()
            .find(|p| p.kind() == k)
            .unwrap_or_else(|| panic!("{k:?} not exported"))
    };
    let OpPayload::IssueQuote(q) = find(OpKind::IssueQuote) else {
        unreachable!()
    };
    assert_eq!(q.quote_id.to_string(), quote.id);
    assert_eq!(q.fee_table_version, quote.fee_table_version);
    assert_eq!(q.due.minor, quote.priced.totals.due.minor);
    assert_eq!(q.lines.len(), quote.priced.lines.len());
    let OpPayload::ConsumePart(used) = find(OpKind::ConsumePart) else {
        unreachable!()
    };
    let pump_line = quote
        .priced
        .lines
        .iter()
        .find(|l| l.code == "P-PUMP-24V")
        .unwrap();
    assert_eq!(used.unit_price, Some(pump_line.charged));
    assert_eq!(used.serial_no.as_deref(), Some("PUMP-NEW-001"));
    let OpPayload::RecordDiagnosis(d) = find(OpKind::RecordDiagnosis) else {
        unreachable!()
    };
    assert_eq!(d.fault_found, "booster pump seized");
    let OpPayload::RecordQuoteDecision(qd) = find(OpKind::RecordQuoteDecision) else {
        unreachable!()
    };
    assert_eq!(qd.decision, onsite_api::QuoteAnswer::Accepted);
    let OpPayload::InvoiceLater(il) = find(OpKind::InvoiceLater) else {
        unreachable!()
    };
    assert_eq!(il.amount.minor, 50_00);
    let OpPayload::RecordFeedback(fb) = find(OpKind::RecordFeedback) else {
        unreachable!()
    };
    assert_eq!((fb.rating, fb.comment.as_str()), (5, "准时，专业"));
    let OpPayload::ReturnPart(back) = find(OpKind::ReturnPart) else {
        unreachable!()
    };
    assert_eq!(back.part_use_id.map(|u| u.to_string()), Some(pump_use));
    assert_eq!(back.return_kind, onsite_api::ReturnKind::Old);
    find(OpKind::TakePayment);
    assert!(job.facts.iter().all(|f| !f.kind.is_technician_day()));

    // The same facts as CSV lines.
    let csv = hq.export_csv().await;
    assert!(csv.starts_with(&ExportRow::COLUMNS.join(",")));
    for kind in [
        "record_diagnosis",
        "issue_quote",
        "record_quote_decision",
        "consume_part",
        "invoice_later",
        "record_feedback",
        "return_part",
    ] {
        assert!(csv.contains(&format!(",{kind},")), "{kind} not in CSV");
    }

    // The day's facts, in the technician-day export.
    let path = format!(
        "{}?technician_id={tech}&from={today}&to={today}",
        onsite_api::routes::ADMIN_EXPORT_TECHNICIAN_DAYS
    );
    let days: Vec<TechnicianDayFact> = hq
        .admin_ok::<(), _>(reqwest::Method::GET, &path, None)
        .await;
    let day_kinds: Vec<OpKind> = days.iter().map(|f| f.kind).collect();
    assert_eq!(day_kinds.len(), 3, "{day_kinds:?}");
    for k in [OpKind::ReturnPart, OpKind::StockTake, OpKind::RecordExpense] {
        assert!(day_kinds.contains(&k), "{k:?}");
    }
    assert!(days
        .iter()
        .all(|f| f.technician_id == tech && !f.superseded));
    let expense = days
        .iter()
        .find(|f| f.kind == OpKind::RecordExpense)
        .unwrap();
    let Ok(OpPayload::RecordExpense(e)) = OpPayload::parse("record_expense", &expense.payload)
    else {
        panic!("{expense:?}")
    };
    assert_eq!((e.day, e.km), (today, 42));
    assert_eq!(
        e.total.minor,
        e.mileage.minor + e.meals.minor + e.lodging.minor
    );
}

async fn a_carry_back_taken_advanced_and_returned_syncs_and_head_office_shows_it() {
    use onsite_api::{CarryBack, ExportRow, OpPayload};
    use onsite_domain::carryback::CarryBackState;
    use onsite_store::carryback::{self, NewCarryBack, Signed};

    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-CB", Some(dev.technician_id)).await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    let id = wo.id.to_string();
    for to in [EnRoute, OnSite] {
        dev.change_status(wo.id, to);
    }
    // Two signatures: the receipt's when it is taken, another when it comes back.
    let blobs = tempfile::tempdir().unwrap();
    let taken_png = onsite_store::documents::put_blob(
        &common::sealed(blobs.path()),
        b"\x89PNG receipt signature",
    )
    .unwrap();
    let returned_png = onsite_store::documents::put_blob(
        &common::sealed(blobs.path()),
        b"\x89PNG return signature",
    )
    .unwrap();
    let strokes = json!([{"points": [{"x": 1, "y": 2}, {"x": 30, "y": 12}]}]);
    let today = Utc::now().date_naive();
    let expected_return = today + chrono::Days::new(7);
    let accessories = vec!["remote control".to_owned()];
    let taken = dev.with(|s| {
        s.write(|tx| {
            let t = carryback::take(
                tx,
                &NewCarryBack {
                    work_order_id: &id,
                    item: "ThermaFlow TF-60E water heater",
                    serial_no: Some("TF60E-25-33817"),
                    accessories: &accessories,
                    condition: "Scratch on the left side panel",
                    fault: "Humming noise, error E3",
                    expected_return,
                    photos: &[],
                    signature: Signed {
                        signer_name: "Sophie Müller",
                        strokes: &strokes,
                        png_sha256: &taken_png,
                    },
                },
                today,
                Utc::now(),
            )?;
            carryback::advance(tx, &t.id, CarryBackState::AtWorkshop, today, Utc::now())
        })
        .unwrap()
    });
    // The receipt's signature must reach head office before the take: without the
    // blobs folder its bytes are nowhere and the queue stops at the take, kept.
    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.blocked.expect("blocked").kind, "TakeCarryBack");
    assert_eq!(dev.pending().len(), 2);
    let config = onsite_sync::SyncConfig {
        blobs: Some(common::sealed(blobs.path())),
        ..Default::default()
    };
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert!(r.blocked.is_none(), "{r:?}");
    assert_eq!(
        (r.ops_applied, r.ops_rejected, r.blobs_uploaded),
        (2, 0, 1),
        "{r:?}"
    );
    assert!(dev.pending().is_empty());

    // Head office's list of items out: this one, at the workshop, not overdue.
    let open: Vec<CarryBack> = hq
        .admin_ok::<(), _>(
            reqwest::Method::GET,
            onsite_api::routes::ADMIN_CARRY_BACKS,
            None,
        )
        .await;
    assert_eq!(open.len(), 1, "{open:?}");
    let item = &open[0];
    assert_eq!(item.receipt_no, taken.receipt_no);
    assert_eq!(item.carry_back_id.to_string(), taken.id);
    assert_eq!(
        (item.work_order_id, item.order_no.as_str()),
        (wo.id, "WO-CB")
    );
    assert_eq!(item.technician_id, dev.technician_id);
    assert_eq!(item.state, CarryBackState::AtWorkshop);
    assert_eq!(item.expected_return, expected_return);
    assert_eq!(item.overdue, None);
    assert!(!item.flagged_for_review);

    // Repaired and handed back; the receipt was lost.
    dev.with(|s| {
        s.write(|tx| {
            carryback::advance(tx, &taken.id, CarryBackState::Repaired, today, Utc::now())?;
            carryback::return_item(
                tx,
                &taken.id,
                false,
                Some("Customer threw the receipt away"),
                &Signed {
                    signer_name: "Sophie Müller",
                    strokes: &strokes,
                    png_sha256: &returned_png,
                },
                today,
                Utc::now(),
            )
        })
        .unwrap()
    });
    // The job itself is signed off and completed.
    let signoff_png = onsite_store::documents::put_blob(
        &common::sealed(blobs.path()),
        b"\x89PNG sign-off signature",
    )
    .unwrap();
    dev.change_status(wo.id, InProgress);
    dev.with(|s| {
        s.write(|tx| {
            onsite_store::documents::sign(
                tx,
                &onsite_store::documents::NewSignature {
                    work_order_id: &id,
                    signer_name: "Sophie Müller",
                    strokes: &strokes,
                    png_sha256: &signoff_png,
                },
                Utc::now(),
            )?;
            workorders::change_status(tx, &id, Completed, None, Utc::now())
        })
        .unwrap()
    });
    let pending = dev.pending().len();
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert!(r.blocked.is_none(), "{r:?}");
    assert_eq!((r.ops_applied, r.ops_rejected), (pending, 0), "{r:?}");
    assert_eq!(
        r.blobs_uploaded, 2,
        "the return's and the sign-off's: {r:?}"
    );
    assert!(dev.pending().is_empty());

    // No longer out; listed as returned when asked for.
    let open: Vec<CarryBack> = hq
        .admin_ok::<(), _>(
            reqwest::Method::GET,
            onsite_api::routes::ADMIN_CARRY_BACKS,
            None,
        )
        .await;
    assert!(open.is_empty(), "{open:?}");
    let path = format!(
        "{}?include_returned=true&technician_id={}",
        onsite_api::routes::ADMIN_CARRY_BACKS,
        dev.technician_id
    );
    let all: Vec<CarryBack> = hq
        .admin_ok::<(), _>(reqwest::Method::GET, &path, None)
        .await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].state, CarryBackState::Returned);
    assert_eq!(all[0].receipt_collected, Some(false));
    assert!(all[0].returned_at.is_some());

    // The completed job's export: the three facts, both signatures, the carry-back.
    let export = hq.export().await;
    let job = export
        .iter()
        .find(|j| j.work_order.id == wo.id)
        .expect("exported");
    let kinds: Vec<OpKind> = job.facts.iter().map(|f| f.kind).collect();
    for k in [
        OpKind::TakeCarryBack,
        OpKind::AdvanceCarryBack,
        OpKind::ReturnCarryBack,
    ] {
        assert!(kinds.contains(&k), "{k:?} not in {kinds:?}");
    }
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == OpKind::AdvanceCarryBack)
            .count(),
        2
    );
    let take = job
        .facts
        .iter()
        .find(|f| f.kind == OpKind::TakeCarryBack)
        .unwrap();
    let Ok(OpPayload::TakeCarryBack(t)) = OpPayload::parse("take_carry_back", &take.payload) else {
        panic!("{take:?}")
    };
    assert_eq!(t.receipt_no, taken.receipt_no);
    assert_eq!(t.item, "ThermaFlow TF-60E water heater");
    assert_eq!(t.accessories, accessories);
    assert_eq!(t.expected_return, expected_return);
    assert_eq!(t.signer_name, "Sophie Müller");
    for sha in [&taken_png, &returned_png] {
        assert!(job.blobs.contains(sha), "{sha} not in {:?}", job.blobs);
    }
    let (_, bytes) = hq.blob(&returned_png).await;
    assert_eq!(&bytes[..], b"\x89PNG return signature");
    assert_eq!(job.carry_backs.len(), 1);
    assert_eq!(job.carry_backs[0].receipt_no, taken.receipt_no);
    assert_eq!(job.carry_backs[0].state, CarryBackState::Returned);

    // And as CSV lines: the receipt number, each step, the receipt's fate; no free text.
    let csv = hq.export_csv().await;
    assert!(csv.starts_with(&ExportRow::COLUMNS.join(",")));
    assert!(csv.contains(",take_carry_back,"));
    assert!(csv.contains(&taken.receipt_no));
    assert!(csv.contains(",advance_carry_back,"));
    assert!(csv.contains(",repaired,"));
    assert!(csv.contains(",receipt_lost,"));
    assert!(!csv.contains("Sophie") && !csv.contains("threw"));
}

async fn parts_issued_and_the_company_profile_reach_the_device_once() {
    use onsite_api::{routes, CompanyProfile, NewPartsIssue, PartsIssue, PartsIssueLine};
    use onsite_hq::storage::Storage;
    use onsite_store::settings;

    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let client = hq.client(options());
    let stock = |dev: &Device| -> std::collections::BTreeMap<String, i64> {
        dev.with(|s| onsite_store::visit::van_stock(s.conn()).unwrap())
            .into_iter()
            .map(|i| (i.part_no, i.quantity))
            .collect()
    };
    let before = stock(&dev);
    let _: onsite_api::PartsCatalogue = hq
        .admin_ok(
            reqwest::Method::PUT,
            routes::ADMIN_PARTS_CATALOGUE,
            Some(&onsite_hq::demo::parts_catalogue()),
        )
        .await;
    let issue = NewPartsIssue {
        lines: vec![
            PartsIssueLine {
                part_no: "F-PP-10".into(),
                quantity: 6,
            },
            PartsIssueLine {
                part_no: "P-PUMP-24V".into(),
                quantity: 2,
            },
        ],
        note: Some("van load".into()),
        work_order_id: None,
    };
    let path = routes::ADMIN_PARTS_ISSUES.replace("{id}", &dev.technician_id.to_string());
    let _: PartsIssue = hq
        .admin_ok(reqwest::Method::POST, &path, Some(&issue))
        .await;
    let company = CompanyProfile {
        name: "清源净水服务有限公司".into(),
        phone: "400 000 0000".into(),
        address: "88 Fictional Road".into(),
    };
    let _: CompanyProfile = hq
        .admin_ok(reqwest::Method::PUT, routes::ADMIN_COMPANY, Some(&company))
        .await;

    dev.sync(&client).await.unwrap();
    let after = stock(&dev);
    for (part, added) in [("F-PP-10", 6), ("P-PUMP-24V", 2)] {
        let had = before.get(part).copied().unwrap_or(0);
        assert_eq!(after.get(part).copied(), Some(had + added), "{part}");
    }
    let get = |key| dev.with(|s| settings::get(s.conn(), key).unwrap());
    assert_eq!(
        get(settings::COMPANY_NAME).as_deref(),
        Some("清源净水服务有限公司")
    );
    assert_eq!(
        get(settings::COMPANY_PHONE).as_deref(),
        Some("400 000 0000")
    );
    assert_eq!(
        get(settings::COMPANY_ADDRESS).as_deref(),
        Some("88 Fictional Road")
    );
    // Head office's facts, not the technician's: nothing to push back.
    assert_eq!(dev.outbox_count(), 0);

    // A second sync changes nothing.
    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.changes_applied, 0, "{r:?}");
    assert_eq!(stock(&dev), after);

    // A refetch after a server restore sends the issue again: the stock is not doubled.
    // (Off the async thread: PostgreSQL's client blocks.)
    let storage = hq.storage.clone();
    tokio::task::spawn_blocking(move || storage.rotate_epoch().unwrap())
        .await
        .unwrap();
    let r = dev.sync(&client).await.unwrap();
    assert!(r.refetched, "{r:?}");
    assert_eq!(stock(&dev), after);
    assert_eq!(
        get(settings::COMPANY_NAME).as_deref(),
        Some("清源净水服务有限公司")
    );
}

/// Issue 10, defect 1: a note after completion is an addendum. It reaches head office
/// once, shows in its job view and export, and leaves the customer's signature valid
/// there (no review flag); the technician's notes, edited before completion, show too.
/// An older device's notes edit after completion (signed content changed) is flagged.
async fn a_note_after_completion_reaches_head_office_once_and_the_signature_holds() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-ADDENDUM", Some(dev.technician_id)).await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let png_sha = onsite_store::documents::put_blob(
        &common::sealed(blobs.path()),
        b"\x89PNG addendum signature",
    )
    .unwrap();
    let id = wo.id.to_string();
    for to in [EnRoute, OnSite] {
        dev.change_status(wo.id, to);
    }
    dev.with(|s| {
        s.write(|tx| {
            workorders::set_notes(tx, &id, "更换PP棉", Utc::now())?;
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
            // On site, completing stamps in progress first.
            workorders::change_status(tx, &id, Completed, None, Utc::now())
        })
        .unwrap()
    });
    // The notes are signed content now: refused; the note goes as an addendum.
    let refused = dev.with(|s| {
        s.write(|tx| workorders::set_notes(tx, &id, "客户要求下周回访", Utc::now()))
            .unwrap_err()
    });
    assert!(
        matches!(refused, onsite_store::StoreError::JobClosed),
        "{refused:?}"
    );
    dev.with(|s| {
        s.write(|tx| workorders::add_addendum(tx, &id, " 客户要求下周回访 ", Utc::now()))
            .unwrap()
    });
    let config = onsite_sync::SyncConfig {
        blobs: Some(common::sealed(blobs.path())),
        ..Default::default()
    };
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    // en route, on site, notes, signature, in progress, completed, addendum
    assert_eq!((r.ops_applied, r.ops_rejected), (7, 0), "{r:?}");
    assert!(dev.pending().is_empty());

    let detail = hq.detail(wo.id).await;
    assert_eq!(detail.work_order.status, Completed);
    let kinds: Vec<OpKind> = detail.facts.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds[kinds.len() - 3..],
        [
            OpKind::ChangeStatus,
            OpKind::ChangeStatus,
            OpKind::AddAddendum
        ]
    );
    assert_eq!(detail.addenda.len(), 1);
    assert_eq!(detail.addenda[0].text, "客户要求下周回访");
    assert_eq!(detail.technician_notes.as_deref(), Some("更换PP棉"));
    assert!(detail.review_flags.is_empty(), "{:?}", detail.review_flags);
    assert!(!detail.work_order.flagged_for_review);
    let job = hq
        .export()
        .await
        .into_iter()
        .find(|j| j.work_order.id == wo.id)
        .expect("exported");
    assert_eq!(job.addenda, detail.addenda);
    assert!(hq.export_csv().await.contains(",add_addendum,"));

    // Once: the next run sends nothing more, and head office still holds one.
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert_eq!(r.ops_applied + r.ops_duplicate, 0, "{r:?}");
    assert_eq!(hq.detail(wo.id).await.addenda.len(), 1);

    // An older device edits the notes of the completed job: head office takes the fact,
    // and flags the job, whose signature no longer matches its content.
    append(
        &dev,
        "EditNotes",
        wo.id,
        json!({ "work_order_id": id, "notes": "edited after the customer signed" }),
    );
    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.ops_applied, 1, "{r:?}");
    let detail = hq.detail(wo.id).await;
    assert_eq!(
        detail.technician_notes.as_deref(),
        Some("edited after the customer signed")
    );
    let reasons: Vec<_> = detail.review_flags.iter().map(|f| f.reason).collect();
    assert_eq!(reasons, [onsite_api::ReviewReason::SignatureMismatch]);
    assert!(detail.work_order.flagged_for_review);
}
