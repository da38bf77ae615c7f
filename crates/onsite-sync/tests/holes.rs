//! Issue 9: sequences that lost, wedged or silently dropped field data, each against a real
//! head office over TLS and real store files. Each test failed before its fix.

mod common;

use std::collections::HashSet;

use chrono::Utc;
use common::*;
use onsite_domain::WorkOrderStatus::*;
use onsite_store::{sync as store_sync, workorders};
use onsite_sync::ClientOptions;
use uuid::Uuid;

/// Stops head office, copies its files (a backup) and starts it again on the same data.
async fn backup_of(hq: Hq) -> (Hq, tempfile::TempDir) {
    let (dir, pki, tmp) = hq.stop().await;
    let backup = tempfile::tempdir().unwrap();
    Hq::backup(&dir, backup.path());
    (start_in(&dir, pki, tmp).await, backup)
}

/// Stops head office and starts it on a copy of `backup`, **without** a new epoch: the
/// operator restored the database and forgot (or never knew) the flag.
async fn restore_without_flag(hq: Hq, backup: &tempfile::TempDir) -> Hq {
    let (_dir, pki, _tmp) = hq.stop().await;
    let restored = tempfile::tempdir().unwrap();
    Hq::backup(backup.path(), restored.path());
    let path = restored.path().to_path_buf();
    start_in(&path, pki, Some(restored)).await
}

/// Facts head office holds for a job, by fact id (each at most once).
async fn fact_ids(hq: &Hq, id: Uuid) -> Vec<Uuid> {
    let facts = hq.detail(id).await.facts;
    let ids: Vec<Uuid> = facts.iter().map(|f| f.fact_id).collect();
    let unique: HashSet<&Uuid> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a fact stored twice");
    ids
}

// ---------------------------------------------------------------------------------------
// Hole 1: a restore without the operator's flag.

