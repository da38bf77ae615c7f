//! Sample data for `onsite-hq demo`: a technician, today's work orders, the water-purifier
//! fee table and parts catalogue of the device's demo (`assets/demo/demo.json`, fee table v1
//! and `parts`: same codes, names, kinds, bundles, flags and prices; a test checks), and a
//! one-time enrolment code. All names, phones and addresses are invented.
//!
//! The work orders try the pricing cases: a customer who reads English, appliances with a
//! dated and sealed invoice (in warranty), one without any proof of purchase, and one with a
//! labour maintenance contract valid this calendar year.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use onsite_api::{
    Appliance, CompanyProfile, Customer, FeeItem, FeeTablePublish, NewPartsIssue, NewWorkOrder,
    Part, PartPrice, PartsCataloguePublish, PartsIssueLine, PriceListPublish, ServiceContract,
};
use onsite_domain::rules::{ContractCover, ItemKind};
use onsite_domain::view::{ProofKind, ProofOfPurchase};
use onsite_domain::{JobType, Money};
use uuid::Uuid;

use crate::auth;
use crate::storage::{Result, Storage};

/// The fee-table category of the demo's appliances.
pub const CATEGORY: &str = "water_purifier";

/// What the demo made.
pub struct DemoData {
    /// The technician's id.
    pub technician_id: Uuid,
    /// The technician's name.
    pub technician_name: String,
    /// A one-time enrolment code for them (valid 7 days).
    pub enrolment_code: String,
    /// The work orders' ids.
    pub work_orders: Vec<Uuid>,
}

/// The water-purifier fee table of DOMAIN.md (001 §5.2.3) as the device's demo has it, in
/// fen: relocation is never covered, REPLACE and RELOCATE_MAINT_REPLACE are "+ parts", the
/// two relocation bundles replace their services, and REPAIR_QUOTED is labour priced on site.
pub fn water_purifier_fee_table(effective_from: DateTime<Utc>) -> FeeTablePublish {
    let item = |code: &str, zh: &str, en: &str, kind, fen: i64| FeeItem {
        code: code.into(),
        description: en.into(),
        fee: Money::cny(fen),
        plus_parts: false,
        name_zh: zh.into(),
        name_en: en.into(),
        kind,
        open_priced: false,
        coverable: true,
        includes: Vec::new(),
    };
    let codes = |list: &[&str]| list.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    use ItemKind::{Labour, Service};
    FeeTablePublish {
        category: CATEGORY.into(),
        effective_from,
        items: vec![
            item("INSTALL", "首次安装", "First installation", Service, 0),
            item(
                "MAINT",
                "保养（单台）",
                "Maintenance (one unit)",
                Service,
                3000,
            ),
            FeeItem {
                plus_parts: true,
                ..item(
                    "REPLACE",
                    "更换滤芯或配件",
                    "Replace a filter or part",
                    Labour,
                    2000,
                )
            },
            FeeItem {
                coverable: false,
                ..item(
                    "RELOCATE",
                    "移机（拆装）",
                    "Relocate and reinstall",
                    Service,
                    4000,
                )
            },
            FeeItem {
                coverable: false,
                includes: codes(&["RELOCATE", "MAINT"]),
                ..item(
                    "RELOCATE_MAINT",
                    "移机＋保养",
                    "Relocate + maintain",
                    Service,
                    5000,
                )
            },
            FeeItem {
                coverable: false,
                plus_parts: true,
                includes: codes(&["RELOCATE", "MAINT", "REPLACE"]),
                ..item(
                    "RELOCATE_MAINT_REPLACE",
                    "移机＋保养＋更换",
                    "Relocate + maintain + replace",
                    Service,
                    6000,
                )
            },
            FeeItem {
                open_priced: true,
                ..item(
                    "REPAIR_QUOTED",
                    "维修（现场议价）",
                    "Repair (price agreed on site)",
                    Labour,
                    0,
                )
            },
        ],
    }
}

/// The demo parts (`assets/demo/demo.json`, `parts`): part number, name (zh), name (en),
/// component (demo.json's `category`), price in fen, consumable, serialised, return required.
type DemoPart = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    bool,
    bool,
    bool,
);

