//! Thin adapters: take the state, call the library, map the error.

use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::view::{
    AddendumView, AppInfo, DocumentKind, DocumentView, DraftView, Paper, Settings, TodayView,
    WorkOrderDetail, WorkOrderSummary,
};
use onsite_domain::WorkOrderStatus;
use onsite_store::documents::{self, NewSignature};
use onsite_store::{settings, workorders, StoreError};
use tauri::State;

use crate::state::{local_day, AppState};
use crate::viewing;

type Reply<T> = Result<T, IpcError>;

#[tauri::command]
pub fn app_info(state: State<AppState>) -> Reply<AppInfo> {
    state.reopen_if_needed();
    let settings = state.with_store(|s| settings::current(s.conn()))?;
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        data_file: state.data_file.display().to_string(),
        system_locale: sys_locale::get_locale().unwrap_or_else(|| "en".into()),
        settings,
    })
}

#[tauri::command]
pub fn today(state: State<AppState>) -> Reply<TodayView> {
    let day = local_day();
    state.with_store(|s| {
        let (id, name) =
            workorders::technician(s.conn())?.ok_or(StoreError::NotFound("technician"))?;
        Ok(TodayView {
            technician_name: name,
            date: day.today(),
            items: workorders::today(s.conn(), &id, &day)?,
            overdue_carry_backs: onsite_store::carryback::overdue_items(s.conn(), day.today())?,
        })
    })
}

#[tauri::command]
pub fn search(state: State<AppState>, query: String) -> Reply<Vec<WorkOrderSummary>> {
    if query.chars().count() > 200 {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            "search text too long",
        ));
    }
    state.with_store(|s| workorders::search(s.conn(), &query, &local_day(), 100))
}

#[tauri::command]
pub fn work_order(state: State<AppState>, id: String) -> Reply<WorkOrderDetail> {
    state.with_store(|s| workorders::detail(s.conn(), &id, &local_day()))
}

/// Moves a job on. Completing it also makes its sign-off sheet, in the customer's
/// language, as "make the sign-off sheet" does: the returned detail lists it. If the sheet
/// cannot be made the completion stands (it is committed) and the detail simply has no
/// sign-off document; the failure is logged without customer data.
#[tauri::command]
pub fn change_status(
    state: State<AppState>,
    sync: State<crate::sync_service::SyncService>,
    id: String,
    to: WorkOrderStatus,
    reason: Option<String>,
) -> Reply<WorkOrderDetail> {
    let detail = move_job(&state, &id, to, reason.as_deref())?;
    // A job that ends is worth sending now, not at the next scheduled run (an unenrolled
    // device's sync task just notes it is not enrolled).
    if matches!(
        to,
        WorkOrderStatus::Completed | WorkOrderStatus::UnableToComplete
    ) {
        sync.nudge();
    }
    Ok(detail)
}

/// [`change_status`] without the sync: the move, then the sign-off sheet of a completed
/// job (its failure logged, the completion kept).
pub fn move_job(
    state: &AppState,
    id: &str,
    to: WorkOrderStatus,
    reason: Option<&str>,
) -> Reply<WorkOrderDetail> {
    let day = local_day();
    state.with_store(|s| s.write(|tx| workorders::change_status(tx, id, to, reason, day.now)))?;
    if to == WorkOrderStatus::Completed {
        if let Err(e) = make_sign_off(state, id, None) {
            // The code only: a renderer's message might quote the job's text.
            tracing::warn!(work_order = %id, code = ?e.code, "completed, but the sign-off sheet could not be made");
        }
    }
    state.with_store(|s| workorders::detail(s.conn(), id, &day))
}

#[tauri::command]
pub fn save_notes(state: State<AppState>, id: String, notes: String) -> Reply<WorkOrderDetail> {
    let day = local_day();
    state.with_store(|s| {
        s.write(|tx| workorders::set_notes(tx, &id, &notes, day.now))?;
        workorders::detail(s.conn(), &id, &day)
    })
}