#[tokio::test]
async fn a_restore_without_the_flag_is_detected_and_nothing_is_lost_or_skipped() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let tech = dev.technician_id;
    let other = hq.technician("Other").await;
    let wo = hq.work_order("WO-1", Some(tech)).await;
    dev.sync(&hq.client(options())).await.unwrap();

    let (hq, backup) = backup_of(hq).await;
    // After the backup: the device's work reaches head office and is acknowledged.
    dev.change_status(wo.id, EnRoute);
    dev.change_status(wo.id, OnSite);
    set_notes(&dev, wo.id, "gate code 1234");
    let r = dev.sync(&hq.client(options())).await.unwrap();
    assert_eq!(r.ops_applied, 3, "{r:?}");
    assert_eq!(fact_ids(&hq, wo.id).await.len(), 3);

    // Head office is restored from the backup, the epoch inside it unchanged.
    let hq = restore_without_flag(hq, &backup).await;
    // Life goes on there: the office dispatches a new job to this technician and others
    // to someone else, filling the sequence numbers the backup lost.
    let new_job = hq.work_order("WO-2", Some(tech)).await;
    for n in 0..4 {
        hq.work_order(&format!("WO-X{n}"), Some(other)).await;
    }

    let r = dev.sync(&hq.client(options())).await.unwrap();
    assert!(r.refetched, "the device must notice the restore: {r:?}");
    assert_eq!(r.requeued, 3, "{r:?}");
    // What head office lost is sent again, once.
    assert_eq!(fact_ids(&hq, wo.id).await.len(), 3);
    assert_eq!(hq.detail(wo.id).await.work_order.status, OnSite);
    // The job made at a reused sequence number is not skipped.
    let ids: HashSet<String> = dev.work_order_ids().into_iter().collect();
    assert!(ids.contains(&new_job.id.to_string()), "the new job arrived");
    assert_eq!(dev.integrity(), "ok");
    // And then it is quiet.
    let r = dev.sync(&hq.client(options())).await.unwrap();
    assert_eq!(
        (r.ops_applied, r.requeued, r.refetched),
        (0, 0, false),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_restore_that_lost_only_the_devices_own_commits_is_detected() {
    // The device had not pulled since the backup (its cursor is older than the backup):
    // only its own acknowledged ops tell it that head office lost something.
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    dev.sync(&hq.client(options())).await.unwrap();
    // Commits the device never pulls before the backup (another technician's jobs).
    let other = hq.technician("Other").await;
    for n in 0..3 {
        hq.work_order(&format!("WO-O{n}"), Some(other)).await;
    }
    let (hq, backup) = backup_of(hq).await;
    dev.change_status(wo.id, EnRoute);
    // The push goes through; the pull after it fails, so the cursor stays where it was.
    let fwd = Forwarder::start(&hq).await;
    fwd.arm(
        onsite_api::routes::SYNC_PULL,
        HttpFault::Reply {
            status: 500,
            body: b"{}".to_vec(),
            retry_after: None,
        },
    );
    let err = dev
        .sync(&hq.client_to(fwd.addr, options()))
        .await
        .unwrap_err();
    assert!(matches!(
        err.failure(),
        onsite_sync::plan::Failure::Transient { .. }
    ));
    assert!(dev.pending().is_empty(), "the push was acknowledged");
    drop(fwd);
    let hq = restore_without_flag(hq, &backup).await;
    let r = dev.sync(&hq.client(options())).await.unwrap();
    assert!(r.refetched, "{r:?}");
    assert_eq!(fact_ids(&hq, wo.id).await.len(), 1);
    assert_eq!(hq.detail(wo.id).await.work_order.status, EnRoute);
}

// ---------------------------------------------------------------------------------------
// Hole 2: re-enrolment after a restore.

#[tokio::test]
async fn re_enrolling_after_a_restore_still_re_sends_what_head_office_lost() {
    let hq = start().await;
    let tech = hq.technician("Tech").await;
    let wo = hq.work_order("WO-1", Some(tech)).await;
    // The backup is taken before this device was enrolled: after the restore head office
    // no longer knows its token (401), and the technician enrols it again.
    let (hq, backup) = backup_of(hq).await;
    let dev = device_for(&hq, tech).await;
    dev.sync(&hq.client(options())).await.unwrap();
    dev.change_status(wo.id, EnRoute);
    dev.change_status(wo.id, OnSite);
    let r = dev.sync(&hq.client(options())).await.unwrap();
    assert_eq!(r.ops_applied, 2);

    let hq = restore_without_flag(hq, &backup).await;
    let err = dev.sync(&hq.client(options())).await.unwrap_err();
    assert_eq!(err.failure(), onsite_sync::plan::Failure::NeedsEnrolment);
    let code = hq.code_for(tech).await;
    onsite_sync::enroll(
        &dev.store,
        &hq.base,
        &code,
        "van laptop",
        Some(&hq.pki.ca_pem),
        options(),
    )
    .await
    .unwrap();
    let r = dev.sync(&hq.client(options())).await.unwrap();
    assert!(r.refetched, "{r:?}");
    assert_eq!(fact_ids(&hq, wo.id).await.len(), 2);
    assert_eq!(hq.detail(wo.id).await.work_order.status, OnSite);
}

// ---------------------------------------------------------------------------------------
// Hole 5: a reused order number.

#[tokio::test]
async fn a_pulled_job_with_a_local_jobs_order_number_is_kept_beside_it() {
    let hq = start().await;
    let tech = hq.technician("Tech").await;
    let dev = device_for(&hq, tech).await;
    dev.sync(&hq.client(options())).await.unwrap();
    let (hq, backup) = backup_of(hq).await;
    let first = hq.work_order("WO-SAME", Some(tech)).await;
    dev.sync(&hq.client(options())).await.unwrap();
    set_notes(&dev, first.id, "worked on here");
    dev.sync(&hq.client(options())).await.unwrap();
    // Head office loses the job (restored from the backup) and reuses its number.
    let hq = restore_without_flag(hq, &backup).await;
    let clash = hq.work_order("WO-SAME", Some(tech)).await;
    assert_ne!(clash.id, first.id);
    let r = dev.sync(&hq.client(options())).await;
    assert!(r.is_ok(), "the pull must not fail on the clash: {r:?}");
    let ids: HashSet<String> = dev.work_order_ids().into_iter().collect();
    assert!(ids.contains(&first.id.to_string()), "the local job stays");
    assert!(
        ids.contains(&clash.id.to_string()),
        "the pulled job arrives"
    );
    let flags = dev.with(|s| store_sync::review_flags(s.conn()).unwrap());
    assert!(
        flags
            .iter()
            .any(|f| f.reason == onsite_sync::plan::reason::ORDER_NO_CLASH),
        "{flags:?}"
    );
    // The pull is not wedged: a later job still arrives.
    let later = hq.work_order("WO-LATER", Some(tech)).await;
    dev.sync(&hq.client(options())).await.unwrap();
    let ids: HashSet<String> = dev.work_order_ids().into_iter().collect();
    assert!(ids.contains(&later.id.to_string()));
    assert_eq!(dev.integrity(), "ok");
}

// ---------------------------------------------------------------------------------------
// Hole 6: a page of nothing but the device's own facts.

#[tokio::test]
async fn a_page_of_only_the_devices_own_facts_does_not_wedge_the_pull() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    let small = || ClientOptions {
        pull_limit: 5,
        ..options()
    };
    dev.sync(&hq.client(small())).await.unwrap();
    for n in 0..12 {
        set_notes(&dev, wo.id, &format!("note {n}"));
    }
    let r = dev.sync(&hq.client(small())).await;
    assert!(r.is_ok(), "{r:?}");
    // Head office's next change still arrives.
    hq.cancel(wo.id).await;
    dev.sync(&hq.client(small())).await.unwrap();
    assert_eq!(dev.status(wo.id), Cancelled);
}

