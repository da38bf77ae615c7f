//! Signatures vouch for the job's content; documents are stored by their hash.

use chrono::{Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use onsite_domain::view::DocumentKind;
use onsite_domain::WorkOrderStatus;
use onsite_store::demo::{self, DemoData};
use onsite_store::documents::{self, NewSignature};
use onsite_store::workorders::{self, Day};
use onsite_store::{outbox, Store, StoreError};
use onsite_store::{Blobs, DataKey};

const DEMO: &str = include_str!("../../../assets/demo/demo.json");

fn day() -> Day {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let start = tz
        .with_ymd_and_hms(2026, 11, 24, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    Day {
        now: start + Duration::hours(10),
        start,
        end: start + Duration::days(1),
    }
}

fn seeded(path: &std::path::Path) -> (Store, String) {
    let mut store = Store::open(path, &test_key()).unwrap();
    let data = DemoData::from_json(DEMO).unwrap();
    store
        .write(|tx| {
            demo::seed(
                tx,
                &data,
                NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                FixedOffset::east_opt(8 * 3600).unwrap(),
                day().now,
            )
        })
        .unwrap();
    let id = workorders::search(store.conn(), "张志强", &day(), 1).unwrap()[0]
        .id
        .clone();
    (store, id)
}

fn strokes() -> serde_json::Value {
    serde_json::json!([{ "points": [{ "x": 10, "y": 20, "time": 1 }, { "x": 40, "y": 25, "time": 9 }] }])
}

fn move_to(
    store: &mut Store,
    id: &str,
    to: WorkOrderStatus,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    store.write(|tx| workorders::change_status(tx, id, to, reason, day().now))
}

#[test]
fn completing_needs_a_signature_on_the_current_content() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, id) = seeded(&dir.path().join("onsite.db"));
    for to in [WorkOrderStatus::OnSite, WorkOrderStatus::InProgress] {
        move_to(&mut store, &id, to, None).unwrap();
    }
    let err = move_to(&mut store, &id, WorkOrderStatus::Completed, None).unwrap_err();
    assert!(matches!(err, StoreError::SignatureRequired), "{err:?}");

    let png = documents::put_blob(
        &Blobs::new(dir.path().join("blobs"), &test_key()),
        b"\x89PNG fake signature",
    )
    .unwrap();
    let before = outbox::pending_count(store.conn()).unwrap();
    let sig = store
        .write(|tx| {
            documents::sign(
                tx,
                &NewSignature {
                    work_order_id: &id,
                    signer_name: " 张志强 ",
                    strokes: &strokes(),
                    png_sha256: &png,
                },
                day().now,
            )
        })
        .unwrap();
    assert_eq!(sig.signer_name, "张志强");
    assert_eq!(outbox::pending_count(store.conn()).unwrap(), before + 1);
    assert_eq!(
        outbox::last_for(store.conn(), &id).unwrap().unwrap().kind,
        "AttachSignature"
    );
    let d = workorders::detail(store.conn(), &id, &day()).unwrap();
    assert_eq!(d.content_hash, sig.content_hash);
    assert!(d.signatures[0].valid);

    // Changing the content afterwards voids it, visibly, and keeps it in the history.
    store
        .write(|tx| workorders::set_notes(tx, &id, "更换了PP棉和RO膜", day().now))
        .unwrap();
    let d = workorders::detail(store.conn(), &id, &day()).unwrap();
    assert_eq!(d.signatures.len(), 1);
    assert!(!d.signatures[0].valid);
    let err = move_to(&mut store, &id, WorkOrderStatus::Completed, None).unwrap_err();
    assert!(matches!(err, StoreError::SignatureRequired), "{err:?}");

    // A new signature over the new content; the old one stays.
    let later = day().now + Duration::minutes(5);
    store
        .write(|tx| {
            documents::sign(
                tx,
                &NewSignature {
                    work_order_id: &id,
                    signer_name: "张志强",
                    strokes: &strokes(),
                    png_sha256: &png,
                },
                later,
            )
        })
        .unwrap();
    // status is not content: moving on does not void the signature
    move_to(&mut store, &id, WorkOrderStatus::Completed, None).unwrap();
    let d = workorders::detail(store.conn(), &id, &day()).unwrap();
    assert_eq!(d.summary.status, WorkOrderStatus::Completed);
    assert_eq!(
        d.signatures.iter().map(|s| s.valid).collect::<Vec<_>>(),
        vec![false, true]
    );
}

