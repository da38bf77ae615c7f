//! Fee tables: what each item costs, which services come cheaper together, and which
//! version of the table applies on a given date (001 §5.2.3; DOMAIN.md "Fee table").

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Bilingual, RulesError};
use crate::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A service from the published list (install, maintain, relocate, replace). Charged
    /// once per job; bundles combine services.
    Service,
    /// Labour charged by quantity (hours, units).
    Labour,
    /// Travel charged by quantity (trips, km).
    Travel,
    /// A part or consumable fitted on the job.
    Part,
}

/// One row of a fee table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FeeItem {
    pub code: String,
    pub name: Bilingual,
    pub kind: ItemKind,
    /// The list price of one unit.
    pub price: Money,
    /// The technician may set the price on the job (for instance a quoted repair). All
    /// other items refuse a technician's price.
    pub open_priced: bool,
    /// Warranty and service contracts may make this item free. Services that are not
    /// repairs (relocation, which the customer chooses) are charged whatever the warranty.
    pub coverable: bool,
    /// For parts: the component the part is, which decides its warranty (a filter is a
    /// consumable). `None`: the appliance as a whole.
    pub component: Option<String>,
    /// For parts: the old part has a recovery value, so it must come back even when
    /// cheap (004 §4.5a).
    pub recoverable: bool,
}

/// A bundle: when every service in `services` is charged on one job, they may be charged
/// together at the price of the item `code` instead of one by one. A bundle's item may
/// be one of its own services: `MAINT` covering `{MAINT, REPLACE}` says "parts found
/// needed during maintenance: parts only" (001 §5.2.3 ②).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Bundle {
    pub code: String,
    pub services: Vec<String>,
}

/// One version of the fee table, in force from `effective_from` until the next version
/// takes effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FeeTableVersion {
    pub version: String,
    pub effective_from: NaiveDate,
    pub items: Vec<FeeItem>,
    pub bundles: Vec<Bundle>,
}

/// Which table priced a job; stored with the job.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub struct FeeTableStamp {
    pub version: String,
    pub effective_from: NaiveDate,
}

impl FeeTableVersion {
    pub fn stamp(&self) -> FeeTableStamp {
        FeeTableStamp {
            version: self.version.clone(),
            effective_from: self.effective_from,
        }
    }

    pub fn item(&self, code: &str) -> Option<&FeeItem> {
        self.items.iter().find(|item| item.code == code)
    }

    /// Checks what pricing relies on: unique codes, no negative prices, bundles made of
    /// services that exist.
    pub fn validate(&self) -> Result<(), RulesError> {
        let problem = |problem: String| RulesError::InvalidFeeTable {
            version: self.version.clone(),
            problem,
        };
        let mut codes = HashSet::new();
        for item in &self.items {
            if !codes.insert(item.code.as_str()) {
                return Err(problem(format!("item {} appears twice", item.code)));
            }
            if item.price.minor < 0 {
                return Err(problem(format!("item {} has a negative price", item.code)));
            }
        }
        let is_service = |code: &str| {
            self.item(code)
                .is_some_and(|item| item.kind == ItemKind::Service)
        };
        for bundle in &self.bundles {
            if !is_service(&bundle.code) {
                return Err(problem(format!("bundle {} is not a service", bundle.code)));
            }
            if self.item(&bundle.code).is_some_and(|item| item.open_priced) {
                return Err(problem(format!(
                    "bundle {} must have a fixed price",
                    bundle.code
                )));
            }
            let distinct: HashSet<&str> = bundle.services.iter().map(String::as_str).collect();
            if bundle.services.len() < 2 || distinct.len() != bundle.services.len() {
                return Err(problem(format!(
                    "bundle {} needs two or more distinct services",
                    bundle.code
                )));
            }
            if let Some(bad) = bundle.services.iter().find(|code| !is_service(code)) {
                return Err(problem(format!(
                    "bundle {} names {bad}, which is not a service",
                    bundle.code
                )));
            }
        }
        Ok(())
    }

    /// The bundle whose item is `code` and which does not contain its own item: asking for
    /// it means asking for its services (RELOCATE_MAINT = RELOCATE + MAINT).
    pub(crate) fn pure_bundle(&self, code: &str) -> Option<&Bundle> {
        self.bundles
            .iter()
            .find(|bundle| bundle.code == code && !bundle.services.iter().any(|s| s == code))
    }
}