// ---------------------------------------------------------------------------------------
// Hole 3: refusals whose cause can go away.

async fn refused(hq: &Hq, include_resolved: bool) -> Vec<onsite_api::RefusedOp> {
    let path = format!(
        "{}?include_resolved={include_resolved}",
        onsite_api::routes::ADMIN_REFUSED_OPS
    );
    hq.admin_ok::<(), _>(reqwest::Method::GET, &path, None)
        .await
}

#[tokio::test]
async fn refused_records_are_kept_whole_at_head_office_and_taken_once_the_cause_is_fixed() {
    use onsite_hq::storage::Storage;
    let hq = start().await;
    let tech = hq.technician("Tech").await;
    let dev = device_for(&hq, tech).await;
    dev.sync(&hq.client(options())).await.unwrap();
    let (hq, backup) = backup_of(hq).await;
    let lost = hq.work_order("WO-LOST", Some(tech)).await;
    dev.sync(&hq.client(options())).await.unwrap();
    dev.change_status(lost.id, EnRoute);
    set_notes(&dev, lost.id, "dog in the garden");
    dev.sync(&hq.client(options())).await.unwrap();

    // Head office loses the job in a restore: both records come back refused
    // (unknown_work_order), and head office keeps them whole.
    let hq = restore_without_flag(hq, &backup).await;
    dev.sync(&hq.client(options())).await.unwrap();
    let on_device = dev.with(|s| store_sync::rejected_view(s.conn()).unwrap());
    assert_eq!(on_device.len(), 2, "{on_device:?}");
    assert!(dev.with(|s| store_sync::day_end(s.conn()).unwrap().anything_unsent()));
    let kept = refused(&hq, false).await;
    assert_eq!(kept.len(), 2);
    assert!(kept
        .iter()
        .all(|r| r.code == onsite_api::RejectCode::UnknownWorkOrder && r.entity_id == lost.id));
    let notes = kept.iter().find(|r| r.kind == "edit_notes").unwrap();
    assert_eq!(
        notes.payload["notes"], "dog in the garden",
        "the whole op is kept"
    );

    // The office re-enters the job (same id) and applies the status change itself.
    hq.storage
        .create_work_order(lost.id, &new_work_order("WO-LOST", Some(tech)), Utc::now())
        .unwrap();
    let status = kept.iter().find(|r| r.kind == "change_status").unwrap();
    let path = onsite_api::routes::ADMIN_REFUSED_OP_APPLY
        .replace("{device_id}", &status.device_id.to_string())
        .replace("{op_id}", &status.op_id.to_string());
    let result: onsite_api::OpResult = hq
        .admin_ok::<(), _>(reqwest::Method::POST, &path, None)
        .await;
    assert!(matches!(
        result.outcome,
        onsite_api::OpOutcome::Applied { .. }
    ));

    // The job comes back to the device, which sends both again: one is already taken
    // (the office's), the other is taken now. Each fact once.
    let r = dev.sync(&hq.client(options())).await.unwrap();
    assert_eq!(r.ops_applied, 2, "{r:?}");
    assert!(dev
        .with(|s| store_sync::rejected_view(s.conn()).unwrap())
        .is_empty());
    assert!(!dev.with(|s| store_sync::day_end(s.conn()).unwrap().anything_unsent()));
    assert_eq!(fact_ids(&hq, lost.id).await.len(), 2);
    assert_eq!(hq.detail(lost.id).await.work_order.status, EnRoute);
    assert!(refused(&hq, false).await.is_empty());
    let mut how: Vec<String> = refused(&hq, true)
        .await
        .into_iter()
        .filter_map(|r| r.resolution)
        .collect();
    how.sort();
    assert_eq!(how, ["applied_by_office", "applied_on_resend"]);
}

