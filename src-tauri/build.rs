/// The commands the UI may call. Each gets `allow-<name>` / `deny-<name>` permissions;
/// capabilities/main.json grants them to the main window. A command missing here cannot be
/// called at all.
const COMMANDS: &[&str] = &[
    "app_info",
    "today",
    "search",
    "work_order",
    "change_status",
    "save_notes",
    "set_locale",
    "sign_work_order",
    "create_sign_off",
    "open_document",
    "ui_ready",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script failed");
}
