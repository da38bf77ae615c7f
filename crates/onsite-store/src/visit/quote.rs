//! Quote before work: the job priced by the rules engine with the fee-table version in
//! force on the work date, stored as a snapshot, and the customer's decision.
//!
//! Mapping of the stored fee table to the rules' types: `kind` as stored, except that an
//! item named in a bundle (`includes`) or having one is a *service* for the rules (charged
//! once per job, may be bundled: the demo's REPLACE is stored as labour); `includes` makes
//! a bundle; `coverable`, `component`, `recoverable` come from 0003's columns. The van's
//! parts (`part`) are priced as part items by part number unless the table has an item
//! with that code: component = the part's category (or `consumable` for a consumable part
//! whose category is not), recoverable = `return_required`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use onsite_domain::rules::{
    price_job, select_version, Appliance, Bilingual, Bundle, ComponentRule, FeeItem,
    FeeTableVersion, ItemKind, JobInput, LineStatus, OldPartPolicy, PricedJob, RequestedLine,
    RulesConfig, ServiceContract, Term, WarrantyPolicy,
};
use onsite_domain::view::{ProofKind, ProofOfPurchase};
use onsite_domain::{Money, WorkOrderStatus};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::{append, diagnosis, new_id, open_order, Order, Step, VisitError, VisitResult};
use crate::{outbox, settings, ts, StoreError};

/// The fee item charged when the customer refuses the quote, if the table has one.
pub const CALLOUT_CODE: &str = "CALLOUT";
/// The reason stamped on the order when the customer refuses the quote.
pub const QUOTE_DECLINED: &str = "quote_declined";

/// Settings (the `setting` table) the rules read, with their defaults.
pub const WARRANTY_MONTHS_KEY: &str = "rules.warranty_default_months";
pub const OLD_PART_EXEMPT_KEY: &str = "rules.old_part_exempt_below_minor";

/// One line the technician asks to quote: a fee-item code or a van part number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteLine {
    pub code: String,
    pub quantity: i32,
    /// The component the line concerns (`None`: the part's own, or the whole appliance).
    pub component: Option<String>,
    /// The technician's unit price, for open-priced items only.
    pub price_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteRequest {
    /// The day the fault was seen on site (warranty and contracts).
    pub visit_date: NaiveDate,
    /// The day the work is done (picks the fee table).
    pub work_date: NaiveDate,
    pub lines: Vec<QuoteLine>,
    /// Service contracts to add to those stored on the appliance (`contracts`).
    #[serde(default)]
    pub contracts: Vec<ServiceContract>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accepted,
    Declined,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Accepted => "accepted",
            Decision::Declined => "declined",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteDecision {
    pub decision: Decision,
    pub at: String,
}

/// A stored quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub id: String,
    pub work_order_id: String,
    pub fee_table_id: String,
    pub fee_table_version: i64,
    pub issued_at: String,
    /// As shown to the customer.
    pub priced: PricedJob,
    /// As it stands now: `priced` with the deposits of returned old parts reversed.
    pub current: PricedJob,
    pub decision: Option<QuoteDecision>,
    /// Due when declined: the priced call-out fee, if any.
    pub callout: Option<PricedJob>,
}

impl Quote {
    /// What the customer owes for this quote now.
    pub fn due_minor(&self) -> i64 {
        match self.decision.as_ref().map(|d| d.decision) {
            Some(Decision::Accepted) => self.current.totals.due.minor,
            Some(Decision::Declined) => self.callout.as_ref().map_or(0, |c| c.totals.due.minor),
            None => 0,
        }
    }
}

/// A fee-table version as stored, mapped for the rules.
#[derive(Debug, Clone)]
pub struct StoredFeeTable {
    pub id: String,
    pub version: i64,
    pub table: FeeTableVersion,
}

