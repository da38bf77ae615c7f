//! The rules of DOMAIN.md as tables of cases; each case names its source clause.
//! Fixture: the water-purifier fee table of 001 §5.2.3 (`water_purifier_table`).
//! Amounts are written yuan_fen: `180_00` is ¥180.00.
#![allow(clippy::inconsistent_digit_grouping)]

use chrono::NaiveDate;

use super::entitlement::CategoryTerm;
use super::fee_table::water_purifier_table;
use super::*;
use crate::view::{ProofKind, ProofOfPurchase};
use crate::Money;

pub(super) fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn component(category: Option<&str>, code: &str, zh: &str, en: &str, term: Term) -> ComponentRule {
    ComponentRule {
        category: category.map(Into::into),
        code: code.into(),
        name: Bilingual::new(zh, en),
        term,
    }
}

pub(super) fn config() -> RulesConfig {
    RulesConfig {
        warranty: WarrantyPolicy {
            default_months: 12,
            categories: vec![CategoryTerm {
                category: "daily_goods".into(),
                months: 6,
            }],
            components: vec![
                component(None, "filter", "滤芯", "Filter", Term::Consumable),
                component(
                    None,
                    "pump",
                    "增压泵",
                    "Booster pump",
                    Term::CategoryDefault,
                ),
                component(
                    None,
                    "valve",
                    "电磁阀",
                    "Solenoid valve",
                    Term::CategoryDefault,
                ),
                component(None, "faucet", "龙头", "Faucet", Term::CategoryDefault),
                component(None, "glass", "玻璃", "Glass", Term::Months(6)),
                component(None, "mirror", "镜子", "Mirror", Term::Months(6)),
                component(None, "compressor", "压缩机", "Compressor", Term::Months(36)),
                component(None, "gasket", "密封圈", "Gasket", Term::Months(1)),
                // A category's own rule wins over the general one.
                component(
                    Some("daily_goods"),
                    "compressor",
                    "压缩机",
                    "Compressor",
                    Term::Months(24),
                ),
            ],
        },
        old_parts: OldPartPolicy::default(),
    }
}

pub(super) fn sealed(purchase: &str) -> Appliance {
    Appliance {
        category: "water_purifier".into(),
        purchase_date: Some(d(purchase)),
        proof: ProofOfPurchase {
            kind: ProofKind::Invoice,
            date: Some(d(purchase)),
            sealed: true,
        },
    }
}

pub(super) fn tables() -> Vec<FeeTableVersion> {
    vec![water_purifier_table("2024-01", d("2024-01-01"))]
}

pub(super) fn line(code: &str, quantity: i32) -> RequestedLine {
    RequestedLine {
        code: code.into(),
        quantity,
        component: None,
        price: None,
        old_part_returned: false,
    }
}

pub(super) fn job(purchase: &str, visit: &str, lines: Vec<RequestedLine>) -> JobInput {
    JobInput {
        visit_date: d(visit),
        work_date: d(visit),
        appliance: sealed(purchase),
        contracts: Vec::new(),
        exclusions: Vec::new(),
        lines,
    }
}

fn item(code: &str) -> FeeItem {
    tables()[0].item(code).unwrap().clone()
}

// ---------------------------------------------------------------------------------------
// Entitlement
// ---------------------------------------------------------------------------------------

struct Case {
    clause: &'static str,
    appliance: Appliance,
    contracts: Vec<ServiceContract>,
    exclusions: Vec<RecordedExclusion>,
    visit: &'static str,
    item: &'static str,
    component: Option<&'static str>,
    covered_by: Option<CoveredBy>,
    /// Must appear in the English reason.
    en: &'static str,
    /// Must appear in the Chinese reason.
    zh: &'static str,
}

fn case(clause: &'static str, purchase: &str, visit: &'static str, item: &'static str) -> Case {
    Case {
        clause,
        appliance: sealed(purchase),
        contracts: Vec::new(),
        exclusions: Vec::new(),
        visit,
        item,
        component: None,
        covered_by: None,
        en: "",
        zh: "",
    }
}

impl Case {
    fn on(mut self, component: &'static str) -> Self {
        self.component = Some(component);
        self
    }
    fn covered(mut self, by: CoveredBy, en: &'static str, zh: &'static str) -> Self {
        self.covered_by = Some(by);
        self.en = en;
        self.zh = zh;
        self
    }
    fn charged(mut self, en: &'static str, zh: &'static str) -> Self {
        self.covered_by = None;
        self.en = en;
        self.zh = zh;
        self
    }
    fn proof(mut self, kind: ProofKind, dated: bool, sealed: bool) -> Self {
        self.appliance.proof.kind = kind;
        if !dated {
            self.appliance.proof.date = None;
        }
        self.appliance.proof.sealed = sealed;
        self
    }
    fn category(mut self, category: &str) -> Self {
        self.appliance.category = category.into();
        self
    }
    fn contract(mut self, covers: ContractCover, from: &str, to: &str) -> Self {
        self.contracts.push(ServiceContract {
            covers,
            valid_from: d(from),
            valid_to: d(to),
        });
        self
    }
    fn excluded(mut self, kind: Exclusion, component: Option<&str>) -> Self {
        self.exclusions.push(RecordedExclusion {
            kind,
            component: component.map(Into::into),
        });
        self
    }
}

