//! The sync protocol between a technician's device and head office.
//!
//! 1. **Enrol** once: `POST /v1/enroll` with a one-time code from head office gives the
//!    device its own bearer token ([`EnrollRequest`], [`EnrollReply`]).
//! 2. **Blobs** first: `HEAD /v1/blobs/{sha256}`; if 404, `PUT` the raw bytes. The server
//!    checks the bytes hash to the path's SHA-256 (400 `hash_mismatch` otherwise) and the
//!    size ([`crate::limits::MAX_BLOB_BYTES`], 413). 201 = stored now, 200 = already there
//!    ([`BlobPutReply`]). An op that references a blob is pushed only after this.
//! 3. **Push** the outbox in `device_seq` order ([`PushRequest`]). Each op gets an
//!    [`OpResult`]: applied, or rejected with a reason; `duplicate: true` says the op was
//!    seen before and the result is the stored one. Store each result. A transient failure
//!    is a `503` with `Retry-After` (seconds) and an [`crate::ErrorBody`] with code
//!    `unavailable`: ops before the failing one were applied, and re-sending the whole batch
//!    is safe (they come back as duplicates).
//! 4. **Pull** `GET /v1/sync/pull?cursor=` ([`PullReply`]) until `has_more` is false, saving
//!    each page's changes and its `cursor` in one local transaction. When `reset` is true the
//!    server did not recognise the cursor (another server, or a new epoch after a restore
//!    from backup): drop the local mirror of server state, apply this page as the start of
//!    a full refetch, and re-send every op not yet acknowledged.

use chrono::{DateTime, NaiveDate, Utc};
use onsite_domain::carryback::CarryBackState;
use onsite_domain::rules::{LineStatus, RecordedExclusion};
use onsite_domain::{Money, WorkOrderStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::admin::{CompanyProfile, FeeTable, PartsCatalogue, PartsIssue, PriceList, WorkOrder};

// ---------------------------------------------------------------------------------------
// Enrolment

/// `POST /v1/enroll`: trade a one-time enrolment code for a device token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollRequest {
    /// The one-time code head office issued for this technician (case-insensitive,
    /// dashes and spaces ignored).
    pub code: String,
    /// A label for the device, shown to head office (e.g. "Van 3 laptop"). 1–100 chars.
    pub device_name: String,
}

/// Reply to [`EnrollRequest`]. The code is spent; keep the token secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollReply {
    /// The id head office gave this device.
    pub device_id: Uuid,
    /// The technician this device works for; it sees only this technician's work.
    pub technician_id: Uuid,
    /// The technician's display name.
    pub technician_name: String,
    /// The bearer token for every further request: `Authorization: Bearer <token>`.
    /// Shown once; the server keeps only its hash.
    pub token: String,
    /// The server's current epoch (see [`PullReply::epoch`]).
    pub epoch: String,
    /// This head office's lasting identity: made once with its database, kept through
    /// restores from backups, epochs and changes of address. A device re-enrolling with
    /// the same head office keeps its sync history; with another, it starts afresh.
    /// Absent from servers before protocol 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Protocol versions

/// The sync protocol this build speaks. 1: the first release (frozen in onsite-hq's
/// `tests/protocol1`). 2: [`Hello`], pull checkpoints, refused ops kept and decided again,
/// [`EnrollReply::server_id`].
pub const PROTOCOL: u32 = 2;

/// Optional parts of the wire format a head office may or may not take. A device holds an
/// op that needs one its head office does not name (instead of having it refused) and
/// sends it once head office is upgraded.
pub mod features {
    /// Pulls take a `checkpoint`; push and pull replies carry one.
    pub const PULL_CHECKPOINT: &str = "pull_checkpoint";
    /// Refused ops are kept whole and decided again when sent again.
    pub const REFUSED_KEPT: &str = "refused_kept";
    /// An op may come without the file it references ([`super::Op::file_missing`]).
    pub const FILE_MISSING: &str = "file_missing";
    /// The `qr` payment method ([`super::PaymentMethod::Qr`]); a head office without it
    /// gets QR payments as `card`, as before (issue 9, hole 14).
    pub const PAYMENT_QR: &str = "payment_qr";
    /// `POST /v1/sync/blobs/missing` ([`super::BlobCheck`]): one request asks which of many
    /// blobs head office lacks, instead of a `HEAD` per blob. A device whose head office
    /// does not name it asks with `HEAD` as before.
    pub const BLOBS_MISSING: &str = "blobs_missing";
    /// Every feature this build speaks.
    pub const ALL: &[&str] = &[
        PULL_CHECKPOINT,
        REFUSED_KEPT,
        FILE_MISSING,
        PAYMENT_QR,
        BLOBS_MISSING,
    ];
}

/// The `Content-Encoding`s of request bodies (and, through `Accept-Encoding`, of replies)
/// head office takes besides plain bytes.
pub mod encodings {
    /// Zstandard (RFC 8878): what a device compresses its pushes with.
    pub const ZSTD: &str = "zstd";
    /// gzip (RFC 1952), for other clients.
    pub const GZIP: &str = "gzip";
    /// Every encoding this build's head office decompresses, preferred first.
    pub const ALL: &[&str] = &[ZSTD, GZIP];
}

/// `GET /v1/sync/hello`: what head office speaks. Asked at the start of every sync run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hello {
    /// Its protocol version ([`PROTOCOL`]).
    pub protocol: u32,
    /// Its current epoch ([`PullReply::epoch`]); empty when not told.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub epoch: String,
    /// The op kinds it takes ([`Op::kind`] texts).
    pub op_kinds: Vec<String>,
    /// The change-item types it can send ([`ChangeItem::TYPES`]).
    pub change_items: Vec<String>,
    /// The optional parts of the wire format it takes ([`features`]).
    pub features: Vec<String>,
    /// The newest commit every backup head office could still be restored from holds
    /// (`<seq>:<tag>`), when its operator declared one: a device may forget records head
    /// office acknowledged at or before it, since no restore can lose them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_horizon: Option<String>,
    /// True when the device named a commit (`?checkpoint=`) this database does not hold:
    /// head office lost history (restored from a backup). Asked before anything is pushed,
    /// so that what was lost is re-sent in the order it was recorded, before newer records.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub history_lost: bool,
    /// How many days after a job closed the device keeps it ([`retention`]). Absent from
    /// head offices before retention: the device then uses [`retention::DEFAULT_DAYS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// True when the office marked this device lost: it pushes what it holds unsent, then
    /// erases its customer data and files and says so ([`ErasedReport`],
    /// `POST /v1/sync/erased`). Omitted when false (older devices never see it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub erase: bool,
    /// The `Content-Encoding`s head office decompresses on request bodies ([`encodings`]),
    /// preferred first: a device compresses its pushes with one of them. Absent from head
    /// offices before compression: the device then sends every body plain. (Replies are
    /// compressed when the request's `Accept-Encoding` allows, whatever this says.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_encodings: Vec<String>,
}

/// `POST /v1/sync/erased`: what a device marked lost erased (counts only, never customer
/// data). Head office records it and revokes the device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErasedReport {
    /// When the device erased (its clock).
    pub erased_at: DateTime<Utc>,
    /// Work orders removed.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub work_orders: u64,
    /// Customers removed.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub customers: u64,
    /// Outbox records removed (sent or not).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub records: u64,
    /// Records that were still unsent when it erased (they could not be sent: refused
    /// for good, a file missing, held for a head-office upgrade). Lost with the device.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub unsent: u64,
    /// Blob files (signatures, photos, documents) deleted.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub files: u64,
}

/// How long a device keeps closed jobs (issue 11). Head office sets the number of days
/// (`PUT /v1/admin/settings/retention`) and names it in every [`Hello`]; a device removes
/// a job closed longer ago than that once every record of it is acknowledged.
pub mod retention {
    /// What a device uses when its head office does not say (an older head office).
    pub const DEFAULT_DAYS: u32 = 90;
    /// The shortest period head office accepts: a week of being offline loses nothing.
    pub const MIN_DAYS: u32 = 7;
    /// The longest period head office accepts (about ten years).
    pub const MAX_DAYS: u32 = 3650;

    /// Whether head office accepts `days` as its retention period.
    pub fn valid(days: u32) -> bool {
        (MIN_DAYS..=MAX_DAYS).contains(&days)
    }
}