/// The version in force on `date`: the one with the latest `effective_from` on or before
/// it. A version takes effect at the start of its `effective_from` day. Two versions with
/// the same date are ambiguous and refused rather than picked by list order.
pub fn select_version(
    versions: &[FeeTableVersion],
    date: NaiveDate,
) -> Result<&FeeTableVersion, RulesError> {
    let latest = versions
        .iter()
        .map(|v| v.effective_from)
        .filter(|from| *from <= date)
        .max()
        .ok_or(RulesError::NoFeeTableInForce { date })?;
    let mut in_force = versions.iter().filter(|v| v.effective_from == latest);
    let best = in_force
        .next()
        .ok_or(RulesError::NoFeeTableInForce { date })?;
    if in_force.next().is_some() {
        return Err(RulesError::AmbiguousFeeTable {
            effective_from: latest,
        });
    }
    Ok(best)
}

/// The water-purifier services of 001 §5.2.3 at the seed's prices (yuan, held in fen) and
/// bundles. The seed's parts list is an annex we do not have: the parts, their prices and
/// the two labour/travel items below are made up for tests, benchmarks and demo data.
pub fn water_purifier_table(version: &str, effective_from: NaiveDate) -> FeeTableVersion {
    let service = |code: &str, zh: &str, en: &str, yuan: i64, coverable: bool| FeeItem {
        code: code.into(),
        name: Bilingual::new(zh, en),
        kind: ItemKind::Service,
        price: Money::cny(yuan * 100),
        open_priced: false,
        coverable,
        component: None,
        recoverable: false,
    };
    let part =
        |code: &str, zh: &str, en: &str, fen: i64, component: &str, recoverable: bool| FeeItem {
            code: code.into(),
            name: Bilingual::new(zh, en),
            kind: ItemKind::Part,
            price: Money::cny(fen),
            open_priced: false,
            coverable: true,
            component: Some(component.into()),
            recoverable,
        };
    FeeTableVersion {
        version: version.into(),
        effective_from,
        items: vec![
            service("INSTALL", "首次安装", "First installation", 0, false),
            service("MAINT", "维护一台水机", "Maintain one unit", 30, true),
            service(
                "RELOCATE",
                "迁移再安装",
                "Relocate and reinstall",
                40,
                false,
            ),
            service(
                "RELOCATE_MAINT",
                "迁移并维护",
                "Relocate and maintain",
                50,
                false,
            ),
            service(
                "RELOCATE_MAINT_REPLACE",
                "迁移、维护并更换零部件",
                "Relocate, maintain and replace parts",
                60,
                false,
            ),
            service(
                "REPLACE",
                "更换滤芯或零部件",
                "Replace a filter or part",
                20,
                true,
            ),
            part(
                "FILTER_PP",
                "PP棉滤芯",
                "PP cotton filter",
                3_500,
                "filter",
                false,
            ),
            part("PUMP", "增压泵", "Booster pump", 18_000, "pump", true),
            part(
                "VALVE",
                "进水电磁阀",
                "Inlet solenoid valve",
                3_000,
                "valve",
                false,
            ),
            part("FAUCET", "龙头", "Faucet", 4_500, "faucet", true),
            FeeItem {
                code: "LABOUR_QUOTED".into(),
                name: Bilingual::new("报价维修工时", "Quoted repair labour"),
                kind: ItemKind::Labour,
                price: Money::cny(0),
                open_priced: true,
                coverable: true,
                component: None,
                recoverable: false,
            },
            FeeItem {
                code: "TRAVEL_KM".into(),
                name: Bilingual::new("远程上门里程", "Remote call-out, per km"),
                kind: ItemKind::Travel,
                price: Money::cny(100),
                open_priced: false,
                coverable: true,
                component: None,
                recoverable: false,
            },
        ],
        bundles: vec![
            Bundle {
                code: "MAINT".into(),
                services: vec!["MAINT".into(), "REPLACE".into()],
            },
            Bundle {
                code: "RELOCATE_MAINT".into(),
                services: vec!["RELOCATE".into(), "MAINT".into()],
            },
            Bundle {
                code: "RELOCATE_MAINT_REPLACE".into(),
                services: vec!["RELOCATE".into(), "MAINT".into(), "REPLACE".into()],
            },
        ],
    }
}
