//! Sync state in the store (issue 5): the enrolment and pull position, push results per
//! op, blobs waiting for upload, applying pulled head-office data, review flags, and the
//! read models of a sync screen ("what is pending", "what was rejected", "anything unsent
//! at day's end?").
//!
//! The decisions (what to push next, how a pulled work order merges with local state) are
//! made by the pure planner of `onsite-sync`; this module only reads the facts it needs and
//! writes what it decided, always inside the caller's transaction. Applying pulled data
//! writes **no** outbox row: it is not a user change.
//!
//! The device token is kept in `sync_state`; the database is not yet encrypted at rest.

use chrono::{DateTime, NaiveDate, Utc};
use onsite_domain::view::{ProofKind, ProofOfPurchase};
use onsite_domain::{JobType, WorkOrderStatus};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::outbox::PendingOp;
use crate::workorders::{self, NewAppliance, NewCustomer, NewTechnician, NewWorkOrder};
use crate::{settings, ts, StoreError, StoreResult};

/// The store's write transaction, for callers that do not name rusqlite themselves.
pub type Tx<'a> = Transaction<'a>;

// ---------------------------------------------------------------------------------------
// Enrolment and sync state

/// What enrolment gave this device.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub server_url: String,
    /// The head office's CA certificate (PEM), trusted besides the system's roots.
    pub ca_pem: Option<String>,
    pub device_id: String,
    pub technician_id: String,
    pub technician_name: String,
    /// Bearer secret. Never logged (the `Debug` impl hides it).
    pub token: String,
    pub epoch: String,
    /// Head office's lasting identity, when it tells it.
    pub server_id: Option<String>,
    /// The fingerprint (SHA-256 hex of the DER) of the certificate head office presented
    /// at enrolment: pinned.
    pub cert_sha256: Option<String>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("server_url", &self.server_url)
            .field("device_id", &self.device_id)
            .field("technician_id", &self.technician_id)
            .field("token", &"<hidden>")
            .finish()
    }
}

/// The sync state row.
#[derive(Clone, PartialEq, Eq)]
pub struct SyncState {
    pub server_url: String,
    pub ca_pem: Option<String>,
    pub device_id: String,
    pub technician_id: String,
    pub token: String,
    pub epoch: String,
    pub cursor: Option<String>,
    pub refetch_gen: i64,
    pub refetching: bool,
    pub last_success_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_error: Option<String>,
    /// The newest head-office commit this device knows of (`<seq>:<tag>`), sent with each
    /// pull so that head office can tell it lost history.
    pub known_commit: Option<String>,
    /// Head office's lasting identity, when it told it at enrolment.
    pub server_id: Option<String>,
    /// The certificate pinned at enrolment (SHA-256 hex of its DER).
    pub cert_pin: Option<String>,
}

impl std::fmt::Debug for SyncState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncState")
            .field("server_url", &self.server_url)
            .field("device_id", &self.device_id)
            .field("epoch", &self.epoch)
            .field("cursor", &self.cursor)
            .field("refetching", &self.refetching)
            .field("last_success_at", &self.last_success_at)
            .field("token", &"<hidden>")
            .finish()
    }
}

/// Saves an enrolment (replacing an earlier one), makes sure the technician row exists and
/// sets the device and technician settings. Re-enrolling with the same head office for the
/// same technician (after a revocation, or after head office was restored from a backup
/// that no longer knew this device) keeps the pull position and the newest commit known,
/// so that the next pull still tells whether head office lost what it acknowledged; any
/// other enrolment starts the sync state from scratch (no cursor).
pub fn save_enrolment(tx: &Transaction, e: &Enrolment) -> StoreResult<()> {
    // A device erased as lost and enrolled again is an ordinary device from now on.
    crate::erase::forget(tx)?;
    if let Some(old) = state(tx)? {
        if same_head_office(&old, e) && old.technician_id == e.technician_id {
            tx.execute(
                "UPDATE sync_state SET server_url = ?1, ca_pem = ?2, device_id = ?3, token = ?4,
                        server_id = coalesce(?5, server_id), cert_pin = ?6, last_error = NULL
                 WHERE id = 1",
                params![
                    e.server_url,
                    e.ca_pem,
                    e.device_id,
                    e.token,
                    e.server_id,
                    e.cert_sha256
                ],
            )?;
            ensure_technician(tx, &e.technician_id, &e.technician_name)?;
            settings::set(tx, settings::DEVICE_ID, &e.device_id)?;
            return Ok(());
        }
    }
    tx.execute(
        "INSERT INTO sync_state (id, server_url, ca_pem, device_id, technician_id, token, epoch,
                                server_id, cert_pin)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET server_url = excluded.server_url,
             server_id = excluded.server_id, cert_pin = excluded.cert_pin,
             ca_pem = excluded.ca_pem, device_id = excluded.device_id,
             technician_id = excluded.technician_id, token = excluded.token,
             epoch = excluded.epoch, cursor = NULL, refetching = 0, last_error = NULL,
             known_commit = NULL",
        params![
            e.server_url,
            e.ca_pem,
            e.device_id,
            e.technician_id,
            e.token,
            e.epoch,
            e.server_id,
            e.cert_sha256
        ],
    )?;
    ensure_technician(tx, &e.technician_id, &e.technician_name)?;
    settings::set(tx, settings::DEVICE_ID, &e.device_id)?;
    settings::set(tx, settings::TECHNICIAN_ID, &e.technician_id)?;
    Ok(())
}

/// What saving a new enrolment means for the data on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolmentChange {
    /// The first enrolment (the demo is set aside).
    First,
    /// The same technician with the same head office (after a revocation or a restore):
    /// everything is kept, the sync history too.
    Renew,
    /// Another technician or another head office, and nothing here is unsent: the data
    /// is set aside (kept in a file) and the device starts empty for the new enrolment.
    Fresh,
    /// Another technician or another head office while records made here have not reached
    /// the one they belong to (pending or refused): refused, so that no one's work is
    /// filed under someone else or sent to another head office.
    Refuse,
}

/// Decides [`EnrolmentChange`]: `old` is the current enrolment, `unsent` the records and
/// files made here that have not been taken by its head office.
pub fn enrolment_change(old: Option<&SyncState>, new: &Enrolment, unsent: i64) -> EnrolmentChange {
    match old {
        None => EnrolmentChange::First,
        Some(o) if same_head_office(o, new) && o.technician_id == new.technician_id => {
            EnrolmentChange::Renew
        }
        Some(_) if unsent > 0 => EnrolmentChange::Refuse,
        Some(_) => EnrolmentChange::Fresh,
    }
}

/// The demo jobs the technician is in the middle of (on site or in progress) while the
/// data is still the demo (this device was never enrolled; the first enrolment sets the
/// demo aside). Zero on an enrolled device.
pub fn demo_jobs_in_progress(conn: &Connection) -> StoreResult<i64> {
    if state(conn)?.is_some() {
        return Ok(0);
    }
    Ok(conn.query_row(
        "SELECT count(*) FROM work_order WHERE status IN ('on_site', 'in_progress')",
        [],
        |r| r.get(0),
    )?)
}

/// Whether an enrolment is with the head office this device was enrolled with: the same
/// lasting identity when both are known (whatever its address now), else the same address.
pub fn same_head_office(old: &SyncState, e: &Enrolment) -> bool {
    match (&old.server_id, &e.server_id) {
        (Some(a), Some(b)) => a == b,
        _ => old.server_url == e.server_url,
    }
}

fn ensure_technician(tx: &Transaction, id: &str, name: &str) -> StoreResult<()> {
    let exists: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM technician WHERE id = ?1)")?
        .query_row([id], |r| r.get(0))?;
    if exists {
        if !name.is_empty() {
            tx.prepare_cached("UPDATE technician SET name = ?2 WHERE id = ?1")?
                .execute(params![id, name])?;
        }
        return Ok(());
    }
    workorders::insert_technician(
        tx,
        &NewTechnician {
            id,
            name,
            phone: "",
            employee_no: "",
        },
    )
}

/// The sync state, `None` before enrolment.
pub fn state(conn: &Connection) -> StoreResult<Option<SyncState>> {
    Ok(conn
        .query_row(
            "SELECT server_url, ca_pem, device_id, technician_id, token, epoch, cursor,
                    refetch_gen, refetching, last_success_at, last_attempt_at, last_error,
                    known_commit, server_id, cert_pin
             FROM sync_state WHERE id = 1",
            [],
            |r| {
                Ok(SyncState {
                    server_url: r.get(0)?,
                    ca_pem: r.get(1)?,
                    device_id: r.get(2)?,
                    technician_id: r.get(3)?,
                    token: r.get(4)?,
                    epoch: r.get(5)?,
                    cursor: r.get(6)?,
                    refetch_gen: r.get(7)?,
                    refetching: r.get(8)?,
                    last_success_at: r.get(9)?,
                    last_attempt_at: r.get(10)?,
                    last_error: r.get(11)?,
                    known_commit: r.get(12)?,
                    server_id: r.get(13)?,
                    cert_pin: r.get(14)?,
                })
            },
        )
        .optional()?)
}

fn require_state(tx: &Transaction) -> StoreResult<SyncState> {
    state(tx)?.ok_or(StoreError::NotFound("sync enrolment"))
}

