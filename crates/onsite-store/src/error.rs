use std::path::PathBuf;

use onsite_domain::TransitionError;

pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong in the store. Messages name files and entities, never customer data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{} is not an Onsite database or is damaged", path.display())]
    Corrupt { path: PathBuf },
    /// A sealed data file that does not open with this device's key: copied from another
    /// device, or damaged (SQLCipher cannot tell which).
    #[error("{} does not open with this device's key: it comes from another device or is damaged", path.display())]
    Sealed { path: PathBuf },
    #[error("{} is in use by another Onsite window or program", path.display())]
    Locked { path: PathBuf },
    #[error("{} was written by a newer Onsite (schema {found}, this version knows {supported})", path.display())]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("cannot open {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("completing a visit needs the customer's signature on the current content, or a reason why not")]
    SignatureRequired,
    #[error("the job is closed: its notes are part of what the customer signed; add a note after completion instead")]
    JobClosed,
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("serialisation error: {0}")]
    Json(#[from] serde_json::Error),
}

impl StoreError {
    /// The error as the UI receives it: a stable code, an English message without customer
    /// data, and the data file when one is concerned.
    pub fn to_ipc(&self) -> onsite_domain::ipc::IpcError {
        use onsite_domain::ipc::{ErrorCode, IpcError};
        let (code, file) = match self {
            StoreError::Corrupt { path } => (ErrorCode::DbCorrupt, Some(path)),
            StoreError::Locked { path } => (ErrorCode::DbLocked, Some(path)),
            StoreError::Sealed { path } => (ErrorCode::KeyUnavailable, Some(path)),
            StoreError::TooNew { path, .. } => (ErrorCode::DbTooNew, Some(path)),
            StoreError::Io { path, .. } => (ErrorCode::DbIo, Some(path)),
            StoreError::NotFound(_) => (ErrorCode::NotFound, None),
            StoreError::Transition(TransitionError::ReasonRequired) => {
                (ErrorCode::ReasonRequired, None)
            }
            StoreError::Transition(TransitionError::NotAllowed { .. }) => {
                (ErrorCode::TransitionNotAllowed, None)
            }
            StoreError::SignatureRequired => (ErrorCode::SignatureRequired, None),
            StoreError::JobClosed => (ErrorCode::JobClosed, None),
            StoreError::Invalid(_) => (ErrorCode::InvalidInput, None),
            StoreError::Sqlite(_) | StoreError::Json(_) => (ErrorCode::Internal, None),
        };
        IpcError {
            code,
            message: self.to_string(),
            file: file.map(|p| p.display().to_string()),
        }
    }
}