/// A note after completion: added to a completed (or ended) job outside the content the
/// customer signed, so the signature stays valid.
#[tauri::command]
pub fn add_addendum(state: State<AppState>, id: String, text: String) -> Reply<WorkOrderDetail> {
    let day = local_day();
    state.with_store(|s| {
        s.write(|tx| workorders::add_addendum(tx, &id, &text, day.now).map(|_: AddendumView| ()))?;
        workorders::detail(s.conn(), &id, &day)
    })
}

/// Keeps text typed but not saved yet (`field`: notes, addendum, fault, diagnosis_notes,
/// feedback_comment); empty text deletes the draft.
#[tauri::command]
pub fn save_draft(state: State<AppState>, id: String, field: String, text: String) -> Reply<()> {
    let now = local_day().now;
    state.with_store(|s| s.write(|tx| onsite_store::drafts::save(tx, &id, &field, &text, now)))
}

/// A job's drafts.
#[tauri::command]
pub fn drafts(state: State<AppState>, id: String) -> Reply<Vec<DraftView>> {
    state.with_store(|s| onsite_store::drafts::for_job(s.conn(), &id))
}

#[tauri::command]
pub fn set_locale(state: State<AppState>, locale: Option<String>) -> Reply<Settings> {
    if let Some(l) = &locale {
        if !settings::LOCALES.contains(&l.as_str()) {
            return Err(IpcError::new(ErrorCode::InvalidInput, "unknown language"));
        }
    }
    state.with_store(|s| {
        s.write(|tx| match &locale {
            Some(l) => settings::set(tx, settings::LOCALE, l),
            None => settings::unset(tx, settings::LOCALE),
        })?;
        settings::current(s.conn())
    })
}

/// The UI calls this once Today is on screen. With ONSITE_REPORT_READY set, the time since
/// the process started is printed, for `cargo xtask bench`.
#[tauri::command]
pub fn ui_ready(state: State<AppState>) {
    if std::env::var_os("ONSITE_REPORT_READY").is_some() {
        println!("ONSITE_READY {}", state.started.elapsed().as_millis());
    }
}

/// Largest signature image accepted from the UI.
const MAX_SIGNATURE_PNG: usize = 2 * 1024 * 1024;

fn invalid(message: &str) -> IpcError {
    IpcError::new(ErrorCode::InvalidInput, message)
}

/// Decodes a signature PNG sent by the UI (a data URL or bare base64), checks it, and
/// stores it under its hash. Returns the hash.
pub fn store_signature_png(state: &AppState, png_base64: &str) -> Reply<String> {
    use base64::Engine;
    let data = png_base64
        .strip_prefix("data:image/png;base64,")
        .unwrap_or(png_base64);
    if data.len() > MAX_SIGNATURE_PNG * 4 / 3 + 4 {
        return Err(invalid("signature image too large"));
    }
    let png = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| invalid("signature image is not base64"))?;
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(invalid("signature image is not a PNG"));
    }
    documents::put_blob(&state.blobs()?, &png)
        .map_err(|e| IpcError::new(ErrorCode::DbIo, format!("cannot store the signature: {e}")))
}

/// The company printed on documents, and the technician's name.
pub fn letterhead(s: &onsite_store::Store) -> Result<(onsite_docs::Company, String), StoreError> {
    let get = |key| settings::get(s.conn(), key).map(Option::unwrap_or_default);
    let company = onsite_docs::Company {
        name: get(settings::COMPANY_NAME)?,
        phone: get(settings::COMPANY_PHONE)?,
        address: Some(get(settings::COMPANY_ADDRESS)?).filter(|a| !a.is_empty()),
        logo_png: None,
    };
    let technician = workorders::technician(s.conn())?
        .map(|(_, name)| name)
        .unwrap_or_default();
    Ok((company, technician))
}

/// The paper of a document as the job's documents list says it.
pub fn paper_of(paper: onsite_docs::Paper) -> Paper {
    match paper {
        onsite_docs::Paper::A4 => Paper::A4,
        onsite_docs::Paper::Roll80 => Paper::Roll80mm,
    }
}