fn entitlement_cases() -> Vec<Case> {
    use ContractCover::*;
    use CoveredBy::*;
    use Exclusion::*;
    vec![
        // 001 §5.1.1-2: free inside the 12-month warranty, from the purchase date.
        case("001 §5.1.2", "2025-03-02", "2025-09-01", "MAINT").covered(
            Warranty,
            "Maintain one unit: 12-month warranty, purchased 2025-03-02, covered through 2026-03-01: covered",
            "维护一台水机：保修期12个月，购买日期2025-03-02，保修至2026-03-01：保修范围内，免费",
        ),
        // 001 §5.1: the last day of the warranty is covered...
        case("001 §5.1 last day", "2025-03-02", "2026-03-01", "MAINT")
            .covered(Warranty, "covered through 2026-03-01", "保修至2026-03-01"),
        // ...the day after is not (000 §5.3: paid outside the warranty).
        case("000 §5.3 day after", "2025-03-02", "2026-03-02", "MAINT").charged(
            "Maintain one unit: 12-month warranty, purchased 2025-03-02, ended 2026-03-01: charged",
            "维护一台水机：保修期12个月，购买日期2025-03-02，已于2026-03-01到期：收费",
        ),
        // The purchase day itself is covered.
        case("001 §5.1 purchase day", "2025-03-02", "2025-03-02", "MAINT")
            .covered(Warranty, "covered", "免费"),
        // Month ends (decision documented on `warranty_expiry`): 1 month from 01-31
        // covers through 02-28, not beyond.
        case("001 §5.1 month end", "2025-01-31", "2025-02-28", "REPLACE")
            .on("gasket")
            .covered(Warranty, "Gasket: 1-month warranty, purchased 2025-01-31, covered through 2025-02-28", "密封圈"),
        case("001 §5.1 month end", "2025-01-31", "2025-03-01", "REPLACE")
            .on("gasket")
            .charged("ended 2025-02-28: charged", "已于2025-02-28到期"),
        case("001 §5.1 month end", "2025-03-31", "2025-04-30", "REPLACE")
            .on("gasket")
            .covered(Warranty, "covered through 2025-04-30", "保修至2025-04-30"),
        case("001 §5.1 month end", "2025-03-31", "2025-05-01", "REPLACE")
            .on("gasket")
            .charged("ended 2025-04-30", "已于2025-04-30到期"),
        case("001 §5.1 leap day", "2024-02-29", "2025-02-28", "MAINT")
            .covered(Warranty, "covered through 2025-02-28", "保修至2025-02-28"),
        case("001 §5.1 leap day", "2024-02-29", "2025-03-01", "MAINT")
            .charged("ended 2025-02-28", "到期"),
        // 001 §5.1.3: free service needs a proof with date and seal.
        case("001 §5.1.3 no proof", "2025-03-02", "2025-06-01", "MAINT")
            .proof(ProofKind::None, true, true)
            .charged("no proof of purchase; free service needs a dated and sealed proof of purchase: charged", "无购货凭证"),
        case("001 §5.1.3 undated", "2025-03-02", "2025-06-01", "MAINT")
            .proof(ProofKind::Invoice, false, true)
            .charged("the proof of purchase shows no date", "未注明购买日期"),
        case("001 §5.1.3 unsealed", "2025-03-02", "2025-06-01", "MAINT")
            .proof(ProofKind::Receipt, true, false)
            .charged("the proof of purchase has no seal", "未加盖公司印章"),
        case("001 §5.1.3 receipt is enough", "2025-03-02", "2025-06-01", "MAINT")
            .proof(ProofKind::Receipt, true, true)
            .covered(Warranty, "covered", "免费"),
        // 001 §5.1.3, 003 第七条: exclusions, each one, on the whole appliance.
        case("001 §5.1.3 misuse", "2025-03-02", "2025-06-01", "MAINT")
            .excluded(Misuse, None)
            .charged("Maintain one unit: misuse: not covered", "使用不当造成的故障或损坏，不在保修范围内"),
        case("001 §5.1.3 dropped", "2025-03-02", "2025-06-01", "MAINT")
            .excluded(DroppedOrMovedImproperly, None)
            .charged("dropped or moved improperly: not covered", "自行搬运不当或摔落"),
        case("001 §5.1.3 force majeure", "2025-03-02", "2025-06-01", "MAINT")
            .excluded(ForceMajeure, None)
            .charged("fire, flood, earthquake or other force majeure: not covered", "不可抗力"),
        case("003 第七条 unauthorised repair", "2025-03-02", "2025-06-01", "MAINT")
            .excluded(UnauthorisedRepair, None)
            .charged("unauthorised repair or modification: not covered", "未经授权的维修或改装"),
        // An exclusion on one component leaves the others covered...
        case("001 §5.1.3 scoped", "2025-03-02", "2025-06-01", "PUMP")
            .excluded(DroppedOrMovedImproperly, Some("faucet"))
            .covered(Warranty, "Booster pump: 12-month warranty", "增压泵"),
        // ...and voids the component it names.
        case("001 §5.1.3 scoped", "2025-03-02", "2025-06-01", "FAUCET")
            .excluded(DroppedOrMovedImproperly, Some("faucet"))
            .charged("Faucet: dropped or moved improperly: not covered", "龙头"),
        // Several exclusions: the first in declaration order is reported.
        case("001 §5.1.3 several", "2025-03-02", "2025-06-01", "MAINT")
            .excluded(UnauthorisedRepair, None)
            .excluded(Misuse, None)
            .charged("misuse", "使用不当"),
        // 004 §4.5a: a part damaged by the customer is charged inside the warranty.
        case("004 §4.5a customer damage", "2025-03-02", "2025-06-01", "PUMP")
            .excluded(CustomerDamage, Some("pump"))
            .charged("Booster pump: damaged by the customer: not covered", "人为损坏"),
        // 001 §5.1.2: filters (consumables) are never covered, even with a contract.
        case("001 §5.1.2 consumable", "2025-03-02", "2025-06-01", "FILTER_PP")
            .charged("Filter is a consumable: not covered", "滤芯属于耗材，不在保修范围内"),
        case("001 §5.1.2 consumable, contract", "2025-03-02", "2025-06-01", "FILTER_PP")
            .contract(Both, "2025-01-01", "2025-12-31")
            .charged("Filter is a consumable: not covered", "滤芯属于耗材"),
        // 003: glass and mirrors 6 months; 000 §5.1: components have their own terms.
        case("003 glass 6 months", "2025-01-10", "2025-07-09", "REPLACE")
            .on("glass")
            .covered(Warranty, "Glass: 6-month warranty, purchased 2025-01-10, covered through 2025-07-09", "玻璃：保修期6个月"),
        case("003 glass 6 months", "2025-01-10", "2025-07-10", "REPLACE")
            .on("glass")
            .charged("Glass: 6-month warranty, purchased 2025-01-10, ended 2025-07-09: charged", "玻璃"),
        case("003 mirror 6 months", "2025-01-10", "2025-07-10", "REPLACE")
            .on("mirror")
            .charged("Mirror: 6-month warranty", "镜子"),
        case("000 §5.1 compressor 36 months", "2025-03-02", "2027-06-01", "REPLACE")
            .on("compressor")
            .covered(Warranty, "Compressor: 36-month warranty, purchased 2025-03-02, covered through 2028-03-01: covered", "压缩机：保修期36个月，购买日期2025-03-02"),
        // 003 第六条: daily goods 6 months as a category default.
        case("003 第六条 daily goods", "2025-01-10", "2025-07-09", "MAINT")
            .category("daily_goods")
            .covered(Warranty, "6-month warranty", "保修期6个月"),
        case("003 第六条 daily goods", "2025-01-10", "2025-07-10", "MAINT")
            .category("daily_goods")
            .charged("6-month warranty", "到期"),
        // A category's component rule wins over the general one.
        case("000 §5.1 per category", "2025-03-02", "2027-06-01", "REPLACE")
            .category("daily_goods")
            .on("compressor")
            .charged("Compressor: 24-month warranty", "保修期24个月"),
        // 000 §5.3 contract: labour only covers services, not parts.
        case("000 §5.3 contract labour", "2020-01-01", "2025-06-01", "MAINT")
            .contract(Labour, "2025-01-01", "2025-12-31")
            .covered(Contract, "Maintain one unit: service contract for labour, valid 2025-01-01 to 2025-12-31: covered", "服务合同（人工，有效期2025-01-01至2025-12-31）：免费"),
        case("000 §5.3 contract labour", "2020-01-01", "2025-06-01", "PUMP")
            .contract(Labour, "2025-01-01", "2025-12-31")
            .charged("ended", "到期"),
        case("000 §5.3 contract labour covers travel", "2020-01-01", "2025-06-01", "TRAVEL_KM")
            .contract(Labour, "2025-01-01", "2025-12-31")
            .covered(Contract, "service contract for labour", "人工"),
        case("000 §5.3 contract parts", "2020-01-01", "2025-06-01", "PUMP")
            .contract(Parts, "2025-01-01", "2025-12-31")
            .covered(Contract, "Booster pump: service contract for parts", "配件"),
        case("000 §5.3 contract parts", "2020-01-01", "2025-06-01", "MAINT")
            .contract(Parts, "2025-01-01", "2025-12-31")
            .charged("ended", "到期"),
        case("000 §5.3 contract both", "2020-01-01", "2025-06-01", "PUMP")
            .contract(Both, "2025-01-01", "2025-12-31")
            .covered(Contract, "labour and parts", "人工和配件"),
        case("000 §5.3 contract both", "2020-01-01", "2025-06-01", "MAINT")
            .contract(Both, "2025-01-01", "2025-12-31")
            .covered(Contract, "labour and parts", "人工和配件"),
        // Contract validity: both ends inclusive, nothing outside.
        case("000 §5.3 contract last day", "2020-01-01", "2025-12-31", "MAINT")
            .contract(Both, "2025-01-01", "2025-12-31")
            .covered(Contract, "contract", "合同"),
        case("000 §5.3 contract expired", "2020-01-01", "2026-01-01", "MAINT")
            .contract(Both, "2025-01-01", "2025-12-31")
            .charged("ended", "到期"),
        case("000 §5.3 contract not yet", "2020-01-01", "2024-12-31", "MAINT")
            .contract(Both, "2025-01-01", "2025-12-31")
            .charged("ended", "到期"),
        // A contract needs no proof of purchase.
        case("000 §5.3 contract no proof", "2025-03-02", "2025-06-01", "MAINT")
            .proof(ProofKind::None, false, false)
            .contract(Labour, "2025-01-01", "2025-12-31")
            .covered(Contract, "contract", "合同"),
        // Exclusions void a contract too.
        case("001 §5.1.3 + contract", "2025-03-02", "2025-06-01", "MAINT")
            .contract(Both, "2025-01-01", "2025-12-31")
            .excluded(ForceMajeure, None)
            .charged("force majeure", "不可抗力"),
        // 001 §5.2.3 ③: relocation is a paid service, warranty or not.
        case("001 §5.2.3 relocation", "2025-03-02", "2025-06-01", "RELOCATE")
            .charged("Relocate and reinstall: charged at the fee-table price, not a warranty repair", "迁移再安装：按收费标准收费"),
    ]
}