impl Hello {
    /// What this build speaks.
    pub fn current() -> Hello {
        Hello {
            protocol: PROTOCOL,
            epoch: String::new(),
            op_kinds: OpKind::ALL.iter().map(|k| k.as_str().to_owned()).collect(),
            change_items: ChangeItem::TYPES.iter().map(|t| (*t).to_owned()).collect(),
            features: features::ALL.iter().map(|f| (*f).to_owned()).collect(),
            restore_horizon: None,
            history_lost: false,
            retention_days: None,
            erase: false,
            request_encodings: encodings::ALL.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    /// A head office of protocol 1, which has no hello (404): the kinds and item types of
    /// the first release, no optional features.
    pub fn protocol1() -> Hello {
        Hello {
            protocol: 1,
            epoch: String::new(),
            op_kinds: PROTOCOL1_KINDS.iter().map(|k| (*k).to_owned()).collect(),
            change_items: ChangeItem::TYPES.iter().map(|t| (*t).to_owned()).collect(),
            features: Vec::new(),
            restore_horizon: None,
            history_lost: false,
            retention_days: None,
            erase: false,
            request_encodings: Vec::new(),
        }
    }

    /// Whether head office names `feature` ([`features`]).
    pub fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// Why head office cannot take `op` as it is (it does not know its kind, or a part of
    /// the wire format its payload uses), `None` when it can.
    pub fn cannot_take(&self, op: &Op) -> Option<String> {
        if !self.op_kinds.iter().any(|k| k == &op.kind) {
            return Some(format!("head office does not know {} records yet", op.kind));
        }
        op_needs(&op.kind, &op.payload)
            .into_iter()
            .chain(op.file_missing.is_some().then_some(features::FILE_MISSING))
            .find(|f| !self.features.iter().any(|g| g == f))
            .map(|f| format!("head office does not take {f} yet"))
    }
}

/// The op kinds of protocol 1.
pub const PROTOCOL1_KINDS: [&str; 18] = [
    "change_status",
    "record_work",
    "consume_part",
    "attach_signature",
    "attach_document",
    "take_payment",
    "edit_notes",
    "record_diagnosis",
    "issue_quote",
    "record_quote_decision",
    "return_part",
    "stock_take",
    "invoice_later",
    "record_feedback",
    "record_expense",
    "take_carry_back",
    "advance_carry_back",
    "return_carry_back",
];

/// The [`features`] an op's payload needs beyond its kind: a `qr` payment needs
/// [`features::PAYMENT_QR`] (an older head office would refuse it; the device holds it
/// until head office takes it, rather than send it as something it is not). The fields
/// added in protocol 2 are optional: an older head office stores the payload as sent, so
/// they need nothing.
pub fn op_needs(kind: &str, payload: &Value) -> Vec<&'static str> {
    let mut needs = Vec::new();
    if kind == OpKind::TakePayment.as_str() && payload.get("method") == Some(&"qr".into()) {
        needs.push(features::PAYMENT_QR);
    }
    needs
}

// ---------------------------------------------------------------------------------------
// Push

/// `POST /v1/sync/push`: a batch of outbox ops, in strictly increasing `device_seq` order
/// (400 otherwise), at most [`crate::limits::MAX_OPS_PER_PUSH`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    /// The ops, oldest first.
    pub ops: Vec<Op>,
}

/// One outbox row: a technician's fact about a work order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Op {
    /// Born on the device (UUIDv7); the idempotency key: the server stores the result per
    /// (device, op_id) and returns it for every replay.
    pub op_id: Uuid,
    /// The device's outbox sequence number; strictly increasing within a batch.
    pub device_seq: i64,
    /// What the op does: one of [`OpKind`]'s texts. Kept as text so that an op of a kind
    /// this server does not know is rejected alone (`unknown_kind`), not the whole batch.
    pub kind: String,
    /// The work order the op is about.
    pub entity_id: Uuid,
    /// The work order version the device had when the op was recorded (informational: the
    /// technician's facts are append-only and never conflict; stored for review).
    pub base_version: Option<i64>,
    /// The kind's payload ([`OpPayload`] gives the typed forms).
    #[cfg_attr(feature = "openapi", schema(value_type = OpPayload))]
    pub payload: Value,
    /// Set when the technician chose to send the fact without the file it references (a
    /// signature or document lost or damaged on the device): their reason. Head office
    /// stores the fact without the file and flags the job for review
    /// ([`features::FILE_MISSING`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_missing: Option<String>,
}

impl Op {
    /// Builds an op from a typed payload.
    pub fn new(
        op_id: Uuid,
        device_seq: i64,
        entity_id: Uuid,
        base_version: Option<i64>,
        payload: &OpPayload,
    ) -> Op {
        Op {
            op_id,
            device_seq,
            kind: payload.kind().as_str().to_owned(),
            entity_id,
            base_version,
            payload: payload.to_value(),
            file_missing: None,
        }
    }
}

/// The kinds of op a device may push. All are technician facts: append-only, each with a
/// client-generated `fact_id`, never dropped by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// [`StatusChange`].
    ChangeStatus,
    /// [`WorkDone`].
    RecordWork,
    /// [`PartUsed`].
    ConsumePart,
    /// [`Signature`].
    AttachSignature,
    /// [`Document`].
    AttachDocument,
    /// [`Payment`].
    TakePayment,
    /// [`NotesEdit`].
    EditNotes,
    /// [`Diagnosis`].
    RecordDiagnosis,
    /// [`QuoteIssued`].
    IssueQuote,
    /// [`QuoteDecision`].
    RecordQuoteDecision,
    /// [`PartReturn`].
    ReturnPart,
    /// [`StockTake`] (per technician and day, not per work order).
    StockTake,
    /// [`InvoiceLater`].
    InvoiceLater,
    /// [`Feedback`].
    RecordFeedback,
    /// [`Expense`] (per technician and day, not per work order).
    RecordExpense,
    /// [`CarryBackTaken`].
    TakeCarryBack,
    /// [`CarryBackAdvanced`].
    AdvanceCarryBack,
    /// [`CarryBackReturned`].
    ReturnCarryBack,
    /// [`Addendum`]. New in this build: a head office whose hello does not name it gets
    /// none (the device holds them until it does).
    AddAddendum,
}

impl OpKind {
    /// Every kind.
    pub const ALL: &'static [OpKind] = &[
        OpKind::ChangeStatus,
        OpKind::RecordWork,
        OpKind::ConsumePart,
        OpKind::AttachSignature,
        OpKind::AttachDocument,
        OpKind::TakePayment,
        OpKind::EditNotes,
        OpKind::RecordDiagnosis,
        OpKind::IssueQuote,
        OpKind::RecordQuoteDecision,
        OpKind::ReturnPart,
        OpKind::StockTake,
        OpKind::InvoiceLater,
        OpKind::RecordFeedback,
        OpKind::RecordExpense,
        OpKind::TakeCarryBack,
        OpKind::AdvanceCarryBack,
        OpKind::ReturnCarryBack,
        OpKind::AddAddendum,
    ];

    /// The text used in [`Op::kind`].
    pub const fn as_str(self) -> &'static str {
        match self {
            OpKind::ChangeStatus => "change_status",
            OpKind::RecordWork => "record_work",
            OpKind::ConsumePart => "consume_part",
            OpKind::AttachSignature => "attach_signature",
            OpKind::AttachDocument => "attach_document",
            OpKind::TakePayment => "take_payment",
            OpKind::EditNotes => "edit_notes",
            OpKind::RecordDiagnosis => "record_diagnosis",
            OpKind::IssueQuote => "issue_quote",
            OpKind::RecordQuoteDecision => "record_quote_decision",
            OpKind::ReturnPart => "return_part",
            OpKind::StockTake => "stock_take",
            OpKind::InvoiceLater => "invoice_later",
            OpKind::RecordFeedback => "record_feedback",
            OpKind::RecordExpense => "record_expense",
            OpKind::TakeCarryBack => "take_carry_back",
            OpKind::AdvanceCarryBack => "advance_carry_back",
            OpKind::ReturnCarryBack => "return_carry_back",
            OpKind::AddAddendum => "add_addendum",
        }
    }

    /// True for the kinds that belong to the technician's day rather than to a work order
    /// (van stock-take, expenses): their [`Op::entity_id`] is not a work order (the
    /// server attributes them to the device's technician and ignores it).
    pub const fn is_technician_day(self) -> bool {
        matches!(self, OpKind::StockTake | OpKind::RecordExpense)
    }

    /// The kind for a text, if known.
    pub fn parse(text: &str) -> Option<OpKind> {
        OpKind::ALL.iter().copied().find(|k| k.as_str() == text)
    }
}

/// The technician moved the work order to another status (en route, on site, in progress,
/// completed, unable to complete). Recorded even when head office cancelled or reassigned
/// the job meanwhile (then the job is flagged for review and its status left as is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The status the device left (as the technician saw it); absent from older devices.
    /// Informational: head office applies `to` against its own status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::WorkOrderStatus>))]
    pub from: Option<WorkOrderStatus>,
    /// The new status.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::WorkOrderStatus))]
    pub to: WorkOrderStatus,
    /// Required (non-blank) for `unable_to_complete`.
    pub reason: Option<String>,
    /// When it happened on the device's clock.
    pub at: DateTime<Utc>,
}

