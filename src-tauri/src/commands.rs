//! Thin adapters: take the state, call the library, map the error.

use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::view::{
    AppInfo, DocumentKind, DocumentView, Settings, TodayView, WorkOrderDetail, WorkOrderSummary,
};
use onsite_domain::WorkOrderStatus;
use onsite_store::documents::{self, NewSignature};
use onsite_store::{settings, workorders, StoreError};
use tauri::State;

use crate::state::{local_day, AppState};

type Reply<T> = Result<T, IpcError>;

#[tauri::command]
pub fn app_info(app: tauri::AppHandle, state: State<AppState>) -> Reply<AppInfo> {
    state.reopen_if_needed(&app);
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

#[tauri::command]
pub fn change_status(
    state: State<AppState>,
    sync: State<crate::sync_service::SyncService>,
    id: String,
    to: WorkOrderStatus,
    reason: Option<String>,
) -> Reply<WorkOrderDetail> {
    let day = local_day();
    let detail = state.with_store(|s| {
        s.write(|tx| workorders::change_status(tx, &id, to, reason.as_deref(), day.now))?;
        workorders::detail(s.conn(), &id, &day)
    })?;
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

#[tauri::command]
pub fn save_notes(state: State<AppState>, id: String, notes: String) -> Reply<WorkOrderDetail> {
    let day = local_day();
    state.with_store(|s| {
        s.write(|tx| workorders::set_notes(tx, &id, &notes, day.now))?;
        workorders::detail(s.conn(), &id, &day)
    })
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
    documents::put_blob(&state.blobs_dir, &png)
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

/// Stores a rendered PDF under its hash and lists it with the job.
pub fn keep_document(
    state: &AppState,
    work_order_id: &str,
    kind: DocumentKind,
    lang: &str,
    pdf: Reply<Vec<u8>>,
) -> Reply<DocumentView> {
    let pdf = pdf?;
    let sha = documents::put_blob(&state.blobs_dir, &pdf)
        .map_err(|e| IpcError::new(ErrorCode::DbIo, format!("cannot store the document: {e}")))?;
    let now = local_day().now;
    state.with_store(|s| {
        s.write(|tx| {
            documents::record_document(tx, work_order_id, kind, lang, &sha, pdf.len() as i64, now)
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
    let now = chrono::Local::now().fixed_offset();
    let (job, visit, company, technician) = paperwork(&state, &id)?;
    // The detail already marks each signature valid or void against the content now.
    let signature = job.signatures.last().filter(|s| s.valid).cloned();
    let lang_code = lang.unwrap_or_else(|| job.customer.language.clone());
    let doc_lang = crate::sign_off::lang(&lang_code);
    let signature = match &signature {
        Some(sig) => {
            let path =
                documents::blob_path(&state.blobs_dir, &sig.png_sha256).map_err(|e| e.to_ipc())?;
            let png = std::fs::read(path).map_err(|e| {
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
    keep_document(&state, &id, DocumentKind::SignOff, &lang_code, pdf)
}

/// Opens a stored document in the system's PDF viewer (print or save from there).
#[tauri::command]
pub fn open_document(state: State<AppState>, sha256: String) -> Reply<()> {
    let path = documents::blob_path(&state.blobs_dir, &sha256).map_err(|e| e.to_ipc())?;
    if !path.exists() {
        return Err(IpcError::new(ErrorCode::NotFound, "document file missing"));
    }
    // The viewer needs a .pdf name: give it a read-only copy beside the blobs.
    let view_dir = state.blobs_dir.join("view");
    let view = view_dir.join(format!("{sha256}.pdf"));
    std::fs::create_dir_all(&view_dir)
        .and_then(|_| std::fs::copy(&path, &view))
        .map_err(|e| IpcError::new(ErrorCode::DbIo, format!("cannot prepare the document: {e}")))?;
    std::process::Command::new("xdg-open")
        .arg(&view)
        .spawn()
        .map_err(|e| IpcError::new(ErrorCode::Internal, format!("no PDF viewer: {e}")))?;
    Ok(())
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
    keep_document(&state, &id, DocumentKind::Quote, &lang, pdf)
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
    let sha = documents::put_blob(&state.blobs_dir, &pdf)
        .map_err(|e| IpcError::new(ErrorCode::DbIo, format!("cannot store the document: {e}")))?;
    Ok(DocumentView {
        sha256: sha,
        kind: DocumentKind::DayEnd,
        lang,
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
    documents::blob_path(&state.blobs_dir, &sha256).map_err(|e| e.to_ipc())?;
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
    documents::export_blob(&state.blobs_dir, &sha256, &dest).map_err(|e| e.to_ipc())?;
    Ok(Some(dest.display().to_string()))
}
