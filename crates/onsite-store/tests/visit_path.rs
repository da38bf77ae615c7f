//! Issue 10: the visit as a technician lives it. A note after completion is an addendum
//! outside the signed content; the status steps the visit implies are taken for the
//! technician (and stamped); missing input is named; drafts survive; the diagnosis offers
//! the appliance's own components; documents say their paper.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use onsite_domain::ipc::ErrorCode;
use onsite_domain::view::{DocumentKind, Paper};
use onsite_domain::WorkOrderStatus;
use onsite_store::demo::{self, DemoData};
use onsite_store::documents::{self, NewSignature};
use onsite_store::visit::{
    self, Decision, DiagnosisInput, PaymentInput, PaymentMethod, QuoteLine, QuoteRequest, TakePart,
    VisitError,
};
use onsite_store::workorders::{self, Day};
use onsite_store::{drafts, outbox, Store, StoreError};
use onsite_store::{Blobs, DataKey};

const DEMO: &str = include_str!("../../../assets/demo/demo.json");

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn day() -> Day {
    let start = beijing()
        .with_ymd_and_hms(2026, 11, 24, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    Day {
        now: start + Duration::hours(10),
        start,
        end: start + Duration::days(1),
    }
}

fn at(minutes: i64) -> DateTime<Utc> {
    day().now + Duration::minutes(minutes)
}

fn seeded(dir: &std::path::Path) -> Store {
    let mut store = Store::open(&dir.join("onsite.db"), &test_key()).unwrap();
    let data = DemoData::from_json(DEMO).unwrap();
    store
        .write(|tx| {
            demo::seed(
                tx,
                &data,
                NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                beijing(),
                day().now,
            )
        })
        .unwrap();
    store
}

/// The earliest assigned job of this customer with this job type.
fn order_of(store: &Store, customer: &str, job_type: &str) -> String {
    store
        .conn()
        .query_row(
            "SELECT w.id FROM work_order w JOIN customer c ON c.id = w.customer_id
             WHERE c.name = ?1 AND w.job_type = ?2 AND w.status = 'assigned'
             ORDER BY w.appointment_start LIMIT 1",
            [customer, job_type],
            |r| r.get(0),
        )
        .unwrap()
}

fn on_site(store: &mut Store, id: &str) {
    store
        .write(|tx| workorders::change_status(tx, id, WorkOrderStatus::OnSite, None, at(0)))
        .unwrap();
}

fn sign(store: &mut Store, dir: &std::path::Path, id: &str) {
    let png = documents::put_blob(
        &Blobs::new(dir.join("blobs"), &test_key()),
        b"\x89PNG fake signature",
    )
    .unwrap();
    store
        .write(|tx| {
            documents::sign(
                tx,
                &NewSignature {
                    work_order_id: id,
                    signer_name: "张志强",
                    strokes: &serde_json::json!([{ "points": [{ "x": 1, "y": 2, "time": 1 }, { "x": 9, "y": 5, "time": 4 }] }]),
                    png_sha256: &png,
                },
                at(1),
            )
        })
        .unwrap();
}

/// The job's outbox kinds, oldest first, with their `to` for status changes.
fn ops(store: &Store, id: &str) -> Vec<String> {
    outbox::pending(store.conn(), 10_000)
        .unwrap()
        .into_iter()
        .filter(|op| op.entity_id == id)
        .map(|op| match op.payload.get("to").and_then(|t| t.as_str()) {
            Some(to) if op.kind == outbox::kind::CHANGE_STATUS => format!("{}:{to}", op.kind),
            _ => op.kind,
        })
        .collect()
}

fn history(store: &Store, id: &str) -> Vec<(WorkOrderStatus, DateTime<Utc>)> {
    workorders::detail(store.conn(), id, &day())
        .unwrap()
        .status_history
        .iter()
        .map(|h| (h.to, h.at))
        .collect()
}

/// Records a diagnosis of `fault` on one component.
fn diagnose(store: &mut Store, id: &str, fault: &str, component: &str, when: DateTime<Utc>) {
    visit::write(store, |tx| {
        visit::record_diagnosis(
            tx,
            id,
            &DiagnosisInput {
                fault_found: fault.into(),
                components: vec![component.into()],
                ..Default::default()
            },
            when,
        )
    })
    .unwrap();
}

fn line(code: &str, quantity: i32) -> QuoteLine {
    QuoteLine {
        code: code.into(),
        quantity,
        component: None,
        price_minor: None,
    }
}

fn request(lines: Vec<QuoteLine>) -> QuoteRequest {
    QuoteRequest {
        visit_date: "2026-11-24".parse().unwrap(),
        work_date: "2026-11-24".parse().unwrap(),
        lines,
        contracts: Vec::new(),
    }
}

fn code(e: VisitError) -> ErrorCode {
    e.to_ipc().code
}

fn outbox_len(store: &Store) -> i64 {
    outbox::pending_count(store.conn()).unwrap()
}

#[test]
fn completing_an_on_site_job_stamps_in_progress_then_completed() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(dir.path());
    let id = order_of(&store, "张志强", "repair");
    on_site(&mut store, &id);
    let d = workorders::detail(store.conn(), &id, &day()).unwrap();
    // No separate "start work" step on site.
    assert_eq!(
        d.next_statuses,
        vec![
            WorkOrderStatus::Completed,
            WorkOrderStatus::UnableToComplete
        ]
    );
    // Completing still needs the signature: nothing is stamped without it.
    let before = outbox_len(&store);
    let err = store
        .write(|tx| workorders::change_status(tx, &id, WorkOrderStatus::Completed, None, at(5)))
        .unwrap_err();
    assert!(matches!(err, StoreError::SignatureRequired), "{err:?}");
    assert_eq!(outbox_len(&store), before);
    assert_eq!(
        workorders::detail(store.conn(), &id, &day())
            .unwrap()
            .summary
            .status,
        WorkOrderStatus::OnSite
    );

    sign(&mut store, dir.path(), &id);
    store
        .write(|tx| workorders::change_status(tx, &id, WorkOrderStatus::Completed, None, at(5)))
        .unwrap();
    let h = history(&store, &id);
    assert_eq!(
        h[h.len() - 2..],
        [
            (WorkOrderStatus::InProgress, at(5)),
            (WorkOrderStatus::Completed, at(5))
        ]
    );
    let kinds = ops(&store, &id);
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["ChangeStatus:in_progress", "ChangeStatus:completed"]
    );
    // Each op carries the status it left and the version it was made on.
    let pending = outbox::pending(store.conn(), 10_000).unwrap();
    let last_two: Vec<_> = pending
        .iter()
        .filter(|o| o.entity_id == id)
        .rev()
        .take(2)
        .collect();
    assert_eq!(last_two[1].payload["from"], "on_site");
    assert_eq!(last_two[0].payload["from"], "in_progress");
    assert_eq!(
        last_two[0].base_version,
        last_two[1].base_version.map(|v| v + 1)
    );
    // The other moves are as before.
    let other = order_of(&store, "王伟", "relocate");
    let d = workorders::detail(store.conn(), &other, &day()).unwrap();
    assert_eq!(
        d.next_statuses,
        vec![
            WorkOrderStatus::EnRoute,
            WorkOrderStatus::OnSite,
            WorkOrderStatus::UnableToComplete
        ]
    );
    store
        .write(|tx| workorders::change_status(tx, &other, WorkOrderStatus::OnSite, None, at(0)))
        .unwrap();
    // "start work" by hand is still a valid move (older screens).
    store
        .write(|tx| workorders::change_status(tx, &other, WorkOrderStatus::InProgress, None, at(1)))
        .unwrap();
}