/// Work done, priced by the fee table in force when it was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkDone {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The fee-table item code (e.g. `RELOCATE_MAINT`).
    pub service_code: String,
    /// What was done, in the technician's words.
    pub description: String,
    /// The fee-table version the price was taken from.
    pub fee_table_version: i64,
    /// What the customer is charged for this work (zero under warranty or contract).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub charge: Money,
    /// True when the work is free under warranty.
    pub warranty: bool,
    /// When it was done.
    pub at: DateTime<Utc>,
}

/// A part taken from the van and fitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartUsed {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// Catalogue part number.
    pub part_no: String,
    /// How many (at least 1).
    pub quantity: u32,
    /// Serial number of a traceable part.
    pub serial_no: Option<String>,
    /// Unit price charged (zero under warranty). Absent when the device could not tell it
    /// (the part was taken against a quote that was superseded before the sync): the price
    /// is then the line for `part_no` of the quote `quote_id` ([`QuoteIssued`]).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Money>))]
    pub unit_price: Option<Money>,
    /// The price-list version the price was taken from.
    pub price_list_version: Option<i64>,
    /// The quote the part was taken against (the visit takes parts only as quoted).
    #[serde(default)]
    pub quote_id: Option<Uuid>,
    /// Serial number of the part removed from the appliance (traceable parts).
    #[serde(default)]
    pub serial_removed: Option<String>,
    /// Set when the technician took the part although the van's stock said there was
    /// none left: their reason.
    #[serde(default)]
    pub stock_override_reason: Option<String>,
    /// The device's id of this part use (an old part's return names it); absent from
    /// older devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_use_id: Option<Uuid>,
    /// The part's id in the device's catalogue; absent from older devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_id: Option<String>,
    /// The van's stock of the part after this use, as the device's ledger had it (negative
    /// when taken with a stock override); absent from older devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_after: Option<i64>,
    /// True when the part is fitted under warranty.
    pub warranty: bool,
    /// When it was fitted.
    pub at: DateTime<Utc>,
}

/// Who signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Signer {
    /// The customer signing the work order off.
    Customer,
    /// The technician.
    Technician,
}

/// A signature image, uploaded before as a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signature {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// SHA-256 (lowercase hex) of the uploaded image; must be on the server already.
    pub blob_sha256: String,
    /// Who signed.
    pub signer: Signer,
    /// The name the signer typed (absent from older devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_name: Option<String>,
    /// SHA-256 (lowercase hex) of the job's content the signature vouches for
    /// (`onsite_domain::signoff::SignedContent`, docs/signatures.md); absent from older
    /// devices. Head office recomputes it from the job and the facts it holds and flags a
    /// mismatch for review (`signature_mismatch`); the signature is stored either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// The device's id of the signature (absent from older devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_id: Option<Uuid>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A document or photo (work-order PDF, quote, receipt, photo), uploaded before as a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// SHA-256 (lowercase hex) of the uploaded bytes; must be on the server already.
    pub blob_sha256: String,
    /// What it is: free text such as `work_order_pdf`, `quote`, `receipt`, `photo`.
    pub doc_type: String,
    /// MIME type, e.g. `application/pdf`, `image/png`.
    pub content_type: String,
    /// The document's language (`zh-CN`, `en`), absent from older devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Its size in bytes, absent from older devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// When.
    pub at: DateTime<Utc>,
}

/// How the customer paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Cash taken on the spot, handed to finance later.
    Cash,
    /// Card payment on the spot.
    Card,
    /// Bank transfer.
    Transfer,
    /// Invoiced now, collected later.
    InvoiceLater,
    /// A QR-code (mobile) payment on the spot. New: a head office older than this build
    /// refuses it (`bad_payload`), so the device holds it until head office's hello names
    /// [`features::PAYMENT_QR`].
    Qr,
}

/// Money taken (or invoiced) on site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payment {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The amount (positive).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub amount: Money,
    /// How.
    pub method: PaymentMethod,
    /// The receipt's number, if one was issued.
    pub receipt_no: Option<String>,
    /// The device's id of the payment (absent from older devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<Uuid>,
    /// Cash: what the customer handed over (absent from older devices and for other methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Money>))]
    pub tendered: Option<Money>,
    /// Cash: the change given back (absent from older devices and for other methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::Money>))]
    pub change: Option<Money>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The technician's own notes on the work order, replacing their earlier notes. A
/// technician fact like the others (kept, never conflicting); head office's notes for the
/// technician ([`crate::WorkOrder::notes`]) are separate and not changed by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotesEdit {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The notes as the technician left them (may be empty: notes cleared).
    pub notes: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A note the technician added after the job was closed (completed or unable to
/// complete). Not part of the content the customer signed: it changes neither the notes
/// nor the signature's validity. Append-only, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Addendum {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The device's id of the addendum.
    pub addendum_id: Uuid,
    /// The note (1 to 2,000 characters, trimmed).
    pub text: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The technician's diagnosis (the latest one is the job's current diagnosis).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Diagnosis {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The device's id of the diagnosis.
    pub diagnosis_id: Uuid,
    /// The fault found, in the technician's words.
    pub fault_found: String,
    /// The warranty components concerned, by code.
    pub components: Vec<String>,
    /// Warranty exclusions the technician recorded (misuse, force majeure, …), on one
    /// component or the whole appliance.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::schema::RecordedExclusion>))]
    pub exclusions: Vec<RecordedExclusion>,
    /// The technician's notes.
    pub notes: String,
    /// Photos taken, by SHA-256. The device uploads each as a blob before the op when it
    /// still has it; a photo lost on the device does not hold the op back, so a reference
    /// may have no blob at head office.
    pub photos: Vec<PhotoRef>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A photo by content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoRef {
    /// SHA-256 (lowercase hex).
    pub sha256: String,
    /// Media type, e.g. `image/jpeg`.
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
}

/// A quote issued to the customer: the priced snapshot as shown, stamped with the
/// fee-table version it was priced with. A later quote on the same job supersedes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuoteIssued {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The device's id of the quote (referenced by decisions, part uses and returns).
    pub quote_id: Uuid,
    /// The fee table's id as the device has it (informational).
    pub fee_table_id: Option<String>,
    /// The fee-table version in force on the work date, used for every price below.
    pub fee_table_version: i64,
    /// The visit date.
    pub visit_date: NaiveDate,
    /// The date the work is done (selects the fee-table version).
    pub work_date: NaiveDate,
    /// The priced lines (1 to 200).
    pub lines: Vec<QuotedLine>,
    /// Sum of the lines' amounts, whoever pays.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub gross: Money,
    /// Covered by warranty or contract.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub covered: Money,
    /// Held as deposits until old parts come back.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub deposit: Money,
    /// Charged to the customer.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub charged: Money,
    /// Due from the customer.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub due: Money,
    /// When it was issued.
    pub at: DateTime<Utc>,
}

/// One priced line of a [`QuoteIssued`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotedLine {
    /// Fee-table item code or part number.
    pub code: String,
    /// How many (at least 1).
    pub quantity: u32,
    /// Unit price from the fee table (or set by the technician for open-priced items).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub unit_price: Money,
    /// Covered, charged, or held as a deposit.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::LineStatus))]
    pub status: LineStatus,
    /// What the customer pays for this line (zero when covered).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub charged: Money,
}

/// The customer's answer to a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QuoteAnswer {
    /// Go ahead.
    Accepted,
    /// No: the visit ends (`unable_to_complete`), the call-out fee (if any) is due.
    Declined,
}

/// The customer accepted or declined a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuoteDecision {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The quote ([`QuoteIssued::quote_id`]).
    pub quote_id: Uuid,
    /// The answer.
    pub decision: QuoteAnswer,
    /// Declined: the status the job had on the device before this decision (absent from
    /// older devices; informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::WorkOrderStatus>))]
    pub status_from: Option<WorkOrderStatus>,
    /// Declined: the status the device moved the job to with this decision
    /// (`unable_to_complete`); head office applies it like a [`StatusChange`].
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::schema::WorkOrderStatus>))]
    pub status_to: Option<WorkOrderStatus>,
    /// Declined: the reason (`quote_declined`).
    pub reason: Option<String>,
    /// Declined: the call-out fee due (zero otherwise).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub callout: Money,
    /// When.
    pub at: DateTime<Utc>,
}

/// What kind of part goes back to the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReturnKind {
    /// Unused stock leaving the van.
    Unused,
    /// The old part removed from the appliance (may reverse a deposit).
    Old,
}

