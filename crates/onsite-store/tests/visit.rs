//! The visit in the store, on a real SQLite file with the demo data (today = 2026-11-24).
//! Every step runs through `step`, which checks that a success wrote exactly one outbox
//! row and that a failure wrote nothing at all.
#![allow(clippy::inconsistent_digit_grouping)]

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use onsite_domain::ipc::ErrorCode;
use onsite_domain::rules::{Exclusion, LineStatus, RecordedExclusion};
use onsite_domain::WorkOrderStatus;
use onsite_store::demo::{self, DemoData};
use onsite_store::visit::{
    self, Decision, DiagnosisInput, ExpenseInput, ExpenseRates, PaymentInput, PaymentMethod,
    QuoteLine, QuoteRequest, Settlement, Stage, StockCount, TakePart, VisitError, VisitResult,
};
use onsite_store::{outbox, Store};
use onsite_store::{Blobs, DataKey};
use rusqlite::Transaction;

const DEMO: &str = include_str!("../../../assets/demo/demo.json");

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn now() -> DateTime<Utc> {
    beijing()
        .with_ymd_and_hms(2026, 11, 24, 10, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn seeded(path: &std::path::Path) -> Store {
    let mut store = Store::open(path, &test_key()).unwrap();
    let data = DemoData::from_json(DEMO).unwrap();
    store
        .write(|tx| demo::seed(tx, &data, d("2026-11-24"), beijing(), now()))
        .unwrap();
    store
}

/// Every table's row count: a failed step must leave all of them as they were.
fn snapshot(store: &Store) -> Vec<(String, i64)> {
    let conn = store.conn();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'search_%' ORDER BY name")
        .unwrap();
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    names
        .into_iter()
        .map(|n| {
            let count = conn
                .query_row(&format!("SELECT count(*) FROM \"{n}\""), [], |r| r.get(0))
                .unwrap();
            (n, count)
        })
        .collect()
}

fn outbox_len(store: &Store) -> i64 {
    store
        .conn()
        .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap()
}

/// Runs one step; on success exactly one new outbox row of `kind`, on failure no change.
fn step<T>(
    store: &mut Store,
    kind: &str,
    f: impl FnOnce(&Transaction) -> VisitResult<T>,
) -> VisitResult<T> {
    let before = snapshot(store);
    let outbox_before = outbox_len(store);
    let result = visit::write(store, f);
    match &result {
        Ok(_) => {
            assert_eq!(
                outbox_len(store),
                outbox_before + 1,
                "one outbox row per step"
            );
            let last: String = store
                .conn()
                .query_row(
                    "SELECT kind FROM outbox ORDER BY device_seq DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(last, kind);
        }
        Err(_) => assert_eq!(snapshot(store), before, "a failed step writes nothing"),
    }
    result
}

/// The earliest assigned work order of this customer with this job type.
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

fn part_id(store: &Store, part_no: &str) -> String {
    visit::find_part_no(store.conn(), part_no)
        .unwrap()
        .unwrap()
        .part_id
}

fn stock(store: &Store, part_no: &str) -> i64 {
    visit::find_part_no(store.conn(), part_no)
        .unwrap()
        .unwrap()
        .quantity
}

fn ledger_sum(store: &Store, part_no: &str) -> i64 {
    visit::stock_movements(store.conn(), &part_id(store, part_no))
        .unwrap()
        .iter()
        .map(|m| m.delta)
        .sum()
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
        visit_date: d("2026-11-24"),
        work_date: d("2026-11-24"),
        lines,
        contracts: Vec::new(),
    }
}

fn customer_of(store: &Store, order: &str) -> String {
    store
        .conn()
        .query_row(
            "SELECT customer_id FROM work_order WHERE id = ?1",
            [order],
            |r| r.get(0),
        )
        .unwrap()
}

fn code(e: VisitError) -> ErrorCode {
    e.to_ipc().code
}

/// No outbox payload carries a customer's name, phone or address.
fn assert_no_customer_data(store: &Store) {
    let conn = store.conn();
    let mut stmt = conn
        .prepare("SELECT name, phone, address FROM customer")
        .unwrap();
    let secrets: Vec<String> = stmt
        .query_map([], |r| Ok([r.get::<_, String>(0)?, r.get(1)?, r.get(2)?]))
        .unwrap()
        .flat_map(|r| r.unwrap())
        .filter(|s| !s.is_empty())
        .collect();
    for op in outbox::pending(conn, 10_000).unwrap() {
        let text = op.payload.to_string();
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{} carries customer data",
                op.kind
            );
        }
    }
}

