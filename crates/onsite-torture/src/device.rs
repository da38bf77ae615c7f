//! The device: one step per process, on the store file, so that the orchestrator can
//! SIGKILL it at a chosen point. Work goes through `onsite-store`'s public API only (reads
//! that choose what to do next may use SQL); syncs through `onsite_sync::sync_once_with`.
//!
//! Protocol with the orchestrator (stdout, one line each; no customer data):
//! - `point <name>`: with `--pause`, the process then waits for a line on stdin (the
//!   orchestrator answers, or kills it there);
//! - `op <op_id> <kind>`: an outbox operation this step committed;
//! - `did <what>` / `sync ok <counts>` / `sync err <class> <message>`.
//!
//! Exit codes: 0 done, 3 head office wants a new enrolment (401), 4 a transient sync
//! failure, 5 a permanent one, 1 anything else (a bug in this test or the store).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use onsite_domain::WorkOrderStatus;
use onsite_store::visit::{
    self, Decision, DiagnosisInput, ExpenseInput, PaymentInput, PaymentMethod, QuoteLine,
    QuoteRequest, Stage, StockCount, TakePart, VisitError,
};
use onsite_store::{carryback, documents, workorders, Store};
use onsite_sync::plan::Failure;
use onsite_sync::{ClientOptions, SyncConfig};
use rusqlite::Transaction;

use crate::rng::Rng;

const DEMO: &str = include_str!("../../../assets/demo/demo.json");

pub struct Args {
    pub db: PathBuf,
    pub blobs: PathBuf,
    pub pause: bool,
    pub seed: u64,
    pub clock: i64,
    pub url: String,
    pub code: String,
    pub ca: Option<PathBuf>,
}

impl Args {
    pub fn parse(args: &[String]) -> Result<Args, String> {
        let mut a = Args {
            db: PathBuf::new(),
            blobs: PathBuf::new(),
            pause: false,
            seed: 0,
            clock: 0,
            url: String::new(),
            code: String::new(),
            ca: None,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--db" => a.db = value()?.into(),
                "--blobs" => a.blobs = value()?.into(),
                "--pause" => a.pause = true,
                "--seed" => a.seed = value()?.parse().map_err(|_| "bad --seed")?,
                "--clock" => a.clock = value()?.parse().map_err(|_| "bad --clock")?,
                "--url" => a.url = value()?,
                "--code" => a.code = value()?,
                "--ca" => a.ca = Some(value()?.into()),
                other => return Err(format!("unknown flag {other}")),
            }
        }
        Ok(a)
    }
}