// ---------------------------------------------------------------------------------------
// Hole 9: one record that cannot be sent stops only its own job; the technician resolves
// it in the app; a proxy's 413 splits the push.

#[tokio::test]
async fn a_damaged_signature_stops_only_its_job_and_can_be_sent_without_the_file() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let a = hq.work_order("WO-A", Some(dev.technician_id)).await;
    let b = hq.work_order("WO-B", Some(dev.technician_id)).await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    // On job A a signature whose bytes were damaged on this device, then more work on A;
    // on job B ordinary work after it.
    let what_was_signed = onsite_sync::sha256_hex(b"the customer's strokes");
    dev.with(|s| {
        s.write(|tx| store_sync::put_blob(tx, &what_was_signed, b"disk rot", Utc::now()))
            .unwrap()
    });
    let signature = append(
        &dev,
        "AttachSignature",
        a.id,
        serde_json::json!({"blob_sha256": what_was_signed, "signer": "customer"}),
    );
    dev.change_status(a.id, EnRoute);
    dev.change_status(b.id, EnRoute);
    set_notes(&dev, b.id, "parking at the back");

    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.ops_applied, 2, "job B's records still go: {r:?}");
    assert_eq!(r.blocked_jobs.len(), 1, "{r:?}");
    assert!(r.blocked_jobs[0].why.contains("damaged"));
    assert_eq!(fact_ids(&hq, b.id).await.len(), 2);
    assert!(fact_ids(&hq, a.id).await.is_empty());
    // The sync screen says exactly what waits and why.
    let pending = dev.pending();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].op_id, signature);
    assert_eq!(pending[0].waiting.as_deref(), Some("file_damaged"));
    assert_eq!(pending[1].waiting.as_deref(), Some("behind"));

    // The technician sends it without the file, saying why.
    let refused = dev.with(|s| s.write(|tx| store_sync::send_without_file(tx, &signature, " ")));
    assert!(refused.is_err(), "a reason is required");
    dev.with(|s| {
        s.write(|tx| {
            store_sync::send_without_file(tx, &signature, "tablet storage failed; signed on paper")
        })
        .unwrap()
    });
    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.ops_applied, 2, "{r:?}");
    assert!(r.blocked.is_none() && dev.pending().is_empty());
    let detail = hq.detail(a.id).await;
    assert_eq!(detail.facts.len(), 2);
    let sig = detail
        .facts
        .iter()
        .find(|f| f.kind == onsite_api::OpKind::AttachSignature)
        .unwrap();
    assert_eq!(
        sig.file_missing.as_deref(),
        Some("tablet storage failed; signed on paper")
    );
    assert!(detail
        .review_flags
        .iter()
        .any(|f| f.reason == onsite_api::ReviewReason::FileMissing));
    assert_eq!(detail.work_order.status, EnRoute);
}

