//! Pricing a job: the fee table in force on the work date, each line's entitlement,
//! bundles for the charged services, deposits for covered parts, and the totals.
//!
//! Services (fee items of kind `Service`) are charged once per job: quantity 1, each
//! code at most once. Asking for a bundle's own code (RELOCATE_MAINT) means asking for
//! its services. Bundles apply to the services that are *charged* after entitlement, so a
//! service the warranty makes free is never folded into a paid bundle.
//!
//! Bundle choice: among all ways of splitting the charged services into single services
//! and bundles whose services are all present (a bundle never charges for a service that
//! was not done), take the cheapest; on a tie, the one with fewer lines; then the one whose
//! sorted list of codes comes first. So {RELOCATE, MAINT} is RELOCATE_MAINT (50, not 70),
//! {RELOCATE, MAINT, REPLACE} is RELOCATE_MAINT_REPLACE (60, not 70), and {MAINT, REPLACE}
//! is MAINT alone (30: "parts found needed during maintenance: parts only").
//!
//! The output does not depend on the order of the requested lines: lines are put in a
//! canonical order first (services by code, then labour, travel, parts by code).

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::entitlement::{entitle, Appliance, CoveredBy, RecordedExclusion, ServiceContract};
use super::fee_table::{select_version, FeeItem, FeeTableStamp, FeeTableVersion, ItemKind};
use super::old_parts::{returned_reason, OldPartState};
use super::{Bilingual, RulesConfig, RulesError};
use crate::Money;

/// The largest quantity on one line; more is a typing mistake.
pub const MAX_QUANTITY: i32 = 999;

/// More distinct services than this on one job is refused (bundle search is exponential
/// in it; real tables have a handful).
pub const MAX_SERVICES: usize = 24;

/// One thing the technician did or fitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RequestedLine {
    /// A fee-item code of the table in force.
    pub code: String,
    pub quantity: i32,
    /// The component the line concerns. `None`: the item's own component (parts), else
    /// the appliance as a whole.
    pub component: Option<String>,
    /// The technician's unit price; only open-priced items accept one.
    pub price: Option<Money>,
    /// For a covered part: its old part is back in the warehouse (004 §4.5a).
    pub old_part_returned: bool,
}

/// Everything about the job that pricing reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct JobInput {
    /// The day the fault was seen on site: decides warranty and contract.
    pub visit_date: NaiveDate,
    /// The day the work was done: picks the fee table.
    pub work_date: NaiveDate,
    pub appliance: Appliance,
    pub contracts: Vec<ServiceContract>,
    pub exclusions: Vec<RecordedExclusion>,
    pub lines: Vec<RequestedLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Free to the customer.
    Covered,
    /// The customer pays.
    Charged,
    /// A covered part the customer pays for until its old part is returned.
    Deposit,
}

