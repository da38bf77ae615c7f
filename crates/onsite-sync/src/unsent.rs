//! Photos that could not be sent (issue 9, hole 8). A photo an op references that this
//! device no longer has (or whose bytes no longer match, or that head office would refuse
//! as too large) does not hold its op back: the op goes with the reference. Nothing would
//! ever bring the photo later, so the run records it in the store
//! (`onsite_store::unsent`) for the sync screen and the day-end check, besides counting it
//! in [`crate::SyncReport::photos_missing`].

use chrono::{DateTime, Utc};
use onsite_api::{Op, OpKind};
use onsite_domain::view_sync::{UnsentFileKind, UnsentWhy};
use onsite_store::unsent::{self, UnsentFile};
use onsite_store::{Store, StoreResult};

use crate::map;

/// Why a blob could not be read, from the engine's text for it (`engine::read_blob`).
pub fn why_of(text: &str) -> UnsentWhy {
    if text.contains("larger") {
        UnsentWhy::TooLarge
    } else if text.contains("damaged") {
        UnsentWhy::Damaged
    } else {
        UnsentWhy::Missing
    }
}

/// The records of a photo that could not be sent: one per op in `ops` that references it.
pub fn photo_records(ops: &[Op], sha256: &str, why: UnsentWhy) -> Vec<UnsentFile> {
    ops.iter()
        .filter(|op| map::photos_of(op).iter().any(|p| p == sha256))
        .map(|op| UnsentFile {
            sha256: sha256.to_owned(),
            op_id: op.op_id.to_string(),
            kind: UnsentFileKind::Photo,
            why,
            // Photos belong to job facts (diagnosis, carry-back): the entity is the job.
            work_order_id: OpKind::parse(&op.kind)
                .filter(|k| !k.is_technician_day())
                .map(|_| op.entity_id.to_string()),
        })
        .collect()
}

/// Records a photo that could not be sent, for each op of `ops` that references it.
pub fn record_photo(
    store: &mut Store,
    ops: &[Op],
    sha256: &str,
    why: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let records = photo_records(ops, sha256, why_of(why));
    store.write(|tx| {
        for r in &records {
            unsent::record(tx, r, now)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use onsite_api::{Diagnosis, OpPayload, PhotoRef};
    use uuid::Uuid;

    #[test]
    fn a_photo_is_recorded_against_each_op_naming_it() {
        let sha = "ab".repeat(32);
        let diag = |n: u128, photos: Vec<String>| {
            Op::new(
                Uuid::from_u128(n),
                n as i64,
                Uuid::from_u128(99),
                None,
                &OpPayload::RecordDiagnosis(Diagnosis {
                    fact_id: Uuid::from_u128(100 + n),
                    diagnosis_id: Uuid::from_u128(200 + n),
                    fault_found: String::new(),
                    components: vec![],
                    exclusions: vec![],
                    notes: String::new(),
                    photos: photos
                        .into_iter()
                        .map(|sha256| PhotoRef {
                            sha256,
                            media_type: "image/jpeg".into(),
                            size: 1,
                        })
                        .collect(),
                    at: "2026-05-01T10:00:00Z".parse().unwrap(),
                }),
            )
        };
        let ops = [
            diag(1, vec![sha.clone()]),
            diag(2, vec!["cd".repeat(32)]),
            diag(3, vec!["cd".repeat(32), sha.clone()]),
        ];
        let got = photo_records(&ops, &sha, UnsentWhy::Missing);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].op_id, Uuid::from_u128(1).to_string());
        assert_eq!(got[1].op_id, Uuid::from_u128(3).to_string());
        assert_eq!(
            got[0].work_order_id.as_deref(),
            Some(Uuid::from_u128(99).to_string().as_str())
        );
        assert_eq!(got[0].kind, UnsentFileKind::Photo);
    }

    #[test]
    fn the_engines_texts_give_the_reason() {
        assert_eq!(
            why_of("the blob it references is missing on this device"),
            UnsentWhy::Missing
        );
        assert_eq!(
            why_of("the blob it references is damaged on this device"),
            UnsentWhy::Damaged
        );
        assert_eq!(
            why_of("the blob it references is larger than head office accepts"),
            UnsentWhy::TooLarge
        );
    }
}