#[test]
fn a_note_after_completion_is_an_addendum_and_the_signature_stays_valid() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(dir.path());
    let id = order_of(&store, "张志强", "repair");
    on_site(&mut store, &id);

    // Not on an open job: its notes are edited instead.
    let err = store
        .write(|tx| workorders::add_addendum(tx, &id, "too early", at(2)))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");

    sign(&mut store, dir.path(), &id);
    store
        .write(|tx| workorders::change_status(tx, &id, WorkOrderStatus::Completed, None, at(5)))
        .unwrap();
    let signed = workorders::detail(store.conn(), &id, &day()).unwrap();
    assert!(signed.signatures.last().unwrap().valid);

    // The notes are part of what the customer signed: refused, nothing written.
    let before = outbox_len(&store);
    let err = store
        .write(|tx| workorders::set_notes(tx, &id, "更换了PP棉", at(10)))
        .unwrap_err();
    assert!(matches!(err, StoreError::JobClosed), "{err:?}");
    assert_eq!(err.to_ipc().code, ErrorCode::JobClosed);
    assert!(err.to_ipc().message.contains("add a note after completion"));
    assert_eq!(outbox_len(&store), before);

    // Blank, or longer than 2,000 characters: refused.
    for bad in ["   ".to_string(), "字".repeat(2_001)] {
        let err = store
            .write(|tx| workorders::add_addendum(tx, &id, &bad, at(10)))
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
    assert_eq!(outbox_len(&store), before);

    let first = store
        .write(|tx| workorders::add_addendum(tx, &id, "  客户明天来取旧滤芯  ", at(10)))
        .unwrap();
    assert_eq!(first.text, "客户明天来取旧滤芯");
    store
        .write(|tx| workorders::add_addendum(tx, &id, &"x".repeat(2_000), at(20)))
        .unwrap();
    assert_eq!(outbox_len(&store), before + 2);

    let d = workorders::detail(store.conn(), &id, &day()).unwrap();
    assert_eq!(d.notes, signed.notes, "the notes are as signed");
    assert_eq!(d.content_hash, signed.content_hash, "not signed content");
    assert!(d.signatures.last().unwrap().valid, "the signature holds");
    assert_eq!(
        d.addenda.iter().map(|a| a.at).collect::<Vec<_>>(),
        [at(10), at(20)],
        "oldest first"
    );
    assert_eq!(d.addenda[0].id, first.id);

    let op = outbox::last_for(store.conn(), &id).unwrap().unwrap();
    assert_eq!(op.kind, "AddAddendum");
    assert_eq!(op.payload["work_order_id"], id.as_str());
    assert_eq!(op.payload["addendum_id"], d.addenda[1].id.as_str());
    assert_eq!(op.payload["text"], "x".repeat(2_000).as_str());
    assert!(op.payload["at"].is_string());

    // An ended job takes addenda too; a cancelled one does not.
    let ended = order_of(&store, "王伟", "relocate");
    store
        .write(|tx| {
            workorders::change_status(
                tx,
                &ended,
                WorkOrderStatus::UnableToComplete,
                Some("客户不在家"),
                at(0),
            )
        })
        .unwrap();
    assert!(matches!(
        store
            .write(|tx| workorders::set_notes(tx, &ended, "x", at(1)))
            .unwrap_err(),
        StoreError::JobClosed
    ));
    store
        .write(|tx| workorders::add_addendum(tx, &ended, "邻居说客户出差", at(1)))
        .unwrap();
}