#[tokio::test]
async fn a_proxys_413_splits_the_push_instead_of_stopping_it() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    dev.sync(&hq.client(options())).await.unwrap();
    for n in 0..6 {
        set_notes(&dev, wo.id, &format!("note {n}"));
    }
    let fwd = Forwarder::start(&hq).await;
    fwd.arm(
        onsite_api::routes::SYNC_PUSH,
        HttpFault::Reply {
            status: 413,
            body: b"<html>413 Request Entity Too Large</html>".to_vec(),
            retry_after: None,
        },
    );
    let r = dev.sync(&hq.client_to(fwd.addr, options())).await.unwrap();
    assert_eq!(r.ops_applied, 6, "{r:?}");
    assert!(r.push_requests >= 3, "{r:?}");
    assert!(dev.pending().is_empty());
    assert_eq!(fact_ids(&hq, wo.id).await.len(), 6);
}

// ---------------------------------------------------------------------------------------
// Hole 4: protocol versions.

#[tokio::test]
async fn a_record_an_older_head_office_cannot_take_is_held_not_refused_then_sent_after_its_upgrade()
{
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    dev.sync(&hq.client(options())).await.unwrap();
    // A record sent without its file needs a head office that takes that; one of the first
    // release (no hello: 404) does not.
    let sha = onsite_sync::sha256_hex(b"lost");
    let sig = append(
        &dev,
        "AttachSignature",
        wo.id,
        serde_json::json!({"blob_sha256": sha, "signer": "customer"}),
    );
    dev.with(|s| {
        s.write(|tx| store_sync::send_without_file(tx, &sig, "lost with the old tablet"))
            .unwrap()
    });
    dev.change_status(wo.id, EnRoute);
    let fwd = Forwarder::start(&hq).await;
    let old_hello = || HttpFault::Reply {
        status: 404,
        body: br#"{"code":"no_route","message":"no such route"}"#.to_vec(),
        retry_after: None,
    };
    fwd.arm(onsite_api::routes::SYNC_HELLO, old_hello());
    let r = dev.sync(&hq.client_to(fwd.addr, options())).await.unwrap();
    assert_eq!((r.ops_applied, r.ops_rejected), (1, 0), "{r:?}");
    assert_eq!(r.held.len(), 1, "{r:?}");
    let pending = dev.pending();
    assert_eq!(pending.len(), 1);
    assert!(pending[0].held, "{pending:?}");
    assert_eq!(pending[0].waiting.as_deref(), Some("held"));
    // Head office is upgraded: the held record goes.
    let r = dev.sync(&hq.client(options())).await.unwrap();
    assert_eq!(r.ops_applied, 1, "{r:?}");
    assert!(r.held.is_empty() && dev.pending().is_empty());
    assert_eq!(fact_ids(&hq, wo.id).await.len(), 2);
}

// ---------------------------------------------------------------------------------------
// Hole 11: head office's certificate is pinned at enrolment.

#[tokio::test]
async fn another_certificate_than_the_one_pinned_at_enrolment_is_refused_before_anything_is_sent() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    let pinned = dev
        .with(|s| store_sync::state(s.conn()).unwrap().unwrap().cert_pin)
        .expect("the certificate seen at enrolment is pinned");
    let client = || onsite_sync::engine::client_for(&dev.store, options()).unwrap();
    dev.sync(&client()).await.unwrap();
    assert_eq!(
        client().certificate_fingerprint(),
        None,
        "not connected yet"
    );

    // Head office's address now answers with another certificate from the same CA (an
    // impostor with a certificate it should not have, or an unannounced renewal).
    let (dir, pki, tmp) = hq.stop().await;
    let other = start_in(&dir, std::sync::Arc::new(pki.with_other_certificate()), tmp).await;
    dev.with(|s| {
        s.write(|tx| {
            tx.execute("UPDATE sync_state SET server_url = ?1", [&other.base])?;
            Ok(())
        })
        .unwrap()
    });
    dev.change_status(wo.id, EnRoute);
    let err = dev.sync(&client()).await.unwrap_err();
    assert!(
        err.to_string().contains(onsite_sync::pin::PIN_MISMATCH),
        "{err}"
    );
    assert_eq!(dev.pending().len(), 1, "nothing was sent");
    assert!(other.detail(wo.id).await.facts.is_empty());
    // The certificate is otherwise valid: an unpinned client would have taken it.
    let unpinned = other.client(options());
    assert!(unpinned.hello("no-token", None).await.is_err());
    assert_ne!(unpinned.certificate_fingerprint(), Some(pinned.clone()));
    assert!(unpinned.certificate_fingerprint().is_some());
}

