//! Entitlement: is a line free (warranty or service contract) or charged, and why.
//!
//! The checks run in this order; the first that decides wins (DOMAIN.md "Diagnosis and
//! entitlement"):
//! 1. an item that is not a repair (relocation) is charged whatever the warranty;
//! 2. a consumable (filter) is never covered, by warranty or contract (001 §5.1.2);
//! 3. an exclusion the technician recorded on the component or the whole appliance
//!    voids warranty and contract alike (001 §5.1.3, 003, 004 §4.5a);
//! 4. a service contract in force on the visit date covering the line's kind (labour:
//!    services, labour, travel; parts: parts) makes it free (000 §5.3);
//! 5. otherwise the warranty: it needs a proof of purchase with a date and a seal
//!    (001 §5.1.3), and runs from the date on the proof for the component's term, or the
//!    category's, or the default 12 months (001 §5.1, 003, 000 §5.1).
//!
//! Month arithmetic: see [`warranty_expiry`].

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::fee_table::{FeeItem, ItemKind};
use super::{Bilingual, RulesError};
use crate::view::{ProofKind, ProofOfPurchase};

/// The longest warranty term accepted (100 years); anything above is a typing mistake.
pub const MAX_WARRANTY_MONTHS: u32 = 1200;

/// What the rules need to know about the appliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Appliance {
    pub category: String,
    /// The purchase date on record. The warranty runs from the date on the proof; this one
    /// is only checked for plausibility (not after the visit).
    pub purchase_date: Option<NaiveDate>,
    pub proof: ProofOfPurchase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ContractCover {
    Labour,
    Parts,
    Both,
}

impl ContractCover {
    fn covers(self, kind: ItemKind) -> bool {
        match self {
            ContractCover::Both => true,
            ContractCover::Labour => kind != ItemKind::Part,
            ContractCover::Parts => kind == ItemKind::Part,
        }
    }

    fn describe(self) -> Bilingual {
        match self {
            ContractCover::Labour => Bilingual::new("人工", "labour"),
            ContractCover::Parts => Bilingual::new("配件", "parts"),
            ContractCover::Both => Bilingual::new("人工和配件", "labour and parts"),
        }
    }
}

/// A maintenance contract on the appliance, valid from and to the given days inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct ServiceContract {
    pub covers: ContractCover,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
}

/// Causes that void free service even inside the warranty (001 §5.1.3, 003 第七条,
/// 004 §4.5a). Declared in the order in which they are reported when several apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// 使用不当 (001 §5.1.3; 003 非正常使用).
    Misuse,
    /// 自行搬运不当、摔落 (001 §5.1.3).
    DroppedOrMovedImproperly,
    /// 火灾、地震或不可抗力, floods included (001 §5.1.3; 003 自然灾害).
    ForceMajeure,
    /// 未经授权的维修或更换零件, 自行拆卸、改造 (003).
    UnauthorisedRepair,
    /// 三包期配件人为损毁: a part damaged by the customer (004 §4.5a).
    CustomerDamage,
}

impl Exclusion {
    pub const ALL: [Exclusion; 5] = [
        Exclusion::Misuse,
        Exclusion::DroppedOrMovedImproperly,
        Exclusion::ForceMajeure,
        Exclusion::UnauthorisedRepair,
        Exclusion::CustomerDamage,
    ];

    pub fn describe(self) -> Bilingual {
        match self {
            Exclusion::Misuse => Bilingual::new("使用不当造成的故障或损坏", "misuse"),
            Exclusion::DroppedOrMovedImproperly => Bilingual::new(
                "自行搬运不当或摔落造成的故障或损坏",
                "dropped or moved improperly",
            ),
            Exclusion::ForceMajeure => Bilingual::new(
                "火灾、水灾、地震等不可抗力造成的损坏",
                "fire, flood, earthquake or other force majeure",
            ),
            Exclusion::UnauthorisedRepair => Bilingual::new(
                "未经授权的维修或改装",
                "unauthorised repair or modification",
            ),
            Exclusion::CustomerDamage => Bilingual::new("人为损坏", "damaged by the customer"),
        }
    }
}