/// Records the end of a sync attempt: success clears the error and stamps the time.
/// `error` must not contain customer data.
pub fn record_attempt(
    tx: &Transaction,
    now: DateTime<Utc>,
    error: Option<&str>,
) -> StoreResult<()> {
    match error {
        None => tx.execute(
            "UPDATE sync_state SET last_attempt_at = ?1, last_success_at = ?1, last_error = NULL
             WHERE id = 1",
            [ts(now)],
        )?,
        Some(e) => tx.execute(
            "UPDATE sync_state SET last_attempt_at = ?1, last_error = ?2 WHERE id = 1",
            params![ts(now), e],
        )?,
    };
    Ok(())
}

/// Sets the epoch the next pull's cursor belongs to (head office told it, with its lost
/// history, before a refetch: the refetch then does not count it as another change).
pub fn set_epoch(tx: &Transaction, epoch: &str) -> StoreResult<()> {
    tx.execute("UPDATE sync_state SET epoch = ?1 WHERE id = 1", [epoch])?;
    Ok(())
}

/// Saves the cursor of a pull page (call in the page's own transaction).
pub fn save_cursor(tx: &Transaction, epoch: &str, cursor: &str) -> StoreResult<()> {
    tx.execute(
        "UPDATE sync_state SET epoch = ?1, cursor = ?2 WHERE id = 1",
        params![epoch, cursor],
    )?;
    Ok(())
}

/// Records what head office says it speaks; true when that changed since the last run
/// (not at the first one).
pub fn note_hello(tx: &Transaction, hello: &str) -> StoreResult<bool> {
    let old: Option<String> = tx
        .query_row(
            "SELECT server_hello FROM sync_state WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    if old.as_deref() == Some(hello) {
        return Ok(false);
    }
    tx.execute(
        "UPDATE sync_state SET server_hello = ?1 WHERE id = 1",
        [hello],
    )?;
    Ok(old.is_some())
}

/// Remembers a head-office commit (`<seq>:<tag>`, from a pull page or a push reply) when
/// it is newer than the newest one known. Malformed text is ignored.
pub fn note_commit(tx: &Transaction, checkpoint: &str) -> StoreResult<()> {
    fn seq_of(text: &str) -> Option<i64> {
        text.split_once(':')?.0.parse().ok()
    }
    let Some(seq) = seq_of(checkpoint) else {
        return Ok(());
    };
    let known = require_state(tx)?.known_commit;
    if known.as_deref().and_then(seq_of).is_none_or(|k| seq > k) {
        tx.execute(
            "UPDATE sync_state SET known_commit = ?1 WHERE id = 1",
            [checkpoint],
        )?;
    }
    Ok(())
}

/// Starts a full refetch (the server did not know the cursor): bumps the generation that
/// pulled work orders are stamped with; returns it. The newest commit known is forgotten
/// (it belonged to the history head office lost).
pub fn begin_refetch(tx: &Transaction) -> StoreResult<i64> {
    tx.execute(
        "UPDATE sync_state SET refetch_gen = refetch_gen + 1, refetching = 1, cursor = NULL,
                               known_commit = NULL
         WHERE id = 1",
        [],
    )?;
    Ok(require_state(tx)?.refetch_gen)
}

