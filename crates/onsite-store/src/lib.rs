//! Onsite's local store: one SQLite file (rusqlite, bundled SQLCipher, sealed with the
//! device's key: see [`crypto`]) holding the
//! technician's work orders, customers, appliances, fee tables, van stock and the outbox.
//!
//! Habits: the database is opened once with its pragmas; writers take a `&Transaction`,
//! readers a `&Connection`; every user change writes its rows and one outbox operation in
//! the same transaction ([`outbox::append`]). Errors never carry customer data.

pub mod carryback;
pub mod contracts;
pub mod crypto;
pub mod dayend;
pub mod db;
pub mod demo;
pub mod documents;
pub mod drafts;
pub mod erase;
mod error;
pub mod outbox;
pub mod private_files;
pub mod retention;
pub mod search;
pub mod settings;
pub mod sync;
pub mod unsent;
pub mod visit;
pub mod workorders;

pub use crypto::{Blobs, DataKey};
pub use db::Store;
pub use error::{StoreError, StoreResult};

/// Formats a UTC time the way the store keeps it: RFC 3339, seconds, `Z`.
pub fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) fn parse_ts(text: &str) -> StoreResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| StoreError::Invalid(format!("stored time is not RFC 3339: {text:?}")))
}
