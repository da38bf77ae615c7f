//! Demo data (assets/demo/demo.json): one technician's realistic day, placed around the
//! date it is loaded on, so Today always has something to show.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use onsite_domain::view::ProofOfPurchase;
use onsite_domain::{JobType, WorkOrderStatus};
use rusqlite::{params, Transaction};
use serde::Deserialize;

use crate::workorders::{self, NewAppliance, NewCustomer, NewTechnician, NewWorkOrder};
use crate::{settings, ts, StoreError, StoreResult};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoData {
    pub company: DemoCompany,
    pub technician: DemoTechnician,
    pub customers: Vec<DemoCustomer>,
    pub appliances: Vec<DemoAppliance>,
    pub work_orders: Vec<DemoWorkOrder>,
    pub fee_tables: Vec<DemoFeeTable>,
    pub parts: Vec<DemoPart>,
}

/// The company printed on documents (settings `company_*`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoCompany {
    pub name: String,
    pub phone: String,
    pub address: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoTechnician {
    pub name: String,
    pub phone: String,
    pub employee_no: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoCustomer {
    pub key: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub language: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoAppliance {
    pub key: String,
    pub customer: String,
    pub category: String,
    pub brand: String,
    pub model: String,
    pub serial_no: Option<String>,
    /// Days from the load date (negative: in the past), like every date in the demo, so
    /// that an appliance in warranty stays in warranty whenever the demo is loaded.
    pub purchase_day: Option<i64>,
    pub proof: DemoProof,
    /// Maintenance contracts, dated relative to the demo's today.
    #[serde(default)]
    pub contracts: Vec<DemoContract>,
}

/// A proof of purchase, its date relative to the load date.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoProof {
    pub kind: onsite_domain::view::ProofKind,
    pub day: Option<i64>,
    pub sealed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoContract {
    pub reference: String,
    pub covers: onsite_domain::rules::ContractCover,
    /// Days from today (negative: in the past).
    pub from_day: i64,
    pub to_day: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoWorkOrder {
    pub appliance: String,
    pub job_type: JobType,
    pub status: WorkOrderStatus,
    /// Days from the load date: -1 yesterday, 0 today, 1 tomorrow.
    pub day: i64,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub fault: String,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoFeeTable {
    pub category: String,
    pub version: i64,
    pub effective_from: NaiveDate,
    pub items: Vec<DemoFeeItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoFeeItem {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
    pub price_minor: i64,
    #[serde(default)]
    pub plus_parts: bool,
    #[serde(default)]
    pub open_priced: bool,
    #[serde(default)]
    pub includes: Vec<String>,
    /// Whether warranty or a contract can cover it (relocation never is: 001 §5.2.3).
    #[serde(default = "yes")]
    pub coverable: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoPart {
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub category: String,
    pub price_minor: i64,
    #[serde(default)]
    pub serialized: bool,
    #[serde(default)]
    pub consumable: bool,
    #[serde(default)]
    pub return_required: bool,
    pub quantity: i64,
}

impl DemoData {
    pub fn from_json(text: &str) -> StoreResult<DemoData> {
        Ok(serde_json::from_str(text)?)
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Loads the demo into an empty store: `today` and `offset` are the technician's local date
/// and UTC offset; appointment times in the file are local.
pub fn seed(
    tx: &Transaction,
    data: &DemoData,
    today: NaiveDate,
    offset: FixedOffset,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let technician_id = new_id();
    workorders::insert_technician(
        tx,
        &NewTechnician {
            id: &technician_id,
            name: &data.technician.name,
            phone: &data.technician.phone,
            employee_no: &data.technician.employee_no,
        },
    )?;
    settings::set(tx, settings::TECHNICIAN_ID, &technician_id)?;
    settings::set(tx, settings::COMPANY_NAME, &data.company.name)?;
    settings::set(tx, settings::COMPANY_PHONE, &data.company.phone)?;
    settings::set(tx, settings::COMPANY_ADDRESS, &data.company.address)?;
    settings::device_id(tx)?;

    let mut customers = std::collections::HashMap::new();
    for c in &data.customers {
        let id = new_id();
        workorders::insert_customer(
            tx,
            &NewCustomer {
                id: &id,
                name: &c.name,
                phone: &c.phone,
                address: &c.address,
                language: &c.language,
            },
        )?;
        customers.insert(c.key.as_str(), id);
    }
    let mut appliances = std::collections::HashMap::new();
    for a in &data.appliances {
        let customer_id = customers
            .get(a.customer.as_str())
            .ok_or_else(|| StoreError::Invalid(format!("demo: unknown customer {}", a.customer)))?;
        let id = new_id();
        workorders::insert_appliance(
            tx,
            &NewAppliance {
                id: &id,
                customer_id,
                category: &a.category,
                brand: &a.brand,
                model: &a.model,
                serial_no: a.serial_no.as_deref(),
                purchase_date: a.purchase_day.map(|d| today + Duration::days(d)),
                proof: &ProofOfPurchase {
                    kind: a.proof.kind,
                    date: a.proof.day.map(|d| today + Duration::days(d)),
                    sealed: a.proof.sealed,
                },
            },
        )?;
        let contracts: Vec<crate::contracts::Contract> = a
            .contracts
            .iter()
            .map(|c| crate::contracts::Contract {
                reference: c.reference.clone(),
                covers: c.covers,
                valid_from: today + chrono::Duration::days(c.from_day),
                valid_to: today + chrono::Duration::days(c.to_day),
            })
            .collect();
        crate::contracts::replace(tx, &id, &contracts)?;
        appliances.insert(a.key.as_str(), (id, customer_id.clone()));
    }
    let local = |date: NaiveDate, time: NaiveTime| -> StoreResult<DateTime<Utc>> {
        offset
            .from_local_datetime(&date.and_time(time))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| StoreError::Invalid("demo: bad local time".into()))
    };
    let mut per_day: std::collections::HashMap<NaiveDate, u32> = Default::default();
    for w in &data.work_orders {
        let (appliance_id, customer_id) =
            appliances.get(w.appliance.as_str()).ok_or_else(|| {
                StoreError::Invalid(format!("demo: unknown appliance {}", w.appliance))
            })?;
        let date = today + Duration::days(w.day);
        let n = per_day.entry(date).or_default();
        *n += 1;
        let order_no = format!("WO-{}-{:03}", date.format("%Y%m%d"), *n);
        let start = local(date, w.start)?;
        let id = new_id();
        workorders::insert_work_order(
            tx,
            &NewWorkOrder {
                id: &id,
                order_no: &order_no,
                technician_id: &technician_id,
                customer_id,
                appliance_id,
                job_type: w.job_type,
                status: w.status,
                reported_fault: &w.fault,
                appointment_start: start,
                appointment_end: local(date, w.end)?,
                notes: &w.notes,
                created_at: (start - Duration::days(2)).min(now),
            },
        )?;
    }
    for t in &data.fee_tables {
        let id = new_id();
        tx.execute(
            "INSERT INTO fee_table (id, category, version, effective_from) VALUES (?1, ?2, ?3, ?4)",
            params![id, t.category, t.version, t.effective_from.to_string()],
        )?;
        for i in &t.items {
            tx.execute(
                "INSERT INTO fee_item (fee_table_id, code, name_zh, name_en, kind, price_minor,
                                       plus_parts, open_priced, includes, coverable)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    id,
                    i.code,
                    i.name_zh,
                    i.name_en,
                    i.kind,
                    i.price_minor,
                    i.plus_parts,
                    i.open_priced,
                    i.includes.join(" "),
                    i.coverable
                ],
            )?;
        }
    }
    for p in &data.parts {
        let id = new_id();
        tx.execute(
            "INSERT INTO part (id, part_no, name_zh, name_en, category, price_minor, serialized,
                               consumable, return_required)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                p.part_no,
                p.name_zh,
                p.name_en,
                p.category,
                p.price_minor,
                p.serialized,
                p.consumable,
                p.return_required
            ],
        )?;
        tx.execute(
            "INSERT INTO van_stock (part_id, quantity, updated_at) VALUES (?1, ?2, ?3)",
            params![id, p.quantity, ts(now)],
        )?;
    }
    Ok(())
}
