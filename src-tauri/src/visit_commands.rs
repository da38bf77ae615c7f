//! The visit (issue 3): thin adapters over `onsite_store::visit`. Each step runs in one
//! transaction with its outbox operation and returns the visit as recorded, so the screen
//! always shows what the store holds.

use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::rules::{select_version, ItemKind};
use onsite_domain::view_visit::{
    ComponentOption, DiagnosisForm, PaymentForm, PaymentResult, PhotoView, QuoteDecisionKind,
    QuoteLineForm, TakePartForm, VanPartView, VisitCatalog, VisitStateView,
};
use onsite_store::visit::{self, Decision, QuoteRequest, VisitError};
use onsite_store::{workorders, Store};
use serde::{de::DeserializeOwned, Serialize};
use tauri::State;

use crate::state::{local_day, AppState};

type Reply<T> = Result<T, IpcError>;

/// The store's visit types and the IPC ones have the same fields (the IPC ones add the
/// TypeScript bindings); a field that drifted is an internal error, not a silent loss.
fn convert<A: Serialize, B: DeserializeOwned>(value: &A) -> Result<B, VisitError> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(VisitError::from)
}

fn state_of(store: &Store, id: &str) -> Result<VisitStateView, VisitError> {
    convert(&visit::state(store.conn(), id)?)
}

/// Runs one visit step and returns the visit after it.
fn step<T>(
    state: &AppState,
    id: &str,
    f: impl FnOnce(&rusqlite::Transaction) -> Result<T, VisitError>,
) -> Reply<VisitStateView> {
    state.with_visit(|s| {
        visit::write(s, f)?;
        state_of(s, id)
    })
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

#[tauri::command]
pub fn visit(state: State<AppState>, id: String) -> Reply<VisitStateView> {
    state.with_visit(|s| state_of(s, &id))
}

#[tauri::command]
pub fn visit_catalog(state: State<AppState>, id: String) -> Reply<VisitCatalog> {
    state.with_visit(|s| {
        let category = workorders::detail(s.conn(), &id, &local_day())?
            .appliance
            .category;
        let tables: Vec<_> = visit::load_fee_tables(s.conn(), &category)?
            .into_iter()
            .map(|t| t.table)
            .collect();
        let table = select_version(&tables, today())?;
        let is_bundle = |code: &str| {
            table
                .bundles
                .iter()
                .any(|b| b.code == code && !b.services.iter().any(|s| s == code))
        };
        let services = table
            .items
            .iter()
            .filter(|i| i.kind != ItemKind::Part && !is_bundle(&i.code))
            .cloned()
            .collect();
        let components = visit::components_for(s.conn(), &category)?
            .into_iter()
            .map(|c| ComponentOption {
                code: c.code,
                name: c.name,
            })
            .collect();
        Ok(VisitCatalog {
            fee_table: table.stamp(),
            services,
            components,
            van: convert(&visit::van_stock(s.conn())?)?,
        })
    })
}

#[tauri::command]
pub fn van_stock_search(state: State<AppState>, query: String) -> Reply<Vec<VanPartView>> {
    if query.chars().count() > 100 {
        return Err(IpcError::new(
            ErrorCode::InvalidInput,
            "search text too long",
        ));
    }
    state.with_visit(|s| convert(&visit::search_van_stock(s.conn(), &query, 30)?))
}

/// A photo for the diagnosis: stored under its hash before the diagnosis records it.
#[tauri::command]
pub fn add_photo(
    state: State<AppState>,
    data_base64: String,
    media_type: String,
) -> Reply<PhotoView> {
    use base64::Engine;
    // Refused before decoding when the text alone says the photo is over head office's
    // limit (the store checks the decoded bytes again).
    if data_base64.len() > visit::MAX_BLOB_BYTES.div_ceil(3) * 4 {
        return Err(IpcError::new(
            ErrorCode::PhotoTooLarge,
            format!(
                "the photo is larger than head office accepts ({} bytes)",
                visit::MAX_BLOB_BYTES
            ),
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data_base64)
        .map_err(|_| IpcError::new(ErrorCode::InvalidInput, "photo is not base64"))?;
    visit::put_blob(&state.blobs()?, &bytes, &media_type)
        .and_then(|blob| convert(&blob))
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub fn record_diagnosis(
    state: State<AppState>,
    id: String,
    form: DiagnosisForm,
) -> Reply<VisitStateView> {
    let now = local_day().now;
    step(&state, &id, |tx| {
        visit::record_diagnosis(tx, &id, &convert(&form)?, now)
    })
}

/// Prices the lines with the fee table in force today and issues the quote.
#[tauri::command]
pub fn issue_quote(
    state: State<AppState>,
    id: String,
    lines: Vec<QuoteLineForm>,
) -> Reply<VisitStateView> {
    let now = local_day().now;
    let request = QuoteRequest {
        visit_date: today(),
        work_date: today(),
        lines: convert(&lines).map_err(|e| e.to_ipc())?,
        contracts: Vec::new(),
    };
    step(&state, &id, |tx| visit::issue_quote(tx, &id, &request, now))
}

#[tauri::command]
pub fn decide_quote(
    state: State<AppState>,
    id: String,
    quote_id: String,
    decision: QuoteDecisionKind,
) -> Reply<VisitStateView> {
    let now = local_day().now;
    let decision = match decision {
        QuoteDecisionKind::Accepted => Decision::Accepted,
        QuoteDecisionKind::Declined => Decision::Declined,
    };
    step(&state, &id, |tx| {
        visit::decide_quote(tx, &id, &quote_id, decision, now)
    })
}

#[tauri::command]
pub fn take_part(state: State<AppState>, id: String, take: TakePartForm) -> Reply<VisitStateView> {
    let now = local_day().now;
    step(&state, &id, |tx| {
        visit::take_part(tx, &id, &convert(&take)?, now)
    })
}

#[tauri::command]
pub fn return_unused(
    state: State<AppState>,
    id: String,
    part_id: String,
    quantity: i64,
) -> Reply<VisitStateView> {
    let day = local_day();
    step(&state, &id, |tx| {
        visit::return_unused_on(tx, &part_id, quantity, Some(&id), day.today(), day.now)
    })
}

#[tauri::command]
pub fn return_old_part(
    state: State<AppState>,
    id: String,
    part_use_id: String,
) -> Reply<VisitStateView> {
    let now = local_day().now;
    step(&state, &id, |tx| {
        visit::return_old_part(tx, &part_use_id, now)
    })
}

#[tauri::command]
pub fn take_payment(
    state: State<AppState>,
    id: String,
    payment: PaymentForm,
) -> Reply<PaymentResult> {
    let now = local_day().now;
    state.with_visit(|s| {
        let receipt = visit::write(s, |tx| {
            visit::take_payment(tx, &id, &convert(&payment)?, now)
        })?;
        Ok(PaymentResult {
            change_minor: receipt.change_minor,
            visit: state_of(s, &id)?,
        })
    })
}

#[tauri::command]
pub fn invoice_later(state: State<AppState>, id: String) -> Reply<VisitStateView> {
    let now = local_day().now;
    step(&state, &id, |tx| visit::invoice_later(tx, &id, now))
}

#[tauri::command]
pub fn record_feedback(
    state: State<AppState>,
    id: String,
    rating: u8,
    comment: String,
    callback_allowed: bool,
) -> Reply<VisitStateView> {
    let now = local_day().now;
    step(&state, &id, |tx| {
        visit::record_feedback(tx, &id, rating, &comment, callback_allowed, now)
    })
}
