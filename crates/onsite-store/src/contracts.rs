//! Maintenance contracts on an appliance (DOMAIN.md: *contract* service; migration
//! 0007). Head office's: a pulled work order replaces its appliance's set; the demo seeds
//! one. Quotes price with them (the rules decide per line what a contract covers).

use chrono::NaiveDate;
use onsite_domain::rules::{ContractCover, ServiceContract};
use rusqlite::{params, Connection, Transaction};

use crate::{StoreError, StoreResult};

/// A contract as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub reference: String,
    pub covers: ContractCover,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
}

impl Contract {
    /// What the pricing rules need.
    pub fn terms(&self) -> ServiceContract {
        ServiceContract {
            covers: self.covers,
            valid_from: self.valid_from,
            valid_to: self.valid_to,
        }
    }
}

pub fn cover_str(c: ContractCover) -> &'static str {
    match c {
        ContractCover::Labour => "labour",
        ContractCover::Parts => "parts",
        ContractCover::Both => "both",
    }
}

fn parse_cover(s: &str) -> StoreResult<ContractCover> {
    match s {
        "labour" => Ok(ContractCover::Labour),
        "parts" => Ok(ContractCover::Parts),
        "both" => Ok(ContractCover::Both),
        _ => Err(StoreError::Invalid(
            "stored contract cover is unknown".into(),
        )),
    }
}

fn parse_date(s: &str) -> StoreResult<NaiveDate> {
    s.parse()
        .map_err(|_| StoreError::Invalid("stored contract date is not a date".into()))
}

/// The appliance's contracts, by reference.
pub fn for_appliance(conn: &Connection, appliance_id: &str) -> StoreResult<Vec<Contract>> {
    let mut stmt = conn.prepare_cached(
        "SELECT reference, covers, valid_from, valid_to FROM service_contract
         WHERE appliance_id = ?1 ORDER BY reference",
    )?;
    let rows = stmt
        .query_map([appliance_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(reference, covers, from, to)| {
            Ok(Contract {
                reference,
                covers: parse_cover(&covers)?,
                valid_from: parse_date(&from)?,
                valid_to: parse_date(&to)?,
            })
        })
        .collect()
}

/// Replaces the appliance's contracts with `contracts`.
pub fn replace(tx: &Transaction, appliance_id: &str, contracts: &[Contract]) -> StoreResult<()> {
    tx.prepare_cached("DELETE FROM service_contract WHERE appliance_id = ?1")?
        .execute([appliance_id])?;
    for c in contracts {
        if c.valid_to < c.valid_from {
            return Err(StoreError::Invalid(
                "a contract ends before it starts".into(),
            ));
        }
        if c.reference.trim().is_empty() || c.reference.chars().count() > 64 {
            return Err(StoreError::Invalid(
                "a contract reference must be 1 to 64 characters".into(),
            ));
        }
        tx.prepare_cached(
            "INSERT INTO service_contract (appliance_id, reference, covers, valid_from, valid_to)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (appliance_id, reference) DO UPDATE SET covers = excluded.covers,
                 valid_from = excluded.valid_from, valid_to = excluded.valid_to",
        )?
        .execute(params![
            appliance_id,
            c.reference,
            cover_str(c.covers),
            c.valid_from.to_string(),
            c.valid_to.to_string()
        ])?;
    }
    Ok(())
}
