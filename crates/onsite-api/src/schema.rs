//! OpenAPI schemas of the `onsite-domain` types that cross the wire (feature `openapi`).
//!
//! `onsite-domain` is built without utoipa, and the orphan rule forbids implementing
//! utoipa's `ToSchema` (a foreign trait) for its types here (foreign types). So each of
//! them has a mirror below with the same serde form, named like the original, and the wire
//! types' fields of a domain type say `#[schema(value_type = crate::schema::…)]`.
//!
//! A mirror can drift from its original; onsite-hq's tests (`tests/openapi.rs`,
//! `domain_mirrors_have_the_serde_form_of_the_domain_types`) serialise every value of
//! each side and read it back as the other, so a renamed, added or removed variant or
//! field fails there.
//!
//! The other hand-written schema is [`crate::OpPayload`]'s (see `impl ToSchema` in
//! `sync.rs`): it is not a serde type, the kind of [`crate::Op`] picks which one applies.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An amount in minor units (1 yuan = 100 fen). Never a float.
/// (Mirror of `onsite_domain::Money`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Money {
    /// Minor units (fen for CNY). JSON number; safe in JavaScript up to 2^53.
    pub minor: i64,
    pub currency: Currency,
}

/// The currency of an amount. (Mirror of `onsite_domain::money::Currency`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Currency {
    #[serde(rename = "CNY")]
    Cny,
}

/// What the technician goes to do. (Mirror of `onsite_domain::JobType`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    Install,
    Maintain,
    Repair,
    Relocate,
    Inspect,
}

/// Where a work order stands. Head office sets `assigned` and `cancelled`; the technician
/// moves it forward from there. (Mirror of `onsite_domain::WorkOrderStatus`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderStatus {
    Assigned,
    EnRoute,
    OnSite,
    InProgress,
    Completed,
    UnableToComplete,
    Cancelled,
}

/// Where a carry-back is: `taken` → `at_workshop` → `repaired` → `returned`.
/// (Mirror of `onsite_domain::carryback::CarryBackState`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CarryBackState {
    Taken,
    AtWorkshop,
    Repaired,
    Returned,
}

/// Why an open carry-back is flagged: past the return date promised on the receipt, or
/// more than 15 working days since it was taken.
/// (Mirror of `onsite_domain::carryback::CarryBackOverdue`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CarryBackOverdue {
    PastExpectedReturn,
    PastRepairLimit,
}

/// Who pays a quoted line. (Mirror of `onsite_domain::rules::LineStatus`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Free to the customer.
    Covered,
    /// The customer pays.
    Charged,
    /// A covered part the customer pays for until its old part is returned.
    Deposit,
}

/// An exclusion the technician recorded, on one component or (`null`) the whole appliance.
/// (Mirror of `onsite_domain::rules::RecordedExclusion`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordedExclusion {
    pub kind: Exclusion,
    pub component: Option<String>,
}

/// What voids the warranty. (Mirror of `onsite_domain::rules::Exclusion`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    Misuse,
    DroppedOrMovedImproperly,
    ForceMajeure,
    UnauthorisedRepair,
    CustomerDamage,
}

/// What a maintenance contract covers: `labour` (services, labour and travel), `parts`,
/// or `both`. (Mirror of `onsite_domain::rules::ContractCover`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractCover {
    Labour,
    Parts,
    Both,
}

/// The kind of a fee-table row: `service` (once per job, may be bundled), `labour` and
/// `travel` (by quantity), `part` (a part fitted). (Mirror of `onsite_domain::rules::ItemKind`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Service,
    Labour,
    Travel,
    Part,
}

/// The proof of purchase the customer showed: free service needs one with a date and a
/// seal. (Mirror of `onsite_domain::view::ProofOfPurchase`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProofOfPurchase {
    pub kind: ProofKind,
    /// The date on the proof; absent for kind `none`. A receipt or invoice without one is
    /// accepted (the device then charges: free service needs a dated, sealed proof).
    pub date: Option<NaiveDate>,
    /// The proof bears the seller's seal; false for kind `none`.
    pub sealed: bool,
}

/// (Mirror of `onsite_domain::view::ProofKind`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProofKind {
    None,
    Receipt,
    Invoice,
}