/// An exclusion the technician recorded, on one component or (`None`) the whole
/// appliance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct RecordedExclusion {
    pub kind: Exclusion,
    pub component: Option<String>,
}

/// How long a component is covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// The appliance category's term.
    CategoryDefault,
    /// Its own term, in months (glass and mirrors 6, 003; a compressor 36).
    Months(u32),
    /// Never covered (filters, 001 §5.1.2).
    Consumable,
}

/// A component the warranty policy knows: its name for the reasons and its term. A rule
/// with a `category` applies to that category only and wins over a rule without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ComponentRule {
    pub category: Option<String>,
    pub code: String,
    pub name: Bilingual,
    pub term: Term,
}

/// A category whose term differs from the default (daily goods 6 months, 003 第六条).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CategoryTerm {
    pub category: String,
    pub months: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WarrantyPolicy {
    /// 12 months (001 §5.1.2, 003 第五条).
    pub default_months: u32,
    pub categories: Vec<CategoryTerm>,
    pub components: Vec<ComponentRule>,
}

impl Default for WarrantyPolicy {
    fn default() -> Self {
        WarrantyPolicy {
            default_months: 12,
            categories: Vec::new(),
            components: Vec::new(),
        }
    }
}

impl WarrantyPolicy {
    fn category_months(&self, category: &str) -> u32 {
        self.categories
            .iter()
            .find(|c| c.category == category)
            .map_or(self.default_months, |c| c.months)
    }

