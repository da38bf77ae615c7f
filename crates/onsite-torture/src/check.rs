//! The invariant checker, on both database files opened read-only:
//! - every fact the device recorded (an outbox op) is at head office exactly once
//!   (`facts` or `technician_day_facts`, by fact id), or refused with its reason;
//! - no fact is stored twice at head office (same fact id in both tables, or the same
//!   content under two ids);
//! - nothing is still pending after the final clean sync;
//! - the device's view of every job equals head office's;
//! - `PRAGMA integrity_check` is ok on both.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use uuid::Uuid;

fn open(path: &Path) -> Result<Connection, String> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    c.busy_timeout(Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    Ok(c)
}

/// The device's file, sealed with the torture device's key.
fn open_device(path: &Path) -> Result<Connection, String> {
    let c = onsite_store::db::connect_sealed(path, &crate::device::key(), true)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    c.busy_timeout(Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    Ok(c)
}

/// `PRAGMA integrity_check` of head office's file.
pub fn integrity(path: &Path) -> Result<String, String> {
    integrity_of(&open(path)?)
}

/// `PRAGMA integrity_check` of the device's sealed file.
pub fn device_integrity(path: &Path) -> Result<String, String> {
    integrity_of(&open_device(path)?)
}

fn integrity_of(c: &Connection) -> Result<String, String> {
    let rows: Vec<String> = {
        let mut stmt = c
            .prepare("PRAGMA integrity_check")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())?
    };
    Ok(rows.join("; "))
}

pub struct DeviceJob {
    pub id: String,
    pub status: String,
    pub flagged: bool,
}

/// The jobs on the device that came from head office.
pub fn device_jobs(db: &Path) -> Result<Vec<DeviceJob>, String> {
    let c = open_device(db)?;
    let mut stmt = c
        .prepare(
            "SELECT w.id, w.status,
                    EXISTS (SELECT 1 FROM review_flag f WHERE f.work_order_id = w.id)
             FROM work_order w JOIN pulled_work_order p ON p.id = w.id ORDER BY w.id",
        )
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| {
            Ok(DeviceJob {
                id: r.get(0)?,
                status: r.get(1)?,
                flagged: r.get(2)?,
            })
        })
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
}

/// One thing found wrong: an op (with its id and kind) or a job.
#[derive(Debug)]
pub struct Finding {
    pub op_id: Option<String>,
    /// The job a divergence is about.
    pub job: Option<String>,
    pub what: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub ops: usize,
    pub refused: usize,
    /// The refused ops by head office's code.
    pub refused_codes: std::collections::BTreeMap<String, usize>,
    pub lost: Vec<Finding>,
    pub duplicated: Vec<Finding>,
    pub wedged: Vec<Finding>,
    /// Jobs whose device view differs from head office's (counted as wedged: the sync
    /// did not converge).
    pub diverged: Vec<Finding>,
    pub device_integrity: String,
    pub hq_integrity: String,
    /// The final clean sync never succeeded: why.
    pub sync_wedged: Option<String>,
}

impl Report {
    pub fn lost(&self) -> usize {
        self.lost.len()
    }
    pub fn duplicated(&self) -> usize {
        self.duplicated.len()
    }
    pub fn wedged(&self) -> usize {
        self.wedged.len() + self.diverged.len() + usize::from(self.sync_wedged.is_some())
    }
    pub fn integrity_ok(&self) -> bool {
        self.device_integrity == "ok" && self.hq_integrity == "ok"
    }
}

struct DeviceOp {
    op_id: String,
    kind: String,
    state: String,
    fact_id: String,
    reason: Option<String>,
}

/// On head office's refused list (`GET /v1/admin/refused-ops`, unresolved, this
/// technician's): kept whole with its content and a reason.
fn on_refused_list(op: &DeviceOp, refused: &HashMap<String, onsite_api::RefusedOp>) -> bool {
    refused
        .get(&op.op_id)
        .is_some_and(|r| !r.reason.trim().is_empty() && !r.payload.is_null())
}

