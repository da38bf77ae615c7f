//! Diagnosis: the fault found, the components concerned, exclusions, notes and photos.
//! Photos are content-addressed files: [`put_blob`] writes `<blobs_dir>/<sha256>` (temp +
//! rename, once per content) before the transaction that records them.

use chrono::{DateTime, Utc};
use onsite_domain::rules::RecordedExclusion;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::{append, new_id, open_order, text, Step, VisitError, VisitResult};
use crate::{outbox, ts, StoreError};

/// The largest photo accepted: head office's blob limit (16 MiB), so that every photo
/// taken here can reach head office. One limit end to end: the UI checks the same number
/// before sending a file (`ui/src/lib/limits.ts`, checked by a test).
pub const MAX_BLOB_BYTES: usize = onsite_api::limits::MAX_BLOB_BYTES;

const MEDIA_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp", "image/heic"];

/// A file stored under the blobs folder by its SHA-256 (lowercase hex), which is also its
/// file name there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blob {
    pub sha256: String,
    pub media_type: String,
    pub size: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DiagnosisInput {
    pub fault_found: String,
    /// Warranty component codes (`warranty_component.code`), e.g. `pump`.
    pub components: Vec<String>,
    pub exclusions: Vec<RecordedExclusion>,
    pub notes: String,
    /// Photos already written with [`put_blob`].
    pub photos: Vec<Blob>,
}

/// The job's current (latest) diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub id: String,
    pub fault_found: String,
    pub components: Vec<String>,
    pub exclusions: Vec<RecordedExclusion>,
    pub notes: String,
    pub photos: Vec<Blob>,
    pub recorded_at: String,
}

fn check_media_type(media_type: &str) -> VisitResult<()> {
    if MEDIA_TYPES.contains(&media_type) {
        Ok(())
    } else {
        Err(VisitError::Invalid(format!(
            "media type {media_type:?} is not a supported photo type"
        )))
    }
}

/// Seals `bytes` into the blobs folder (see [`crate::Blobs::put`]) unless already there.
/// Call it before the transaction that records the blob.
pub fn put_blob(blobs: &crate::Blobs, bytes: &[u8], media_type: &str) -> VisitResult<Blob> {
    check_media_type(media_type)?;
    if bytes.len() > MAX_BLOB_BYTES {
        return Err(VisitError::PhotoTooLarge {
            size: bytes.len(),
            max: MAX_BLOB_BYTES,
        });
    }
    if bytes.is_empty() {
        return Err(VisitError::Invalid("a photo must not be empty".into()));
    }
    let sha256 = crate::documents::put_blob(blobs, bytes).map_err(|source| StoreError::Io {
        path: blobs.dir().to_path_buf(),
        source,
    })?;
    let size = bytes.len() as i64;
    Ok(Blob {
        sha256,
        media_type: media_type.into(),
        size,
    })
}

fn check_blob(blob: &Blob) -> VisitResult<()> {
    check_media_type(&blob.media_type)?;
    let hex_ok = blob.sha256.len() == 64
        && blob
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex_ok {
        return Err(VisitError::Invalid(
            "a photo's sha256 must be 64 lowercase hex digits".into(),
        ));
    }
    if blob.size > MAX_BLOB_BYTES as i64 {
        return Err(VisitError::PhotoTooLarge {
            size: usize::try_from(blob.size).unwrap_or(usize::MAX),
            max: MAX_BLOB_BYTES,
        });
    }
    if blob.size <= 0 {
        return Err(VisitError::Invalid(format!(
            "a photo's size must be 1 to {MAX_BLOB_BYTES} bytes"
        )));
    }
    Ok(())
}

pub(crate) fn known_component(conn: &Connection, code: &str) -> VisitResult<bool> {
    let in_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM warranty_component WHERE code = ?1)
             OR EXISTS (SELECT 1 FROM part WHERE category = ?1)",
        [code],
        |r| r.get(0),
    )?;
    Ok(in_table)
}

#[derive(Serialize)]
struct DiagnosisPayload<'a> {
    work_order_id: &'a str,
    diagnosis_id: &'a str,
    fault_found: &'a str,
    components: &'a [String],
    exclusions: &'a [RecordedExclusion],
    notes: &'a str,
    photos: &'a [Blob],
    at: String,
}

