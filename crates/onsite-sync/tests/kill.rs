//! kill -9 of a sync process (the `onsite-sync-once` binary) in the middle of a push
//! (head office applied the ops, the device never heard back) and of a pull (between
//! pages), then a restart: integrity_check is ok and device and head office converge.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use chrono::Utc;
use common::*;
use onsite_api::routes;
use onsite_domain::WorkOrderStatus;
use onsite_store::{sync as store_sync, workorders, Store};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_onsite-sync-once");

fn spawn(db: &Path, url: &str, pull_limit: u32) -> Child {
    Command::new(BIN)
        .arg(db)
        .arg(url)
        .arg(pull_limit.to_string())
        .env("ONSITE_DATA_KEY", hex::encode(common::KEY))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs the binary to its end without blocking the runtime that serves it.
async fn run_to_end(db: &Path, url: &str, pull_limit: u32) -> bool {
    let mut child = spawn(db, url, pull_limit);
    tokio::task::spawn_blocking(move || child.wait().unwrap().success())
        .await
        .unwrap()
}

fn with_store<T>(db: &Path, f: impl FnOnce(&mut Store) -> T) -> T {
    // Opened and closed each time: the child needs the file's lock.
    let mut s = Store::open(db, &common::key()).unwrap();
    f(&mut s)
}

fn integrity(db: &Path) -> String {
    with_store(db, |s| {
        s.conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_of_push_and_of_pull_then_restart_converges() {
    let hq = start().await;
    let tech = hq.technician("Tech").await;
    let mut orders = Vec::new();
    for i in 0..4 {
        orders.push(hq.work_order(&format!("WO-{i}"), Some(tech)).await.id);
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onsite.db");
    {
        let store = Mutex::new(Store::open(&db, &common::key()).unwrap());
        let code = hq.code_for(tech).await;
        onsite_sync::enroll(
            &store,
            &hq.base,
            &code,
            "van",
            Some(&hq.pki.ca_pem),
            options(),
        )
        .await
        .unwrap();
    }
    let fwd = Forwarder::start(&hq).await;
    let url = format!("https://127.0.0.1:{}", fwd.addr.port());

    // 1. Killed in the middle of the first pull (after two pages were saved).
    let (arrived, held) = tokio::sync::oneshot::channel();
    fwd.arm(routes::SYNC_PULL, HttpFault::Pass);
    fwd.arm(routes::SYNC_PULL, HttpFault::Pass);
    fwd.arm(routes::SYNC_PULL, HttpFault::HoldReply { arrived });
    let mut child = spawn(&db, &url, 1);
    held.await.unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(integrity(&db), "ok");
    let pulled = with_store(&db, |s| {
        s.conn()
            .query_row("SELECT count(*) FROM work_order", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
    });
    assert_eq!(pulled, 2);

    // 2. Restart: the pull resumes and completes.
    assert!(run_to_end(&db, &url, 1).await);
    assert_eq!(integrity(&db), "ok");

    // 3. The technician works; killed after head office applied the push, before the
    // device stored the results.
    with_store(&db, |s| {
        s.write(|tx| {
            for id in &orders {
                workorders::change_status(
                    tx,
                    &id.to_string(),
                    WorkOrderStatus::EnRoute,
                    None,
                    Utc::now(),
                )?;
            }
            Ok(())
        })
        .unwrap()
    });
    let (arrived, held) = tokio::sync::oneshot::channel();
    fwd.arm(routes::SYNC_PUSH, HttpFault::HoldReply { arrived });
    let mut child = spawn(&db, &url, 100);
    held.await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(integrity(&db), "ok");
    let pending = with_store(&db, |s| store_sync::pending_view(s.conn()).unwrap().len());
    assert_eq!(pending, 4, "the results never arrived: still pending here");
    for id in &orders {
        assert_eq!(
            hq.detail(*id).await.facts.len(),
            1,
            "applied at head office"
        );
    }

    // 4. Restart: the replay is recognised, nothing is applied twice.
    assert!(run_to_end(&db, &url, 100).await);
    assert_eq!(integrity(&db), "ok");
    let (pending, ops): (usize, HashSet<String>) = with_store(&db, |s| {
        let mut stmt = s.conn().prepare("SELECT op_id FROM outbox").unwrap();
        let ops = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (store_sync::pending_view(s.conn()).unwrap().len(), ops)
    });
    assert_eq!(pending, 0);
    let mut server_ops = HashSet::new();
    for id in &orders {
        let facts = hq.detail(*id).await.facts;
        assert_eq!(facts.len(), 1);
        assert_eq!(
            hq.detail(*id).await.work_order.status,
            WorkOrderStatus::EnRoute
        );
        server_ops.extend(facts.into_iter().map(|f| f.op_id.to_string()));
    }
    assert_eq!(server_ops, ops);
    let ids: HashSet<String> = with_store(&db, |s| {
        let mut stmt = s.conn().prepare("SELECT id FROM work_order").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    });
    assert_eq!(ids, orders.iter().map(Uuid::to_string).collect());
}
