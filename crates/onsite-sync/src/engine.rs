//! Enrolment and one sync run over the local store.
//!
//! The store sits behind a `std::sync::Mutex` shared with the rest of the app; it is
//! locked only for short local steps, never while waiting on the network, so the
//! technician keeps working during a sync (a local edit made meanwhile is simply a new
//! pending op, and a pulled work order never overwrites it).

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use onsite_api::{ChangeItem, Hello, OpPayload, PushRequest, WorkOrder};
use onsite_store::sync::{self as store_sync, Enrolment, PulledOrder, SyncState};
use onsite_store::{Blobs, Store, StoreError};
use uuid::Uuid;

use crate::client::{ClientError, ClientOptions, HqClient};
use crate::map;
use crate::plan::{self, Blocked, Failure, LocalView, QueuedOp, WorkOrderAction};

/// The most pages one run pulls (a guard against a server that never says "done").
const MAX_PAGES: usize = 100_000;

/// A record head office refused for a cause that may go away is sent again at most this
/// often (and at once when its job comes back or head office's history is refetched).
pub const REFUSED_RETRY_SECS: i64 = 3600;

/// What a sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub blobs_uploaded: usize,
    /// Photos uploaded (also counted in `blobs_uploaded`).
    pub photos_uploaded: usize,
    /// Photos an op referenced that this device no longer has (or whose bytes no longer
    /// match): the op went without them.
    pub photos_missing: usize,
    pub ops_applied: usize,
    pub ops_rejected: usize,
    /// Replays the server had seen already (counted in applied/rejected too).
    pub ops_duplicate: usize,
    pub ops_flagged: usize,
    /// Push requests sent.
    pub push_requests: usize,
    pub pages_pulled: usize,
    pub changes_applied: usize,
    /// A full refetch started (unknown cursor or new server epoch).
    pub refetched: bool,
    /// Ops sent again because the server may have lost them.
    pub requeued: usize,
    /// The first record that cannot be sent (its job's later records wait behind it).
    pub blocked: Option<Blocked>,
    /// Every job whose queue stopped at a record that cannot be sent, by that record:
    /// a file missing or damaged here, a record too large, a kind this build cannot map.
    /// Other jobs' records still went.
    pub blocked_jobs: Vec<Blocked>,
    /// Records held because head office does not take them yet (their kind or a part of
    /// their wire format): sent once head office is upgraded, never refused.
    pub held: Vec<Blocked>,
    /// Acknowledged records forgotten here: behind head office's restore horizon.
    pub forgotten: usize,
    /// Head office marked this device lost: what was sent first is counted above, then
    /// the customer data here was erased (counts only) and head office told.
    pub erased: Option<onsite_api::ErasedReport>,
}

/// Why a sync run stopped. Texts carry no customer data.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("this device is not enrolled with a head office")]
    NotEnrolled,
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("local store: {0}")]
    Store(#[from] StoreError),
    #[error("head office broke the sync protocol: {0}")]
    Protocol(String),
}

impl SyncError {
    /// What it means: try again later, enrol again, or a bug.
    pub fn failure(&self) -> Failure {
        match self {
            SyncError::NotEnrolled => Failure::NeedsEnrolment,
            SyncError::Client(e) => e.failure(),
            SyncError::Protocol(_) => Failure::Transient { retry_after: None },
            SyncError::Store(_) => Failure::Permanent,
        }
    }

    /// The server's Retry-After, when it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.failure() {
            Failure::Transient { retry_after } => retry_after,
            _ => None,
        }
    }
}

fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    // A panic elsewhere while holding the lock cannot leave a half-written transaction
    // (rusqlite rolls back on drop), so the store is still consistent.
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// Enrols this device with a one-time code and saves the credentials in the store.
pub async fn enroll(
    store: &Mutex<Store>,
    server_url: &str,
    code: &str,
    device_name: &str,
    ca_pem: Option<&str>,
    options: ClientOptions,
) -> Result<Enrolment, SyncError> {
    let enrolment = request_enrolment(server_url, code, device_name, ca_pem, options).await?;
    lock(store).write(|tx| store_sync::save_enrolment(tx, &enrolment))?;
    Ok(enrolment)
}

/// Spends a one-time code with head office and returns the credentials, without saving
/// them (for a caller that prepares the store first, once it knows the code worked).
pub async fn request_enrolment(
    server_url: &str,
    code: &str,
    device_name: &str,
    ca_pem: Option<&str>,
    options: ClientOptions,
) -> Result<Enrolment, SyncError> {
    let client = HqClient::new(server_url, ca_pem, options)?;
    let reply = client.enroll(code, device_name).await?;
    if reply.token.is_empty() || reply.epoch.is_empty() {
        return Err(SyncError::Protocol("enrolment reply is incomplete".into()));
    }
    let enrolment = Enrolment {
        server_url: client.base_url().to_owned(),
        ca_pem: ca_pem.map(str::to_owned),
        device_id: reply.device_id.to_string(),
        technician_id: reply.technician_id.to_string(),
        technician_name: reply.technician_name.chars().take(100).collect(),
        token: reply.token,
        epoch: reply.epoch,
        server_id: reply.server_id,
        // The certificate head office presented, checked the usual way: pinned from now on.
        cert_sha256: client.certificate_fingerprint(),
    };
    Ok(enrolment)
}

/// A client for the head office this device is enrolled with.
pub fn client_for(store: &Mutex<Store>, options: ClientOptions) -> Result<HqClient, SyncError> {
    let st = store_sync::state(lock(store).conn())?.ok_or(SyncError::NotEnrolled)?;
    Ok(HqClient::pinned(
        &st.server_url,
        st.ca_pem.as_deref(),
        st.cert_pin.as_deref(),
        options,
    )?)
}

/// One sync run: upload the blobs pending ops reference, push the pending ops in order
/// (storing each result with the op's new state), then pull pages until done (each page
/// applied with its cursor in one transaction). When the pull shows the server lost
/// history (reset or new epoch), the ops it may have lost are re-queued and pushed again.
/// The attempt (and its error, if any) is recorded in the store.
pub async fn sync_once(store: &Mutex<Store>, client: &HqClient) -> Result<SyncReport, SyncError> {
    sync_once_with(store, client, &SyncConfig::default()).await
}