/// Records a diagnosis (the latest one is the job's current diagnosis); returns its id.
pub fn record_diagnosis(
    tx: &Transaction,
    work_order_id: &str,
    input: &DiagnosisInput,
    now: DateTime<Utc>,
) -> VisitResult<String> {
    let order = open_order(tx, work_order_id, Step::Work)?;
    let fault_found = text("the fault found", &input.fault_found, 2_000)?;
    if fault_found.is_empty() {
        return Err(VisitError::FaultRequired);
    }
    let notes = text("the notes", &input.notes, 10_000)?;
    if input.components.len() > 50 || input.exclusions.len() > 50 || input.photos.len() > 50 {
        return Err(VisitError::Invalid(
            "more than 50 components, exclusions or photos".into(),
        ));
    }
    let mut components: Vec<String> = Vec::new();
    for code in &input.components {
        let code = code.trim().to_string();
        if !known_component(tx, &code)? {
            return Err(VisitError::Invalid(format!("unknown component {code:?}")));
        }
        if !components.contains(&code) {
            components.push(code);
        }
    }
    let mut exclusions = input.exclusions.clone();
    for e in &exclusions {
        if let Some(code) = &e.component {
            if !known_component(tx, code)? {
                return Err(VisitError::Invalid(format!("unknown component {code:?}")));
            }
        }
    }
    exclusions.sort();
    exclusions.dedup();
    for blob in &input.photos {
        check_blob(blob)?;
    }

    let id = new_id();
    let op_id = append(
        tx,
        outbox::kind::RECORD_DIAGNOSIS,
        &order.id,
        Some(order.version),
        &DiagnosisPayload {
            work_order_id: &order.id,
            diagnosis_id: &id,
            fault_found: &fault_found,
            components: &components,
            exclusions: &exclusions,
            notes: &notes,
            photos: &input.photos,
            at: ts(now),
        },
        now,
    )?;
    tx.execute(
        "INSERT INTO visit_diagnosis (id, work_order_id, fault_found, components, exclusions,
                                      notes, recorded_at, op_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            order.id,
            fault_found,
            serde_json::to_string(&components).map_err(StoreError::from)?,
            serde_json::to_string(&exclusions).map_err(StoreError::from)?,
            notes,
            ts(now),
            op_id
        ],
    )?;
    for (position, blob) in input.photos.iter().enumerate() {
        tx.execute(
            "INSERT INTO visit_attachment (sha256, media_type, size, file_name, created_at)
             VALUES (?1, ?2, ?3, ?1, ?4) ON CONFLICT (sha256) DO NOTHING",
            params![blob.sha256, blob.media_type, blob.size, ts(now)],
        )?;
        tx.execute(
            "INSERT INTO visit_diagnosis_photo (diagnosis_id, position, sha256) VALUES (?1, ?2, ?3)",
            params![id, position as i64, blob.sha256],
        )?;
    }
    crate::drafts::clear(
        tx,
        &order.id,
        &[crate::drafts::FAULT, crate::drafts::DIAGNOSIS_NOTES],
    )?;
    Ok(id)
}

/// The job's latest diagnosis.
pub(crate) fn current(conn: &Connection, work_order_id: &str) -> VisitResult<Option<Diagnosis>> {
    let row = conn
        .query_row(
            "SELECT id, fault_found, components, exclusions, notes, recorded_at
             FROM visit_diagnosis WHERE work_order_id = ?1 ORDER BY seq DESC LIMIT 1",
            [work_order_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((id, fault_found, components, exclusions, notes, recorded_at)) = row else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT a.sha256, a.media_type, a.size FROM visit_diagnosis_photo p
         JOIN visit_attachment a ON a.sha256 = p.sha256
         WHERE p.diagnosis_id = ?1 ORDER BY p.position",
    )?;
    let photos = stmt
        .query_map([&id], |r| {
            Ok(Blob {
                sha256: r.get(0)?,
                media_type: r.get(1)?,
                size: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Diagnosis {
        id,
        fault_found,
        components: serde_json::from_str(&components).map_err(StoreError::from)?,
        exclusions: serde_json::from_str(&exclusions).map_err(StoreError::from)?,
        notes,
        photos,
        recorded_at,
    }))
}