/// One line of the quote or the bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PricedLine {
    pub code: String,
    pub name: Bilingual,
    pub kind: ItemKind,
    pub component: Option<String>,
    pub quantity: i32,
    pub unit_price: Money,
    /// The technician set the unit price (open-priced item).
    pub price_set_by_technician: bool,
    /// `quantity × unit_price`, whoever pays it.
    pub amount: Money,
    pub status: LineStatus,
    pub covered_by: Option<CoveredBy>,
    /// For covered parts: whether the old part must still come back.
    pub old_part: Option<OldPartState>,
    /// What the customer pays for this line now: `amount` when charged or held as a
    /// deposit, zero when covered.
    pub charged: Money,
    /// For a bundle: the requested services it stands for, by code.
    pub includes: Vec<String>,
    /// Why, for the customer: the entitlement first, then bundle or old-part notes.
    pub reasons: Vec<Bilingual>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Totals {
    /// Every line at its price.
    pub gross: Money,
    /// Lines the warranty or a contract pays.
    pub covered: Money,
    /// Covered parts held as a deposit until their old part is returned.
    pub deposit: Money,
    /// Lines the customer pays outright.
    pub charged: Money,
    /// What the customer pays now: `charged + deposit`. Always `gross - covered`.
    pub due: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PricedJob {
    pub fee_table: FeeTableStamp,
    pub work_date: NaiveDate,
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
}

impl PricedJob {
    /// The old part of deposit line `line` is back in the warehouse: the deposit is
    /// reversed and the line becomes covered (004 §4.5a). Gives the same result as pricing
    /// the job again with `old_part_returned` set on that line.
    pub fn reverse_deposit(&mut self, line: usize) -> Result<(), RulesError> {
        let priced = self
            .lines
            .get_mut(line)
            .filter(|l| l.status == LineStatus::Deposit)
            .ok_or(RulesError::NoDepositOnLine { line })?;
        priced.status = LineStatus::Covered;
        priced.old_part = Some(OldPartState::Returned);
        priced.charged = zero(priced.amount);
        if let Some(last) = priced.reasons.last_mut() {
            *last = returned_reason();
        }
        self.totals = Totals::of(&self.lines)?;
        Ok(())
    }
}

impl Totals {
    pub fn of(lines: &[PricedLine]) -> Result<Totals, RulesError> {
        let currency_zero = lines.first().map_or(Money::cny(0), |l| zero(l.amount));
        let sum = |pick: &dyn Fn(&PricedLine) -> Option<Money>| {
            lines
                .iter()
                .filter_map(pick)
                .try_fold(currency_zero, |acc, m| acc.checked_add(m))
                .ok_or(RulesError::Overflow)
        };
        let with_status =
            |status: LineStatus| move |l: &PricedLine| (l.status == status).then_some(l.amount);
        let charged = sum(&with_status(LineStatus::Charged))?;
        let deposit = sum(&with_status(LineStatus::Deposit))?;
        Ok(Totals {
            gross: sum(&|l| Some(l.amount))?,
            covered: sum(&with_status(LineStatus::Covered))?,
            deposit,
            charged,
            due: charged.checked_add(deposit).ok_or(RulesError::Overflow)?,
        })
    }
}

fn zero(like: Money) -> Money {
    Money {
        minor: 0,
        currency: like.currency,
    }
}

fn times(unit: Money, quantity: i32) -> Result<Money, RulesError> {
    Ok(Money {
        minor: unit
            .minor
            .checked_mul(i64::from(quantity))
            .ok_or(RulesError::Overflow)?,
        currency: unit.currency,
    })
}

/// A requested line checked against the table. Field order is the canonical order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Work<'t> {
    kind: ItemKind,
    code: &'t str,
    component: Option<String>,
    quantity: i32,
    unit_price: i64,
    price_set: bool,
    returned: bool,
    item_index: usize,
}

fn check_line<'t>(
    table: &'t FeeTableVersion,
    line: &RequestedLine,
) -> Result<(&'t FeeItem, usize, Money), RulesError> {
    let (index, item) = table
        .items
        .iter()
        .enumerate()
        .find(|(_, item)| item.code == line.code)
        .ok_or_else(|| RulesError::UnknownItem {
            code: line.code.clone(),
        })?;
    if !(1..=MAX_QUANTITY).contains(&line.quantity) {
        return Err(RulesError::InvalidQuantity {
            code: line.code.clone(),
            quantity: line.quantity,
            max: MAX_QUANTITY,
        });
    }
    if item.kind == ItemKind::Service && line.quantity != 1 {
        return Err(RulesError::ServiceQuantityNotOne {
            code: line.code.clone(),
        });
    }
    let unit_price = match line.price {
        None => item.price,
        Some(_) if !item.open_priced => {
            return Err(RulesError::PriceNotEditable {
                code: line.code.clone(),
            })
        }
        Some(price) if price.currency != item.price.currency => {
            return Err(RulesError::CurrencyMismatch {
                code: line.code.clone(),
            })
        }
        Some(price) if price.minor < 0 => {
            return Err(RulesError::NegativePrice {
                code: line.code.clone(),
            })
        }
        Some(price) => price,
    };
    Ok((item, index, unit_price))
}

