//! What only PostgreSQL has: several head-office instances on one database (commit order
//! with concurrent writers while devices pull, the same op pushed to two instances at once,
//! migrations raced by instances starting together, a write lock held by another
//! instance), and restore detection after pg_dump / pg_restore. Every other storage and
//! server test runs on both backends (server.rs, protocol.rs, openapi.rs).

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use onsite_api::*;
use onsite_hq::storage::postgres::{PostgresStorage, WRITE_LOCK};
use onsite_hq::storage::{Storage, StorageError};
use reqwest::{Method, StatusCode};
use uuid::Uuid;

/// Two head offices (two servers, two pools) on one new database, trusted by one CA.
async fn two_instances() -> (Hq, Hq, String) {
    let url = pg::fresh_database();
    let pki = Arc::new(pki());
    let mut both = Vec::new();
    for _ in 0..2 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        both.push(start_postgres(&url, &dir, pki.clone(), Some(tmp)).await);
    }
    let b = both.pop().unwrap();
    let a = both.pop().unwrap();
    (a, b, url)
}

/// Technicians' devices pull (from either instance, in small pages) while four writers
/// create work orders on both instances and the devices push status changes for what they
/// received, through the other instance. A commit number that became visible before a
/// smaller one would let a puller's cursor pass the smaller one, which it would then never
/// receive: every work order made for a technician must reach their device, each at the
/// version a fresh pull from scratch finds at the end, and pages never go back behind the
/// cursor.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_instances_never_hide_a_change_from_a_puller() {
    let (a, b, _) = two_instances().await;
    let hqs = Arc::new([a, b]);
    let mut devices = Vec::new();
    for i in 0..3 {
        devices.push(hqs[i % 2].enrolled(&format!("Tech {i}")).await);
    }
    let techs: Vec<Uuid> = devices.iter().map(|d| d.technician_id).collect();
    let writing_done = Arc::new(AtomicBool::new(false));

    let mut writers = Vec::new();
    for w in 0..4usize {
        let (hqs, techs) = (hqs.clone(), techs.clone());
        writers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for j in 0..15usize {
                let tech = techs[(w + j) % techs.len()];
                let wo = hqs[(w + j) % 2]
                    .work_order(&format!("WO-{w}-{j}"), Some(tech))
                    .await;
                made.push((tech, wo.id));
            }
            made
        }));
    }

    let mut pullers = Vec::new();
    for (d, device) in devices.into_iter().enumerate() {
        let (hqs, done) = (hqs.clone(), writing_done.clone());
        pullers.push(tokio::spawn(async move {
            let mut ops = OpMaker { seq: 0 };
            let mut cursor: Option<String> = None;
            let mut last_seq = 0i64;
            let mut versions: HashMap<Uuid, i64> = HashMap::new();
            let mut pushed: HashSet<Uuid> = HashSet::new();
            let mut turn = d;
            loop {
                // Read before pulling: a pull that starts after the writers finished and
                // finds nothing new means this device has everything.
                let finished = done.load(Ordering::SeqCst);
                let page = hqs[turn % 2]
                    .pull(&device.token, cursor.as_deref(), Some(4))
                    .await;
                turn += 1;
                assert!(!page.reset, "no reset on one history");
                for change in &page.changes {
                    assert!(
                        change.seq > last_seq,
                        "seq {} came after the device had passed {last_seq}",
                        change.seq
                    );
                }
                let mut fresh = Vec::new();
                for change in &page.changes {
                    last_seq = last_seq.max(change.seq);
                    if let ChangeItem::WorkOrder(wo) = &change.item {
                        versions.insert(wo.id, wo.version);
                        if pushed.insert(wo.id) {
                            fresh.push(wo.id);
                        }
                    }
                }
                cursor = Some(page.cursor.clone());
                for id in fresh {
                    let op = ops.status(id, onsite_domain::WorkOrderStatus::EnRoute);
                    let reply = hqs[turn % 2].push(&device.token, vec![op]).await;
                    assert!(reply.results.iter().all(applied), "{:?}", reply.results);
                }
                if finished && page.changes.is_empty() && !page.has_more {
                    break;
                }
                if page.changes.is_empty() {
                    tokio::task::yield_now().await;
                }
            }
            (device, versions)
        }));
    }

    let mut made: Vec<(Uuid, Uuid)> = Vec::new();
    for w in writers {
        made.extend(w.await.unwrap());
    }
    writing_done.store(true, Ordering::SeqCst);
    for p in pullers {
        let (device, versions) = p.await.unwrap();
        let mine: Vec<Uuid> = made
            .iter()
            .filter(|(t, _)| *t == device.technician_id)
            .map(|(_, id)| *id)
            .collect();
        assert_eq!(mine.len(), 20);
        for id in &mine {
            assert!(
                versions.contains_key(id),
                "work order {id} never reached its device"
            );
        }
        // What a fresh pull from scratch finds is what the device holds, version for version.
        let (all, _) = hqs[0].pull_all(&device.token, None, None).await;
        let mut finals = 0;
        for change in &all {
            if let ChangeItem::WorkOrder(wo) = &change.item {
                finals += 1;
                assert_eq!(
                    versions.get(&wo.id),
                    Some(&wo.version),
                    "the device missed the latest change of {}",
                    wo.id
                );
                assert_eq!(wo.status, onsite_domain::WorkOrderStatus::EnRoute);
            }
        }
        assert_eq!(finals, mine.len());
    }
}

