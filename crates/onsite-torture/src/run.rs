//! The orchestrator: head office, the forwarder, the device steps, the faults, the
//! final clean sync and the invariant check.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use onsite_api::{
    routes, Appliance, CancelRequest, Customer, NewEnrolmentCode, NewTechnician, NewWorkOrder,
    ReassignRequest,
};
use onsite_domain::JobType;
use reqwest::Method;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{oneshot, Notify};
use uuid::Uuid;

use crate::check;
use crate::fwd::{Fault, Forwarder};
use crate::hq::Hq;
use crate::rng::Rng;

/// Fault kinds that can be left out (`--skip a,b`), e.g. while their fix has not landed.
pub const FAULTS: &[&str] = &[
    "kill-device",
    "kill-hq",
    "cut",
    "http-error",
    "restore",
    "restore-without-flag",
    "revoke",
    "cancel",
    "reassign",
    "clock",
    "dispatch",
];

pub struct Opts {
    pub seed: u64,
    pub actions: usize,
    pub syncs: usize,
    pub hq_bin: PathBuf,
    pub work: Option<PathBuf>,
    pub keep: bool,
    pub skip: Vec<String>,
    pub verbose: bool,
}

#[derive(Default)]
pub struct Counts {
    pub actions: usize,
    pub syncs: usize,
    pub kills: usize,
    pub restores: usize,
    pub cuts: usize,
}

/// The longest a device step may take (a sync's client timeout is 30 s a request).
const STEP_LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

/// One thing that happened, for the failure report.
pub struct Event {
    pub step: usize,
    pub what: String,
}

/// How a device step may be killed.
enum KillPlan {
    None,
    /// SIGKILL at the n-th `point` the device reports (1-based).
    AtPoint(usize),
    /// SIGKILL the device (or head office) when the forwarder holds the armed request.
    OnHold {
        arrived: oneshot::Receiver<()>,
        release: Arc<Notify>,
        hq: bool,
    },
}

#[derive(Default)]
struct Outcome {
    code: Option<i32>,
    killed_device: bool,
    killed_hq: bool,
    lines: Vec<String>,
    stderr: String,
}

pub struct Torture {
    opts: Opts,
    /// This binary, resolved once (a rebuild during a run replaces the file).
    exe: PathBuf,
    rng: Rng,
    /// New jobs dispatched during the run: a stream of its own, so that adding this
    /// fault kind left every other draw of a seed as it was.
    dispatch_rng: Rng,
    next_order: usize,
    work: PathBuf,
    db: PathBuf,
    blobs: PathBuf,
    hq: Hq,
    fwd: Forwarder,
    pub counts: Counts,
    pub events: Vec<Event>,
    /// Outbox op id → the step that committed it.
    pub op_steps: HashMap<String, usize>,
    technician: Uuid,
    other: Uuid,
    jobs: Vec<Uuid>,
    backups: Vec<(usize, PathBuf)>,
    clock: i64,
    hq_down_until: Option<usize>,
    step: usize,
}

fn skipped(opts: &Opts, fault: &str) -> bool {
    opts.skip.iter().any(|s| s == fault)
}