#[test]
fn completing_without_a_signature_needs_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, id) = seeded(&dir.path().join("onsite.db"));
    for to in [WorkOrderStatus::OnSite, WorkOrderStatus::InProgress] {
        move_to(&mut store, &id, to, None).unwrap();
    }
    move_to(
        &mut store,
        &id,
        WorkOrderStatus::Completed,
        Some("refused_to_sign"),
    )
    .unwrap();
    let d = workorders::detail(store.conn(), &id, &day()).unwrap();
    assert_eq!(
        d.status_history.last().unwrap().reason.as_deref(),
        Some("refused_to_sign")
    );
}

#[test]
fn empty_or_nameless_signatures_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, id) = seeded(&dir.path().join("onsite.db"));
    let png = "a".repeat(64);
    let before = outbox::pending_count(store.conn()).unwrap();
    for (name, strokes) in [
        ("张志强", serde_json::json!([])),
        ("张志强", serde_json::json!([{ "points": [] }])),
        ("   ", strokes()),
    ] {
        let err = store
            .write(|tx| {
                documents::sign(
                    tx,
                    &NewSignature {
                        work_order_id: &id,
                        signer_name: name,
                        strokes: &strokes,
                        png_sha256: &png,
                    },
                    day().now,
                )
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
    assert_eq!(outbox::pending_count(store.conn()).unwrap(), before);
    assert!(workorders::detail(store.conn(), &id, &day())
        .unwrap()
        .signatures
        .is_empty());
}

#[test]
fn blobs_are_content_addressed_and_documents_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, id) = seeded(&dir.path().join("onsite.db"));
    let blobs = Blobs::new(dir.path().join("blobs"), &test_key());
    let a = documents::put_blob(&blobs, b"%PDF-1.7 one").unwrap();
    assert_eq!(documents::put_blob(&blobs, b"%PDF-1.7 one").unwrap(), a);
    assert_eq!(documents::read_blob(&blobs, &a).unwrap(), b"%PDF-1.7 one");
    assert!(documents::blob_path(&blobs, &a).unwrap().exists());
    assert_eq!(
        std::fs::read_dir(blobs.dir()).unwrap().count(),
        1,
        "no temporary files left"
    );
    assert!(documents::blob_path(&blobs, "../../etc/passwd").is_err());

    let before = outbox::pending_count(store.conn()).unwrap();
    for _ in 0..2 {
        store
            .write(|tx| {
                documents::record_document(
                    tx,
                    &id,
                    DocumentKind::SignOff,
                    "zh-CN",
                    &a,
                    12,
                    day().now,
                )
            })
            .unwrap();
    }
    assert_eq!(outbox::pending_count(store.conn()).unwrap(), before + 1);
    let docs = documents::documents(store.conn(), &id).unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].kind, DocumentKind::SignOff);
}

