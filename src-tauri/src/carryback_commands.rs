//! Carry-back: take an appliance to the workshop with a signed receipt, move it along the
//! goods in/out log, hand it back. Thin adapters over `onsite_store::carryback`.

use onsite_docs::Paper;
use onsite_domain::carryback::CarryBackState;
use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::view::{CarryBackForm, DocumentKind, WorkOrderDetail};
use onsite_store::carryback::{self, NewCarryBack, Signed};
use onsite_store::{documents, workorders};
use tauri::State;

use crate::commands::{keep_document, letterhead, store_signature_png};
use crate::state::{local_day, AppState};

type Reply<T> = Result<T, IpcError>;

/// Records the item and the customer's signature, then prints its receipt (A4 and 80 mm
/// roll, in the customer's language) into the job's documents.
#[tauri::command]
pub fn take_carry_back(
    state: State<AppState>,
    id: String,
    form: CarryBackForm,
    signer_name: String,
    strokes: serde_json::Value,
    png_base64: String,
) -> Reply<WorkOrderDetail> {
    let png_sha = store_signature_png(&state, &png_base64)?;
    let day = local_day();
    let (job, item, (company, technician)) = state.with_store(|s| {
        let item = s.write(|tx| {
            carryback::take(
                tx,
                &NewCarryBack {
                    work_order_id: &id,
                    item: &form.item,
                    serial_no: form.serial_no.as_deref(),
                    accessories: &form.accessories,
                    condition: &form.condition,
                    fault: &form.fault,
                    expected_return: form.expected_return,
                    photos: &form.photos,
                    signature: Signed {
                        signer_name: &signer_name,
                        strokes: &strokes,
                        png_sha256: &png_sha,
                    },
                },
                day.today(),
                day.now,
            )
        })?;
        Ok((
            workorders::detail(s.conn(), &id, &day)?,
            item,
            letterhead(s)?,
        ))
    })?;
    let png = documents::read_blob(&state.blobs()?, &png_sha).map_err(|e| {
        IpcError::new(
            ErrorCode::DocumentFailed,
            format!("signature image missing: {e}"),
        )
    })?;
    let lang_code = job.customer.language.clone();
    let by = crate::sign_off::Issuer {
        company,
        technician,
        lang: crate::sign_off::lang(&lang_code),
        offset: *chrono::Local::now().offset(),
    };
    for paper in [Paper::A4, Paper::Roll80] {
        let input = crate::sign_off::carry_back_input(&job, &item, png.clone(), paper, &by);
        let pdf = onsite_docs::render_carry_back(&input)
            .map_err(|e| IpcError::new(ErrorCode::DocumentFailed, e.to_string()));
        keep_document(&state, &id, DocumentKind::CarryBack, &lang_code, paper, pdf)?;
    }
    state.with_store(|s| workorders::detail(s.conn(), &id, &day))
}

/// Taken → at the workshop → repaired.
#[tauri::command]
pub fn advance_carry_back(
    state: State<AppState>,
    id: String,
    carry_back_id: String,
    to: CarryBackState,
) -> Reply<WorkOrderDetail> {
    let day = local_day();
    state.with_store(|s| {
        s.write(|tx| carryback::advance(tx, &carry_back_id, to, day.today(), day.now))?;
        workorders::detail(s.conn(), &id, &day)
    })
}

/// The repaired item goes back to the customer, who signs; the receipt is collected or its
/// loss recorded.
// IPC arguments arrive by name from the UI; bundling them would only move the list.
#[allow(clippy::too_many_arguments)]
#[tauri::command]
pub fn return_carry_back(
    state: State<AppState>,
    id: String,
    carry_back_id: String,
    receipt_collected: bool,
    lost_note: Option<String>,
    signer_name: String,
    strokes: serde_json::Value,
    png_base64: String,
) -> Reply<WorkOrderDetail> {
    let png_sha = store_signature_png(&state, &png_base64)?;
    let day = local_day();
    state.with_store(|s| {
        s.write(|tx| {
            carryback::return_item(
                tx,
                &carry_back_id,
                receipt_collected,
                lost_note.as_deref(),
                &Signed {
                    signer_name: &signer_name,
                    strokes: &strokes,
                    png_sha256: &png_sha,
                },
                day.today(),
                day.now,
            )
        })?;
        workorders::detail(s.conn(), &id, &day)
    })
}