/// Stores a rendered PDF under its hash and lists it with the job.
pub fn keep_document(
    state: &AppState,
    work_order_id: &str,
    kind: DocumentKind,
    lang: &str,
    paper: onsite_docs::Paper,
    pdf: Reply<Vec<u8>>,
) -> Reply<DocumentView> {
    let pdf = pdf?;
    let sha = documents::put_blob(&state.blobs()?, &pdf)
        .map_err(|e| IpcError::new(ErrorCode::DbIo, format!("cannot store the document: {e}")))?;
    let now = local_day().now;
    state.with_store(|s| {
        s.write(|tx| {
            documents::record_document_on(
                tx,
                work_order_id,
                kind,
                lang,
                paper_of(paper),
                &sha,
                pdf.len() as i64,
                now,
            )
        })
    })
}

/// The customer signs on screen: the PNG is stored under its hash, then the signature is
/// recorded over the job's current content.
#[tauri::command]
pub fn sign_work_order(
    state: State<AppState>,
    id: String,
    signer_name: String,
    strokes: serde_json::Value,
    png_base64: String,
) -> Reply<WorkOrderDetail> {
    let sha = store_signature_png(&state, &png_base64)?;
    let day = local_day();
    state.with_store(|s| {
        s.write(|tx| {
            documents::sign(
                tx,
                &NewSignature {
                    work_order_id: &id,
                    signer_name: &signer_name,
                    strokes: &strokes,
                    png_sha256: &sha,
                },
                day.now,
            )
        })?;
        workorders::detail(s.conn(), &id, &day)
    })
}

/// Renders the sign-off sheet in the customer's language (or `lang`), stores it under its
/// hash and lists it with the job.
#[tauri::command]
pub fn create_sign_off(
    state: State<AppState>,
    id: String,
    lang: Option<String>,
) -> Reply<DocumentView> {
    make_sign_off(&state, &id, lang)
}

/// The sign-off sheet of a job: rendered in `lang` (else the customer's language) with the
/// signature that counts now, stored under its hash and listed with the job. Used by
/// [`create_sign_off`] and by [`change_status`] when a job is completed.
pub fn make_sign_off(state: &AppState, id: &str, lang: Option<String>) -> Reply<DocumentView> {
    let now = chrono::Local::now().fixed_offset();
    let (job, visit, company, technician) = paperwork(state, id)?;
    // The detail already marks each signature valid or void against the content now.
    let signature = job.signatures.last().filter(|s| s.valid).cloned();
    let lang_code = lang.unwrap_or_else(|| job.customer.language.clone());
    let doc_lang = crate::sign_off::lang(&lang_code);
    let signature = match &signature {
        Some(sig) => {
            let png = documents::read_blob(&state.blobs()?, &sig.png_sha256).map_err(|e| {
                IpcError::new(
                    ErrorCode::DocumentFailed,
                    format!("signature image missing: {e}"),
                )
            })?;
            Ok((sig, png))
        }
        None => Err(match doc_lang {
            onsite_docs::Lang::ZhCn => "客户尚未签名".to_string(),
            onsite_docs::Lang::En => "Not signed by the customer yet".to_string(),
        }),
    };
    let input = crate::sign_off::input(
        &job,
        crate::sign_off::Context {
            company,
            technician: &technician,
            issued_at: now,
            lang: doc_lang,
            signature,
            visit: Some(&visit),
        },
    );
    let pdf = onsite_docs::render_sign_off(&input)
        .map_err(|e| IpcError::new(ErrorCode::DocumentFailed, e.to_string()));
    keep_document(
        state,
        id,
        DocumentKind::SignOff,
        &lang_code,
        onsite_docs::Paper::A4,
        pdf,
    )
}

