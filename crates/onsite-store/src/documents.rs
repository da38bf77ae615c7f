//! Signatures and documents of a job, and the files behind them.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use onsite_domain::signoff::{SignedContent, SignedLine};
use onsite_domain::view::{DocumentKind, DocumentView, Paper, SignatureView};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::{outbox, parse_ts, ts, Blobs, StoreError, StoreResult};

/// Seals `bytes` into the blobs folder (see [`Blobs::put`]); returns their SHA-256.
pub fn put_blob(blobs: &Blobs, bytes: &[u8]) -> std::io::Result<String> {
    blobs.put(bytes)
}

/// The plain bytes of a blob, checked against their hash (see [`Blobs::read`]).
pub fn read_blob(blobs: &Blobs, sha256: &str) -> StoreResult<Vec<u8>> {
    blobs.read(sha256)
}

/// Writes a plain copy of a blob to `dest` (a file the user chose with "Save as…": the
/// one place a document leaves the device's seal, because the user asked), after checking
/// that the stored bytes still match their hash. Written beside `dest` first and renamed,
/// so a failed copy never leaves half a file under the chosen name.
pub fn export_blob(blobs: &Blobs, sha256: &str, dest: &Path) -> StoreResult<()> {
    let bytes = blobs.read(sha256)?;
    let io = |source| StoreError::Io {
        path: dest.to_path_buf(),
        source,
    };
    let tmp = dest.with_extension(format!("onsite-{}.tmp", std::process::id()));
    std::fs::write(&tmp, &bytes).map_err(io)?;
    std::fs::rename(&tmp, dest).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// The order number and kind of the document stored under `sha256` (the first, when the
/// same bytes were recorded twice), to name a copy of it after; `None` when no document
/// has those bytes.
pub fn order_and_kind(
    conn: &Connection,
    sha256: &str,
) -> StoreResult<Option<(String, DocumentKind)>> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT w.order_no, d.kind FROM document d JOIN work_order w ON w.id = d.work_order_id
             WHERE d.sha256 = ?1 ORDER BY d.created_at LIMIT 1",
            params![sha256.to_ascii_lowercase()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(order_no, kind)| {
        DocumentKind::parse(&kind)
            .map(|k| (order_no, k))
            .ok_or_else(|| StoreError::Invalid("unknown document kind".into()))
    })
    .transpose()
}

/// Where a blob's sealed file lives (see [`Blobs::path`]).
pub fn blob_path(blobs: &Blobs, sha256: &str) -> StoreResult<PathBuf> {
    blobs.path(sha256)
}

