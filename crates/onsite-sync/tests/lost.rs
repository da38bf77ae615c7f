//! Lost device (issue 11) across the wire: the office marks a device lost; its next sync
//! sends what it holds unsent first, then erases its customer data and blob files, tells
//! head office (which revokes it), and a further sync is refused as revoked. A device not
//! marked lost is untouched.

mod common;

use chrono::Utc;
use common::*;
use onsite_domain::WorkOrderStatus::*;
use onsite_store::{documents, erase};
use reqwest::Method;
use serde_json::json;

fn count(dev: &Device, table: &str) -> i64 {
    dev.with(|s| {
        s.conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    })
}

fn blob_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

/// Signs a job on the device with `png` as the signature's file.
fn sign(dev: &Device, id: uuid::Uuid, png: &str) {
    let id = id.to_string();
    dev.with(|s| {
        s.write(|tx| {
            documents::sign(
                tx,
                &documents::NewSignature {
                    work_order_id: &id,
                    signer_name: "王伟",
                    strokes: &json!([{"points": [{"x": 1, "y": 2}]}]),
                    png_sha256: png,
                },
                Utc::now(),
            )
        })
        .unwrap()
    });
}

#[tokio::test]
async fn a_lost_device_sends_what_it_holds_then_erases_and_is_revoked() {
    let hq = start().await;
    let lost = device(&hq, "Tech Lost").await;
    let kept = device(&hq, "Tech Kept").await;
    let client = hq.client(options());
    let job = hq.work_order("WO-LOST-1", Some(lost.technician_id)).await;
    let stuck = hq.work_order("WO-LOST-2", Some(lost.technician_id)).await;
    let other = hq.work_order("WO-KEPT-1", Some(kept.technician_id)).await;
    lost.sync(&client).await.unwrap();
    kept.sync(&client).await.unwrap();

    // Unsent work on the lost device: status changes and a signature whose file is here,
    // and on another job a signature whose file is gone (it can never be sent).
    let blobs = tempfile::tempdir().unwrap();
    let png = documents::put_blob(&common::sealed(blobs.path()), b"\x89PNG lost device").unwrap();
    let gone = documents::put_blob(
        &common::sealed(blobs.path()),
        b"\x89PNG file that goes missing",
    )
    .unwrap();
    let _photo =
        documents::put_blob(&common::sealed(blobs.path()), b"a photo nothing sent yet").unwrap();
    for to in [EnRoute, OnSite] {
        lost.change_status(job.id, to);
    }
    sign(&lost, job.id, &png);
    sign(&lost, stuck.id, &gone);
    std::fs::remove_file(common::sealed(blobs.path()).path(&gone).unwrap()).unwrap();
    let unsent = lost.pending().len();
    assert!(unsent >= 4, "{unsent}");
    // The device that is not lost has work and a file too.
    let kept_blobs = tempfile::tempdir().unwrap();
    let kept_png =
        documents::put_blob(&common::sealed(kept_blobs.path()), b"\x89PNG kept device").unwrap();
    kept.change_status(other.id, EnRoute);
    sign(&kept, other.id, &kept_png);

    // The office marks the first device lost.
    let device_id = lost.with(|s| {
        onsite_store::sync::state(s.conn())
            .unwrap()
            .unwrap()
            .device_id
    });
    let marked: onsite_api::Device = hq
        .admin_ok::<(), _>(
            Method::POST,
            &onsite_api::routes::ADMIN_DEVICE_LOST.replace("{id}", &device_id),
            None,
        )
        .await;
    assert!(marked.lost_at.is_some());

    let config = onsite_sync::SyncConfig {
        blobs: Some(common::sealed(blobs.path())),
        ..Default::default()
    };
    let r = onsite_sync::sync_once_with(&lost.store, &client, &config)
        .await
        .unwrap();
    // What could go went first: head office has the status changes and the signature.
    assert!(r.ops_applied >= 3, "{r:?}");
    assert_eq!(r.pages_pulled, 0, "a lost device is sent nothing");
    let detail = hq.detail(job.id).await;
    assert_eq!(detail.work_order.status, OnSite);
    assert!(
        detail
            .facts
            .iter()
            .any(|f| f.kind == onsite_api::OpKind::AttachSignature),
        "the signature reached head office"
    );
    assert_eq!(hq.blob(&png).await.0, 200, "with its file");

    // Then the device erased its customer data and every blob file.
    let erased = r.erased.clone().expect("erased");
    assert_eq!(erased.work_orders, 2);
    assert!(erased.customers >= 1);
    assert_eq!(
        erased.unsent, 1,
        "the signature without its file: {erased:?}"
    );
    assert_eq!(erased.files, 2, "the signature and the photo");
    for table in [
        "work_order",
        "customer",
        "appliance",
        "signature",
        "outbox",
        "op_result",
        "pulled_work_order",
        "pulled_fact",
        "blob",
        "search_tri",
        "search_short",
        "draft",
    ] {
        assert_eq!(count(&lost, table), 0, "{table} emptied");
    }
    assert_eq!(blob_files(blobs.path()), 0, "no blob file left");
    // Nor does a copy of the database files hold the customer (deleted rows are scrubbed
    // from free pages and the write-ahead log).
    for suffix in ["", "-wal"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", lost.path.display()));
        let bytes = std::fs::read(&path).unwrap_or_default();
        for needle in ["WO-LOST-1", "139-1234-5678", "99 Hidden Street"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} still holds {needle}",
                path.display()
            );
        }
    }
    assert_eq!(lost.integrity(), "ok");
    // It says so, for the sync screen.
    let noted = lost.with(|s| erase::erased(s.conn()).unwrap()).unwrap();
    assert_eq!(noted, erased);
    assert!(lost.with(|s| erase::reported(s.conn()).unwrap()));
    // The app's views still work on an empty store.
    assert!(lost.today().is_empty());
    assert!(lost.pending().is_empty());

    // Head office recorded it and revoked the device.
    let devices: Vec<onsite_api::Device> = hq
        .admin_ok::<(), _>(Method::GET, onsite_api::routes::ADMIN_DEVICES, None)
        .await;
    let listed = devices
        .iter()
        .find(|d| d.id.to_string() == device_id)
        .unwrap();
    assert!(listed.revoked_at.is_some());
    assert_eq!(listed.erased.as_ref().unwrap().report, erased);
    // A further sync is refused as revoked: enrol again.
    let err = onsite_sync::sync_once_with(&lost.store, &client, &config)
        .await
        .unwrap_err();
    assert_eq!(err.failure(), onsite_sync::plan::Failure::NeedsEnrolment);
    assert!(err.to_string().contains("revoked"), "{err}");

    // The device that is not lost syncs on, untouched.
    let kept_config = onsite_sync::SyncConfig {
        blobs: Some(common::sealed(kept_blobs.path())),
        ..Default::default()
    };
    let r = onsite_sync::sync_once_with(&kept.store, &client, &kept_config)
        .await
        .unwrap();
    assert!(r.erased.is_none());
    assert!(r.ops_applied >= 2, "{r:?}");
    assert_eq!(kept.work_order_ids(), vec![other.id.to_string()]);
    assert!(count(&kept, "customer") >= 1);
    assert_eq!(blob_files(kept_blobs.path()), 1);
    assert!(kept.with(|s| erase::erased(s.conn()).unwrap()).is_none());
}

