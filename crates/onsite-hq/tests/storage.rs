//! The storage trait itself, one body per behaviour run on SQLite and on PostgreSQL: the
//! errors a backend answers (the HTTP layer maps them to statuses), the restore horizon
//! (results of applied ops forgotten, a re-sent fact still recognised by its id), epochs,
//! tags and settings.

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use common::*;
use onsite_api::*;
use onsite_hq::storage::postgres::PostgresStorage;
use onsite_hq::storage::sqlite::SqliteStorage;
use onsite_hq::storage::{DeviceAuth, NewDevice, Storage, StorageError};
use uuid::Uuid;

/// Runs `body` on a new SQLite database and on a new PostgreSQL database.
fn on_both(body: impl Fn(&dyn Storage)) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStorage::open_in_dir(dir.path()).unwrap();
    body(&sqlite);
    let postgres = PostgresStorage::connect_with(&pg::fresh_database(), 2).unwrap();
    body(&postgres);
}

/// A technician with an enrolled device, made through the trait.
fn device(s: &dyn Storage, name: &str) -> DeviceAuth {
    let now = Utc::now();
    let tech = Uuid::now_v7();
    s.create_technician(tech, name, now).unwrap();
    let code = format!("code-{}", Uuid::now_v7());
    s.store_enrolment_code(tech, &code, now, now + Duration::minutes(5))
        .unwrap();
    let id = Uuid::now_v7();
    let token = format!("token-{id}");
    s.enroll_device(
        &code,
        NewDevice {
            id,
            name: "phone",
            token_hash: &token,
        },
        now,
    )
    .unwrap();
    s.device_for_token(&token).unwrap().unwrap()
}

#[test]
fn both_backends_answer_the_same_errors() {
    on_both(|s| {
        let now = Utc::now();
        let tech = Uuid::now_v7();
        s.create_technician(tech, "T", now).unwrap();
        assert!(matches!(
            s.create_technician(tech, "T again", now),
            Err(StorageError::Conflict(_))
        ));
        assert!(matches!(
            s.store_enrolment_code(Uuid::now_v7(), "c", now, now + Duration::minutes(5)),
            Err(StorageError::NotFound)
        ));
        s.store_enrolment_code(tech, "spent", now, now + Duration::minutes(5))
            .unwrap();
        s.store_enrolment_code(tech, "expired", now, now - Duration::minutes(1))
            .unwrap();
        let new = |id: Uuid, token: &'static str| NewDevice {
            id,
            name: "phone",
            token_hash: token,
        };
        let first = Uuid::now_v7();
        s.enroll_device("spent", new(first, "t1"), now).unwrap();
        for code in ["spent", "expired", "unknown"] {
            assert!(matches!(
                s.enroll_device(code, new(Uuid::now_v7(), "t2"), now),
                Err(StorageError::InvalidCode)
            ));
        }
        assert!(matches!(
            s.record_device_erased(
                first,
                &ErasedReport {
                    erased_at: now,
                    work_orders: 0,
                    customers: 0,
                    records: 0,
                    unsent: 0,
                    files: 0,
                },
                now
            ),
            Err(StorageError::Conflict(_))
        ));
        assert!(matches!(
            s.mark_device_lost(Uuid::now_v7(), now),
            Err(StorageError::NotFound)
        ));
        let wo = s
            .create_work_order(Uuid::now_v7(), &new_work_order("WO-1", Some(tech)), now)
            .unwrap();
        assert!(matches!(
            s.create_work_order(Uuid::now_v7(), &new_work_order("WO-1", Some(tech)), now),
            Err(StorageError::Conflict(_))
        ));
        assert!(matches!(
            s.create_work_order(
                Uuid::now_v7(),
                &new_work_order("WO-2", Some(Uuid::now_v7())),
                now
            ),
            Err(StorageError::Invalid(_))
        ));
        let stale = WorkOrderUpdate {
            expected_version: Some(wo.version + 1),
            ..Default::default()
        };
        assert!(matches!(
            s.update_work_order(wo.id, &stale, now),
            Err(StorageError::Conflict(_))
        ));
        assert!(matches!(
            s.update_work_order(Uuid::now_v7(), &WorkOrderUpdate::default(), now),
            Err(StorageError::NotFound)
        ));
        assert!(matches!(
            s.resolve_review_flag(Uuid::now_v7(), now),
            Err(StorageError::NotFound)
        ));
        assert!(matches!(
            s.list_parts_issues(Uuid::now_v7()),
            Err(StorageError::NotFound)
        ));
        assert!(matches!(
            s.apply_refused_op(Uuid::now_v7(), Uuid::now_v7(), now),
            Err(StorageError::NotFound)
        ));
        assert!(s.get_work_order(Uuid::now_v7()).unwrap().is_none());
        assert_eq!(s.commit_tag(999_999).unwrap(), None);
        // No text names the customer.
        if let Err(e) = s.create_work_order(Uuid::now_v7(), &new_work_order("WO-1", None), now) {
            assert!(!e.to_string().contains("Secretname"), "{e}");
        }
    });
}