const PARTS: &[DemoPart] = &[
    (
        "F-PP-10",
        "PP棉滤芯 10寸",
        "PP sediment filter 10\"",
        "filter",
        2800,
        true,
        false,
        false,
    ),
    (
        "F-CTO-10",
        "压缩活性炭滤芯 10寸",
        "CTO carbon block filter 10\"",
        "filter",
        4500,
        true,
        false,
        false,
    ),
    (
        "F-GAC-10",
        "颗粒活性炭滤芯 10寸",
        "GAC granular carbon filter 10\"",
        "filter",
        3900,
        true,
        false,
        false,
    ),
    (
        "F-RO-75G",
        "RO反渗透膜 75G",
        "RO membrane 75 GPD",
        "filter",
        16800,
        true,
        false,
        false,
    ),
    (
        "F-RO-400G",
        "RO反渗透膜 400G",
        "RO membrane 400 GPD",
        "filter",
        32800,
        true,
        false,
        false,
    ),
    (
        "F-T33",
        "T33后置活性炭",
        "T33 post carbon filter",
        "filter",
        3500,
        true,
        false,
        false,
    ),
    (
        "F-UF-01",
        "超滤膜滤芯",
        "UF membrane cartridge",
        "filter",
        9800,
        true,
        false,
        false,
    ),
    (
        "F-COMP-RO500",
        "QY-RO500 复合滤芯",
        "QY-RO500 composite filter",
        "filter",
        19900,
        true,
        false,
        false,
    ),
    (
        "P-PUMP-24V",
        "增压泵 24V",
        "Booster pump 24 V",
        "pump",
        18000,
        false,
        true,
        true,
    ),
    (
        "P-PUMP-400G",
        "增压泵 400G大通量",
        "Booster pump, 400 GPD",
        "pump",
        26000,
        false,
        true,
        true,
    ),
    (
        "E-SOL-IN",
        "进水电磁阀 24V",
        "Inlet solenoid valve 24 V",
        "valve",
        4500,
        false,
        false,
        false,
    ),
    (
        "E-SOL-FL",
        "冲洗电磁阀",
        "Flush solenoid valve",
        "valve",
        4200,
        false,
        false,
        false,
    ),
    (
        "V-CHECK-14",
        "单向阀 1/4\"",
        "Check valve 1/4\"",
        "valve",
        800,
        false,
        false,
        false,
    ),
    (
        "V-WASTE-300",
        "废水比例阀 300",
        "Waste-water ratio valve 300",
        "valve",
        1500,
        false,
        false,
        false,
    ),
    (
        "V-BALL-14",
        "进水球阀 1/4\"",
        "Feed ball valve 1/4\"",
        "valve",
        1200,
        false,
        false,
        false,
    ),
    (
        "E-HPS-01",
        "高压开关",
        "High-pressure switch",
        "electrical",
        2500,
        false,
        false,
        false,
    ),
    (
        "E-LPS-01",
        "低压开关",
        "Low-pressure switch",
        "electrical",
        2200,
        false,
        false,
        false,
    ),
    (
        "E-ADPT-24V",
        "电源适配器 24V 1.5A",
        "Power adapter 24 V 1.5 A",
        "electrical",
        6800,
        false,
        true,
        false,
    ),
    (
        "E-CTRL-RO500",
        "QY-RO500 主控板",
        "QY-RO500 control board",
        "electrical",
        26000,
        false,
        true,
        true,
    ),
    (
        "E-TDS-01",
        "TDS探头",
        "TDS probe",
        "electrical",
        3500,
        false,
        false,
        false,
    ),
    (
        "E-LEAK-01",
        "漏水保护器",
        "Leak protector",
        "electrical",
        5800,
        false,
        false,
        false,
    ),
    (
        "E-FLOW-01",
        "流量计",
        "Flow meter",
        "electrical",
        4800,
        false,
        false,
        false,
    ),
    (
        "T-TANK-3G",
        "压力桶 3.2G",
        "Pressure tank 3.2 gal",
        "tank",
        12800,
        false,
        false,
        true,
    ),
    (
        "X-FAUCET-01",
        "纯水龙头 鹅颈",
        "Gooseneck RO faucet",
        "fitting",
        6800,
        false,
        false,
        false,
    ),
    (
        "X-TUBE-14",
        "PE水管 1/4\"（米）",
        "PE tubing 1/4\" (metre)",
        "fitting",
        300,
        false,
        false,
        false,
    ),
    (
        "X-TUBE-38",
        "PE水管 3/8\"（米）",
        "PE tubing 3/8\" (metre)",
        "fitting",
        450,
        false,
        false,
        false,
    ),
    (
        "X-ELBOW-14",
        "快接弯头 1/4\"",
        "Quick-connect elbow 1/4\"",
        "fitting",
        500,
        false,
        false,
        false,
    ),
    (
        "X-TEE-14",
        "快接三通 1/4\"",
        "Quick-connect tee 1/4\"",
        "fitting",
        600,
        false,
        false,
        false,
    ),
    (
        "X-ORING-SET",
        "滤瓶O型圈套装",
        "Filter housing O-ring set",
        "fitting",
        1000,
        false,
        false,
        false,
    ),
    (
        "X-HOUSING-10",
        "10寸透明滤瓶",
        "10\" clear filter housing",
        "fitting",
        3800,
        false,
        false,
        false,
    ),
    (
        "H-ELEM-2KW",
        "热水器加热管 2kW",
        "Water-heater element 2 kW",
        "heater",
        15800,
        false,
        true,
        true,
    ),
];