/// Parts marked to go back to the warehouse. An unused return need not concern a job:
/// then `work_order_id` is absent and the fact belongs to the technician's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartReturn {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The device's id of the return.
    pub return_id: Uuid,
    /// Unused stock or old part.
    pub return_kind: ReturnKind,
    /// The part's id in the device's catalogue.
    pub part_id: String,
    /// How many (at least 1).
    pub quantity: u32,
    /// The job it concerns, if any (always for an old part).
    pub work_order_id: Option<Uuid>,
    /// Old part: the part use that replaced it.
    pub part_use_id: Option<Uuid>,
    /// Old part: its serial number.
    pub serial: Option<String>,
    /// Old part: the quote whose deposit line was reversed, if one was.
    pub quote_id: Option<Uuid>,
    /// Old part: the index of the reversed line in that quote.
    pub reversed_line: Option<u32>,
    /// Old part: the deposit given back to the customer (zero if none).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub reversed: Money,
    /// The technician's local calendar day when it was recorded (what they saw on the
    /// device). An unused return without a job is filed under it; absent from older
    /// devices, which are filed under the UTC date of `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<NaiveDate>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A count of the van's stock. Per technician and day, not per work order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockTake {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The device's id of the stock-take.
    pub stock_take_id: Uuid,
    /// The parts counted (1 to 10,000).
    pub lines: Vec<StockTakeLine>,
    /// The technician's local calendar day when they counted (what they saw on the
    /// device): the day the stock-take is filed under. Absent from older devices: then the
    /// UTC date of `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<NaiveDate>,
    /// When.
    pub at: DateTime<Utc>,
}

/// One part of a [`StockTake`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockTakeLine {
    /// The part's id in the device's catalogue.
    pub part_id: String,
    /// What the van's ledger said.
    pub expected: i64,
    /// What was counted (at least 0).
    pub counted: i64,
    /// `counted - expected`.
    pub difference: i64,
}

/// The job's outstanding balance is to be invoiced and collected later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceLater {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The amount to invoice (positive).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub amount: Money,
    /// When.
    pub at: DateTime<Utc>,
}

/// The customer's feedback after the work (the latest recorded counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feedback {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// 1 to 5.
    pub rating: u8,
    /// The customer's comment (may be empty).
    pub comment: String,
    /// Whether head office may call the customer back.
    pub callback_allowed: bool,
    /// When.
    pub at: DateTime<Utc>,
}

/// The technician's expenses for one day, at the rates the device had. Per technician and
/// day, not per work order; recording the same day again replaces it (the latest `at`
/// counts, earlier ones are kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Expense {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The day the expenses are for.
    pub day: NaiveDate,
    /// Kilometres driven in the technician's own vehicle.
    pub km: i64,
    /// Person-days of meals.
    pub meal_days: i64,
    /// Room-nights of lodging.
    pub nights: i64,
    /// Rate per kilometre.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub per_km: Money,
    /// Rate per meal day.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub meal_per_day: Money,
    /// Rate per night.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub lodging_per_night: Money,
    /// `km × per_km`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub mileage: Money,
    /// `meal_days × meal_per_day`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub meals: Money,
    /// `nights × lodging_per_night`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub lodging: Money,
    /// The day's total.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Money))]
    pub total: Money,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// Carry-back (the appliance goes to the workshop): the technician takes it against a
/// signed receipt. Opens the item's goods in/out log in state `taken`. The customer's
/// signature PNG is uploaded before as a blob (`png_sha256`); the photos are uploaded
/// before it too when the device has them (as the diagnosis' are).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CarryBackTaken {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The device's id of the carry-back; the advance and the return name it.
    pub carry_back_id: Uuid,
    /// The receipt's number as printed for the customer (`CB-YYYYMMDD-XXXXXXXX`).
    pub receipt_no: String,
    /// What was taken (1 to 200 characters).
    pub item: String,
    /// Its serial number, if it has one.
    pub serial_no: Option<String>,
    /// Accessories taken with it (at most 50).
    pub accessories: Vec<String>,
    /// Its condition when taken (scratches, dents), as noted on the receipt.
    pub condition: String,
    /// The fault it goes to the workshop for.
    pub fault: String,
    /// The return date promised on the receipt.
    pub expected_return: NaiveDate,
    /// SHA-256 (lowercase hex) of each photo taken (at most 20); uploaded as blobs when
    /// the device has them.
    pub photos: Vec<String>,
    /// Who signed the receipt for the customer.
    pub signer_name: String,
    /// SHA-256 (lowercase hex) of the signature PNG; must be on the server already.
    pub png_sha256: String,
    /// When it was taken.
    pub at: DateTime<Utc>,
}

/// A carry-back moved one step along its goods in/out log: `taken` → `at_workshop` →
/// `repaired` (the return is [`CarryBackReturned`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CarryBackAdvanced {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The carry-back ([`CarryBackTaken::carry_back_id`]).
    pub carry_back_id: Uuid,
    /// The state it left.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CarryBackState))]
    pub from: CarryBackState,
    /// The state it reached (the step after `from`, never `returned`).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CarryBackState))]
    pub to: CarryBackState,
    /// When.
    pub at: DateTime<Utc>,
}