/// The same batch pushed to both instances at once: every op is applied by exactly one of
/// them, the other answers with the stored result (a duplicate), and one fact is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_op_pushed_to_two_instances_at_once_is_applied_once() {
    let (a, b, _) = two_instances().await;
    let dev = a.enrolled("Tech").await;
    let mut ops = OpMaker { seq: 0 };
    for i in 0..8 {
        let wo = b
            .work_order(&format!("WO-{i}"), Some(dev.technician_id))
            .await;
        let mut batch = ops.visit(wo.id);
        batch.push(ops.payment(wo.id, 100 + i));
        let (ra, rb) = tokio::join!(
            a.push(&dev.token, batch.clone()),
            b.push(&dev.token, batch.clone())
        );
        assert_eq!(ra.results.len(), batch.len());
        assert_eq!(rb.results.len(), batch.len());
        for (x, y) in ra.results.iter().zip(&rb.results) {
            assert_eq!(x.op_id, y.op_id);
            assert!(applied(x) && applied(y), "{x:?} {y:?}");
            assert_eq!(x.outcome, y.outcome, "the loser reads the winner's result");
            assert_ne!(x.duplicate, y.duplicate, "exactly one instance applied it");
        }
        let detail = a.detail(wo.id).await;
        assert_eq!(detail.facts.len(), batch.len(), "one fact per op");
    }
}

/// Instances starting at once on a new database: the migrations run once (under the
/// advisory lock), every instance finds the same schema and the same identity.
#[test]
fn instances_starting_at_once_migrate_once_and_share_one_identity() {
    let url = pg::fresh_database();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStorage::connect_with(&url, 2).unwrap())
        })
        .collect();
    let storages: Vec<PostgresStorage> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let epoch = storages[0].epoch().unwrap();
    let server_id = storages[0].server_id().unwrap();
    for s in &storages {
        assert_eq!(
            s.schema_version().unwrap(),
            onsite_hq::storage::postgres::LATEST_SCHEMA
        );
        assert_eq!(s.epoch().unwrap(), epoch);
        assert_eq!(s.server_id().unwrap(), server_id);
    }
    // Opening an up-to-date database again changes nothing.
    let again = PostgresStorage::connect(&url).unwrap();
    assert_eq!(again.epoch().unwrap(), epoch);
}

