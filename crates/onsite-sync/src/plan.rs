//! The sync planner: pure decisions, no I/O, tested by tables of cases.
//!
//! - [`next_batch`]: which pending ops go in the next push, and which blobs must be
//!   uploaded before them; an op that cannot be sent stops the queue there ([`Blocked`]).
//! - [`read_push_reply`]: checks a push reply against what was sent and gives each op's
//!   result to store (applied, rejected "poison" op, or a duplicate of a replay).
//! - [`classify_status`]: what an HTTP failure means (retry later, enrol again, give up).
//! - [`plan_page`]: what a pull page means (a reset or new epoch: refetch from scratch and
//!   re-send what the server may have lost; the end of a refetch).
//! - [`merge_work_order`] and [`on_gone`]: how a pulled work order meets local state.
//!   Head office wins on assignment, schedule, customer and appliance details and prices;
//!   a pending local change (status, notes) is never overwritten; the technician's facts
//!   are never dropped: a job cancelled or taken away while worked on here is kept and
//!   flagged for review.

use std::collections::HashSet;
use std::time::Duration;

use onsite_api::{Cursor, Op, OpOutcome, PullReply, PushReply, WorkOrder};
use onsite_domain::WorkOrderStatus;
use onsite_store::sync::StoredOutcome;
use uuid::Uuid;

use crate::map::{self, MapError};

/// Review reasons this device records.
pub mod reason {
    /// Head office flagged the job (a fact of ours arrived after a cancel or reassignment,
    /// or a status conflict).
    pub const FLAGGED_BY_HEAD_OFFICE: &str = "flagged_by_head_office";
    /// Head office cancelled the job while the technician had recorded work on it here.
    pub const CANCELLED_WHILE_WORKED_ON: &str = "cancelled_while_worked_on";
    /// Head office gave the job to someone else while the technician had recorded work on
    /// it here.
    pub const REASSIGNED_WHILE_WORKED_ON: &str = "reassigned_while_worked_on";
    /// After a server restore the job no longer exists there, but work was recorded here.
    pub const GONE_AFTER_RESTORE: &str = "gone_after_server_restore";
    /// A pulled job has the order number of another job here: both are kept, the pulled
    /// one under a marked number.
    pub const ORDER_NO_CLASH: &str = onsite_store::sync::ORDER_NO_CLASH;
}

// ---------------------------------------------------------------------------------------
// Push

/// One pending outbox row, mapped (or not) to its wire op.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedOp {
    pub device_seq: i64,
    /// The outbox op id.
    pub op_id: String,
    /// The store's entity (the job, or a technician-day record's id).
    pub entity: String,
    pub kind: String,
    pub mapped: Result<Op, MapError>,
}

/// An op that cannot be sent: the queue stops there until a build that can send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub device_seq: i64,
    pub kind: String,
    /// No customer data.
    pub why: String,
}

/// The next push.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Blobs to upload (HEAD, then PUT if absent) before pushing `ops`, in first-use order.
    pub blobs_first: Vec<String>,
    /// Photos to upload before `ops` when this device has them (a missing one does not
    /// stop the queue), in first-use order, none already in `blobs_first`.
    pub photos_first: Vec<String>,
    /// The ops, in `device_seq` order.
    pub ops: Vec<Op>,
    /// Set when the queue stops at an op that cannot be sent (after `ops`).
    pub blocked: Option<Blocked>,
}