#[test]
fn visit_steps_on_an_on_site_job_start_the_work_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(dir.path());
    let id = order_of(&store, "张志强", "repair");
    on_site(&mut store, &id);
    diagnose(&mut store, &id, "增压泵卡死", "pump", at(1));
    let quote = visit::write(&mut store, |tx| {
        visit::issue_quote(
            tx,
            &id,
            &request(vec![line("REPLACE", 1), line("P-PUMP-24V", 1)]),
            at(2),
        )
    })
    .unwrap();
    // Diagnosing and quoting are not work yet.
    assert_eq!(
        workorders::detail(store.conn(), &id, &day())
            .unwrap()
            .summary
            .status,
        WorkOrderStatus::OnSite
    );
    visit::write(&mut store, |tx| {
        visit::decide_quote(tx, &id, &quote.id, Decision::Accepted, at(3))
    })
    .unwrap();
    let kinds = ops(&store, &id);
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["ChangeStatus:in_progress", "RecordQuoteDecision"]
    );
    assert_eq!(
        history(&store, &id).last(),
        Some(&(WorkOrderStatus::InProgress, at(3)))
    );
    // Already in progress: the next step stamps nothing more.
    let pump = visit::find_part_no(store.conn(), "P-PUMP-24V")
        .unwrap()
        .unwrap()
        .part_id;
    visit::write(&mut store, |tx| {
        visit::take_part(
            tx,
            &id,
            &TakePart {
                part_id: pump.clone(),
                quantity: 1,
                serial_fitted: Some("PUMP-NEW-1".into()),
                serial_removed: Some("PUMP-OLD-1".into()),
                override_reason: None,
            },
            at(4),
        )
    })
    .unwrap();
    assert_eq!(ops(&store, &id).last().unwrap(), "ConsumePart");
    assert_eq!(
        ops(&store, &id)
            .iter()
            .filter(|k| *k == "ChangeStatus:in_progress")
            .count(),
        1
    );

    // A payment on a job head office still has on site starts the work too.
    store
        .conn()
        .execute(
            "UPDATE work_order SET status = 'on_site' WHERE id = ?1",
            [&id],
        )
        .unwrap();
    let customer: String = store
        .conn()
        .query_row(
            "SELECT customer_id FROM work_order WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!customer.is_empty());
    visit::write(&mut store, |tx| {
        visit::take_payment(
            tx,
            &id,
            &PaymentInput {
                method: PaymentMethod::Card,
                amount_minor: 100,
                tendered_minor: None,
            },
            at(6),
        )
    })
    .unwrap();
    let kinds = ops(&store, &id);
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["ChangeStatus:in_progress", "TakePayment"]
    );
    // And invoicing the rest later does not stamp it again.
    visit::write(&mut store, |tx| visit::invoice_later(tx, &id, at(7))).unwrap();
    assert_eq!(ops(&store, &id).last().unwrap(), "InvoiceLater");
}