/// A repaired carry-back handed back to the customer: the receipt collected, or its loss
/// recorded with a note; the customer signs again. Closes the log (`returned`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CarryBackReturned {
    /// Client id of the fact.
    pub fact_id: Uuid,
    /// The carry-back ([`CarryBackTaken::carry_back_id`]).
    pub carry_back_id: Uuid,
    /// True when the customer handed the receipt back.
    pub receipt_collected: bool,
    /// Why the receipt is missing (required, non-blank, when it was not collected; absent
    /// otherwise).
    pub receipt_lost_note: Option<String>,
    /// Who signed for the appliance.
    pub signer_name: String,
    /// SHA-256 (lowercase hex) of the signature PNG; must be on the server already.
    pub png_sha256: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The typed payload of an [`Op`], one variant per [`OpKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpPayload {
    /// `change_status`.
    ChangeStatus(StatusChange),
    /// `record_work`.
    RecordWork(WorkDone),
    /// `consume_part`.
    ConsumePart(PartUsed),
    /// `attach_signature`.
    AttachSignature(Signature),
    /// `attach_document`.
    AttachDocument(Document),
    /// `take_payment`.
    TakePayment(Payment),
    /// `edit_notes`.
    EditNotes(NotesEdit),
    /// `record_diagnosis`.
    RecordDiagnosis(Diagnosis),
    /// `issue_quote`.
    IssueQuote(QuoteIssued),
    /// `record_quote_decision`.
    RecordQuoteDecision(QuoteDecision),
    /// `return_part`.
    ReturnPart(PartReturn),
    /// `stock_take`.
    StockTake(StockTake),
    /// `invoice_later`.
    InvoiceLater(InvoiceLater),
    /// `record_feedback`.
    RecordFeedback(Feedback),
    /// `record_expense`.
    RecordExpense(Expense),
    /// `take_carry_back`.
    TakeCarryBack(CarryBackTaken),
    /// `advance_carry_back`.
    AdvanceCarryBack(CarryBackAdvanced),
    /// `return_carry_back`.
    ReturnCarryBack(CarryBackReturned),
    /// `add_addendum`.
    AddAddendum(Addendum),
}

/// `OpPayload` is not a serde type: [`Op::kind`] says which payload [`Op::payload`]
/// holds, so utoipa cannot derive its schema. Written by hand: any one of the kinds'
/// payloads (`anyOf`; a schema cannot look at the sibling `kind`), each of them derived.
/// [`OpKind::payload_schema_name`] names the one a kind takes.
#[cfg(feature = "openapi")]
mod payload_schema {
    use super::*;
    use utoipa::openapi::schema::{AnyOfBuilder, Schema};
    use utoipa::openapi::{Ref, RefOr};
    use utoipa::{PartialSchema, ToSchema};

    /// Calls `$f::<T>` for each payload type, in [`OpKind::ALL`] order.
    macro_rules! each_payload {
        ($f:ident, $arg:expr) => {{
            $f::<StatusChange>($arg);
            $f::<WorkDone>($arg);
            $f::<PartUsed>($arg);
            $f::<Signature>($arg);
            $f::<Document>($arg);
            $f::<Payment>($arg);
            $f::<NotesEdit>($arg);
            $f::<Diagnosis>($arg);
            $f::<QuoteIssued>($arg);
            $f::<QuoteDecision>($arg);
            $f::<PartReturn>($arg);
            $f::<StockTake>($arg);
            $f::<InvoiceLater>($arg);
            $f::<Feedback>($arg);
            $f::<Expense>($arg);
            $f::<CarryBackTaken>($arg);
            $f::<CarryBackAdvanced>($arg);
            $f::<CarryBackReturned>($arg);
            $f::<Addendum>($arg);
        }};
    }

    impl OpKind {
        /// The name of the component schema of this kind's payload.
        pub fn payload_schema_name(self) -> String {
            match self {
                OpKind::ChangeStatus => StatusChange::name(),
                OpKind::RecordWork => WorkDone::name(),
                OpKind::ConsumePart => PartUsed::name(),
                OpKind::AttachSignature => Signature::name(),
                OpKind::AttachDocument => Document::name(),
                OpKind::TakePayment => Payment::name(),
                OpKind::EditNotes => NotesEdit::name(),
                OpKind::RecordDiagnosis => Diagnosis::name(),
                OpKind::IssueQuote => QuoteIssued::name(),
                OpKind::RecordQuoteDecision => QuoteDecision::name(),
                OpKind::ReturnPart => PartReturn::name(),
                OpKind::StockTake => StockTake::name(),
                OpKind::InvoiceLater => InvoiceLater::name(),
                OpKind::RecordFeedback => Feedback::name(),
                OpKind::RecordExpense => Expense::name(),
                OpKind::TakeCarryBack => CarryBackTaken::name(),
                OpKind::AdvanceCarryBack => CarryBackAdvanced::name(),
                OpKind::ReturnCarryBack => CarryBackReturned::name(),
                OpKind::AddAddendum => Addendum::name(),
            }
            .into_owned()
        }
    }

    impl PartialSchema for OpPayload {
        fn schema() -> RefOr<Schema> {
            fn push<T: ToSchema>(builder: &mut Option<AnyOfBuilder>) {
                let b = builder.take().unwrap_or_default();
                *builder = Some(b.item(Ref::from_schema_name(T::name())));
            }
            let mut builder = None;
            each_payload!(push, &mut builder);
            let description = OpKind::ALL
                .iter()
                .map(|k| format!("{}: {}", k.as_str(), k.payload_schema_name()))
                .collect::<Vec<_>>()
                .join(", ");
            builder
                .unwrap_or_default()
                .description(Some(format!(
                    "The payload of the op's kind (Op.kind, FactRecord.kind): {description}"
                )))
                .into()
        }
    }

    impl ToSchema for OpPayload {
        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            fn add<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                schemas.push((T::name().into_owned(), T::schema()));
                T::schemas(schemas);
            }
            each_payload!(add, schemas);
        }
    }
}

/// Why a payload could not be read. Carries no payload content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// [`Op::kind`] is not one of [`OpKind`].
    #[error("unknown op kind")]
    UnknownKind,
    /// The payload does not have the kind's shape; the text names the field, not its value.
    #[error("payload does not match the op kind: {0}")]
    Shape(String),
}

impl OpPayload {
    /// The op kind of this payload.
    pub fn kind(&self) -> OpKind {
        match self {
            OpPayload::ChangeStatus(_) => OpKind::ChangeStatus,
            OpPayload::RecordWork(_) => OpKind::RecordWork,
            OpPayload::ConsumePart(_) => OpKind::ConsumePart,
            OpPayload::AttachSignature(_) => OpKind::AttachSignature,
            OpPayload::AttachDocument(_) => OpKind::AttachDocument,
            OpPayload::TakePayment(_) => OpKind::TakePayment,
            OpPayload::EditNotes(_) => OpKind::EditNotes,
            OpPayload::RecordDiagnosis(_) => OpKind::RecordDiagnosis,
            OpPayload::IssueQuote(_) => OpKind::IssueQuote,
            OpPayload::RecordQuoteDecision(_) => OpKind::RecordQuoteDecision,
            OpPayload::ReturnPart(_) => OpKind::ReturnPart,
            OpPayload::StockTake(_) => OpKind::StockTake,
            OpPayload::InvoiceLater(_) => OpKind::InvoiceLater,
            OpPayload::RecordFeedback(_) => OpKind::RecordFeedback,
            OpPayload::RecordExpense(_) => OpKind::RecordExpense,
            OpPayload::TakeCarryBack(_) => OpKind::TakeCarryBack,
            OpPayload::AdvanceCarryBack(_) => OpKind::AdvanceCarryBack,
            OpPayload::ReturnCarryBack(_) => OpKind::ReturnCarryBack,
            OpPayload::AddAddendum(_) => OpKind::AddAddendum,
        }
    }

    /// The client id of the fact.
    pub fn fact_id(&self) -> Uuid {
        match self {
            OpPayload::ChangeStatus(p) => p.fact_id,
            OpPayload::RecordWork(p) => p.fact_id,
            OpPayload::ConsumePart(p) => p.fact_id,
            OpPayload::AttachSignature(p) => p.fact_id,
            OpPayload::AttachDocument(p) => p.fact_id,
            OpPayload::TakePayment(p) => p.fact_id,
            OpPayload::EditNotes(p) => p.fact_id,
            OpPayload::RecordDiagnosis(p) => p.fact_id,
            OpPayload::IssueQuote(p) => p.fact_id,
            OpPayload::RecordQuoteDecision(p) => p.fact_id,
            OpPayload::ReturnPart(p) => p.fact_id,
            OpPayload::StockTake(p) => p.fact_id,
            OpPayload::InvoiceLater(p) => p.fact_id,
            OpPayload::RecordFeedback(p) => p.fact_id,
            OpPayload::RecordExpense(p) => p.fact_id,
            OpPayload::TakeCarryBack(p) => p.fact_id,
            OpPayload::AdvanceCarryBack(p) => p.fact_id,
            OpPayload::ReturnCarryBack(p) => p.fact_id,
            OpPayload::AddAddendum(p) => p.fact_id,
        }
    }

    /// When the fact happened (device clock).
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            OpPayload::ChangeStatus(p) => p.at,
            OpPayload::RecordWork(p) => p.at,
            OpPayload::ConsumePart(p) => p.at,
            OpPayload::AttachSignature(p) => p.at,
            OpPayload::AttachDocument(p) => p.at,
            OpPayload::TakePayment(p) => p.at,
            OpPayload::EditNotes(p) => p.at,
            OpPayload::RecordDiagnosis(p) => p.at,
            OpPayload::IssueQuote(p) => p.at,
            OpPayload::RecordQuoteDecision(p) => p.at,
            OpPayload::ReturnPart(p) => p.at,
            OpPayload::StockTake(p) => p.at,
            OpPayload::InvoiceLater(p) => p.at,
            OpPayload::RecordFeedback(p) => p.at,
            OpPayload::RecordExpense(p) => p.at,
            OpPayload::TakeCarryBack(p) => p.at,
            OpPayload::AdvanceCarryBack(p) => p.at,
            OpPayload::ReturnCarryBack(p) => p.at,
            OpPayload::AddAddendum(p) => p.at,
        }
    }

    /// Photos the fact references (the diagnosis', the carry-back's condition photos):
    /// the device uploads each one it still has before the op; a photo the device lost
    /// does not hold the fact back (unlike [`OpPayload::blob_sha256`]).
    pub fn photo_sha256s(&self) -> Vec<&str> {
        match self {
            OpPayload::RecordDiagnosis(p) => p.photos.iter().map(|ph| ph.sha256.as_str()).collect(),
            OpPayload::TakeCarryBack(p) => p.photos.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// The blob the fact cannot go without, if any (uploaded before the op: a signature
    /// PNG or a document; photos are [`OpPayload::photo_sha256s`]).
    pub fn blob_sha256(&self) -> Option<&str> {
        match self {
            OpPayload::AttachSignature(p) => Some(&p.blob_sha256),
            OpPayload::AttachDocument(p) => Some(&p.blob_sha256),
            OpPayload::TakeCarryBack(p) => Some(&p.png_sha256),
            OpPayload::ReturnCarryBack(p) => Some(&p.png_sha256),
            _ => None,
        }
    }

    /// The JSON form carried in [`Op::payload`].
    pub fn to_value(&self) -> Value {
        let result = match self {
            OpPayload::ChangeStatus(p) => serde_json::to_value(p),
            OpPayload::RecordWork(p) => serde_json::to_value(p),
            OpPayload::ConsumePart(p) => serde_json::to_value(p),
            OpPayload::AttachSignature(p) => serde_json::to_value(p),
            OpPayload::AttachDocument(p) => serde_json::to_value(p),
            OpPayload::TakePayment(p) => serde_json::to_value(p),
            OpPayload::EditNotes(p) => serde_json::to_value(p),
            OpPayload::RecordDiagnosis(p) => serde_json::to_value(p),
            OpPayload::IssueQuote(p) => serde_json::to_value(p),
            OpPayload::RecordQuoteDecision(p) => serde_json::to_value(p),
            OpPayload::ReturnPart(p) => serde_json::to_value(p),
            OpPayload::StockTake(p) => serde_json::to_value(p),
            OpPayload::InvoiceLater(p) => serde_json::to_value(p),
            OpPayload::RecordFeedback(p) => serde_json::to_value(p),
            OpPayload::RecordExpense(p) => serde_json::to_value(p),
            OpPayload::TakeCarryBack(p) => serde_json::to_value(p),
            OpPayload::AdvanceCarryBack(p) => serde_json::to_value(p),
            OpPayload::ReturnCarryBack(p) => serde_json::to_value(p),
            OpPayload::AddAddendum(p) => serde_json::to_value(p),
        };
        // Plain structs of strings, numbers and enums always serialise.
        result.unwrap_or(Value::Null)
    }

    /// Reads a payload of the given kind.
    pub fn parse(kind: &str, payload: &Value) -> Result<OpPayload, PayloadError> {
        fn read<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, PayloadError> {
            T::deserialize(v).map_err(|e| PayloadError::Shape(describe_serde_error(&e)))
        }
        let kind = OpKind::parse(kind).ok_or(PayloadError::UnknownKind)?;
        Ok(match kind {
            OpKind::ChangeStatus => OpPayload::ChangeStatus(read(payload)?),
            OpKind::RecordWork => OpPayload::RecordWork(read(payload)?),
            OpKind::ConsumePart => OpPayload::ConsumePart(read(payload)?),
            OpKind::AttachSignature => OpPayload::AttachSignature(read(payload)?),
            OpKind::AttachDocument => OpPayload::AttachDocument(read(payload)?),
            OpKind::TakePayment => OpPayload::TakePayment(read(payload)?),
            OpKind::EditNotes => OpPayload::EditNotes(read(payload)?),
            OpKind::RecordDiagnosis => OpPayload::RecordDiagnosis(read(payload)?),
            OpKind::IssueQuote => OpPayload::IssueQuote(read(payload)?),
            OpKind::RecordQuoteDecision => OpPayload::RecordQuoteDecision(read(payload)?),
            OpKind::ReturnPart => OpPayload::ReturnPart(read(payload)?),
            OpKind::StockTake => OpPayload::StockTake(read(payload)?),
            OpKind::InvoiceLater => OpPayload::InvoiceLater(read(payload)?),
            OpKind::RecordFeedback => OpPayload::RecordFeedback(read(payload)?),
            OpKind::RecordExpense => OpPayload::RecordExpense(read(payload)?),
            OpKind::TakeCarryBack => OpPayload::TakeCarryBack(read(payload)?),
            OpKind::AdvanceCarryBack => OpPayload::AdvanceCarryBack(read(payload)?),
            OpKind::ReturnCarryBack => OpPayload::ReturnCarryBack(read(payload)?),
            OpKind::AddAddendum => OpPayload::AddAddendum(read(payload)?),
        })
    }
}

/// A serde error's text with every quoted value blanked, so that it can be shown or logged
/// without echoing what was sent (which may be customer data). Field names, which serde
/// quotes with backticks, are kept.
pub fn describe_serde_error(error: &serde_json::Error) -> String {
    scrub_error_text(&error.to_string())
}

/// Blanks the values a serde error text quotes, keeping what describes the schema: field
/// names (`` missing field `x` ``) and what was expected (`` expected one of `a`, `b` ``).
/// Values appear in `"..."` (strings) and in backticks (numbers, variants, characters).
pub fn scrub_error_text(text: &str) -> String {
    let expected_at = text.find("expected").unwrap_or(usize::MAX);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = rest.as_bytes()[open] as char;
        let Some(len) = rest[open + 1..].find(quote) else {
            break;
        };
        let before = &rest[..open];
        let inner = &rest[open + 1..open + 1 + len];
        let keep = quote == '`' && (before.ends_with("field ") || offset + open > expected_at);
        out.push_str(before);
        out.push(quote);
        out.push_str(if keep { inner } else { "…" });
        out.push(quote);
        offset += open + len + 2;
        rest = &rest[open + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Reply to [`PushRequest`]: one result per op, in the request's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushReply {
    /// One per op, same order.
    pub results: Vec<OpResult>,
    /// The server's current epoch.
    pub epoch: String,
    /// The newest commit among the results, as `<seq>:<tag>` ([`PullReply::checkpoint`]):
    /// the device keeps the newest commit it knows of and names it in its next pull, so
    /// that head office can tell when it no longer holds it (a restore from a backup).
    /// Absent from servers before protocol 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// What became of one op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpResult {
    /// The op's id.
    pub op_id: Uuid,
    /// True when the server had already processed this op (a replay): `outcome` is the
    /// stored result of the first time.
    pub duplicate: bool,
    /// Applied or rejected.
    pub outcome: OpOutcome,
}

/// The outcome of an op. Both are final: do not send the op again except as a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OpOutcome {
    /// Stored.
    Applied {
        /// The server commit that stored it.
        server_seq: i64,
        /// True when the job had been cancelled or reassigned (or its status moved on) at
        /// head office before this op arrived: the fact is kept and the job is flagged for
        /// office review.
        flagged_for_review: bool,
    },
    /// Not stored, permanently (a "poison" op); the rest of the queue goes on.
    Rejected {
        /// Why, for programs.
        code: RejectCode,
        /// Why, for people; no customer data.
        reason: String,
    },
}