/// Every fee-table version of an appliance category, with the van's parts as part items.
pub fn load_fee_tables(conn: &Connection, category: &str) -> VisitResult<Vec<StoredFeeTable>> {
    let mut tables = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT id, version, effective_from FROM fee_table WHERE category = ?1 ORDER BY version",
    )?;
    let heads = stmt
        .query_map([category], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let parts = part_items(conn)?;
    let mut items_stmt = conn.prepare_cached(
        "SELECT code, name_zh, name_en, kind, price_minor, open_priced, includes, coverable,
                component, recoverable
         FROM fee_item WHERE fee_table_id = ?1 ORDER BY code",
    )?;
    for (id, version, effective_from) in heads {
        let effective_from: NaiveDate = effective_from
            .parse()
            .map_err(|_| StoreError::Invalid("stored fee-table date is not a date".into()))?;
        let rows = items_stmt
            .query_map([&id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, bool>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, bool>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, bool>(9)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut bundles = Vec::new();
        let mut in_bundles: HashSet<String> = HashSet::new();
        for row in &rows {
            let services: Vec<String> = row.6.split_whitespace().map(String::from).collect();
            if !services.is_empty() {
                in_bundles.insert(row.0.clone());
                in_bundles.extend(services.iter().cloned());
                bundles.push(Bundle {
                    code: row.0.clone(),
                    services,
                });
            }
        }
        let mut items: Vec<FeeItem> = rows
            .into_iter()
            .map(
                |(code, zh, en, kind, price, open, _, coverable, component, recoverable)| {
                    let kind = if in_bundles.contains(&code) {
                        ItemKind::Service
                    } else {
                        match kind.as_str() {
                            "service" => ItemKind::Service,
                            "labour" => ItemKind::Labour,
                            "travel" => ItemKind::Travel,
                            _ => ItemKind::Part,
                        }
                    };
                    FeeItem {
                        code,
                        name: Bilingual::new(zh, en),
                        kind,
                        price: Money::cny(price),
                        open_priced: open,
                        coverable,
                        component,
                        recoverable,
                    }
                },
            )
            .collect();
        let codes: HashSet<String> = items.iter().map(|i| i.code.clone()).collect();
        items.extend(parts.iter().filter(|p| !codes.contains(&p.code)).cloned());
        tables.push(StoredFeeTable {
            id,
            version,
            table: FeeTableVersion {
                version: version.to_string(),
                effective_from,
                items,
                bundles,
            },
        });
    }
    Ok(tables)
}

const CONSUMABLE: &str = "consumable";

fn part_items(conn: &Connection) -> VisitResult<Vec<FeeItem>> {
    let consumable_categories = consumable_components(conn)?;
    let mut stmt = conn.prepare_cached(
        "SELECT part_no, name_zh, name_en, category, price_minor, consumable, return_required
         FROM part ORDER BY part_no",
    )?;
    let rows = stmt.query_map([], |r| {
        let category: String = r.get(3)?;
        let consumable: bool = r.get(5)?;
        Ok((
            FeeItem {
                code: r.get(0)?,
                name: Bilingual::new(r.get::<_, String>(1)?, r.get::<_, String>(2)?),
                kind: ItemKind::Part,
                price: Money::cny(r.get(4)?),
                open_priced: false,
                coverable: true,
                component: Some(category.clone()),
                recoverable: r.get(6)?,
            },
            consumable,
        ))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (mut item, consumable) = row?;
        if consumable
            && !item
                .component
                .as_ref()
                .is_some_and(|c| consumable_categories.contains(c))
        {
            item.component = Some(CONSUMABLE.into());
        }
        items.push(item);
    }
    Ok(items)
}

fn consumable_components(conn: &Connection) -> VisitResult<HashSet<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT code FROM warranty_component WHERE term = 'consumable'")?;
    let codes = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<HashSet<String>, _>>()?;
    Ok(codes)
}

fn setting_i64(conn: &Connection, key: &str, default: i64) -> VisitResult<i64> {
    match settings::get(conn, key)? {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| VisitError::Invalid(format!("setting {key} is not a whole number"))),
    }
}

/// The rules' configuration: warranty terms (`warranty_component`, plus every part
/// category not listed there, consumable when all its parts are) and the old-part
/// threshold, from the settings with the seeds' defaults (12 months, 50 yuan). A
/// component listed only for some appliance categories is still priced on the others, by
/// its first row's term (a part quoted on an appliance it is not usually part of).
pub fn rules_config(conn: &Connection) -> VisitResult<RulesConfig> {
    let months = setting_i64(conn, WARRANTY_MONTHS_KEY, 12)?;
    let exempt = setting_i64(conn, OLD_PART_EXEMPT_KEY, 5_000)?;
    let mut components = component_rules(conn)?;
    let mut fallbacks: Vec<ComponentRule> = Vec::new();
    for rule in &components {
        let covered = components
            .iter()
            .chain(&fallbacks)
            .any(|r| r.code == rule.code && r.category.is_none());
        if !covered {
            fallbacks.push(ComponentRule {
                category: None,
                ..rule.clone()
            });
        }
    }
    components.extend(fallbacks);
    Ok(RulesConfig {
        warranty: WarrantyPolicy {
            default_months: u32::try_from(months.clamp(0, 1200)).unwrap_or(12),
            categories: Vec::new(),
            components,
        },
        old_parts: OldPartPolicy {
            exempt_below: Money::cny(exempt.max(0)),
        },
    })
}

/// The components the diagnosis offers for an appliance category: those listed for it or
/// for every category (a category's own row wins), the van's part categories not listed
/// at all, and consumables. A compressor, glass, a heater or a mirror is not offered for a
/// water purifier.
pub fn components_for(conn: &Connection, category: &str) -> VisitResult<Vec<ComponentRule>> {
    let mut offered: Vec<ComponentRule> = Vec::new();
    let mut rules = component_rules(conn)?;
    // Category rows first, so that they win over the rows for every category.
    rules.sort_by_key(|r| r.category.is_none());
    for rule in rules {
        let fits = rule.category.as_deref().is_none_or(|c| c == category);
        if fits && !offered.iter().any(|o| o.code == rule.code) {
            offered.push(rule);
        }
    }
    Ok(offered)
}

/// Every component rule as stored (`warranty_component`), then the van's part categories
/// not listed there, then consumables.
fn component_rules(conn: &Connection) -> VisitResult<Vec<ComponentRule>> {
    let mut components = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT category, code, name_zh, name_en, term, months FROM warranty_component
         ORDER BY category, code",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<i64>>(5)?,
        ))
    })?;
    let mut known = HashSet::new();
    for row in rows {
        let (category, code, zh, en, term, months) = row?;
        let term = match (term.as_str(), months) {
            ("consumable", _) => Term::Consumable,
            ("months", Some(m)) => Term::Months(m.clamp(0, 1200) as u32),
            _ => Term::CategoryDefault,
        };
        known.insert(code.clone());
        components.push(ComponentRule {
            category: (!category.is_empty()).then_some(category),
            code,
            name: Bilingual::new(zh, en),
            term,
        });
    }
    let mut stmt = conn.prepare_cached(
        "SELECT category, min(consumable) FROM part GROUP BY category ORDER BY category",
    )?;
    let derived = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    for (category, all_consumable) in derived {
        if known.insert(category.clone()) {
            components.push(ComponentRule {
                category: None,
                code: category.clone(),
                name: Bilingual::new(category.clone(), category),
                term: if all_consumable {
                    Term::Consumable
                } else {
                    Term::CategoryDefault
                },
            });
        }
    }
    if known.insert(CONSUMABLE.into()) {
        components.push(ComponentRule {
            category: None,
            code: CONSUMABLE.into(),
            name: Bilingual::new("耗材", "Consumable"),
            term: Term::Consumable,
        });
    }
    Ok(components)
}