/// The erase report did not reach head office (the app stopped after the erase): the
/// device stays erased, removes any blob file left, and sends only the report at its next
/// sync; head office then revokes it.
#[tokio::test]
async fn an_erase_report_that_was_lost_is_sent_again() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let client = hq.client(options());
    hq.work_order("WO-LOST-3", Some(dev.technician_id)).await;
    dev.sync(&client).await.unwrap();
    // Erased here (as if the report's connection dropped after the erase).
    let report = dev.with(|s| s.write(|tx| erase::erase(tx, Utc::now())).unwrap());
    assert_eq!(report.work_orders, 1);
    let device_id = dev.with(|s| {
        onsite_store::sync::state(s.conn())
            .unwrap()
            .unwrap()
            .device_id
    });
    let _: onsite_api::Device = hq
        .admin_ok::<(), _>(
            Method::POST,
            &onsite_api::routes::ADMIN_DEVICE_LOST.replace("{id}", &device_id),
            None,
        )
        .await;
    // A blob file the crash left behind goes at the next run.
    let blobs = tempfile::tempdir().unwrap();
    documents::put_blob(&common::sealed(blobs.path()), b"left behind").unwrap();
    let config = onsite_sync::SyncConfig {
        blobs: Some(common::sealed(blobs.path())),
        ..Default::default()
    };
    let r = onsite_sync::sync_once_with(&dev.store, &client, &config)
        .await
        .unwrap();
    let sent = onsite_api::ErasedReport {
        files: 1,
        ..report.clone()
    };
    assert_eq!(r.erased, Some(sent.clone()));
    assert_eq!(r.push_requests, 0, "only the report goes");
    assert_eq!(blob_files(blobs.path()), 0);
    let devices: Vec<onsite_api::Device> = hq
        .admin_ok::<(), _>(Method::GET, onsite_api::routes::ADMIN_DEVICES, None)
        .await;
    assert_eq!(devices[0].erased.as_ref().unwrap().report, sent);
    let err = dev.sync(&client).await.unwrap_err();
    assert_eq!(err.failure(), onsite_sync::plan::Failure::NeedsEnrolment);

    // Found again, it is enrolled anew for the same technician: it fetches its jobs from
    // scratch and no longer says it was erased.
    let code = hq.code_for(dev.technician_id).await;
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
    assert!(dev.with(|s| erase::erased(s.conn()).unwrap()).is_none());
    dev.sync(&client).await.unwrap();
    assert_eq!(dev.work_order_ids().len(), 1, "refetched");
}
