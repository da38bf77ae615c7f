//! Devices and enrolment: technicians (`technicians`), one-time enrolment codes
//! (`enrolment_codes`), devices and their token hashes (`devices`): enrolling, revoking,
//! marking lost, recording an erasure.

use chrono::{DateTime, Utc};
use onsite_api::{Device, Technician};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use uuid::Uuid;

use super::{get_json, get_opt_time, get_time, get_uuid, ts, SqliteStorage};
use crate::storage::{DeviceAuth, NewDevice, Result, StorageError};

/// The columns [`device_from_row`] reads.
pub(super) const DEVICE_COLS: &str =
    "id, technician_id, name, enrolled_at, revoked_at, lost_at, erased_at, erased_report";

pub(super) fn device_from_row(row: &Row) -> rusqlite::Result<Device> {
    Ok(Device {
        id: get_uuid(row, 0)?,
        technician_id: get_uuid(row, 1)?,
        name: row.get(2)?,
        enrolled_at: get_time(row, 3)?,
        revoked_at: get_opt_time(row, 4)?,
        lost_at: get_opt_time(row, 5)?,
        erased: match get_opt_time(row, 6)? {
            Some(at) => Some(onsite_api::ErasedRecord {
                at,
                report: get_json(row, 7)?,
            }),
            None => None,
        },
    })
}

pub(super) fn device_by_id(conn: &Connection, id: Uuid) -> Result<Device> {
    Ok(conn.query_row(
        &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
        [id.to_string()],
        device_from_row,
    )?)
}

pub(super) fn technician_from_row(row: &Row) -> rusqlite::Result<Technician> {
    Ok(Technician {
        id: get_uuid(row, 0)?,
        name: row.get(1)?,
        created_at: get_time(row, 2)?,
    })
}

pub(super) fn technician_exists(conn: &Connection, id: Uuid) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM technicians WHERE id = ?1",
            [id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

pub(super) fn create_technician(
    db: &SqliteStorage,
    id: Uuid,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Technician> {
    let conn = db.writer();
    conn.execute(
        "INSERT INTO technicians (id, name, created_at) VALUES (?1, ?2, ?3)",
        params![id.to_string(), name, ts(now)],
    )?;
    Ok(Technician {
        id,
        name: name.to_owned(),
        created_at: now,
    })
}

pub(super) fn list_technicians(db: &SqliteStorage) -> Result<Vec<Technician>> {
    let conn = db.reader();
    let mut stmt =
        conn.prepare("SELECT id, name, created_at FROM technicians ORDER BY name, id")?;
    let rows = stmt.query_map([], technician_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn store_enrolment_code(
    db: &SqliteStorage,
    technician_id: Uuid,
    code_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    let conn = db.writer();
    if !technician_exists(&conn, technician_id)? {
        return Err(StorageError::NotFound);
    }
    conn.execute(
        "INSERT INTO enrolment_codes (code_hash, technician_id, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4)",
        params![
            code_hash,
            technician_id.to_string(),
            ts(now),
            ts(expires_at)
        ],
    )?;
    Ok(())
}

pub(super) fn enroll_device(
    db: &SqliteStorage,
    code_hash: &str,
    device: NewDevice<'_>,
    now: DateTime<Utc>,
) -> Result<(Device, Technician)> {
    let mut conn = db.writer();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let code = tx
        .query_row(
            "SELECT technician_id, expires_at, used_at FROM enrolment_codes WHERE code_hash = ?1",
            [code_hash],
            |r| {
                Ok((
                    get_uuid(r, 0)?,
                    get_time(r, 1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()?;
    let technician_id = match code {
        Some((t, expires, None)) if expires > now => t,
        _ => return Err(StorageError::InvalidCode),
    };
    tx.execute(
        "UPDATE enrolment_codes SET used_at = ?1, device_id = ?2 WHERE code_hash = ?3",
        params![ts(now), device.id.to_string(), code_hash],
    )?;
    tx.execute(
        "INSERT INTO devices (id, technician_id, name, token_hash, enrolled_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            device.id.to_string(),
            technician_id.to_string(),
            device.name,
            device.token_hash,
            ts(now)
        ],
    )?;
    let technician = tx.query_row(
        "SELECT id, name, created_at FROM technicians WHERE id = ?1",
        [technician_id.to_string()],
        technician_from_row,
    )?;
    tx.commit()?;
    Ok((
        Device {
            id: device.id,
            technician_id,
            name: device.name.to_owned(),
            enrolled_at: now,
            revoked_at: None,
            lost_at: None,
            erased: None,
        },
        technician,
    ))
}

pub(super) fn device_for_token(db: &SqliteStorage, token_hash: &str) -> Result<Option<DeviceAuth>> {
    let conn = db.reader();
    Ok(conn
        .query_row(
            "SELECT id, technician_id, revoked_at IS NOT NULL, lost_at IS NOT NULL \
             FROM devices WHERE token_hash = ?1",
            [token_hash],
            |r| {
                Ok(DeviceAuth {
                    device_id: get_uuid(r, 0)?,
                    technician_id: get_uuid(r, 1)?,
                    revoked: r.get(2)?,
                    lost: r.get(3)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn list_devices(db: &SqliteStorage) -> Result<Vec<Device>> {
    let conn = db.reader();
    let mut stmt = conn.prepare(&format!(
        "SELECT {DEVICE_COLS} FROM devices ORDER BY enrolled_at, id"
    ))?;
    let rows = stmt.query_map([], device_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn revoke_device(db: &SqliteStorage, id: Uuid, now: DateTime<Utc>) -> Result<Device> {
    let conn = db.writer();
    conn.execute(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
        params![ts(now), id.to_string()],
    )?;
    device_by_id(&conn, id)
}

pub(super) fn mark_device_lost(db: &SqliteStorage, id: Uuid, now: DateTime<Utc>) -> Result<Device> {
    let conn = db.writer();
    conn.execute(
        "UPDATE devices SET lost_at = COALESCE(lost_at, ?1) WHERE id = ?2",
        params![ts(now), id.to_string()],
    )?;
    device_by_id(&conn, id)
}

pub(super) fn record_device_erased(
    db: &SqliteStorage,
    id: Uuid,
    report: &onsite_api::ErasedReport,
    now: DateTime<Utc>,
) -> Result<Device> {
    let mut conn = db.writer();
    let tx = conn.transaction()?;
    let lost: bool = tx.query_row(
        "SELECT lost_at IS NOT NULL FROM devices WHERE id = ?1",
        [id.to_string()],
        |r| r.get(0),
    )?;
    if !lost {
        return Err(StorageError::Conflict(
            "this device was not marked lost".into(),
        ));
    }
    let body = serde_json::to_string(report).map_err(|e| StorageError::Internal(e.to_string()))?;
    // The first report counts (a repeat, after a lost reply, changes nothing).
    tx.execute(
        "UPDATE devices SET erased_at = COALESCE(erased_at, ?1), \
             erased_report = COALESCE(erased_report, ?2), \
             revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?3",
        params![ts(now), body, id.to_string()],
    )?;
    let device = device_by_id(&tx, id)?;
    tx.commit()?;
    Ok(device)
}