    fn component(&self, category: &str, code: &str) -> Result<&ComponentRule, RulesError> {
        let matching = |want_category: bool| {
            self.components.iter().find(|rule| {
                rule.code == code
                    && match &rule.category {
                        Some(c) => want_category && c == category,
                        None => !want_category,
                    }
            })
        };
        matching(true)
            .or_else(|| matching(false))
            .ok_or_else(|| RulesError::UnknownComponent { code: code.into() })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CoveredBy {
    Warranty,
    Contract,
}

/// The decision for one line: free (and by what) or charged (`covered_by: None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Entitlement {
    pub covered_by: Option<CoveredBy>,
    pub reason: Bilingual,
}

impl Entitlement {
    fn charged(reason: Bilingual) -> Self {
        Entitlement {
            covered_by: None,
            reason,
        }
    }
}

/// The first day a warranty of `months` starting on `start` no longer covers.
///
/// The warranty covers the purchase day and ends the day before the same day of the
/// month `months` later: 12 months from 2025-03-02 cover up to and including
/// 2026-03-01. When that day does not exist in the final month, the warranty runs to
/// the end of that month: one month from 2025-01-31 (or 01-30, 01-29) covers up to
/// 2025-02-28; 12 months from 2024-02-29 cover up to 2025-02-28. So the customer is
/// never given less than the calendar month, and never more than its last day.
pub fn warranty_expiry(start: NaiveDate, months: u32) -> Result<NaiveDate, RulesError> {
    let bad = RulesError::InvalidWarrantyTerm { months };
    if months > MAX_WARRANTY_MONTHS {
        return Err(bad);
    }
    let same_day = start
        .checked_add_months(Months::new(months))
        .ok_or(bad.clone())?;
    if same_day.day0() == start.day0() {
        Ok(same_day)
    } else {
        // chrono clamped to the month's last day: the day after it.
        same_day.checked_add_days(Days::new(1)).ok_or(bad)
    }
}

enum ProofProblem {
    Missing,
    Undated,
    Unsealed,
}

fn proof_start(proof: &ProofOfPurchase) -> Result<NaiveDate, ProofProblem> {
    if proof.kind == ProofKind::None {
        return Err(ProofProblem::Missing);
    }
    let date = proof.date.ok_or(ProofProblem::Undated)?;
    if !proof.sealed {
        return Err(ProofProblem::Unsealed);
    }
    Ok(date)
}

/// Decides one line. `component` is the component the line concerns (`None`: the
/// appliance as a whole); `visit_date` is the day the fault was seen on site.
pub fn entitle(
    policy: &WarrantyPolicy,
    appliance: &Appliance,
    contracts: &[ServiceContract],
    exclusions: &[RecordedExclusion],
    visit_date: NaiveDate,
    item: &FeeItem,
    component: Option<&str>,
) -> Result<Entitlement, RulesError> {
    if [appliance.purchase_date, appliance.proof.date]
        .into_iter()
        .flatten()
        .any(|date| date > visit_date)
    {
        return Err(RulesError::PurchaseDateInFuture);
    }
    if contracts.iter().any(|c| c.valid_from > c.valid_to) {
        return Err(RulesError::InvalidContract);
    }

    if !item.coverable {
        return Ok(Entitlement::charged(reason::not_coverable(&item.name)));
    }

    let rule = match component {
        Some(code) => Some(policy.component(&appliance.category, code)?),
        None => None,
    };
    let subject = rule.map_or(&item.name, |rule| &rule.name);
    let term = rule.map_or(Term::CategoryDefault, |rule| rule.term);
    if term == Term::Consumable {
        return Ok(Entitlement::charged(reason::consumable(subject)));
    }

    let exclusion = exclusions
        .iter()
        .filter(|e| e.component.is_none() || e.component.as_deref() == component)
        .map(|e| e.kind)
        .min();
    if let Some(exclusion) = exclusion {
        return Ok(Entitlement::charged(reason::excluded(subject, exclusion)));
    }

    let contract = contracts
        .iter()
        .filter(|c| c.valid_from <= visit_date && visit_date <= c.valid_to)
        .filter(|c| c.covers.covers(item.kind))
        .max();
    if let Some(contract) = contract {
        return Ok(Entitlement {
            covered_by: Some(CoveredBy::Contract),
            reason: reason::contract(subject, contract),
        });
    }

    let start = match proof_start(&appliance.proof) {
        Ok(start) => start,
        Err(problem) => return Ok(Entitlement::charged(reason::no_proof(subject, problem))),
    };
    let months = match term {
        Term::Months(months) => months,
        _ => policy.category_months(&appliance.category),
    };
    let expiry = warranty_expiry(start, months)?;
    let last_day = expiry.pred_opt().unwrap_or(expiry);
    if visit_date < expiry {
        Ok(Entitlement {
            covered_by: Some(CoveredBy::Warranty),
            reason: reason::in_warranty(subject, months, start, last_day),
        })
    } else {
        Ok(Entitlement::charged(reason::warranty_ended(
            subject, months, start, last_day,
        )))
    }
}

/// The customer-facing texts, one function per decision.
mod reason {
    use super::*;

    pub fn not_coverable(item: &Bilingual) -> Bilingual {
        Bilingual::new(
            format!("{}：按收费标准收费，不属于保修维修", item.zh),
            format!(
                "{}: charged at the fee-table price, not a warranty repair",
                item.en
            ),
        )
    }

    pub fn consumable(subject: &Bilingual) -> Bilingual {
        Bilingual::new(
            format!("{}属于耗材，不在保修范围内", subject.zh),
            format!("{} is a consumable: not covered", subject.en),
        )
    }

    pub fn excluded(subject: &Bilingual, exclusion: Exclusion) -> Bilingual {
        let cause = exclusion.describe();
        Bilingual::new(
            format!("{}：{}，不在保修范围内", subject.zh, cause.zh),
            format!("{}: {}: not covered", subject.en, cause.en),
        )
    }