/// Why an op was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// [`Op::kind`] is not known to this server.
    UnknownKind,
    /// The payload does not have the kind's shape, or breaks a rule (e.g. quantity 0,
    /// `unable_to_complete` without a reason, negative payment).
    BadPayload,
    /// No work order with [`Op::entity_id`] exists.
    UnknownWorkOrder,
    /// The work order is not, and never was, assigned to this device's technician.
    NotYourWorkOrder,
    /// The referenced blob has not been uploaded (upload it, then push a new op).
    BlobMissing,
    /// The `fact_id` was already used for a different fact.
    FactIdReused,
}

impl RejectCode {
    /// The code's wire text (`unknown_work_order`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectCode::UnknownKind => "unknown_kind",
            RejectCode::BadPayload => "bad_payload",
            RejectCode::UnknownWorkOrder => "unknown_work_order",
            RejectCode::NotYourWorkOrder => "not_your_work_order",
            RejectCode::BlobMissing => "blob_missing",
            RejectCode::FactIdReused => "fact_id_reused",
        }
    }

    /// Whether the cause of the refusal can go away: the job restored or given back to
    /// the technician, the kind or field learnt by an upgraded head office, the blob
    /// uploaded. Head office keeps such an op (like every refused op) and takes it when it
    /// is sent again and the cause has gone; the device sends it again from time to time
    /// and when head office changes. Only a reused fact id is final.
    pub const fn may_clear(self) -> bool {
        !matches!(self, RejectCode::FactIdReused)
    }
}

// ---------------------------------------------------------------------------------------
// Pull

/// Query of `GET /v1/sync/pull`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct PullQuery {
    /// The `cursor` of the last saved page; absent (or empty) for a first pull.
    pub cursor: Option<String>,
    /// Changes per page wanted (default [`crate::limits::DEFAULT_PULL_LIMIT`], at most
    /// [`crate::limits::MAX_PULL_LIMIT`]).
    pub limit: Option<u32>,
    /// The opt-in item types the client understands, comma-separated
    /// ([`ChangeItem::OPT_IN`]: `parts_issued,company`). Absent: none of them is sent
    /// (the cursor still moves past them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<String>,
    /// The newest server commit the device knows of, as `<seq>:<tag>` (the `checkpoint` of
    /// a page it saved or of a push reply, whichever is newer). When head office does not
    /// hold that very commit (restored from a backup, whatever its epoch), the page comes
    /// with `reset`: the device refetches and re-sends what head office may have lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// A page of changes visible to the device's technician.
///
/// Changes are the latest state of each entity that changed after the cursor, ordered by
/// the server commit (`seq`) that last changed it; a page always holds whole commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullReply {
    /// The server's epoch: a new value means the server's history was replaced (restore
    /// from backup); `reset` is then true for any older cursor.
    pub epoch: String,
    /// True when the request's cursor was not recognised (malformed, from another epoch, or
    /// ahead of the server): this page starts a full refetch from scratch. Drop what was
    /// pulled before and re-send every op not acknowledged.
    pub reset: bool,
    /// The changes, oldest commit first.
    pub changes: Vec<Change>,
    /// Save with the page; send as `cursor` next time. Opaque.
    pub cursor: String,
    /// True when more changes follow: pull again at once with `cursor`.
    pub has_more: bool,
    /// The page's last commit as `<seq>:<tag>` (absent when the page ends at the start of
    /// history): keep it and send it as [`PullQuery::checkpoint`]. Absent from servers
    /// before protocol 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// One changed entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    /// The server commit that last changed it.
    pub seq: i64,
    /// The entity's latest state (or its removal). An item type this build does not know
    /// reads as [`ChangeItem::Unknown`] instead of failing the whole page.
    #[serde(deserialize_with = "item_or_unknown")]
    pub item: ChangeItem,
}