#[test]
fn the_restore_horizon_forgets_applied_results_but_a_re_sent_fact_is_recognised() {
    on_both(|s| {
        let dev = device(s, "T");
        let now = Utc::now();
        let wo = s
            .create_work_order(
                Uuid::now_v7(),
                &new_work_order("WO-H", Some(dev.technician_id)),
                now,
            )
            .unwrap();
        let mut ops = OpMaker { seq: 0 };
        let op = ops.status(wo.id, onsite_domain::WorkOrderStatus::EnRoute);
        let first = s.apply_op(&dev, &op, now).unwrap();
        assert!(applied(&first) && !first.duplicate);
        let replay = s.apply_op(&dev, &op, now).unwrap();
        assert!(replay.duplicate);
        let newest = s.max_seq().unwrap();
        let tag = s.commit_tag(newest).unwrap().unwrap();

        let later = now + Duration::seconds(1);
        let horizon = s.set_restore_horizon(later).unwrap();
        assert_eq!(horizon.forgotten_results, 1);
        assert_eq!(horizon.checkpoint, Some(format!("{newest}:{tag}")));
        assert_eq!(s.restore_horizon().unwrap().checkpoint, horizon.checkpoint);
        assert!(matches!(
            s.set_restore_horizon(now),
            Err(StorageError::Invalid(_))
        ));
        // The op's result is gone, its fact is not: sent again, it is the same fact.
        let again = s.apply_op(&dev, &op, later).unwrap();
        assert!(!again.duplicate);
        assert_eq!(again.outcome, first.outcome, "the stored fact's commit");
        assert_eq!(s.get_work_order(wo.id).unwrap().unwrap().facts.len(), 1);
    });
}

#[test]
fn epochs_tags_and_settings() {
    on_both(|s| {
        let epoch = s.epoch().unwrap();
        let server = s.server_id().unwrap();
        let rotated = s.rotate_epoch().unwrap();
        assert_ne!(rotated, epoch);
        assert_eq!(s.epoch().unwrap(), rotated);
        assert_eq!(
            s.server_id().unwrap(),
            server,
            "the server id never changes"
        );
        assert_eq!(s.max_seq().unwrap(), 0);
        assert_eq!(
            s.retention_days().unwrap(),
            onsite_api::retention::DEFAULT_DAYS
        );
        s.set_retention_days(45).unwrap();
        assert_eq!(s.retention_days().unwrap(), 45);
        let company = CompanyProfile {
            name: "Co".into(),
            phone: "1".into(),
            address: "A".into(),
        };
        s.put_company(&company, Utc::now()).unwrap();
        s.put_company(&company, Utc::now()).unwrap();
        assert_eq!(s.max_seq().unwrap(), 2);
        let (one, two) = (s.commit_tag(1).unwrap(), s.commit_tag(2).unwrap());
        assert!(
            one.is_some() && two.is_some() && one != two,
            "a tag per commit"
        );
        let held = Checkpoint {
            seq: 2,
            tag: two.clone().unwrap(),
        };
        assert!(s.holds(&held).unwrap());
        assert!(!s
            .holds(&Checkpoint {
                seq: 2,
                tag: "0000000000000000".into()
            })
            .unwrap());
        // Blobs: stored once, read back whole.
        let bytes = vec![7u8; 70_000];
        assert!(s.put_blob("ab", &bytes, Utc::now()).unwrap());
        assert!(!s.put_blob("ab", &bytes, Utc::now()).unwrap());
        assert!(s.has_blob("ab").unwrap() && !s.has_blob("cd").unwrap());
        assert_eq!(s.get_blob("ab").unwrap(), Some(bytes));
        assert_eq!(s.get_blob("cd").unwrap(), None);
    });
}

