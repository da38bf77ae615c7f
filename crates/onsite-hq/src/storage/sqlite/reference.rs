//! Reference data: fee tables (`fee_tables`), the parts catalogue (`parts_catalogues`),
//! price lists (`price_lists`), parts issued to technicians (`parts_issues`) and the company
//! profile (`company`).

use chrono::{DateTime, Utc};
use onsite_api::{
    CompanyProfile, FeeItem, FeeTable, FeeTablePublish, NewPartsIssue, Part, PartPrice,
    PartsCatalogue, PartsCataloguePublish, PartsIssue, PartsIssueLine, PriceList, PriceListPublish,
};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use uuid::Uuid;

use super::devices::technician_exists;
use super::facts::{feed, new_commit, EVERYONE};
use super::work_orders::load_work_order;
use super::{get_json, get_opt_uuid, get_time, get_uuid, parse_time, ts, SqliteStorage};
use crate::storage::{Result, StorageError};

pub(super) fn load_fee_table(conn: &Connection, version: i64) -> Result<Option<FeeTable>> {
    Ok(conn
        .query_row(
            "SELECT version, effective_from, published_at, items, category FROM fee_tables \
             WHERE version = ?1",
            [version],
            |r| {
                Ok(FeeTable {
                    category: r.get(4)?,
                    version: r.get(0)?,
                    effective_from: get_time(r, 1)?,
                    published_at: get_time(r, 2)?,
                    items: get_json::<Vec<FeeItem>>(r, 3)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn load_price_list(conn: &Connection, version: i64) -> Result<Option<PriceList>> {
    Ok(conn
        .query_row(
            "SELECT version, effective_from, published_at, prices FROM price_lists WHERE version = ?1",
            [version],
            |r| {
                Ok(PriceList {
                    version: r.get(0)?,
                    effective_from: get_time(r, 1)?,
                    published_at: get_time(r, 2)?,
                    prices: get_json::<Vec<PartPrice>>(r, 3)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn load_latest_catalogue(conn: &Connection) -> Result<Option<PartsCatalogue>> {
    Ok(conn
        .query_row(
            "SELECT version, published_at, parts FROM parts_catalogues ORDER BY version DESC LIMIT 1",
            [],
            |r| {
                Ok(PartsCatalogue {
                    version: r.get(0)?,
                    published_at: get_time(r, 1)?,
                    parts: get_json::<Vec<Part>>(r, 2)?,
                })
            },
        )
        .optional()?)
}

pub(super) const ISSUE_COLS: &str = "id, technician_id, issued_at, lines, note, work_order_id";

pub(super) fn issue_from_row(r: &Row) -> rusqlite::Result<PartsIssue> {
    Ok(PartsIssue {
        id: get_uuid(r, 0)?,
        technician_id: get_uuid(r, 1)?,
        issued_at: get_time(r, 2)?,
        lines: get_json::<Vec<PartsIssueLine>>(r, 3)?,
        note: r.get(4)?,
        work_order_id: get_opt_uuid(r, 5)?,
    })
}

pub(super) fn load_company(conn: &Connection) -> Result<Option<CompanyProfile>> {
    Ok(conn
        .query_row(
            "SELECT name, phone, address FROM company WHERE id = 1",
            [],
            |r| {
                Ok(CompanyProfile {
                    name: r.get(0)?,
                    phone: r.get(1)?,
                    address: r.get(2)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn publish_fee_table(
    db: &SqliteStorage,
    table: &FeeTablePublish,
    now: DateTime<Utc>,
) -> Result<FeeTable> {
    let mut conn = db.writer();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM fee_tables",
        [],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO fee_tables (version, effective_from, published_at, items, category) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            version,
            ts(table.effective_from),
            ts(now),
            serde_json::to_string(&table.items)?,
            table.category
        ],
    )?;
    let seq = new_commit(&tx, now)?;
    feed(&tx, EVERYONE, "fee_table", &version.to_string(), seq, false)?;
    tx.commit()?;
    Ok(FeeTable {
        category: table.category.clone(),
        version,
        effective_from: table.effective_from,
        published_at: now,
        items: table.items.clone(),
    })
}

pub(super) fn list_fee_tables(db: &SqliteStorage) -> Result<Vec<FeeTable>> {
    let conn = db.reader();
    let mut stmt = conn.prepare(
        "SELECT version, effective_from, published_at, items, category FROM fee_tables \
         ORDER BY version",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(FeeTable {
            category: r.get(4)?,
            version: r.get(0)?,
            effective_from: get_time(r, 1)?,
            published_at: get_time(r, 2)?,
            items: get_json(r, 3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn publish_parts_catalogue(
    db: &SqliteStorage,
    catalogue: &PartsCataloguePublish,
    now: DateTime<Utc>,
) -> Result<PartsCatalogue> {
    let mut conn = db.writer();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM parts_catalogues",
        [],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO parts_catalogues (version, published_at, parts) VALUES (?1, ?2, ?3)",
        params![version, ts(now), serde_json::to_string(&catalogue.parts)?],
    )?;
    let seq = new_commit(&tx, now)?;
    feed(&tx, EVERYONE, "parts_catalogue", "current", seq, false)?;
    tx.commit()?;
    Ok(PartsCatalogue {
        version,
        published_at: now,
        parts: catalogue.parts.clone(),
    })
}

pub(super) fn publish_price_list(
    db: &SqliteStorage,
    list: &PriceListPublish,
    now: DateTime<Utc>,
) -> Result<PriceList> {
    let mut conn = db.writer();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM price_lists",
        [],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO price_lists (version, effective_from, published_at, prices) VALUES (?1, ?2, ?3, ?4)",
        params![version, ts(list.effective_from), ts(now), serde_json::to_string(&list.prices)?],
    )?;
    let seq = new_commit(&tx, now)?;
    feed(
        &tx,
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
    db: &SqliteStorage,
    technician_id: Uuid,
    id: Uuid,
    issue: &NewPartsIssue,
    now: DateTime<Utc>,
) -> Result<PartsIssue> {
    let mut conn = db.writer();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !technician_exists(&tx, technician_id)? {
        return Err(StorageError::NotFound);
    }
    let catalogue = load_latest_catalogue(&tx)?;
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
        if load_work_order(&tx, w)?.is_none() {
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
        &format!("INSERT INTO parts_issues ({ISSUE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![
            id.to_string(),
            technician_id.to_string(),
            ts(now),
            serde_json::to_string(&issue.lines)?,
            issue.note,
            issue.work_order_id.map(|w| w.to_string())
        ],
    )?;
    let seq = new_commit(&tx, now)?;
    feed(
        &tx,
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
    db: &SqliteStorage,
    technician_id: Uuid,
) -> Result<Vec<PartsIssue>> {
    let conn = db.reader();
    if !technician_exists(&conn, technician_id)? {
        return Err(StorageError::NotFound);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ISSUE_COLS} FROM parts_issues WHERE technician_id = ?1 \
         ORDER BY issued_at, id"
    ))?;
    let rows = stmt.query_map([technician_id.to_string()], issue_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn put_company(
    db: &SqliteStorage,
    company: &CompanyProfile,
    now: DateTime<Utc>,
) -> Result<CompanyProfile> {
    let mut conn = db.writer();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO company (id, name, phone, address, updated_at) \
         VALUES (1, ?1, ?2, ?3, ?4) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone, \
         address = excluded.address, updated_at = excluded.updated_at",
        params![company.name, company.phone, company.address, ts(now)],
    )?;
    let seq = new_commit(&tx, now)?;
    feed(&tx, EVERYONE, "company", "current", seq, false)?;
    tx.commit()?;
    Ok(company.clone())
}