pub(crate) fn appliance(conn: &Connection, appliance_id: &str) -> VisitResult<Appliance> {
    let (category, purchase, proof_kind, proof_date, sealed) = conn.query_row(
        "SELECT category, purchase_date, proof_kind, proof_date, proof_sealed
         FROM appliance WHERE id = ?1",
        [appliance_id],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, bool>(4)?,
            ))
        },
    )?;
    let date = |text: Option<String>| -> VisitResult<Option<NaiveDate>> {
        text.map(|t| {
            t.parse()
                .map_err(|_| StoreError::Invalid("stored date is not a date".into()).into())
        })
        .transpose()
    };
    Ok(Appliance {
        category,
        purchase_date: date(purchase)?,
        proof: ProofOfPurchase {
            kind: ProofKind::parse(&proof_kind).unwrap_or(ProofKind::None),
            date: date(proof_date)?,
            sealed,
        },
    })
}

/// Old parts already handed back on this job, by part number.
fn returned_old_parts(conn: &Connection, work_order_id: &str) -> VisitResult<HashMap<String, i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.part_no, sum(r.quantity) FROM part_return r JOIN part p ON p.id = r.part_id
         WHERE r.work_order_id = ?1 AND r.kind = 'old' GROUP BY p.part_no",
    )?;
    let map = stmt
        .query_map([work_order_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<HashMap<String, i64>, _>>()?;
    Ok(map)
}

fn job_input(
    conn: &Connection,
    order: &Order,
    visit_date: NaiveDate,
    work_date: NaiveDate,
    lines: &[QuoteLine],
    contracts: &[ServiceContract],
) -> VisitResult<JobInput> {
    let exclusions = diagnosis::current(conn, &order.id)?
        .map(|d| d.exclusions)
        .unwrap_or_default();
    let returned = returned_old_parts(conn, &order.id)?;
    Ok(JobInput {
        visit_date,
        work_date,
        appliance: appliance(conn, &order.appliance_id)?,
        // The appliance's contracts as stored (head office's), and any the caller adds.
        contracts: crate::contracts::for_appliance(conn, &order.appliance_id)?
            .iter()
            .map(crate::contracts::Contract::terms)
            .chain(contracts.iter().copied())
            .collect(),
        exclusions,
        lines: lines
            .iter()
            .map(|l| RequestedLine {
                code: l.code.trim().to_string(),
                quantity: l.quantity,
                component: l.component.clone(),
                price: l.price_minor.map(Money::cny),
                old_part_returned: returned
                    .get(l.code.trim())
                    .is_some_and(|n| *n >= i64::from(l.quantity)),
            })
            .collect(),
    })
}

#[derive(Serialize)]
struct QuotePayload<'a> {
    work_order_id: &'a str,
    quote_id: &'a str,
    fee_table_id: &'a str,
    fee_table_version: i64,
    visit_date: NaiveDate,
    work_date: NaiveDate,
    lines: Vec<PayloadLine<'a>>,
    gross_minor: i64,
    covered_minor: i64,
    deposit_minor: i64,
    charged_minor: i64,
    due_minor: i64,
    at: String,
}