pub fn main(args: &[String]) -> ExitCode {
    let Some(cmd) = args.first() else {
        eprintln!("usage: onsite-torture device <seed|enroll|act|sync> [flags]");
        return ExitCode::from(2);
    };
    let a = match Args::parse(&args[1..]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = match cmd.as_str() {
        "seed" => seed(&a),
        "enroll" => enroll(&a),
        "act" => act(&a),
        "sync" => return sync(&a),
        _ => Err(format!("unknown device command {cmd}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("device: {e}");
            ExitCode::from(1)
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// A point where the orchestrator may kill this process: tell it, wait for its answer.
fn point(pause: bool, name: &str) {
    if !pause {
        return;
    }
    say(&format!("point {name}"));
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
}

fn open(db: &Path) -> Result<Store, String> {
    Store::open(db, &key()).map_err(|e| format!("open store: {e}"))
}

/// The demo's fee tables, components and van stock (what the visit prices and takes
/// parts from), without the demo's own jobs: the device works head office's.
fn seed(a: &Args) -> Result<(), String> {
    let mut s = open(&a.db)?;
    let beijing = FixedOffset::east_opt(8 * 3600).expect("offset");
    let now = Utc::now();
    let data = onsite_store::demo::DemoData::from_json(DEMO).map_err(|e| e.to_string())?;
    s.write(|tx| {
        onsite_store::demo::seed(
            tx,
            &data,
            now.with_timezone(&beijing).date_naive(),
            beijing,
            now,
        )?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare("SELECT id FROM work_order")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for id in ids {
            onsite_store::sync::remove_work_order(tx, &id)?;
        }
        Ok(())
    })
    .map_err(|e| format!("seed: {e}"))?;
    say("did seed");
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

pub fn client_options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

fn enroll(a: &Args) -> Result<(), String> {
    let store = Mutex::new(open(&a.db)?);
    let ca = match &a.ca {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| format!("CA file: {e}"))?),
        None => None,
    };
    let e = runtime()?
        .block_on(onsite_sync::enroll(
            &store,
            &a.url,
            &a.code,
            "torture van",
            ca.as_deref(),
            client_options(),
        ))
        .map_err(|e| format!("enrol: {e}"))?;
    say(&format!("did enroll {}", e.device_id));
    Ok(())
}

fn sync(a: &Args) -> ExitCode {
    let store = match open(&a.db) {
        Ok(s) => Mutex::new(s),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let client = match onsite_sync::engine::client_for(&store, client_options()) {
        Ok(c) => c,
        Err(e) => {
            say(&format!("sync err permanent {e}"));
            return ExitCode::from(5);
        }
    };
    let pause = a.pause;
    let sink = onsite_sync::ProgressSink(std::sync::Arc::new(move |phase, _r: &_| {
        point(pause, &format!("{phase:?}").to_lowercase());
    }));
    let config = SyncConfig {
        blobs: Some(onsite_store::Blobs::new(&a.blobs, &key())),
        progress: Some(sink),
        ..Default::default()
    };
    let rt = match runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(onsite_sync::sync_once_with(&store, &client, &config)) {
        Ok(r) => {
            let blocked = r
                .blocked
                .as_ref()
                .map(|b| format!(" blocked={}:{}", b.kind, b.why.replace(' ', "_")))
                .unwrap_or_default();
            say(&format!(
                "sync ok applied={} rejected={} duplicate={} flagged={} pages={} refetched={} requeued={}{blocked}",
                r.ops_applied, r.ops_rejected, r.ops_duplicate, r.ops_flagged, r.pages_pulled,
                r.refetched, r.requeued
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            let one_line = e.to_string().replace('\n', " ");
            match e.failure() {
                Failure::NeedsEnrolment => {
                    say(&format!("sync err enrol {one_line}"));
                    ExitCode::from(3)
                }
                Failure::Transient { .. } => {
                    say(&format!("sync err transient {one_line}"));
                    ExitCode::from(4)
                }
                Failure::Permanent => {
                    say(&format!("sync err permanent {one_line}"));
                    ExitCode::from(5)
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Local work

struct Job {
    id: String,
    status: WorkOrderStatus,
}

fn jobs(s: &Store) -> Result<Vec<Job>, String> {
    let mut stmt = s
        .conn()
        .prepare(
            "SELECT w.id, w.status FROM work_order w JOIN pulled_work_order p ON p.id = w.id
             ORDER BY w.order_no",
        )
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for row in rows {
        let (id, status) = row.map_err(|e| e.to_string())?;
        let status = WorkOrderStatus::parse(&status).ok_or("unknown status")?;
        out.push(Job { id, status });
    }
    Ok(out)
}

fn max_seq(s: &Store) -> i64 {
    s.conn()
        .query_row("SELECT coalesce(max(device_seq), 0) FROM outbox", [], |r| {
            r.get(0)
        })
        .unwrap_or(0)
}

/// What one action does, inside its transaction. Returns a label (no customer data).
type Step<'a> = Box<dyn FnOnce(&Transaction) -> Result<String, VisitError> + 'a>;

fn act(a: &Args) -> Result<(), String> {
    let mut s = open(&a.db)?;
    let mut rng = Rng::new(a.seed);
    // The device's clock, moved by the orchestrator: every store API takes `now`.
    let now: DateTime<Utc> = Utc::now() + chrono::Duration::seconds(a.clock);
    let beijing = FixedOffset::east_opt(8 * 3600).expect("offset");
    let today = now.with_timezone(&beijing).date_naive();
    let jobs = jobs(&s)?;
    let tag = format!("{:016x}", a.seed);
    let first = rng.weighted(&[24, 40, 8, 8, 5, 4, 3, 2]);
    // When nothing fits the kind drawn (no job in progress yet), the next kind is tried.
    let mut step: Option<Step> = None;
    for what in (0..8).map(|k| (first + k) % 8) {
        let ctx = Ctx {
            s: &s,
            blobs: &a.blobs,
            jobs: &jobs,
            now,
            today,
            tag: &tag,
        };
        step = choose(&ctx, what, &mut rng)?;
        if step.is_some() {
            break;
        }
    }
    let Some(step) = step else {
        say("did nothing (no job fits)");
        return Ok(());
    };
    let before = max_seq(&s);
    let pause = a.pause;
    let result = visit::write(&mut s, |tx| {
        let label = step(tx)?;
        point(pause, "in-write");
        Ok(label)
    });
    match result {
        Ok(label) => {
            let mut stmt = s
                .conn()
                .prepare(
                    "SELECT op_id, kind, entity_id FROM outbox WHERE device_seq > ?1
                     ORDER BY device_seq",
                )
                .map_err(|e| e.to_string())?;
            let rows = stmt
                .query_map([before], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(|e| e.to_string())?;
            let mut on = Vec::new();
            for row in rows {
                let (op, kind, entity) = row.map_err(|e| e.to_string())?;
                say(&format!("op {op} {kind}"));
                if !on.contains(&entity) {
                    on.push(entity);
                }
            }
            point(pause, "committed");
            // Ids only (jobs, the technician): no customer data.
            say(&format!("did {label} on {}", on.join(",")));
        }
        // The store refused the step (a rule, a closed job): nothing was recorded.
        Err(e) => say(&format!("did refused-locally {}", code_of(&e))),
    }
    Ok(())
}

struct Ctx<'c> {
    s: &'c Store,
    blobs: &'c Path,
    jobs: &'c [Job],
    now: DateTime<Utc>,
    today: NaiveDate,
    tag: &'c str,
}

/// The action of kind `what`, or `None` when nothing fits it.
fn choose<'a>(c: &Ctx, what: usize, rng: &mut Rng) -> Result<Option<Step<'a>>, String> {
    let (s, jobs, now, today, tag) = (c.s, c.jobs, c.now, c.today, c.tag);
    let open: Vec<&Job> = jobs.iter().filter(|j| !j.status.is_final()).collect();
    let step: Option<Step> = match what {
        0 => {
            // Move a job on: assigned → en route → on site → in progress.
            let ready: Vec<&&Job> = open
                .iter()
                .filter(|j| {
                    matches!(
                        j.status,
                        WorkOrderStatus::Assigned
                            | WorkOrderStatus::EnRoute
                            | WorkOrderStatus::OnSite
                    )
                })
                .collect();
            rng.pick(&ready).map(|j| {
                let next = match j.status {
                    WorkOrderStatus::Assigned => WorkOrderStatus::EnRoute,
                    WorkOrderStatus::EnRoute => WorkOrderStatus::OnSite,
                    _ => WorkOrderStatus::InProgress,
                };
                let id = j.id.clone();
                Box::new(move |tx: &Transaction| {
                    workorders::change_status(tx, &id, next, None, now)?;
                    Ok(format!("status {}", next.as_str()))
                }) as Step
            })
        }
        1 => {
            let working: Vec<&&Job> = open
                .iter()
                .filter(|j| j.status == WorkOrderStatus::InProgress)
                .collect();
            match rng.pick(&working) {
                Some(j) => visit_step(s, c.blobs, &j.id, rng, now, today, tag)?,
                None => None,
            }
        }
        2 => rng.pick(jobs).map(|j| {
            let id = j.id.clone();
            let text = format!("torture note {tag}");
            // A closed job's notes are signed content: a note after it is an addendum.
            let closed = matches!(
                j.status,
                WorkOrderStatus::Completed | WorkOrderStatus::UnableToComplete
            );
            Box::new(move |tx: &Transaction| {
                if closed {
                    workorders::add_addendum(tx, &id, &text, now)?;
                    Ok("addendum".to_string())
                } else {
                    workorders::set_notes(tx, &id, &text, now)?;
                    Ok("notes".to_string())
                }
            }) as Step
        }),
        3 => {
            let here: Vec<&&Job> = open
                .iter()
                .filter(|j| {
                    matches!(
                        j.status,
                        WorkOrderStatus::OnSite | WorkOrderStatus::InProgress
                    )
                })
                .collect();
            match rng.pick(&here) {
                Some(j) => carry_back_step(s, c.blobs, &j.id, now, today, tag)?,
                None => None,
            }
        }
        4 => {
            let input = ExpenseInput {
                day: today,
                km: rng.range(1, 300),
                meal_days: rng.range(0, 2),
                nights: rng.range(0, 1),
            };
            Some(Box::new(move |tx: &Transaction| {
                visit::record_expense(tx, &input, now)?;
                Ok("expense".to_string())
            }) as Step)
        }
        5 => {
            let stock = visit::van_stock(s.conn()).map_err(|e| e.to_string())?;
            rng.pick(&stock).map(|p| {
                let count = StockCount {
                    part_id: p.part_id.clone(),
                    counted: (p.quantity + rng.range(-1, 1)).max(0),
                };
                Box::new(move |tx: &Transaction| {
                    visit::stock_take(tx, &[count], now)?;
                    Ok("stock-take".to_string())
                }) as Step
            })
        }
        6 => {
            let stock: Vec<_> = visit::van_stock(s.conn())
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|p| p.quantity > 0)
                .collect();
            rng.pick(&stock).map(|p| {
                let part = p.part_id.clone();
                Box::new(move |tx: &Transaction| {
                    visit::return_unused(tx, &part, 1, None, now)?;
                    Ok("return-unused".to_string())
                }) as Step
            })
        }
        _ => rng.pick(&open).map(|j| {
            let id = j.id.clone();
            Box::new(move |tx: &Transaction| {
                workorders::change_status(
                    tx,
                    &id,
                    WorkOrderStatus::UnableToComplete,
                    Some("no access to the appliance"),
                    now,
                )?;
                Ok("status unable_to_complete".to_string())
            }) as Step
        }),
    };
    Ok(step)
}

fn code_of(e: &VisitError) -> String {
    let text = format!("{e:?}");
    text.split(['(', ' ', '{'])
        .next()
        .unwrap_or("?")
        .to_string()
}

fn signature_png(blobs: &Path, tag: &str, what: &str) -> Result<String, String> {
    let bytes = format!("\u{89}PNG torture {what} {tag}").into_bytes();
    documents::put_blob(&onsite_store::Blobs::new(blobs, &key()), &bytes)
        .map_err(|e| format!("blob: {e}"))
}

fn strokes() -> serde_json::Value {
    serde_json::json!([{"points": [{"x": 1, "y": 2}, {"x": 30, "y": 12}]}])
}

#[allow(clippy::too_many_arguments)]
fn visit_step<'a>(
    s: &Store,
    blobs: &Path,
    id: &str,
    rng: &mut Rng,
    now: DateTime<Utc>,
    today: NaiveDate,
    tag: &str,
) -> Result<Option<Step<'a>>, String> {
    let state = visit::state(s.conn(), id).map_err(|e| e.to_string())?;
    let id = id.to_string();
    // Now and then an old part goes back instead of the next step.
    if let Some(used) = state.parts.first() {
        if rng.chance(10.0) {
            let use_id = used.id.clone();
            return Ok(Some(Box::new(move |tx: &Transaction| {
                visit::return_old_part(tx, &use_id, now)?;
                Ok("return-old-part".to_string())
            })));
        }
    }
    let step: Step = match state.stage {
        Stage::NotStarted => {
            let photo = visit::put_blob(
                &onsite_store::Blobs::new(blobs, &key()),
                format!("\u{ff}\u{d8}\u{ff} torture photo {tag}").as_bytes(),
                "image/jpeg",
            )
            .map_err(|e| format!("photo: {e}"))?;
            Box::new(move |tx: &Transaction| {
                visit::record_diagnosis(
                    tx,
                    &id,
                    &DiagnosisInput {
                        fault_found: "booster pump seized".into(),
                        components: vec!["pump".into()],
                        exclusions: vec![],
                        notes: String::new(),
                        photos: vec![photo],
                    },
                    now,
                )?;
                Ok("diagnosis".to_string())
            })
        }
        Stage::Diagnosed => {
            let with_filter = rng.chance(40.0);
            Box::new(move |tx: &Transaction| {
                let line = |code: &str| QuoteLine {
                    code: code.into(),
                    quantity: 1,
                    component: None,
                    price_minor: None,
                };
                let mut lines = vec![line("REPLACE"), line("P-PUMP-24V")];
                if with_filter {
                    lines.push(line("F-PP-10"));
                }
                visit::issue_quote(
                    tx,
                    &id,
                    &QuoteRequest {
                        visit_date: today,
                        work_date: today,
                        lines,
                        contracts: Vec::new(),
                    },
                    now,
                )?;
                Ok("quote".to_string())
            })
        }
        Stage::Quoted => {
            let quote_id = state
                .quote
                .as_ref()
                .map(|q| q.id.clone())
                .unwrap_or_default();
            let decision = if rng.chance(85.0) {
                Decision::Accepted
            } else {
                Decision::Declined
            };
            Box::new(move |tx: &Transaction| {
                visit::decide_quote(tx, &id, &quote_id, decision, now)?;
                Ok(format!("quote-decision {decision:?}"))
            })
        }
        Stage::QuoteAccepted => {
            let pump = visit::find_part_no(s.conn(), "P-PUMP-24V")
                .map_err(|e| e.to_string())?
                .map(|p| p.part_id)
                .ok_or("no pump in the van's catalogue")?;
            let take = TakePart {
                part_id: pump,
                quantity: 1,
                serial_fitted: Some(format!("PUMP-NEW-{tag}")),
                serial_removed: Some(format!("PUMP-OLD-{tag}")),
                override_reason: Some("van restocked from the depot".into()),
            };
            Box::new(move |tx: &Transaction| {
                visit::take_part(tx, &id, &take, now)?;
                Ok("part".to_string())
            })
        }
        Stage::PartsTaken | Stage::Payment if state.balance.outstanding_minor > 0 => {
            let due = state.balance.outstanding_minor;
            let how = rng.weighted(&[4, 3, 2, 2]);
            let part = rng.range(1, due.max(1));
            Box::new(move |tx: &Transaction| {
                let label = match how {
                    0 => {
                        visit::take_payment(
                            tx,
                            &id,
                            &PaymentInput {
                                method: PaymentMethod::Cash,
                                amount_minor: due,
                                tendered_minor: Some(due + 1_000),
                            },
                            now,
                        )?;
                        "payment cash"
                    }
                    1 => {
                        visit::take_payment(
                            tx,
                            &id,
                            &PaymentInput {
                                method: PaymentMethod::Qr,
                                amount_minor: due,
                                tendered_minor: None,
                            },
                            now,
                        )?;
                        "payment qr"
                    }
                    2 => {
                        visit::take_payment(
                            tx,
                            &id,
                            &PaymentInput {
                                method: PaymentMethod::Card,
                                amount_minor: part,
                                tendered_minor: None,
                            },
                            now,
                        )?;
                        "payment part"
                    }
                    _ => {
                        visit::invoice_later(tx, &id, now)?;
                        "invoice-later"
                    }
                };
                Ok(label.to_string())
            })
        }
        Stage::PartsTaken | Stage::Payment | Stage::QuoteDeclined => {
            let rating = rng.range(1, 5) as u8;
            if state.feedback.is_none() && state.stage != Stage::QuoteDeclined {
                let comment = format!("torture feedback {tag}");
                Box::new(move |tx: &Transaction| {
                    visit::record_feedback(tx, &id, rating, &comment, true, now)?;
                    Ok("feedback".to_string())
                })
            } else {
                return sign_off(blobs, id, now, tag).map(Some);
            }
        }
        Stage::FeedbackGiven => return sign_off(blobs, id, now, tag).map(Some),
    };
    Ok(Some(step))
}

/// The customer signs, the job completes, the sign-off sheet is stored (one transaction,
/// as the app does it).
fn sign_off<'a>(
    blobs: &Path,
    id: String,
    now: DateTime<Utc>,
    tag: &str,
) -> Result<Step<'a>, String> {
    let png = signature_png(blobs, tag, "sign-off")?;
    let pdf = format!("%PDF-1.7 torture sign-off {tag}").into_bytes();
    let pdf_sha = documents::put_blob(&onsite_store::Blobs::new(blobs, &key()), &pdf)
        .map_err(|e| format!("blob: {e}"))?;
    let size = pdf.len() as i64;
    Ok(Box::new(move |tx: &Transaction| {
        let strokes = strokes();
        documents::sign(
            tx,
            &documents::NewSignature {
                work_order_id: &id,
                signer_name: "Customer",
                strokes: &strokes,
                png_sha256: &png,
            },
            now,
        )?;
        workorders::change_status(tx, &id, WorkOrderStatus::Completed, None, now)?;
        documents::record_document(
            tx,
            &id,
            onsite_domain::view::DocumentKind::SignOff,
            "zh-CN",
            &pdf_sha,
            size,
            now,
        )?;
        Ok("sign-off".to_string())
    }))
}

fn carry_back_step<'a>(
    s: &Store,
    blobs: &Path,
    id: &str,
    now: DateTime<Utc>,
    today: NaiveDate,
    tag: &str,
) -> Result<Option<Step<'a>>, String> {
    use onsite_domain::carryback::CarryBackState;
    let items = carryback::for_work_order(s.conn(), id, today).map_err(|e| e.to_string())?;
    let id = id.to_string();
    let open = items.iter().find(|c| c.state != CarryBackState::Returned);
    let step: Step = match open {
        None if items.is_empty() => {
            let png = signature_png(blobs, tag, "carry-back receipt")?;
            Box::new(move |tx: &Transaction| {
                let strokes = strokes();
                carryback::take(
                    tx,
                    &carryback::NewCarryBack {
                        work_order_id: &id,
                        item: "water purifier",
                        serial_no: Some("SN-TORTURE"),
                        accessories: &[],
                        condition: "scratched",
                        fault: "leaks",
                        expected_return: today + chrono::Days::new(7),
                        photos: &[],
                        signature: carryback::Signed {
                            signer_name: "Customer",
                            strokes: &strokes,
                            png_sha256: &png,
                        },
                    },
                    today,
                    now,
                )?;
                Ok("carry-back take".to_string())
            })
        }
        None => return Ok(None),
        Some(c) if c.state == CarryBackState::Repaired => {
            let png = signature_png(blobs, tag, "carry-back return")?;
            let cb = c.id.clone();
            Box::new(move |tx: &Transaction| {
                let strokes = strokes();
                carryback::return_item(
                    tx,
                    &cb,
                    true,
                    None,
                    &carryback::Signed {
                        signer_name: "Customer",
                        strokes: &strokes,
                        png_sha256: &png,
                    },
                    today,
                    now,
                )?;
                Ok("carry-back return".to_string())
            })
        }
        Some(c) => {
            let cb = c.id.clone();
            let to = c.state.next().unwrap_or(CarryBackState::Repaired);
            Box::new(move |tx: &Transaction| {
                carryback::advance(tx, &cb, to, today, now)?;
                Ok(format!("carry-back {}", to.as_str()))
            })
        }
    };
    Ok(Some(step))
}

/// The data key of the torture device's store and blobs: fixed, because each step is a
/// new process of this binary opening the same files.
pub fn key() -> onsite_store::DataKey {
    onsite_store::DataKey::from_array([0x5a; 32])
}