/// Where a sync finds what is not in the database, and who hears how it is going.
#[derive(Debug, Clone, Default)]
pub struct SyncConfig {
    /// The sealed folder of content-addressed files (the visit's photos and signatures,
    /// the documents): blob bytes not in the store's `blob` table are read from here.
    pub blobs: Option<Blobs>,
    /// Told after every blob uploaded, every push batch recorded and every pull page
    /// applied (for a progress display). Called without the store locked.
    pub progress: Option<ProgressSink>,
    /// How long acknowledged records are kept here after head office's restore horizon
    /// passed them (for support); default [`KEEP_ACKNOWLEDGED_DAYS`] days.
    pub keep_acknowledged: Option<chrono::Duration>,
}

/// Acknowledged records are kept at least this many days, even once head office says no
/// restore can lose them.
pub const KEEP_ACKNOWLEDGED_DAYS: i64 = 30;

/// The step a sync run is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPhase {
    Uploading,
    Pushing,
    Pulling,
}

/// A callback for progress: the phase and the run's counts so far.
#[derive(Clone)]
pub struct ProgressSink(pub std::sync::Arc<ProgressFn>);

/// What a [`ProgressSink`] calls.
pub type ProgressFn = dyn Fn(SyncPhase, &SyncReport) + Send + Sync;

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressSink")
    }
}

impl SyncConfig {
    fn tell(&self, phase: SyncPhase, report: &SyncReport) {
        if let Some(sink) = &self.progress {
            (sink.0)(phase, report);
        }
    }
}

/// [`sync_once`] with a [`SyncConfig`].
pub async fn sync_once_with(
    store: &Mutex<Store>,
    client: &HqClient,
    config: &SyncConfig,
) -> Result<SyncReport, SyncError> {
    let st = store_sync::state(lock(store).conn())?.ok_or(SyncError::NotEnrolled)?;
    let mut report = SyncReport::default();
    let result = run(store, client, config, &st, &mut report).await;
    let error = result.as_ref().err().map(|e| e.to_string());
    lock(store).write(|tx| store_sync::record_attempt(tx, Utc::now(), error.as_deref()))?;
    result.map(|()| report)
}

async fn run(
    store: &Mutex<Store>,
    client: &HqClient,
    config: &SyncConfig,
    st: &SyncState,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let me = Uuid::parse_str(&st.technician_id)
        .map_err(|_| SyncError::Protocol("enrolled technician id is not a UUID".into()))?;
    // Refused records whose cause may have gone (the office fixed it) go again, at most
    // once an hour each; head office decides them again.
    let retry_before = Utc::now() - chrono::Duration::seconds(REFUSED_RETRY_SECS);
    report.requeued +=
        lock(store).write(|tx| store_sync::requeue_refused(tx, None, Some(retry_before)))?;
    // Nothing to send: the first pull page is asked for now, beside the hello, instead of
    // one round trip after it (a first pull, a morning pull). Used only when the run then
    // sent nothing, head office kept its history and the store still holds the cursor and
    // commit it was asked with; else dropped (aborted) and asked again in order.
    let mut early = (store_sync::sendable_pending(lock(store).conn())? == 0).then(|| {
        Prefetch::start(
            client,
            &st.token,
            st.cursor.clone(),
            st.known_commit.clone(),
        )
    });
    // What head office speaks: a change (an upgrade) may let it take what it refused or
    // what this device held back.
    // Named with the newest commit known here: head office says at once whether it lost
    // history, before anything is pushed (a push first would fill the lost sequence
    // numbers and hide the loss, and send newer records before the lost older ones).
    let hello = client.hello(&st.token, st.known_commit.as_deref()).await?;
    if hello.history_lost {
        report.requeued += lock(store).write(|tx| {
            let n = store_sync::restart_after_lost_history(tx, None)?;
            if !hello.epoch.is_empty() {
                store_sync::set_epoch(tx, &hello.epoch)?;
            }
            Ok(n)
        })?;
        report.refetched = true;
    }
    // What head office speaks (not what it says about this device's history or backups).
    let hello_text = serde_json::to_string(&Hello {
        epoch: String::new(),
        restore_horizon: None,
        history_lost: false,
        retention_days: None,
        erase: false,
        ..hello.clone()
    })
    .unwrap_or_default();
    report.requeued += lock(store).write(|tx| {
        // How long closed jobs stay here (issue 11): the app's retention sweep reads it.
        onsite_store::retention::note_days(tx, hello.retention_days)?;
        if store_sync::note_hello(tx, &hello_text)? {
            store_sync::requeue_refused(tx, None, None)
        } else {
            Ok(0)
        }
    })?;
    if hello.erase {
        return erase_when_lost(store, client, config, st, &hello, report).await;
    }
    // What no restore of head office can lose need not be kept for re-sending.
    if let Some(h) = hello
        .restore_horizon
        .as_deref()
        .and_then(onsite_api::Checkpoint::parse)
    {
        let keep = config
            .keep_acknowledged
            .unwrap_or_else(|| chrono::Duration::days(KEEP_ACKNOWLEDGED_DAYS));
        report.forgotten += lock(store)
            .write(|tx| store_sync::prune_acknowledged(tx, h.seq, &st.epoch, Utc::now() - keep))?;
    }
    for _ in 0..3 {
        push_all(store, client, config, &st.token, &hello, report).await?;
        // A page from before a push could show the jobs as they were before it until the
        // next pull: asked again after the push instead.
        let first = early
            .take()
            .filter(|_| report.push_requests == 0 && !report.refetched);
        let requeued = pull_all(store, client, config, &st.token, me, report, first).await?;
        if requeued == 0 {
            return Ok(());
        }
    }
    Ok(())
}

/// How many times a lost device pushes again when records were made while it pushed,
/// before it erases anyway.
const LOST_PUSH_ROUNDS: usize = 3;

