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