// ---------------------------------------------------------------------------------------
// Hole 10: two devices of one technician share one van.

#[tokio::test]
async fn a_part_taken_on_one_device_leaves_the_van_on_the_technicians_other_device_once() {
    use onsite_api::{routes, NewPartsIssue, PartsIssue, PartsIssueLine};
    use onsite_hq::storage::Storage;
    let hq = start().await;
    let tech = hq.technician("Tech").await;
    let a = device_for(&hq, tech).await;
    let b = device_for(&hq, tech).await;
    let wo = hq.work_order("WO-1", Some(tech)).await;
    let _: onsite_api::PartsCatalogue = hq
        .admin_ok(
            reqwest::Method::PUT,
            routes::ADMIN_PARTS_CATALOGUE,
            Some(&onsite_hq::demo::parts_catalogue()),
        )
        .await;
    let issue = NewPartsIssue {
        lines: vec![PartsIssueLine {
            part_no: "F-PP-10".into(),
            quantity: 6,
        }],
        note: None,
        work_order_id: None,
    };
    let path = routes::ADMIN_PARTS_ISSUES.replace("{id}", &tech.to_string());
    let _: PartsIssue = hq
        .admin_ok(reqwest::Method::POST, &path, Some(&issue))
        .await;
    let stock = |d: &Device| {
        d.with(|s| onsite_store::visit::van_stock(s.conn()).unwrap())
            .into_iter()
            .find(|i| i.part_no == "F-PP-10")
            .map(|i| i.quantity)
    };
    a.sync(&hq.client(options())).await.unwrap();
    b.sync(&hq.client(options())).await.unwrap();
    assert_eq!((stock(&a), stock(&b)), (Some(6), Some(6)));

    // Device A fits two filters on the job (as the visit's take_part records it).
    append(
        &a,
        onsite_store::outbox::kind::CONSUME_PART,
        wo.id,
        serde_json::json!({"work_order_id": wo.id, "part_use_id": Uuid::now_v7(),
            "part_id": "hq-part-F-PP-10", "part_no": "F-PP-10", "quote_id": Uuid::now_v7(),
            "quantity": 2, "serial_fitted": null, "serial_removed": null,
            "override_reason": null, "stock_after": 4, "at": Utc::now()}),
    );
    a.sync(&hq.client(options())).await.unwrap();
    b.sync(&hq.client(options())).await.unwrap();
    assert_eq!(stock(&b), Some(4), "the van on B follows A's use");
    // And B's job shows what A recorded on it, so that it is not done twice.
    let shown = b.with(|s| {
        workorders::detail(s.conn(), &wo.id.to_string(), &day())
            .unwrap()
            .other_device
    });
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].kind, "ConsumePart");
    assert_eq!(shown[0].detail.as_deref(), Some("F-PP-10 × 2"));
    // Again, and after a refetch (head office sends every fact again): still once.
    b.sync(&hq.client(options())).await.unwrap();
    hq.storage.rotate_epoch().unwrap();
    let r = b.sync(&hq.client(options())).await.unwrap();
    assert!(r.refetched);
    assert_eq!(stock(&b), Some(4));
    assert_eq!(b.outbox_count(), 0, "mirroring writes nothing to send");

    // A stock-take on A (one filter fewer than the ledger said) reaches B's van too.
    append(
        &a,
        onsite_store::outbox::kind::STOCK_TAKE,
        Uuid::now_v7(),
        serde_json::json!({"stock_take_id": Uuid::now_v7(), "at": Utc::now(),
            "lines": [{"part_id": "hq-part-F-PP-10", "part_no": "F-PP-10",
                       "expected": 4, "counted": 3, "difference": -1}]}),
    );
    a.sync(&hq.client(options())).await.unwrap();
    b.sync(&hq.client(options())).await.unwrap();
    assert_eq!(stock(&b), Some(3), "B's van follows A's count");
}