/// Head office marked this device lost (issue 11): push everything that can go (no pull:
/// head office sends a lost device nothing), erase the customer data and every blob file,
/// record that, and tell head office, which revokes the device. Records that cannot be
/// sent (refused for good, a file missing, held for an upgrade) are erased too and counted
/// as unsent in the report. Already erased (the report did not reach head office): only the
/// report goes again.
async fn erase_when_lost(
    store: &Mutex<Store>,
    client: &HqClient,
    config: &SyncConfig,
    st: &SyncState,
    hello: &Hello,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    use onsite_store::erase;
    let done = erase::erased(lock(store).conn())?;
    let mut erased = match done {
        Some(erased) => erased,
        None => {
            let mut erased = None;
            for round in 1..=LOST_PUSH_ROUNDS {
                push_all(store, client, config, &st.token, hello, report).await?;
                // Erased in the same transaction that checks nothing sendable is left
                // (a record made while pushing goes in another round).
                erased = lock(store).write(|tx| {
                    if round < LOST_PUSH_ROUNDS && store_sync::sendable_pending(tx)? > 0 {
                        return Ok(None);
                    }
                    erase::erase(tx, Utc::now()).map(Some)
                })?;
                if erased.is_some() {
                    break;
                }
            }
            erased.unwrap_or_default()
        }
    };
    // The files, and the scrub, on every run until head office heard of the erase: a crash
    // after the erase's commit must not leave them behind (both are idempotent).
    let files = config
        .blobs
        .as_ref()
        .map_or(0, |b| erase::remove_all_blob_files(b.dir())) as u64;
    if files > 0 {
        erased.files += files;
        lock(store).write(|tx| erase::record(tx, &erased))?;
    }
    // Deleted rows linger in free pages and the log until the file is rewritten. Best
    // effort: a failure (the disk full) must not stop the report; the next run tries again.
    let _ = erase::scrub(lock(store).conn());
    client.erased(&st.token, &erased).await?;
    lock(store).write(|tx| erase::mark_reported(tx, Utc::now()))?;
    report.erased = Some(erased);
    Ok(())
}

