//! The failures of DESIGN.md against a real server: interrupted pulls, resets and
//! truncation mid-body (TCP proxy), 500s, 503 with Retry-After, timeouts, hostile and
//! oversized replies (HTTPS forwarder), a server restored from an old backup with a new
//! epoch, and a local edit made during a sync. After each: integrity_check is ok, and a
//! later sync converges with nothing lost or duplicated.

mod common;

common::both_backends!(
    an_interrupted_pull_resumes_from_its_last_saved_page,
    resets_and_truncation_mid_body_never_corrupt_and_a_later_sync_converges,
    a_slow_server_times_out_then_converges,
    server_errors_are_transient_and_retry_after_sets_the_floor_of_the_backoff,
    hostile_malformed_and_oversized_replies_are_refused_without_harm,
    a_local_edit_made_during_a_sync_survives_and_goes_next_time,
);

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use onsite_api::routes;
use onsite_domain::WorkOrderStatus::*;
use onsite_store::sync as store_sync;
use onsite_sync::backoff::Backoff;
use onsite_sync::plan::Failure;
use onsite_sync::{ClientOptions, SyncError};
use uuid::Uuid;

/// Everything recorded here reached head office exactly once.
async fn assert_converged(hq: &Hq, dev: &Device, orders: &[Uuid]) {
    assert_eq!(dev.integrity(), "ok");
    assert!(dev.pending().is_empty(), "{:?}", dev.pending());
    assert_eq!(dev.applied_count(), dev.outbox_count());
    let local_ops: HashSet<String> = dev.with(|s| {
        let mut stmt = s.conn().prepare("SELECT op_id FROM outbox").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    });
    let mut server_ops = Vec::new();
    for id in orders {
        server_ops.extend(
            hq.detail(*id)
                .await
                .facts
                .into_iter()
                .map(|f| f.op_id.to_string()),
        );
    }
    let unique: HashSet<String> = server_ops.iter().cloned().collect();
    assert_eq!(unique.len(), server_ops.len(), "a fact is stored twice");
    assert_eq!(unique, local_ops);
    let mut ids: Vec<String> = orders.iter().map(|i| i.to_string()).collect();
    ids.sort();
    assert_eq!(dev.work_order_ids(), ids);
}

async fn an_interrupted_pull_resumes_from_its_last_saved_page() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let mut orders = Vec::new();
    for i in 0..5 {
        orders.push(
            hq.work_order(&format!("WO-{i}"), Some(dev.technician_id))
                .await
                .id,
        );
    }
    let fwd = Forwarder::start(&hq).await;
    let client = hq.client_to(
        fwd.addr,
        ClientOptions {
            pull_limit: 1,
            ..options()
        },
    );
    fwd.arm(routes::SYNC_PULL, HttpFault::Pass);
    fwd.arm(routes::SYNC_PULL, HttpFault::Pass);
    fwd.arm(
        routes::SYNC_PULL,
        HttpFault::Reply {
            status: 500,
            body: b"{}".to_vec(),
            retry_after: None,
        },
    );
    let err = dev.sync(&client).await.unwrap_err();
    assert_eq!(
        err.failure(),
        Failure::Transient { retry_after: None },
        "{err}"
    );
    // Two pages were saved, each with its cursor.
    assert_eq!(dev.work_order_ids().len(), 2);
    let st = dev.with(|s| store_sync::state(s.conn()).unwrap().unwrap());
    assert!(st.last_error.is_some() && st.last_success_at.is_none());
    assert_eq!(dev.integrity(), "ok");
    // The next run goes on from there, not from scratch.
    let r = dev.sync(&client).await.unwrap();
    assert_eq!(r.changes_applied, 3, "{r:?}");
    assert!(!r.refetched);
    assert_converged(&hq, &dev, &orders).await;
}

/// `len` CJK characters that vary (a linear congruential walk over the unified block):
/// text that compresses about as little as real notes do.
fn scrawl(seed: usize, len: usize) -> String {
    let mut x = seed as u64 * 2_654_435_761 + 1;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from_u32(0x4E00 + ((x >> 33) % 0x5000) as u32).unwrap_or('修')
        })
        .collect()
}