pub fn check(
    device_db: &Path,
    hq_db: &Path,
    technician: Uuid,
    refused: &HashMap<String, onsite_api::RefusedOp>,
) -> Result<Report, String> {
    let mut report = Report {
        device_integrity: device_integrity(device_db)?,
        hq_integrity: integrity(hq_db)?,
        ..Report::default()
    };
    let dev = open_device(device_db)?;
    let ops: Vec<DeviceOp> = {
        let mut stmt = dev
            .prepare(
                "SELECT o.op_id, o.kind, o.state, o.payload, r.reason, r.reject_code
                 FROM outbox o LEFT JOIN op_result r ON r.op_id = o.op_id ORDER BY o.device_seq",
            )
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([], |r| {
                let op_id: String = r.get(0)?;
                let payload: String = r.get(3)?;
                let fact_id = serde_json::from_str::<serde_json::Value>(&payload)
                    .ok()
                    .and_then(|p| p["fact_id"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| op_id.clone());
                let reason: Option<String> = r.get(4)?;
                let code: Option<String> = r.get(5)?;
                Ok(DeviceOp {
                    op_id,
                    kind: r.get(1)?,
                    state: r.get(2)?,
                    fact_id,
                    reason: reason.or(code),
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())?
    };
    report.ops = ops.len();

    let hq = open(hq_db)?;
    // fact id → (table, kind, job or day and the payload without the fact id)
    let mut at_hq: HashMap<String, Vec<(&'static str, String, String)>> = HashMap::new();
    for (table, sql) in [
        (
            "facts",
            "SELECT fact_id, kind, work_order_id, payload FROM facts WHERE technician_id = ?1",
        ),
        (
            "technician_day_facts",
            "SELECT fact_id, kind, day, payload FROM technician_day_facts
             WHERE technician_id = ?1",
        ),
    ] {
        let mut stmt = hq.prepare(sql).map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([technician.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| e.to_string())?;
        for row in rows {
            let (fact_id, kind, scope, payload) = row.map_err(|e| e.to_string())?;
            // The job (or day) and the payload without its fact id.
            let content = format!("{scope} {}", without_fact_id(&payload));
            at_hq
                .entry(fact_id)
                .or_default()
                .push((table, kind, content));
        }
    }

    for op in &ops {
        let found = at_hq.get(&op.fact_id).map_or(0, Vec::len);
        match (op.state.as_str(), found) {
            ("pending", _) => report.wedged.push(Finding {
                op_id: Some(op.op_id.clone()),
                job: None,
                what: format!("{} still pending after the final clean sync", op.kind),
            }),
            (_, 1) => {}
            (_, 0) if on_refused_list(op, refused) => {
                report.refused += 1;
                let code = refused
                    .get(&op.op_id)
                    .and_then(|r| serde_json::to_value(r.code).ok())
                    .and_then(|c| c.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "?".into());
                *report.refused_codes.entry(code).or_default() += 1;
            }
            (state, 0) => report.lost.push(Finding {
                op_id: Some(op.op_id.clone()),
                job: None,
                what: format!(
                    "{} ({state} on the device{}) is neither at head office nor on its refused list",
                    op.kind,
                    op.reason
                        .as_deref()
                        .map(|r| format!(", reason {r:?}"))
                        .unwrap_or_default()
                ),
            }),
            (_, n) => report.duplicated.push(Finding {
                op_id: Some(op.op_id.clone()),
                job: None,
                what: format!("{} stored {n} times at head office", op.kind),
            }),
        }
    }
    // The same content (job and payload) under two fact ids, one of which the device never
    // recorded: a fact stored again under a new id. (Two facts the device recorded with the
    // same content are the technician's two facts.)
    let mut seen: HashMap<(String, String), Vec<&String>> = HashMap::new();
    for (fact_id, rows) in &at_hq {
        for (_, kind, content) in rows {
            seen.entry((kind.clone(), content.clone()))
                .or_default()
                .push(fact_id);
        }
    }
    let by_fact: HashMap<&str, &DeviceOp> = ops.iter().map(|o| (o.fact_id.as_str(), o)).collect();
    for ((kind, _), ids) in &seen {
        let distinct: HashSet<&&String> = ids.iter().collect();
        let from_device = distinct
            .iter()
            .filter(|id| by_fact.contains_key(id.as_str()))
            .count();
        if distinct.len() > 1 && distinct.len() > from_device.max(1) {
            let extra = distinct
                .iter()
                .filter(|id| !by_fact.contains_key(id.as_str()))
                .skip(usize::from(from_device == 0));
            for id in extra {
                report.duplicated.push(Finding {
                    op_id: by_fact.get(id.as_str()).map(|o| o.op_id.clone()),
                    job: None,
                    what: format!("{kind}: the same content stored again under another fact id"),
                });
            }
        }
    }

    // Jobs: head office's for this technician, and the device's.
    let hq_jobs: HashMap<String, (String, Option<String>)> = {
        let mut stmt = hq
            .prepare("SELECT id, status, technician_id FROM work_orders")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?))))
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())?
    };
    let mine = technician.to_string();
    let device: HashMap<String, DeviceJob> = device_jobs(device_db)?
        .into_iter()
        .map(|j| (j.id.clone(), j))
        .collect();
    for (id, (status, tech)) in &hq_jobs {
        if tech.as_deref() != Some(mine.as_str()) {
            continue;
        }
        match device.get(id) {
            None => report.diverged.push(Finding {
                op_id: None,
                job: Some(id.clone()),
                what: format!("job {id} ({status} at head office) is not on the device"),
            }),
            Some(d) if &d.status != status => report.diverged.push(Finding {
                op_id: None,
                job: Some(id.clone()),
                what: format!(
                    "job {id}: {} on the device, {status} at head office{}",
                    d.status,
                    if d.flagged {
                        " (flagged for review)"
                    } else {
                        ""
                    }
                ),
            }),
            Some(_) => {}
        }
    }
    for (id, d) in &device {
        let at = hq_jobs.get(id);
        let still_mine = at.is_some_and(|(_, t)| t.as_deref() == Some(mine.as_str()));
        if !still_mine && !d.flagged {
            report.diverged.push(Finding {
                op_id: None,
                job: Some(id.clone()),
                what: format!(
                    "job {id} is on the device ({}) but {} at head office, and not flagged",
                    d.status,
                    if at.is_some() {
                        "not this technician's"
                    } else {
                        "unknown"
                    }
                ),
            });
        }
    }
    Ok(report)
}

fn without_fact_id(payload: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(mut m)) => {
            m.remove("fact_id");
            serde_json::Value::Object(m).to_string()
        }
        _ => payload.to_string(),
    }
}

