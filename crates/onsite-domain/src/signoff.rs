//! What a customer's signature vouches for, and how the app tells that it still does.
//!
//! At signing the app hashes the job's *content* (who, what appliance, the fault, the
//! technician's notes, the priced lines) with SHA-256 over a canonical JSON form, stores
//! the hash with the signature and prints it on the sign-off sheet. If the content changes
//! afterwards, the hash no longer matches: the signature is void and a new one is asked
//! for; the old one stays in the history. Status and timestamps are not content: moving a
//! job to "completed" after the customer signed does not void the signature.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

/// One priced line as signed (codes and amounts, not display text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedLine {
    pub code: String,
    pub quantity: u32,
    pub amount_minor: i64,
    pub covered: bool,
}

/// The canonical content of a job. Field order is the canonical order: never reorder,
/// only append (with a new version), or every stored hash stops matching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedContent {
    pub version: u32,
    pub order_no: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub customer_address: String,
    pub appliance_model: String,
    pub appliance_serial: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    pub reported_fault: String,
    /// The technician's diagnosis (latest), empty before one is recorded.
    pub fault_found: String,
    pub notes: String,
    /// The current quote's lines as shown to the customer (not later deposit reversals:
    /// handing an old part in after signing does not void the signature).
    pub lines: Vec<SignedLine>,
}

impl SignedContent {
    /// Lowercase hex SHA-256 of the canonical JSON.
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("plain data always serialises");
        hex(&Sha256::digest(json))
    }
}

/// Lowercase hex SHA-256 of any bytes (content addresses of PNGs and PDFs, blob ids, token
/// and enrolment-code hashes). The one definition: onsite-hq (`auth::sha256_hex`) and
/// onsite-sync (`sha256_hex`) re-export it; onsite-docs, which does not depend on this
/// crate, keeps a copy tested against the same known vector.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a visit may be completed without the customer's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NoSignatureReason {
    CustomerAbsent,
    RefusedToSign,
}

impl NoSignatureReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            NoSignatureReason::CustomerAbsent => "customer_absent",
            NoSignatureReason::RefusedToSign => "refused_to_sign",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> SignedContent {
        SignedContent {
            version: 1,
            order_no: "WO-20261124-002".into(),
            customer_name: "张志强".into(),
            customer_phone: "13501234567".into(),
            customer_address: "北京市西城区西直门外大街18号".into(),
            appliance_model: "QY-RO500".into(),
            appliance_serial: Some("QY500-2406-003317".into()),
            purchase_date: NaiveDate::from_ymd_opt(2024, 6, 10),
            reported_fault: "出水量变小".into(),
            fault_found: String::new(),
            notes: String::new(),
            lines: vec![],
        }
    }

    #[test]
    fn hash_is_stable_and_content_sensitive() {
        let a = content();
        assert_eq!(a.hash(), content().hash());
        assert_eq!(a.hash().len(), 64);
        assert!(a
            .hash()
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let mut b = content();
        b.notes = "更换PP棉".into();
        assert_ne!(a.hash(), b.hash());
        let mut c = content();
        c.lines.push(SignedLine {
            code: "MAINT".into(),
            quantity: 1,
            amount_minor: 3000,
            covered: false,
        });
        assert_ne!(a.hash(), c.hash());
    }

    #[test]
    fn known_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