/// The job's content as a signature vouches for it (see `onsite_domain::signoff`).
pub fn signed_content(conn: &Connection, work_order_id: &str) -> StoreResult<SignedContent> {
    let mut content = conn
        .query_row(
            "SELECT w.order_no, c.name, c.phone, c.address, a.model, a.serial_no, a.purchase_date,
                    w.reported_fault, w.notes
             FROM work_order w JOIN customer c ON c.id = w.customer_id
                  JOIN appliance a ON a.id = w.appliance_id
             WHERE w.id = ?1",
            [work_order_id],
            |r| {
                Ok(SignedContent {
                    version: 1,
                    order_no: r.get(0)?,
                    customer_name: r.get(1)?,
                    customer_phone: r.get(2)?,
                    customer_address: r.get(3)?,
                    appliance_model: r.get(4)?,
                    appliance_serial: r.get(5)?,
                    purchase_date: r.get::<_, Option<String>>(6)?.and_then(|d| d.parse().ok()),
                    reported_fault: r.get(7)?,
                    fault_found: String::new(),
                    notes: r.get(8)?,
                    lines: Vec::new(),
                })
            },
        )
        .optional()?
        .ok_or(StoreError::NotFound("work order"))?;
    content.fault_found = conn
        .query_row(
            "SELECT fault_found FROM visit_diagnosis WHERE work_order_id = ?1
             ORDER BY seq DESC LIMIT 1",
            [work_order_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default();
    let priced: Option<String> = conn
        .query_row(
            "SELECT priced FROM visit_quote WHERE work_order_id = ?1 ORDER BY seq DESC LIMIT 1",
            [work_order_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(priced) = priced {
        let job: onsite_domain::rules::PricedJob = serde_json::from_str(&priced)?;
        content.lines = job
            .lines
            .iter()
            .map(|l| SignedLine {
                code: l.code.clone(),
                quantity: l.quantity.max(0) as u32,
                amount_minor: l.charged.minor,
                covered: l.status == onsite_domain::rules::LineStatus::Covered,
            })
            .collect();
    }
    Ok(content)
}

pub struct NewSignature<'a> {
    pub work_order_id: &'a str,
    pub signer_name: &'a str,
    /// The pen strokes as drawn (signature_pad's point groups), JSON.
    pub strokes: &'a serde_json::Value,
    /// SHA-256 of the PNG already stored with [`put_blob`].
    pub png_sha256: &'a str,
}

/// A signer's name (trimmed, 1–100 characters) for strokes that draw something; shared by
/// the sign-off and the carry-back's receipts.
pub(crate) fn check_signer(name: &str, strokes: &serde_json::Value) -> StoreResult<String> {
    let signer = name.trim();
    if signer.is_empty() || signer.chars().count() > 100 {
        return Err(StoreError::Invalid(
            "signer name must be 1 to 100 characters".into(),
        ));
    }
    let drawn = strokes.as_array().is_some_and(|groups| {
        groups
            .iter()
            .any(|g| g["points"].as_array().is_some_and(|p| !p.is_empty()))
    });
    if !drawn {
        return Err(StoreError::Invalid("the signature is empty".into()));
    }
    Ok(signer.to_string())
}

/// The work order exists and head office has not cancelled it: nothing more is recorded
/// on a cancelled job.
pub(crate) fn require_not_cancelled(tx: &Transaction, work_order_id: &str) -> StoreResult<()> {
    let status: Option<String> = tx
        .query_row(
            "SELECT status FROM work_order WHERE id = ?1",
            [work_order_id],
            |r| r.get(0),
        )
        .optional()?;
    match status.as_deref() {
        None => Err(StoreError::NotFound("work order")),
        Some("cancelled") => Err(StoreError::Invalid(
            "the work order was cancelled by head office".into(),
        )),
        Some(_) => Ok(()),
    }
}

/// Records a signature over the job's current content, with one outbox operation.
pub fn sign(tx: &Transaction, s: &NewSignature, now: DateTime<Utc>) -> StoreResult<SignatureView> {
    let signer = check_signer(s.signer_name, s.strokes)?;
    require_not_cancelled(tx, s.work_order_id)?;
    let content_hash = signed_content(tx, s.work_order_id)?.hash();
    // Signing again is how a signature whose file was lost here is remade: the stuck one
    // goes without its file, saying so.
    crate::sync::supersede_stuck_files(
        tx,
        s.work_order_id,
        outbox::kind::ATTACH_SIGNATURE,
        None,
        "signed again on the device: this signature's file was lost or damaged there",
    )?;
    let id = uuid::Uuid::now_v7().to_string();
    let strokes = serde_json::to_string(s.strokes)?;
    tx.execute(
        "INSERT INTO signature (id, work_order_id, signer_name, signed_at, content_hash, png_sha256, strokes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, s.work_order_id, signer, ts(now), content_hash, s.png_sha256, strokes],
    )?;
    outbox::append(
        tx,
        outbox::kind::ATTACH_SIGNATURE,
        s.work_order_id,
        None,
        &serde_json::json!({
            "work_order_id": s.work_order_id,
            "signature_id": id,
            "signer_name": signer,
            "signed_at": ts(now),
            "content_hash": content_hash,
            "png_sha256": s.png_sha256,
        }),
        now,
    )?;
    Ok(SignatureView {
        id,
        signer_name: signer.to_string(),
        signed_at: now,
        content_hash,
        png_sha256: s.png_sha256.to_string(),
        valid: true,
    })
}

/// Every signature of a job, oldest first, each marked valid or void against `current`.
pub fn signatures(
    conn: &Connection,
    work_order_id: &str,
    current: &str,
) -> StoreResult<Vec<SignatureView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, signer_name, signed_at, content_hash, png_sha256 FROM signature
         WHERE work_order_id = ?1 ORDER BY signed_at, id",
    )?;
    let rows = stmt.query_map([work_order_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, signer_name, signed_at, content_hash, png_sha256) = row?;
        out.push(SignatureView {
            valid: content_hash == current,
            id,
            signer_name,
            signed_at: parse_ts(&signed_at)?,
            content_hash,
            png_sha256,
        });
    }
    Ok(out)
}

/// The signature that counts now: the latest one, if it still matches the content.
pub fn valid_signature(
    conn: &Connection,
    work_order_id: &str,
) -> StoreResult<Option<SignatureView>> {
    let current = signed_content(conn, work_order_id)?.hash();
    Ok(signatures(conn, work_order_id, &current)?
        .pop()
        .filter(|s| s.valid))
}

/// Records an A4 document stored with [`put_blob`] ([`record_document_on`]).
pub fn record_document(
    tx: &Transaction,
    work_order_id: &str,
    kind: DocumentKind,
    lang: &str,
    sha256: &str,
    size: i64,
    now: DateTime<Utc>,
) -> StoreResult<DocumentView> {
    record_document_on(tx, work_order_id, kind, lang, Paper::A4, sha256, size, now)
}

/// Records a document stored with [`put_blob`], laid out for `paper`, with one outbox
/// operation. Recording the same bytes twice for a job is a no-op.
#[allow(clippy::too_many_arguments)]
pub fn record_document_on(
    tx: &Transaction,
    work_order_id: &str,
    kind: DocumentKind,
    lang: &str,
    paper: Paper,
    sha256: &str,
    size: i64,
    now: DateTime<Utc>,
) -> StoreResult<DocumentView> {
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO document (work_order_id, sha256, kind, lang, size, created_at, paper)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![work_order_id, sha256, kind.as_str(), lang, size, ts(now), paper.as_str()],
    )?;
    if inserted == 1 {
        crate::sync::supersede_stuck_files(
            tx,
            work_order_id,
            outbox::kind::ATTACH_DOCUMENT,
            Some(kind.as_str()),
            "made again on the device: this document's file was lost or damaged there",
        )?;
        outbox::append(
            tx,
            outbox::kind::ATTACH_DOCUMENT,
            work_order_id,
            None,
            &serde_json::json!({
                "work_order_id": work_order_id,
                "kind": kind.as_str(),
                "lang": lang,
                "sha256": sha256,
                "size": size,
            }),
            now,
        )?;
    }
    documents(tx, work_order_id)?
        .into_iter()
        .find(|d| d.sha256 == sha256)
        .ok_or(StoreError::NotFound("document"))
}