#[test]
fn entitlement_table() {
    let policy = config().warranty;
    for c in entitlement_cases() {
        let item = item(c.item);
        // As pricing does: the line's component, else the part's own.
        let component = c.component.map(str::to_owned).or(item.component.clone());
        let got = entitle(
            &policy,
            &c.appliance,
            &c.contracts,
            &c.exclusions,
            d(c.visit),
            &item,
            component.as_deref(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", c.clause));
        assert_eq!(
            got.covered_by, c.covered_by,
            "{}: {:?}",
            c.clause, got.reason
        );
        assert!(
            got.reason.en.contains(c.en),
            "{}: {:?}",
            c.clause,
            got.reason.en
        );
        assert!(
            got.reason.zh.contains(c.zh),
            "{}: {:?}",
            c.clause,
            got.reason.zh
        );
    }
}

#[test]
fn entitlement_errors() {
    let policy = config().warranty;
    let maint = item("MAINT");
    let visit = d("2025-06-01");
    // A purchase date after the visit, on record or on the proof: a typed error.
    let mut future = sealed("2025-06-02");
    assert_eq!(
        entitle(&policy, &future, &[], &[], visit, &maint, None),
        Err(RulesError::PurchaseDateInFuture)
    );
    future.purchase_date = None;
    assert_eq!(
        entitle(&policy, &future, &[], &[], visit, &maint, None),
        Err(RulesError::PurchaseDateInFuture)
    );
    let contract = ServiceContract {
        covers: ContractCover::Both,
        valid_from: d("2025-12-31"),
        valid_to: d("2025-01-01"),
    };
    assert_eq!(
        entitle(
            &policy,
            &sealed("2025-01-01"),
            &[contract],
            &[],
            visit,
            &maint,
            None
        ),
        Err(RulesError::InvalidContract)
    );
    assert_eq!(
        entitle(
            &policy,
            &sealed("2025-01-01"),
            &[],
            &[],
            visit,
            &maint,
            Some("flux")
        ),
        Err(RulesError::UnknownComponent {
            code: "flux".into()
        })
    );
}

// ---------------------------------------------------------------------------------------
// Pricing
// ---------------------------------------------------------------------------------------

fn price(job: &JobInput) -> PricedJob {
    price_job(&tables(), &config(), job).unwrap()
}

fn codes(priced: &PricedJob) -> Vec<&str> {
    priced.lines.iter().map(|l| l.code.as_str()).collect()
}

/// 001 §5.2.3: the fee table and its bundles. Out of warranty (purchased 2020), so every
/// service is charged. (requested codes, lines charged, total due in yuan).
#[test]
fn bundle_table() {
    let cases: &[(&str, &[&str], &[&str], i64)] = &[
        ("001 §5.2.3 ③ install", &["INSTALL"], &["INSTALL"], 0),
        ("001 §5.2.3 ② maintain", &["MAINT"], &["MAINT"], 30),
        ("001 §5.2.3 ③ relocate", &["RELOCATE"], &["RELOCATE"], 40),
        ("001 §5.2.3 ① replace", &["REPLACE"], &["REPLACE"], 20),
        (
            "001 §5.2.3 ④ 50 not 70",
            &["RELOCATE", "MAINT"],
            &["RELOCATE_MAINT"],
            50,
        ),
        (
            "001 §5.2.3 ⑤ 60 not 70",
            &["RELOCATE", "MAINT", "REPLACE"],
            &["RELOCATE_MAINT_REPLACE"],
            60,
        ),
        (
            "001 §5.2.3 ② parts only during maintenance",
            &["MAINT", "REPLACE"],
            &["MAINT"],
            30,
        ),
        (
            "001 §5.2.3 no bundle for these two",
            &["RELOCATE", "REPLACE"],
            &["RELOCATE", "REPLACE"],
            60,
        ),
        (
            "001 §5.2.3 ④ asked for by its code",
            &["RELOCATE_MAINT"],
            &["RELOCATE_MAINT"],
            50,
        ),
        (
            "001 §5.2.3 ⑤ bundle code + service",
            &["RELOCATE_MAINT", "REPLACE"],
            &["RELOCATE_MAINT_REPLACE"],
            60,
        ),
        (
            "001 §5.2.3 ⑤ asked for by its code",
            &["RELOCATE_MAINT_REPLACE"],
            &["RELOCATE_MAINT_REPLACE"],
            60,
        ),
        (
            "001 §5.2.3 install + maintain",
            &["INSTALL", "MAINT"],
            &["INSTALL", "MAINT"],
            30,
        ),
    ];
    for (clause, requested, expected, yuan) in cases {
        let lines = requested.iter().map(|c| line(c, 1)).collect();
        let priced = price(&job("2020-01-01", "2025-06-01", lines));
        assert_eq!(codes(&priced), *expected, "{clause}");
        assert_eq!(priced.totals.due, Money::cny(yuan * 100), "{clause}");
        assert!(
            priced.lines.iter().all(|l| l.status == LineStatus::Charged),
            "{clause}"
        );
    }
}

#[test]
fn a_bundle_line_says_what_it_stands_for() {
    // 001 §5.2.3 ⑤ with parts: 60 + the filter.
    let priced = price(&job(
        "2020-01-01",
        "2025-06-01",
        vec![
            line("REPLACE", 1),
            line("FILTER_PP", 2),
            line("RELOCATE", 1),
            line("MAINT", 1),
        ],
    ));
    assert_eq!(codes(&priced), ["RELOCATE_MAINT_REPLACE", "FILTER_PP"]);
    let bundle = &priced.lines[0];
    assert_eq!(bundle.includes, ["MAINT", "RELOCATE", "REPLACE"]);
    assert_eq!(
        bundle.reasons.last().unwrap().en,
        "Relocate, maintain and replace parts includes Maintain one unit + Relocate and reinstall + Replace a filter or part: one fee of ¥60.00"
    );
    assert!(bundle.reasons.last().unwrap().zh.contains("合并收费¥60.00"));
    assert_eq!(priced.totals.due, Money::cny(60_00 + 2 * 35_00));
}

#[test]
fn covered_services_are_not_folded_into_a_paid_bundle() {
    // In warranty: maintenance is free (001 §5.1.2), relocation is paid (001 §5.2.3 ③),
    // so the customer pays 40, not the 50 of the bundle.
    let priced = price(&job(
        "2025-03-02",
        "2025-06-01",
        vec![line("RELOCATE", 1), line("MAINT", 1)],
    ));
    assert_eq!(codes(&priced), ["MAINT", "RELOCATE"]);
    assert_eq!(priced.lines[0].status, LineStatus::Covered);
    assert_eq!(priced.lines[1].status, LineStatus::Charged);
    assert_eq!(priced.totals.due, Money::cny(40_00));
    assert_eq!(priced.totals.covered, Money::cny(30_00));
    assert_eq!(priced.totals.gross, Money::cny(70_00));
}

#[test]
fn services_are_once_per_job() {
    let twice = job(
        "2020-01-01",
        "2025-06-01",
        vec![line("MAINT", 1), line("MAINT", 1)],
    );
    assert_eq!(
        price_job(&tables(), &config(), &twice),
        Err(RulesError::DuplicateService {
            code: "MAINT".into()
        })
    );
    // Asking for a bundle and one of its services is asking twice.
    let overlap = job(
        "2020-01-01",
        "2025-06-01",
        vec![line("RELOCATE_MAINT", 1), line("MAINT", 1)],
    );
    assert_eq!(
        price_job(&tables(), &config(), &overlap),
        Err(RulesError::DuplicateService {
            code: "MAINT".into()
        })
    );
    let two = job("2020-01-01", "2025-06-01", vec![line("MAINT", 2)]);
    assert_eq!(
        price_job(&tables(), &config(), &two),
        Err(RulesError::ServiceQuantityNotOne {
            code: "MAINT".into()
        })
    );
}

/// DOMAIN.md "Fee table": a job is priced by the table in force when the work was done,
/// and the version is stamped on it.
#[test]
fn fee_table_version_in_force() {
    let old = water_purifier_table("2024-01", d("2024-01-01"));
    let mut new = water_purifier_table("2025-07", d("2025-07-01"));
    new.items
        .iter_mut()
        .find(|i| i.code == "MAINT")
        .unwrap()
        .price = Money::cny(35_00);
    let versions = [new.clone(), old.clone()]; // list order does not matter
    let cases = [
        ("2023-12-31", None),
        ("2024-01-01", Some(("2024-01", 30))),
        ("2025-06-30", Some(("2024-01", 30))),
        ("2025-07-01", Some(("2025-07", 35))), // in force from the start of its day
        ("2025-07-02", Some(("2025-07", 35))),
        ("2030-01-01", Some(("2025-07", 35))),
    ];
    for (work_date, expected) in cases {
        let mut input = job("2020-01-01", work_date, vec![line("MAINT", 1)]);
        input.visit_date = d("2023-01-01");
        let got = price_job(&versions, &config(), &input);
        match expected {
            None => assert_eq!(
                got,
                Err(RulesError::NoFeeTableInForce { date: d(work_date) }),
                "{work_date}"
            ),
            Some((version, yuan)) => {
                let got = got.unwrap();
                assert_eq!(got.fee_table.version, version, "{work_date}");
                assert_eq!(got.totals.due, Money::cny(yuan * 100), "{work_date}");
            }
        }
    }
    assert_eq!(
        select_version(&[], d("2025-01-01")).err(),
        Some(RulesError::NoFeeTableInForce {
            date: d("2025-01-01")
        })
    );
    let twin = water_purifier_table("2025-07b", d("2025-07-01"));
    assert_eq!(
        select_version(&[old.clone(), new.clone(), twin.clone()], d("2025-08-01")).err(),
        Some(RulesError::AmbiguousFeeTable {
            effective_from: d("2025-07-01")
        })
    );
    // A tie on a date no longer in force does not matter.
    assert_eq!(
        select_version(&[old, new, twin], d("2025-06-01"))
            .unwrap()
            .version,
        "2024-01"
    );
}

#[test]
fn warranty_is_judged_on_the_visit_date_prices_on_the_work_date() {
    // Carried back (000 §5.10): seen on site in warranty, repaired after it ended.
    let mut input = job("2024-06-01", "2025-05-31", vec![line("MAINT", 1)]);
    input.work_date = d("2025-06-10");
    let priced = price(&input);
    assert_eq!(priced.lines[0].status, LineStatus::Covered);
    assert_eq!(priced.work_date, d("2025-06-10"));
}

/// 001 §5.2.2 (prices follow the published list): only open-priced items take a
/// technician's price.
#[test]
fn technician_prices() {
    let with_price = |code: &str, minor: i64| RequestedLine {
        price: Some(Money::cny(minor)),
        ..line(code, 1)
    };
    let priced = price(&job(
        "2020-01-01",
        "2025-06-01",
        vec![with_price("LABOUR_QUOTED", 120_00)],
    ));
    assert_eq!(priced.lines[0].unit_price, Money::cny(120_00));
    assert!(priced.lines[0].price_set_by_technician);
    assert_eq!(priced.totals.due, Money::cny(120_00));

    let default = price(&job(
        "2020-01-01",
        "2025-06-01",
        vec![line("LABOUR_QUOTED", 1)],
    ));
    assert_eq!(default.lines[0].unit_price, Money::cny(0));
    assert!(!default.lines[0].price_set_by_technician);

    let cases = [
        (
            with_price("MAINT", 30_00),
            RulesError::PriceNotEditable {
                code: "MAINT".into(),
            },
        ),
        (
            with_price("PUMP", 1),
            RulesError::PriceNotEditable {
                code: "PUMP".into(),
            },
        ),
        (
            with_price("RELOCATE_MAINT", 1),
            RulesError::PriceNotEditable {
                code: "RELOCATE_MAINT".into(),
            },
        ),
        (
            with_price("LABOUR_QUOTED", -1),
            RulesError::NegativePrice {
                code: "LABOUR_QUOTED".into(),
            },
        ),
    ];
    for (requested, error) in cases {
        let input = job("2020-01-01", "2025-06-01", vec![requested]);
        assert_eq!(price_job(&tables(), &config(), &input), Err(error));
    }
}

#[test]
fn quantities_are_positive_and_bounded() {
    for (quantity, ok) in [
        (-1, false),
        (0, false),
        (1, true),
        (999, true),
        (1000, false),
        (i32::MIN, false),
        (i32::MAX, false),
    ] {
        let input = job(
            "2020-01-01",
            "2025-06-01",
            vec![line("TRAVEL_KM", quantity)],
        );
        let got = price_job(&tables(), &config(), &input);
        if ok {
            assert_eq!(
                got.unwrap().totals.due,
                Money::cny(i64::from(quantity) * 100)
            );
        } else {
            assert_eq!(
                got,
                Err(RulesError::InvalidQuantity {
                    code: "TRAVEL_KM".into(),
                    quantity,
                    max: MAX_QUANTITY
                })
            );
        }
    }
    let unknown = job("2020-01-01", "2025-06-01", vec![line("NOPE", 1)]);
    assert_eq!(
        price_job(&tables(), &config(), &unknown),
        Err(RulesError::UnknownItem {
            code: "NOPE".into()
        })
    );
}

#[test]
fn huge_amounts_are_an_error_not_a_panic() {
    let huge = |minor| RequestedLine {
        price: Some(Money::cny(minor)),
        ..line("LABOUR_QUOTED", 999)
    };
    let input = job("2020-01-01", "2025-06-01", vec![huge(i64::MAX / 2)]);
    assert_eq!(
        price_job(&tables(), &config(), &input),
        Err(RulesError::Overflow)
    );
    let input = job(
        "2020-01-01",
        "2025-06-01",
        vec![huge(i64::MAX / 999), huge(i64::MAX / 999)],
    );
    assert_eq!(
        price_job(&tables(), &config(), &input),
        Err(RulesError::Overflow)
    );
}

#[test]
fn a_purchase_in_the_future_is_refused() {
    let input = job("2025-06-02", "2025-06-01", vec![line("MAINT", 1)]);
    assert_eq!(
        price_job(&tables(), &config(), &input),
        Err(RulesError::PurchaseDateInFuture)
    );
}

#[test]
fn invalid_fee_tables_are_refused() {
    let mut twice = water_purifier_table("bad", d("2024-01-01"));
    twice.items.push(twice.items[0].clone());
    let mut negative = water_purifier_table("bad", d("2024-01-01"));
    negative.items[1].price = Money::cny(-1);
    let mut bundle_of_part = water_purifier_table("bad", d("2024-01-01"));
    bundle_of_part.bundles[0].services.push("PUMP".into());
    let mut open_bundle = water_purifier_table("bad", d("2024-01-01"));
    open_bundle
        .items
        .iter_mut()
        .find(|i| i.code == "RELOCATE_MAINT")
        .unwrap()
        .open_priced = true;
    for table in [twice, negative, bundle_of_part, open_bundle] {
        let input = job("2020-01-01", "2025-06-01", vec![line("MAINT", 1)]);
        assert!(matches!(
            price_job(&[table], &config(), &input),
            Err(RulesError::InvalidFeeTable { .. })
        ));
    }
    assert_eq!(
        water_purifier_table("ok", d("2024-01-01")).validate(),
        Ok(())
    );
}

// ---------------------------------------------------------------------------------------
// Old parts (004 §4.5a)
// ---------------------------------------------------------------------------------------

/// In warranty. (part, returned, status, old part, due in fen).
#[test]
fn old_part_table() {
    use LineStatus::*;
    use OldPartState::*;
    let cases = [
        // Must come back: held as a deposit until it does.
        (
            "004 §4.5a deposit",
            "PUMP",
            false,
            Deposit,
            Some(Awaiting),
            180_00,
        ),
        (
            "004 §4.5a reversed",
            "PUMP",
            true,
            Covered,
            Some(Returned),
            0,
        ),
        // Under 50 yuan, no recovery value: need not come back.
        (
            "004 §4.5a small part",
            "VALVE",
            false,
            Covered,
            Some(Exempt),
            0,
        ),
        // Under 50 yuan but worth recovering: must come back.
        (
            "004 §4.5a recoverable",
            "FAUCET",
            false,
            Deposit,
            Some(Awaiting),
            45_00,
        ),
        // A consumable is simply charged: no deposit.
        (
            "001 §5.1.2 consumable",
            "FILTER_PP",
            false,
            Charged,
            None,
            35_00,
        ),
    ];
    for (clause, code, returned, status, old_part, due) in cases {
        let requested = RequestedLine {
            old_part_returned: returned,
            ..line(code, 1)
        };
        let priced = price(&job("2025-03-02", "2025-06-01", vec![requested]));
        let l = &priced.lines[0];
        assert_eq!((l.status, l.old_part), (status, old_part), "{clause}");
        assert_eq!(priced.totals.due, Money::cny(due), "{clause}");
        assert_eq!(l.covered_by.is_some(), status != Charged, "{clause}");
    }
}

#[test]
fn deposit_and_its_reversal() {
    let requested = vec![line("PUMP", 2), line("MAINT", 1)];
    let mut priced = price(&job("2025-03-02", "2025-06-01", requested.clone()));
    assert_eq!(codes(&priced), ["MAINT", "PUMP"]);
    assert_eq!(priced.lines[1].status, LineStatus::Deposit);
    assert_eq!(priced.lines[1].charged, Money::cny(360_00));
    assert_eq!(priced.totals.deposit, Money::cny(360_00));
    assert_eq!(priced.totals.charged, Money::cny(0));
    assert_eq!(priced.totals.due, Money::cny(360_00));
    assert!(priced.lines[1].reasons[1].en.contains("held as a deposit"));
    assert!(priced.lines[1].reasons[1].zh.contains("押金"));

    // Reversing line 0 (a covered service) is refused, as is a line that is not there.
    assert_eq!(
        priced.reverse_deposit(0),
        Err(RulesError::NoDepositOnLine { line: 0 })
    );
    assert_eq!(
        priced.reverse_deposit(9),
        Err(RulesError::NoDepositOnLine { line: 9 })
    );

    priced.reverse_deposit(1).unwrap();
    assert_eq!(priced.totals.due, Money::cny(0));
    assert_eq!(priced.totals.covered, Money::cny(390_00));
    // The same as pricing again with the old part returned.
    let mut returned = requested;
    returned[0].old_part_returned = true;
    assert_eq!(priced, price(&job("2025-03-02", "2025-06-01", returned)));
    // Twice is refused.
    assert_eq!(
        priced.reverse_deposit(1),
        Err(RulesError::NoDepositOnLine { line: 1 })
    );
}

#[test]
fn exemption_threshold_is_configurable_and_strict() {
    // VALVE costs 30.00 and has no recovery value.
    for (threshold, state) in [
        (30_01, OldPartState::Exempt),
        (30_00, OldPartState::Awaiting), // "under" the threshold: 30.00 is not under 30.00
        (50_00, OldPartState::Exempt),   // the seed's default
    ] {
        let mut config = config();
        config.old_parts.exempt_below = Money::cny(threshold);
        let priced = price_job(
            &tables(),
            &config,
            &job("2025-03-02", "2025-06-01", vec![line("VALVE", 1)]),
        )
        .unwrap();
        assert_eq!(
            priced.lines[0].old_part,
            Some(state),
            "threshold {threshold}"
        );
    }
    assert_eq!(OldPartPolicy::default().exempt_below, Money::cny(50_00));
}

#[test]
fn customer_damaged_parts_are_charged_in_warranty() {
    // 004 §4.5a: 三包期配件人为损毁的 ... 费用正常收取.
    let mut input = job(
        "2025-03-02",
        "2025-06-01",
        vec![line("PUMP", 1), line("FAUCET", 1)],
    );
    input.exclusions.push(RecordedExclusion {
        kind: Exclusion::CustomerDamage,
        component: Some("pump".into()),
    });
    let priced = price(&input);
    let pump = priced.lines.iter().find(|l| l.code == "PUMP").unwrap();
    assert_eq!(pump.status, LineStatus::Charged);
    assert_eq!(pump.old_part, None);
    assert_eq!(
        pump.reasons[0].en,
        "Booster pump: damaged by the customer: not covered"
    );
    assert_eq!(pump.reasons[0].zh, "增压泵：人为损坏，不在保修范围内");
    let faucet = priced.lines.iter().find(|l| l.code == "FAUCET").unwrap();
    assert_eq!(faucet.status, LineStatus::Deposit);
}

#[test]
fn contract_covered_parts_also_wait_for_the_old_part() {
    let mut input = job("2020-01-01", "2025-06-01", vec![line("PUMP", 1)]);
    input.contracts.push(ServiceContract {
        covers: ContractCover::Parts,
        valid_from: d("2025-01-01"),
        valid_to: d("2025-12-31"),
    });
    let priced = price(&input);
    assert_eq!(priced.lines[0].covered_by, Some(CoveredBy::Contract));
    assert_eq!(priced.lines[0].status, LineStatus::Deposit);
}

/// The two visits of issue 3's end-to-end tests, priced.
#[test]
fn whole_visits() {
    // A paid out-of-warranty repair with a bundle and a part.
    let priced = price(&job(
        "2020-01-01",
        "2025-06-01",
        vec![line("RELOCATE", 1), line("MAINT", 1), line("PUMP", 1)],
    ));
    assert_eq!(codes(&priced), ["RELOCATE_MAINT", "PUMP"]);
    assert_eq!(
        priced.totals,
        Totals {
            gross: Money::cny(230_00),
            covered: Money::cny(0),
            deposit: Money::cny(0),
            charged: Money::cny(230_00),
            due: Money::cny(230_00),
        }
    );
    // In warranty: a consumable charged and an old part to return. The maintenance is
    // free; replacing the filter concerns a consumable, so its fee is charged and, the
    // maintenance being free, not folded into it (bundles apply to charged services).
    let replace_filter = RequestedLine {
        component: Some("filter".into()),
        ..line("REPLACE", 1)
    };
    let priced = price(&job(
        "2025-03-02",
        "2025-06-01",
        vec![
            line("FILTER_PP", 1),
            line("PUMP", 1),
            line("MAINT", 1),
            replace_filter,
        ],
    ));
    assert_eq!(codes(&priced), ["MAINT", "REPLACE", "FILTER_PP", "PUMP"]);
    let statuses: Vec<LineStatus> = priced.lines.iter().map(|l| l.status).collect();
    use LineStatus::*;
    assert_eq!(statuses, [Covered, Charged, Charged, Deposit]);
    assert_eq!(
        priced.totals,
        Totals {
            gross: Money::cny(30_00 + 20_00 + 35_00 + 180_00),
            covered: Money::cny(30_00),
            deposit: Money::cny(180_00),
            charged: Money::cny(20_00 + 35_00),
            due: Money::cny(20_00 + 35_00 + 180_00),
        }
    );
}

#[test]
fn priced_jobs_round_trip_through_json() {
    let priced = price(&job(
        "2025-03-02",
        "2025-06-01",
        vec![line("PUMP", 1), line("MAINT", 1)],
    ));
    let json = serde_json::to_string(&priced).unwrap();
    assert_eq!(serde_json::from_str::<PricedJob>(&json).unwrap(), priced);
    let error = serde_json::to_value(RulesError::PriceNotEditable {
        code: "MAINT".into(),
    })
    .unwrap();
    assert_eq!(error["error"], "price_not_editable");
    assert_eq!(
        RulesError::PurchaseDateInFuture.code(),
        "purchase_date_in_future"
    );
}