async fn push_all(
    store: &Mutex<Store>,
    client: &HqClient,
    config: &SyncConfig,
    token: &str,
    hello: &Hello,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let max = client
        .options()
        .max_ops_per_push
        .clamp(1, onsite_api::limits::MAX_OPS_PER_PUSH);
    let mut max_bytes = client
        .options()
        .max_push_bytes
        .min(onsite_api::limits::MAX_JSON_BODY_BYTES);
    // Blobs head office holds, as learnt in this run (a blob kept only in the blobs folder
    // has no row in the store to mark).
    let mut at_hq: HashSet<String> = HashSet::new();
    upload_ahead(store, client, config, token, hello, &mut at_hq, report).await?;
    // Jobs whose queue stopped at a record that cannot be sent: their later records wait
    // behind it (their order may matter); every other job's records keep flowing.
    let mut stuck: Vec<(String, Blocked)> = Vec::new();
    let mut waits: Vec<store_sync::Waiting> = Vec::new();
    let mut after = 0;
    loop {
        let (queue, acked) = {
            let s = lock(store);
            let rows = store_sync::next_pending_after(s.conn(), after, max + 1)?;
            let queue: Vec<QueuedOp> = rows
                .iter()
                .map(|r| QueuedOp {
                    device_seq: r.device_seq,
                    op_id: r.op_id.clone(),
                    entity: r.entity_id.clone(),
                    kind: r.kind.clone(),
                    // Recorded as it was (a QR payment stays QR): a record head office
                    // cannot take yet is held below until it can, never reshaped.
                    mapped: map::to_wire_in(&s, r),
                })
                .collect();
            let mut acked = Vec::new();
            for op in queue.iter().filter_map(|q| q.mapped.as_ref().ok()) {
                for sha in map::blob_of(op).into_iter().chain(map::photos_of(op)) {
                    if at_hq.contains(&sha) || store_sync::blob_uploaded(s.conn(), &sha)? {
                        acked.push(sha);
                    }
                }
            }
            (queue, acked)
        };
        let Some(last) = queue.last() else { break };
        let last_seen = last.device_seq;
        // What can go now: not behind a stuck record of its job, mapped, and of a kind and
        // shape head office takes (else held until it is upgraded, never refused).
        let mut ready = Vec::with_capacity(queue.len());
        for q in queue {
            if stuck.iter().any(|(e, _)| e == &q.entity) {
                waits.push(wait(&q.op_id, waiting::BEHIND, false));
                continue;
            }
            match &q.mapped {
                Err(e) => {
                    let b = Blocked {
                        device_seq: q.device_seq,
                        kind: q.kind.clone(),
                        why: e.to_string(),
                    };
                    waits.push(wait(&q.op_id, waiting::UNREADABLE, false));
                    stuck.push((q.entity.clone(), b));
                }
                Ok(op) => match hello.cannot_take(op) {
                    Some(why) => {
                        report.held.push(Blocked {
                            device_seq: q.device_seq,
                            kind: q.kind.clone(),
                            why: why.clone(),
                        });
                        waits.push(wait(&q.op_id, waiting::HELD, true));
                    }
                    None => ready.push(q),
                },
            }
        }
        let mut batch = plan::next_batch(&ready, &|sha| acked.iter().any(|a| a == sha), max);
        // Required blobs (signatures, documents) first, except for records the technician
        // chose to send without theirs; one missing or damaged here stops its job's queue
        // at the record that needs it.
        let waived: Vec<String> = batch
            .ops
            .iter()
            .filter(|o| o.file_missing.is_some())
            .filter_map(map::blob_of)
            .collect();
        let needed: Vec<String> = batch
            .blobs_first
            .iter()
            .filter(|sha| !waived.contains(sha))
            .cloned()
            .collect();
        let (usable, unusable) = read_blobs(store, config, &needed)?;
        let check = Check::for_hello(hello);
        upload(
            store, client, config, token, check, &usable, false, &mut at_hq, report,
        )
        .await?;
        for (sha, why) in unusable {
            if let Some(op) = batch.ops.iter().find(|o| {
                o.file_missing.is_none() && map::blob_of(o).as_deref() == Some(sha.as_str())
            }) {
                let q = ready.iter().find(|q| q.device_seq == op.device_seq);
                let b = Blocked {
                    device_seq: op.device_seq,
                    kind: q.map(|q| q.kind.clone()).unwrap_or_default(),
                    why: why.to_owned(),
                };
                if let Some(q) = q {
                    waits.push(wait(&q.op_id, waiting::for_file(why), false));
                    if !stuck.iter().any(|(e, _)| e == &q.entity) {
                        stuck.push((q.entity.clone(), b));
                    }
                }
            }
        }
        // Photos go even for a stuck job: the records before the stop are sent now and
        // would never bring their photos later. A photo lost or damaged here does not hold
        // its record back.
        for chunk in batch.photos_first.chunks(UPLOADS_AT_ONCE) {
            let mut ready_photos = Vec::with_capacity(chunk.len());
            for sha in chunk {
                match read_blob(store, config, sha)? {
                    Ok(bytes) => ready_photos.push((sha.clone(), bytes)),
                    Err(why) => {
                        report.photos_missing += 1;
                        let now = Utc::now();
                        crate::unsent::record_photo(&mut lock(store), &batch.ops, sha, why, now)?;
                    }
                }
            }
            upload(
                store,
                client,
                config,
                token,
                check,
                &ready_photos,
                true,
                &mut at_hq,
                report,
            )
            .await?;
        }
        let entity_of = |seq: i64| {
            ready
                .iter()
                .find(|q| q.device_seq == seq)
                .map(|q| q.entity.clone())
                .unwrap_or_default()
        };
        batch.ops.retain(|o| {
            let e = entity_of(o.device_seq);
            let behind = stuck
                .iter()
                .any(|(s, b)| s == &e && o.device_seq > b.device_seq);
            if behind {
                if let Some(q) = ready.iter().find(|q| q.device_seq == o.device_seq) {
                    waits.push(wait(&q.op_id, waiting::BEHIND, false));
                }
            }
            !behind
                && !stuck
                    .iter()
                    .any(|(s, b)| s == &e && o.device_seq == b.device_seq)
        });
        if batch.ops.is_empty() {
            after = last_seen;
            continue;
        }
        // A batch over the body limit (head office's, or a proxy's that answered 413) is
        // halved until it fits; a record alone over it stops its job's queue there.
        let mut request = PushRequest { ops: batch.ops };
        while request.ops.len() > 1 && body_len(&request) > max_bytes {
            request.ops.truncate(request.ops.len() / 2);
        }
        if body_len(&request) > max_bytes {
            block_too_large(&request.ops[0], &ready, &mut stuck, &mut waits);
            continue;
        }
        report.push_requests += 1;
        let reply = match client.push(token, &request).await {
            Err(ClientError::Status { status: 413, .. }) => {
                if request.ops.len() == 1 {
                    block_too_large(&request.ops[0], &ready, &mut stuck, &mut waits);
                } else {
                    max_bytes = (body_len(&request) / 2).max(1);
                }
                continue;
            }
            other => other?,
        };
        let recorded = plan::read_push_reply(&request.ops, &reply).map_err(SyncError::Protocol)?;
        lock(store).write(|tx| {
            let now = Utc::now();
            for r in &recorded {
                if store_sync::record_result(
                    tx,
                    &r.op_id.to_string(),
                    &r.outcome,
                    &reply.epoch,
                    now,
                )? {
                    match r.outcome {
                        store_sync::StoredOutcome::Applied { flagged, .. } => {
                            report.ops_applied += 1;
                            report.ops_flagged += usize::from(flagged);
                        }
                        store_sync::StoredOutcome::Rejected { .. } => report.ops_rejected += 1,
                    }
                    report.ops_duplicate += usize::from(r.duplicate);
                }
            }
            if let Some(c) = &reply.checkpoint {
                store_sync::note_commit(tx, c)?;
            }
            Ok(())
        })?;
        config.tell(SyncPhase::Pushing, report);
        if recorded.len() < request.ops.len() {
            return Err(SyncError::Protocol(
                "push reply has fewer results than ops sent".into(),
            ));
        }
        // Skipped records before the last one sent stay pending and are not looked at
        // again in this run (they wait, for a reason recorded above).
        after = request.ops.last().map_or(after, |o| o.device_seq);
    }
    let mut firsts: Vec<Blocked> = stuck.into_iter().map(|(_, b)| b).collect();
    firsts.sort_by_key(|b| b.device_seq);
    report.blocked = firsts.first().cloned();
    report.blocked_jobs = firsts;
    lock(store).write(|tx| store_sync::set_waiting(tx, &waits, Utc::now()))?;
    Ok(())
}

/// Why a record waits, as the sync screen shows it (a stable code it translates).
pub mod waiting {
    /// Behind an earlier record of its job that cannot be sent.
    pub const BEHIND: &str = "behind";
    /// Its file (signature, document) is not on this device.
    pub const FILE_MISSING: &str = "file_missing";
    /// Its file's bytes no longer match it (damaged on this device).
    pub const FILE_DAMAGED: &str = "file_damaged";
    /// Its file is larger than head office accepts.
    pub const FILE_TOO_LARGE: &str = "file_too_large";
    /// The record alone is larger than head office (or a proxy) accepts.
    pub const TOO_LARGE: &str = "too_large";
    /// This build cannot read or send it (a bug; kept).
    pub const UNREADABLE: &str = "unreadable";
    /// Head office does not take it yet: sent once it is upgraded.
    pub const HELD: &str = "held";

    /// The code for a blob problem as `read_blob` words it.
    pub(crate) fn for_file(why: &str) -> &'static str {
        if why.contains("damaged") {
            FILE_DAMAGED
        } else if why.contains("larger") {
            FILE_TOO_LARGE
        } else {
            FILE_MISSING
        }
    }
}

fn wait(op_id: &str, why: &str, held: bool) -> store_sync::Waiting {
    store_sync::Waiting {
        op_id: op_id.to_owned(),
        why: why.to_owned(),
        held,
    }
}