    pub fn contract(subject: &Bilingual, contract: &ServiceContract) -> Bilingual {
        let covers = contract.covers.describe();
        Bilingual::new(
            format!(
                "{}：服务合同（{}，有效期{}至{}）：免费",
                subject.zh, covers.zh, contract.valid_from, contract.valid_to
            ),
            format!(
                "{}: service contract for {}, valid {} to {}: covered",
                subject.en, covers.en, contract.valid_from, contract.valid_to
            ),
        )
    }

    pub(super) fn no_proof(subject: &Bilingual, problem: ProofProblem) -> Bilingual {
        let problem = match problem {
            ProofProblem::Missing => Bilingual::new("无购货凭证", "no proof of purchase"),
            ProofProblem::Undated => Bilingual::new(
                "购货凭证未注明购买日期",
                "the proof of purchase shows no date",
            ),
            ProofProblem::Unsealed => Bilingual::new(
                "购货凭证未加盖公司印章",
                "the proof of purchase has no seal",
            ),
        };
        Bilingual::new(
            format!(
                "{}：{}，免费服务须出示注明购买日期并加盖印章的购货凭证：收费",
                subject.zh, problem.zh
            ),
            format!(
                "{}: {}; free service needs a dated and sealed proof of purchase: charged",
                subject.en, problem.en
            ),
        )
    }

    pub fn in_warranty(
        subject: &Bilingual,
        months: u32,
        start: NaiveDate,
        last_day: NaiveDate,
    ) -> Bilingual {
        Bilingual::new(
            format!(
                "{}：保修期{}个月，购买日期{}，保修至{}：保修范围内，免费",
                subject.zh, months, start, last_day
            ),
            format!(
                "{}: {}-month warranty, purchased {}, covered through {}: covered",
                subject.en, months, start, last_day
            ),
        )
    }

    pub fn warranty_ended(
        subject: &Bilingual,
        months: u32,
        start: NaiveDate,
        last_day: NaiveDate,
    ) -> Bilingual {
        Bilingual::new(
            format!(
                "{}：保修期{}个月，购买日期{}，已于{}到期：收费",
                subject.zh, months, start, last_day
            ),
            format!(
                "{}: {}-month warranty, purchased {}, ended {}: charged",
                subject.en, months, start, last_day
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// (start, months, first day no longer covered). 001 §5.1: warranty from purchase.
    #[test]
    fn expiry_table() {
        let cases = [
            ("2025-03-02", 12, "2026-03-02"),
            ("2025-03-02", 36, "2028-03-02"),
            ("2025-01-31", 1, "2025-03-01"), // Feb 31 missing: covered through Feb 28
            ("2025-01-30", 1, "2025-03-01"),
            ("2025-01-28", 1, "2025-02-28"), // day exists: covered through Feb 27
            ("2024-01-31", 1, "2024-03-01"), // leap year: through Feb 29
            ("2024-01-29", 1, "2024-02-29"),
            ("2024-02-29", 12, "2025-03-01"), // leap day: through 2025-02-28
            ("2024-02-29", 48, "2028-02-29"),
            ("2025-03-31", 1, "2025-05-01"), // April 31 missing: through April 30
            ("2025-08-31", 6, "2026-03-01"),
            ("2025-12-31", 2, "2026-03-01"),
            ("2025-06-15", 0, "2025-06-15"), // a zero term covers nothing
        ];
        for (start, months, expiry) in cases {
            assert_eq!(
                warranty_expiry(d(start), months).unwrap(),
                d(expiry),
                "{start} + {months} months"
            );
        }
    }

    #[test]
    fn absurd_terms_are_errors_not_panics() {
        assert_eq!(
            warranty_expiry(d("2025-01-01"), MAX_WARRANTY_MONTHS + 1),
            Err(RulesError::InvalidWarrantyTerm {
                months: MAX_WARRANTY_MONTHS + 1
            })
        );
        assert!(warranty_expiry(NaiveDate::MAX, 1).is_err());
        assert!(warranty_expiry(d("2025-01-01"), MAX_WARRANTY_MONTHS).is_ok());
    }
}
