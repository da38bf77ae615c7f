//! Device-local settings: never synced, never in the outbox.

use rusqlite::{Connection, OptionalExtension, Transaction};

use crate::StoreResult;

pub const LOCALE: &str = "locale";
pub const DEVICE_ID: &str = "device_id";
pub const TECHNICIAN_ID: &str = "technician_id";
pub const COMPANY_NAME: &str = "company_name";
pub const COMPANY_PHONE: &str = "company_phone";
pub const COMPANY_ADDRESS: &str = "company_address";

/// UI languages Onsite ships.
pub const LOCALES: &[&str] = &["en", "zh-CN"];

pub fn get(conn: &Connection, key: &str) -> StoreResult<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM setting WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

pub fn set(tx: &Transaction, key: &str, value: &str) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO setting (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

pub fn unset(tx: &Transaction, key: &str) -> StoreResult<()> {
    tx.execute("DELETE FROM setting WHERE key = ?1", [key])?;
    Ok(())
}

/// This device's id, made once.
pub fn device_id(tx: &Transaction) -> StoreResult<String> {
    if let Some(id) = get(tx, DEVICE_ID)? {
        return Ok(id);
    }
    let id = uuid::Uuid::now_v7().to_string();
    set(tx, DEVICE_ID, &id)?;
    Ok(id)
}

/// The settings the UI shows.
pub fn current(conn: &Connection) -> StoreResult<onsite_domain::view::Settings> {
    Ok(onsite_domain::view::Settings {
        locale: get(conn, LOCALE)?,
    })
}