/// A record that is larger than head office (or a proxy before it) accepts, even alone:
/// its job's queue stops there.
fn block_too_large(
    op: &onsite_api::Op,
    ready: &[QueuedOp],
    stuck: &mut Vec<(String, Blocked)>,
    waits: &mut Vec<store_sync::Waiting>,
) {
    let why = "the record is larger than head office accepts";
    if let Some(q) = ready.iter().find(|q| q.device_seq == op.device_seq) {
        waits.push(wait(&q.op_id, waiting::TOO_LARGE, false));
        stuck.push((
            q.entity.clone(),
            Blocked {
                device_seq: op.device_seq,
                kind: q.kind.clone(),
                why: why.into(),
            },
        ));
    }
}

/// Blobs uploaded at the same time (HTTP/2 streams on one connection): on a slow link
/// the round trips of HEAD and PUT overlap instead of adding up.
const UPLOADS_AT_ONCE: usize = 8;

/// The same when head office said at once which blobs it lacks (no `HEAD` before each).
const UPLOADS_AT_ONCE_CHECKED: usize = 100;

/// The most blob bytes read into memory for one wave of [`upload_ahead`].
const AHEAD_WAVE_BYTES: usize = 16 * 1024 * 1024;

/// A blob's bytes (from the store, else the blobs folder), or why it cannot be sent.
fn read_blob(
    store: &Mutex<Store>,
    config: &SyncConfig,
    sha: &str,
) -> Result<Result<Vec<u8>, &'static str>, SyncError> {
    let bytes = match store_sync::blob(lock(store).conn(), sha)? {
        Some((bytes, _)) => Some(bytes),
        None => match read_blob_file(config, sha) {
            FileBlob::Missing => None,
            FileBlob::TooLarge => {
                return Ok(Err(
                    "the blob it references is larger than head office accepts",
                ))
            }
            FileBlob::Damaged => {
                return Ok(Err("the blob it references is damaged on this device"))
            }
            FileBlob::Bytes(b) => Some(b),
        },
    };
    // Bytes that no longer hash to their id, or that head office would refuse as too
    // large, would fail the same way forever.
    Ok(match bytes {
        None => Err("the blob it references is missing on this device"),
        Some(b) if b.len() > onsite_api::limits::MAX_BLOB_BYTES => {
            Err("the blob it references is larger than head office accepts")
        }
        Some(b) if crate::sha256_hex(&b) != sha => {
            Err("the blob it references is damaged on this device")
        }
        Some(b) => Ok(b),
    })
}

/// Required blobs in order: those that can be sent, and each that cannot with why. They
/// are read all at once: signatures and documents are tens of KB, and a batch holds at most
/// `max_ops_per_push` ops. (Photos, which can be large, are read per chunk.)
#[allow(clippy::type_complexity)]
fn read_blobs(
    store: &Mutex<Store>,
    config: &SyncConfig,
    shas: &[String],
) -> Result<(Vec<(String, Vec<u8>)>, Vec<(String, &'static str)>), SyncError> {
    let mut ready = Vec::new();
    let mut unusable = Vec::new();
    for sha in shas {
        match read_blob(store, config, sha)? {
            Ok(bytes) => ready.push((sha.clone(), bytes)),
            Err(why) => unusable.push((sha.clone(), why)),
        }
    }
    Ok((ready, unusable))
}

/// How [`upload`] learns which blobs head office lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// A `HEAD` per blob (a head office without [`onsite_api::features::BLOBS_MISSING`]).
    Head,
    /// One `POST /v1/sync/blobs/missing` for them all.
    Batch,
    /// Asked already: every blob given is missing there.
    KnownMissing,
}

impl Check {
    fn for_hello(hello: &Hello) -> Check {
        if hello.has(onsite_api::features::BLOBS_MISSING) {
            Check::Batch
        } else {
            Check::Head
        }
    }
}

/// Which of `shas` head office lacks, asked in as few requests as its limit allows.
async fn missing_at_hq(
    client: &HqClient,
    token: &str,
    shas: &[String],
) -> Result<HashSet<String>, ClientError> {
    let mut missing = HashSet::new();
    for chunk in shas.chunks(onsite_api::limits::MAX_BLOBS_PER_CHECK) {
        missing.extend(client.blobs_missing(token, chunk).await?);
    }
    Ok(missing)
}

/// Uploads the blobs head office lacks ([`Check`] says how that is learnt), several at a
/// time as HTTP/2 streams on one connection ([`UPLOADS_AT_ONCE`], more when no `HEAD`
/// precedes each), and marks each chunk acknowledged in one transaction.
#[allow(clippy::too_many_arguments)]
async fn upload(
    store: &Mutex<Store>,
    client: &HqClient,
    config: &SyncConfig,
    token: &str,
    check: Check,
    blobs: &[(String, Vec<u8>)],
    photos: bool,
    at_hq: &mut HashSet<String>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    if blobs.is_empty() {
        return Ok(());
    }
    let missing = match check {
        Check::Batch => {
            let shas: Vec<String> = blobs.iter().map(|(sha, _)| sha.clone()).collect();
            Some(missing_at_hq(client, token, &shas).await?)
        }
        Check::Head | Check::KnownMissing => None,
    };
    let at_once = match check {
        Check::Head => UPLOADS_AT_ONCE,
        Check::Batch | Check::KnownMissing => UPLOADS_AT_ONCE_CHECKED,
    };
    for chunk in blobs.chunks(at_once) {
        let missing = &missing;
        let sent =
            futures_util::future::try_join_all(chunk.iter().map(|(sha, bytes)| async move {
                let lacks = match (check, missing) {
                    (Check::Head, _) => !client.blob_exists(token, sha).await?,
                    (_, Some(m)) => m.contains(sha),
                    (_, None) => true,
                };
                if !lacks {
                    return Ok::<bool, ClientError>(false);
                }
                client.put_blob(token, sha, bytes.clone()).await?;
                Ok(true)
            }))
            .await?;
        let n = sent.into_iter().filter(|&put| put).count();
        report.blobs_uploaded += n;
        if photos {
            report.photos_uploaded += n;
        }
        lock(store).write(|tx| {
            let now = Utc::now();
            for (sha, _) in chunk {
                store_sync::mark_blob_uploaded(tx, sha, now)?;
            }
            Ok(())
        })?;
        at_hq.extend(chunk.iter().map(|(sha, _)| sha.clone()));
        config.tell(SyncPhase::Uploading, report);
    }
    Ok(())
}