/// An `Arc` of a storage is a storage: the calls reach the backend.
#[test]
fn an_arc_of_a_storage_is_a_storage() {
    let dir = tempfile::tempdir().unwrap();
    let s: Arc<dyn Storage> = Arc::new(SqliteStorage::open_in_dir(dir.path()).unwrap());
    fn epoch_of(s: &impl Storage) -> String {
        s.epoch().unwrap()
    }
    assert_eq!(epoch_of(&s), s.epoch().unwrap());
}

/// A push's ops applied together give each op what it gets applied alone (its own commit
/// number, result and stored replay), and the feed carries every one of them.
#[test]
fn a_push_applied_in_one_transaction_is_the_same_as_op_by_op() {
    on_both(|s| {
        let now = Utc::now();
        let together = device(s, "Together");
        let alone = device(s, "Alone");
        let order = |dev: &DeviceAuth, number: &str| {
            s.create_work_order(
                Uuid::now_v7(),
                &new_work_order(number, Some(dev.technician_id)),
                now,
            )
            .unwrap()
        };
        let (wo_together, wo_alone) = (order(&together, "WO-T"), order(&alone, "WO-A"));
        // A whole visit, then a payment on a job that does not exist (refused), then a
        // status change after the job was completed (stored and flagged for review).
        let batch = |wo: Uuid| {
            let mut ops = OpMaker { seq: 0 };
            let mut batch = ops.visit(wo);
            batch.push(ops.payment(Uuid::now_v7(), 100));
            batch.push(ops.status(wo, onsite_domain::WorkOrderStatus::EnRoute));
            batch
        };
        let (ops_together, ops_alone) = (batch(wo_together.id), batch(wo_alone.id));

        let before = s.max_seq().unwrap();
        let results = s.apply_ops(&together, &ops_together, now).unwrap();
        let one_by_one: Vec<OpResult> = ops_alone
            .iter()
            .map(|op| s.apply_op(&alone, op, now).unwrap())
            .collect();

        let shape = |r: &OpResult| (applied(r), flagged(r), rejected_code(r), r.duplicate);
        assert_eq!(
            results.iter().map(shape).collect::<Vec<_>>(),
            one_by_one.iter().map(shape).collect::<Vec<_>>()
        );
        assert_eq!(results.len(), ops_together.len());
        assert_eq!(results.iter().filter(|r| !applied(r)).count(), 1);
        assert!(flagged(results.last().unwrap()));
        // Consecutive commit numbers, one per applied op, in the ops' order.
        let seqs: Vec<i64> = results
            .iter()
            .filter_map(|r| match r.outcome {
                OpOutcome::Applied { server_seq, .. } => Some(server_seq),
                _ => None,
            })
            .collect();
        let expected: Vec<i64> = (before + 1..=before + seqs.len() as i64).collect();
        assert_eq!(seqs, expected);
        for seq in &seqs {
            assert!(s.commit_tag(*seq).unwrap().is_some(), "commit {seq} tagged");
        }
        let detail = s.get_work_order(wo_together.id).unwrap().unwrap();
        assert_eq!(detail.facts.len(), seqs.len());
        assert_eq!(
            detail.work_order.status,
            onsite_domain::WorkOrderStatus::Completed
        );
        let refused = s
            .list_refused_ops(&RefusedQuery {
                technician_id: Some(together.technician_id),
                include_resolved: None,
            })
            .unwrap();
        assert_eq!(refused.len(), 1);
        // Every applied fact reaches the technician's other devices.
        let page = s.pull(together.technician_id, before, 1_000).unwrap();
        for seq in &seqs {
            assert!(page.changes.iter().any(|c| c.seq == *seq), "{seq} in feed");
        }

        // Sent again (the reply was lost): the applied ones are replays with their stored
        // results, nothing new is committed.
        let newest = s.max_seq().unwrap();
        let again = s.apply_ops(&together, &ops_together, now).unwrap();
        for (first, second) in results.iter().zip(&again) {
            if applied(first) {
                assert!(second.duplicate);
                assert_eq!(second.outcome, first.outcome);
            }
        }
        assert_eq!(s.max_seq().unwrap(), newest);
        assert!(s.apply_ops(&together, &[], now).unwrap().is_empty());
    });
}