#[test]
fn missing_input_is_named_and_quantities_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(dir.path());
    let id = order_of(&store, "张志强", "repair");
    let before = outbox_len(&store);
    for blank in ["", "   "] {
        let e = visit::write(&mut store, |tx| {
            visit::record_diagnosis(
                tx,
                &id,
                &DiagnosisInput {
                    fault_found: blank.into(),
                    components: vec!["pump".into()],
                    notes: "notes alone are not a diagnosis".into(),
                    ..Default::default()
                },
                at(1),
            )
        })
        .unwrap_err();
        assert_eq!(code(e), ErrorCode::FaultRequired);
    }
    assert!(visit::state(store.conn(), &id).unwrap().diagnosis.is_none());
    let e = visit::write(&mut store, |tx| {
        visit::issue_quote(tx, &id, &request(vec![]), at(2))
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::QuoteEmpty);
    assert!(e_text(ErrorCode::QuoteEmpty).contains("at least one service or part"));
    assert_eq!(outbox_len(&store), before);

    // The quote: two filters; then 0, a negative number, or more than is left to take.
    diagnose(&mut store, &id, "滤芯堵塞", "filter", at(1));
    let quote = visit::write(&mut store, |tx| {
        visit::issue_quote(
            tx,
            &id,
            &request(vec![line("REPLACE", 1), line("F-PP-10", 2)]),
            at(2),
        )
    })
    .unwrap();
    visit::write(&mut store, |tx| {
        visit::decide_quote(tx, &id, &quote.id, Decision::Accepted, at(3))
    })
    .unwrap();
    let filter = visit::find_part_no(store.conn(), "F-PP-10")
        .unwrap()
        .unwrap()
        .part_id;
    let take = |quantity: i64| TakePart {
        part_id: filter.clone(),
        quantity,
        serial_fitted: None,
        serial_removed: None,
        override_reason: None,
    };
    for quantity in [0, -1, 3] {
        let e = visit::write(&mut store, |tx| {
            visit::take_part(tx, &id, &take(quantity), at(4))
        })
        .unwrap_err();
        assert_eq!(code(e), ErrorCode::InvalidQuantity, "{quantity}");
    }
    visit::write(&mut store, |tx| visit::take_part(tx, &id, &take(1), at(4))).unwrap();
    let e = visit::write(&mut store, |tx| visit::take_part(tx, &id, &take(2), at(5))).unwrap_err();
    assert!(e.to_string().contains("between 1 and 1"), "{e}");
    assert_eq!(code(e), ErrorCode::InvalidQuantity, "only one left to take");
    visit::write(&mut store, |tx| visit::take_part(tx, &id, &take(1), at(5))).unwrap();
    // A part that is not on the quote is still a quote matter.
    let other = visit::find_part_no(store.conn(), "F-CTO-10")
        .unwrap()
        .unwrap()
        .part_id;
    let e = visit::write(&mut store, |tx| {
        visit::take_part(
            tx,
            &id,
            &TakePart {
                part_id: other.clone(),
                ..take(1)
            },
            at(6),
        )
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::QuoteRequired);
}

fn e_text(code: ErrorCode) -> String {
    match code {
        ErrorCode::QuoteEmpty => VisitError::QuoteEmpty.to_string(),
        ErrorCode::FaultRequired => VisitError::FaultRequired.to_string(),
        _ => String::new(),
    }
}

#[test]
fn drafts_are_kept_until_the_real_thing_is_saved_and_never_synced() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(dir.path());
    let id = order_of(&store, "张志强", "repair");
    let before = outbox_len(&store);
    for (field, text) in [
        ("notes", "带2kW加热管"),
        ("fault", "增压泵"),
        ("diagnosis_notes", "滤芯也该换了"),
        ("feedback_comment", "师傅很准时"),
        ("addendum", "later"),
    ] {
        store
            .write(|tx| drafts::save(tx, &id, field, text, at(1)))
            .unwrap();
    }
    // Saved again: replaced.
    store
        .write(|tx| drafts::save(tx, &id, "fault", "增压泵卡死", at(2)))
        .unwrap();
    let kept = drafts::for_job(store.conn(), &id).unwrap();
    assert_eq!(kept.len(), 5);
    let fault = kept.iter().find(|d| d.field == "fault").unwrap();
    assert_eq!((fault.text.as_str(), fault.saved_at), ("增压泵卡死", at(2)));
    assert_eq!(outbox_len(&store), before, "drafts are never synced");

    // Refused: an unknown field, too long, an unknown job.
    for (job, field, text) in [
        (id.as_str(), "reported_fault", "x".to_string()),
        (id.as_str(), "notes", "x".repeat(10_001)),
    ] {
        let err = store
            .write(|tx| drafts::save(tx, job, field, &text, at(3)))
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
    let err = store
        .write(|tx| drafts::save(tx, "no-such-job", "notes", "x", at(3)))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    store
        .write(|tx| drafts::save(tx, &id, "notes", &"x".repeat(10_000), at(3)))
        .unwrap();

    // Reopening the data file keeps them.
    drop(store);
    let mut store = Store::open(&dir.path().join("onsite.db"), &test_key()).unwrap();
    let fields = |store: &Store| -> Vec<String> {
        drafts::for_job(store.conn(), &id)
            .unwrap()
            .into_iter()
            .map(|d| d.field)
            .collect()
    };
    assert_eq!(
        fields(&store),
        [
            "addendum",
            "diagnosis_notes",
            "fault",
            "feedback_comment",
            "notes"
        ]
    );

    // Empty text deletes a draft.
    store
        .write(|tx| drafts::save(tx, &id, "addendum", "", at(4)))
        .unwrap();
    assert!(!fields(&store).contains(&"addendum".to_string()));

    // Saving the real thing clears its drafts, and only its own.
    store
        .write(|tx| workorders::set_notes(tx, &id, "带2kW加热管", at(5)))
        .unwrap();
    assert_eq!(
        fields(&store),
        ["diagnosis_notes", "fault", "feedback_comment"]
    );
    diagnose(&mut store, &id, "增压泵卡死", "pump", at(6));
    assert_eq!(fields(&store), ["feedback_comment"]);
    visit::write(&mut store, |tx| {
        visit::record_feedback(tx, &id, 5, "师傅很准时", true, at(7))
    })
    .unwrap();
    assert!(fields(&store).is_empty());

    // And the addendum's, once the job is closed.
    store
        .write(|tx| {
            workorders::change_status(
                tx,
                &id,
                WorkOrderStatus::UnableToComplete,
                Some("缺配件"),
                at(8),
            )
        })
        .unwrap();
    store
        .write(|tx| drafts::save(tx, &id, "addendum", "下周再来", at(9)))
        .unwrap();
    store
        .write(|tx| workorders::add_addendum(tx, &id, "下周再来", at(10)))
        .unwrap();
    assert!(fields(&store).is_empty());
}

#[test]
fn the_diagnosis_offers_the_components_of_the_appliances_category() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(dir.path());
    let codes = |category: &str| -> Vec<String> {
        visit::components_for(store.conn(), category)
            .unwrap()
            .into_iter()
            .map(|c| c.code)
            .collect()
    };
    let purifier = codes("water_purifier");
    for absent in ["compressor", "glass", "heater", "mirror"] {
        assert!(
            !purifier.contains(&absent.to_string()),
            "{absent}: {purifier:?}"
        );
    }
    for present in [
        "appliance",
        "filter",
        "pump",
        "valve",
        "tank",
        "fitting",
        "electrical",
    ] {
        assert!(
            purifier.contains(&present.to_string()),
            "{present}: {purifier:?}"
        );
    }
    assert!(codes("water_heater").contains(&"heater".to_string()));
    let furniture = codes("furniture");
    assert!(furniture.contains(&"glass".to_string()) && furniture.contains(&"mirror".to_string()));
    assert!(codes("electronics").contains(&"compressor".to_string()));
    // Each code once.
    let mut unique = purifier.clone();
    unique.dedup();
    assert_eq!(unique.len(), purifier.len());

    // Pricing still knows a heater quoted on a water purifier (its term is the heater's).
    let id = order_of(&store, "张志强", "repair");
    let quote = visit::write(&mut store, |tx| {
        visit::issue_quote(tx, &id, &request(vec![line("H-ELEM-2KW", 1)]), at(1))
    })
    .unwrap();
    assert_eq!(quote.priced.lines[0].code, "H-ELEM-2KW");
}