/// Before the pushes, for a head office that answers [`Check::Batch`]: every blob the
/// pending records reference (signatures and documents, and photos) is asked about in one
/// request, and what head office lacks is uploaded in a few waves of concurrent uploads,
/// instead of a `HEAD` and a `PUT` per blob batch by batch. A blob that cannot be read
/// here (missing, damaged, too large) is left to the pushes, which record why; so are
/// the records head office would not take (held).
async fn upload_ahead(
    store: &Mutex<Store>,
    client: &HqClient,
    config: &SyncConfig,
    token: &str,
    hello: &Hello,
    at_hq: &mut HashSet<String>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    if Check::for_hello(hello) != Check::Batch {
        return Ok(());
    }
    let (files, photos) = {
        let s = lock(store);
        let mut files: Vec<String> = Vec::new();
        let mut photos: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        let mut after = 0;
        loop {
            let rows = store_sync::next_pending_after(s.conn(), after, 500)?;
            let Some(last) = rows.last() else { break };
            after = last.device_seq;
            for row in &rows {
                let Ok(op) = map::to_wire_in(&s, row) else {
                    continue;
                };
                if hello.cannot_take(&op).is_some() {
                    continue;
                }
                // A record sent without its file (the technician's choice) needs none.
                let file = map::blob_of(&op).filter(|_| op.file_missing.is_none());
                for sha in file.iter() {
                    if seen.insert(sha.clone()) && !store_sync::blob_uploaded(s.conn(), sha)? {
                        files.push(sha.clone());
                    }
                }
                for sha in map::photos_of(&op) {
                    if seen.insert(sha.clone()) && !store_sync::blob_uploaded(s.conn(), &sha)? {
                        photos.push(sha);
                    }
                }
            }
        }
        (files, photos)
    };
    if files.is_empty() && photos.is_empty() {
        return Ok(());
    }
    let asked: Vec<String> = files.iter().chain(&photos).cloned().collect();
    let missing = missing_at_hq(client, token, &asked).await?;
    let there: Vec<&String> = asked.iter().filter(|s| !missing.contains(*s)).collect();
    if !there.is_empty() {
        lock(store).write(|tx| {
            let now = Utc::now();
            for sha in &there {
                store_sync::mark_blob_uploaded(tx, sha, now)?;
            }
            Ok(())
        })?;
        at_hq.extend(there.into_iter().cloned());
    }
    for (list, is_photo) in [(files, false), (photos, true)] {
        // Read in waves of bounded size: photos can be large.
        let mut wave: Vec<(String, Vec<u8>)> = Vec::new();
        let mut wave_bytes = 0;
        let mut todo = list.into_iter().filter(|s| missing.contains(s)).peekable();
        while let Some(sha) = todo.next() {
            if let Ok(bytes) = read_blob(store, config, &sha)? {
                wave_bytes += bytes.len();
                wave.push((sha, bytes));
            }
            let full = wave.len() >= UPLOADS_AT_ONCE_CHECKED || wave_bytes >= AHEAD_WAVE_BYTES;
            if full || todo.peek().is_none() {
                let check = Check::KnownMissing;
                upload(
                    store, client, config, token, check, &wave, is_photo, at_hq, report,
                )
                .await?;
                wave.clear();
                wave_bytes = 0;
            }
        }
    }
    Ok(())
}

/// The size of a push body as sent.
fn body_len(request: &PushRequest) -> usize {
    serde_json::to_vec(request).map_or(usize::MAX, |b| b.len())
}

enum FileBlob {
    Missing,
    TooLarge,
    /// Does not decrypt with this device's key, or its bytes do not hash to its address.
    Damaged,
    Bytes(Vec<u8>),
}

/// A blob's bytes from the sealed blobs folder (an oversized file is recognised by its
/// size, without reading it).
fn read_blob_file(config: &SyncConfig, sha: &str) -> FileBlob {
    let Some(blobs) = config.blobs.as_ref() else {
        return FileBlob::Missing;
    };
    if !onsite_api::is_sha256_hex(sha) {
        return FileBlob::Missing;
    }
    match blobs.size(sha) {
        Ok(n) if n > onsite_api::limits::MAX_BLOB_BYTES as u64 => return FileBlob::TooLarge,
        Ok(_) => {}
        Err(_) => return FileBlob::Missing,
    }
    match blobs.read(sha) {
        Ok(b) => FileBlob::Bytes(b),
        Err(onsite_store::StoreError::Io { .. }) => FileBlob::Missing,
        Err(_) => FileBlob::Damaged,
    }
}