/// The next batch from the pending queue (oldest first): at most `max_ops`, stopping at
/// the first op that cannot be sent. `blob_acked` says whether head office already has a
/// blob.
pub fn next_batch(queue: &[QueuedOp], blob_acked: &dyn Fn(&str) -> bool, max_ops: usize) -> Batch {
    let mut batch = Batch {
        blobs_first: Vec::new(),
        photos_first: Vec::new(),
        ops: Vec::new(),
        blocked: None,
    };
    let mut seen = HashSet::new();
    for q in queue {
        if batch.ops.len() >= max_ops.max(1) {
            break;
        }
        match &q.mapped {
            Ok(op) => {
                if let Some(sha) = map::blob_of(op) {
                    if !blob_acked(&sha) && seen.insert(sha.clone()) {
                        batch.blobs_first.push(sha);
                    }
                }
                for sha in map::photos_of(op) {
                    if !blob_acked(&sha) && seen.insert(sha.clone()) {
                        batch.photos_first.push(sha);
                    }
                }
                batch.ops.push(op.clone());
            }
            Err(e) => {
                batch.blocked = Some(Blocked {
                    device_seq: q.device_seq,
                    kind: q.kind.clone(),
                    why: e.to_string(),
                });
                break;
            }
        }
    }
    batch
}

/// One op's result to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub op_id: Uuid,
    pub duplicate: bool,
    pub outcome: StoredOutcome,
}

/// Checks a push reply against the ops sent: one result per op, same order, same ids (a
/// shorter list means the server stopped; the rest stay pending). Anything else is a
/// malformed reply and nothing of it is stored.
pub fn read_push_reply(sent: &[Op], reply: &PushReply) -> Result<Vec<Recorded>, String> {
    if reply.results.len() > sent.len() {
        return Err("push reply has more results than ops sent".into());
    }
    if reply.epoch.is_empty() {
        return Err("push reply has no epoch".into());
    }
    let mut out = Vec::with_capacity(reply.results.len());
    for (op, r) in sent.iter().zip(&reply.results) {
        if r.op_id != op.op_id {
            return Err("push reply results are not in the order of the ops sent".into());
        }
        let outcome = match &r.outcome {
            OpOutcome::Applied {
                server_seq,
                flagged_for_review,
            } => StoredOutcome::Applied {
                server_seq: *server_seq,
                flagged: *flagged_for_review,
            },
            OpOutcome::Rejected { code, reason } => StoredOutcome::Rejected {
                code: code.as_str().to_owned(),
                reason: reason.chars().take(500).collect(),
            },
        };
        out.push(Recorded {
            op_id: r.op_id,
            duplicate: r.duplicate,
            outcome,
        });
    }
    Ok(out)
}

/// What an HTTP failure means for the sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Try again later (the backoff schedule, at least `retry_after`).
    Transient { retry_after: Option<Duration> },
    /// The device's token is unknown or revoked: enrol again.
    NeedsEnrolment,
    /// The request itself is wrong (a bug on one side): retrying will not help.
    Permanent,
}

/// Classifies an error reply.
pub fn classify_status(status: u16, retry_after: Option<Duration>) -> Failure {
    match status {
        401 => Failure::NeedsEnrolment,
        408 | 425 | 429 | 500 | 502 | 503 | 504 => Failure::Transient { retry_after },
        _ => Failure::Permanent,
    }
}

// ---------------------------------------------------------------------------------------
// Pull

/// What to do with a pull page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePlan {
    /// The server did not know our cursor or its epoch changed: this page starts a full
    /// refetch (pulled work orders not sent again by its end are gone from head office).
    pub begin_refetch: bool,
    /// Ops acknowledged before must go back to the queue: `Some(None)` all of them (the
    /// server lost an unknown part of its history), `Some(Some(epoch))` those not
    /// acknowledged in `epoch`.
    pub requeue: Option<Option<String>>,
    /// The last page of a refetch: deal with what it did not send.
    pub finish_refetch: bool,
    /// Pull again at once with the page's cursor.
    pub more: bool,
}