#[test]
fn documents_say_their_paper() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(dir.path());
    let id = order_of(&store, "张志强", "repair");
    let blobs = Blobs::new(dir.path().join("blobs"), &test_key());
    let a4_pdf = b"%PDF-1.3\n1 0 obj << /Type /Page /MediaBox [0 0 595.2756 841.8898] >>".to_vec();
    // As printpdf writes it (onsite-docs' 80 mm receipt).
    let roll_pdf = b"%PDF-1.3\n1 0 obj<</Type/Page/MediaBox[0 0 226.77168 546.31445]>>".to_vec();
    assert_eq!(documents::paper_of_pdf(&a4_pdf), Some(Paper::A4));
    assert_eq!(documents::paper_of_pdf(&roll_pdf), Some(Paper::Roll80mm));
    assert_eq!(documents::paper_of_pdf(b"%PDF no box"), None);
    let a4 = documents::put_blob(&blobs, &a4_pdf).unwrap();
    let roll = documents::put_blob(&blobs, &roll_pdf).unwrap();
    store
        .write(|tx| {
            documents::record_document(
                tx,
                &id,
                DocumentKind::PaymentReceipt,
                "zh-CN",
                &a4,
                a4_pdf.len() as i64,
                at(1),
            )?;
            documents::record_document_on(
                tx,
                &id,
                DocumentKind::PaymentReceipt,
                "zh-CN",
                Paper::Roll80mm,
                &roll,
                roll_pdf.len() as i64,
                at(1),
            )
        })
        .unwrap();
    let paper_of = |store: &Store, sha: &str| {
        documents::documents(store.conn(), &id)
            .unwrap()
            .into_iter()
            .find(|d| d.sha256 == sha)
            .unwrap()
            .paper
    };
    assert_eq!(paper_of(&store, &a4), Paper::A4);
    assert_eq!(paper_of(&store, &roll), Paper::Roll80mm);
    assert_eq!(
        serde_json::to_value(Paper::Roll80mm).unwrap(),
        serde_json::json!("roll_80mm")
    );

    // Rows from before the column are read from their files.
    store
        .conn()
        .execute("UPDATE document SET paper = NULL", [])
        .unwrap();
    assert_eq!(
        paper_of(&store, &roll),
        Paper::A4,
        "the usual paper until read"
    );
    let filled = store.write(|tx| documents::fill_paper(tx, &blobs)).unwrap();
    assert_eq!(filled, 2);
    assert_eq!(paper_of(&store, &roll), Paper::Roll80mm);
    assert_eq!(paper_of(&store, &a4), Paper::A4);
}

