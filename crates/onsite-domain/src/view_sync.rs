//! Sync with head office as the UI sees it (issue 5): enrolment, the sync screen (last
//! success, what is pending, what head office refused and why, jobs flagged for review),
//! a run's progress, and the day-end check. They cross the IPC boundary, so each derives
//! `TS`. Times are RFC 3339 UTC strings as the store keeps them. No token ever appears
//! here.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The enrolment form: where head office is and the one-time code it issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EnrolForm {
    /// `https://…` address of head office.
    pub server_url: String,
    /// The one-time code (dashes and spaces are ignored by head office).
    pub code: String,
    /// A label head office shows for this device ("Van 3 laptop").
    pub device_name: String,
    /// Head office's own CA certificate (PEM), trusted besides the system's roots.
    pub ca_pem: Option<String>,
}

/// What a sync run is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhaseView {
    Starting,
    Uploading,
    Pushing,
    Pulling,
}

/// A run in progress: its phase and its counts so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncProgressView {
    pub phase: SyncPhaseView,
    /// Ops waiting when the run started.
    pub pending_at_start: u32,
    pub blobs_uploaded: u32,
    pub ops_sent: u32,
    pub pages_pulled: u32,
    pub changes_received: u32,
}

/// What the last finished run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncRunView {
    pub finished_at: String,
    pub ok: bool,
    pub blobs_uploaded: u32,
    pub ops_applied: u32,
    pub ops_rejected: u32,
    pub ops_flagged: u32,
    pub changes_received: u32,
    /// The queue stopped at an op this device cannot send (its kind and why).
    pub blocked: Option<String>,
}

/// Why sync is not running on its own now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncHealth {
    /// Not enrolled with a head office.
    NotEnrolled,
    /// The last run worked.
    Ok,
    /// Head office could not be reached or failed; retrying on a backoff schedule.
    Retrying,
    /// Head office no longer knows this device (revoked): enrol again.
    NeedsEnrolment,
    /// Retrying will not help (a fault on one side): the error says which.
    Failing,
}

/// What kind of file could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum UnsentFileKind {
    Photo,
    Signature,
    Document,
}

/// Why a file could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum UnsentWhy {
    /// This device no longer has it.
    Missing,
    /// Its bytes no longer match what was recorded.
    Damaged,
    /// It is larger than head office accepts.
    TooLarge,
}

/// A file a record referenced that could not be sent to head office: the record went
/// without it (a photo does not hold its fact back), so head office will never see it
/// unless someone sends it by other means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UnsentFileView {
    pub sha256: String,
    /// The record (outbox op) that referenced it.
    pub op_id: String,
    pub kind: UnsentFileKind,
    pub why: UnsentWhy,
    pub work_order_id: Option<String>,
    pub order_no: Option<String>,
    /// When a sync first and last found it could not be sent.
    pub first_at: String,
    pub last_at: String,
}

/// An op waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PendingOpView {
    #[ts(type = "number")]
    pub device_seq: i64,
    pub op_id: String,
    pub kind: String,
    pub work_order_id: String,
    pub order_no: Option<String>,
    pub created_at: String,
    /// Why the last sync could not send it (a file missing or damaged here, too large, a
    /// kind head office does not take yet); none when it simply has not gone yet.
    pub waiting: Option<String>,
    /// It waits for head office to be upgraded (nothing to do here).
    pub held: bool,
}

/// An op head office refused, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RejectedOpView {
    #[ts(type = "number")]
    pub device_seq: i64,
    pub op_id: String,
    pub kind: String,
    pub work_order_id: String,
    pub order_no: Option<String>,
    pub code: String,
    pub reason: String,
    pub at: String,
}

/// A job flagged for head office's review (cancelled or reassigned while worked on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReviewFlagView {
    pub work_order_id: String,
    pub order_no: Option<String>,
    pub reason: String,
    pub created_at: String,
}

/// The sync screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncView {
    pub enrolled: bool,
    pub server_url: Option<String>,
    pub technician_name: Option<String>,
    /// Head office's certificate pinned at enrolment, as people compare it
    /// (`AB:CD:…`, SHA-256 of its DER): any other certificate is refused.
    pub certificate: Option<String>,
    pub health: SyncHealth,
    pub running: Option<SyncProgressView>,
    pub last_success_at: Option<String>,
    pub last_attempt_at: Option<String>,
    /// The last failure, in English for support.
    pub last_error: Option<String>,
    /// The last failure of this session, for the UI to explain in the user's language.
    pub last_error_code: Option<crate::ipc::ErrorCode>,
    /// When the background sync tries next (none when it waits for enrolment).
    pub next_attempt_at: Option<String>,
    pub last_run: Option<SyncRunView>,
    pub pending: Vec<PendingOpView>,
    #[ts(type = "number")]
    pub unsent_files: i64,
    /// Files that could not be sent and will not be by a later sync (counted in
    /// `unsent_files` until dismissed).
    pub unsent: Vec<UnsentFileView>,
    pub rejected: Vec<RejectedOpView>,
    pub review: Vec<ReviewFlagView>,
    /// When this device erased its customer data because head office marked it lost
    /// (issue 11); none otherwise.
    pub erased_at: Option<String>,
    /// Records that could not be sent before the erase (lost with it).
    #[ts(type = "number")]
    pub erased_unsent: u64,
}

/// The check before closing the day: what has not reached head office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DayEndCheck {
    pub enrolled: bool,
    #[ts(type = "number")]
    pub unsent_ops: i64,
    #[ts(type = "number")]
    pub unsent_files: i64,
    #[ts(type = "number")]
    pub rejected_ops: i64,
    pub last_success_at: Option<String>,
}

impl DayEndCheck {
    /// True when closing the day now would leave something recorded here unsent.
    pub fn anything_unsent(&self) -> bool {
        !self.enrolled || self.unsent_ops > 0 || self.unsent_files > 0
    }
}