#[derive(Serialize)]
struct PayloadLine<'a> {
    code: &'a str,
    quantity: i32,
    unit_price_minor: i64,
    status: LineStatus,
    charged_minor: i64,
}

/// Prices the job with the table in force on the work date and stores the quote (the
/// job's current quote from now on; a previous one is superseded). Refuses a purchase date
/// after the visit, absurd quantities and prices on fixed-price items (rules errors).
pub fn issue_quote(
    tx: &Transaction,
    work_order_id: &str,
    request: &QuoteRequest,
    now: DateTime<Utc>,
) -> VisitResult<Quote> {
    let order = open_order(tx, work_order_id, Step::Work)?;
    if request.lines.is_empty() {
        return Err(VisitError::QuoteEmpty);
    }
    if request.lines.len() > 200 {
        return Err(VisitError::Invalid("a quote has at most 200 lines".into()));
    }
    if let Some(line) = request
        .lines
        .iter()
        .find(|l| l.price_minor.is_some_and(|p| p > super::MAX_AMOUNT_MINOR))
    {
        return Err(VisitError::InvalidAmount {
            amount: line.price_minor.unwrap_or_default(),
            max: super::MAX_AMOUNT_MINOR,
        });
    }
    let appliance = appliance(tx, &order.appliance_id)?;
    let tables = load_fee_tables(tx, &appliance.category)?;
    let versions: Vec<FeeTableVersion> = tables.iter().map(|t| t.table.clone()).collect();
    let config = rules_config(tx)?;
    let job = job_input(
        tx,
        &order,
        request.visit_date,
        request.work_date,
        &request.lines,
        &request.contracts,
    )?;
    let priced = price_job(&versions, &config, &job)?;
    let stored = tables
        .iter()
        .find(|t| t.table.version == priced.fee_table.version)
        .ok_or(StoreError::NotFound("fee table"))?;

    let id = new_id();
    let t = priced.totals;
    let op_id = append(
        tx,
        outbox::kind::ISSUE_QUOTE,
        &order.id,
        Some(order.version),
        &QuotePayload {
            work_order_id: &order.id,
            quote_id: &id,
            fee_table_id: &stored.id,
            fee_table_version: stored.version,
            visit_date: request.visit_date,
            work_date: request.work_date,
            lines: priced
                .lines
                .iter()
                .map(|l| PayloadLine {
                    code: &l.code,
                    quantity: l.quantity,
                    unit_price_minor: l.unit_price.minor,
                    status: l.status,
                    charged_minor: l.charged.minor,
                })
                .collect(),
            gross_minor: t.gross.minor,
            covered_minor: t.covered.minor,
            deposit_minor: t.deposit.minor,
            charged_minor: t.charged.minor,
            due_minor: t.due.minor,
            at: ts(now),
        },
        now,
    )?;
    tx.execute(
        "INSERT INTO visit_quote (id, work_order_id, fee_table_id, fee_table_version, visit_date,
                                  work_date, request, priced, gross_minor, covered_minor,
                                  deposit_minor, charged_minor, due_minor, issued_at, issue_op_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            id,
            order.id,
            stored.id,
            stored.version,
            request.visit_date.to_string(),
            request.work_date.to_string(),
            serde_json::to_string(request).map_err(StoreError::from)?,
            serde_json::to_string(&priced).map_err(StoreError::from)?,
            t.gross.minor,
            t.covered.minor,
            t.deposit.minor,
            t.charged.minor,
            t.due.minor,
            ts(now),
            op_id
        ],
    )?;
    Ok(current(tx, &order.id)?.ok_or(StoreError::NotFound("quote"))?)
}

