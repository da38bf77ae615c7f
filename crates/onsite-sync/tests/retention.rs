//! Retention (issue 11) across the wire: head office's setting reaches the device in the
//! hello, and a sweep after a sync removes an old acknowledged job from the device while
//! head office keeps its history.

mod common;

use chrono::{Duration, Utc};
use common::*;
use onsite_domain::WorkOrderStatus::*;
use onsite_store::{retention, workorders};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn head_offices_retention_reaches_the_device_and_an_old_acknowledged_job_leaves_it_only() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let client = hq.client(options());
    dev.sync(&client).await.unwrap();
    assert_eq!(
        dev.with(|s| retention::days(s.conn()).unwrap()),
        retention::DEFAULT_DAYS,
        "head office's default"
    );
    let set: onsite_api::RetentionSetting = hq
        .admin_ok(
            Method::PUT,
            onsite_api::routes::ADMIN_SETTINGS_RETENTION,
            Some(&onsite_api::RetentionSetting { days: 30 }),
        )
        .await;
    assert_eq!(set.days, 30);

    let done = hq.work_order("WO-RET-DONE", Some(dev.technician_id)).await;
    let open = hq.work_order("WO-RET-OPEN", Some(dev.technician_id)).await;
    dev.sync(&client).await.unwrap();
    assert_eq!(
        dev.with(|s| retention::days(s.conn()).unwrap()),
        30,
        "told in the hello"
    );

    let blobs = tempfile::tempdir().unwrap();
    let png =
        onsite_store::documents::put_blob(&common::sealed(blobs.path()), b"\x89PNG retention")
            .unwrap();
    let id = done.id.to_string();
    for to in [EnRoute, OnSite] {
        dev.change_status(done.id, to);
    }
    dev.with(|s| {
        s.write(|tx| {
            onsite_store::documents::sign(
                tx,
                &onsite_store::documents::NewSignature {
                    work_order_id: &id,
                    signer_name: "王伟",
                    strokes: &json!([{"points": [{"x": 1, "y": 2}]}]),
                    png_sha256: &png,
                },
                Utc::now(),
            )?;
            workorders::change_status(tx, &id, Completed, None, Utc::now())
        })
        .unwrap()
    });
    let config = onsite_sync::SyncConfig {
        blobs: Some(common::sealed(blobs.path())),
        // Records behind the restore horizon are forgotten at once (no support grace).
        keep_acknowledged: Some(chrono::Duration::zero()),
        ..Default::default()
    };
    // Before it is acknowledged, no sweep removes it, however late.
    let far = Utc::now() + Duration::days(31);
    let before = dev.with(|s| s.write(|tx| retention::sweep(tx, 30, far)).unwrap());
    assert_eq!(before.jobs, 0, "its records are not at head office yet");

    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert_eq!(r.ops_rejected, 0, "{r:?}");
    assert!(dev.pending().is_empty());

    // Acknowledged, but head office could still be restored from a backup without them:
    // no sweep removes the job, however late.
    let acked = dev.with(|s| s.write(|tx| retention::sweep(tx, 30, far)).unwrap());
    assert_eq!(
        acked.jobs, 0,
        "its records are not behind the restore horizon"
    );
    // The office declares its oldest backup: the next sync forgets the records behind it.
    let _: onsite_api::RestoreHorizon = hq
        .admin_ok(
            Method::PUT,
            onsite_api::routes::ADMIN_RESTORE_HORIZON,
            Some(&onsite_api::RestoreHorizonRequest {
                oldest_backup_at: Utc::now(),
            }),
        )
        .await;
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert!(r.forgotten >= 4, "{r:?}");

    // 29 days on: it stays. 31 days on: it goes, with its signature file.
    let days = dev.with(|s| retention::days(s.conn()).unwrap());
    let soon = Utc::now() + Duration::days(29);
    let kept = dev.with(|s| s.write(|tx| retention::sweep(tx, days, soon)).unwrap());
    assert_eq!(kept.jobs, 0);
    let report = dev.with(|s| s.write(|tx| retention::sweep(tx, days, far)).unwrap());
    assert_eq!((report.jobs, report.blobs.clone()), (1, vec![png.clone()]));
    assert_eq!(
        retention::remove_blob_files(&common::sealed(blobs.path()), &report.blobs),
        1
    );
    let ids = dev.work_order_ids();
    assert!(!ids.contains(&id), "removed from the device");
    assert!(ids.contains(&open.id.to_string()), "the open job stays");
    assert_eq!(dev.integrity(), "ok");

    // Head office still has it whole.
    let job = hq
        .export()
        .await
        .into_iter()
        .find(|j| j.work_order.id == done.id)
        .expect("head office's export still has the job");
    assert_eq!(job.work_order.status, Completed);
    assert!(job.blobs.contains(&png));
    assert_eq!(hq.blob(&png).await.0, 200);

    // The next sync does not bring it back nor send anything.
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    assert_eq!(r.ops_applied, 0, "{r:?}");
    assert!(!dev.work_order_ids().contains(&id));
}