#[test]
fn paid_out_of_warranty_repair_with_bundle_part_and_cash_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onsite.db");
    let mut store = seeded(&path);
    // 张 (zhang_ro) bought 2024-06-10: 12 months ended long ago.
    let order = order_of(&store, "张志强", "repair");
    let t = now();

    let blobs = Blobs::new(dir.path().join("blobs"), &test_key());
    let photo = visit::put_blob(&blobs, b"\xff\xd8 fake jpeg bytes", "image/jpeg").unwrap();
    let again = visit::put_blob(&blobs, b"\xff\xd8 fake jpeg bytes", "image/jpeg").unwrap();
    assert_eq!(photo, again);
    assert_eq!(
        onsite_store::documents::read_blob(&blobs, &photo.sha256).unwrap(),
        b"\xff\xd8 fake jpeg bytes"
    );
    assert_eq!(
        std::fs::read_dir(blobs.dir()).unwrap().count(),
        1,
        "no temp file, no duplicate"
    );

    step(&mut store, outbox::kind::RECORD_DIAGNOSIS, |tx| {
        visit::record_diagnosis(
            tx,
            &order,
            &DiagnosisInput {
                fault_found: "booster pump seized".into(),
                components: vec!["pump".into()],
                exclusions: vec![],
                notes: "filters due too".into(),
                photos: vec![photo.clone(), photo.clone()],
            },
            t,
        )
    })
    .unwrap();
    let attachments: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM visit_attachment", [], |r| r.get(0))
        .unwrap();
    assert_eq!(attachments, 1, "content-addressed: one row per content");

    let quote = step(&mut store, outbox::kind::ISSUE_QUOTE, |tx| {
        visit::issue_quote(
            tx,
            &order,
            &request(vec![
                line("MAINT", 1),
                line("REPLACE", 1),
                line("RELOCATE", 1),
                line("P-PUMP-24V", 1),
            ]),
            t,
        )
    })
    .unwrap();
    let codes: Vec<&str> = quote.priced.lines.iter().map(|l| l.code.as_str()).collect();
    assert_eq!(codes, ["RELOCATE_MAINT_REPLACE", "P-PUMP-24V"]);
    assert!(quote
        .priced
        .lines
        .iter()
        .all(|l| l.status == LineStatus::Charged));
    assert_eq!(quote.priced.totals.due.minor, 60_00 + 180_00);
    assert_eq!(quote.fee_table_version, 1);
    assert_eq!(quote.priced.fee_table.version, "1");

    // No work on charged lines before the customer accepts.
    let pump = part_id(&store, "P-PUMP-24V");
    let take = TakePart {
        part_id: pump.clone(),
        quantity: 1,
        serial_fitted: Some("PUMP-NEW-001".into()),
        serial_removed: Some("PUMP-OLD-777".into()),
        override_reason: None,
    };
    let e = step(&mut store, "", |tx| visit::take_part(tx, &order, &take, t)).unwrap_err();
    assert_eq!(code(e), ErrorCode::QuoteNotAccepted);
    assert_eq!(
        visit::state(store.conn(), &order).unwrap().stage,
        Stage::Quoted
    );

    step(&mut store, outbox::kind::RECORD_QUOTE_DECISION, |tx| {
        visit::decide_quote(tx, &order, &quote.id, Decision::Accepted, t)
    })
    .unwrap();

    // A serialized part needs both serials.
    let no_serial = TakePart {
        serial_removed: None,
        ..take.clone()
    };
    let e = step(&mut store, "", |tx| {
        visit::take_part(tx, &order, &no_serial, t)
    })
    .unwrap_err();
    assert!(matches!(e, VisitError::SerialRequired { .. }), "{e}");
    // A part that is not on the quote cannot be taken.
    let valve = TakePart {
        part_id: part_id(&store, "E-SOL-IN"),
        quantity: 1,
        ..Default::default()
    };
    let e = step(&mut store, "", |tx| visit::take_part(tx, &order, &valve, t)).unwrap_err();
    assert_eq!(code(e), ErrorCode::QuoteRequired);

    let before = stock(&store, "P-PUMP-24V");
    step(&mut store, outbox::kind::CONSUME_PART, |tx| {
        visit::take_part(tx, &order, &take, t)
    })
    .unwrap();
    assert_eq!(stock(&store, "P-PUMP-24V"), before - 1);
    assert_eq!(ledger_sum(&store, "P-PUMP-24V"), before - 1);
    // Not more than quoted: the quantity is wrong (none left to take), not the quote.
    let e = step(&mut store, "", |tx| visit::take_part(tx, &order, &take, t)).unwrap_err();
    assert!(
        matches!(e, VisitError::InvalidQuantity { max: 0, .. }),
        "{e}"
    );

    // Cash: ¥240 due, ¥250 tendered, ¥10 change.
    let receipt = step(&mut store, outbox::kind::TAKE_PAYMENT, |tx| {
        visit::take_payment(
            tx,
            &order,
            &PaymentInput {
                method: PaymentMethod::Cash,
                amount_minor: 240_00,
                tendered_minor: Some(250_00),
            },
            t,
        )
    })
    .unwrap();
    assert_eq!(receipt.change_minor, Some(10_00));
    assert_eq!(receipt.balance.outstanding_minor, 0);
    assert_eq!(receipt.balance.settlement, Settlement::Paid);

    step(&mut store, outbox::kind::RECORD_FEEDBACK, |tx| {
        visit::record_feedback(tx, &order, 5, "准时，专业", true, t)
    })
    .unwrap();

    let state = visit::state(store.conn(), &order).unwrap();
    assert_eq!(state.stage, Stage::FeedbackGiven);
    assert_eq!(state.parts.len(), 1);
    assert_eq!(
        state.parts[0].serial_fitted.as_deref(),
        Some("PUMP-NEW-001")
    );
    assert_eq!(
        state.parts[0].serial_removed.as_deref(),
        Some("PUMP-OLD-777")
    );
    assert_eq!(state.payments[0].change_minor, Some(10_00));
    assert_eq!(state.diagnosis.as_ref().unwrap().photos.len(), 2);
    assert_eq!(state.feedback.as_ref().unwrap().rating, 5);
    assert_no_customer_data(&store);

    // Reopening the file shows exactly the same visit.
    drop(store);
    let store = Store::open(&path, &test_key()).unwrap();
    assert_eq!(visit::state(store.conn(), &order).unwrap(), state);
}