/// Plans a page, given the epoch of the saved cursor and whether a refetch is under way.
/// Checks the page: a cursor of its own epoch, changes in commit order, progress when
/// more is announced.
pub fn plan_page(
    stored_epoch: &str,
    sent_cursor: Option<&str>,
    refetching: bool,
    page: &PullReply,
) -> Result<PagePlan, String> {
    if page.epoch.is_empty() || page.epoch.len() > 200 {
        return Err("pull reply has no valid epoch".into());
    }
    let cursor = Cursor::parse(&page.cursor).ok_or("pull reply cursor is malformed")?;
    if cursor.epoch != page.epoch {
        return Err("pull reply cursor belongs to another epoch".into());
    }
    if page.changes.windows(2).any(|w| w[0].seq > w[1].seq) {
        return Err("pull reply changes are not in commit order".into());
    }
    if page.changes.last().is_some_and(|c| c.seq > cursor.seq) {
        return Err("pull reply cursor is behind its changes".into());
    }
    // A page may be empty and still announce more (head office leaves out the device's
    // own facts after building it): that is progress as long as the cursor moves on.
    let sent = sent_cursor.and_then(Cursor::parse);
    let moved = match &sent {
        Some(c) if !page.reset && c.epoch == cursor.epoch => cursor.seq > c.seq,
        _ => sent_cursor != Some(page.cursor.as_str()),
    };
    if page.has_more && !moved {
        return Err("pull reply cursor does not move".into());
    }
    let epoch_changed = page.epoch != stored_epoch;
    let begin_refetch = page.reset || epoch_changed;
    let requeue = if page.reset {
        Some(None)
    } else if epoch_changed {
        Some(Some(page.epoch.clone()))
    } else {
        None
    };
    Ok(PagePlan {
        begin_refetch,
        requeue,
        finish_refetch: !page.has_more && (refetching || begin_refetch),
        more: page.has_more,
    })
}

/// What the planner knows of a local work order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalView {
    pub status: WorkOrderStatus,
    /// A status change of the technician's is not acknowledged yet.
    pub pending_status: bool,
    /// A notes edit of the technician's is not acknowledged yet.
    pub pending_notes: bool,
    /// The technician recorded anything on it here (acknowledged or not).
    pub has_local_facts: bool,
    /// The technician ever edited its notes here.
    pub notes_edited: bool,
}

/// The outbox kinds that can move a job's status on the device (a status change; a
/// declined quote moves the job to `unable_to_complete`): while one is pending, a pulled
/// status never replaces the local one.
pub const STATUS_CHANGING_KINDS: [&str; 2] = [
    onsite_store::outbox::kind::CHANGE_STATUS,
    onsite_store::outbox::kind::RECORD_QUOTE_DECISION,
];

impl LocalView {
    pub fn from_store(l: &onsite_store::sync::LocalOrder) -> LocalView {
        use onsite_store::outbox::kind;
        LocalView {
            status: l.status,
            pending_status: l
                .pending_kinds
                .iter()
                .any(|k| STATUS_CHANGING_KINDS.contains(&k.as_str())),
            pending_notes: l.pending_kinds.iter().any(|k| k == kind::EDIT_NOTES),
            has_local_facts: l.has_local_facts,
            notes_edited: l.notes_edited,
        }
    }
}

/// How to merge a pulled work order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkOrderAction {
    /// Insert or update it: head office's fields, with this status, taking head office's
    /// notes as the local notes or not; flag it for review when set.
    Upsert {
        status: WorkOrderStatus,
        take_hq_notes: bool,
        flag: Option<&'static str>,
    },
    /// It is not this technician's (any more) and nothing was recorded on it here.
    Remove,
    /// It is not this technician's (any more) but work was recorded on it here: keep it
    /// and flag it.
    KeepAndFlag(&'static str),
    /// Nothing to do (not known here).
    Ignore,
}