async fn pull_all(
    store: &Mutex<Store>,
    client: &HqClient,
    config: &SyncConfig,
    token: &str,
    me: Uuid,
    report: &mut SyncReport,
    first: Option<Prefetch>,
) -> Result<usize, SyncError> {
    let mut requeued = 0;
    // The next page, asked for while this one is applied (a first pull of thousands of
    // jobs spends as long writing a page here as it waits for the next on a slow link);
    // at the start, the page the run asked for beside the hello, if any.
    let mut ahead: Option<Prefetch> = first;
    for _ in 0..MAX_PAGES {
        let st = store_sync::state(lock(store).conn())?.ok_or(SyncError::NotEnrolled)?;
        let page = match ahead.take() {
            // Asked with exactly what the store now says: the same request as made now.
            Some(next) if next.cursor == st.cursor && next.checkpoint == st.known_commit => {
                next.reply().await?
            }
            // (Dropped: aborted.)
            _ => {
                client
                    .pull(token, st.cursor.as_deref(), st.known_commit.as_deref())
                    .await?
            }
        };
        if page.has_more {
            // What the store will say once this page is saved (its cursor; the newer of the
            // commits), unless the page starts a refetch, which the check above catches.
            let checkpoint = match (&page.checkpoint, &st.known_commit) {
                (Some(c), Some(k)) if commit_seq(k) >= commit_seq(c) => Some(k.clone()),
                (Some(c), _) => Some(c.clone()),
                (None, k) => k.clone(),
            };
            ahead = Some(Prefetch::start(
                client,
                token,
                Some(page.cursor.clone()),
                checkpoint,
            ));
        }
        let p = plan::plan_page(&st.epoch, st.cursor.as_deref(), st.refetching, &page)
            .map_err(SyncError::Protocol)?;
        let applied = lock(store).write(|tx| {
            let now = Utc::now();
            let mut n_requeued = 0;
            // (The planner asks for a refetch and a re-send together: a reset or a new epoch.)
            if let Some(keep) = &p.requeue {
                n_requeued += store_sync::restart_after_lost_history(tx, keep.as_deref())?;
            }
            for change in &page.changes {
                apply_change(tx, &change.item, change.seq, me, now)?;
            }
            // Jobs head office sends (again) may take what it refused on them before: one
            // statement for the page (a first pull brings thousands of jobs).
            let jobs: Vec<String> = page
                .changes
                .iter()
                .filter_map(|c| match &c.item {
                    ChangeItem::WorkOrder(w) => Some(w.id.to_string()),
                    _ => None,
                })
                .collect();
            n_requeued += store_sync::requeue_refused(tx, Some(&jobs), None)?;
            store_sync::save_cursor(tx, &page.epoch, &page.cursor)?;
            if let Some(c) = &page.checkpoint {
                store_sync::note_commit(tx, c)?;
            }
            if p.finish_refetch {
                for id in store_sync::finish_refetch(tx)? {
                    let local = store_sync::local_order(tx, &id)?;
                    let view = local.as_ref().map(LocalView::from_store);
                    let action = plan::on_gone(view.as_ref(), plan::reason::GONE_AFTER_RESTORE);
                    apply_gone(tx, &id, action, now)?;
                }
            }
            if !p.more {
                // A status kept here while the technician's own change was pending (the
                // pull never overwrites one) follows head office's once nothing that moves
                // it is pending any more: head office wins on where a job stands.
                store_sync::reconcile_statuses(tx, &plan::STATUS_CHANGING_KINDS, now)?;
            }
            Ok(n_requeued)
        })?;
        requeued += applied;
        report.requeued += applied;
        report.refetched |= p.begin_refetch;
        report.pages_pulled += 1;
        report.changes_applied += page.changes.len();
        config.tell(SyncPhase::Pulling, report);
        if !p.more {
            return Ok(requeued);
        }
    }
    Err(SyncError::Protocol("pull never ends".into()))
}

/// The sequence number of a commit as a device names it (`<seq>:<tag>`).
fn commit_seq(checkpoint: &str) -> Option<i64> {
    checkpoint.split_once(':')?.0.parse().ok()
}

/// A pull page asked for ahead of need, on its own task (so that it travels while the
/// current page is written to the store); aborted when dropped unused.
struct Prefetch {
    cursor: Option<String>,
    checkpoint: Option<String>,
    task: tokio::task::JoinHandle<Result<onsite_api::PullReply, ClientError>>,
}

impl Prefetch {
    fn start(
        client: &HqClient,
        token: &str,
        cursor: Option<String>,
        checkpoint: Option<String>,
    ) -> Prefetch {
        let (client, token) = (client.clone(), token.to_owned());
        let (c, k) = (cursor.clone(), checkpoint.clone());
        let task =
            tokio::spawn(async move { client.pull(&token, c.as_deref(), k.as_deref()).await });
        Prefetch {
            cursor,
            checkpoint,
            task,
        }
    }

