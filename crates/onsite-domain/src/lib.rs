//! Onsite's domain: the vocabulary of field service and the rules that decide what a
//! customer pays. Everything here is pure: no database, no network, no clock (callers pass
//! `now`). Types that cross the Tauri IPC boundary derive `ts_rs::TS`; the TypeScript
//! bindings in `ui/src/lib/bindings.ts` are generated from them (see `tests/bindings.rs`).

pub mod carryback;
pub mod ipc;
pub mod money;
pub mod rules;
pub mod signoff;
pub mod view;
pub mod view_day;
pub mod view_keys;
pub mod view_sync;
pub mod view_visit;
pub mod workorder;

pub use money::Money;
pub use workorder::{JobType, Lateness, TransitionError, WorkOrderStatus};