/// Opens a stored document in the system's PDF viewer (print or save from there). When no
/// program can show PDFs, says so (`no_pdf_viewer`): the technician saves it instead.
#[tauri::command]
pub async fn open_document(state: State<'_, AppState>, sha256: String) -> Reply<()> {
    let blobs = state.blobs()?;
    let path = documents::blob_path(&blobs, &sha256).map_err(|e| e.to_ipc())?;
    if !path.exists() {
        return Err(IpcError::new(ErrorCode::NotFound, "document file missing"));
    }
    // The viewer needs a .pdf name: give it a private copy named after the document, in
    // this run's folder for viewing (removed at exit).
    let (order_no, kind) = state
        .with_store(|s| documents::order_and_kind(s.conn(), &sha256))?
        .ok_or_else(|| IpcError::new(ErrorCode::NotFound, "no such document"))?;
    let folder = state.view.as_ref().ok_or_else(|| {
        IpcError::new(
            ErrorCode::DbIo,
            "cannot prepare the document: no private folder for viewing",
        )
    })?;
    let view = viewing::copy_for_viewing(
        &blobs,
        &sha256,
        folder.path(),
        &viewing::file_name(&order_no, kind),
    )
    .map_err(|e| IpcError::new(ErrorCode::DbIo, format!("cannot prepare the document: {e}")))?;
    open_with("xdg-open", &view).await
}

/// How long the opener has to fail before the document counts as shown: xdg-open says at
/// once when it finds no program (exit status 3 or 4); a viewer it started keeps it
/// running until the viewer closes.
const OPENER_VERDICT: std::time::Duration = std::time::Duration::from_secs(3);

fn no_pdf_viewer() -> IpcError {
    IpcError::new(
        ErrorCode::NoPdfViewer,
        "no program to show PDFs is installed on this computer; use \"Save as…\" instead",
    )
}

/// Runs `opener` on `file` and waits (up to [`OPENER_VERDICT`]) for it to fail.
pub async fn open_with(opener: &str, file: &std::path::Path) -> Reply<()> {
    let child = tokio::process::Command::new(opener)
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(no_pdf_viewer()),
        Err(e) => {
            return Err(IpcError::new(
                ErrorCode::Internal,
                format!("cannot start the PDF viewer: {e}"),
            ))
        }
    };
    // Left running past the verdict, the child is reaped by tokio when it ends.
    match tokio::time::timeout(OPENER_VERDICT, child.wait()).await {
        // Still running: a viewer is showing the document.
        Err(_) => Ok(()),
        Ok(Ok(status)) => opener_verdict(status.code()),
        Ok(Err(e)) => Err(IpcError::new(
            ErrorCode::Internal,
            format!("the PDF viewer could not be followed: {e}"),
        )),
    }
}

/// What the opener's exit status means. xdg-open: 0 shown; 3 no program found for the
/// file; 4 the program found failed.
pub fn opener_verdict(code: Option<i32>) -> Reply<()> {
    match code {
        Some(0) => Ok(()),
        Some(3 | 4) => Err(no_pdf_viewer()),
        Some(code) => Err(IpcError::new(
            ErrorCode::Internal,
            format!("the PDF viewer failed (exit status {code})"),
        )),
        None => Err(IpcError::new(
            ErrorCode::Internal,
            "the PDF viewer was stopped",
        )),
    }
}

fn issuer(
    company: onsite_docs::Company,
    technician: String,
    lang: &str,
) -> crate::sign_off::Issuer {
    crate::sign_off::Issuer {
        company,
        technician,
        lang: crate::sign_off::lang(lang),
        offset: *chrono::Local::now().offset(),
    }
}

/// What every document of a job needs: the job, its visit, the letterhead.
fn paperwork(
    state: &AppState,
    id: &str,
) -> Reply<(
    WorkOrderDetail,
    onsite_store::visit::VisitState,
    onsite_docs::Company,
    String,
)> {
    let day = local_day();
    let (job, (company, technician)) =
        state.with_store(|s| Ok((workorders::detail(s.conn(), id, &day)?, letterhead(s)?)))?;
    let visit = state.with_visit(|s| onsite_store::visit::state(s.conn(), id))?;
    Ok((job, visit, company, technician))
}