#[cfg(test)]
mod tests {
    //! The checker on hand-made files (only the columns it reads): it must see each kind
    //! of failure, or a green run proves nothing.
    use super::*;
    use std::path::PathBuf;

    const TECH: &str = "00000000-0000-7000-8000-000000000001";

    fn device(dir: &Path) -> PathBuf {
        let p = dir.join("device.db");
        let c = onsite_store::db::connect_sealed(&p, &crate::device::key(), false).unwrap();
        c.execute_batch(
            "CREATE TABLE outbox (device_seq INTEGER PRIMARY KEY, op_id TEXT, kind TEXT,
                                  state TEXT, payload TEXT);
             CREATE TABLE op_result (op_id TEXT, reason TEXT, reject_code TEXT);
             CREATE TABLE work_order (id TEXT, status TEXT);
             CREATE TABLE pulled_work_order (id TEXT);
             CREATE TABLE review_flag (work_order_id TEXT);
             INSERT INTO outbox VALUES
               (1, 'op-ok', 'ChangeStatus', 'applied', '{}'),
               (2, 'op-lost', 'EditNotes', 'applied', '{}'),
               (3, 'op-refused', 'RecordDiagnosis', 'rejected', '{}'),
               (4, 'op-pending', 'EditNotes', 'pending', '{}'),
               (5, 'op-twice', 'RecordExpense', 'applied', '{}'),
               (6, 'op-own-id', 'TakeCarryBack', 'applied', '{\"fact_id\":\"fact-own\"}');
             INSERT INTO op_result VALUES ('op-refused', 'no such work order', 'unknown_work_order');
             INSERT INTO work_order VALUES ('job-same', 'en_route'), ('job-differs', 'completed'),
                                           ('job-gone', 'on_site');
             INSERT INTO pulled_work_order VALUES ('job-same'), ('job-differs'), ('job-gone');",
        )
        .unwrap();
        p
    }

    fn hq(dir: &Path) -> PathBuf {
        let p = dir.join("hq.db");
        let c = Connection::open(&p).unwrap();
        c.execute_batch(&format!(
            "CREATE TABLE facts (fact_id TEXT, kind TEXT, work_order_id TEXT, payload TEXT,
                                 technician_id TEXT);
             CREATE TABLE technician_day_facts (fact_id TEXT, kind TEXT, day TEXT,
                                                payload TEXT, technician_id TEXT);
             CREATE TABLE work_orders (id TEXT, status TEXT, technician_id TEXT);
             INSERT INTO facts VALUES
               ('op-ok', 'change_status', 'job-same', '{{\"fact_id\":\"op-ok\",\"to\":\"en_route\"}}', '{TECH}'),
               ('fact-own', 'take_carry_back', 'job-same', '{{\"fact_id\":\"fact-own\"}}', '{TECH}');
             INSERT INTO technician_day_facts VALUES
               ('op-twice', 'record_expense', '2026-11-29', '{{\"fact_id\":\"op-twice\",\"km\":3}}', '{TECH}'),
               ('stranger', 'record_expense', '2026-11-29', '{{\"fact_id\":\"stranger\",\"km\":3}}', '{TECH}');
             INSERT INTO work_orders VALUES ('job-same', 'en_route', '{TECH}'),
                                            ('job-differs', 'in_progress', '{TECH}'),
                                            ('job-missing', 'assigned', '{TECH}');"
        ))
        .unwrap();
        p
    }

    fn refused_op() -> onsite_api::RefusedOp {
        serde_json::from_value(serde_json::json!({
            "device_id": Uuid::nil(), "technician_id": Uuid::nil(), "op_id": Uuid::nil(),
            "device_seq": 3, "kind": "record_diagnosis", "entity_id": Uuid::nil(),
            "base_version": null, "payload": {"fault_found": "x"},
            "code": "unknown_work_order", "reason": "no such work order",
            "first_refused_at": "2026-11-29T00:00:00Z", "last_refused_at": "2026-11-29T00:00:00Z",
            "attempts": 1, "resolved_at": null, "resolution": null
        }))
        .unwrap()
    }

    #[test]
    fn each_failure_is_seen_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("onsite-torture-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (d, h) = (device(&dir), hq(&dir));
        let tech = Uuid::parse_str(TECH).unwrap();
        let refused = HashMap::from([("op-refused".to_string(), refused_op())]);
        let r = check(&d, &h, tech, &refused).unwrap();
        let ops = |list: &[Finding]| -> Vec<String> {
            list.iter().filter_map(|f| f.op_id.clone()).collect()
        };
        assert_eq!(ops(&r.lost), ["op-lost"]);
        assert_eq!(ops(&r.wedged), ["op-pending"]);
        assert_eq!(r.refused, 1);
        // The same expense under a fact id the device never made.
        assert_eq!(r.duplicated.len(), 1, "{:?}", r.duplicated);
        let jobs: HashSet<String> = r.diverged.iter().filter_map(|f| f.job.clone()).collect();
        assert_eq!(
            jobs,
            HashSet::from([
                "job-differs".into(),
                "job-missing".into(),
                "job-gone".into()
            ])
        );
        assert_eq!((r.lost(), r.duplicated(), r.wedged()), (1, 1, 4));
        assert!(r.integrity_ok());

        // Without the refused list, the refused op counts as lost.
        let r = check(&d, &h, tech, &HashMap::new()).unwrap();
        assert_eq!(ops(&r.lost), ["op-lost", "op-refused"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
