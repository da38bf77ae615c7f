//! Reference data: fee tables (`fee_tables`), the parts catalogue (`parts_catalogues`),
//! price lists (`price_lists`), parts issued to technicians (`parts_issues`) and the company
//! profile (`company`).

use chrono::{DateTime, Utc};
use onsite_api::{
    CompanyProfile, FeeItem, FeeTable, FeeTablePublish, NewPartsIssue, Part, PartPrice,
    PartsCatalogue, PartsCataloguePublish, PartsIssue, PartsIssueLine, PriceList, PriceListPublish,
};
use postgres::Row;

use super::client::Db;
use uuid::Uuid;

use super::devices::technician_exists;
use super::facts::{feed, new_commit, EVERYONE};
use super::work_orders::load_work_order;
use super::{get, get_json, get_opt_uuid, get_time, get_uuid, parse_time, ts, PostgresStorage};
use crate::storage::{Result, StorageError};

const FEE_TABLE_COLS: &str = "version, effective_from, published_at, items, category";

fn fee_table_from_row(r: &Row) -> Result<FeeTable> {
    Ok(FeeTable {
        category: get(r, 4)?,
        version: get(r, 0)?,
        effective_from: get_time(r, 1)?,
        published_at: get_time(r, 2)?,
        items: get_json::<Vec<FeeItem>>(r, 3)?,
    })
}

pub(super) fn load_fee_table(conn: &mut impl Db, version: i64) -> Result<Option<FeeTable>> {
    conn.query_opt(
        &format!("SELECT {FEE_TABLE_COLS} FROM fee_tables WHERE version = $1"),
        &[&version],
    )?
    .map(|r| fee_table_from_row(&r))
    .transpose()
}

pub(super) fn load_price_list(conn: &mut impl Db, version: i64) -> Result<Option<PriceList>> {
    conn.query_opt(
        "SELECT version, effective_from, published_at, prices FROM price_lists WHERE version = $1",
        &[&version],
    )?
    .map(|r| {
        Ok(PriceList {
            version: get(&r, 0)?,
            effective_from: get_time(&r, 1)?,
            published_at: get_time(&r, 2)?,
            prices: get_json::<Vec<PartPrice>>(&r, 3)?,
        })
    })
    .transpose()
}

pub(super) fn load_latest_catalogue(conn: &mut impl Db) -> Result<Option<PartsCatalogue>> {
    conn.query_opt(
        "SELECT version, published_at, parts FROM parts_catalogues ORDER BY version DESC LIMIT 1",
        &[],
    )?
    .map(|r| {
        Ok(PartsCatalogue {
            version: get(&r, 0)?,
            published_at: get_time(&r, 1)?,
            parts: get_json::<Vec<Part>>(&r, 2)?,
        })
    })
    .transpose()
}

pub(super) const ISSUE_COLS: &str = "id, technician_id, issued_at, lines, note, work_order_id";

pub(super) fn issue_from_row(r: &Row) -> Result<PartsIssue> {
    Ok(PartsIssue {
        id: get_uuid(r, 0)?,
        technician_id: get_uuid(r, 1)?,
        issued_at: get_time(r, 2)?,
        lines: get_json::<Vec<PartsIssueLine>>(r, 3)?,
        note: get(r, 4)?,
        work_order_id: get_opt_uuid(r, 5)?,
    })
}

pub(super) fn load_company(conn: &mut impl Db) -> Result<Option<CompanyProfile>> {
    conn.query_opt("SELECT name, phone, address FROM company WHERE id = 1", &[])?
        .map(|r| {
            Ok(CompanyProfile {
                name: get(&r, 0)?,
                phone: get(&r, 1)?,
                address: get(&r, 2)?,
            })
        })
        .transpose()
}

/// The next version of a versioned table (the caller holds the write lock).
fn next_version(conn: &mut impl Db, table: &str) -> Result<i64> {
    get(
        &conn.query_one(
            &format!("SELECT COALESCE(MAX(version), 0) + 1 FROM {table}"),
            &[],
        )?,
        0,
    )
}

pub(super) fn publish_fee_table(
    db: &PostgresStorage,
    table: &FeeTablePublish,
    now: DateTime<Utc>,
) -> Result<FeeTable> {
    let mut conn = db.writer()?;
    let mut tx = db.write(&mut conn)?;
    let version = next_version(&mut tx, "fee_tables")?;
    tx.execute(
        "INSERT INTO fee_tables (version, effective_from, published_at, items, category) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &version,
            &ts(table.effective_from),
            &ts(now),
            &serde_json::to_string(&table.items)?,
            &table.category,
        ],
    )?;
    let seq = new_commit(&mut tx, now)?;
    feed(
        &mut tx,
        EVERYONE,
        "fee_table",
        &version.to_string(),
        seq,
        false,
    )?;
    tx.commit()?;
    Ok(FeeTable {
        category: table.category.clone(),
        version,
        effective_from: table.effective_from,
        published_at: now,
        items: table.items.clone(),
    })
}

pub(super) fn list_fee_tables(db: &PostgresStorage) -> Result<Vec<FeeTable>> {
    db.conn()?
        .query(
            &format!("SELECT {FEE_TABLE_COLS} FROM fee_tables ORDER BY version"),
            &[],
        )?
        .iter()
        .map(fee_table_from_row)
        .collect()
}