/// Another instance holds the write lock (a long write): this one's write waits its lock
/// timeout, then fails as a passing failure, a 503 with Retry-After, nothing written; the
/// device's retry converges once the lock is released.
#[tokio::test]
async fn a_write_lock_held_by_another_instance_is_a_503_and_a_retry_converges() {
    let url = pg::fresh_database();
    let storage = pg::connect(&url).await;
    storage.set_lock_timeout(Duration::from_millis(50));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let hq = start_with(
        storage,
        &dir,
        Arc::new(pki()),
        Some(tmp),
        Duration::from_secs(30),
        |r| r,
    )
    .await;
    let dev = hq.enrolled("Tech").await;
    let wo = hq.work_order("WO-T", Some(dev.technician_id)).await;
    let mut ops = OpMaker { seq: 0 };
    let batch = ops.visit(wo.id);

    let (hold, held) = std::sync::mpsc::channel::<()>();
    let (locked_tx, locked) = std::sync::mpsc::channel::<()>();
    let blocker = std::thread::spawn({
        let url = url.clone();
        move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.execute("SELECT pg_advisory_lock($1)", &[&WRITE_LOCK])
                .unwrap();
            locked_tx.send(()).unwrap();
            held.recv().unwrap();
            c.execute("SELECT pg_advisory_unlock($1)", &[&WRITE_LOCK])
                .unwrap();
        }
    });
    locked.recv().unwrap();
    let res = hq
        .send(
            Method::POST,
            routes::SYNC_PUSH,
            Some(&dev.token),
            Some(&PushRequest { ops: batch.clone() }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    let body: ErrorBody = res.json().await.unwrap();
    assert_eq!(body.code, codes::UNAVAILABLE);
    assert!(hq.detail(wo.id).await.facts.is_empty(), "nothing written");
    hold.send(()).unwrap();
    blocker.join().unwrap();

    let reply = hq.push(&dev.token, batch.clone()).await;
    assert!(reply.results.iter().all(|r| applied(r) && !r.duplicate));
    assert_eq!(hq.detail(wo.id).await.facts.len(), batch.len());
}

fn pg_tool(tool: &str, args: &[&str]) {
    let bin = onsite_testkit::pg_cluster::bin_dir().unwrap();
    let out = Command::new(bin.join(tool)).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a device hears at hello when it names `checkpoint`: whether its history is lost.
async fn history_lost(hq: &Hq, token: &str, checkpoint: &str) -> bool {
    let path = format!(
        "{}?checkpoint={}",
        routes::SYNC_HELLO,
        urlencode(checkpoint)
    );
    let hello: Hello = hq
        .expect::<(), _>(Method::GET, &path, Some(token), None, StatusCode::OK)
        .await;
    hello.history_lost
}

/// The checkpoint (`<seq>:<tag>`) a device keeps after pulling up to `cursor`.
async fn checkpoint_at(hq: &Hq, token: &str, cursor: &str) -> String {
    let page = hq.pull(token, Some(cursor), None).await;
    assert!(page.changes.is_empty() && !page.reset);
    page.checkpoint
        .expect("a checkpoint once something was pulled")
}

/// Backup with pg_dump, more commits (a device takes them), restore with pg_restore into a
/// new database, head office started on it: a device whose checkpoint is in the backup
/// carries on; the one that holds later commits hears that its history is lost and is made
/// to refetch, also once the restored head office has made new commits with the same
/// numbers (the tags differ).
#[tokio::test]
async fn a_database_restored_with_pg_restore_is_detected_by_devices() {
    let url = pg::fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let pki = Arc::new(pki());
    let hq = start_postgres(&url, &dir, pki.clone(), None).await;
    let dev = hq.enrolled("Tech").await;
    let early = hq.work_order("WO-EARLY", Some(dev.technician_id)).await;
    let (_, at_backup) = hq.pull_all(&dev.token, None, None).await;
    let cp_backup = checkpoint_at(&hq, &dev.token, &at_backup).await;

    let dump = tmp.path().join("onsite.dump");
    let dump_s = dump.to_str().unwrap();
    pg_tool("pg_dump", &["--format=custom", "--file", dump_s, &url]);

    let late = hq.work_order("WO-LATE", Some(dev.technician_id)).await;
    let (taken, after_backup) = hq.pull_all(&dev.token, Some(&at_backup), None).await;
    assert_eq!(work_order_ids(&taken), vec![late.id]);
    let cp_after = checkpoint_at(&hq, &dev.token, &after_backup).await;
    assert!(!history_lost(&hq, &dev.token, &cp_after).await);
    hq.stop().await;

    let restored = pg::fresh_database();
    pg_tool(
        "pg_restore",
        &["--exit-on-error", "--dbname", &restored, dump_s],
    );
    let hq = start_postgres(&restored, Path::new(&dir), pki, Some(tmp)).await;

    // In the backup: carries on.
    assert!(!history_lost(&hq, &dev.token, &cp_backup).await);
    // Beyond it: history lost; a pull naming it starts again from scratch, without the
    // late work order.
    assert!(history_lost(&hq, &dev.token, &cp_after).await);
    let path = format!(
        "{}?cursor={}&checkpoint={}",
        routes::SYNC_PULL,
        urlencode(&after_backup),
        urlencode(&cp_after)
    );
    let page: PullReply = hq
        .expect::<(), _>(Method::GET, &path, Some(&dev.token), None, StatusCode::OK)
        .await;
    assert!(page.reset);
    assert_eq!(work_order_ids(&page.changes), vec![early.id]);

    // Head office writes again, reusing the lost commit numbers with new tags.
    hq.work_order("WO-AGAIN", Some(dev.technician_id)).await;
    let storage = hq.storage.clone();
    let lost = Checkpoint::parse(&cp_after).unwrap();
    let (max_seq, held) = tokio::task::spawn_blocking(move || {
        (storage.max_seq().unwrap(), storage.holds(&lost).unwrap())
    })
    .await
    .unwrap();
    assert!(
        max_seq >= Checkpoint::parse(&cp_after).unwrap().seq,
        "the lost number is in use again"
    );
    assert!(!held, "the same number, another commit: not held");
    assert!(history_lost(&hq, &dev.token, &cp_after).await);
    assert!(!history_lost(&hq, &dev.token, &cp_backup).await);
}

/// The server closed every connection of the pool (a restart, a failover, an operator's
/// `pg_terminate_backend`): the next call gets a new connection, not an error.
#[test]
fn connections_the_server_closed_are_replaced() {
    let url = pg::fresh_database();
    let storage = PostgresStorage::connect_with(&url, 2).unwrap();
    let epoch = storage.epoch().unwrap();
    let db = url.rsplit_once('/').unwrap().1.to_owned();
    // The timeout argument makes each termination wait until that backend is gone.
    pg::admin_sql(&format!(
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity \
         WHERE datname = '{db}' AND pid <> pg_backend_pid()"
    ));
    assert_eq!(storage.epoch().unwrap(), epoch);
    assert_eq!(
        storage.schema_version().unwrap(),
        onsite_hq::storage::postgres::LATEST_SCHEMA
    );
}

/// Rule 1 at the storage, where a puller can look often enough to catch a commit number
/// that became visible before a smaller one: six writers on two instances (two pools)
/// create work orders for one technician while two pullers, one per instance, pull in a
/// loop. Every commit is one new work order, so a puller that took every change has seen
/// every commit number from 1 to the last, each once; a number that appeared behind its
/// cursor would be missing.
#[test]
fn commit_numbers_become_visible_in_commit_order_under_concurrent_writers() {
    let url = pg::fresh_database();
    let instances: Vec<Arc<PostgresStorage>> = (0..2)
        .map(|_| Arc::new(PostgresStorage::connect_with(&url, 8).unwrap()))
        .collect();
    let tech = Uuid::now_v7();
    instances[0]
        .create_technician(tech, "T", chrono::Utc::now())
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let pullers: Vec<_> = instances
        .iter()
        .cloned()
        .map(|s| {
            let done = done.clone();
            std::thread::spawn(move || {
                let (mut cursor, mut seen) = (0i64, Vec::new());
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let page = s.pull(tech, cursor, 100_000).unwrap();
                    for change in &page.changes {
                        assert!(change.seq > cursor);
                        seen.push(change.seq);
                    }
                    cursor = page.last_seq;
                    if finished && page.changes.is_empty() {
                        return seen;
                    }
                }
            })
        })
        .collect();
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let s = instances[w % 2].clone();
            std::thread::spawn(move || {
                for j in 0..60 {
                    let wo = new_work_order(&format!("WO-{w}-{j}"), Some(tech));
                    s.create_work_order(Uuid::now_v7(), &wo, chrono::Utc::now())
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let last = instances[0].max_seq().unwrap();
    assert_eq!(last, 360);
    for p in pullers {
        let seen = p.join().unwrap();
        let missing: Vec<i64> = (1..=last).filter(|s| !seen.contains(s)).collect();
        assert!(
            missing.is_empty(),
            "commits never pulled (visible after a larger one): {missing:?}"
        );
        assert_eq!(seen.len() as i64, last, "each commit once");
    }
}

/// Rule 1 for pushes, which lock only their technician and work orders and take their
/// commit numbers last (storage/postgres/batch.rs): six technicians push at once on two
/// instances, each op on a job of its own that was reassigned from them to one technician
/// T, so every op's commit is fed to T (the job, flagged). (Each op has a job of its own
/// because the feed keeps a job's newest commit only.) T's two pullers (one per instance)
/// pull in a loop; each must see the commit number of every op.
#[test]
fn pushes_of_different_technicians_at_once_never_hide_a_change_from_a_puller() {
    let url = pg::fresh_database();
    let instances: Vec<Arc<PostgresStorage>> = (0..2)
        .map(|_| Arc::new(PostgresStorage::connect_with(&url, 8).unwrap()))
        .collect();
    let now = chrono::Utc::now();
    let t = Uuid::now_v7();
    instances[0].create_technician(t, "T", now).unwrap();
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let s = instances[w % 2].clone();
            let tech = Uuid::now_v7();
            s.create_technician(tech, &format!("W{w}"), now).unwrap();
            let code = format!("code-{w}");
            s.store_enrolment_code(tech, &code, now, now + chrono::Duration::minutes(5))
                .unwrap();
            let token = format!("token-{w}");
            s.enroll_device(
                &code,
                onsite_hq::storage::NewDevice {
                    id: Uuid::now_v7(),
                    name: "van",
                    token_hash: &token,
                },
                now,
            )
            .unwrap();
            let device = s.device_for_token(&token).unwrap().unwrap();
            let orders: Vec<Uuid> = (0..40)
                .map(|j| {
                    let wo = s
                        .create_work_order(
                            Uuid::now_v7(),
                            &new_work_order(&format!("WO-{w}-{j}"), Some(tech)),
                            now,
                        )
                        .unwrap();
                    s.reassign_work_order(
                        wo.id,
                        &ReassignRequest {
                            technician_id: t,
                            expected_version: None,
                        },
                        now,
                    )
                    .unwrap();
                    wo.id
                })
                .collect();
            (s, device, orders)
        })
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let start = instances[0].max_seq().unwrap();
    let pullers: Vec<_> = instances
        .iter()
        .cloned()
        .map(|s| {
            let done = done.clone();
            std::thread::spawn(move || {
                let (mut cursor, mut seen) = (start, HashSet::new());
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let page = s.pull(t, cursor, 100_000).unwrap();
                    for change in &page.changes {
                        assert!(change.seq > cursor);
                        seen.insert(change.seq);
                    }
                    cursor = page.last_seq;
                    if finished && page.changes.is_empty() {
                        return seen;
                    }
                }
            })
        })
        .collect();
    let pushers: Vec<_> = writers
        .into_iter()
        .map(|(s, device, orders)| {
            std::thread::spawn(move || {
                let mut ops = OpMaker { seq: 0 };
                let mut seqs = Vec::new();
                let mut jobs = orders.into_iter();
                for round in 0..15 {
                    let batch: Vec<Op> = jobs
                        .by_ref()
                        .take(1 + round % 4)
                        .map(|wo| ops.work(wo, "REPLACE", 2000))
                        .collect();
                    for r in s.apply_ops(&device, &batch, chrono::Utc::now()).unwrap() {
                        match r.outcome {
                            OpOutcome::Applied {
                                server_seq,
                                flagged_for_review: true,
                            } => seqs.push(server_seq),
                            other => panic!("{other:?}"),
                        }
                    }
                }
                seqs
            })
        })
        .collect();
    let mut pushed: Vec<i64> = Vec::new();
    for p in pushers {
        pushed.extend(p.join().unwrap());
    }
    done.store(true, Ordering::SeqCst);
    pushed.sort_unstable();
    let expected: Vec<i64> = (start + 1..=start + pushed.len() as i64).collect();
    assert_eq!(pushed, expected, "one commit number each, no gap");
    for p in pullers {
        let seen = p.join().unwrap();
        let missing: Vec<i64> = pushed
            .iter()
            .copied()
            .filter(|s| !seen.contains(s))
            .collect();
        assert!(
            missing.is_empty(),
            "commits never pulled (visible after a larger one): {missing:?}"
        );
    }
}

/// Point-in-time recovery: a cluster that archives its write-ahead log, a base backup,
/// commits before and after a moment T (a device takes them all), the cluster lost, a new
/// one recovered from the base backup and the archive up to T. Head office on it: the
/// checkpoint a device had at T is held, the one it had after is not (history lost, a
/// pull naming it starts again from scratch), also once the numbers are in use again.
#[tokio::test]
async fn a_point_in_time_recovery_is_detected_by_devices() {
    use onsite_testkit::pg_cluster::Cluster;
    let cluster = tokio::task::spawn_blocking(|| Cluster::start_archiving().unwrap())
        .await
        .unwrap();
    let admin = cluster.url("postgres");
    let url = cluster.url("onsite");
    tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        c.batch_execute("CREATE DATABASE onsite").unwrap();
    })
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let pki = Arc::new(pki());
    let hq = start_postgres(&url, tmp.path(), pki.clone(), None).await;
    let dev = hq.enrolled("Tech").await;
    hq.work_order("WO-1", Some(dev.technician_id)).await;
    let (cluster, base) = tokio::task::spawn_blocking(move || {
        let base = cluster.base_backup().unwrap();
        (cluster, base)
    })
    .await
    .unwrap();
    let kept = hq.work_order("WO-2", Some(dev.technician_id)).await;
    let (_, at_t) = hq.pull_all(&dev.token, None, None).await;
    let cp_t = checkpoint_at(&hq, &dev.token, &at_t).await;
    let target = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f+00")
        .to_string();
    let lost = hq.work_order("WO-3", Some(dev.technician_id)).await;
    let (taken, after_t) = hq.pull_all(&dev.token, Some(&at_t), None).await;
    assert_eq!(work_order_ids(&taken), vec![lost.id]);
    let cp_after = checkpoint_at(&hq, &dev.token, &after_t).await;
    hq.stop().await;
    // The segment holding the last commits goes to the archive; the cluster is lost.
    let archive = cluster.archive_dir();
    let recovered = tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls).unwrap();
        c.batch_execute("SELECT pg_switch_wal()").unwrap();
        drop(c);
        cluster.halt().unwrap();
        let recovered = Cluster::recover(&base, &archive, &target).unwrap();
        drop(cluster);
        recovered
    })
    .await
    .unwrap();

    let dir = tmp.path().to_path_buf();
    let hq = start_postgres(&recovered.url("onsite"), &dir, pki, Some(tmp)).await;
    assert!(!history_lost(&hq, &dev.token, &cp_t).await, "up to T: held");
    assert!(
        history_lost(&hq, &dev.token, &cp_after).await,
        "after T: lost"
    );
    let path = format!(
        "{}?cursor={}&checkpoint={}",
        routes::SYNC_PULL,
        urlencode(&after_t),
        urlencode(&cp_after)
    );
    let page: PullReply = hq
        .expect::<(), _>(Method::GET, &path, Some(&dev.token), None, StatusCode::OK)
        .await;
    assert!(page.reset);
    let ids: HashSet<Uuid> = work_order_ids(&page.changes).into_iter().collect();
    assert!(ids.contains(&kept.id) && !ids.contains(&lost.id));
    // New commits reuse the lost number; the tag tells them apart.
    hq.work_order("WO-4", Some(dev.technician_id)).await;
    assert!(history_lost(&hq, &dev.token, &cp_after).await);
    hq.stop().await;
    tokio::task::spawn_blocking(move || drop(recovered))
        .await
        .unwrap();
}