async fn resets_and_truncation_mid_body_never_corrupt_and_a_later_sync_converges() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let mut orders = Vec::new();
    for i in 0..3 {
        orders.push(
            hq.work_order(&format!("WO-{i}"), Some(dev.technician_id))
                .await
                .id,
        );
    }
    dev.sync(&hq.client(options())).await.unwrap();
    let proxy = TcpProxy::start(hq.addr).await;
    let mut failures = 0;
    // Cut points from inside the TLS handshake to deep inside a pull reply.
    for (i, cut) in [50, 700, 1_500, 2_500, 3_500, 5_000, 7_000, 10_000, 20_000]
        .into_iter()
        .enumerate()
    {
        set_notes(&dev, orders[i % 3], &format!("note {i}"));
        // Head office changes every job meanwhile, so that the pull reply is long enough
        // for the deep cuts to land inside it (a device's own facts are not echoed), even
        // compressed: the notes are varied text, not one character repeated.
        for o in &orders {
            let path = routes::ADMIN_WORK_ORDER.replace("{id}", &o.to_string());
            let _: onsite_api::WorkOrder = hq
                .admin_ok(
                    reqwest::Method::PATCH,
                    &path,
                    Some(&onsite_api::WorkOrderUpdate {
                        notes: Some(format!("office note {i} {}", scrawl(i, 2_000))),
                        ..Default::default()
                    }),
                )
                .await;
        }
        // A fresh client: its first connection gets the fault.
        let client = hq.client_to(proxy.addr, options());
        proxy.arm(&[TcpFault::CutAfter(cut)]);
        match dev.sync(&client).await {
            Ok(_) => {}
            Err(e) => {
                failures += 1;
                assert!(
                    matches!(e.failure(), Failure::Transient { .. }),
                    "{cut}: {e}"
                );
            }
        }
        assert_eq!(dev.integrity(), "ok", "after a cut at {cut}");
    }
    assert!(failures >= 5, "only {failures} cuts hurt");
    // A clean sync: everything arrives once.
    dev.sync(&hq.client(options())).await.unwrap();
    assert_converged(&hq, &dev, &orders).await;
}

async fn a_slow_server_times_out_then_converges() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-S", Some(dev.technician_id)).await;
    let proxy = TcpProxy::start(hq.addr).await;
    let impatient = ClientOptions {
        timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(300),
        ..options()
    };
    dev.sync(&hq.client_to(proxy.addr, options()))
        .await
        .unwrap();
    dev.change_status(wo.id, EnRoute);
    proxy.arm(&[TcpFault::Delay(Duration::from_millis(1_000))]);
    let err = dev
        .sync(&hq.client_to(proxy.addr, impatient))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Client(onsite_sync::ClientError::Timeout)),
        "{err}"
    );
    assert_eq!(dev.pending().len(), 1);
    assert_eq!(dev.integrity(), "ok");
    dev.sync(&hq.client_to(proxy.addr, options()))
        .await
        .unwrap();
    assert_converged(&hq, &dev, &[wo.id]).await;
}

async fn server_errors_are_transient_and_retry_after_sets_the_floor_of_the_backoff() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-E", Some(dev.technician_id)).await;
    let fwd = Forwarder::start(&hq).await;
    let client = hq.client_to(fwd.addr, options());
    dev.sync(&client).await.unwrap();
    dev.change_status(wo.id, EnRoute);

    fwd.arm(
        routes::SYNC_PUSH,
        HttpFault::Reply {
            status: 500,
            body: b"oops".to_vec(),
            retry_after: None,
        },
    );
    let err = dev.sync(&client).await.unwrap_err();
    assert_eq!(err.failure(), Failure::Transient { retry_after: None });
    assert_eq!(dev.pending().len(), 1);

    let busy = br#"{"code":"unavailable","message":"try later"}"#.to_vec();
    fwd.arm(
        routes::SYNC_PUSH,
        HttpFault::Reply {
            status: 503,
            body: busy,
            retry_after: Some(7),
        },
    );
    let err = dev.sync(&client).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(Backoff::default().delay(1, err.retry_after(), 0.0) >= Duration::from_secs(7));
    assert!(err.to_string().contains("unavailable"), "{err}");
    assert_eq!(dev.pending().len(), 1);
    assert_eq!(dev.integrity(), "ok");

    // A revoked or unknown token means: enrol again.
    fwd.arm(
        routes::SYNC_PUSH,
        HttpFault::Reply {
            status: 401,
            body: br#"{"code":"device_revoked","message":"x"}"#.to_vec(),
            retry_after: None,
        },
    );
    assert_eq!(
        dev.sync(&client).await.unwrap_err().failure(),
        Failure::NeedsEnrolment
    );

    dev.sync(&client).await.unwrap();
    assert_converged(&hq, &dev, &[wo.id]).await;
}