fn item_or_unknown<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ChangeItem, D::Error> {
    use serde::de::Error;
    let value = Value::deserialize(d)?;
    let Some(kind) = value.get("type").and_then(Value::as_str) else {
        return Err(D::Error::missing_field("type"));
    };
    if !ChangeItem::TYPES.contains(&kind) {
        return Ok(ChangeItem::Unknown);
    }
    ChangeItem::deserialize(value).map_err(|e| D::Error::custom(describe_serde_error(&e)))
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ChangeItem {
    /// A work order of this technician, created or changed (a cancelled one comes with
    /// status `cancelled`). Boxed: it is much larger than the other variants.
    WorkOrder(Box<WorkOrder>),
    /// A work order that is no longer this technician's (reassigned): remove it locally
    /// unless local facts on it are still unacknowledged.
    WorkOrderRemoved {
        /// The work order.
        id: Uuid,
    },
    /// A fee-table version (published versions never change).
    FeeTable(FeeTable),
    /// The parts catalogue (replaces the previous one).
    PartsCatalogue(PartsCatalogue),
    /// A parts price list version.
    PriceList(PriceList),
    /// A fact recorded by this technician on another of their devices, as stored (a
    /// device's own facts are not sent back to it). A fact of the technician's day (a
    /// stock-take, unused stock returned without a job) has the nil work order id.
    Fact(FactRecord),
    /// Parts head office issued to this technician: add them to the van stock, once per
    /// issue id. Sent only to clients that ask for it ([`PullQuery::accept`]).
    PartsIssued(PartsIssue),
    /// The company's letterhead (everyone). Sent only to clients that ask for it
    /// ([`PullQuery::accept`]).
    Company(CompanyProfile),
    /// An item type this build does not know (a newer server's), as read in a [`Change`]:
    /// ignored. Never sent (serialising it fails).
    #[serde(skip)]
    Unknown,
}

impl ChangeItem {
    /// The item types this build reads.
    pub const TYPES: [&'static str; 8] = [
        "work_order",
        "work_order_removed",
        "fee_table",
        "parts_catalogue",
        "price_list",
        "fact",
        "parts_issued",
        "company",
    ];

    /// The item types a client must name in [`PullQuery::accept`] to receive them; older
    /// clients, which fail on an item type they do not know, never get them.
    pub const OPT_IN: [&'static str; 2] = ["parts_issued", "company"];

    /// The wire name of an opt-in item type, `None` for the types every client gets.
    pub fn opt_in_type(&self) -> Option<&'static str> {
        match self {
            ChangeItem::PartsIssued(_) => Some("parts_issued"),
            ChangeItem::Company(_) => Some("company"),
            _ => None,
        }
    }
}

/// A technician fact as the server stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactRecord {
    /// The client id of the fact.
    pub fact_id: Uuid,
    /// The op that carried it.
    pub op_id: Uuid,
    /// The work order.
    pub work_order_id: Uuid,
    /// The technician who recorded it.
    pub technician_id: Uuid,
    /// The device that pushed it.
    pub device_id: Uuid,
    /// Its kind.
    pub kind: OpKind,
    /// The payload as pushed (parse with [`OpPayload::parse`]).
    #[cfg_attr(feature = "openapi", schema(value_type = OpPayload))]
    pub payload: Value,
    /// The work-order version the device had ([`Op::base_version`]).
    pub base_version: Option<i64>,
    /// When the server stored it.
    pub received_at: DateTime<Utc>,
    /// Set when the fact came without the file it references: the technician's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_missing: Option<String>,
}

/// `POST /v1/sync/blobs/missing`: which of these blobs head office does not hold (the
/// device uploads those). At most [`crate::limits::MAX_BLOBS_PER_CHECK`] names (400
/// otherwise), each a SHA-256 as 64 lowercase hex digits (400 otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobCheck {
    /// The blobs' SHA-256s.
    pub sha256: Vec<String>,
}

/// Reply to [`BlobCheck`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobCheckReply {
    /// The asked-for blobs head office does not hold, in the request's order, each once.
    pub missing: Vec<String>,
}

/// Reply to a blob `PUT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobPutReply {
    /// The verified SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// True when stored by this request (201), false when it was already there (200).
    pub created: bool,
}

/// A pull cursor: `<epoch>:<seq>`. Opaque to clients; the server parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The epoch the cursor belongs to.
    pub epoch: String,
    /// The last server commit the client has.
    pub seq: i64,
}

impl Cursor {
    /// Parses `<epoch>:<seq>`; `None` if malformed.
    pub fn parse(text: &str) -> Option<Cursor> {
        let (epoch, seq) = text.rsplit_once(':')?;
        let seq: i64 = seq.parse().ok()?;
        if epoch.is_empty() || seq < 0 {
            return None;
        }
        Some(Cursor {
            epoch: epoch.to_owned(),
            seq,
        })
    }
}

/// A commit named by its sequence number and the random tag head office gave it when it
/// was made: `<seq>:<tag>`. Two histories that share a sequence number (one restored from
/// a backup, then written again) do not share its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The commit's sequence number (at least 1).
    pub seq: i64,
    /// Its tag (1 to 64 characters of `[0-9a-z]`).
    pub tag: String,
}

impl Checkpoint {
    /// Parses `<seq>:<tag>`; `None` if malformed.
    pub fn parse(text: &str) -> Option<Checkpoint> {
        let (seq, tag) = text.split_once(':')?;
        let seq: i64 = seq.parse().ok()?;
        let tag_ok = !tag.is_empty()
            && tag.len() <= 64
            && tag
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
        (seq >= 1 && tag_ok).then(|| Checkpoint {
            seq,
            tag: tag.to_owned(),
        })
    }
}