#[derive(Serialize)]
struct DecisionPayload<'a> {
    work_order_id: &'a str,
    quote_id: &'a str,
    decision: Decision,
    at: String,
    /// Declined: the order's status change, applied with this operation.
    status_from: Option<WorkOrderStatus>,
    status_to: Option<WorkOrderStatus>,
    reason: Option<&'a str>,
    callout_minor: i64,
}

/// Records the customer's acceptance or refusal of the current quote. A refusal ends the
/// visit (`unable_to_complete`, reason `quote_declined`) with the call-out fee due if the
/// fee table in force has a `CALLOUT` item.
pub fn decide_quote(
    tx: &Transaction,
    work_order_id: &str,
    quote_id: &str,
    decision: Decision,
    now: DateTime<Utc>,
) -> VisitResult<Quote> {
    let order = open_order(tx, work_order_id, Step::Work)?;
    let quote = current(tx, &order.id)?.ok_or(VisitError::NoQuote)?;
    if quote.id != quote_id {
        return Err(VisitError::QuoteSuperseded {
            quote_id: quote_id.into(),
        });
    }
    if quote.decision.is_some() {
        return Err(VisitError::QuoteAlreadyDecided);
    }
    let mut callout: Option<PricedJob> = None;
    if decision == Decision::Declined {
        order
            .status
            .check_transition(WorkOrderStatus::UnableToComplete, Some(QUOTE_DECLINED))
            .map_err(StoreError::from)?;
        let (visit_date, work_date): (String, String) = tx.query_row(
            "SELECT visit_date, work_date FROM visit_quote WHERE id = ?1",
            [&quote.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let parse = |t: String| -> VisitResult<NaiveDate> {
            t.parse()
                .map_err(|_| StoreError::Invalid("stored date is not a date".into()).into())
        };
        let (visit_date, work_date) = (parse(visit_date)?, parse(work_date)?);
        let appliance = appliance(tx, &order.appliance_id)?;
        let tables = load_fee_tables(tx, &appliance.category)?;
        let versions: Vec<FeeTableVersion> = tables.iter().map(|t| t.table.clone()).collect();
        let table = select_version(&versions, work_date)?;
        if table.item(CALLOUT_CODE).is_some() {
            let line = QuoteLine {
                code: CALLOUT_CODE.into(),
                quantity: 1,
                component: None,
                price_minor: None,
            };
            let job = job_input(tx, &order, visit_date, work_date, &[line], &[])?;
            callout = Some(price_job(&versions, &rules_config(tx)?, &job)?);
        }
    }
    let callout_minor = callout.as_ref().map_or(0, |c| c.totals.due.minor);
    let declined = decision == Decision::Declined;
    // Accepting the quote starts the work.
    let order = if declined {
        order
    } else {
        super::begin_work(tx, order, now)?
    };
    let op_id = append(
        tx,
        outbox::kind::RECORD_QUOTE_DECISION,
        &order.id,
        Some(order.version),
        &DecisionPayload {
            work_order_id: &order.id,
            quote_id: &quote.id,
            decision,
            at: ts(now),
            status_from: declined.then_some(order.status),
            status_to: declined.then_some(WorkOrderStatus::UnableToComplete),
            reason: declined.then_some(QUOTE_DECLINED),
            callout_minor,
        },
        now,
    )?;
    tx.execute(
        "UPDATE visit_quote SET decision = ?2, decided_at = ?3, decision_op_id = ?4,
                                callout_minor = ?5, callout = ?6
         WHERE id = ?1",
        params![
            quote.id,
            decision.as_str(),
            ts(now),
            op_id,
            callout_minor,
            callout
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(StoreError::from)?
        ],
    )?;
    if declined {
        tx.execute(
            "UPDATE work_order SET status = ?2, updated_at = ?3, version = version + 1
             WHERE id = ?1",
            params![
                order.id,
                WorkOrderStatus::UnableToComplete.as_str(),
                ts(now)
            ],
        )?;
        tx.execute(
            "INSERT INTO work_order_status (work_order_id, from_status, to_status, at, reason, op_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                order.id,
                order.status.as_str(),
                WorkOrderStatus::UnableToComplete.as_str(),
                ts(now),
                QUOTE_DECLINED,
                op_id
            ],
        )?;
    }
    Ok(current(tx, &order.id)?.ok_or(StoreError::NotFound("quote"))?)
}

/// The job's current (latest) quote, with returned old parts' deposits reversed.
pub(crate) fn current(conn: &Connection, work_order_id: &str) -> VisitResult<Option<Quote>> {
    let row = conn
        .query_row(
            "SELECT id, fee_table_id, fee_table_version, issued_at, priced, decision, decided_at,
                    callout
             FROM visit_quote WHERE work_order_id = ?1 ORDER BY seq DESC LIMIT 1",
            [work_order_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            },
        )
        .optional()?;
    let Some((
        id,
        fee_table_id,
        fee_table_version,
        issued_at,
        priced,
        decision,
        decided_at,
        callout,
    )) = row
    else {
        return Ok(None);
    };
    let priced: PricedJob = serde_json::from_str(&priced).map_err(StoreError::from)?;
    let mut current = priced.clone();
    let mut stmt = conn.prepare_cached(
        "SELECT line_index FROM visit_deposit_reversal WHERE quote_id = ?1 ORDER BY line_index",
    )?;
    let reversed = stmt
        .query_map([&id], |r| r.get::<_, i64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    for line in reversed {
        current.reverse_deposit(line as usize)?;
    }
    let decision = match (decision.as_deref(), decided_at) {
        (Some("accepted"), Some(at)) => Some(QuoteDecision {
            decision: Decision::Accepted,
            at,
        }),
        (Some("declined"), Some(at)) => Some(QuoteDecision {
            decision: Decision::Declined,
            at,
        }),
        _ => None,
    };
    Ok(Some(Quote {
        id,
        work_order_id: work_order_id.into(),
        fee_table_id,
        fee_table_version,
        issued_at,
        priced,
        current,
        decision,
        callout: callout
            .map(|c| serde_json::from_str(&c))
            .transpose()
            .map_err(StoreError::from)?,
    }))
}