/// The demo parts catalogue: name in Chinese and English, component, flags.
pub fn parts_catalogue() -> PartsCataloguePublish {
    PartsCataloguePublish {
        parts: PARTS
            .iter()
            .map(
                |&(no, zh, en, component, _, consumable, serialised, return_required)| Part {
                    part_no: no.into(),
                    name: zh.into(),
                    serialised,
                    consumable,
                    name_en: Some(en.into()),
                    component: Some(component.into()),
                    return_required,
                },
            )
            .collect(),
    }
}

/// The demo parts' prices, in force from `effective_from`.
pub fn price_list(effective_from: DateTime<Utc>) -> PriceListPublish {
    PriceListPublish {
        effective_from,
        prices: PARTS
            .iter()
            .map(|&(no, _, _, _, fen, ..)| PartPrice {
                part_no: no.into(),
                price: Money::cny(fen),
            })
            .collect(),
    }
}

/// The demo company's letterhead (a fictional water-purifier service company; the name
/// reads in both languages).
pub fn company() -> CompanyProfile {
    CompanyProfile {
        name: "清源净水服务有限公司 Qingyuan Water Purifier Service Co., Ltd.".into(),
        phone: "400 000 0000".into(),
        address: "上海市浦东新区虚构路88号1201室 / Rm 1201, 88 Fictional Road, Pudong, Shanghai"
            .into(),
    }
}

/// A van load of the demo catalogue: five of each filter, two of each pump, ten of each
/// fitting (twenty metres of tubing), against `work_order` if given.
pub fn van_load(work_order: Option<Uuid>) -> NewPartsIssue {
    NewPartsIssue {
        lines: PARTS
            .iter()
            .filter_map(|&(no, _, _, component, ..)| {
                let quantity = match component {
                    "filter" => 5,
                    "pump" => 2,
                    "fitting" if no.starts_with("X-TUBE") => 20,
                    "fitting" => 10,
                    _ => return None,
                };
                Some(PartsIssueLine {
                    part_no: no.into(),
                    quantity,
                })
            })
            .collect(),
        note: Some("Van load (demo)".into()),
        work_order_id: work_order,
    }
}