pub(super) fn publish_parts_catalogue(
    db: &PostgresStorage,
    catalogue: &PartsCataloguePublish,
    now: DateTime<Utc>,
) -> Result<PartsCatalogue> {
    let mut conn = db.writer()?;
    let mut tx = db.write(&mut conn)?;
    let version = next_version(&mut tx, "parts_catalogues")?;
    tx.execute(
        "INSERT INTO parts_catalogues (version, published_at, parts) VALUES ($1, $2, $3)",
        &[
            &version,
            &ts(now),
            &serde_json::to_string(&catalogue.parts)?,
        ],
    )?;
    let seq = new_commit(&mut tx, now)?;
    feed(&mut tx, EVERYONE, "parts_catalogue", "current", seq, false)?;
    tx.commit()?;
    Ok(PartsCatalogue {
        version,
        published_at: now,
        parts: catalogue.parts.clone(),
    })
}

pub(super) fn publish_price_list(
    db: &PostgresStorage,
    list: &PriceListPublish,
    now: DateTime<Utc>,
) -> Result<PriceList> {
    let mut conn = db.writer()?;
    let mut tx = db.write(&mut conn)?;
    let version = next_version(&mut tx, "price_lists")?;
    tx.execute(
        "INSERT INTO price_lists (version, effective_from, published_at, prices) \
         VALUES ($1, $2, $3, $4)",
        &[
            &version,
            &ts(list.effective_from),
            &ts(now),
            &serde_json::to_string(&list.prices)?,
        ],
    )?;
    let seq = new_commit(&mut tx, now)?;
    feed(
        &mut tx,
        EVERYONE,
        "price_list",
        &version.to_string(),
        seq,
        false,
    )?;
    tx.commit()?;
    Ok(PriceList {
        version,
        effective_from: list.effective_from,
        published_at: now,
        prices: list.prices.clone(),
    })
}

pub(super) fn issue_parts(
    db: &PostgresStorage,
    technician_id: Uuid,
    id: Uuid,
    issue: &NewPartsIssue,
    now: DateTime<Utc>,
) -> Result<PartsIssue> {
    let mut conn = db.writer()?;
    let mut tx = db.write(&mut conn)?;
    if !technician_exists(&mut tx, technician_id)? {
        return Err(StorageError::NotFound);
    }
    let catalogue = load_latest_catalogue(&mut tx)?;
    for line in &issue.lines {
        let known = catalogue
            .as_ref()
            .is_some_and(|c| c.parts.iter().any(|p| p.part_no == line.part_no));
        if !known {
            return Err(StorageError::Invalid(format!(
                "lines.part_no: part {} is not in the parts catalogue in force",
                line.part_no
            )));
        }
    }
    if let Some(w) = issue.work_order_id {
        if load_work_order(&mut tx, w)?.is_none() {
            return Err(StorageError::Invalid(
                "work_order_id: no such work order".into(),
            ));
        }
    }
    let stored = PartsIssue {
        id,
        technician_id,
        issued_at: parse_time(&ts(now)).unwrap_or(now),
        lines: issue.lines.clone(),
        note: issue.note.clone(),
        work_order_id: issue.work_order_id,
    };
    tx.execute(
        &format!("INSERT INTO parts_issues ({ISSUE_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        &[
            &id.to_string(),
            &technician_id.to_string(),
            &ts(now),
            &serde_json::to_string(&issue.lines)?,
            &issue.note,
            &issue.work_order_id.map(|w| w.to_string()),
        ],
    )?;
    let seq = new_commit(&mut tx, now)?;
    feed(
        &mut tx,
        &technician_id.to_string(),
        "parts_issue",
        &id.to_string(),
        seq,
        false,
    )?;
    tx.commit()?;
    Ok(stored)
}

pub(super) fn list_parts_issues(
    db: &PostgresStorage,
    technician_id: Uuid,
) -> Result<Vec<PartsIssue>> {
    let mut conn = db.conn()?;
    if !technician_exists(&mut *conn, technician_id)? {
        return Err(StorageError::NotFound);
    }
    conn.query(
        &format!(
            "SELECT {ISSUE_COLS} FROM parts_issues WHERE technician_id = $1 \
             ORDER BY issued_at, id"
        ),
        &[&technician_id.to_string()],
    )?
    .iter()
    .map(issue_from_row)
    .collect()
}

pub(super) fn put_company(
    db: &PostgresStorage,
    company: &CompanyProfile,
    now: DateTime<Utc>,
) -> Result<CompanyProfile> {
    let mut conn = db.writer()?;
    let mut tx = db.write(&mut conn)?;
    tx.execute(
        "INSERT INTO company (id, name, phone, address, updated_at) \
         VALUES (1, $1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone, \
         address = excluded.address, updated_at = excluded.updated_at",
        &[&company.name, &company.phone, &company.address, &ts(now)],
    )?;
    let seq = new_commit(&mut tx, now)?;
    feed(&mut tx, EVERYONE, "company", "current", seq, false)?;
    tx.commit()?;
    Ok(company.clone())
}