    async fn reply(mut self) -> Result<onsite_api::PullReply, SyncError> {
        match (&mut self.task).await {
            Ok(reply) => Ok(reply?),
            Err(_) => Err(SyncError::Protocol("the pull task stopped".into())),
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn apply_gone(
    tx: &rusqlite_tx::Transaction,
    id: &str,
    action: WorkOrderAction,
    now: chrono::DateTime<Utc>,
) -> Result<(), StoreError> {
    match action {
        WorkOrderAction::Remove => {
            if !store_sync::remove_work_order(tx, id)? {
                store_sync::flag_for_review(tx, id, plan::reason::REASSIGNED_WHILE_WORKED_ON, now)?;
                store_sync::keep_pulled(tx, id)?;
            }
        }
        WorkOrderAction::KeepAndFlag(why) => {
            store_sync::flag_for_review(tx, id, why, now)?;
            store_sync::keep_pulled(tx, id)?;
        }
        WorkOrderAction::Upsert { .. } | WorkOrderAction::Ignore => {}
    }
    Ok(())
}

/// The transaction type of the store (re-exported through onsite-store's API).
mod rusqlite_tx {
    pub type Transaction<'a> = onsite_store::sync::Tx<'a>;
}

fn apply_change(
    tx: &rusqlite_tx::Transaction,
    item: &ChangeItem,
    seq: i64,
    me: Uuid,
    now: chrono::DateTime<Utc>,
) -> Result<(), StoreError> {
    match item {
        ChangeItem::WorkOrder(w) => {
            let id = w.id.to_string();
            let local = store_sync::local_order(tx, &id)?;
            let view = local.as_ref().map(LocalView::from_store);
            match plan::merge_work_order(view.as_ref(), w, me) {
                WorkOrderAction::Upsert {
                    status,
                    take_hq_notes,
                    flag,
                } => {
                    upsert(tx, w, seq, status, take_hq_notes)?;
                    if let Some(why) = flag {
                        store_sync::flag_for_review(tx, &id, why, now)?;
                    }
                }
                other => apply_gone(tx, &id, other, now)?,
            }
        }
        ChangeItem::WorkOrderRemoved { id } => {
            let id = id.to_string();
            let local = store_sync::local_order(tx, &id)?;
            let view = local.as_ref().map(LocalView::from_store);
            let action = plan::on_gone(view.as_ref(), plan::reason::REASSIGNED_WHILE_WORKED_ON);
            apply_gone(tx, &id, action, now)?;
        }
        ChangeItem::FeeTable(t) => {
            store_sync::put_reference(tx, "fee_table", t.version, Some(t.effective_from), t)?;
            let lines: Vec<store_sync::FeeLine> = t
                .items
                .iter()
                .map(|i| store_sync::FeeLine {
                    code: &i.code,
                    name_zh: &i.name_zh,
                    name_en: &i.name_en,
                    description: &i.description,
                    kind: i.kind,
                    fee_minor: i.fee.minor,
                    plus_parts: i.plus_parts,
                    open_priced: i.open_priced,
                    coverable: i.coverable,
                    includes: &i.includes,
                })
                .collect();
            // The day it takes effect on this device's calendar (a table effective at
            // local midnight is effective that day, not the UTC day before).
            let from = t.effective_from.with_timezone(&chrono::Local).date_naive();
            store_sync::apply_fee_table(tx, &t.category, t.version, from, &lines)?;
        }
        ChangeItem::PartsCatalogue(c) => {
            store_sync::put_reference(tx, "parts_catalogue", c.version, None, c)?;
            let parts: Vec<store_sync::CataloguePart> = c
                .parts
                .iter()
                .map(|p| store_sync::CataloguePart {
                    part_no: &p.part_no,
                    name: &p.name,
                    name_en: p.name_en.as_deref(),
                    component: p.component.as_deref(),
                    serialised: p.serialised,
                    consumable: p.consumable,
                    return_required: p.return_required,
                })
                .collect();
            store_sync::apply_catalogue(tx, &parts)?;
        }
        ChangeItem::PriceList(l) => {
            store_sync::put_reference(tx, "price_list", l.version, Some(l.effective_from), l)?;
            let prices: Vec<(&str, i64)> = l
                .prices
                .iter()
                .map(|p| (p.part_no.as_str(), p.price.minor))
                .collect();
            store_sync::apply_prices(tx, &prices)?;
        }
        ChangeItem::Fact(f) => {
            // Facts of this technician, from their other devices. Kept as received; a
            // payload that does not read as its kind is still kept (never dropped).
            let parsed = OpPayload::parse(f.kind.as_str(), &f.payload);
            let new = store_sync::put_fact(
                tx,
                &store_sync::PulledFact {
                    fact_id: &f.fact_id.to_string(),
                    op_id: &f.op_id.to_string(),
                    work_order_id: &f.work_order_id.to_string(),
                    device_id: &f.device_id.to_string(),
                    kind: f.kind.as_str(),
                    payload: &f.payload,
                    received_at: f.received_at,
                },
            )?;
            // The van is one: its other device's part movements show here too, once.
            if let (true, Ok(p)) = (new, &parsed) {
                let fact_id = f.fact_id.to_string();
                let job = f.work_order_id.to_string();
                for m in map::van_movements(p) {
                    store_sync::apply_remote_movement(
                        tx,
                        &store_sync::RemoteMovement {
                            part_no: m.part_no.as_deref(),
                            part_id: m.part_id.as_deref(),
                            kind: m.kind,
                            delta: m.delta,
                            work_order_id: Some(&job),
                            fact_id: &fact_id,
                            at: p.at(),
                        },
                    )?;
                }
            }
        }
        ChangeItem::PartsIssued(issue) => {
            // Head office's fact: stock added once per issue id (a refetch sends it again).
            let lines: Vec<store_sync::IssuedLine> = issue
                .lines
                .iter()
                .map(|l| store_sync::IssuedLine {
                    part_no: &l.part_no,
                    quantity: i64::from(l.quantity),
                })
                .collect();
            let id = issue.id.to_string();
            let work_order = issue.work_order_id.map(|w| w.to_string());
            store_sync::apply_parts_issue(
                tx,
                &store_sync::PulledIssue {
                    id: &id,
                    issued_at: issue.issued_at,
                    work_order_id: work_order.as_deref(),
                    note: issue.note.as_deref(),
                    lines: &lines,
                },
                now,
            )?;
        }
        ChangeItem::Company(c) => {
            store_sync::apply_company(tx, &c.name, &c.phone, &c.address)?;
        }
        // A newer head office's item type: nothing to do with it here.
        ChangeItem::Unknown => {}
    }
    Ok(())
}

fn upsert(
    tx: &rusqlite_tx::Transaction,
    w: &WorkOrder,
    seq: i64,
    status: onsite_domain::WorkOrderStatus,
    take_hq_notes: bool,
) -> Result<(), StoreError> {
    let id = w.id.to_string();
    let technician = w.technician_id.map(|t| t.to_string()).unwrap_or_default();
    let contracts: Vec<onsite_store::contracts::Contract> = w
        .appliance
        .contracts
        .iter()
        .map(|c| onsite_store::contracts::Contract {
            reference: c.reference.clone(),
            covers: c.covers,
            valid_from: c.valid_from,
            valid_to: c.valid_to,
        })
        .collect();
    store_sync::upsert_work_order(
        tx,
        &PulledOrder {
            id: &id,
            order_no: &w.order_no,
            technician_id: &technician,
            job_type: w.job_type,
            customer_name: &w.customer.name,
            customer_phone: &w.customer.phone,
            customer_address: &w.customer.address,
            customer_language: &w.customer.language,
            appliance_category: &w.appliance.category,
            appliance_brand: &w.appliance.brand,
            appliance_model: &w.appliance.model,
            serial_no: w.appliance.serial_no.as_deref(),
            purchase_date: w.appliance.purchase_date,
            proof: w.appliance.proof.as_ref(),
            contracts: &contracts,
            reported_fault: &w.reported_fault,
            appointment_start: w.appointment_start,
            appointment_end: w.appointment_end,
            hq_notes: &w.notes,
            cancel_reason: w.cancel_reason.as_deref(),
            server_status: w.status,
            server_version: w.version,
            server_seq: seq,
            created_at: w.created_at,
            updated_at: w.updated_at,
            local_status: status,
            local_notes: take_hq_notes.then_some(w.notes.as_str()),
        },
    )
}