/// TLS to the database is not supported yet (docs/hq-postgres.md): a URL that requires it
/// is refused, never used in plain text; a refused login is reported without the password.
#[test]
fn a_database_url_that_requires_tls_is_refused_not_used_in_plain_text() {
    let url = format!("{}?sslmode=require", pg::fresh_database());
    match PostgresStorage::connect(&url) {
        Err(StorageError::Transient(why)) => {
            assert!(why.contains("TLS"), "{why}");
            assert!(!why.contains("127.0.0.1"), "{why}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("connected without TLS"),
    }
    // Nor can a wrong password be mistaken for success, and the reason names no password.
    let wrong = pg::fresh_database().replacen("onsite@", "onsite:Pw-7361@", 1);
    let nobody = wrong.replacen("onsite:", "nobody:", 1);
    match PostgresStorage::connect(&nobody) {
        Err(StorageError::Transient(why)) => assert!(!why.contains("Pw-7361"), "{why}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("connected as an unknown role"),
    }
}

/// TLS to the database: a cluster that speaks TLS with a certificate from a CA head office
/// is given (`--database-ca`); with `sslmode=require` every pooled connection is encrypted
/// (the server says so in `pg_stat_ssl`). A certificate from another CA is refused, and the
/// error names neither the password nor anything of the data.
#[test]
fn head_office_speaks_tls_to_the_database_and_checks_its_certificate() {
    use onsite_testkit::pg_cluster::Cluster;
    let pki = pki();
    let cluster = Cluster::start_tls(&pki.cert_pem, &pki.key_pem).unwrap();
    let admin = cluster.url("postgres");
    let run_admin = move |sql: String| {
        let admin = admin.clone();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
            c.query(sql.as_str(), &[]).unwrap()
        })
        .join()
        .unwrap()
    };
    run_admin("CREATE DATABASE onsite".into());
    let url = format!(
        "{}?sslmode=require",
        cluster
            .url("onsite")
            .replace("onsite@", "onsite:secret-pw@")
    );
    let s = PostgresStorage::connect_with_ca(&url, 2, Some(&pki.ca_pem)).unwrap();
    let epoch = s.epoch().unwrap();
    assert!(!epoch.is_empty());
    let rows = run_admin(
        "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s \
         JOIN pg_stat_activity a USING (pid) WHERE a.datname = 'onsite'"
            .into(),
    );
    let (count, all_tls): (i64, Option<bool>) = (rows[0].get(0), rows[0].get(1));
    assert!(count >= 1, "head office holds connections");
    assert_eq!(all_tls, Some(true), "every connection is TLS");
    drop(s);

    // A certificate head office was not told to trust.
    let other = pki_other_ca();
    let err = PostgresStorage::connect_with_ca(&url, 2, Some(&other))
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(matches!(err, StorageError::Transient(_)), "{text}");
    assert!(text.contains("cannot connect"), "{text}");
    assert!(!text.contains("secret-pw"), "{text}");
    // Not PEM at all.
    assert!(matches!(
        PostgresStorage::connect_with_ca(&url, 2, Some("not a certificate")),
        Err(StorageError::Invalid(_))
    ));
}

/// A CA certificate (PEM) other than the test PKI's.
fn pki_other_ca() -> String {
    pki().ca_pem
}