#[test]
fn demo_jobs_in_progress_are_counted_until_enrolment() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(dir.path());
    let busy = onsite_store::sync::demo_jobs_in_progress(store.conn()).unwrap();
    let id = order_of(&store, "张志强", "repair");
    on_site(&mut store, &id);
    assert_eq!(
        onsite_store::sync::demo_jobs_in_progress(store.conn()).unwrap(),
        busy + 1
    );
    // Enrolled, the data is no longer the demo.
    store
        .write(|tx| {
            onsite_store::sync::save_enrolment(
                tx,
                &onsite_store::sync::Enrolment {
                    server_url: "https://hq.example".into(),
                    ca_pem: None,
                    device_id: "d".into(),
                    technician_id: "t".into(),
                    technician_name: "Tech".into(),
                    token: "secret".into(),
                    epoch: "e".into(),
                    server_id: None,
                    cert_sha256: None,
                },
            )
        })
        .unwrap();
    assert_eq!(
        onsite_store::sync::demo_jobs_in_progress(store.conn()).unwrap(),
        0
    );
}

#[test]
fn taking_a_covered_part_on_site_starts_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(dir.path());
    // 陈晓东's purifier, bought 2025-11-30 with a sealed invoice: in warranty.
    let id = order_of(&store, "陈晓东", "repair");
    on_site(&mut store, &id);
    diagnose(&mut store, &id, "滤瓶O型圈漏水", "fitting", at(1));
    let quote = visit::write(&mut store, |tx| {
        visit::issue_quote(tx, &id, &request(vec![line("X-ORING-SET", 1)]), at(2))
    })
    .unwrap();
    assert_eq!(
        quote.priced.totals.due.minor, 0,
        "covered: no decision needed"
    );
    let ring = visit::find_part_no(store.conn(), "X-ORING-SET")
        .unwrap()
        .unwrap()
        .part_id;
    visit::write(&mut store, |tx| {
        visit::take_part(
            tx,
            &id,
            &TakePart {
                part_id: ring,
                quantity: 1,
                serial_fitted: None,
                serial_removed: None,
                override_reason: None,
            },
            at(3),
        )
    })
    .unwrap();
    let kinds = ops(&store, &id);
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["ChangeStatus:in_progress", "ConsumePart"]
    );
    assert_eq!(
        history(&store, &id).last(),
        Some(&(WorkOrderStatus::InProgress, at(3)))
    );
}

#[test]
fn a_draft_does_not_keep_a_job_head_office_took_away_but_an_addendum_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(dir.path());
    let drafted = order_of(&store, "王伟", "relocate");
    store
        .write(|tx| drafts::save(tx, &drafted, "notes", "gate code 1234", at(1)))
        .unwrap();
    assert!(store
        .write(|tx| onsite_store::sync::remove_work_order(tx, &drafted))
        .unwrap());
    let left: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM draft", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0, "its drafts went with it");

    let noted = order_of(&store, "张志强", "repair");
    store
        .write(|tx| {
            workorders::change_status(
                tx,
                &noted,
                WorkOrderStatus::UnableToComplete,
                Some("客户不在家"),
                at(2),
            )?;
            workorders::add_addendum(tx, &noted, "邻居说客户出差", at(3))?;
            Ok(())
        })
        .unwrap();
    // Recorded here: kept (the sync then keeps the job and flags it).
    assert!(!store
        .write(|tx| onsite_store::sync::remove_work_order(tx, &noted))
        .unwrap());
    assert_eq!(
        workorders::detail(store.conn(), &noted, &day())
            .unwrap()
            .addenda
            .len(),
        1
    );
}

fn test_key() -> DataKey {
    DataKey::from_array([7; 32])
}