/// Fills `storage` with the demo data.
pub fn seed(storage: &dyn Storage, now: DateTime<Utc>) -> Result<DemoData> {
    let technician_name = "Li Wei (demo)".to_owned();
    let technician_id = Uuid::now_v7();
    storage.create_technician(technician_id, &technician_name, now)?;
    // A year back, so any work date the demo offers has a table and prices in force.
    let year_start = now - Duration::days(365);
    storage.publish_fee_table(&water_purifier_fee_table(year_start), now)?;
    storage.publish_parts_catalogue(&parts_catalogue(), now)?;
    storage.publish_price_list(&price_list(year_start), now)?;
    storage.put_company(&company(), now)?;
    storage.issue_parts(technician_id, Uuid::now_v7(), &van_load(None), now)?;
    let today = now.date_naive();
    // The day's jobs from the next whole hour on (job `hour` 1 is the first), so that a
    // demo started at any time of day shows upcoming work rather than late work.
    let next_hour = now
        .date_naive()
        .and_hms_opt(now.hour(), 0, 0)
        .map(|t| t.and_utc() + Duration::hours(1))
        .unwrap_or(now);
    let at = |h: u32| next_hour + Duration::hours(i64::from(h) - 1);
    // Bought about seven months ago: within the default 12-month warranty.
    let bought = today - Duration::days(210);
    let invoice = Some(ProofOfPurchase {
        kind: ProofKind::Invoice,
        date: Some(bought),
        sealed: true,
    });
    let this_year = |month, day| NaiveDate::from_ymd_opt(today.year(), month, day);
    let contract = match (this_year(1, 1), this_year(12, 31)) {
        (Some(valid_from), Some(valid_to)) => vec![ServiceContract {
            reference: format!("MC-{}-0007", today.year()),
            covers: ContractCover::Labour,
            valid_from,
            valid_to,
        }],
        _ => Vec::new(),
    };
    struct Job {
        order_no: &'static str,
        job_type: JobType,
        name: &'static str,
        language: &'static str,
        address: &'static str,
        fault: &'static str,
        hour: u32,
        proof: Option<ProofOfPurchase>,
        contracts: Vec<ServiceContract>,
    }
    let jobs = [
        Job {
            order_no: "DEMO-0001",
            job_type: JobType::Maintain,
            name: "Zhang Min",
            language: "zh-CN",
            address: "Unit 3, 12 Example Road",
            fault: "Water tastes odd; yearly maintenance under contract",
            hour: 1,
            proof: invoice.clone(),
            contracts: contract,
        },
        Job {
            order_no: "DEMO-0002",
            job_type: JobType::Relocate,
            name: "Chen Jie",
            language: "zh-CN",
            address: "Flat 8, 40 Sample Street",
            fault: "Moving house: relocate and maintain",
            hour: 3,
            proof: invoice.clone(),
            contracts: Vec::new(),
        },
        Job {
            order_no: "DEMO-0003",
            job_type: JobType::Repair,
            name: "Wang Fang",
            language: "zh-CN",
            address: "5 Placeholder Lane",
            fault: "Pump runs but no water comes out; no receipt to hand",
            hour: 6,
            proof: None,
            contracts: Vec::new(),
        },
        Job {
            order_no: "DEMO-0004",
            job_type: JobType::Repair,
            name: "Olivia Examplewood",
            language: "en",
            address: "Apt 9, 7 Fictional Avenue",
            fault: "Leaking under the sink",
            hour: 8,
            proof: invoice,
            contracts: Vec::new(),
        },
    ];
    let mut work_orders = Vec::new();
    for job in jobs {
        let order = storage.create_work_order(
            Uuid::now_v7(),
            &NewWorkOrder {
                order_no: job.order_no.into(),
                technician_id: Some(technician_id),
                job_type: job.job_type,
                customer: Customer {
                    name: job.name.into(),
                    phone: "138 0000 0000".into(),
                    address: job.address.into(),
                    language: job.language.into(),
                },
                appliance: Appliance {
                    category: CATEGORY.into(),
                    brand: "Demo".into(),
                    model: "RO-500".into(),
                    serial_no: Some(format!("SN-{}", job.order_no)),
                    purchase_date: job.proof.as_ref().and_then(|p| p.date),
                    proof: job.proof,
                    contracts: job.contracts,
                },
                reported_fault: job.fault.into(),
                notes: String::new(),
                appointment_start: at(job.hour),
                appointment_end: at(job.hour + 2),
            },
            now,
        )?;
        work_orders.push(order.id);
    }
    let enrolment_code = auth::new_enrolment_code();
    storage.store_enrolment_code(
        technician_id,
        &auth::code_hash(&enrolment_code),
        now,
        now + Duration::days(7),
    )?;
    Ok(DemoData {
        technician_id,
        technician_name,
        enrolment_code,
        work_orders,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn device_demo() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/demo/demo.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Head office's demo prices the same jobs as the device's demo fee table v1.
    #[test]
    fn the_fee_table_is_the_device_demos() {
        let demo = device_demo();
        let device = &demo["fee_tables"][0];
        let ours = water_purifier_fee_table(Utc::now());
        assert_eq!(device["category"], ours.category.as_str());
        assert_eq!(crate::rules::check_fee_table(&ours), Ok(()));
        let theirs = device["items"].as_array().unwrap();
        assert_eq!(theirs.len(), ours.items.len());
        for (d, o) in theirs.iter().zip(&ours.items) {
            let flag = |k: &str, default: bool| d[k].as_bool().unwrap_or(default);
            let includes: Vec<&str> = d["includes"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            assert_eq!(d["code"], o.code.as_str());
            assert_eq!(d["name_zh"], o.name_zh.as_str(), "{}", o.code);
            assert_eq!(d["name_en"], o.name_en.as_str(), "{}", o.code);
            assert_eq!(
                d["kind"],
                serde_json::to_value(o.kind).unwrap(),
                "{}",
                o.code
            );
            assert_eq!(d["price_minor"], o.fee.minor, "{}", o.code);
            assert_eq!(flag("plus_parts", false), o.plus_parts, "{}", o.code);
            assert_eq!(flag("open_priced", false), o.open_priced, "{}", o.code);
            assert_eq!(flag("coverable", true), o.coverable, "{}", o.code);
            assert_eq!(includes, o.includes, "{}", o.code);
        }
    }

    #[test]
    fn the_company_and_the_van_load_pass_the_checks() {
        assert_eq!(crate::rules::check_company(&company()), Ok(()));
        let load = van_load(None);
        assert_eq!(crate::rules::check_parts_issue(&load), Ok(()));
        let catalogue = parts_catalogue();
        for line in &load.lines {
            assert!(catalogue.parts.iter().any(|p| p.part_no == line.part_no));
        }
        assert!(load.lines.iter().any(|l| l.part_no.starts_with("P-PUMP")));
        assert!(load.lines.iter().any(|l| l.part_no.starts_with("F-")));
        assert!(load.lines.iter().any(|l| l.part_no.starts_with("X-")));
    }

    #[test]
    fn the_parts_and_prices_are_the_device_demos() {
        let demo = device_demo();
        let theirs = demo["parts"].as_array().unwrap();
        let catalogue = parts_catalogue();
        let prices = price_list(Utc::now());
        assert_eq!(crate::rules::check_catalogue(&catalogue), Ok(()));
        assert_eq!(crate::rules::check_price_list(&prices), Ok(()));
        assert_eq!(theirs.len(), catalogue.parts.len());
        for ((d, p), price) in theirs.iter().zip(&catalogue.parts).zip(&prices.prices) {
            let flag = |k: &str| d[k].as_bool().unwrap_or(false);
            assert_eq!(d["part_no"], p.part_no.as_str());
            assert_eq!(d["name_zh"], p.name.as_str());
            assert_eq!(d["name_en"].as_str(), p.name_en.as_deref());
            assert_eq!(d["category"].as_str(), p.component.as_deref());
            assert_eq!(flag("consumable"), p.consumable, "{}", p.part_no);
            assert_eq!(flag("serialized"), p.serialised, "{}", p.part_no);
            assert_eq!(flag("return_required"), p.return_required, "{}", p.part_no);
            assert_eq!(price.part_no, p.part_no);
            assert_eq!(d["price_minor"], price.price.minor, "{}", p.part_no);
        }
    }
}
