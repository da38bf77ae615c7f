//! Old parts (004 §4.5a): a covered part is paid for by the customer as a deposit until
//! the part it replaced is back in the warehouse, then the deposit is reversed. Small
//! parts (unit price under the threshold, 50 yuan by default) with no recovery value need
//! not come back, so no deposit is taken. A part damaged by the customer is not covered
//! at all: that is the `CustomerDamage` exclusion in [`super::entitlement`].
//!
//! The rule applies to every covered part, whether the warranty or a contract covers it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::fee_table::FeeItem;
use super::Bilingual;
use crate::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OldPartPolicy {
    /// Parts whose unit price is strictly below this, and whose old part has no recovery
    /// value, need not be returned.
    pub exempt_below: Money,
}

impl Default for OldPartPolicy {
    fn default() -> Self {
        OldPartPolicy {
            exempt_below: Money::cny(5_000), // 50 yuan
        }
    }
}

/// Where the old part of a covered part line stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OldPartState {
    /// Need not come back: covered outright.
    Exempt,
    /// Must come back and has not yet: the part is charged as a deposit.
    Awaiting,
    /// Back in the warehouse: covered, any deposit reversed.
    Returned,
}

impl OldPartState {
    pub fn decide(
        policy: &OldPartPolicy,
        item: &FeeItem,
        unit_price: Money,
        returned: bool,
    ) -> OldPartState {
        if !item.recoverable && unit_price.minor < policy.exempt_below.minor {
            OldPartState::Exempt
        } else if returned {
            OldPartState::Returned
        } else {
            OldPartState::Awaiting
        }
    }

    pub fn reason(self, policy: &OldPartPolicy) -> Bilingual {
        match self {
            OldPartState::Exempt => Bilingual::new(
                format!(
                    "低于{}且无回收价值的小配件：旧件无需退回",
                    policy.exempt_below
                ),
                format!(
                    "Small part under {} with no recovery value: the old part need not be returned",
                    policy.exempt_below
                ),
            ),
            OldPartState::Awaiting => Bilingual::new(
                "旧件须退回仓库：旧件入库前按配件价格收取押金，入库后退还",
                "The old part must go back to the warehouse: its price is held as a deposit until then",
            ),
            OldPartState::Returned => returned_reason(),
        }
    }
}

pub(crate) fn returned_reason() -> Bilingual {
    Bilingual::new(
        "旧件已退回入库：按保修处理，押金退还",
        "The old part is back in the warehouse: covered, deposit reversed",
    )
}
