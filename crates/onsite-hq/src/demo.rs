//! Sample data for `onsite-hq demo`: a technician, today's work orders, the water-purifier
//! fee table of DOMAIN.md (001 §5.2.3), a small parts catalogue with prices, and a one-time
//! enrolment code. All names, phones and addresses are invented.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use onsite_api::{
    Appliance, Customer, FeeItem, FeeTablePublish, NewWorkOrder, Part, PartPrice,
    PartsCataloguePublish, PriceListPublish,
};
use onsite_domain::{JobType, Money};
use uuid::Uuid;

use crate::auth;
use crate::storage::{Result, Storage};

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

/// The water-purifier fee table of DOMAIN.md, in fen.
pub fn water_purifier_fee_table(effective_from: DateTime<Utc>) -> FeeTablePublish {
    let item = |code: &str, description: &str, yuan: i64, plus_parts: bool| FeeItem {
        code: code.into(),
        description: description.into(),
        fee: Money::cny(yuan * 100),
        plus_parts,
    };
    FeeTablePublish {
        effective_from,
        items: vec![
            item("REPLACE", "Replace a filter or part", 20, true),
            item(
                "MAINT",
                "Maintain one unit (parts found needed: parts only)",
                30,
                false,
            ),
            item("INSTALL", "First installation", 0, false),
            item("RELOCATE", "Relocate and reinstall", 40, false),
            item("RELOCATE_MAINT", "Relocate + maintain", 50, false),
            item(
                "RELOCATE_MAINT_REPLACE",
                "Relocate + maintain + replace",
                60,
                true,
            ),
        ],
    }
}

/// Fills `storage` with the demo data.
pub fn seed(storage: &dyn Storage, now: DateTime<Utc>) -> Result<DemoData> {
    let technician_name = "Li Wei (demo)".to_owned();
    let technician_id = Uuid::now_v7();
    storage.create_technician(technician_id, &technician_name, now)?;
    let year_start = now - Duration::days(365);
    storage.publish_fee_table(&water_purifier_fee_table(year_start), now)?;
    let part = |no: &str, name: &str, consumable: bool| Part {
        part_no: no.into(),
        name: name.into(),
        serialised: !consumable,
        consumable,
    };
    storage.publish_parts_catalogue(
        &PartsCataloguePublish {
            parts: vec![
                part("F-PP-10", "PP sediment filter 10\"", true),
                part("F-CTO-10", "Carbon block filter 10\"", true),
                part("M-RO-75", "RO membrane 75 GPD", true),
                part("P-PUMP-24", "Booster pump 24 V", false),
                part("V-SOL-24", "Inlet solenoid valve 24 V", false),
            ],
        },
        now,
    )?;
    let price = |no: &str, yuan: i64| PartPrice {
        part_no: no.into(),
        price: Money::cny(yuan * 100),
    };
    storage.publish_price_list(
        &PriceListPublish {
            effective_from: year_start,
            prices: vec![
                price("F-PP-10", 25),
                price("F-CTO-10", 45),
                price("M-RO-75", 180),
                price("P-PUMP-24", 160),
                price("V-SOL-24", 38),
            ],
        },
        now,
    )?;
    let today = now.date_naive();
    let at = |h: u32| {
        today
            .and_hms_opt(h, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(now)
    };
    let jobs = [
        (
            "DEMO-0001",
            JobType::Maintain,
            "Zhang Min",
            "Unit 3, 12 Example Road",
            "Water tastes odd",
            1,
        ),
        (
            "DEMO-0002",
            JobType::Relocate,
            "Chen Jie",
            "Flat 8, 40 Sample Street",
            "Moving house: relocate and maintain",
            3,
        ),
        (
            "DEMO-0003",
            JobType::Repair,
            "Wang Fang",
            "5 Placeholder Lane",
            "Pump runs but no water comes out",
            6,
        ),
    ];
    let mut work_orders = Vec::new();
    for (order_no, job_type, name, address, fault, hour) in jobs {
        let order = storage.create_work_order(
            Uuid::now_v7(),
            &NewWorkOrder {
                order_no: order_no.into(),
                technician_id: Some(technician_id),
                job_type,
                customer: Customer {
                    name: name.into(),
                    phone: "138 0000 0000".into(),
                    address: address.into(),
                },
                appliance: Appliance {
                    category: "water purifier".into(),
                    brand: "Demo".into(),
                    model: "RO-500".into(),
                    serial_no: Some(format!("SN-{order_no}")),
                    purchase_date: NaiveDate::from_ymd_opt(2025, 9, 1),
                },
                reported_fault: fault.into(),
                notes: String::new(),
                appointment_start: at(hour),
                appointment_end: at(hour + 2),
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
