/// The commands the UI may call. Each gets `allow-<name>` / `deny-<name>` permissions;
/// capabilities/main.json grants them to the main window. A command missing here cannot be
/// called at all.
const COMMANDS: &[&str] = &[
    "app_info",
    "system_locale",
    "key_state",
    "set_pin",
    "unlock",
    "forgotten_pin",
    "erase_forgotten",
    "today",
    "search",
    "work_order",
    "change_status",
    "save_notes",
    "add_addendum",
    "save_draft",
    "drafts",
    "set_locale",
    "sign_work_order",
    "create_sign_off",
    "open_document",
    "create_quote_document",
    "create_payment_receipt",
    "create_day_end",
    "save_document_as",
    "take_carry_back",
    "advance_carry_back",
    "return_carry_back",
    "ui_ready",
    "visit",
    "visit_catalog",
    "van_stock_search",
    "add_photo",
    "record_diagnosis",
    "issue_quote",
    "decide_quote",
    "take_part",
    "return_unused",
    "return_old_part",
    "take_payment",
    "invoice_later",
    "record_feedback",
    "expenses",
    "record_expense",
    "set_expense_rates",
    "van_stock",
    "stock_take",
    "sync_status",
    "sync_now",
    "enrol_device",
    "day_end_check",
    "dismiss_unsent_file",
    "send_without_file",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script failed");
}