/// Checks the requested lines, expands requested bundles into their services and puts
/// everything in canonical order.
fn prepare<'t>(
    table: &'t FeeTableVersion,
    lines: &[RequestedLine],
) -> Result<Vec<Work<'t>>, RulesError> {
    let mut work = Vec::with_capacity(lines.len());
    for line in lines {
        let (item, index, unit_price) = check_line(table, line)?;
        let codes: Vec<&str> = match table.pure_bundle(&item.code) {
            Some(bundle) => bundle.services.iter().map(String::as_str).collect(),
            None => vec![item.code.as_str()],
        };
        for code in codes {
            let (item, item_index) = if code == item.code {
                (item, index)
            } else {
                let found = table
                    .items
                    .iter()
                    .position(|i| i.code == code)
                    .ok_or_else(|| RulesError::UnknownItem { code: code.into() })?;
                (&table.items[found], found)
            };
            work.push(Work {
                kind: item.kind,
                code: &item.code,
                component: line.component.clone().or_else(|| item.component.clone()),
                quantity: line.quantity,
                unit_price: if item_index == index {
                    unit_price.minor
                } else {
                    item.price.minor
                },
                price_set: line.price.is_some() && item_index == index,
                returned: line.old_part_returned,
                item_index,
            });
        }
    }
    work.sort();
    let services: Vec<&str> = work
        .iter()
        .filter(|w| w.kind == ItemKind::Service)
        .map(|w| w.code)
        .collect();
    if let Some(pair) = services.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(RulesError::DuplicateService {
            code: pair[0].into(),
        });
    }
    if services.len() > MAX_SERVICES {
        return Err(RulesError::TooManyServices { max: MAX_SERVICES });
    }
    Ok(work)
}

/// Prices a job. `versions` is every fee-table version head office published; the one in
/// force on `job.work_date` is used and stamped on the result.
pub fn price_job(
    versions: &[FeeTableVersion],
    config: &RulesConfig,
    job: &JobInput,
) -> Result<PricedJob, RulesError> {
    let table = select_version(versions, job.work_date)?;
    table.validate()?;
    let work = prepare(table, &job.lines)?;

    let mut lines = Vec::with_capacity(work.len());
    let mut charged_services = Vec::new();
    for w in &work {
        let item = &table.items[w.item_index];
        let entitlement = entitle(
            &config.warranty,
            &job.appliance,
            &job.contracts,
            &job.exclusions,
            job.visit_date,
            item,
            w.component.as_deref(),
        )?;
        let unit_price = Money {
            minor: w.unit_price,
            currency: item.price.currency,
        };
        let amount = times(unit_price, w.quantity)?;
        let mut line = PricedLine {
            code: item.code.clone(),
            name: item.name.clone(),
            kind: item.kind,
            component: w.component.clone(),
            quantity: w.quantity,
            unit_price,
            price_set_by_technician: w.price_set,
            amount,
            status: LineStatus::Charged,
            covered_by: entitlement.covered_by,
            old_part: None,
            charged: amount,
            includes: Vec::new(),
            reasons: vec![entitlement.reason],
        };
        if entitlement.covered_by.is_some() {
            line.status = LineStatus::Covered;
            line.charged = zero(amount);
            if item.kind == ItemKind::Part {
                let state = OldPartState::decide(&config.old_parts, item, unit_price, w.returned);
                if state == OldPartState::Awaiting {
                    line.status = LineStatus::Deposit;
                    line.charged = amount;
                }
                line.old_part = Some(state);
                line.reasons.push(state.reason(&config.old_parts));
            }
        } else if item.kind == ItemKind::Service {
            charged_services.push(line);
            continue;
        }
        lines.push(line);
    }

    let bundled = apply_bundles(table, charged_services)?;
    // Services first, by code; the rest keep the canonical order of `work`.
    let (mut services, others): (Vec<_>, Vec<_>) = lines
        .into_iter()
        .chain(bundled)
        .partition(|l| l.kind == ItemKind::Service);
    services.sort_by(|a, b| a.code.cmp(&b.code).then(a.includes.cmp(&b.includes)));
    services.extend(others);

    let totals = Totals::of(&services)?;
    Ok(PricedJob {
        fee_table: table.stamp(),
        work_date: job.work_date,
        lines: services,
        totals,
    })
}

/// A way to charge some of the services: a single service or a bundle.
struct Candidate<'t> {
    code: &'t str,
    members: u64,
    price: i64,
}

#[derive(Clone)]
struct Cover {
    price: i64,
    /// Indexes into the candidates, sorted by code.
    blocks: Vec<usize>,
}