/// The quote of the visit as a PDF, in the customer's language.
#[tauri::command]
pub fn create_quote_document(state: State<AppState>, id: String) -> Reply<DocumentView> {
    let (job, visit, company, technician) = paperwork(&state, &id)?;
    let quote = visit
        .quote
        .as_ref()
        .ok_or_else(|| IpcError::new(ErrorCode::QuoteRequired, "no quote yet"))?;
    let lang = job.customer.language.clone();
    let by = issuer(company, technician, &lang);
    let fault_found = visit
        .diagnosis
        .as_ref()
        .map(|d| d.fault_found.clone())
        .unwrap_or_default();
    let input = crate::sign_off::quote_input(&job, quote, fault_found, &by);
    let pdf = onsite_docs::render_quote(&input)
        .map_err(|e| IpcError::new(ErrorCode::DocumentFailed, e.to_string()));
    keep_document(
        &state,
        &id,
        DocumentKind::Quote,
        &lang,
        onsite_docs::Paper::A4,
        pdf,
    )
}

/// The receipt of the latest payment, on A4 and on the 80 mm roll.
#[tauri::command]
pub fn create_payment_receipt(state: State<AppState>, id: String) -> Reply<Vec<DocumentView>> {
    let (job, visit, company, technician) = paperwork(&state, &id)?;
    let lang = job.customer.language.clone();
    let by = issuer(company, technician, &lang);
    let mut out = Vec::new();
    for paper in [onsite_docs::Paper::A4, onsite_docs::Paper::Roll80] {
        let input = crate::sign_off::payment_receipt_input(&job, &visit, paper, &by)
            .ok_or_else(|| IpcError::new(ErrorCode::InvalidInput, "no payment taken yet"))?;
        let pdf = onsite_docs::render_payment_receipt(&input)
            .map_err(|e| IpcError::new(ErrorCode::DocumentFailed, e.to_string()));
        out.push(keep_document(
            &state,
            &id,
            DocumentKind::PaymentReceipt,
            &lang,
            paper,
            pdf,
        )?);
    }
    Ok(out)
}

/// Today's day-end summary as a PDF (in the UI's language), stored by its hash.
#[tauri::command]
pub fn create_day_end(state: State<AppState>, lang: String) -> Reply<DocumentView> {
    let day = local_day();
    let (summary, (company, technician)) = state.with_store(|s| {
        Ok((
            onsite_store::dayend::collect(s.conn(), &day)?,
            letterhead(s)?,
        ))
    })?;
    let input = crate::sign_off::day_end_input(&summary, &issuer(company, technician, &lang));
    let pdf = onsite_docs::render_day_end(&input)
        .map_err(|e| IpcError::new(ErrorCode::DocumentFailed, e.to_string()))?;
    let sha = documents::put_blob(&state.blobs()?, &pdf)
        .map_err(|e| IpcError::new(ErrorCode::DbIo, format!("cannot store the document: {e}")))?;
    Ok(DocumentView {
        sha256: sha,
        kind: DocumentKind::DayEnd,
        lang,
        paper: Paper::A4,
        size: pdf.len() as i64,
        created_at: day.now,
    })
}