async fn hostile_malformed_and_oversized_replies_are_refused_without_harm() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-H", Some(dev.technician_id)).await;
    let fwd = Forwarder::start(&hq).await;
    let small = ClientOptions {
        max_reply_bytes: 64 * 1024,
        ..options()
    };
    let client = hq.client_to(fwd.addr, small);
    dev.sync(&client).await.unwrap();
    let cursor = || dev.with(|s| store_sync::state(s.conn()).unwrap().unwrap().cursor);
    let before = cursor();
    dev.change_status(wo.id, EnRoute);

    let deep = "[".repeat(100_000);
    let other_epoch =
        br#"{"epoch":"e","reset":false,"changes":[],"cursor":"other:5","has_more":false}"#;
    let bad_order = r#"{"epoch":"e","reset":false,"changes":[
        {"seq":5,"item":{"type":"work_order_removed","data":{"id":"00000000-0000-0000-0000-000000000001"}}},
        {"seq":4,"item":{"type":"work_order_removed","data":{"id":"00000000-0000-0000-0000-000000000001"}}}],
        "cursor":"e:5","has_more":false}"#;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("oversized", vec![b' '; 200_000]),
        ("not json", b"<html>hello</html>".to_vec()),
        ("deeply nested", deep.into_bytes()),
        ("wrong shape", br#"{"epoch": 5}"#.to_vec()),
        ("cursor of another epoch", other_epoch.to_vec()),
        ("changes out of order", bad_order.as_bytes().to_vec()),
    ];
    for (name, body) in cases {
        fwd.arm(routes::SYNC_PULL, HttpFault::ReplaceBody(body));
        let err = dev.sync(&client).await.expect_err(name);
        assert!(
            matches!(err.failure(), Failure::Transient { .. }),
            "{name}: {err}"
        );
        assert_eq!(cursor(), before, "{name}");
        assert_eq!(dev.integrity(), "ok", "{name}");
    }
    // The push went through on the first of those runs.
    assert!(dev.pending().is_empty());

    // A push reply that does not match the ops sent: nothing recorded, later replayed.
    dev.change_status(wo.id, OnSite);
    let liar = format!(
        r#"{{"epoch":"e","results":[{{"op_id":"{}","duplicate":false,"outcome":{{"status":"applied","server_seq":1,"flagged_for_review":false}}}}]}}"#,
        Uuid::now_v7()
    );
    fwd.arm(routes::SYNC_PUSH, HttpFault::ReplaceBody(liar.into_bytes()));
    let err = dev.sync(&client).await.unwrap_err();
    assert!(matches!(err, SyncError::Protocol(_)), "{err}");
    assert_eq!(dev.pending().len(), 1);
    // A pulled work order with an impossible schedule: the whole page is refused.
    let mut w = hq.detail(wo.id).await.work_order;
    w.appointment_end = w.appointment_start - chrono::Duration::hours(1);
    let page = onsite_api::PullReply {
        epoch: "e".into(),
        reset: false,
        changes: vec![onsite_api::Change {
            seq: 1,
            item: onsite_api::ChangeItem::WorkOrder(Box::new(w)),
        }],
        cursor: "e:1".into(),
        has_more: false,
        checkpoint: None,
    };
    fwd.arm(
        routes::SYNC_PULL,
        HttpFault::ReplaceBody(serde_json::to_vec(&page).unwrap()),
    );
    let err = dev.sync(&client).await.unwrap_err();
    assert!(matches!(err, SyncError::Store(_)), "{err}");
    assert_eq!(cursor(), before);

    // That run replayed the op first: head office had applied it (a duplicate).
    assert!(dev.pending().is_empty());
    dev.sync(&client).await.unwrap();
    assert_converged(&hq, &dev, &[wo.id]).await;
    assert_eq!(hq.detail(wo.id).await.work_order.status, OnSite);
}