/// A job's documents, newest first.
pub fn documents(conn: &Connection, work_order_id: &str) -> StoreResult<Vec<DocumentView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT sha256, kind, lang, size, created_at, paper FROM document
         WHERE work_order_id = ?1 ORDER BY created_at DESC, sha256",
    )?;
    let rows = stmt.query_map([work_order_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (sha256, kind, lang, size, created_at, paper) = row?;
        out.push(DocumentView {
            sha256,
            kind: DocumentKind::parse(&kind).ok_or_else(|| {
                StoreError::Invalid("unknown document kind in the database".into())
            })?,
            lang,
            // Rows from before the column: the kinds' usual paper.
            paper: paper.as_deref().and_then(Paper::parse).unwrap_or(Paper::A4),
            size,
            created_at: parse_ts(&created_at)?,
        });
    }
    Ok(out)
}

/// The paper a PDF's first page is laid out for, read from its `/MediaBox`: a page
/// narrower than 100 mm is the 80 mm roll. `None` when the file says nothing readable.
pub fn paper_of_pdf(pdf: &[u8]) -> Option<Paper> {
    let at = pdf.windows(9).position(|w| w == b"/MediaBox")?;
    let rest = &pdf[at + 9..(at + 9 + 80).min(pdf.len())];
    let text = String::from_utf8_lossy(rest);
    let open = text.find('[')?;
    let close = text[open..].find(']')? + open;
    let numbers: Vec<f64> = text[open + 1..close]
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let [x0, _, x1, _] = numbers[..] else {
        return None;
    };
    // 100 mm in points.
    Some(if (x1 - x0).abs() < 283.0 {
        Paper::Roll80mm
    } else {
        Paper::A4
    })
}

/// Fills in the paper of documents recorded before it was kept, from their files in
/// the blobs folder. A document whose file is missing or says nothing readable gets A4, the
/// paper its list already showed, so that no later start reads it again. Returns how many
/// were filled from their files.
pub fn fill_paper(tx: &Transaction, blobs: &Blobs) -> StoreResult<usize> {
    let shas: Vec<String> = tx
        .prepare("SELECT DISTINCT sha256 FROM document WHERE paper IS NULL")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut filled = 0;
    for sha in shas {
        let Some(paper) = blobs.read(&sha).ok().and_then(|b| paper_of_pdf(&b)) else {
            continue;
        };
        filled += tx.execute(
            "UPDATE document SET paper = ?2 WHERE sha256 = ?1 AND paper IS NULL",
            params![sha, paper.as_str()],
        )?;
    }
    tx.execute(
        "UPDATE document SET paper = ?1 WHERE paper IS NULL",
        [Paper::A4.as_str()],
    )?;
    Ok(filled)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn blobs_and_their_folder_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let blobs = Blobs::new(tmp.path().join("blobs"), &crate::DataKey::random());
        let sha = put_blob(&blobs, b"%PDF-1.7 a signed sheet").unwrap();
        assert!(blobs.path(&sha).unwrap().exists());
        assert_eq!(crate::private_files::too_open(blobs.dir()), vec![]);
    }
}