// ---------------------------------------------------------------------------------------
// Hole 13: what no restore can lose is forgotten; what one can lose is still re-sent.

#[tokio::test]
async fn records_behind_the_restore_horizon_are_forgotten_and_a_later_restore_still_loses_nothing()
{
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    let keep_none = onsite_sync::SyncConfig {
        keep_acknowledged: Some(chrono::Duration::zero()),
        ..Default::default()
    };
    let sync = |hq: &Hq| {
        let client = hq.client(options());
        let store = dev.store.clone();
        let config = keep_none.clone();
        async move { onsite_sync::sync_once_with(&store, &client, &config).await }
    };
    sync(&hq).await.unwrap();
    dev.change_status(wo.id, EnRoute);
    dev.change_status(wo.id, OnSite);
    sync(&hq).await.unwrap();
    assert_eq!(dev.outbox_count(), 2);

    // The operator keeps backups from now on, and says so: both records are behind it.
    let (hq, backup) = backup_of(hq).await;
    let declared: onsite_api::RestoreHorizon = hq
        .admin_ok(
            reqwest::Method::PUT,
            onsite_api::routes::ADMIN_RESTORE_HORIZON,
            Some(&onsite_api::RestoreHorizonRequest {
                oldest_backup_at: Utc::now(),
            }),
        )
        .await;
    assert!(declared.checkpoint.is_some());
    assert!(declared.forgotten_results >= 2, "{declared:?}");
    // A horizon never moves back.
    let (status, _) = hq
        .admin_raw_put(
            onsite_api::routes::ADMIN_RESTORE_HORIZON,
            &onsite_api::RestoreHorizonRequest {
                oldest_backup_at: Utc::now() - chrono::Duration::days(1),
            },
        )
        .await;
    assert_eq!(status, 400);

    set_notes(&dev, wo.id, "after the horizon");
    let r = sync(&hq).await.unwrap();
    assert_eq!(r.forgotten, 2, "{r:?}");
    assert_eq!(dev.outbox_count(), 1, "the record after the horizon stays");

    // Head office is restored from the backup (taken before the notes, after the two
    // forgotten records): the notes are sent again, the forgotten ones were in it.
    let hq = restore_without_flag(hq, &backup).await;
    let r = sync(&hq).await.unwrap();
    assert!(r.refetched, "{r:?}");
    assert_eq!(fact_ids(&hq, wo.id).await.len(), 3);
    assert_eq!(hq.detail(wo.id).await.work_order.status, OnSite);
}

// Found by the torture test (seed 10): the device pushed new records before it pulled, so
// the restored head office gave them the lost sequence numbers and the pull saw nothing
// wrong; the lost records were never sent again, and older status changes would have
// gone after newer ones.
#[tokio::test]
async fn a_restore_is_noticed_before_anything_new_is_pushed() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-1", Some(dev.technician_id)).await;
    dev.sync(&hq.client(options())).await.unwrap();
    let (hq, backup) = backup_of(hq).await;
    dev.change_status(wo.id, EnRoute);
    set_notes(&dev, wo.id, "one");
    dev.sync(&hq.client(options())).await.unwrap();
    let hq = restore_without_flag(hq, &backup).await;
    // New work, recorded before the device hears of the restore.
    dev.change_status(wo.id, OnSite);
    dev.change_status(wo.id, InProgress);
    set_notes(&dev, wo.id, "two");
    let r = dev.sync(&hq.client(options())).await.unwrap();
    assert!(r.refetched, "{r:?}");
    assert_eq!(fact_ids(&hq, wo.id).await.len(), 5);
    let detail = hq.detail(wo.id).await;
    assert_eq!(
        detail.work_order.status, InProgress,
        "in the order recorded"
    );
    assert!(detail.review_flags.is_empty(), "{:?}", detail.review_flags);
    assert_eq!(dev.status(wo.id), InProgress);
}