/// "Save as…": the user picks where a copy of the document goes.
#[tauri::command]
pub async fn save_document_as(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    sha256: String,
    file_name: String,
) -> Reply<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let blobs = state.blobs()?;
    documents::blob_path(&blobs, &sha256).map_err(|e| e.to_ipc())?;
    let picked = app
        .dialog()
        .file()
        .set_file_name(file_name)
        .add_filter("PDF", &["pdf"])
        .blocking_save_file();
    let Some(picked) = picked else {
        return Ok(None);
    };
    let dest = picked
        .into_path()
        .map_err(|_| invalid("the chosen place is not a file on this computer"))?;
    documents::export_blob(&blobs, &sha256, &dest).map_err(|e| e.to_ipc())?;
    Ok(Some(dest.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use onsite_store::documents::NewSignature;

    /// The demo's first job, brought on site, and the state over a fresh data folder.
    fn on_site_job(dir: &std::path::Path) -> (AppState, String) {
        let state = AppState::open_for_test(dir);
        let id = state
            .with_store(|s| {
                let (tech, _) = workorders::technician(s.conn())?.expect("demo technician");
                let today = workorders::today(s.conn(), &tech, &local_day())?;
                let job = today
                    .iter()
                    .find(|j| j.status == WorkOrderStatus::Assigned)
                    .expect("an assigned demo job")
                    .id
                    .clone();
                s.write(|tx| {
                    workorders::change_status(
                        tx,
                        &job,
                        WorkOrderStatus::OnSite,
                        None,
                        local_day().now,
                    )
                })?;
                Ok(job)
            })
            .unwrap();
        (state, id)
    }

    fn sign(state: &AppState, id: &str, png: &[u8], keep_png: bool) {
        let sha = if keep_png {
            documents::put_blob(&state.blobs().unwrap(), png).unwrap()
        } else {
            onsite_domain::signoff::sha256_hex(png)
        };
        state
            .with_store(|s| {
                s.write(|tx| {
                    documents::sign(
                        tx,
                        &NewSignature {
                            work_order_id: id,
                            signer_name: "Customer",
                            strokes: &serde_json::json!([{ "points": [{ "x": 1, "y": 2, "time": 1 }, { "x": 9, "y": 5, "time": 4 }] }]),
                            png_sha256: &sha,
                        },
                        local_day().now,
                    )
                })
            })
            .unwrap();
    }

    #[test]
    fn completing_makes_the_sign_off_sheet_in_the_customers_language() {
        let dir = tempfile::tempdir().unwrap();
        let (state, id) = on_site_job(dir.path());
        sign(
            &state,
            &id,
            &onsite_docs::samples::signature_png("Customer"),
            true,
        );
        let job = move_job(&state, &id, WorkOrderStatus::Completed, None).unwrap();
        assert_eq!(job.summary.status, WorkOrderStatus::Completed);
        let sheets: Vec<_> = job
            .documents
            .iter()
            .filter(|d| d.kind == DocumentKind::SignOff)
            .collect();
        assert_eq!(sheets.len(), 1, "{:?}", job.documents);
        assert_eq!(sheets[0].lang, job.customer.language);
        assert_eq!(sheets[0].paper, Paper::A4);
        let pdf = documents::read_blob(&state.blobs().unwrap(), &sheets[0].sha256).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    }

    #[test]
    fn a_sheet_that_cannot_be_made_leaves_the_completion_standing() {
        let dir = tempfile::tempdir().unwrap();
        let (state, id) = on_site_job(dir.path());
        // The signature's image is not in the blobs folder: the sheet cannot be made.
        sign(&state, &id, b"not kept here", false);
        let job = move_job(&state, &id, WorkOrderStatus::Completed, None).unwrap();
        assert_eq!(job.summary.status, WorkOrderStatus::Completed);
        assert!(
            job.documents
                .iter()
                .all(|d| d.kind != DocumentKind::SignOff),
            "{:?}",
            job.documents
        );
    }

    #[test]
    fn the_openers_verdict_says_when_no_pdf_viewer_is_installed() {
        assert_eq!(opener_verdict(Some(0)), Ok(()));
        for code in [3, 4] {
            assert_eq!(
                opener_verdict(Some(code)).unwrap_err().code,
                ErrorCode::NoPdfViewer
            );
        }
        assert_eq!(
            opener_verdict(Some(1)).unwrap_err().code,
            ErrorCode::Internal
        );
        assert_eq!(opener_verdict(None).unwrap_err().code, ErrorCode::Internal);
    }

    #[test]
    fn no_opener_or_one_that_finds_no_program_is_no_pdf_viewer() {
        let dir = tempfile::tempdir().unwrap();
        let block_on = tauri::async_runtime::block_on;
        let missing = block_on(open_with("onsite-no-such-opener", dir.path())).unwrap_err();
        assert_eq!(missing.code, ErrorCode::NoPdfViewer);
        assert!(missing.message.contains("Save as"), "{}", missing.message);
        // xdg-open's "no method available": exit status 3, at once.
        let script = dir.path().join("no-viewer.sh");
        std::fs::write(&script, "exit 3\n").unwrap();
        let none = block_on(open_with("sh", &script)).unwrap_err();
        assert_eq!(none.code, ErrorCode::NoPdfViewer);
        let shown = dir.path().join("shown.sh");
        std::fs::write(&shown, "exit 0\n").unwrap();
        assert_eq!(block_on(open_with("sh", &shown)), Ok(()));
    }
}
