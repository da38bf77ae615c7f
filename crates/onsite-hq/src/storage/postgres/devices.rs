//! Devices and enrolment: technicians (`technicians`), one-time enrolment codes
//! (`enrolment_codes`), devices and their token hashes (`devices`): enrolling, revoking,
//! marking lost, recording an erasure.

use chrono::{DateTime, Utc};
use onsite_api::{Device, Technician};
use postgres::Row;

use super::client::Db;
use uuid::Uuid;

use super::{get, get_json, get_opt_time, get_time, get_uuid, ts, PostgresStorage};
use crate::storage::{DeviceAuth, NewDevice, Result, StorageError};

/// The columns [`device_from_row`] reads.
pub(super) const DEVICE_COLS: &str =
    "id, technician_id, name, enrolled_at, revoked_at, lost_at, erased_at, erased_report";

pub(super) fn device_from_row(row: &Row) -> Result<Device> {
    Ok(Device {
        id: get_uuid(row, 0)?,
        technician_id: get_uuid(row, 1)?,
        name: get(row, 2)?,
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

pub(super) fn device_by_id(conn: &mut impl Db, id: Uuid) -> Result<Device> {
    let row = conn
        .query_opt(
            &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = $1"),
            &[&id.to_string()],
        )?
        .ok_or(StorageError::NotFound)?;
    device_from_row(&row)
}

pub(super) fn technician_from_row(row: &Row) -> Result<Technician> {
    Ok(Technician {
        id: get_uuid(row, 0)?,
        name: get(row, 1)?,
        created_at: get_time(row, 2)?,
    })
}

pub(super) fn technician_exists(conn: &mut impl Db, id: Uuid) -> Result<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM technicians WHERE id = $1",
            &[&id.to_string()],
        )?
        .is_some())
}

pub(super) fn create_technician(
    db: &PostgresStorage,
    id: Uuid,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Technician> {
    db.conn()?.execute(
        "INSERT INTO technicians (id, name, created_at) VALUES ($1, $2, $3)",
        &[&id.to_string(), &name, &ts(now)],
    )?;
    Ok(Technician {
        id,
        name: name.to_owned(),
        created_at: now,
    })
}

pub(super) fn list_technicians(db: &PostgresStorage) -> Result<Vec<Technician>> {
    db.conn()?
        .query(
            "SELECT id, name, created_at FROM technicians ORDER BY name, id",
            &[],
        )?
        .iter()
        .map(technician_from_row)
        .collect()
}

pub(super) fn store_enrolment_code(
    db: &PostgresStorage,
    technician_id: Uuid,
    code_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    let mut conn = db.conn()?;
    if !technician_exists(&mut *conn, technician_id)? {
        return Err(StorageError::NotFound);
    }
    conn.execute(
        "INSERT INTO enrolment_codes (code_hash, technician_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
        &[
            &code_hash,
            &technician_id.to_string(),
            &ts(now),
            &ts(expires_at),
        ],
    )?;
    Ok(())
}

pub(super) fn enroll_device(
    db: &PostgresStorage,
    code_hash: &str,
    device: NewDevice<'_>,
    now: DateTime<Utc>,
) -> Result<(Device, Technician)> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    // FOR UPDATE: the same code spent on two instances at once enrols one device; the
    // other waits for the row, then reads it spent.
    let code = match tx.query_opt(
        "SELECT technician_id, expires_at, used_at FROM enrolment_codes WHERE code_hash = $1 \
         FOR UPDATE",
        &[&code_hash],
    )? {
        Some(r) => Some((
            get_uuid(&r, 0)?,
            get_time(&r, 1)?,
            get::<Option<String>>(&r, 2)?,
        )),
        None => None,
    };
    let technician_id = match code {
        Some((t, expires, None)) if expires > now => t,
        _ => return Err(StorageError::InvalidCode),
    };
    tx.execute(
        "UPDATE enrolment_codes SET used_at = $1, device_id = $2 WHERE code_hash = $3",
        &[&ts(now), &device.id.to_string(), &code_hash],
    )?;
    tx.execute(
        "INSERT INTO devices (id, technician_id, name, token_hash, enrolled_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &device.id.to_string(),
            &technician_id.to_string(),
            &device.name,
            &device.token_hash,
            &ts(now),
        ],
    )?;
    let technician = technician_from_row(&tx.query_one(
        "SELECT id, name, created_at FROM technicians WHERE id = $1",
        &[&technician_id.to_string()],
    )?)?;
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

pub(super) fn device_for_token(
    db: &PostgresStorage,
    token_hash: &str,
) -> Result<Option<DeviceAuth>> {
    db.conn()?
        .query_opt(
            "SELECT id, technician_id, revoked_at IS NOT NULL, lost_at IS NOT NULL \
             FROM devices WHERE token_hash = $1",
            &[&token_hash],
        )?
        .map(|r| {
            Ok(DeviceAuth {
                device_id: get_uuid(&r, 0)?,
                technician_id: get_uuid(&r, 1)?,
                revoked: get(&r, 2)?,
                lost: get(&r, 3)?,
            })
        })
        .transpose()
}

pub(super) fn list_devices(db: &PostgresStorage) -> Result<Vec<Device>> {
    db.conn()?
        .query(
            &format!("SELECT {DEVICE_COLS} FROM devices ORDER BY enrolled_at, id"),
            &[],
        )?
        .iter()
        .map(device_from_row)
        .collect()
}

pub(super) fn revoke_device(db: &PostgresStorage, id: Uuid, now: DateTime<Utc>) -> Result<Device> {
    let mut conn = db.conn()?;
    conn.execute(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
        &[&ts(now), &id.to_string()],
    )?;
    device_by_id(&mut *conn, id)
}

pub(super) fn mark_device_lost(
    db: &PostgresStorage,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Device> {
    let mut conn = db.conn()?;
    conn.execute(
        "UPDATE devices SET lost_at = COALESCE(lost_at, $1) WHERE id = $2",
        &[&ts(now), &id.to_string()],
    )?;
    device_by_id(&mut *conn, id)
}

pub(super) fn record_device_erased(
    db: &PostgresStorage,
    id: Uuid,
    report: &onsite_api::ErasedReport,
    now: DateTime<Utc>,
) -> Result<Device> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    let lost: bool = get(
        &tx.query_opt(
            "SELECT lost_at IS NOT NULL FROM devices WHERE id = $1 FOR UPDATE",
            &[&id.to_string()],
        )?
        .ok_or(StorageError::NotFound)?,
        0,
    )?;
    if !lost {
        return Err(StorageError::Conflict(
            "this device was not marked lost".into(),
        ));
    }
    let body = serde_json::to_string(report).map_err(|e| StorageError::Internal(e.to_string()))?;
    // The first report counts (a repeat, after a lost reply, changes nothing).
    tx.execute(
        "UPDATE devices SET erased_at = COALESCE(erased_at, $1), \
             erased_report = COALESCE(erased_report, $2), \
             revoked_at = COALESCE(revoked_at, $1) WHERE id = $3",
        &[&ts(now), &body, &id.to_string()],
    )?;
    let device = device_by_id(&mut tx, id)?;
    tx.commit()?;
    Ok(device)
}
