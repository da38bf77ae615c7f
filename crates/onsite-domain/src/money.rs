//! Money is an integer count of minor units (fen, cents) with a currency code.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// An amount in minor units (1 yuan = 100 fen). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub struct Money {
    /// Minor units (fen for CNY). JSON number; safe in JavaScript up to 2^53.
    #[ts(type = "number")]
    pub minor: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub enum Currency {
    #[serde(rename = "CNY")]
    Cny,
}

impl Money {
    pub const fn cny(minor: i64) -> Self {
        Money {
            minor,
            currency: Currency::Cny,
        }
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        Some(Money {
            minor: self.minor.checked_add(other.minor)?,
            currency: self.currency,
        })
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_yuan_with_two_decimals() {
        assert_eq!(Money::cny(5000).to_string(), "¥50.00");
        assert_eq!(Money::cny(-1234).to_string(), "-¥12.34");
        assert_eq!(Money::cny(7).to_string(), "¥0.07");
    }

    #[test]
    fn add_checks_overflow() {
        assert_eq!(
            Money::cny(1).checked_add(Money::cny(2)),
            Some(Money::cny(3))
        );
        assert_eq!(Money::cny(i64::MAX).checked_add(Money::cny(1)), None);
    }
}