/// Merges a pulled work order with the local one (`None`: not known here).
pub fn merge_work_order(
    local: Option<&LocalView>,
    pulled: &WorkOrder,
    me: Uuid,
) -> WorkOrderAction {
    if pulled.technician_id != Some(me) {
        return on_gone(local, reason::REASSIGNED_WHILE_WORKED_ON);
    }
    let hq_flag = pulled
        .flagged_for_review
        .then_some(reason::FLAGGED_BY_HEAD_OFFICE);
    let Some(local) = local else {
        return WorkOrderAction::Upsert {
            status: pulled.status,
            take_hq_notes: true,
            flag: hq_flag,
        };
    };
    let cancelled_under_us = pulled.status == WorkOrderStatus::Cancelled
        && local.status != WorkOrderStatus::Cancelled
        && local.has_local_facts;
    let status = if local.pending_status {
        local.status
    } else {
        pulled.status
    };
    WorkOrderAction::Upsert {
        status,
        take_hq_notes: !local.notes_edited && !local.pending_notes,
        flag: if cancelled_under_us {
            Some(reason::CANCELLED_WHILE_WORKED_ON)
        } else {
            hq_flag
        },
    }
}

/// A work order head office no longer sends this technician (reassigned, or gone after a
/// restore): removed when nothing was recorded on it here, else kept and flagged.
pub fn on_gone(local: Option<&LocalView>, why: &'static str) -> WorkOrderAction {
    match local {
        None => WorkOrderAction::Ignore,
        Some(l) if l.has_local_facts => WorkOrderAction::KeepAndFlag(why),
        Some(_) => WorkOrderAction::Remove,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onsite_api::{Appliance, Change, ChangeItem, Customer, OpResult, RejectCode};
    use onsite_domain::JobType;
    use WorkOrderStatus::*;

    fn op(seq: i64, payload: onsite_api::OpPayload) -> Op {
        Op::new(
            Uuid::from_u128(seq as u128),
            seq,
            Uuid::from_u128(99),
            Some(1),
            &payload,
        )
    }

    fn status_op(seq: i64) -> Op {
        op(
            seq,
            onsite_api::OpPayload::ChangeStatus(onsite_api::StatusChange {
                from: None,
                fact_id: Uuid::from_u128(1000 + seq as u128),
                to: EnRoute,
                reason: None,
                at: "2026-05-01T10:00:00Z".parse().unwrap(),
            }),
        )
    }

    fn sig_op(seq: i64, sha: &str) -> Op {
        op(
            seq,
            onsite_api::OpPayload::AttachSignature(onsite_api::Signature {
                content_hash: None,
                signature_id: None,
                signer_name: None,
                fact_id: Uuid::from_u128(1000 + seq as u128),
                blob_sha256: sha.into(),
                signer: onsite_api::Signer::Customer,
                at: "2026-05-01T10:00:00Z".parse().unwrap(),
            }),
        )
    }

    fn q(op: Op) -> QueuedOp {
        QueuedOp {
            device_seq: op.device_seq,
            op_id: op.op_id.to_string(),
            entity: op.entity_id.to_string(),
            kind: op.kind.clone(),
            mapped: Ok(op),
        }
    }

    fn unknown(seq: i64) -> QueuedOp {
        QueuedOp {
            device_seq: seq,
            op_id: Uuid::from_u128(seq as u128).to_string(),
            entity: Uuid::from_u128(99).to_string(),
            kind: "RecordDiagnosis".into(),
            mapped: Err(MapError::UnknownKind("RecordDiagnosis".into())),
        }
    }

    #[test]
    fn batch_table() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let acked = |sha: &str| sha == "b".repeat(64);
        // (name, queue, max, expected op seqs, expected blobs, blocked at)
        type Case = (
            &'static str,
            Vec<QueuedOp>,
            usize,
            Vec<i64>,
            Vec<String>,
            Option<i64>,
        );
        let cases: Vec<Case> = vec![
            ("empty", vec![], 10, vec![], vec![], None),
            (
                "in order",
                vec![q(status_op(1)), q(status_op(2))],
                10,
                vec![1, 2],
                vec![],
                None,
            ),
            (
                "max per push",
                vec![q(status_op(1)), q(status_op(2)), q(status_op(3))],
                2,
                vec![1, 2],
                vec![],
                None,
            ),
            (
                "zero max still moves",
                vec![q(status_op(1))],
                0,
                vec![1],
                vec![],
                None,
            ),
            (
                "blob uploaded first, once",
                vec![q(sig_op(1, &a)), q(status_op(2)), q(sig_op(3, &a))],
                10,
                vec![1, 2, 3],
                vec![a.clone()],
                None,
            ),
            (
                "acked blob not uploaded again",
                vec![q(sig_op(1, &b))],
                10,
                vec![1],
                vec![],
                None,
            ),
            (
                "unknown kind stops the queue",
                vec![q(status_op(1)), unknown(2), q(status_op(3))],
                10,
                vec![1],
                vec![],
                Some(2),
            ),
            (
                "unknown kind first",
                vec![unknown(1), q(status_op(2))],
                10,
                vec![],
                vec![],
                Some(1),
            ),
            (
                "max reached before the unknown kind",
                vec![q(status_op(1)), unknown(2)],
                1,
                vec![1],
                vec![],
                None,
            ),
        ];
        for (name, queue, max, seqs, blobs, blocked) in cases {
            let batch = next_batch(&queue, &acked, max);
            let got: Vec<i64> = batch.ops.iter().map(|o| o.device_seq).collect();
            assert_eq!(got, seqs, "{name}");
            assert_eq!(batch.blobs_first, blobs, "{name}");
            assert_eq!(
                batch.blocked.as_ref().map(|b| b.device_seq),
                blocked,
                "{name}"
            );
        }
    }

    fn result(op: &Op, duplicate: bool, outcome: OpOutcome) -> OpResult {
        OpResult {
            op_id: op.op_id,
            duplicate,
            outcome,
        }
    }

    #[test]
    fn push_reply_table() {
        let sent = vec![status_op(1), status_op(2)];
        let applied = OpOutcome::Applied {
            server_seq: 5,
            flagged_for_review: false,
        };
        let flagged = OpOutcome::Applied {
            server_seq: 6,
            flagged_for_review: true,
        };
        let poison = OpOutcome::Rejected {
            code: RejectCode::UnknownWorkOrder,
            reason: "no such work order".into(),
        };
        let reply = |results: Vec<OpResult>| PushReply {
            results,
            epoch: "e".into(),
            checkpoint: None,
        };
        // Applied and a poison op: both recorded, the queue moves on.
        let got = read_push_reply(
            &sent,
            &reply(vec![
                result(&sent[0], false, applied.clone()),
                result(&sent[1], false, poison),
            ]),
        )
        .unwrap();
        assert_eq!(
            got[1].outcome,
            StoredOutcome::Rejected {
                code: "unknown_work_order".into(),
                reason: "no such work order".into()
            }
        );
        // A replay: duplicates carry the stored result.
        let got = read_push_reply(&sent, &reply(vec![result(&sent[0], true, flagged)])).unwrap();
        assert_eq!(got.len(), 1);
        assert!(got[0].duplicate);
        assert_eq!(
            got[0].outcome,
            StoredOutcome::Applied {
                server_seq: 6,
                flagged: true
            }
        );
        // Hostile or broken replies.
        let swapped = reply(vec![
            result(&sent[1], false, applied.clone()),
            result(&sent[0], false, applied.clone()),
        ]);
        assert!(read_push_reply(&sent, &swapped).is_err());
        let too_many = reply(vec![
            result(&sent[0], false, applied.clone()),
            result(&sent[1], false, applied.clone()),
            result(&sent[1], false, applied.clone()),
        ]);
        assert!(read_push_reply(&sent, &too_many).is_err());
        let no_epoch = PushReply {
            results: vec![],
            epoch: String::new(),
            checkpoint: None,
        };
        assert!(read_push_reply(&sent, &no_epoch).is_err());
        // A long reason is cut.
        let long = OpOutcome::Rejected {
            code: RejectCode::BadPayload,
            reason: "x".repeat(10_000),
        };
        let got = read_push_reply(&sent, &reply(vec![result(&sent[0], false, long)])).unwrap();
        assert!(
            matches!(&got[0].outcome, StoredOutcome::Rejected { reason, .. } if reason.len() == 500)
        );
    }

    #[test]
    fn failure_table() {
        let ra = Some(Duration::from_secs(7));
        let cases = [
            (503, ra, Failure::Transient { retry_after: ra }),
            (500, None, Failure::Transient { retry_after: None }),
            (502, None, Failure::Transient { retry_after: None }),
            (429, ra, Failure::Transient { retry_after: ra }),
            (401, None, Failure::NeedsEnrolment),
            (403, None, Failure::Permanent),
            (400, None, Failure::Permanent),
            (413, None, Failure::Permanent),
            (404, None, Failure::Permanent),
        ];
        for (status, retry_after, want) in cases {
            assert_eq!(classify_status(status, retry_after), want, "{status}");
        }
    }

    fn page(epoch: &str, reset: bool, seqs: &[i64], cursor_seq: i64, has_more: bool) -> PullReply {
        PullReply {
            epoch: epoch.into(),
            reset,
            changes: seqs
                .iter()
                .map(|s| Change {
                    seq: *s,
                    item: ChangeItem::WorkOrderRemoved { id: Uuid::nil() },
                })
                .collect(),
            cursor: format!("{epoch}:{cursor_seq}"),
            has_more,
            checkpoint: None,
        }
    }

    #[test]
    fn page_table() {
        let plan = |begin_refetch, requeue: Option<Option<&str>>, finish_refetch, more| PagePlan {
            begin_refetch,
            requeue: requeue.map(|r| r.map(str::to_owned)),
            finish_refetch,
            more,
        };
        // (name, stored epoch, sent cursor, refetching, page, expected)
        type Case = (
            &'static str,
            &'static str,
            Option<&'static str>,
            bool,
            PullReply,
            Result<PagePlan, ()>,
        );
        let cases: Vec<Case> = vec![
            (
                "first page of more",
                "e1",
                None,
                false,
                page("e1", false, &[1, 2], 2, true),
                Ok(plan(false, None, false, true)),
            ),
            (
                "last page",
                "e1",
                Some("e1:2"),
                false,
                page("e1", false, &[3], 3, false),
                Ok(plan(false, None, false, false)),
            ),
            (
                "nothing new",
                "e1",
                Some("e1:3"),
                false,
                page("e1", false, &[], 3, false),
                Ok(plan(false, None, false, false)),
            ),
            (
                "reset, one page",
                "e1",
                Some("e1:9"),
                false,
                page("e1", true, &[1], 1, false),
                Ok(plan(true, Some(None), true, false)),
            ),
            (
                "new epoch, reset",
                "e1",
                Some("e1:9"),
                false,
                page("e2", true, &[1], 1, true),
                Ok(plan(true, Some(None), false, true)),
            ),
            (
                "epoch changed without reset",
                "e1",
                None,
                false,
                page("e2", false, &[1], 1, false),
                Ok(plan(true, Some(Some("e2")), true, false)),
            ),
            (
                "refetch continues",
                "e2",
                Some("e2:1"),
                true,
                page("e2", false, &[2], 2, true),
                Ok(plan(false, None, false, true)),
            ),
            (
                "refetch ends",
                "e2",
                Some("e2:2"),
                true,
                page("e2", false, &[3], 3, false),
                Ok(plan(false, None, true, false)),
            ),
            (
                "changes out of order",
                "e1",
                None,
                false,
                page("e1", false, &[2, 1], 2, false),
                Err(()),
            ),
            (
                "cursor behind changes",
                "e1",
                None,
                false,
                page("e1", false, &[5], 4, false),
                Err(()),
            ),
            (
                // Head office left out the device's own facts: the cursor moved past them.
                "more but empty, cursor moved",
                "e1",
                Some("e1:2"),
                false,
                page("e1", false, &[], 4, true),
                Ok(plan(false, None, false, true)),
            ),
            (
                "more but empty from the start",
                "e1",
                None,
                false,
                page("e1", false, &[], 4, true),
                Ok(plan(false, None, false, true)),
            ),
            (
                "more but empty, cursor does not move",
                "e1",
                Some("e1:4"),
                false,
                page("e1", false, &[], 4, true),
                Err(()),
            ),
            (
                "more, cursor goes back",
                "e1",
                Some("e1:6"),
                false,
                page("e1", false, &[], 4, true),
                Err(()),
            ),
            (
                "cursor does not move",
                "e1",
                Some("e1:4"),
                false,
                page("e1", false, &[4], 4, true),
                Err(()),
            ),
            (
                "empty epoch",
                "e1",
                None,
                false,
                page("", false, &[], 0, false),
                Err(()),
            ),
        ];
        for (name, stored, sent, refetching, p, want) in cases {
            let got = plan_page(stored, sent, refetching, &p).map_err(|_| ());
            assert_eq!(got, want, "{name}");
        }
        let mut bad = page("e1", false, &[], 0, false);
        bad.cursor = "garbage".into();
        assert!(plan_page("e1", None, false, &bad).is_err());
        bad.cursor = "e9:3".into();
        assert!(plan_page("e1", None, false, &bad).is_err());
    }

    fn pulled(me: Option<Uuid>, status: WorkOrderStatus, flagged: bool) -> WorkOrder {
        let t = "2026-05-01T09:00:00Z".parse().unwrap();
        WorkOrder {
            id: Uuid::from_u128(99),
            order_no: "WO-1".into(),
            version: 4,
            technician_id: me,
            status,
            job_type: JobType::Repair,
            customer: Customer {
                name: "n".into(),
                phone: "p".into(),
                address: "a".into(),
                language: "zh-CN".into(),
            },
            appliance: Appliance {
                category: "c".into(),
                brand: "b".into(),
                model: "m".into(),
                serial_no: None,
                purchase_date: None,
                proof: None,
                contracts: Vec::new(),
            },
            reported_fault: String::new(),
            notes: String::new(),
            appointment_start: t,
            appointment_end: t,
            cancel_reason: None,
            flagged_for_review: flagged,
            created_at: t,
            updated_at: t,
        }
    }

    fn local(
        status: WorkOrderStatus,
        pending_status: bool,
        pending_notes: bool,
        facts: bool,
        notes_edited: bool,
    ) -> LocalView {
        LocalView {
            status,
            pending_status,
            pending_notes,
            has_local_facts: facts,
            notes_edited,
        }
    }

    #[test]
    fn merge_table() {
        let me = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        use reason::*;
        use WorkOrderAction as A;
        let up = |status, take_hq_notes, flag| A::Upsert {
            status,
            take_hq_notes,
            flag,
        };
        // (name, local, pulled, expected)
        let cases: Vec<(&str, Option<LocalView>, WorkOrder, A)> = vec![
            (
                "new job",
                None,
                pulled(Some(me), Assigned, false),
                up(Assigned, true, None),
            ),
            (
                "new job already flagged",
                None,
                pulled(Some(me), Assigned, true),
                up(Assigned, true, Some(FLAGGED_BY_HEAD_OFFICE)),
            ),
            (
                "head office reschedules",
                Some(local(Assigned, false, false, false, false)),
                pulled(Some(me), Assigned, false),
                up(Assigned, true, None),
            ),
            (
                "acknowledged status: server wins",
                Some(local(OnSite, false, false, true, false)),
                pulled(Some(me), EnRoute, false),
                up(EnRoute, true, None),
            ),
            (
                "pending status is kept",
                Some(local(OnSite, true, false, true, false)),
                pulled(Some(me), EnRoute, false),
                up(OnSite, true, None),
            ),
            (
                "pending notes are kept",
                Some(local(Assigned, false, true, true, true)),
                pulled(Some(me), Assigned, false),
                up(Assigned, false, None),
            ),
            (
                "edited notes stay the technician's",
                Some(local(Assigned, false, false, true, true)),
                pulled(Some(me), Assigned, false),
                up(Assigned, false, None),
            ),
            (
                "cancelled, nothing done here",
                Some(local(Assigned, false, false, false, false)),
                pulled(Some(me), Cancelled, false),
                up(Cancelled, true, None),
            ),
            (
                "cancelled while done offline",
                Some(local(Completed, true, false, true, false)),
                pulled(Some(me), Cancelled, false),
                up(Completed, true, Some(CANCELLED_WHILE_WORKED_ON)),
            ),
            (
                "cancelled after acknowledged work",
                Some(local(InProgress, false, false, true, false)),
                pulled(Some(me), Cancelled, true),
                up(Cancelled, true, Some(CANCELLED_WHILE_WORKED_ON)),
            ),
            (
                "head office flags",
                Some(local(Completed, false, false, true, false)),
                pulled(Some(me), Completed, true),
                up(Completed, true, Some(FLAGGED_BY_HEAD_OFFICE)),
            ),
            (
                "reassigned, nothing done",
                Some(local(Assigned, false, false, false, false)),
                pulled(Some(other), Assigned, false),
                A::Remove,
            ),
            (
                "reassigned while done offline",
                Some(local(Completed, true, false, true, false)),
                pulled(Some(other), Assigned, false),
                A::KeepAndFlag(REASSIGNED_WHILE_WORKED_ON),
            ),
            (
                "unassigned, unknown here",
                None,
                pulled(None, Assigned, false),
                A::Ignore,
            ),
        ];
        for (name, l, p, want) in cases {
            assert_eq!(merge_work_order(l.as_ref(), &p, me), want, "{name}");
        }
        assert_eq!(on_gone(None, GONE_AFTER_RESTORE), A::Ignore);
        assert_eq!(
            on_gone(
                Some(&local(Completed, false, false, true, false)),
                GONE_AFTER_RESTORE
            ),
            A::KeepAndFlag(GONE_AFTER_RESTORE)
        );
    }

    #[test]
    fn every_pending_op_that_moves_the_status_guards_it() {
        // Hole 7: the customer declined the quote here (the job went to
        // unable_to_complete with the decision); head office, not knowing yet, sends the
        // job as on site. The local status stays until the decision is acknowledged.
        let me = Uuid::from_u128(1);
        let store_view = |pending: &[&str]| onsite_store::sync::LocalOrder {
            status: UnableToComplete,
            technician_id: me.to_string(),
            pending_kinds: pending.iter().map(|k| (*k).to_owned()).collect(),
            has_local_facts: true,
            notes_edited: false,
            pulled: true,
        };
        use onsite_store::outbox::kind;
        for pending in [
            &[kind::RECORD_QUOTE_DECISION][..],
            &[kind::CHANGE_STATUS],
            &[kind::ISSUE_QUOTE, kind::RECORD_QUOTE_DECISION],
        ] {
            let view = LocalView::from_store(&store_view(pending));
            assert!(
                matches!(
                    merge_work_order(Some(&view), &pulled(Some(me), OnSite, false), me),
                    WorkOrderAction::Upsert {
                        status: UnableToComplete,
                        ..
                    }
                ),
                "{pending:?}"
            );
        }
        // Nothing pending that moves the status: head office's status is taken.
        let view = LocalView::from_store(&store_view(&[kind::ISSUE_QUOTE]));
        assert!(matches!(
            merge_work_order(Some(&view), &pulled(Some(me), OnSite, false), me),
            WorkOrderAction::Upsert { status: OnSite, .. }
        ));
    }
}