async fn a_local_edit_made_during_a_sync_survives_and_goes_next_time() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let wo = hq.work_order("WO-L", Some(dev.technician_id)).await;
    let fwd = Forwarder::start(&hq).await;
    let client = hq.client_to(fwd.addr, options());
    dev.sync(&client).await.unwrap();
    dev.change_status(wo.id, EnRoute);

    let (arrived_tx, arrived) = tokio::sync::oneshot::channel();
    let go = Arc::new(tokio::sync::Notify::new());
    fwd.arm(
        routes::SYNC_PULL,
        HttpFault::Gate {
            arrived: arrived_tx,
            go: go.clone(),
        },
    );
    let store = dev.store.clone();
    let c = client.clone();
    let run = tokio::spawn(async move { onsite_sync::sync_once(&store, &c).await });
    // The push is done and the pull is on the wire: the technician moves on meanwhile.
    arrived.await.unwrap();
    dev.change_status(wo.id, OnSite);
    go.notify_one();
    let r = run.await.unwrap().unwrap();
    assert_eq!(r.ops_applied, 1);
    // The pulled order (en route at head office) did not overwrite the pending change.
    assert_eq!(dev.status(wo.id), OnSite);
    assert_eq!(dev.pending().len(), 1);
    dev.sync(&client).await.unwrap();
    assert_eq!(hq.detail(wo.id).await.work_order.status, OnSite);
    assert_eq!(dev.status(wo.id), OnSite);
    assert_converged(&hq, &dev, &[wo.id]).await;
}

// SQLite only: it restores head office from a copy of its SQLite file (PostgreSQL restores
// are tested in onsite-hq's tests/postgres.rs, pg_dump and point-in-time recovery).
#[tokio::test]
async fn a_server_restored_from_an_old_backup_gets_everything_again_once() {
    let hq = start().await;
    let dev = device(&hq, "Tech").await;
    let tech = dev.technician_id;
    let wo = hq.work_order("WO-1", Some(tech)).await;
    dev.sync(&hq.client(options())).await.unwrap();
    dev.change_status(wo.id, EnRoute);
    dev.change_status(wo.id, OnSite);
    dev.sync(&hq.client(options())).await.unwrap();

    // Head office takes a backup, then life goes on.
    let (dir, pki, tmp) = hq.stop().await;
    let backup = tempfile::tempdir().unwrap();
    Hq::backup(&dir, backup.path());
    let hq = start_in(&dir, pki.clone(), tmp).await;
    let later = hq.work_order("WO-2", Some(tech)).await; // not in the backup
    let worked = hq.work_order("WO-3", Some(tech)).await; // not in the backup
    dev.sync(&hq.client(options())).await.unwrap();
    dev.change_status(wo.id, InProgress);
    set_notes(&dev, worked.id, "started here");
    dev.sync(&hq.client(options())).await.unwrap();
    assert!(dev.pending().is_empty());
    let _ = hq.stop().await;

    // Disaster: head office is restored from the backup and starts a new epoch.
    let restored = start_in(backup.path(), pki, None).await;
    restored.rotate_epoch().await;
    let r = dev.sync(&restored.client(options())).await.unwrap();
    assert!(r.refetched, "{r:?}");
    assert_eq!(r.requeued, 4, "{r:?}");
    // The two ops the backup had come back as duplicates; the lost ones are applied again.
    assert_eq!(r.ops_duplicate, 2, "{r:?}");
    let detail = restored.detail(wo.id).await;
    assert_eq!(detail.facts.len(), 3);
    assert_eq!(detail.work_order.status, InProgress);
    // The notes on a job the restored server never heard of: rejected, kept, flagged.
    let rejected = dev.with(|s| store_sync::rejected_view(s.conn()).unwrap());
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].work_order_id, worked.id.to_string());
    let ids: HashSet<String> = dev.work_order_ids().into_iter().collect();
    assert!(
        !ids.contains(&later.id.to_string()),
        "a job gone from head office, untouched here"
    );
    assert!(
        ids.contains(&worked.id.to_string()),
        "a job worked on here is kept"
    );
    let flags = dev.with(|s| store_sync::review_flags(s.conn()).unwrap());
    assert!(flags
        .iter()
        .any(|f| f.work_order_id == worked.id.to_string()
            && f.reason == onsite_sync::plan::reason::GONE_AFTER_RESTORE));
    assert_eq!(dev.integrity(), "ok");
    // And the next sync is quiet.
    let r = dev.sync(&restored.client(options())).await.unwrap();
    assert_eq!(
        (r.ops_applied, r.requeued, r.refetched),
        (0, 0, false),
        "{r:?}"
    );
}