/// A failure part-way through a push (here a lock another session holds on the job the
/// fourth op changes) leaves none of the push applied; sent again, all of it applies.
#[test]
fn a_push_that_fails_half_way_leaves_nothing_applied() {
    let url = pg::fresh_database();
    let s = PostgresStorage::connect_with(&url, 2).unwrap();
    s.set_lock_timeout(std::time::Duration::from_millis(100));
    let now = Utc::now();
    let dev = device(&s, "T");
    let first = s
        .create_work_order(
            Uuid::now_v7(),
            &new_work_order("WO-1", Some(dev.technician_id)),
            now,
        )
        .unwrap();
    let second = s
        .create_work_order(
            Uuid::now_v7(),
            &new_work_order("WO-2", Some(dev.technician_id)),
            now,
        )
        .unwrap();
    let mut ops = OpMaker { seq: 0 };
    let mut batch = ops.visit(first.id);
    batch.push(ops.status(second.id, onsite_domain::WorkOrderStatus::EnRoute));

    let mut other = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut held = other.transaction().unwrap();
    held.execute(
        "SELECT 1 FROM work_orders WHERE id = $1 FOR UPDATE",
        &[&second.id.to_string()],
    )
    .unwrap();
    let before = s.max_seq().unwrap();
    assert!(matches!(
        s.apply_ops(&dev, &batch, now),
        Err(StorageError::Transient(_))
    ));
    assert_eq!(s.max_seq().unwrap(), before, "no commit number kept");
    assert!(s
        .get_work_order(first.id)
        .unwrap()
        .unwrap()
        .facts
        .is_empty());
    held.rollback().unwrap();

    let results = s.apply_ops(&dev, &batch, now).unwrap();
    assert!(results.iter().all(|r| applied(r) && !r.duplicate));
    assert_eq!(s.max_seq().unwrap(), before + batch.len() as i64);
}

/// A device's blob quota: new bytes in any 24 hours; a blob already stored (by it or
/// another device) costs nothing; the wait runs until its oldest upload in the window
/// leaves it; other devices are not affected.
#[test]
fn a_device_blob_quota_counts_new_bytes_in_24_hours() {
    use onsite_hq::storage::BlobStored;
    on_both(|s| {
        let now = Utc::now();
        let (one, two) = (device(s, "One"), device(s, "Two"));
        let blob = |fill: u8, len: usize| {
            let bytes = vec![fill; len];
            (onsite_hq::auth::sha256_hex(&bytes), bytes)
        };
        let (a, b, c) = (blob(1, 600), blob(2, 600), blob(3, 600));
        let put = |dev: &DeviceAuth, (sha, bytes): &(String, Vec<u8>), at| {
            s.put_device_blob(dev.device_id, sha, bytes, at, 1_000)
                .unwrap()
        };
        assert_eq!(put(&one, &a, now), BlobStored::Created);
        let an_hour_later = now + Duration::hours(1);
        match put(&one, &b, an_hour_later) {
            BlobStored::OverQuota { retry_after } => {
                let hours = retry_after.as_secs_f64() / 3600.0;
                assert!((22.9..=23.0).contains(&hours), "{hours} h");
            }
            other => panic!("{other:?}"),
        }
        assert!(!s.has_blob(&b.0).unwrap(), "nothing stored past the quota");
        assert_eq!(put(&one, &a, an_hour_later), BlobStored::Present);
        // Another device has its own quota; what it stored costs the first nothing.
        assert_eq!(put(&two, &b, an_hour_later), BlobStored::Created);
        assert_eq!(put(&one, &b, an_hour_later), BlobStored::Present);
        // A day after the first upload, it no longer counts.
        let next_day = now + Duration::hours(24) + Duration::seconds(1);
        assert_eq!(put(&one, &c, next_day), BlobStored::Created);
        assert_eq!(s.get_blob(&c.0).unwrap().unwrap(), c.1);
    });
}
