//! The error every command returns: a stable code the UI translates, an English message
//! for logs and support, and the file concerned when there is one. Never customer data.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The data file is not a database or is damaged.
    DbCorrupt,
    /// Another Onsite (or another program) holds the data file.
    DbLocked,
    /// The data file was written by a newer version of Onsite.
    DbTooNew,
    /// The data file or its folder cannot be read or written.
    DbIo,
    NotFound,
    TransitionNotAllowed,
    ReasonRequired,
    /// Completing a visit needs the customer's valid signature or a reason why not.
    SignatureRequired,
    /// A document could not be produced.
    DocumentFailed,
    InvalidInput,
    Internal,
    /// A quantity is zero, negative or absurdly large.
    InvalidQuantity,
    /// An amount of money is zero, negative or absurdly large.
    InvalidAmount,
    /// A price was entered on a fee item whose price is fixed.
    PriceNotEditable,
    /// A payment is above what is still due on the job.
    PaymentAboveDue,
    /// The appliance's purchase date is after the visit date.
    PurchaseDateInFuture,
    /// Head office cancelled the work order.
    OrderCancelled,
    /// The work order is completed (or ended): this step can no longer be recorded.
    OrderClosed,
    /// Not enough of a part in the van; an override with a reason is needed.
    InsufficientStock,
    /// A photo is larger than head office accepts (`onsite_api::limits::MAX_BLOB_BYTES`):
    /// refused when taken, so that it is never silently missing at head office.
    PhotoTooLarge,
    /// The step needs a quote that lists it.
    QuoteRequired,
    /// The quote has charged lines and the customer has not accepted it.
    QuoteNotAccepted,
    /// No fee table is in force for the appliance on the work date.
    NoFeeTable,
    /// This device is not enrolled with a head office.
    SyncNotEnrolled,
    /// Head office cannot be reached (no connection, timeout, connection broken).
    SyncOffline,
    /// The head-office address is not a valid `https://` address.
    SyncBadAddress,
    /// The head-office CA certificate is not valid, or head office's certificate is not
    /// trusted.
    SyncBadCertificate,
    /// Head office refused the enrolment code (unknown, already used or expired).
    SyncCodeRefused,
    /// Head office no longer accepts this device (revoked): enrol again.
    SyncDeviceRevoked,
    /// Head office answered with an error or something this device cannot read.
    SyncServerError,
    /// The device is being connected to another technician or another head office while
    /// records made here have not reached the one they belong to: send them first.
    SyncUnsentElsewhere,
    /// The job is completed or ended as unable to complete: its notes are part of what the
    /// customer signed and can no longer be changed; add a note after completion (an
    /// addendum) instead.
    JobClosed,
    /// A diagnosis needs the fault found.
    FaultRequired,
    /// A quote needs at least one service or part.
    QuoteEmpty,
    /// No program to show PDFs is installed: save the document ("Save as…") instead.
    NoPdfViewer,
    /// Jobs on the demo data are in progress; enrolling sets them aside: confirm first.
    DemoInProgress,
    /// The head-office address did not answer at enrolment (refused, unknown name,
    /// timeout): check the address.
    EnrolUnreachable,
    /// The PIN or passphrase is too short or too long (see `view_keys::PIN_MIN_CHARS`).
    PinTooShort,
    /// The PIN entered does not open the data; the message says how many tries so far.
    PinWrong,
    /// Too many wrong tries: the next is allowed after a wait (see `KeyState::EnterPin`).
    PinWait,
    /// The key that opens the data cannot be had (see `view_keys::KeyProblem`).
    KeyUnavailable,
    /// The data is sealed and not yet opened: enter the PIN first.
    Locked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
    pub file: Option<String>,
}

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        IpcError {
            code,
            message: message.into(),
            file: None,
        }
    }
}

impl std::fmt::Display for IpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}
