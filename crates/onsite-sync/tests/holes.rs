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

fn set_notes(dev: &Device, id: Uuid, text: &str) {
    dev.with(|s| {
        s.write(|tx| workorders::set_notes(tx, &id.to_string(), text, Utc::now()))
            .unwrap()
    });
}

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
    hq.admin::<(), _>(reqwest::Method::GET, &path, None).await
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
    let result: onsite_api::OpResult = hq.admin::<(), _>(reqwest::Method::POST, &path, None).await;
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