impl Torture {
    pub async fn setup(opts: Opts) -> Result<Torture, String> {
        let work = match &opts.work {
            Some(w) => w.clone(),
            None => std::env::temp_dir().join(format!(
                "onsite-torture-{}-{}",
                opts.seed,
                std::process::id()
            )),
        };
        if work.exists() {
            std::fs::remove_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        }
        std::fs::create_dir_all(work.join("device/blobs")).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(work.join("backups")).map_err(|e| e.to_string())?;
        let token = format!("torture-admin-{}", Uuid::now_v7().simple());
        // A copy, so that every restart runs the same head office even if it is rebuilt.
        let hq_bin = work.join("onsite-hq");
        std::fs::copy(&opts.hq_bin, &hq_bin).map_err(|e| {
            format!(
                "{}: {e} (build it: cargo build -p onsite-hq --bin onsite-hq)",
                opts.hq_bin.display()
            )
        })?;
        let mut hq = Hq::new(&hq_bin, &work.join("hq"), &work.join("hq.log"), &token)?;
        hq.start(false).await?;
        let fwd = Forwarder::start(
            &hq.tls_dir().join("cert.pem"),
            &hq.tls_dir().join("key.pem"),
            &hq.ca_pem,
            &hq.base,
        )?;
        let rng = Rng::new(opts.seed);
        let exe = std::env::current_exe().map_err(|e| format!("this binary: {e}"))?;
        // Kept open by path: copied aside so that a rebuild cannot pull it away mid-run.
        let copy = work.join("onsite-torture");
        std::fs::copy(&exe, &copy).map_err(|e| format!("copy of this binary: {e}"))?;
        let mut t = Torture {
            exe: copy,
            db: work.join("device/onsite.db"),
            blobs: work.join("device/blobs"),
            rng,
            dispatch_rng: Rng::new(opts.seed ^ 0xD15A_7C4E_D15A_7C4E),
            next_order: 0,
            work,
            hq,
            fwd,
            counts: Counts::default(),
            events: Vec::new(),
            op_steps: HashMap::new(),
            technician: Uuid::nil(),
            other: Uuid::nil(),
            jobs: Vec::new(),
            backups: Vec::new(),
            clock: 0,
            hq_down_until: None,
            step: 0,
            opts,
        };
        t.technician = t.new_technician("Torture Technician").await?;
        t.other = t.new_technician("Other Technician").await?;
        let n = (t.opts.actions / 7).max(8);
        for _ in 0..n {
            t.dispatch().await?;
        }
        let out = t.device("seed", &[], KillPlan::None).await?;
        if out.code != Some(0) {
            return Err(format!("device seed failed: {}", out.stderr.trim()));
        }
        t.enrol().await?;
        t.backup()?;
        Ok(t)
    }

    pub fn work_dir(&self) -> &Path {
        &self.work
    }

    async fn new_technician(&self, name: &str) -> Result<Uuid, String> {
        let t: onsite_api::Technician = self
            .hq
            .admin(
                Method::POST,
                routes::ADMIN_TECHNICIANS,
                Some(&NewTechnician { name: name.into() }),
            )
            .await?;
        Ok(t.id)
    }

    /// Head office dispatches a new job to the technician.
    async fn dispatch(&mut self) -> Result<Uuid, String> {
        let order_no = format!("T{}-{:04}", self.opts.seed, self.next_order);
        self.next_order += 1;
        let wo: onsite_api::WorkOrder = self
            .hq
            .admin(
                Method::POST,
                routes::ADMIN_WORK_ORDERS,
                Some(&new_work_order(&order_no, self.technician)),
            )
            .await
            .map_err(|e| format!("dispatching {order_no}: {e}"))?;
        self.jobs.push(wo.id);
        Ok(wo.id)
    }

    fn log(&mut self, what: String) {
        if self.opts.verbose {
            eprintln!("  step {}: {what}", self.step);
        }
        self.events.push(Event {
            step: self.step,
            what,
        });
    }

    /// A new enrolment code from head office and the device enrols with it.
    async fn enrol(&mut self) -> Result<(), String> {
        let path = routes::ADMIN_ENROLMENT_CODES.replace("{id}", &self.technician.to_string());
        let code: onsite_api::EnrolmentCode = self
            .hq
            .admin(Method::POST, &path, Some(&NewEnrolmentCode::default()))
            .await?;
        let ca = self.hq.tls_dir().join("ca.pem");
        let args = vec![
            "--url".to_string(),
            self.fwd.url.clone(),
            "--code".to_string(),
            code.code,
            "--ca".to_string(),
            ca.to_string_lossy().into_owned(),
        ];
        self.fwd.reset();
        let out = self.device("enroll", &args, KillPlan::None).await?;
        if out.code != Some(0) {
            return Err(format!("enrolment failed: {}", out.stderr.trim()));
        }
        self.log("enrolled".into());
        Ok(())
    }

    fn backup(&mut self) -> Result<(), String> {
        let path = self
            .work
            .join("backups")
            .join(format!("step-{:05}.sqlite3", self.step));
        if path.exists() {
            return Ok(());
        }
        self.hq.backup(&path)?;
        self.backups.push((self.step, path));
        self.log("head office backed up".into());
        Ok(())
    }

