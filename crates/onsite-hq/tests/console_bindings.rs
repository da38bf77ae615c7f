//! The TypeScript types the office's console uses are generated from the Rust types that
//! cross its API. This test fails when console/src/lib/bindings.ts is stale; regenerate
//! it with `UPDATE_BINDINGS=1 cargo test -p onsite-hq --test console_bindings`.

use onsite_api::{
    Device, EnrolmentCode, ErasedRecord, ErasedReport, NewEnrolmentCode, NewTechnician, Technician,
};
use onsite_hq::accounts::{Permission, Role};
use onsite_hq::office::{
    LoginRequest, Me, NewApiTokenReply, NewApiTokenRequest, NewUserRequest, PasswordChange,
};
use onsite_hq::storage::accounts::{Actor, ApiToken, AuditEntry, AuditRecord, User};
use ts_rs::{Config, TS};

fn render() -> String {
    let cfg = Config::default();
    let decls = [
        Role::decl(&cfg),
        Permission::decl(&cfg),
        User::decl(&cfg),
        Me::decl(&cfg),
        LoginRequest::decl(&cfg),
        PasswordChange::decl(&cfg),
        NewUserRequest::decl(&cfg),
        ApiToken::decl(&cfg),
        NewApiTokenRequest::decl(&cfg),
        NewApiTokenReply::decl(&cfg),
        Actor::decl(&cfg),
        AuditEntry::decl(&cfg),
        AuditRecord::decl(&cfg),
        Technician::decl(&cfg),
        NewTechnician::decl(&cfg),
        NewEnrolmentCode::decl(&cfg),
        EnrolmentCode::decl(&cfg),
        ErasedReport::decl(&cfg),
        ErasedRecord::decl(&cfg),
        Device::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from the Rust types in crates/onsite-hq and crates/onsite-api by onsite-hq's `console_bindings` test.\n\
         // Do not edit: run `UPDATE_BINDINGS=1 cargo test -p onsite-hq --test console_bindings`.\n",
    );
    for decl in decls {
        out.push('\n');
        out.push_str("export ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

#[test]
fn console_typescript_bindings_are_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console/src/lib/bindings.ts");
    let want = render();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "crates/onsite-hq/console/src/lib/bindings.ts is stale: run `UPDATE_BINDINGS=1 cargo test -p onsite-hq --test console_bindings`"
    );
}