/// Replaces the charged service lines by the cheapest cover (see the module docs).
fn apply_bundles(
    table: &FeeTableVersion,
    services: Vec<PricedLine>,
) -> Result<Vec<PricedLine>, RulesError> {
    if services.len() < 2 {
        return Ok(services);
    }
    let position = |code: &str| services.iter().position(|s| s.code == code);
    let mut candidates: Vec<Candidate> = services
        .iter()
        .enumerate()
        .map(|(i, s)| Candidate {
            code: &s.code,
            members: 1 << i,
            price: s.amount.minor,
        })
        .collect();
    for bundle in &table.bundles {
        let positions: Option<Vec<usize>> = bundle.services.iter().map(|c| position(c)).collect();
        let (Some(positions), Some(item)) = (positions, table.item(&bundle.code)) else {
            continue;
        };
        candidates.push(Candidate {
            code: &item.code,
            members: positions.iter().fold(0, |mask, p| mask | 1 << p),
            price: item.price.minor,
        });
    }

    let all = (1u64 << services.len()) - 1;
    let mut memo = HashMap::new();
    let cover = cheapest(all, &candidates, &mut memo)?;

    let mut out = Vec::with_capacity(cover.blocks.len());
    for &block in &cover.blocks {
        let candidate = &candidates[block];
        let members: Vec<&PricedLine> = services
            .iter()
            .enumerate()
            .filter(|(i, _)| candidate.members & (1 << i) != 0)
            .map(|(_, s)| s)
            .collect();
        if let [single] = members[..] {
            out.push(single.clone());
            continue;
        }
        let item = table
            .item(candidate.code)
            .ok_or_else(|| RulesError::UnknownItem {
                code: candidate.code.into(),
            })?;
        let mut reasons: Vec<Bilingual> = members.iter().map(|m| m.reasons[0].clone()).collect();
        reasons.push(bundle_reason(item, &members));
        out.push(PricedLine {
            code: item.code.clone(),
            name: item.name.clone(),
            kind: ItemKind::Service,
            component: None,
            quantity: 1,
            unit_price: item.price,
            price_set_by_technician: false,
            amount: item.price,
            status: LineStatus::Charged,
            covered_by: None,
            old_part: None,
            charged: item.price,
            includes: members.iter().map(|m| m.code.clone()).collect(),
            reasons,
        });
    }
    Ok(out)
}

/// The best cover of the services in `left`: cheapest, then fewest blocks, then the
/// smallest sorted list of codes. Always exists, since every service is a candidate alone.
fn cheapest(
    left: u64,
    candidates: &[Candidate],
    memo: &mut HashMap<u64, Cover>,
) -> Result<Cover, RulesError> {
    if left == 0 {
        return Ok(Cover {
            price: 0,
            blocks: Vec::new(),
        });
    }
    if let Some(found) = memo.get(&left) {
        return Ok(found.clone());
    }
    let lowest = left & left.wrapping_neg();
    let mut best: Option<Cover> = None;
    for (index, candidate) in candidates.iter().enumerate() {
        if candidate.members & lowest == 0 || candidate.members & !left != 0 {
            continue;
        }
        let rest = cheapest(left & !candidate.members, candidates, memo)?;
        let mut blocks = rest.blocks;
        let at = blocks.partition_point(|&b| candidates[b].code <= candidate.code);
        blocks.insert(at, index);
        let option = Cover {
            price: rest
                .price
                .checked_add(candidate.price)
                .ok_or(RulesError::Overflow)?,
            blocks,
        };
        let key = |c: &Cover| {
            (
                c.price,
                c.blocks.len(),
                c.blocks
                    .iter()
                    .map(|&b| candidates[b].code)
                    .collect::<Vec<_>>(),
            )
        };
        if best.as_ref().is_none_or(|b| key(&option) < key(b)) {
            best = Some(option);
        }
    }
    // Unreachable: each service is a candidate on its own, so `lowest` has one.
    let best = best.ok_or(RulesError::Overflow)?;
    memo.insert(left, best.clone());
    Ok(best)
}

fn bundle_reason(bundle: &FeeItem, members: &[&PricedLine]) -> Bilingual {
    let others: Vec<&&PricedLine> = members.iter().filter(|m| m.code != bundle.code).collect();
    let zh: Vec<&str> = others.iter().map(|m| m.name.zh.as_str()).collect();
    let en: Vec<&str> = others.iter().map(|m| m.name.en.as_str()).collect();
    Bilingual::new(
        format!(
            "{}已包含{}：合并收费{}",
            bundle.name.zh,
            zh.join("、"),
            bundle.price
        ),
        format!(
            "{} includes {}: one fee of {}",
            bundle.name.en,
            en.join(" + "),
            bundle.price
        ),
    )
}