    /// Runs one device step as a child process, killing it as planned.
    async fn device(
        &mut self,
        cmd: &str,
        extra: &[String],
        plan: KillPlan,
    ) -> Result<Outcome, String> {
        let mut c = tokio::process::Command::new(&self.exe);
        c.arg("device")
            .arg(cmd)
            .arg("--db")
            .arg(&self.db)
            .arg("--blobs")
            .arg(&self.blobs)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let at_point = match plan {
            KillPlan::AtPoint(n) => {
                c.arg("--pause");
                Some(n)
            }
            _ => None,
        };
        let mut child = c.spawn().map_err(|e| format!("device: {e}"))?;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let mut stderr = child.stderr.take().ok_or("no stderr")?;
        let err_task = tokio::spawn(async move {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s).await;
            s
        });
        let mut out = Outcome::default();
        let (mut hold, release, kill_hq) = match plan {
            KillPlan::OnHold {
                arrived,
                release,
                hq,
            } => (Some(arrived), Some(release), hq),
            _ => (None, None, false),
        };
        let mut points = 0;
        // A step that never ends is a hang to report, not to wait for.
        let deadline = tokio::time::sleep(STEP_LIMIT);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => {
                    let _ = child.kill().await;
                    return Err(format!(
                        "device step `{cmd}` did not finish within {} s (killed)",
                        STEP_LIMIT.as_secs()
                    ));
                }
                line = lines.next_line() => {
                    let Ok(Some(line)) = line else { break };
                    if let Some(name) = line.strip_prefix("point ") {
                        points += 1;
                        if at_point == Some(points) {
                            let _ = child.kill().await;
                            out.killed_device = true;
                            out.lines.push(format!("killed at {name}"));
                            break;
                        }
                        let _ = stdin.write_all(b"go\n").await;
                        let _ = stdin.flush().await;
                    } else if let Some(rest) = line.strip_prefix("op ") {
                        if let Some(op) = rest.split(' ').next() {
                            self.op_steps.insert(op.to_string(), self.step);
                        }
                        out.lines.push(line);
                    } else {
                        out.lines.push(line);
                    }
                }
                r = async { hold.as_mut().expect("guarded").await }, if hold.is_some() => {
                    hold = None;
                    if r.is_ok() {
                        if kill_hq {
                            self.hq.kill().await;
                            out.killed_hq = true;
                        } else {
                            let _ = child.kill().await;
                            out.killed_device = true;
                            out.lines.push("killed while head office held its request".into());
                        }
                        if let Some(r) = &release {
                            r.notify_one();
                        }
                        if out.killed_device {
                            break;
                        }
                    }
                }
            }
        }
        if let Some(r) = &release {
            r.notify_one();
        }
        let status = child.wait().await.map_err(|e| e.to_string())?;
        out.code = status.code();
        out.stderr = err_task.await.unwrap_or_default();
        Ok(out)
    }

    fn device_integrity(&self) -> Result<(), String> {
        let got = check::device_integrity(&self.db)?;
        if got != "ok" {
            return Err(format!("device database integrity_check: {got}"));
        }
        Ok(())
    }

    /// Jobs the technician is working on now (read from the device's file between steps).
    fn jobs_in_progress(&self) -> Vec<Uuid> {
        check::device_jobs(&self.db)
            .unwrap_or_default()
            .into_iter()
            .filter(|j| matches!(j.status.as_str(), "en_route" | "on_site" | "in_progress"))
            .filter_map(|j| Uuid::parse_str(&j.id).ok())
            .collect()
    }

    /// The whole run: steps, then the final clean sync and the check.
    pub async fn run(&mut self) -> Result<check::Report, (usize, String)> {
        let total = self.opts.actions + self.opts.syncs;
        let mut plan: Vec<bool> = (0..total).map(|i| i < self.opts.syncs).collect();
        for i in (1..plan.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            plan.swap(i, j);
        }
        // The device has no work before its first sync.
        if let Some(first) = plan.iter().position(|s| *s) {
            plan.swap(0, first);
        }
        let started = Instant::now();
        for (i, is_sync) in plan.iter().enumerate() {
            self.step = i + 1;
            self.between_steps().await.map_err(|e| (self.step, e))?;
            if *is_sync {
                self.sync_step().await.map_err(|e| (self.step, e))?;
            } else {
                self.action_step().await.map_err(|e| (self.step, e))?;
            }
            if self.step.is_multiple_of(50) || self.step == total {
                let c = &self.counts;
                eprintln!(
                    "step {}/{total} ({:.0} s): {} actions, {} syncs, {} kills, {} restores, {} cuts",
                    self.step,
                    started.elapsed().as_secs_f64(),
                    c.actions,
                    c.syncs,
                    c.kills,
                    c.restores,
                    c.cuts
                );
            }
        }
        self.step = total + 1;
        self.finish().await.map_err(|e| (self.step, e))
    }

    async fn between_steps(&mut self) -> Result<(), String> {
        // Every chance is drawn whether or not its fault is enabled, so that --skip
        // leaves the rest of a seed's run as it was.
        let restart = self.hq_down_until.is_some_and(|s| self.step >= s);
        let backup = self.rng.chance(3.0);
        let restore = self.rng.chance(2.5);
        let restore_flag = self.rng.chance(50.0);
        let restore_pick = self.rng.next_u64();
        let revoke = self.rng.chance(0.8);
        let cancel = self.rng.chance(1.0);
        let reassign = self.rng.chance(1.0);
        let job_pick = self.rng.next_u64();
        let clock = self.rng.chance(2.0);
        let clock_to = if self.rng.chance(20.0) {
            self.rng.range(-3, 3) * 86_400
        } else {
            self.rng.range(-8 * 3600, 8 * 3600)
        };
        let kill_hq = self.rng.chance(1.0);
        let down_for = self.rng.range(1, 6) as usize;

        if restart {
            self.hq.start(false).await?;
            self.hq_down_until = None;
            self.log("head office restarted".into());
        }
        if !self.hq.is_up() {
            return Ok(());
        }
        if backup {
            self.backup()?;
        }
        let flag_skipped = !restore_flag && skipped(&self.opts, "restore-without-flag");
        if restore && !skipped(&self.opts, "restore") && !flag_skipped && !self.backups.is_empty() {
            let (from, path) =
                self.backups[(restore_pick % self.backups.len() as u64) as usize].clone();
            self.hq.restore(&path, restore_flag).await?;
            self.counts.restores += 1;
            self.log(format!(
                "head office restored from the backup of step {from} ({})",
                if restore_flag {
                    "--new-epoch"
                } else {
                    "no flag"
                }
            ));
        }
        if revoke && !skipped(&self.opts, "revoke") {
            let devices: Vec<onsite_api::Device> = self
                .hq
                .admin::<(), _>(Method::GET, routes::ADMIN_DEVICES, None)
                .await?;
            let mine: Vec<Uuid> = devices
                .iter()
                .filter(|d| d.technician_id == self.technician && d.revoked_at.is_none())
                .map(|d| d.id)
                .collect();
            for d in mine {
                let path = routes::ADMIN_DEVICE_REVOKE.replace("{id}", &d.to_string());
                self.hq
                    .admin::<(), serde_json::Value>(Method::POST, &path, None)
                    .await?;
                self.log("device revoked at head office".into());
            }
        }
        if cancel || reassign {
            let working = self.jobs_in_progress();
            if !working.is_empty() {
                let job = working[(job_pick % working.len() as u64) as usize];
                if cancel && !skipped(&self.opts, "cancel") {
                    let path = routes::ADMIN_WORK_ORDER_CANCEL.replace("{id}", &job.to_string());
                    let r = self
                        .hq
                        .admin::<_, serde_json::Value>(
                            Method::POST,
                            &path,
                            Some(&CancelRequest {
                                reason: "customer cancelled".into(),
                            }),
                        )
                        .await;
                    self.log(format!(
                        "job {job} cancelled at head office: {}",
                        ok_or_code(&r)
                    ));
                } else if reassign && !skipped(&self.opts, "reassign") {
                    let path = routes::ADMIN_WORK_ORDER_REASSIGN.replace("{id}", &job.to_string());
                    let r = self
                        .hq
                        .admin::<_, serde_json::Value>(
                            Method::POST,
                            &path,
                            Some(&ReassignRequest {
                                technician_id: self.other,
                                expected_version: None,
                            }),
                        )
                        .await;
                    self.log(format!(
                        "job {job} reassigned at head office: {}",
                        ok_or_code(&r)
                    ));
                }
            }
        }
        if clock && !skipped(&self.opts, "clock") {
            self.clock = clock_to;
            self.log(format!("device clock moved to {clock_to:+} s"));
        }
        if self.dispatch_rng.chance(2.0) && !skipped(&self.opts, "dispatch") {
            let job = self.dispatch().await?;
            self.log(format!("job {job} dispatched at head office"));
        }
        if kill_hq && !skipped(&self.opts, "kill-hq") {
            self.hq.kill().await;
            self.counts.kills += 1;
            self.hq_down_until = Some(self.step + down_for);
            self.log(format!("head office killed (down for {down_for} steps)"));
        }
        Ok(())
    }

    async fn action_step(&mut self) -> Result<(), String> {
        self.counts.actions += 1;
        let kill = self.rng.chance(12.0);
        let at = if self.rng.chance(66.0) { 1 } else { 2 };
        let seed = self.rng.next_u64();
        let plan = if kill && !skipped(&self.opts, "kill-device") {
            KillPlan::AtPoint(at)
        } else {
            KillPlan::None
        };
        let args = vec![
            "--seed".to_string(),
            seed.to_string(),
            "--clock".to_string(),
            self.clock.to_string(),
        ];
        let out = self.device("act", &args, plan).await?;
        let did = out
            .lines
            .iter()
            .filter(|l| l.starts_with("did") || l.starts_with("killed"))
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if out.killed_device {
            self.counts.kills += 1;
            self.log(format!("action killed: {did}"));
            self.device_integrity()?;
        } else if out.code != Some(0) {
            return Err(format!(
                "device action failed ({:?}): {}",
                out.code,
                out.stderr.trim()
            ));
        } else {
            self.log(format!("action: {did}"));
        }
        Ok(())
    }

    async fn sync_step(&mut self) -> Result<(), String> {
        self.counts.syncs += 1;
        let which = self.rng.weighted(&[40, 8, 8, 4, 3, 8, 4, 5, 7, 4, 4, 5]);
        let target = *self
            .rng
            .pick(&[
                routes::SYNC_PUSH,
                routes::SYNC_PUSH,
                routes::SYNC_PULL,
                "/v1/blobs/",
            ])
            .expect("non-empty");
        let skip_n = self.rng.range(0, 1) as usize;
        let point = self.rng.range(1, 4) as usize;
        let enabled = |f: &str| !skipped(&self.opts, f);
        let hold = |after_forward: bool, hq: bool| {
            let (tx, rx) = oneshot::channel();
            let release = Arc::new(Notify::new());
            (
                Fault::Hold {
                    after_forward,
                    arrived: tx,
                    release: release.clone(),
                },
                KillPlan::OnHold {
                    arrived: rx,
                    release,
                    hq,
                },
            )
        };
        let mut plan = KillPlan::None;
        let mut label = "sync";
        match which {
            1 if enabled("kill-device") => {
                plan = KillPlan::AtPoint(point);
                label = "sync, device killed at a progress point";
            }
            2 if enabled("kill-device") => {
                let (f, p) = hold(true, false);
                self.fwd.arm(target, skip_n, f);
                plan = p;
                label = "sync, device killed after head office answered";
            }
            3 if enabled("kill-device") => {
                let (f, p) = hold(false, false);
                self.fwd.arm(target, skip_n, f);
                plan = p;
                label = "sync, device killed before head office saw the request";
            }
            4 if enabled("kill-hq") => {
                let (f, p) = hold(false, true);
                self.fwd.arm(target, skip_n, f);
                plan = p;
                label = "sync, head office killed as the request came";
            }
            5 if enabled("http-error") => {
                self.fwd.arm(target, skip_n, Fault::Reply(500));
                label = "sync, a 500";
            }
            6 if enabled("http-error") => {
                self.fwd.arm(target, skip_n, Fault::Reply(503));
                label = "sync, a 503";
            }
            7 if enabled("http-error") => {
                self.fwd.arm(target, skip_n, Fault::LostReply);
                label = "sync, a reply lost after head office did the work";
            }
            8 if enabled("cut") => {
                self.fwd.arm(target, skip_n, Fault::CutReply);
                label = "sync, a reply cut mid-body";
            }
            9 if enabled("cut") => {
                self.fwd.arm(target, skip_n, Fault::CutRequest);
                label = "sync, a request cut mid-body";
            }
            10 if enabled("kill-hq") => {
                let (f, p) = hold(true, true);
                self.fwd.arm(target, skip_n, f);
                plan = p;
                label = "sync, head office killed after it answered";
            }
            11 if enabled("kill-device") => {
                // Two faults in one run: a 503 on the first request of the kind drawn, and a
                // kill at a progress point if one comes first (a 503 ends the run).
                self.fwd.arm(target, 0, Fault::Reply(503));
                plan = KillPlan::AtPoint(point);
                label = "sync, a 503, or a kill at a progress point before it";
            }
            _ => {}
        }
        let out = self.device("sync", &[], plan).await?;
        let fired = self.fwd.reset();
        self.counts.cuts += fired.iter().filter(|f| f.starts_with("cut")).count();
        if out.killed_device {
            self.counts.kills += 1;
        }
        if out.killed_hq {
            self.counts.kills += 1;
            self.hq_down_until = Some(self.step + 1);
        }
        let said = out
            .lines
            .iter()
            .filter(|l| l.starts_with("sync") || l.starts_with("killed"))
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        let fired = if fired.is_empty() {
            String::new()
        } else {
            format!(" [fired: {}]", fired.join(","))
        };
        self.log(format!("{label}{fired}: {said}"));
        if out.killed_device {
            self.device_integrity()?;
        }
        match out.code {
            Some(3) if self.hq.is_up() => {
                // Revoked, or unknown after a restore: enrol again, as the technician would.
                self.enrol().await?;
            }
            Some(0) | Some(3) | Some(4) | Some(5) | None => {}
            Some(c) => {
                return Err(format!(
                    "device sync crashed (exit {c}): {}",
                    out.stderr.trim()
                ))
            }
        }
        Ok(())
    }

    /// The final clean sync (no faults, head office up), then the invariant check.
    async fn finish(&mut self) -> Result<check::Report, String> {
        if !self.hq.is_up() {
            self.hq.start(false).await?;
            self.log("head office restarted for the final sync".into());
        }
        self.fwd.reset();
        let mut successes = 0;
        let mut last_error = String::new();
        for _ in 0..8 {
            let out = self.device("sync", &[], KillPlan::None).await?;
            let said = out.lines.join("; ");
            self.log(format!("final sync: {said}"));
            match out.code {
                Some(0) => {
                    successes += 1;
                    if successes == 2 {
                        break;
                    }
                }
                Some(3) => self.enrol().await?,
                _ => last_error = format!("{said} {}", out.stderr.trim()),
            }
        }
        let path = format!(
            "{}?technician_id={}",
            routes::ADMIN_REFUSED_OPS,
            self.technician
        );
        let refused: Vec<onsite_api::RefusedOp> =
            self.hq.admin::<(), _>(Method::GET, &path, None).await?;
        let refused = refused
            .into_iter()
            .map(|r| (r.op_id.to_string(), r))
            .collect();
        let mut report = check::check(&self.db, &self.hq.db(), self.technician, &refused)?;
        if successes < 2 {
            report.sync_wedged = Some(last_error);
        }
        Ok(report)
    }

    /// Stops every child (head office; the device's exit was awaited at each step).
    pub async fn stop(self, remove: bool) {
        let mut hq = self.hq;
        hq.kill().await;
        self.fwd.stop().await;
        if remove && !self.opts.keep {
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }
}

fn ok_or_code(r: &Result<serde_json::Value, String>) -> String {
    match r {
        Ok(_) => "ok".into(),
        // "POST /path: 409 Conflict {...}": keep the status only.
        Err(e) => e.split(' ').nth(2).unwrap_or("error").to_string(),
    }
}

fn new_work_order(order_no: &str, technician: Uuid) -> NewWorkOrder {
    let start = Utc::now();
    NewWorkOrder {
        order_no: order_no.into(),
        technician_id: Some(technician),
        job_type: JobType::Repair,
        customer: Customer {
            name: format!("Customer {order_no}"),
            phone: "139-0000-0000".into(),
            address: "1 Test Road".into(),
            language: "zh-CN".into(),
        },
        appliance: Appliance {
            // The demo's fee tables, components and parts are for water purifiers.
            category: "water_purifier".into(),
            brand: "Acme".into(),
            model: "RO-1".into(),
            serial_no: Some(format!("SN-{order_no}")),
            purchase_date: None,
            proof: None,
            contracts: Vec::new(),
        },
        reported_fault: "leaks".into(),
        notes: String::new(),
        appointment_start: start,
        appointment_end: start + chrono::Duration::hours(2),
    }
}