/// Ends a full refetch: returns the pulled work orders the refetch did not send again
/// (gone from head office, e.g. after a restore from an older backup).
pub fn finish_refetch(tx: &Transaction) -> StoreResult<Vec<String>> {
    let st = require_state(tx)?;
    tx.execute("UPDATE sync_state SET refetching = 0 WHERE id = 1", [])?;
    let mut stmt =
        tx.prepare("SELECT id FROM pulled_work_order WHERE refetch_gen < ?1 ORDER BY id")?;
    let ids = stmt
        .query_map([st.refetch_gen], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

// ---------------------------------------------------------------------------------------
// Push results

/// What head office did with an op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredOutcome {
    Applied { server_seq: i64, flagged: bool },
    Rejected { code: String, reason: String },
}

/// Stores an op's result and moves it out of the pending queue, in `tx`. A flagged op
/// flags its work order for review here too. Returns false when the op was not pending
/// (already recorded).
pub fn record_result(
    tx: &Transaction,
    op_id: &str,
    outcome: &StoredOutcome,
    epoch: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let entity: Option<String> = tx
        .query_row(
            "SELECT entity_id FROM outbox WHERE op_id = ?1 AND state = 'pending'",
            [op_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(entity) = entity else {
        return Ok(false);
    };
    let (state, server_seq, flagged, code, reason) = match outcome {
        StoredOutcome::Applied {
            server_seq,
            flagged,
        } => ("applied", Some(*server_seq), *flagged, None, None),
        StoredOutcome::Rejected { code, reason } => (
            "rejected",
            None,
            false,
            Some(code.as_str()),
            Some(reason.as_str()),
        ),
    };
    let result = serde_json::json!({
        "outcome": state, "server_seq": server_seq, "flagged": flagged,
        "code": code, "reason": reason, "epoch": epoch,
    });
    tx.execute(
        "UPDATE outbox SET state = ?2, result = ?3 WHERE op_id = ?1",
        params![op_id, state, result.to_string()],
    )?;
    tx.execute(
        "INSERT INTO op_result (op_id, outcome, server_seq, flagged, reject_code, reason,
                                acked_epoch, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (op_id) DO UPDATE SET outcome = excluded.outcome,
             server_seq = excluded.server_seq, flagged = excluded.flagged,
             reject_code = excluded.reject_code, reason = excluded.reason,
             acked_epoch = excluded.acked_epoch, at = excluded.at",
        params![
            op_id,
            state,
            server_seq,
            flagged,
            code,
            reason,
            epoch,
            ts(now)
        ],
    )?;
    if flagged {
        flag_for_review(tx, &entity, "flagged_by_head_office", now)?;
    }
    Ok(true)
}

/// After the server lost history (restored from a backup): ops it acknowledged go back to
/// the queue, to be re-sent (the server recognises ops and facts it still has). With
/// `keep_epoch`, ops acknowledged in that epoch stay acknowledged; without, all go back.
/// Rejected ops stay rejected. Returns how many were re-queued.
pub fn requeue_applied(tx: &Transaction, keep_epoch: Option<&str>) -> StoreResult<usize> {
    let keep = keep_epoch.unwrap_or("");
    let n = tx.execute(
        "UPDATE outbox SET state = 'pending', result = NULL
         WHERE state = 'applied'
           AND op_id IN (SELECT op_id FROM op_result WHERE outcome = 'applied'
                         AND acked_epoch <> ?1)",
        [keep],
    )?;
    tx.execute(
        "DELETE FROM op_result WHERE outcome = 'applied' AND acked_epoch <> ?1",
        [keep],
    )?;
    Ok(n)
}

/// Puts refused ops whose cause may have gone back in the queue, to be sent again: all of
/// them (`jobs` and `refused_before` both `None`), those on some jobs (they came back from
/// head office: a pulled page's), or those last refused before a time (a periodic retry:
/// the office may have fixed the cause). A reused fact id is final and stays refused. Head
/// office keeps every refused op whole and decides it again when it comes back. Returns
/// how many.
pub fn requeue_refused(
    tx: &Transaction,
    jobs: Option<&[String]>,
    refused_before: Option<DateTime<Utc>>,
) -> StoreResult<usize> {
    if jobs.is_some_and(|j| j.is_empty()) {
        return Ok(0);
    }
    let jobs = jobs.map(serde_json::to_string).transpose()?;
    let n = tx.execute(
        "UPDATE outbox SET state = 'pending', result = NULL
         WHERE state = 'rejected'
           AND (?1 IS NULL OR entity_id IN (SELECT value FROM json_each(?1)))
           AND op_id IN (SELECT op_id FROM op_result WHERE outcome = 'rejected'
                         AND coalesce(reject_code, '') <> 'fact_id_reused'
                         AND (?2 IS NULL OR at < ?2))",
        params![jobs, refused_before.map(ts)],
    )?;
    Ok(n)
}

/// Forgets records head office acknowledged at or before its restore horizon (commit
/// `horizon_seq`, which every backup it could still be restored from holds) in the current
/// `epoch`, recorded at or before `recorded_before` (a grace period for support): no restore can
/// lose them, so they never need sending again. Their results go with them; the job's own
/// rows (diagnosis, payments, documents…) stay. Returns how many were forgotten.
pub fn prune_acknowledged(
    tx: &Transaction,
    horizon_seq: i64,
    epoch: &str,
    recorded_before: DateTime<Utc>,
) -> StoreResult<usize> {
    const FORGETTABLE: &str = "SELECT o.op_id FROM outbox o JOIN op_result r ON r.op_id = o.op_id
         WHERE o.state = 'applied' AND r.outcome = 'applied' AND r.server_seq <= ?1
           AND r.acked_epoch = ?2 AND o.created_at <= ?3";
    let args = params![horizon_seq, epoch, ts(recorded_before)];
    tx.execute(
        &format!("DELETE FROM sync_waiting WHERE op_id IN ({FORGETTABLE})"),
        args,
    )?;
    let ops: Vec<String> = {
        let mut stmt = tx.prepare(FORGETTABLE)?;
        let rows = stmt.query_map(args, |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut del_result = tx.prepare_cached("DELETE FROM op_result WHERE op_id = ?1")?;
    let mut del_op = tx.prepare_cached("DELETE FROM outbox WHERE op_id = ?1")?;
    for op in &ops {
        del_result.execute([op])?;
        del_op.execute([op])?;
    }
    Ok(ops.len())
}

/// The next pending ops, oldest first.
pub fn next_pending(conn: &Connection, limit: usize) -> StoreResult<Vec<PendingOp>> {
    crate::outbox::pending(conn, limit)
}

/// The next pending ops after `device_seq` `after`, oldest first.
pub fn next_pending_after(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> StoreResult<Vec<PendingOp>> {
    crate::outbox::pending_after(conn, after, limit)
}

/// A record the last sync run could not send, and why (no customer data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub op_id: String,
    pub why: String,
    /// Held until head office is upgraded (true), or blocked until the technician
    /// resolves it (false).
    pub held: bool,
}

/// Replaces the list of records the sync could not send (written at the end of each push).
pub fn set_waiting(tx: &Transaction, waiting: &[Waiting], now: DateTime<Utc>) -> StoreResult<()> {
    tx.execute("DELETE FROM sync_waiting", [])?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO sync_waiting (op_id, why, held, at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (op_id) DO NOTHING",
    )?;
    for w in waiting {
        stmt.execute(params![w.op_id, w.why, w.held, ts(now)])?;
    }
    Ok(())
}

/// Pending records the last push did not find unsendable (made since it looked at the
/// queue): a lost device pushes again before it erases.
pub fn sendable_pending(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM outbox o WHERE o.state = 'pending'
         AND NOT EXISTS (SELECT 1 FROM sync_waiting w WHERE w.op_id = o.op_id)",
        [],
        |r| r.get(0),
    )?)
}

/// The records the last sync run could not send.
pub fn waiting(conn: &Connection) -> StoreResult<Vec<Waiting>> {
    let mut stmt = conn.prepare_cached(
        "SELECT w.op_id, w.why, w.held FROM sync_waiting w
         JOIN outbox o ON o.op_id = w.op_id AND o.state = 'pending' ORDER BY o.device_seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Waiting {
            op_id: r.get(0)?,
            why: r.get(1)?,
            held: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A signature or document made again on a job whose earlier one is stuck because its file
/// was lost or damaged here (the sync screen says so): the earlier record goes without its
/// file, with `reason`, so that the job's queue moves and head office sees both. `doc_kind`
/// narrows documents to the same kind (a sign-off sheet made again supersedes the sign-off
/// sheet). Returns how many were resolved.
pub(crate) fn supersede_stuck_files(
    tx: &Transaction,
    work_order_id: &str,
    op_kind: &str,
    doc_kind: Option<&str>,
    reason: &str,
) -> StoreResult<usize> {
    let n = tx.execute(
        "UPDATE outbox SET blob_waiver = ?4
         WHERE state = 'pending' AND blob_waiver IS NULL AND entity_id = ?1 AND kind = ?2
           AND (?3 IS NULL OR json_extract(payload, '$.kind') = ?3)
           AND op_id IN (SELECT op_id FROM sync_waiting
                         WHERE why IN ('file_missing', 'file_damaged', 'file_too_large'))",
        params![work_order_id, op_kind, doc_kind, reason],
    )?;
    Ok(n)
}

/// The technician chooses to send a pending record without the file it references (a
/// signature or document lost or damaged on this device): head office stores it with the
/// reason and flags the job for review. Only for a pending record that references a file;
/// the reason is required (1 to 500 characters).
pub fn send_without_file(tx: &Transaction, op_id: &str, reason: &str) -> StoreResult<()> {
    use crate::outbox::kind;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(StoreError::Invalid(
            "give a reason of 1 to 500 characters".into(),
        ));
    }
    let op_kind: Option<String> = tx
        .query_row(
            "SELECT kind FROM outbox WHERE op_id = ?1 AND state = 'pending'",
            [op_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(op_kind) = op_kind else {
        return Err(StoreError::NotFound("pending record"));
    };
    let with_file = [
        kind::ATTACH_SIGNATURE,
        kind::ATTACH_DOCUMENT,
        kind::TAKE_CARRY_BACK,
        kind::RETURN_CARRY_BACK,
    ];
    if !with_file.contains(&op_kind.as_str()) {
        return Err(StoreError::Invalid(
            "this record does not reference a file".into(),
        ));
    }
    tx.execute(
        "UPDATE outbox SET blob_waiver = ?2 WHERE op_id = ?1",
        params![op_id, reason],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Blobs

fn check_sha(sha256: &str) -> StoreResult<()> {
    if sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        Ok(())
    } else {
        Err(StoreError::Invalid(
            "blob id must be 64 lowercase hex digits".into(),
        ))
    }
}

/// Keeps a blob's bytes under its SHA-256, which the caller computed (idempotent).
pub fn put_blob(
    tx: &Transaction,
    sha256: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    check_sha(sha256)?;
    tx.execute(
        "INSERT INTO blob (sha256, bytes, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (sha256) DO NOTHING",
        params![sha256, bytes, ts(now)],
    )?;
    Ok(())
}

/// A blob's bytes and whether head office acknowledged it.
pub fn blob(conn: &Connection, sha256: &str) -> StoreResult<Option<(Vec<u8>, bool)>> {
    Ok(conn
        .query_row(
            "SELECT bytes, uploaded_at IS NOT NULL FROM blob WHERE sha256 = ?1",
            [sha256],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Whether head office acknowledged the blob.
pub fn blob_uploaded(conn: &Connection, sha256: &str) -> StoreResult<bool> {
    Ok(conn
        .query_row(
            "SELECT uploaded_at IS NOT NULL FROM blob WHERE sha256 = ?1",
            [sha256],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false))
}

pub fn mark_blob_uploaded(tx: &Transaction, sha256: &str, now: DateTime<Utc>) -> StoreResult<()> {
    tx.execute(
        "UPDATE blob SET uploaded_at = coalesce(uploaded_at, ?2) WHERE sha256 = ?1",
        params![sha256, ts(now)],
    )?;
    Ok(())
}

/// Head office lost history (a restore): start a full refetch, and put back in the queue
/// what it may have lost — the ops it acknowledged (all of them, or with `keep_epoch` those
/// not acknowledged in that epoch) and the refused ones whose cause may have gone — and check
/// every blob again before the ops that use it. Returns how many ops were put back.
pub fn restart_after_lost_history(
    tx: &Transaction,
    keep_epoch: Option<&str>,
) -> StoreResult<usize> {
    begin_refetch(tx)?;
    forget_blob_uploads(tx)?;
    Ok(requeue_applied(tx, keep_epoch)? + requeue_refused(tx, None, None)?)
}

/// After a new server epoch, blobs must be checked again (HEAD) before ops that use them.
pub fn forget_blob_uploads(tx: &Transaction) -> StoreResult<()> {
    tx.execute("UPDATE blob SET uploaded_at = NULL", [])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Pulled data

/// What the planner needs to know of a local work order to merge a pulled one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOrder {
    pub status: WorkOrderStatus,
    pub technician_id: String,
    /// Pending (unacknowledged) outbox ops on it, by kind.
    pub pending_kinds: Vec<String>,
    /// Whether the technician ever recorded anything on it here (any outbox row).
    pub has_local_facts: bool,
    /// Whether the technician ever edited its notes here.
    pub notes_edited: bool,
    /// Whether it came from head office (and is mirrored in `pulled_work_order`).
    pub pulled: bool,
}

pub fn local_order(conn: &Connection, id: &str) -> StoreResult<Option<LocalOrder>> {
    let row: Option<(String, String, bool)> = conn
        .prepare_cached(
            "SELECT status, technician_id,
                    EXISTS (SELECT 1 FROM pulled_work_order p WHERE p.id = w.id)
             FROM work_order w WHERE id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((status, technician_id, pulled)) = row else {
        return Ok(None);
    };
    let status = WorkOrderStatus::parse(&status)
        .ok_or_else(|| StoreError::Invalid("unknown status in the database".into()))?;
    let mut stmt = conn.prepare_cached(
        "SELECT kind, state FROM outbox WHERE entity_id = ?1 ORDER BY device_seq",
    )?;
    let rows = stmt
        .query_map([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(LocalOrder {
        status,
        technician_id,
        pending_kinds: rows
            .iter()
            .filter(|(_, s)| s == "pending")
            .map(|(k, _)| k.clone())
            .collect(),
        has_local_facts: !rows.is_empty(),
        notes_edited: rows
            .iter()
            .any(|(k, _)| k == crate::outbox::kind::EDIT_NOTES),
        pulled,
    }))
}

/// A work order as head office sent it, with what the planner decided to take.
#[derive(Debug, Clone)]
pub struct PulledOrder<'a> {
    pub id: &'a str,
    pub order_no: &'a str,
    pub technician_id: &'a str,
    pub job_type: JobType,
    pub customer_name: &'a str,
    pub customer_phone: &'a str,
    pub customer_address: &'a str,
    /// `zh-CN` or `en` (anything else is taken as `zh-CN`).
    pub customer_language: &'a str,
    pub appliance_category: &'a str,
    pub appliance_brand: &'a str,
    pub appliance_model: &'a str,
    pub serial_no: Option<&'a str>,
    pub purchase_date: Option<NaiveDate>,
    /// Head office's record of the proof of purchase (none: no proof on file).
    pub proof: Option<&'a ProofOfPurchase>,
    /// The appliance's maintenance contracts (replace the stored set).
    pub contracts: &'a [crate::contracts::Contract],
    pub reported_fault: &'a str,
    pub appointment_start: DateTime<Utc>,
    pub appointment_end: DateTime<Utc>,
    pub hq_notes: &'a str,
    pub cancel_reason: Option<&'a str>,
    pub server_status: WorkOrderStatus,
    pub server_version: i64,
    pub server_seq: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The status to show locally (the server's, unless a local change is pending).
    pub local_status: WorkOrderStatus,
    /// Replace the local notes with these (None: keep the technician's).
    pub local_notes: Option<&'a str>,
}

/// Inserts or updates a pulled work order with its customer and appliance, keeps the
/// search index in step, and stamps it with the refetch generation. No outbox row.
pub fn upsert_work_order(tx: &Transaction, o: &PulledOrder) -> StoreResult<()> {
    if o.appointment_end < o.appointment_start {
        return Err(StoreError::Invalid(
            "appointment ends before it starts".into(),
        ));
    }
    ensure_technician(tx, o.technician_id, "")?;
    let language = if o.customer_language == "en" {
        "en"
    } else {
        "zh-CN"
    };
    let no_proof = ProofOfPurchase {
        kind: ProofKind::None,
        date: None,
        sealed: false,
    };
    let proof = o.proof.unwrap_or(&no_proof);
    let gen: i64 = tx
        .prepare_cached("SELECT refetch_gen FROM sync_state WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let existing: Option<(i64, String, String, String)> = tx
        .prepare_cached(
            "SELECT seq, customer_id, appliance_id, status FROM work_order WHERE id = ?1",
        )?
        .query_row([o.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    // Another job here may hold the same order number (a local job, or one head office
    // lost in a restore and then reused the number for): keep both, the pulled one under
    // a marked number, and flag both. A clash must never fail the page.
    let clash = order_no_holder(tx, o.order_no, o.id)?;
    let order_no = match &clash {
        None => o.order_no.to_owned(),
        Some(_) => clash_order_no(o.order_no, o.id),
    };
    let o = &PulledOrder {
        order_no: &order_no,
        ..o.clone()
    };
    if let Some(other) = &clash {
        let now = o.updated_at;
        flag_for_review(tx, other, ORDER_NO_CLASH, now)?;
    }
    match existing {
        None => {
            let customer_id = format!("hq-customer-{}", o.id);
            let appliance_id = format!("hq-appliance-{}", o.id);
            workorders::insert_customer(
                tx,
                &NewCustomer {
                    id: &customer_id,
                    name: o.customer_name,
                    phone: o.customer_phone,
                    address: o.customer_address,
                    language,
                },
            )?;
            workorders::insert_appliance(
                tx,
                &NewAppliance {
                    id: &appliance_id,
                    customer_id: &customer_id,
                    category: o.appliance_category,
                    brand: o.appliance_brand,
                    model: o.appliance_model,
                    serial_no: o.serial_no,
                    purchase_date: o.purchase_date,
                    proof,
                },
            )?;
            crate::contracts::replace(tx, &appliance_id, o.contracts)?;
            workorders::insert_work_order(
                tx,
                &NewWorkOrder {
                    id: o.id,
                    order_no: o.order_no,
                    technician_id: o.technician_id,
                    customer_id: &customer_id,
                    appliance_id: &appliance_id,
                    job_type: o.job_type,
                    status: o.local_status,
                    reported_fault: o.reported_fault,
                    appointment_start: o.appointment_start,
                    appointment_end: o.appointment_end,
                    notes: o.local_notes.unwrap_or(o.hq_notes),
                    created_at: o.created_at,
                },
            )?;
            tx.prepare_cached("UPDATE work_order SET version = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![o.id, o.server_version, ts(o.updated_at)])?;
        }
        Some((seq, customer_id, appliance_id, status)) => {
            tx.prepare_cached(
                "UPDATE customer SET name = ?2, phone = ?3, address = ?4, language = ?5
                 WHERE id = ?1",
            )?
            .execute(params![
                customer_id,
                o.customer_name,
                o.customer_phone,
                o.customer_address,
                language
            ])?;
            tx.prepare_cached(
                "UPDATE appliance SET category = ?2, brand = ?3, model = ?4, serial_no = ?5,
                        purchase_date = ?6, proof_kind = ?7, proof_date = ?8, proof_sealed = ?9
                 WHERE id = ?1",
            )?
            .execute(params![
                appliance_id,
                o.appliance_category,
                o.appliance_brand,
                o.appliance_model,
                o.serial_no,
                o.purchase_date.map(|d| d.to_string()),
                proof.kind.as_str(),
                proof.date.map(|d| d.to_string()),
                proof.sealed
            ])?;
            crate::contracts::replace(tx, &appliance_id, o.contracts)?;
            tx.prepare_cached(
                "UPDATE work_order SET order_no = ?2, technician_id = ?3, job_type = ?4,
                        reported_fault = ?5, appointment_start = ?6, appointment_end = ?7,
                        updated_at = ?8, version = max(version, ?9)
                 WHERE id = ?1",
            )?
            .execute(params![
                o.id,
                o.order_no,
                o.technician_id,
                o.job_type.as_str(),
                o.reported_fault,
                ts(o.appointment_start),
                ts(o.appointment_end),
                ts(o.updated_at),
                o.server_version
            ])?;
            if let Some(notes) = o.local_notes {
                tx.prepare_cached("UPDATE work_order SET notes = ?2 WHERE id = ?1")?
                    .execute(params![o.id, notes])?;
            }
            if status != o.local_status.as_str() {
                tx.prepare_cached("UPDATE work_order SET status = ?2 WHERE id = ?1")?
                    .execute(params![o.id, o.local_status.as_str()])?;
                tx.prepare_cached(
                    "INSERT INTO work_order_status (work_order_id, from_status, to_status, at,
                                                    reason)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    o.id,
                    status,
                    o.local_status.as_str(),
                    ts(o.updated_at),
                    if o.local_status == WorkOrderStatus::Cancelled {
                        o.cancel_reason
                    } else {
                        None
                    }
                ])?;
            }
            workorders::reindex(tx, seq)?;
        }
    }
    if clash.is_some() {
        flag_for_review(tx, o.id, ORDER_NO_CLASH, o.updated_at)?;
    }
    tx.prepare_cached(
        "INSERT INTO pulled_work_order (id, server_version, server_status, hq_notes,
                                        cancel_reason, server_seq, refetch_gen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET server_version = excluded.server_version,
             server_status = excluded.server_status, hq_notes = excluded.hq_notes,
             cancel_reason = excluded.cancel_reason, server_seq = excluded.server_seq,
             refetch_gen = excluded.refetch_gen",
    )?
    .execute(params![
        o.id,
        o.server_version,
        o.server_status.as_str(),
        o.hq_notes,
        o.cancel_reason,
        o.server_seq,
        gen
    ])?;
    Ok(())
}

/// Review reason: a pulled job has the order number of another job here; both are kept,
/// the pulled one shown with its number marked (`clash_order_no`).
pub const ORDER_NO_CLASH: &str = "order_no_clash";

/// The id of another job here that holds `order_no`, if any.
fn order_no_holder(tx: &Transaction, order_no: &str, id: &str) -> StoreResult<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT id FROM work_order WHERE order_no = ?1 AND id <> ?2")?
        .query_row(params![order_no, id], |r| r.get(0))
        .optional()?)
}

/// The number a pulled job is kept under when another job here holds its own: the
/// number, then `#` and the start of head office's id (unique as the id is).
pub fn clash_order_no(order_no: &str, id: &str) -> String {
    let short: String = id.chars().filter(|c| *c != '-').take(12).collect();
    format!("{order_no} #{short}")
}

/// Jobs from head office whose status here differs from head office's last one while
/// nothing pending here moves it (`status_kinds`: the outbox kinds that do) take head
/// office's, with a line in their history. Returns how many moved.
pub fn reconcile_statuses(
    tx: &Transaction,
    status_kinds: &[&str],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let kinds = serde_json::to_string(status_kinds)?;
    let rows: Vec<(String, String, String, i64)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT w.id, w.status, p.server_status, w.seq FROM work_order w
             JOIN pulled_work_order p ON p.id = w.id
             WHERE w.status <> p.server_status
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.entity_id = w.id
                               AND o.state = 'pending'
                               AND o.kind IN (SELECT value FROM json_each(?1)))",
        )?;
        let mapped = stmt.query_map([&kinds], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        mapped.collect::<Result<_, _>>()?
    };
    for (id, from, to, seq) in &rows {
        tx.execute(
            "UPDATE work_order SET status = ?2 WHERE id = ?1",
            params![id, to],
        )?;
        tx.execute(
            "INSERT INTO work_order_status (work_order_id, from_status, to_status, at, reason)
             VALUES (?1, ?2, ?3, ?4, NULL)",
            params![id, from, to, ts(now)],
        )?;
        workorders::reindex(tx, *seq)?;
    }
    Ok(rows.len())
}

/// Stamps a kept work order with the current refetch generation (it was decided to stay).
pub fn keep_pulled(tx: &Transaction, id: &str) -> StoreResult<()> {
    tx.prepare_cached("UPDATE pulled_work_order SET refetch_gen = (SELECT refetch_gen FROM sync_state WHERE id = 1)
         WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Removes a work order that is no longer this technician's, with its status history,
/// search rows and (head-office made) customer and appliance. Returns false, leaving
/// everything as it was, when other records still refer to it.
pub fn remove_work_order(tx: &Transaction, id: &str) -> StoreResult<bool> {
    let row: Option<(i64, String, String)> = tx
        .query_row(
            "SELECT seq, customer_id, appliance_id FROM work_order WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((seq, customer_id, appliance_id)) = row else {
        tx.execute("DELETE FROM pulled_work_order WHERE id = ?1", [id])?;
        return Ok(true);
    };
    tx.execute_batch("SAVEPOINT remove_work_order")?;
    let result = (|| -> rusqlite::Result<()> {
        tx.execute("DELETE FROM pulled_work_order WHERE id = ?1", [id])?;
        tx.execute(
            "DELETE FROM work_order_status WHERE work_order_id = ?1",
            [id],
        )?;
        tx.execute("DELETE FROM search_tri WHERE rowid = ?1", [seq])?;
        tx.execute("DELETE FROM search_short WHERE rowid = ?1", [seq])?;
        tx.execute("DELETE FROM work_order WHERE id = ?1", [id])?;
        if appliance_id.starts_with("hq-appliance-") {
            tx.execute(
                "DELETE FROM appliance WHERE id = ?1
                 AND NOT EXISTS (SELECT 1 FROM work_order WHERE appliance_id = ?1)",
                [&appliance_id],
            )?;
        }
        if customer_id.starts_with("hq-customer-") {
            tx.execute(
                "DELETE FROM customer WHERE id = ?1
                 AND NOT EXISTS (SELECT 1 FROM work_order WHERE customer_id = ?1)
                 AND NOT EXISTS (SELECT 1 FROM appliance WHERE customer_id = ?1)",
                [&customer_id],
            )?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            tx.execute_batch("RELEASE remove_work_order")?;
            Ok(true)
        }
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            tx.execute_batch("ROLLBACK TO remove_work_order; RELEASE remove_work_order")?;
            Ok(false)
        }
        Err(e) => {
            tx.execute_batch("ROLLBACK TO remove_work_order; RELEASE remove_work_order")?;
            Err(e.into())
        }
    }
}

/// Flags a work order for review on this device (idempotent per reason).
pub fn flag_for_review(
    tx: &Transaction,
    work_order_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO review_flag (work_order_id, reason, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (work_order_id, reason) DO UPDATE SET resolved_at = NULL",
    )?
    .execute(params![work_order_id, reason, ts(now)])?;
    Ok(())
}

/// A technician fact as head office stored it (from this or another of the technician's
/// devices). Idempotent by fact id.
pub struct PulledFact<'a> {
    pub fact_id: &'a str,
    pub op_id: &'a str,
    pub work_order_id: &'a str,
    pub device_id: &'a str,
    pub kind: &'a str,
    pub payload: &'a serde_json::Value,
    pub received_at: DateTime<Utc>,
}

/// Keeps a pulled fact; true when it is new here (false for one kept before: a refetch).
pub fn put_fact(tx: &Transaction, f: &PulledFact) -> StoreResult<bool> {
    let n = tx
        .prepare_cached(
            "INSERT INTO pulled_fact (fact_id, op_id, work_order_id, device_id, kind, payload,
                                  received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (fact_id) DO NOTHING",
        )?
        .execute(params![
            f.fact_id,
            f.op_id,
            f.work_order_id,
            f.device_id,
            f.kind,
            f.payload.to_string(),
            ts(f.received_at)
        ])?;
    Ok(n > 0)
}

/// A movement of the van's stock recorded on the technician's other device (a part taken,
/// unused stock returned, a stock-take's difference): the van is one, so every device's
/// ledger mirrors it. Applied once per fact (the caller applies it only when the fact is
/// new here). A part this device does not know (by part number, else by id) is skipped:
/// nothing to mirror; returns whether a movement was written.
pub struct RemoteMovement<'a> {
    pub part_no: Option<&'a str>,
    pub part_id: Option<&'a str>,
    /// `consume`, `return_unused` or `stock_take`.
    pub kind: &'a str,
    pub delta: i64,
    pub work_order_id: Option<&'a str>,
    pub fact_id: &'a str,
    pub at: DateTime<Utc>,
}

pub fn apply_remote_movement(tx: &Transaction, m: &RemoteMovement) -> StoreResult<bool> {
    let by_no: Option<String> = match m.part_no {
        Some(no) => tx
            .prepare_cached("SELECT id FROM part WHERE part_no = ?1")?
            .query_row([no], |r| r.get(0))
            .optional()?,
        None => None,
    };
    let by_id: Option<String> = match m.part_id {
        Some(id) => tx
            .prepare_cached("SELECT id FROM part WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?,
        None => None,
    };
    let Some(part_id) = by_no.or(by_id) else {
        return Ok(false);
    };
    if m.delta == 0 {
        return Ok(false);
    }
    let job: Option<String> = match m.work_order_id {
        Some(id) => tx
            .prepare_cached("SELECT id FROM work_order WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?,
        None => None,
    };
    tx.prepare_cached(
        "INSERT INTO van_stock (part_id, quantity, updated_at) VALUES (?1, 0, ?2)
         ON CONFLICT (part_id) DO NOTHING",
    )?
    .execute(params![part_id, ts(m.at)])?;
    tx.prepare_cached(
        "INSERT INTO stock_movement (part_id, kind, delta, work_order_id, ref_id, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        part_id,
        m.kind,
        m.delta,
        job,
        format!("other-device:{}", m.fact_id),
        ts(m.at)
    ])?;
    Ok(true)
}

/// What the technician recorded on a job on their other devices (pulled facts), oldest
/// first, with what identifies each; the kind as this store names it (`TakePayment`).
pub fn other_device_facts(
    conn: &Connection,
    work_order_id: &str,
) -> StoreResult<Vec<onsite_domain::view::OtherDeviceFactView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, payload, received_at FROM pulled_fact
         WHERE work_order_id = ?1 ORDER BY received_at, fact_id",
    )?;
    let rows = stmt.query_map([work_order_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, payload, received_at) = row?;
        let p: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
        let text = |k: &str| p.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let money = |k: &str| {
            p.get(k)
                .and_then(|v| v.get("minor"))
                .and_then(|v| v.as_i64())
        };
        let camel: String = kind
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        let (amount_minor, status, detail) = match kind.as_str() {
            "take_payment" => (money("amount"), None, text("method")),
            "invoice_later" => (money("amount"), None, None),
            "issue_quote" => (money("due"), None, None),
            "record_quote_decision" => (
                money("callout").filter(|m| *m > 0),
                text("status_to").and_then(|s| WorkOrderStatus::parse(&s)),
                text("decision"),
            ),
            "change_status" => (
                None,
                text("to").and_then(|s| WorkOrderStatus::parse(&s)),
                None,
            ),
            "consume_part" => (
                None,
                None,
                text("part_no").map(|n| {
                    format!(
                        "{n} × {}",
                        p.get("quantity").and_then(|q| q.as_i64()).unwrap_or(1)
                    )
                }),
            ),
            "attach_signature" => (None, None, text("signer_name")),
            "record_feedback" => (
                None,
                None,
                p.get("rating")
                    .and_then(|r| r.as_i64())
                    .map(|r| format!("{r}/5")),
            ),
            "record_diagnosis" => (None, None, text("fault_found")),
            _ => (None, None, None),
        };
        out.push(onsite_domain::view::OtherDeviceFactView {
            kind: camel,
            at: text("at").unwrap_or(received_at),
            amount_minor,
            status,
            detail,
        });
    }
    Ok(out)
}

pub fn pulled_fact_count(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM pulled_fact", [], |r| r.get(0))?)
}

/// One line of a published fee table.
pub struct FeeLine<'a> {
    pub code: &'a str,
    /// Names as the customer reads them (empty: the description stands in).
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub description: &'a str,
    pub kind: onsite_domain::rules::ItemKind,
    pub fee_minor: i64,
    pub plus_parts: bool,
    pub open_priced: bool,
    pub coverable: bool,
    /// For a bundle: the codes it replaces.
    pub includes: &'a [String],
}

/// Stores a published reference document (fee table, parts catalogue, price list) as JSON
/// (written straight from `body`: a 20,000-part catalogue is not built as a JSON tree first).
pub fn put_reference<T: serde::Serialize + ?Sized>(
    tx: &Transaction,
    kind: &str,
    version: i64,
    effective_from: Option<DateTime<Utc>>,
    body: &T,
) -> StoreResult<()> {
    let body = serde_json::to_string(body)?;
    tx.prepare_cached(
        "INSERT INTO hq_reference (kind, version, effective_from, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, version) DO UPDATE SET body = excluded.body,
             effective_from = excluded.effective_from",
    )?
    .execute(params![kind, version, effective_from.map(ts), body])?;
    Ok(())
}

/// Makes a published fee-table version usable by pricing for its appliance `category`
/// from the local date `effective_from` (published versions never change, so a version
/// already here is left alone; so is a second version of a category taking effect on the
/// same day, which head office should not publish).
pub fn apply_fee_table(
    tx: &Transaction,
    category: &str,
    version: i64,
    effective_from: NaiveDate,
    lines: &[FeeLine],
) -> StoreResult<()> {
    let id = format!("hq-fee-{version}");
    let inserted = tx
        .prepare_cached(
            "INSERT INTO fee_table (id, category, version, effective_from) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
        )?
        .execute(params![id, category, version, effective_from.to_string()])?;
    if inserted == 0 {
        return Ok(());
    }
    for l in lines {
        if l.fee_minor < 0 {
            return Err(StoreError::Invalid("negative fee in a fee table".into()));
        }
        let name = |n: &str| {
            if n.trim().is_empty() {
                l.description.to_owned()
            } else {
                n.to_owned()
            }
        };
        let kind = match l.kind {
            onsite_domain::rules::ItemKind::Service => "service",
            onsite_domain::rules::ItemKind::Labour => "labour",
            onsite_domain::rules::ItemKind::Travel => "travel",
            onsite_domain::rules::ItemKind::Part => "part",
        };
        tx.prepare_cached(
            "INSERT INTO fee_item (fee_table_id, code, name_zh, name_en, kind, price_minor,
                                   plus_parts, open_priced, includes, coverable)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            id,
            l.code,
            name(l.name_zh),
            name(l.name_en),
            kind,
            l.fee_minor,
            l.plus_parts,
            l.open_priced,
            l.includes.join(" "),
            l.coverable
        ])?;
    }
    Ok(())
}

/// One catalogue part.
pub struct CataloguePart<'a> {
    pub part_no: &'a str,
    pub name: &'a str,
    /// English name (none: `name` in both languages).
    pub name_en: Option<&'a str>,
    /// The appliance component it is (warranty term); none: the appliance as a whole.
    pub component: Option<&'a str>,
    pub serialised: bool,
    pub consumable: bool,
    pub return_required: bool,
}

/// Updates the parts table from the catalogue (parts are kept when dropped from it: van
/// stock may still hold them).
pub fn apply_catalogue(tx: &Transaction, parts: &[CataloguePart]) -> StoreResult<()> {
    for p in parts {
        tx.prepare_cached(
            "INSERT INTO part (id, part_no, name_zh, name_en, category, price_minor, serialized,
                               consumable, return_required)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8)
             ON CONFLICT (part_no) DO UPDATE SET name_zh = excluded.name_zh,
                 name_en = excluded.name_en, category = excluded.category,
                 serialized = excluded.serialized, consumable = excluded.consumable,
                 return_required = excluded.return_required",
        )?
        .execute(params![
            format!("hq-part-{}", p.part_no),
            p.part_no,
            p.name,
            p.name_en.unwrap_or(p.name),
            p.component.unwrap_or(""),
            p.serialised,
            p.consumable,
            p.return_required
        ])?;
    }
    Ok(())
}

/// Sets part prices from a price list (head office wins on prices).
pub fn apply_prices(tx: &Transaction, prices: &[(&str, i64)]) -> StoreResult<()> {
    for (part_no, minor) in prices {
        if *minor < 0 {
            return Err(StoreError::Invalid("negative price in a price list".into()));
        }
        tx.prepare_cached("UPDATE part SET price_minor = ?2 WHERE part_no = ?1")?
            .execute(params![part_no, minor])?;
    }
    Ok(())
}

/// One line of a pulled parts issue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IssuedLine<'a> {
    pub part_no: &'a str,
    pub quantity: i64,
}

/// Parts head office issued to this technician.
#[derive(Debug, Clone)]
pub struct PulledIssue<'a> {
    pub id: &'a str,
    pub issued_at: DateTime<Utc>,
    pub work_order_id: Option<&'a str>,
    pub note: Option<&'a str>,
    pub lines: &'a [IssuedLine<'a>],
}

/// Adds an issue's parts to the van stock, once: a `restock` movement per line (ref_id =
/// the issue id) and a `parts_issue` row. Returns `false`, changing nothing, when the issue
/// was applied before. A part not in the local catalogue yet (its catalogue may come in a
/// later page) gets a minimal row (name = part number, price 0) that the catalogue fills
/// in. No outbox row: it is head office's fact.
pub fn apply_parts_issue(
    tx: &Transaction,
    issue: &PulledIssue,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    if issue
        .lines
        .iter()
        .any(|l| l.quantity <= 0 || l.part_no.is_empty())
    {
        return Err(StoreError::Invalid(
            "a parts issue line without a part or a positive quantity".into(),
        ));
    }
    let inserted = tx.execute(
        "INSERT INTO parts_issue (id, issued_at, work_order_id, note, lines, applied_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
        params![
            issue.id,
            ts(issue.issued_at),
            issue.work_order_id,
            issue.note,
            serde_json::to_string(issue.lines)?,
            ts(now)
        ],
    )?;
    if inserted == 0 {
        return Ok(false);
    }
    for line in issue.lines {
        tx.execute(
            "INSERT INTO part (id, part_no, name_zh, name_en, category, price_minor)
             VALUES (?1, ?2, ?2, ?2, '', 0) ON CONFLICT (part_no) DO NOTHING",
            params![format!("hq-part-{}", line.part_no), line.part_no],
        )?;
        let part_id: String = tx.query_row(
            "SELECT id FROM part WHERE part_no = ?1",
            [line.part_no],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO van_stock (part_id, quantity, updated_at) VALUES (?1, 0, ?2)
             ON CONFLICT (part_id) DO NOTHING",
            params![part_id, ts(issue.issued_at)],
        )?;
        tx.execute(
            "INSERT INTO stock_movement (part_id, kind, delta, ref_id, at)
             VALUES (?1, 'restock', ?2, ?3, ?4)",
            params![part_id, line.quantity, issue.id, ts(issue.issued_at)],
        )?;
    }
    Ok(true)
}

/// Whether a parts issue was applied here.
pub fn parts_issue_applied(conn: &Connection, id: &str) -> StoreResult<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM parts_issue WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Stores head office's company profile in the letterhead settings the documents print.
pub fn apply_company(tx: &Transaction, name: &str, phone: &str, address: &str) -> StoreResult<()> {
    settings::set(tx, settings::COMPANY_NAME, name)?;
    settings::set(tx, settings::COMPANY_PHONE, phone)?;
    settings::set(tx, settings::COMPANY_ADDRESS, address)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Read models for a sync screen

/// The sync screen's rows are the IPC views themselves (no store-side copy).
pub use onsite_domain::view_sync::{
    PendingOpView as PendingView, RejectedOpView as RejectedView, ReviewFlagView as ReviewView,
};

pub fn pending_view(conn: &Connection) -> StoreResult<Vec<PendingView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.device_seq, o.op_id, o.kind, o.entity_id, w.order_no, o.created_at, s.why,
                s.held
         FROM outbox o LEFT JOIN work_order w ON w.id = o.entity_id
         LEFT JOIN sync_waiting s ON s.op_id = o.op_id
         WHERE o.state = 'pending' ORDER BY o.device_seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PendingView {
            device_seq: r.get(0)?,
            op_id: r.get(1)?,
            kind: r.get(2)?,
            work_order_id: r.get(3)?,
            order_no: r.get(4)?,
            created_at: r.get(5)?,
            waiting: r.get(6)?,
            held: r.get::<_, Option<bool>>(7)?.unwrap_or(false),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn rejected_view(conn: &Connection) -> StoreResult<Vec<RejectedView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.device_seq, o.op_id, o.kind, o.entity_id, w.order_no,
                coalesce(r.reject_code, ''), coalesce(r.reason, ''), r.at
         FROM outbox o JOIN op_result r ON r.op_id = o.op_id
         LEFT JOIN work_order w ON w.id = o.entity_id
         WHERE o.state = 'rejected' ORDER BY o.device_seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(RejectedView {
            device_seq: r.get(0)?,
            op_id: r.get(1)?,
            kind: r.get(2)?,
            work_order_id: r.get(3)?,
            order_no: r.get(4)?,
            code: r.get(5)?,
            reason: r.get(6)?,
            at: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn review_flags(conn: &Connection) -> StoreResult<Vec<ReviewView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT f.work_order_id, w.order_no, f.reason, f.created_at
         FROM review_flag f LEFT JOIN work_order w ON w.id = f.work_order_id
         WHERE f.resolved_at IS NULL ORDER BY f.created_at, f.work_order_id, f.reason",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ReviewView {
            work_order_id: r.get(0)?,
            order_no: r.get(1)?,
            reason: r.get(2)?,
            created_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The day-end check: what would be left behind if the technician closed the day now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayEnd {
    pub enrolled: bool,
    pub unsent_ops: i64,
    pub unsent_blobs: i64,
    pub rejected_ops: i64,
    pub last_success_at: Option<String>,
}

impl DayEnd {
    /// True when something recorded here has not reached head office, or head office
    /// refused it (it keeps a copy, but the record is not taken until the cause is fixed).
    pub fn anything_unsent(&self) -> bool {
        self.unsent_ops > 0 || self.unsent_blobs > 0 || self.rejected_ops > 0
    }
}

pub fn day_end(conn: &Connection) -> StoreResult<DayEnd> {
    let st = state(conn)?;
    let count = |sql: &str| -> StoreResult<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    Ok(DayEnd {
        enrolled: st.is_some(),
        unsent_ops: count("SELECT count(*) FROM outbox WHERE state = 'pending'")?,
        // Blobs waiting for upload, and files that could not be sent (crate::unsent).
        unsent_blobs: count("SELECT count(*) FROM blob WHERE uploaded_at IS NULL")?
            + crate::unsent::count(conn)?,
        rejected_ops: count("SELECT count(*) FROM outbox WHERE state = 'rejected'")?,
        last_success_at: st.and_then(|s| s.last_success_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn enrol(store: &mut Store) {
        store
            .write(|tx| {
                save_enrolment(
                    tx,
                    &Enrolment {
                        server_url: "https://127.0.0.1:1".into(),
                        ca_pem: None,
                        device_id: "dev-1".into(),
                        technician_id: "tech-1".into(),
                        technician_name: "Tech".into(),
                        token: "secret-token".into(),
                        epoch: "e1".into(),
                        server_id: None,
                        cert_sha256: None,
                    },
                )
            })
            .unwrap();
    }

    fn order<'a>(id: &'a str, status: WorkOrderStatus) -> PulledOrder<'a> {
        let t: DateTime<Utc> = "2026-05-01T09:00:00Z".parse().unwrap();
        PulledOrder {
            id,
            order_no: id,
            technician_id: "tech-1",
            job_type: JobType::Repair,
            customer_name: "王伟",
            customer_phone: "139-1234-5678",
            customer_address: "1 Road",
            customer_language: "zh-CN",
            appliance_category: "water purifier",
            appliance_brand: "Acme",
            appliance_model: "RO-1",
            serial_no: None,
            purchase_date: None,
            proof: None,
            contracts: &[],
            reported_fault: "leaks",
            appointment_start: t,
            appointment_end: t + chrono::Duration::hours(1),
            hq_notes: "",
            cancel_reason: None,
            server_status: status,
            server_version: 1,
            server_seq: 1,
            created_at: t,
            updated_at: t,
            local_status: status,
            local_notes: None,
        }
    }

    /// Head office's fee table, catalogue and prices, as the sync applies them.
    fn hq_reference_data(tx: &Transaction) -> StoreResult<()> {
        let none: &[String] = &[];
        let line = |code, zh, kind, fee_minor, plus_parts| FeeLine {
            code,
            name_zh: zh,
            name_en: "",
            description: code,
            kind,
            fee_minor,
            plus_parts,
            open_priced: false,
            coverable: true,
            includes: none,
        };
        use onsite_domain::rules::ItemKind::*;
        apply_fee_table(
            tx,
            "water_purifier",
            7,
            "2026-01-01".parse().unwrap(),
            &[
                line("REPLACE", "更换滤芯或配件", Labour, 2000, true),
                line("MAINT", "保养", Service, 3000, false),
            ],
        )?;
        apply_catalogue(
            tx,
            &[CataloguePart {
                part_no: "P-PUMP-24V",
                name: "增压泵 24V",
                name_en: Some("Booster pump 24 V"),
                component: Some("pump"),
                serialised: false,
                consumable: false,
                return_required: false,
            }],
        )?;
        apply_prices(tx, &[("P-PUMP-24V", 18_000)])
    }

    #[test]
    fn a_pulled_job_is_priced_with_head_offices_fee_table_proof_and_contract() {
        use crate::contracts::Contract;
        use crate::visit::{self, QuoteLine, QuoteRequest};
        use onsite_domain::rules::{ContractCover, LineStatus};
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            Store::open(&dir.path().join("onsite.db"), &crate::DataKey::random()).unwrap();
        enrol(&mut store);
        let proof = ProofOfPurchase {
            kind: ProofKind::Invoice,
            date: Some("2026-03-01".parse().unwrap()),
            sealed: true,
        };
        let contract = [Contract {
            reference: "MC-1".into(),
            covers: ContractCover::Labour,
            valid_from: "2026-01-01".parse().unwrap(),
            valid_to: "2026-12-31".parse().unwrap(),
        }];
        store
            .write(|tx| {
                hq_reference_data(tx)?;
                // In warranty (bought 2026-03-01, sealed invoice), English-speaking.
                let mut a = order("wo-warranty", WorkOrderStatus::OnSite);
                a.appliance_category = "water_purifier";
                a.purchase_date = Some("2026-03-01".parse().unwrap());
                a.proof = Some(&proof);
                a.customer_language = "en";
                upsert_work_order(tx, &a)?;
                // Out of warranty, no proof, but a labour contract.
                let mut b = order("wo-contract", WorkOrderStatus::OnSite);
                b.appliance_category = "water_purifier";
                b.purchase_date = Some("2023-01-01".parse().unwrap());
                b.contracts = &contract;
                upsert_work_order(tx, &b)
            })
            .unwrap();
        let request = QuoteRequest {
            visit_date: "2026-11-24".parse().unwrap(),
            work_date: "2026-11-24".parse().unwrap(),
            lines: ["REPLACE", "P-PUMP-24V"]
                .map(|code| QuoteLine {
                    code: code.into(),
                    quantity: 1,
                    component: None,
                    price_minor: None,
                })
                .to_vec(),
            contracts: Vec::new(),
        };
        let status = |id: &str, store: &mut Store| {
            let q = visit::write(store, |tx| {
                visit::issue_quote(tx, id, &request, "2026-11-24T02:00:00Z".parse().unwrap())
            })
            .unwrap();
            assert_eq!(q.fee_table_version, 7);
            q.priced
                .lines
                .iter()
                .map(|l| (l.code.clone(), l.status))
                .collect::<Vec<_>>()
        };
        // The catalogue part is not in the van: it can be found and quoted all the same.
        let found = visit::search_van_stock(store.conn(), "pump", 10).unwrap();
        assert_eq!(
            found
                .iter()
                .map(|p| (p.part_no.as_str(), p.quantity))
                .collect::<Vec<_>>(),
            [("P-PUMP-24V", 0)]
        );
        let warranty = status("wo-warranty", &mut store);
        assert!(
            warranty.contains(&("REPLACE".into(), LineStatus::Covered)),
            "{warranty:?}"
        );
        assert!(
            !warranty.contains(&("P-PUMP-24V".into(), LineStatus::Charged)),
            "the pump is in warranty: {warranty:?}"
        );
        let contract_job = status("wo-contract", &mut store);
        assert!(
            contract_job.contains(&("REPLACE".into(), LineStatus::Covered)),
            "labour under the contract: {contract_job:?}"
        );
        assert!(
            contract_job.contains(&("P-PUMP-24V".into(), LineStatus::Charged)),
            "parts are not in a labour contract: {contract_job:?}"
        );
        // The language, proof and contract are stored; a new pull replaces the contracts.
        let lang: String = store
            .conn()
            .query_row(
                "SELECT c.language FROM customer c JOIN work_order w ON w.customer_id = c.id
                 WHERE w.id = 'wo-warranty'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(lang, "en");
        store
            .write(|tx| {
                let mut b = order("wo-contract", WorkOrderStatus::OnSite);
                b.appliance_category = "water_purifier";
                upsert_work_order(tx, &b)
            })
            .unwrap();
        let n: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM service_contract", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "head office dropped the contract");
    }

    fn stock(store: &Store) -> Vec<(String, i64)> {
        crate::visit::van_stock(store.conn())
            .unwrap()
            .into_iter()
            .map(|i| (i.part_no, i.quantity))
            .collect()
    }

    fn outbox_rows(store: &Store) -> i64 {
        store
            .conn()
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_parts_issue_is_applied_once_and_adds_to_the_van() {
        let mut store = Store::open_in_memory().unwrap();
        enrol(&mut store);
        let now: DateTime<Utc> = "2026-05-01T08:00:00Z".parse().unwrap();
        store
            .write(|tx| {
                hq_reference_data(tx)?;
                apply_catalogue(
                    tx,
                    &[CataloguePart {
                        part_no: "PUMP-1",
                        name: "增压泵",
                        name_en: Some("Booster pump"),
                        component: Some("pump"),
                        serialised: true,
                        consumable: false,
                        return_required: true,
                    }],
                )
            })
            .unwrap();
        let first = [
            IssuedLine {
                part_no: "PUMP-1",
                quantity: 2,
            },
            // Not in the local catalogue yet: a minimal part the catalogue completes.
            IssuedLine {
                part_no: "NEW-9",
                quantity: 5,
            },
        ];
        let issue = PulledIssue {
            id: "0190a1b2-0000-7000-8000-000000000001",
            issued_at: now,
            work_order_id: Some("0190a1b2-0000-7000-8000-0000000000ff"),
            note: Some("van load"),
            lines: &first,
        };
        let outbox_before = outbox_rows(&store);
        assert!(store
            .write(|tx| apply_parts_issue(tx, &issue, now))
            .unwrap());
        assert_eq!(
            stock(&store),
            vec![("NEW-9".to_owned(), 5), ("PUMP-1".to_owned(), 2)]
        );
        assert!(parts_issue_applied(store.conn(), issue.id).unwrap());
        // The same issue again (a refetch after a server restore) changes nothing.
        assert!(!store
            .write(|tx| apply_parts_issue(tx, &issue, now))
            .unwrap());
        assert_eq!(
            stock(&store),
            vec![("NEW-9".to_owned(), 5), ("PUMP-1".to_owned(), 2)]
        );
        // A second issue adds to what the van holds; the ledger explains the quantity.
        let second = [IssuedLine {
            part_no: "PUMP-1",
            quantity: 3,
        }];
        let again = PulledIssue {
            id: "0190a1b2-0000-7000-8000-000000000002",
            lines: &second,
            work_order_id: None,
            note: None,
            ..issue.clone()
        };
        assert!(store
            .write(|tx| apply_parts_issue(tx, &again, now))
            .unwrap());
        assert_eq!(
            stock(&store),
            vec![("NEW-9".to_owned(), 5), ("PUMP-1".to_owned(), 5)]
        );
        let moves = crate::visit::stock_movements(store.conn(), "hq-part-PUMP-1").unwrap();
        assert_eq!(
            moves
                .iter()
                .map(|m| (m.kind.as_str(), m.delta))
                .collect::<Vec<_>>(),
            vec![("opening", 0), ("restock", 2), ("restock", 3)]
        );
        // The catalogue arriving later names the minimal part and keeps its stock.
        store
            .write(|tx| {
                apply_catalogue(
                    tx,
                    &[CataloguePart {
                        part_no: "NEW-9",
                        name: "前置滤芯",
                        name_en: Some("Pre-filter"),
                        component: Some("filter"),
                        serialised: false,
                        consumable: true,
                        return_required: false,
                    }],
                )
            })
            .unwrap();
        let new = crate::visit::van_stock(store.conn())
            .unwrap()
            .into_iter()
            .find(|i| i.part_no == "NEW-9")
            .unwrap();
        assert_eq!((new.name_en.as_str(), new.quantity), ("Pre-filter", 5));
        assert!(new.consumable);
        assert_eq!(outbox_rows(&store), outbox_before, "head office's fact");
        // A line without a positive quantity is refused whole.
        let bad = [IssuedLine {
            part_no: "PUMP-1",
            quantity: 0,
        }];
        let bad = PulledIssue {
            id: "0190a1b2-0000-7000-8000-000000000003",
            lines: &bad,
            ..issue.clone()
        };
        assert!(store.write(|tx| apply_parts_issue(tx, &bad, now)).is_err());
        assert!(!parts_issue_applied(store.conn(), bad.id).unwrap());
    }

    #[test]
    fn the_company_profile_sets_the_letterhead_settings() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .write(|tx| apply_company(tx, "净源水处理", "400-1", "1 Road"))
            .unwrap();
        store
            .write(|tx| apply_company(tx, "净源水处理服务有限公司", "400-2", ""))
            .unwrap();
        let get = |k| settings::get(store.conn(), k).unwrap();
        assert_eq!(
            get(settings::COMPANY_NAME).as_deref(),
            Some("净源水处理服务有限公司")
        );
        assert_eq!(get(settings::COMPANY_PHONE).as_deref(), Some("400-2"));
        assert_eq!(get(settings::COMPANY_ADDRESS).as_deref(), Some(""));
    }

    #[test]
    fn a_new_enrolment_keeps_sets_aside_or_refuses_by_technician_head_office_and_unsent_work() {
        use EnrolmentChange::*;
        let mut store = Store::open_in_memory().unwrap();
        enrol(&mut store);
        let old = state(store.conn()).unwrap().unwrap();
        let with = |url: &str, id: Option<&str>, tech: &str| Enrolment {
            server_url: url.into(),
            ca_pem: None,
            device_id: "dev-2".into(),
            technician_id: tech.into(),
            technician_name: "T".into(),
            token: "t".into(),
            epoch: "e".into(),
            server_id: id.map(str::to_owned),
            cert_sha256: None,
        };
        let same_url = "https://127.0.0.1:1";
        let mut known = old.clone();
        known.server_id = Some("hq-1".into());
        // (name, current, new, unsent, expected)
        let cases = [
            ("first", None, with(same_url, None, "tech-1"), 0, First),
            (
                "renewed",
                Some(&old),
                with(same_url, None, "tech-1"),
                5,
                Renew,
            ),
            (
                "same head office at a new address",
                Some(&known),
                with("https://hq.example:8443", Some("hq-1"), "tech-1"),
                5,
                Renew,
            ),
            (
                "another head office at the same address",
                Some(&known),
                with(same_url, Some("hq-2"), "tech-1"),
                0,
                Fresh,
            ),
            (
                "another technician, nothing unsent",
                Some(&old),
                with(same_url, None, "tech-2"),
                0,
                Fresh,
            ),
            (
                "another technician, work unsent",
                Some(&old),
                with(same_url, None, "tech-2"),
                1,
                Refuse,
            ),
            (
                "another head office, work unsent",
                Some(&known),
                with("https://other:1", Some("hq-2"), "tech-1"),
                3,
                Refuse,
            ),
        ];
        for (name, current, new, unsent, want) in cases {
            assert_eq!(enrolment_change(current, &new, unsent), want, "{name}");
        }
    }

    #[test]
    fn a_status_kept_while_a_change_was_pending_follows_head_office_afterwards() {
        let mut store = Store::open_in_memory().unwrap();
        enrol(&mut store);
        let kinds = [crate::outbox::kind::CHANGE_STATUS];
        let now = Utc::now();
        store
            .write(|tx| upsert_work_order(tx, &order("WO-1", WorkOrderStatus::Assigned)))
            .unwrap();
        store
            .write(|tx| workorders::change_status(tx, "WO-1", WorkOrderStatus::EnRoute, None, now))
            .unwrap();
        // Head office cancels; the pull keeps the pending change on screen.
        let mut cancelled = order("WO-1", WorkOrderStatus::Cancelled);
        cancelled.local_status = WorkOrderStatus::EnRoute;
        store.write(|tx| upsert_work_order(tx, &cancelled)).unwrap();
        let status = |s: &Store| local_order(s.conn(), "WO-1").unwrap().unwrap().status;
        assert_eq!(
            store
                .write(|tx| reconcile_statuses(tx, &kinds, now))
                .unwrap(),
            0
        );
        assert_eq!(status(&store), WorkOrderStatus::EnRoute);
        // The change is acknowledged: head office's status (cancelled) is shown now.
        let op = next_pending(store.conn(), 1).unwrap().remove(0);
        store
            .write(|tx| {
                record_result(
                    tx,
                    &op.op_id,
                    &StoredOutcome::Applied {
                        server_seq: 9,
                        flagged: true,
                    },
                    "e1",
                    now,
                )
            })
            .unwrap();
        assert_eq!(
            store
                .write(|tx| reconcile_statuses(tx, &kinds, now))
                .unwrap(),
            1
        );
        assert_eq!(status(&store), WorkOrderStatus::Cancelled);
        assert_eq!(
            store
                .write(|tx| reconcile_statuses(tx, &kinds, now))
                .unwrap(),
            0
        );
    }

    #[test]
    fn enrolment_token_is_not_in_debug_output() {
        let mut store = Store::open_in_memory().unwrap();
        enrol(&mut store);
        let st = state(store.conn()).unwrap().unwrap();
        assert_eq!(st.token, "secret-token");
        assert!(!format!("{st:?}").contains("secret-token"));
    }

    #[test]
    fn pulled_order_is_searchable_updated_and_removable_without_outbox_rows() {
        let mut store = Store::open_in_memory().unwrap();
        enrol(&mut store);
        store
            .write(|tx| upsert_work_order(tx, &order("WO-1", WorkOrderStatus::Assigned)))
            .unwrap();
        let day = workorders::Day {
            now: "2026-05-01T08:00:00Z".parse().unwrap(),
            start: "2026-04-30T16:00:00Z".parse().unwrap(),
            end: "2026-05-01T16:00:00Z".parse().unwrap(),
        };
        assert_eq!(
            workorders::search(store.conn(), "王伟", &day, 10)
                .unwrap()
                .len(),
            1
        );
        let mut o = order("WO-1", WorkOrderStatus::Cancelled);
        o.customer_name = "李娜";
        store.write(|tx| upsert_work_order(tx, &o)).unwrap();
        assert!(workorders::search(store.conn(), "王伟", &day, 10)
            .unwrap()
            .is_empty());
        let d = workorders::detail(store.conn(), "WO-1", &day).unwrap();
        assert_eq!(d.summary.status, WorkOrderStatus::Cancelled);
        assert_eq!(crate::outbox::pending_count(store.conn()).unwrap(), 0);
        assert!(store.write(|tx| remove_work_order(tx, "WO-1")).unwrap());
        assert!(workorders::search(store.conn(), "李娜", &day, 10)
            .unwrap()
            .is_empty());
        assert!(local_order(store.conn(), "WO-1").unwrap().is_none());
    }

    #[test]
    fn results_leave_the_queue_and_a_new_epoch_requeues_applied_ones() {
        let mut store = Store::open_in_memory().unwrap();
        enrol(&mut store);
        store
            .write(|tx| upsert_work_order(tx, &order("WO-1", WorkOrderStatus::Assigned)))
            .unwrap();
        let now = Utc::now();
        store
            .write(|tx| {
                workorders::change_status(tx, "WO-1", WorkOrderStatus::EnRoute, None, now)?;
                workorders::set_notes(tx, "WO-1", "n", now)
            })
            .unwrap();
        let ops = next_pending(store.conn(), 10).unwrap();
        assert_eq!(ops.len(), 2);
        store
            .write(|tx| {
                record_result(
                    tx,
                    &ops[0].op_id,
                    &StoredOutcome::Applied {
                        server_seq: 3,
                        flagged: true,
                    },
                    "e1",
                    now,
                )?;
                record_result(
                    tx,
                    &ops[1].op_id,
                    &StoredOutcome::Rejected {
                        code: "bad_payload".into(),
                        reason: "why".into(),
                    },
                    "e1",
                    now,
                )
            })
            .unwrap();
        assert!(pending_view(store.conn()).unwrap().is_empty());
        let rej = rejected_view(store.conn()).unwrap();
        assert_eq!(rej.len(), 1);
        assert_eq!(rej[0].reason, "why");
        assert_eq!(review_flags(store.conn()).unwrap().len(), 1);
        // A refused record counts at day's end: it is not taken at head office yet.
        let end = day_end(store.conn()).unwrap();
        assert_eq!((end.unsent_ops, end.rejected_ops), (0, 1));
        assert!(end.anything_unsent());
        // It goes back in the queue when its cause may have gone: not for another job,
        // not when it was refused after the retry time, yes for its job.
        let before = now - chrono::Duration::hours(1);
        assert_eq!(
            store
                .write(|tx| requeue_refused(tx, Some(&["WO-2".into()]), None))
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .write(|tx| requeue_refused(tx, None, Some(before)))
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .write(|tx| requeue_refused(tx, Some(&["WO-1".into()]), None))
                .unwrap(),
            1
        );
        assert_eq!(pending_view(store.conn()).unwrap().len(), 1);
        store
            .write(|tx| {
                record_result(
                    tx,
                    &ops[1].op_id,
                    &StoredOutcome::Rejected {
                        code: "fact_id_reused".into(),
                        reason: "final".into(),
                    },
                    "e1",
                    now,
                )
            })
            .unwrap();
        assert_eq!(
            store.write(|tx| requeue_refused(tx, None, None)).unwrap(),
            0,
            "a reused fact id is final"
        );
        assert_eq!(
            store.write(|tx| requeue_applied(tx, Some("e1"))).unwrap(),
            0
        );
        assert_eq!(
            store.write(|tx| requeue_applied(tx, Some("e2"))).unwrap(),
            1
        );
        assert_eq!(pending_view(store.conn()).unwrap().len(), 1);
        assert!(day_end(store.conn()).unwrap().anything_unsent());
    }
}