#[test]
fn the_signature_covers_the_quote_as_shown() {
    use onsite_store::visit::{self, QuoteLine, QuoteRequest};
    let dir = tempfile::tempdir().unwrap();
    let (mut store, id) = seeded(&dir.path().join("onsite.db"));
    move_to(&mut store, &id, WorkOrderStatus::OnSite, None).unwrap();
    let before = documents::signed_content(store.conn(), &id).unwrap();
    assert!(before.lines.is_empty());
    let request = |quantity| QuoteRequest {
        visit_date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        work_date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        lines: vec![QuoteLine {
            code: "F-PP-10".into(),
            quantity,
            component: None,
            price_minor: None,
        }],
        contracts: Vec::new(),
    };
    visit::write(&mut store, |tx| {
        visit::issue_quote(tx, &id, &request(1), day().now)
    })
    .unwrap();
    let quoted = documents::signed_content(store.conn(), &id).unwrap();
    assert_eq!(quoted.lines.len(), 1);
    assert_eq!(quoted.lines[0].code, "F-PP-10");
    assert_ne!(quoted.hash(), before.hash());

    let png = "d".repeat(64);
    store
        .write(|tx| {
            documents::sign(
                tx,
                &NewSignature {
                    work_order_id: &id,
                    signer_name: "张志强",
                    strokes: &strokes(),
                    png_sha256: &png,
                },
                day().now,
            )
        })
        .unwrap();
    assert!(documents::valid_signature(store.conn(), &id)
        .unwrap()
        .is_some());
    // a new quote with another quantity is new content: the signature is void
    visit::write(&mut store, |tx| {
        visit::issue_quote(tx, &id, &request(2), day().now)
    })
    .unwrap();
    assert!(documents::valid_signature(store.conn(), &id)
        .unwrap()
        .is_none());
}

#[test]
fn exporting_a_document_checks_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::new(dir.path().join("blobs"), &test_key());
    let sha = documents::put_blob(&blobs, b"%PDF-1.7 signed sheet").unwrap();
    let dest = dir.path().join("out").join("WO-1 sign-off.pdf");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    documents::export_blob(&blobs, &sha, &dest).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"%PDF-1.7 signed sheet");
    assert_eq!(
        std::fs::read_dir(dest.parent().unwrap()).unwrap().count(),
        1,
        "no temp file left"
    );
    // a blob whose file was tampered with is refused, and nothing is written
    std::fs::write(documents::blob_path(&blobs, &sha).unwrap(), b"tampered").unwrap();
    let other = dir.path().join("out").join("copy.pdf");
    assert!(matches!(
        documents::export_blob(&blobs, &sha, &other),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(!other.exists());
}

#[test]
fn signing_again_resolves_a_signature_whose_file_was_lost_here() {
    use onsite_store::sync as store_sync;
    let dir = tempfile::tempdir().unwrap();
    let (mut store, id) = seeded(&dir.path().join("onsite.db"));
    let png = documents::put_blob(
        &Blobs::new(dir.path().join("blobs"), &test_key()),
        b"\x89PNG first",
    )
    .unwrap();
    let sign = |store: &mut Store, png: &str| {
        store
            .write(|tx| {
                documents::sign(
                    tx,
                    &NewSignature {
                        work_order_id: &id,
                        signer_name: "张志强",
                        strokes: &strokes(),
                        png_sha256: png,
                    },
                    day().now,
                )
            })
            .unwrap()
    };
    sign(&mut store, &png);
    // The sync found the first signature's file damaged: its record waits on it.
    let first = outbox::last_for(store.conn(), &id).unwrap().unwrap();
    store
        .write(|tx| {
            store_sync::set_waiting(
                tx,
                &[store_sync::Waiting {
                    op_id: first.op_id.clone(),
                    why: "file_damaged".into(),
                    held: false,
                }],
                day().now,
            )
        })
        .unwrap();
    // The customer signs again: the stuck record goes without its file, saying why; the
    // new one goes with its own.
    let again = documents::put_blob(
        &Blobs::new(dir.path().join("blobs"), &test_key()),
        b"\x89PNG second",
    )
    .unwrap();
    sign(&mut store, &again);
    let pending = outbox::pending(store.conn(), 100).unwrap();
    let old = pending.iter().find(|p| p.op_id == first.op_id).unwrap();
    assert!(old.blob_waiver.as_deref().unwrap().contains("signed again"));
    let new = pending.last().unwrap();
    assert_eq!(new.kind, outbox::kind::ATTACH_SIGNATURE);
    assert_eq!(new.blob_waiver, None);
}

fn test_key() -> DataKey {
    DataKey::from_array([7; 32])
}