impl std::fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.tag)
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.epoch, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::{CompanyProfile, PartsIssueLine};
    use onsite_domain::Money;

    fn at() -> DateTime<Utc> {
        "2026-05-01T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn op_kind_text_round_trips_and_matches_serde() {
        for k in OpKind::ALL {
            assert_eq!(OpKind::parse(k.as_str()), Some(*k));
            assert_eq!(
                serde_json::to_string(k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert_eq!(OpKind::parse("drop_table"), None);
    }

    #[test]
    fn payload_round_trips_through_op() {
        let p = OpPayload::TakePayment(Payment {
            change: None,
            payment_id: None,
            tendered: None,
            fact_id: Uuid::now_v7(),
            amount: Money::cny(5000),
            method: PaymentMethod::Cash,
            receipt_no: Some("R-1".into()),
            at: at(),
        });
        let op = Op::new(Uuid::now_v7(), 3, Uuid::now_v7(), Some(2), &p);
        assert_eq!(op.kind, "take_payment");
        let json = serde_json::to_string(&op).unwrap();
        let back: Op = serde_json::from_str(&json).unwrap();
        assert_eq!(OpPayload::parse(&back.kind, &back.payload).unwrap(), p);
    }

    /// Issue 9, hole 14: the fields added to the wire are optional both ways. An older
    /// device's JSON (without them) still reads; a payload without them writes as before
    /// (no nulls added, so an older head office reads it the same); with them it round
    /// trips; `qr` is its own payment method.
    #[test]
    fn new_fields_are_optional_both_ways() {
        use serde_json::json;
        let fact = Uuid::now_v7();
        let sha = "ab".repeat(32);
        let old = [
            (
                "change_status",
                json!({"fact_id": fact, "to": "en_route", "reason": null, "at": at()}),
            ),
            (
                "attach_signature",
                json!({"fact_id": fact, "blob_sha256": sha, "signer": "customer", "at": at()}),
            ),
            (
                "attach_document",
                json!({"fact_id": fact, "blob_sha256": sha, "doc_type": "signoff",
                "content_type": "application/pdf", "at": at()}),
            ),
            (
                "take_payment",
                json!({"fact_id": fact, "amount": {"minor": 100, "currency": "CNY"},
                "method": "card", "receipt_no": null, "at": at()}),
            ),
            (
                "consume_part",
                json!({"fact_id": fact, "part_no": "F-1", "quantity": 1, "serial_no": null,
                "unit_price": null, "price_list_version": null, "warranty": false, "at": at()}),
            ),
            (
                "record_quote_decision",
                json!({"fact_id": fact, "quote_id": fact, "decision": "accepted",
                "status_to": null, "reason": null, "callout": {"minor": 0, "currency": "CNY"}, "at": at()}),
            ),
            (
                "return_part",
                json!({"fact_id": fact, "return_id": fact, "return_kind": "unused", "part_id": "p",
                "quantity": 1, "work_order_id": null, "part_use_id": null, "serial": null, "quote_id": null,
                "reversed_line": null, "reversed": {"minor": 0, "currency": "CNY"}, "at": at()}),
            ),
            (
                "stock_take",
                json!({"fact_id": fact, "stock_take_id": fact, "lines": [], "at": at()}),
            ),
        ];
        for (kind, v) in old {
            let p = OpPayload::parse(kind, &v).unwrap_or_else(|e| panic!("{kind}: {e}"));
            // Written again, none of the new fields appears.
            let back = p.to_value();
            for key in [
                "from",
                "signer_name",
                "content_hash",
                "signature_id",
                "lang",
                "size",
                "payment_id",
                "tendered",
                "change",
                "part_use_id",
                "part_id",
                "stock_after",
                "status_from",
                "day",
            ] {
                let absent = v.get(key).is_none();
                assert!(
                    !absent || back.get(key).is_none(),
                    "{kind}: {key} written when absent"
                );
            }
        }
        let new = OpPayload::AttachSignature(Signature {
            fact_id: fact,
            blob_sha256: sha.clone(),
            signer: Signer::Customer,
            signer_name: Some("王伟".into()),
            content_hash: Some("cd".repeat(32)),
            signature_id: Some(Uuid::now_v7()),
            at: at(),
        });
        assert_eq!(
            OpPayload::parse("attach_signature", &new.to_value()).unwrap(),
            new
        );
        let qr = OpPayload::TakePayment(Payment {
            fact_id: fact,
            amount: Money::cny(4500),
            method: PaymentMethod::Qr,
            receipt_no: None,
            payment_id: Some(Uuid::now_v7()),
            tendered: None,
            change: None,
            at: at(),
        });
        assert_eq!(qr.to_value()["method"], "qr");
        assert_eq!(
            OpPayload::parse("take_payment", &qr.to_value()).unwrap(),
            qr
        );
        let day = NaiveDate::from_ymd_opt(2026, 5, 2).unwrap();
        let take = OpPayload::StockTake(StockTake {
            fact_id: fact,
            stock_take_id: fact,
            lines: vec![],
            day: Some(day),
            at: at(),
        });
        assert_eq!(take.to_value()["day"], "2026-05-02");
        assert_eq!(
            OpPayload::parse("stock_take", &take.to_value()).unwrap(),
            take
        );
        // An unknown method is still refused, without echoing it.
        let mut bad = qr.to_value();
        bad["method"] = "alipay-13800001111".into();
        let err = OpPayload::parse("take_payment", &bad)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("13800001111"), "{err}");
    }

    #[test]
    fn carry_back_payloads_round_trip_and_name_their_signature_blob() {
        let sha = "ab".repeat(32);
        let id = Uuid::now_v7();
        let take = OpPayload::TakeCarryBack(CarryBackTaken {
            fact_id: Uuid::now_v7(),
            carry_back_id: id,
            receipt_no: "CB-20261124-0A1B2C3D".into(),
            item: "water heater".into(),
            serial_no: None,
            accessories: vec!["remote".into()],
            condition: "scratch".into(),
            fault: "E3".into(),
            expected_return: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            photos: vec!["cd".repeat(32)],
            signer_name: "S".into(),
            png_sha256: sha.clone(),
            at: at(),
        });
        let advance = OpPayload::AdvanceCarryBack(CarryBackAdvanced {
            fact_id: Uuid::now_v7(),
            carry_back_id: id,
            from: CarryBackState::Taken,
            to: CarryBackState::AtWorkshop,
            at: at(),
        });
        let back = OpPayload::ReturnCarryBack(CarryBackReturned {
            fact_id: Uuid::now_v7(),
            carry_back_id: id,
            receipt_collected: false,
            receipt_lost_note: Some("lost".into()),
            signer_name: "S".into(),
            png_sha256: sha.clone(),
            at: at(),
        });
        for (p, kind, blob) in [
            (&take, "take_carry_back", Some(sha.as_str())),
            (&advance, "advance_carry_back", None),
            (&back, "return_carry_back", Some(sha.as_str())),
        ] {
            let op = Op::new(Uuid::now_v7(), 1, Uuid::now_v7(), None, p);
            assert_eq!(op.kind, kind);
            assert_eq!(&OpPayload::parse(&op.kind, &op.payload).unwrap(), p);
            assert_eq!(p.blob_sha256(), blob);
        }
        let v = advance.to_value();
        assert_eq!(v["to"], "at_workshop");
        assert_eq!(take.to_value()["expected_return"], "2026-12-01");
        // The advance's states are the domain's: anything else is refused.
        let mut bad = v.clone();
        bad["to"] = "in_the_van".into();
        assert!(OpPayload::parse("advance_carry_back", &bad).is_err());
    }

    #[test]
    fn bad_payload_errors_do_not_echo_values() {
        let v = serde_json::json!({
            "fact_id": Uuid::now_v7(), "to": "Mrs Wang, 13800001111", "reason": null, "at": at()
        });
        let err = OpPayload::parse("change_status", &v).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("Wang"), "{text}");
        assert!(!text.contains("13800001111"), "{text}");
        assert_eq!(
            OpPayload::parse("nope", &v).unwrap_err(),
            PayloadError::UnknownKind
        );
    }

    #[test]
    fn scrubbing_keeps_schema_and_drops_values() {
        let cases = [
            (
                "invalid type: integer `13800001111`, expected a string at line 1 column 9",
                "invalid type: integer `…`, expected a string at line 1 column 9",
            ),
            (
                "invalid type: string \"Mrs Wang\", expected i64",
                "invalid type: string \"…\", expected i64",
            ),
            (
                "unknown variant `Mrs Wang`, expected one of `cash`, `card`",
                "unknown variant `…`, expected one of `cash`, `card`",
            ),
            ("missing field `fact_id`", "missing field `fact_id`"),
            (
                "unknown field `x`, expected `a`",
                "unknown field `x`, expected `a`",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(scrub_error_text(input), want);
        }
    }

    #[test]
    fn reject_code_text_is_its_serde_text() {
        use RejectCode::*;
        for code in [
            UnknownKind,
            BadPayload,
            UnknownWorkOrder,
            NotYourWorkOrder,
            BlobMissing,
            FactIdReused,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn outcome_json_shape() {
        let r = OpOutcome::Rejected {
            code: RejectCode::BlobMissing,
            reason: "x".into(),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["status"], "rejected");
        assert_eq!(v["code"], "blob_missing");
        let a = serde_json::to_value(OpOutcome::Applied {
            server_seq: 4,
            flagged_for_review: false,
        })
        .unwrap();
        assert_eq!(a["status"], "applied");
    }

    #[test]
    fn cursor_parse() {
        let c = Cursor::parse("0190a1b2-0000-7000-8000-000000000000:42").unwrap();
        assert_eq!(c.seq, 42);
        assert_eq!(Cursor::parse(&c.to_string()), Some(c));
        for bad in ["", "42", ":42", "e:-1", "e:x", "e:"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn change_item_is_tagged() {
        let c = Change {
            seq: 7,
            item: ChangeItem::WorkOrderRemoved { id: Uuid::nil() },
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["item"]["type"], "work_order_removed");
        let back: Change = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn new_item_types_are_tagged_and_unknown_ones_are_tolerated() {
        let issue = ChangeItem::PartsIssued(PartsIssue {
            id: Uuid::nil(),
            technician_id: Uuid::nil(),
            issued_at: Utc::now(),
            lines: vec![PartsIssueLine {
                part_no: "F-1".into(),
                quantity: 3,
            }],
            note: None,
            work_order_id: None,
        });
        let v = serde_json::to_value(&issue).unwrap();
        assert_eq!(v["type"], "parts_issued");
        assert_eq!(v["data"]["lines"][0]["quantity"], 3);
        assert_eq!(serde_json::from_value::<ChangeItem>(v).unwrap(), issue);
        let company = ChangeItem::Company(CompanyProfile {
            name: "n".into(),
            phone: String::new(),
            address: String::new(),
        });
        let v = serde_json::to_value(&company).unwrap();
        assert_eq!(v["type"], "company");
        assert_eq!(serde_json::from_value::<ChangeItem>(v).unwrap(), company);
        // A newer server's item type reads as Unknown, with or without data.
        let later: Change = serde_json::from_value(
            serde_json::json!({"seq": 3, "item": {"type": "holiday", "data": {"day": "2026-10-01"}}}),
        )
        .unwrap();
        assert_eq!(later.item, ChangeItem::Unknown);
        let bare: Change =
            serde_json::from_value(serde_json::json!({"seq": 4, "item": {"type": "x"}})).unwrap();
        assert_eq!(bare.item, ChangeItem::Unknown);
        // A known type with a broken body, or no type, still fails.
        for bad in [
            serde_json::json!({"seq": 5, "item": {"type": "company", "data": {"phone": "1"}}}),
            serde_json::json!({"seq": 5, "item": {"data": {}}}),
        ] {
            assert!(serde_json::from_value::<Change>(bad).is_err());
        }
        // Every tag the enum writes is in TYPES.
        for item in [issue, company] {
            let v = serde_json::to_value(&item).unwrap();
            assert!(ChangeItem::TYPES.contains(&v["type"].as_str().unwrap()));
        }
    }
}