#[test]
fn in_warranty_repair_with_consumable_charged_and_old_part_deposit_reversed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onsite.db");
    let mut store = seeded(&path);
    // 陈晓东 (chenxd_ro) bought 2025-11-30 with a sealed invoice: in warranty on 2026-11-24.
    let order = order_of(&store, "陈晓东", "repair");
    let t = now();
    let quote = step(&mut store, outbox::kind::ISSUE_QUOTE, |tx| {
        visit::issue_quote(
            tx,
            &order,
            &request(vec![
                line("REPLACE", 1),
                line("F-PP-10", 1),
                line("P-PUMP-24V", 1),
            ]),
            t,
        )
    })
    .unwrap();
    let status = |code: &str| {
        quote
            .priced
            .lines
            .iter()
            .find(|l| l.code == code)
            .unwrap()
            .status
    };
    assert_eq!(status("REPLACE"), LineStatus::Covered);
    assert_eq!(
        status("F-PP-10"),
        LineStatus::Charged,
        "a filter is a consumable"
    );
    assert_eq!(
        status("P-PUMP-24V"),
        LineStatus::Deposit,
        "old pump must come back"
    );
    assert_eq!(quote.priced.totals.charged.minor, 28_00);
    assert_eq!(quote.priced.totals.deposit.minor, 180_00);
    assert_eq!(quote.priced.totals.due.minor, 208_00);

    step(&mut store, outbox::kind::RECORD_QUOTE_DECISION, |tx| {
        visit::decide_quote(tx, &order, &quote.id, Decision::Accepted, t)
    })
    .unwrap();
    let pump = part_id(&store, "P-PUMP-24V");
    let pump_use = step(&mut store, outbox::kind::CONSUME_PART, |tx| {
        visit::take_part(
            tx,
            &order,
            &TakePart {
                part_id: pump,
                quantity: 1,
                serial_fitted: Some("NEW-1".into()),
                serial_removed: Some("OLD-1".into()),
                override_reason: None,
            },
            t,
        )
    })
    .unwrap();
    step(&mut store, outbox::kind::CONSUME_PART, |tx| {
        visit::take_part(
            tx,
            &order,
            &TakePart {
                part_id: visit::find_part_no(tx, "F-PP-10").unwrap().unwrap().part_id,
                quantity: 1,
                ..Default::default()
            },
            t,
        )
    })
    .unwrap();

    // Part-payment of the filter by QR; the deposit is still outstanding.
    let receipt = step(&mut store, outbox::kind::TAKE_PAYMENT, |tx| {
        visit::take_payment(
            tx,
            &order,
            &PaymentInput {
                method: PaymentMethod::Qr,
                amount_minor: 28_00,
                tendered_minor: None,
            },
            t,
        )
    })
    .unwrap();
    assert_eq!(receipt.balance.outstanding_minor, 180_00);
    assert_eq!(receipt.balance.settlement, Settlement::PartPaid);

    // The work order is completed (sign-off is not this module's step: set directly);
    // the old pump is handed in at the warehouse afterwards.
    store
        .conn()
        .execute(
            "UPDATE work_order SET status = 'completed' WHERE id = ?1",
            [&order],
        )
        .unwrap();
    let back = step(&mut store, outbox::kind::RETURN_PART, |tx| {
        visit::return_old_part(tx, &pump_use, t + Duration::hours(8))
    })
    .unwrap();
    assert_eq!(back.reversed_minor, 180_00);
    let e = step(&mut store, "", |tx| {
        visit::return_old_part(tx, &pump_use, t + Duration::hours(8))
    })
    .unwrap_err();
    assert!(matches!(e, VisitError::AlreadyReturned { .. }), "{e}");

    let state = visit::state(store.conn(), &order).unwrap();
    let q = state.quote.as_ref().unwrap();
    let pump_line = q
        .current
        .lines
        .iter()
        .find(|l| l.code == "P-PUMP-24V")
        .unwrap();
    assert_eq!(pump_line.status, LineStatus::Covered);
    assert_eq!(q.current.totals.due.minor, 28_00);
    assert_eq!(
        q.priced.totals.due.minor, 208_00,
        "the quote as shown is kept"
    );
    assert_eq!(state.balance.outstanding_minor, 0);
    assert_eq!(state.balance.settlement, Settlement::Paid);
    assert_eq!(state.returns.len(), 1);
    assert_eq!(state.returns[0].serial.as_deref(), Some("OLD-1"));
    assert_eq!(state.parts[0].old_returned, 1);

    // Completed: no more work, payment or feedback.
    let e = step(&mut store, "", |tx| {
        visit::record_feedback(tx, &order, 4, "", false, t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::OrderClosed);
    assert_no_customer_data(&store);

    drop(store);
    let store = Store::open(&path, &test_key()).unwrap();
    assert_eq!(visit::state(store.conn(), &order).unwrap(), state);
}

#[test]
fn stock_moves_through_the_ledger_with_override_returns_and_stock_take() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir.path().join("onsite.db"));
    let order = order_of(&store, "张志强", "repair");
    let t = now();
    // The tank: one in the van.
    let tank = part_id(&store, "T-TANK-3G");
    assert_eq!(stock(&store, "T-TANK-3G"), 1);
    assert_eq!(
        ledger_sum(&store, "T-TANK-3G"),
        1,
        "opening movement from the seed"
    );

    let quote = step(&mut store, outbox::kind::ISSUE_QUOTE, |tx| {
        visit::issue_quote(tx, &order, &request(vec![line("T-TANK-3G", 3)]), t)
    })
    .unwrap();
    step(&mut store, outbox::kind::RECORD_QUOTE_DECISION, |tx| {
        visit::decide_quote(tx, &order, &quote.id, Decision::Accepted, t)
    })
    .unwrap();

    let take = |qty: i64, reason: Option<&str>| TakePart {
        part_id: tank.clone(),
        quantity: qty,
        override_reason: reason.map(Into::into),
        ..Default::default()
    };
    for bad in [0, -1, 1000, i64::MAX] {
        let e = step(&mut store, "", |tx| {
            visit::take_part(tx, &order, &take(bad, None), t)
        })
        .unwrap_err();
        assert_eq!(code(e), ErrorCode::InvalidQuantity, "{bad}");
    }
    step(&mut store, outbox::kind::CONSUME_PART, |tx| {
        visit::take_part(tx, &order, &take(1, None), t)
    })
    .unwrap();
    assert_eq!(stock(&store, "T-TANK-3G"), 0);
    let e = step(&mut store, "", |tx| {
        visit::take_part(tx, &order, &take(1, None), t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::InsufficientStock);
    let e = step(&mut store, "", |tx| {
        visit::take_part(tx, &order, &take(1, Some("   ")), t)
    })
    .unwrap_err();
    assert_eq!(
        code(e),
        ErrorCode::InsufficientStock,
        "a blank reason is no reason"
    );
    step(&mut store, outbox::kind::CONSUME_PART, |tx| {
        visit::take_part(tx, &order, &take(2, Some("borrowed from 王师傅's van")), t)
    })
    .unwrap();
    assert_eq!(stock(&store, "T-TANK-3G"), -2);
    assert_eq!(ledger_sum(&store, "T-TANK-3G"), -2);
    let moves = visit::stock_movements(store.conn(), &tank).unwrap();
    assert_eq!(
        moves.last().unwrap().override_reason.as_deref(),
        Some("borrowed from 王师傅's van")
    );

    // Stock-take: counted 0 tanks (expected -2) and 10 PP filters (expected 12).
    let pp = part_id(&store, "F-PP-10");
    let (_, lines) = step(&mut store, outbox::kind::STOCK_TAKE, |tx| {
        visit::stock_take(
            tx,
            &[
                StockCount {
                    part_id: tank.clone(),
                    counted: 0,
                },
                StockCount {
                    part_id: pp.clone(),
                    counted: 10,
                },
            ],
            t,
        )
    })
    .unwrap();
    assert_eq!(
        (lines[0].expected, lines[0].counted, lines[0].difference),
        (-2, 0, 2)
    );
    assert_eq!(
        (lines[1].expected, lines[1].counted, lines[1].difference),
        (12, 10, -2)
    );
    assert_eq!(stock(&store, "T-TANK-3G"), 0);
    assert_eq!(stock(&store, "F-PP-10"), 10);
    assert_eq!(ledger_sum(&store, "F-PP-10"), 10);
    let e = step(&mut store, "", |tx| {
        visit::stock_take(
            tx,
            &[StockCount {
                part_id: pp.clone(),
                counted: -1,
            }],
            t,
        )
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::InvalidQuantity);

    // Unused filters go back to the warehouse.
    step(&mut store, outbox::kind::RETURN_PART, |tx| {
        visit::return_unused(tx, &pp, 4, None, t)
    })
    .unwrap();
    assert_eq!(stock(&store, "F-PP-10"), 6);
    let e = step(&mut store, "", |tx| {
        visit::return_unused(tx, &pp, 7, None, t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::InsufficientStock);

    // Every part's stock is the sum of its ledger.
    for item in visit::van_stock(store.conn()).unwrap() {
        assert_eq!(
            ledger_sum(&store, &item.part_no),
            item.quantity,
            "{}",
            item.part_no
        );
    }
}

#[test]
fn van_stock_search_by_name_number_prefix_substring_and_scan() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir.path().join("onsite.db"));
    let conn = store.conn();
    let nos = |q: &str| -> Vec<String> {
        visit::search_van_stock(conn, q, 50)
            .unwrap()
            .into_iter()
            .map(|i| i.part_no)
            .collect()
    };
    assert_eq!(nos("F-RO"), ["F-RO-400G", "F-RO-75G"]);
    assert_eq!(nos("增压泵"), ["P-PUMP-24V", "P-PUMP-400G"]);
    assert_eq!(nos("pump")[..2], ["P-PUMP-24V", "P-PUMP-400G"]);
    // exact number first, then prefixes, then substrings
    assert_eq!(nos("E-TDS-01"), ["E-TDS-01"]);
    let valve = nos("valve");
    assert!(valve.contains(&"E-SOL-IN".to_string()) && valve.contains(&"V-CHECK-14".to_string()));
    assert_eq!(nos("反渗透"), ["F-RO-400G", "F-RO-75G"]);
    assert!(nos("%").is_empty(), "LIKE wildcards are literal");
    assert!(nos("   ").is_empty());
    // A scanner types the number and Enter.
    let hit = visit::find_part_no(conn, "p-pump-24v\n").unwrap().unwrap();
    assert_eq!(hit.part_no, "P-PUMP-24V");
    assert!(hit.serialized && hit.return_required);
    assert!(visit::find_part_no(conn, "P-PUMP").unwrap().is_none());
}

#[test]
fn payments_refuse_overpayment_allow_part_payment_and_sum_per_customer() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir.path().join("onsite.db"));
    let t = now();
    // 王伟's relocation tomorrow (bought 2025-03-02: out of warranty).
    let order = order_of(&store, "王伟", "relocate");
    let customer = customer_of(&store, &order);
    let pay = |method, amount: i64, tendered: Option<i64>| PaymentInput {
        method,
        amount_minor: amount,
        tendered_minor: tendered,
    };
    // Nothing due before a quote is accepted.
    let e = step(&mut store, "", |tx| {
        visit::take_payment(tx, &order, &pay(PaymentMethod::Card, 1, None), t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::PaymentAboveDue);

    let quote = step(&mut store, outbox::kind::ISSUE_QUOTE, |tx| {
        visit::issue_quote(
            tx,
            &order,
            &request(vec![line("RELOCATE_MAINT", 1), line("X-TUBE-14", 5)]),
            t,
        )
    })
    .unwrap();
    // Out of warranty since 2026-03: 50 + 5 × 3 = 65 yuan.
    assert_eq!(quote.priced.totals.due.minor, 65_00);
    step(&mut store, outbox::kind::RECORD_QUOTE_DECISION, |tx| {
        visit::decide_quote(tx, &order, &quote.id, Decision::Accepted, t)
    })
    .unwrap();
    let e = step(&mut store, "", |tx| {
        visit::decide_quote(tx, &order, &quote.id, Decision::Declined, t)
    })
    .unwrap_err();
    assert!(matches!(e, VisitError::QuoteAlreadyDecided));

    let e = step(&mut store, "", |tx| {
        visit::take_payment(tx, &order, &pay(PaymentMethod::Card, 65_01, None), t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::PaymentAboveDue);
    for bad in [0, -5_00] {
        let e = step(&mut store, "", |tx| {
            visit::take_payment(tx, &order, &pay(PaymentMethod::BankTransfer, bad, None), t)
        })
        .unwrap_err();
        assert_eq!(code(e), ErrorCode::InvalidAmount);
    }
    let e = step(&mut store, "", |tx| {
        visit::take_payment(tx, &order, &pay(PaymentMethod::Cash, 20_00, Some(10_00)), t)
    })
    .unwrap_err();
    assert_eq!(
        code(e),
        ErrorCode::InvalidAmount,
        "tendered less than taken"
    );
    let e = step(&mut store, "", |tx| {
        visit::take_payment(tx, &order, &pay(PaymentMethod::Cash, 20_00, None), t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::InvalidInput);

    let r = step(&mut store, outbox::kind::TAKE_PAYMENT, |tx| {
        visit::take_payment(tx, &order, &pay(PaymentMethod::Cash, 20_00, Some(20_00)), t)
    })
    .unwrap();
    assert_eq!(r.change_minor, Some(0));
    assert_eq!(r.balance.settlement, Settlement::PartPaid);
    assert_eq!(
        visit::customer_balance(store.conn(), &customer).unwrap(),
        45_00
    );
    let e = step(&mut store, "", |tx| {
        visit::take_payment(tx, &order, &pay(PaymentMethod::Qr, 45_01, None), t)
    })
    .unwrap_err();
    assert!(matches!(
        e,
        VisitError::PaymentAboveDue {
            outstanding: 45_00,
            offered: 45_01
        }
    ));

    // The rest is invoiced later: still owed by the customer.
    let invoiced = step(&mut store, outbox::kind::INVOICE_LATER, |tx| {
        visit::invoice_later(tx, &order, t)
    })
    .unwrap();
    assert_eq!(invoiced, 45_00);
    let balance = visit::job_balance(store.conn(), &order).unwrap();
    assert_eq!(balance.settlement, Settlement::InvoicedLater);
    assert_eq!(balance.outstanding_minor, 45_00);

    let r = step(&mut store, outbox::kind::TAKE_PAYMENT, |tx| {
        visit::take_payment(
            tx,
            &order,
            &pay(PaymentMethod::BankTransfer, 45_00, None),
            t,
        )
    })
    .unwrap();
    assert_eq!(r.balance.settlement, Settlement::Paid);
    assert_eq!(visit::customer_balance(store.conn(), &customer).unwrap(), 0);
}

#[test]
fn customer_balance_sums_their_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir.path().join("onsite.db"));
    let t = now();
    // Two quoted jobs of one customer: 张志强's repair today, and 赵磊's repair moved to him.
    let a = order_of(&store, "张志强", "repair");
    let customer = customer_of(&store, &a);
    let b = order_of(&store, "赵磊", "repair");
    store
        .conn()
        .execute(
            "UPDATE work_order SET customer_id = ?1 WHERE id = ?2",
            [&customer, &b],
        )
        .unwrap();
    for (order, lines) in [
        (&a, vec![line("MAINT", 1)]),
        (&b, vec![line("RELOCATE", 1)]),
    ] {
        let q = step(&mut store, outbox::kind::ISSUE_QUOTE, |tx| {
            visit::issue_quote(tx, order, &request(lines), t)
        })
        .unwrap();
        step(&mut store, outbox::kind::RECORD_QUOTE_DECISION, |tx| {
            visit::decide_quote(tx, order, &q.id, Decision::Accepted, t)
        })
        .unwrap();
    }
    assert_eq!(
        visit::customer_balance(store.conn(), &customer).unwrap(),
        30_00 + 40_00
    );
    step(&mut store, outbox::kind::TAKE_PAYMENT, |tx| {
        visit::take_payment(
            tx,
            &b,
            &PaymentInput {
                method: PaymentMethod::Card,
                amount_minor: 40_00,
                tendered_minor: None,
            },
            t,
        )
    })
    .unwrap();
    assert_eq!(
        visit::customer_balance(store.conn(), &customer).unwrap(),
        30_00
    );
}

#[test]
fn refused_quote_ends_the_visit_with_a_call_out_fee_when_the_table_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir.path().join("onsite.db"));
    let t = now();
    let order = order_of(&store, "张志强", "repair");

    // The demo table has no call-out item: nothing is due after a refusal.
    let plain = order_of(&store, "赵磊", "repair");
    let q = step(&mut store, outbox::kind::ISSUE_QUOTE, |tx| {
        visit::issue_quote(tx, &plain, &request(vec![line("MAINT", 1)]), t)
    })
    .unwrap();
    step(&mut store, outbox::kind::RECORD_QUOTE_DECISION, |tx| {
        visit::decide_quote(tx, &plain, &q.id, Decision::Declined, t)
    })
    .unwrap();
    assert_eq!(
        visit::job_balance(store.conn(), &plain).unwrap().due_minor,
        0
    );

    // With a CALLOUT item in the table in force, it is due.
    store
        .conn()
        .execute(
            "INSERT INTO fee_item (fee_table_id, code, name_zh, name_en, kind, price_minor, coverable)
             SELECT id, 'CALLOUT', '上门费', 'Call-out fee', 'travel', 2500, 0
             FROM fee_table WHERE version = 1",
            [],
        )
        .unwrap();
    let q = step(&mut store, outbox::kind::ISSUE_QUOTE, |tx| {
        visit::issue_quote(
            tx,
            &order,
            &request(vec![line("MAINT", 1), line("P-PUMP-24V", 1)]),
            t,
        )
    })
    .unwrap();
    let ops_before = outbox_len(&store);
    let decided = step(&mut store, outbox::kind::RECORD_QUOTE_DECISION, |tx| {
        visit::decide_quote(tx, &order, &q.id, Decision::Declined, t)
    })
    .unwrap();
    assert_eq!(
        outbox_len(&store),
        ops_before + 1,
        "status change rides on the decision op"
    );
    assert_eq!(decided.callout.as_ref().unwrap().totals.due.minor, 25_00);
    let (status, reason): (String, String) = store
        .conn()
        .query_row(
            "SELECT w.status, s.reason FROM work_order w JOIN work_order_status s
             ON s.work_order_id = w.id WHERE w.id = ?1 ORDER BY s.id DESC LIMIT 1",
            [&order],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("unable_to_complete", "quote_declined")
    );
    let state = visit::state(store.conn(), &order).unwrap();
    assert_eq!(state.stage, Stage::QuoteDeclined);
    assert_eq!(state.status, WorkOrderStatus::UnableToComplete);
    assert_eq!(state.balance.outstanding_minor, 25_00);

    // The visit is over: no more work, but the call-out fee can be paid.
    let e = step(&mut store, "", |tx| {
        visit::take_part(
            tx,
            &order,
            &TakePart {
                part_id: visit::find_part_no(tx, "P-PUMP-24V")
                    .unwrap()
                    .unwrap()
                    .part_id,
                quantity: 1,
                serial_fitted: Some("a".into()),
                serial_removed: Some("b".into()),
                override_reason: None,
            },
            t,
        )
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::OrderClosed);
    let e = step(&mut store, "", |tx| {
        visit::issue_quote(tx, &order, &request(vec![line("MAINT", 1)]), t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::OrderClosed);
    step(&mut store, outbox::kind::TAKE_PAYMENT, |tx| {
        visit::take_payment(
            tx,
            &order,
            &PaymentInput {
                method: PaymentMethod::Cash,
                amount_minor: 25_00,
                tendered_minor: Some(50_00),
            },
            t,
        )
    })
    .unwrap();
    step(&mut store, outbox::kind::RECORD_FEEDBACK, |tx| {
        visit::record_feedback(tx, &order, 2, "too expensive", false, t)
    })
    .unwrap();
}

#[test]
fn bad_input_gets_typed_errors_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir.path().join("onsite.db"));
    let t = now();
    let order = order_of(&store, "张志强", "repair");

    let cases: Vec<(Vec<QuoteLine>, ErrorCode)> = vec![
        (vec![line("P-PUMP-24V", 0)], ErrorCode::InvalidQuantity),
        (vec![line("P-PUMP-24V", -3)], ErrorCode::InvalidQuantity),
        (vec![line("X-TUBE-14", 100_000)], ErrorCode::InvalidQuantity),
        (vec![line("MAINT", 2)], ErrorCode::InvalidQuantity),
        (
            vec![QuoteLine {
                price_minor: Some(1_00),
                ..line("MAINT", 1)
            }],
            ErrorCode::PriceNotEditable,
        ),
        (vec![line("NO_SUCH_ITEM", 1)], ErrorCode::InvalidInput),
        // Issue 10: says what is missing.
        (vec![], ErrorCode::QuoteEmpty),
    ];
    for (lines, expected) in cases {
        let e = step(&mut store, "", |tx| {
            visit::issue_quote(tx, &order, &request(lines.clone()), t)
        })
        .unwrap_err();
        assert_eq!(code(e), expected, "{lines:?}");
    }
    // A work date before any fee table.
    let e = step(&mut store, "", |tx| {
        visit::issue_quote(
            tx,
            &order,
            &QuoteRequest {
                work_date: d("2024-01-01"),
                visit_date: d("2024-01-01"),
                ..request(vec![line("MAINT", 1)])
            },
            t,
        )
    })
    .unwrap_err();
    assert_eq!(
        code(e),
        ErrorCode::NoFeeTable,
        "the first table is of 2025-01-01"
    );
    // Purchase date in the future.
    store
        .conn()
        .execute(
            "UPDATE appliance SET purchase_date = '2027-01-01', proof_date = '2027-01-01'
             WHERE id = (SELECT appliance_id FROM work_order WHERE id = ?1)",
            [&order],
        )
        .unwrap();
    let e = step(&mut store, "", |tx| {
        visit::issue_quote(tx, &order, &request(vec![line("MAINT", 1)]), t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::PurchaseDateInFuture);
    let ipc = e_text(&mut store, &order);
    assert!(!ipc.contains("张"), "{ipc}");

    // Diagnosis: unknown component, bad photo reference, oversized text (each with a
    // fault found: a blank one is its own error, `fault_required`).
    let found = || DiagnosisInput {
        fault_found: "pump seized".into(),
        ..Default::default()
    };
    let bad_diag = [
        DiagnosisInput {
            components: vec!["flux_capacitor".into()],
            ..found()
        },
        DiagnosisInput {
            exclusions: vec![RecordedExclusion {
                kind: Exclusion::Misuse,
                component: Some("nope".into()),
            }],
            ..found()
        },
        DiagnosisInput {
            photos: vec![visit::Blob {
                sha256: "abc".into(),
                media_type: "image/jpeg".into(),
                size: 3,
            }],
            ..found()
        },
        DiagnosisInput {
            fault_found: "x".repeat(2_001),
            ..Default::default()
        },
    ];
    for input in &bad_diag {
        let e = step(&mut store, "", |tx| {
            visit::record_diagnosis(tx, &order, input, t)
        })
        .unwrap_err();
        assert_eq!(code(e), ErrorCode::InvalidInput);
    }
    assert!(visit::put_blob(
        &Blobs::new(dir.path().join("b"), &test_key()),
        b"",
        "image/png"
    )
    .is_err());
    assert!(visit::put_blob(
        &Blobs::new(dir.path().join("b"), &test_key()),
        b"x",
        "text/html"
    )
    .is_err());

    // Feedback rating and expenses out of range.
    for rating in [0, 6] {
        let e = step(&mut store, "", |tx| {
            visit::record_feedback(tx, &order, rating, "", true, t)
        })
        .unwrap_err();
        assert_eq!(code(e), ErrorCode::InvalidInput);
    }
    for (km, meals, nights) in [(-1, 0, 0), (0, -1, 0), (0, 0, 100), (1_000_000, 0, 0)] {
        let e = step(&mut store, "", |tx| {
            visit::record_expense(
                tx,
                &ExpenseInput {
                    day: d("2026-11-24"),
                    km,
                    meal_days: meals,
                    nights,
                },
                t,
            )
        })
        .unwrap_err();
        assert_eq!(code(e), ErrorCode::InvalidQuantity);
    }
    // Unknown order.
    let e = step(&mut store, "", |tx| {
        visit::record_feedback(tx, "no-such-order", 5, "", true, t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::NotFound);
}

fn e_text(store: &mut Store, order: &str) -> String {
    let e = visit::write(store, |tx| {
        visit::issue_quote(tx, order, &request(vec![line("MAINT", 1)]), now())
    })
    .unwrap_err();
    format!("{e} {:?}", e.to_ipc())
}

#[test]
fn cancelled_and_completed_orders_refuse_steps() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir.path().join("onsite.db"));
    let t = now();
    let order = order_of(&store, "张志强", "repair");
    // Head office cancels (a pulled change: no outbox row).
    store
        .conn()
        .execute(
            "UPDATE work_order SET status = 'cancelled' WHERE id = ?1",
            [&order],
        )
        .unwrap();
    let e = step(&mut store, "", |tx| {
        visit::record_diagnosis(
            tx,
            &order,
            &DiagnosisInput {
                fault_found: "x".into(),
                ..Default::default()
            },
            t,
        )
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::OrderCancelled);
    let e = step(&mut store, "", |tx| {
        visit::issue_quote(tx, &order, &request(vec![line("MAINT", 1)]), t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::OrderCancelled);
    let e = step(&mut store, "", |tx| {
        visit::take_payment(
            tx,
            &order,
            &PaymentInput {
                method: PaymentMethod::Card,
                amount_minor: 1,
                tendered_minor: None,
            },
            t,
        )
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::OrderCancelled);
    let e = step(&mut store, "", |tx| {
        visit::record_feedback(tx, &order, 3, "", true, t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::OrderCancelled);

    // A completed order.
    let done: String = store
        .conn()
        .query_row(
            "SELECT id FROM work_order WHERE status = 'completed' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let e = step(&mut store, "", |tx| {
        visit::issue_quote(tx, &done, &request(vec![line("MAINT", 1)]), t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::OrderClosed);
    let e = step(&mut store, "", |tx| {
        visit::record_diagnosis(tx, &done, &DiagnosisInput::default(), t)
    })
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::OrderClosed);
}

#[test]
fn expenses_use_default_then_configured_rates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onsite.db");
    let mut store = seeded(&path);
    let t = now();
    assert_eq!(
        visit::expense_rates(store.conn()).unwrap(),
        ExpenseRates {
            per_km_minor: 1_00,
            meal_per_day_minor: 30_00,
            lodging_per_night_minor: 150_00
        }
    );
    let input = ExpenseInput {
        day: d("2026-11-24"),
        km: 42,
        meal_days: 1,
        nights: 1,
    };
    let e = step(&mut store, outbox::kind::RECORD_EXPENSE, |tx| {
        visit::record_expense(tx, &input, t)
    })
    .unwrap();
    assert_eq!(
        (
            e.mileage_minor,
            e.meals_minor,
            e.lodging_minor,
            e.total_minor
        ),
        (42_00, 30_00, 150_00, 222_00)
    );
    store
        .write(|tx| {
            visit::set_expense_rates(
                tx,
                &ExpenseRates {
                    per_km_minor: 80,
                    meal_per_day_minor: 40_00,
                    lodging_per_night_minor: 200_00,
                },
            )
            .map_err(|_| onsite_store::StoreError::Invalid("rates".into()))
        })
        .unwrap();
    let e = step(&mut store, outbox::kind::RECORD_EXPENSE, |tx| {
        visit::record_expense(tx, &input, t)
    })
    .unwrap();
    assert_eq!(e.total_minor, 42 * 80 + 40_00 + 200_00);
    drop(store);
    let store = Store::open(&path, &test_key()).unwrap();
    assert_eq!(
        visit::expense(store.conn(), d("2026-11-24"))
            .unwrap()
            .unwrap(),
        e,
        "recording the day again replaces it"
    );
    assert!(visit::expense(store.conn(), d("2026-11-23"))
        .unwrap()
        .is_none());
}

#[test]
fn reopening_shows_where_an_unfinished_visit_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onsite.db");
    let mut store = seeded(&path);
    let t = now();
    let order = order_of(&store, "张志强", "repair");
    assert_eq!(
        visit::state(store.conn(), &order).unwrap().stage,
        Stage::NotStarted
    );
    step(&mut store, outbox::kind::RECORD_DIAGNOSIS, |tx| {
        visit::record_diagnosis(
            tx,
            &order,
            &DiagnosisInput {
                fault_found: "leak at the housing".into(),
                components: vec!["fitting".into()],
                exclusions: vec![RecordedExclusion {
                    kind: Exclusion::DroppedOrMovedImproperly,
                    component: None,
                }],
                notes: String::new(),
                photos: vec![],
            },
            t,
        )
    })
    .unwrap();
    let q = step(&mut store, outbox::kind::ISSUE_QUOTE, |tx| {
        visit::issue_quote(tx, &order, &request(vec![line("X-HOUSING-10", 1)]), t)
    })
    .unwrap();
    assert_eq!(q.priced.totals.due.minor, 38_00);
    let state = visit::state(store.conn(), &order).unwrap();
    assert_eq!(state.stage, Stage::Quoted);
    assert_eq!(
        state.diagnosis.as_ref().unwrap().exclusions[0].kind,
        Exclusion::DroppedOrMovedImproperly
    );
    drop(store);
    let store = Store::open(&path, &test_key()).unwrap();
    let reopened = visit::state(store.conn(), &order).unwrap();
    assert_eq!(reopened, state);
    assert_eq!(reopened.quote.unwrap().id, q.id);
}

fn test_key() -> DataKey {
    DataKey::from_array([7; 32])
}
