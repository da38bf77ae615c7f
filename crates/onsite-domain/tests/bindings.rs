//! The TypeScript types the UI uses are generated from the Rust types that cross IPC.
//! This test fails when ui/src/lib/bindings.ts is stale; regenerate it with
//! `UPDATE_BINDINGS=1 cargo test -p onsite-domain --test bindings`.

use onsite_domain::ipc::{ErrorCode, IpcError};
use onsite_domain::money::{Currency, Money};
use onsite_domain::rules::{
    Bilingual, CoveredBy, Exclusion, FeeItem, FeeTableStamp, ItemKind, LineStatus, OldPartState,
    PricedJob, PricedLine, RecordedExclusion, Totals,
};
use onsite_domain::view::*;
use onsite_domain::view_day::*;
use onsite_domain::view_keys::*;
use onsite_domain::view_sync::*;
use onsite_domain::view_visit::*;
use onsite_domain::{JobType, Lateness, WorkOrderStatus};
use ts_rs::{Config, TS};

fn render() -> String {
    let cfg = Config::default();
    let decls = [
        JobType::decl(&cfg),
        WorkOrderStatus::decl(&cfg),
        Lateness::decl(&cfg),
        Currency::decl(&cfg),
        Money::decl(&cfg),
        ErrorCode::decl(&cfg),
        IpcError::decl(&cfg),
        WorkOrderSummary::decl(&cfg),
        onsite_domain::carryback::CarryBackState::decl(&cfg),
        onsite_domain::carryback::CarryBackOverdue::decl(&cfg),
        CarryBackView::decl(&cfg),
        OtherDeviceFactView::decl(&cfg),
        CarryBackForm::decl(&cfg),
        TodayView::decl(&cfg),
        ProofKind::decl(&cfg),
        ProofOfPurchase::decl(&cfg),
        CustomerView::decl(&cfg),
        onsite_domain::rules::ContractCover::decl(&cfg),
        ContractView::decl(&cfg),
        ApplianceView::decl(&cfg),
        StatusChangeView::decl(&cfg),
        VisitView::decl(&cfg),
        SignatureView::decl(&cfg),
        DocumentKind::decl(&cfg),
        Paper::decl(&cfg),
        DocumentView::decl(&cfg),
        AddendumView::decl(&cfg),
        DraftView::decl(&cfg),
        onsite_domain::signoff::NoSignatureReason::decl(&cfg),
        WorkOrderDetail::decl(&cfg),
        Settings::decl(&cfg),
        AppInfo::decl(&cfg),
        KeyMethod::decl(&cfg),
        KeyProblem::decl(&cfg),
        KeyState::decl(&cfg),
        ForgottenPin::decl(&cfg),
        DataSetAside::decl(&cfg),
        Bilingual::decl(&cfg),
        ItemKind::decl(&cfg),
        FeeItem::decl(&cfg),
        FeeTableStamp::decl(&cfg),
        Exclusion::decl(&cfg),
        RecordedExclusion::decl(&cfg),
        CoveredBy::decl(&cfg),
        OldPartState::decl(&cfg),
        LineStatus::decl(&cfg),
        PricedLine::decl(&cfg),
        Totals::decl(&cfg),
        PricedJob::decl(&cfg),
        PhotoView::decl(&cfg),
        DiagnosisView::decl(&cfg),
        QuoteDecisionKind::decl(&cfg),
        QuoteDecisionView::decl(&cfg),
        QuoteView::decl(&cfg),
        PartUseView::decl(&cfg),
        PartReturnView::decl(&cfg),
        PaymentMethod::decl(&cfg),
        PaymentView::decl(&cfg),
        Settlement::decl(&cfg),
        BalanceView::decl(&cfg),
        FeedbackView::decl(&cfg),
        VisitStage::decl(&cfg),
        VisitStateView::decl(&cfg),
        VanPartView::decl(&cfg),
        ComponentOption::decl(&cfg),
        VisitCatalog::decl(&cfg),
        DiagnosisForm::decl(&cfg),
        QuoteLineForm::decl(&cfg),
        TakePartForm::decl(&cfg),
        PaymentForm::decl(&cfg),
        PaymentResult::decl(&cfg),
        ExpenseRatesView::decl(&cfg),
        ExpenseForm::decl(&cfg),
        ExpenseView::decl(&cfg),
        ExpensesDayView::decl(&cfg),
        StockCountForm::decl(&cfg),
        StockTakeLineView::decl(&cfg),
        StockTakeResult::decl(&cfg),
        EnrolForm::decl(&cfg),
        SyncPhaseView::decl(&cfg),
        SyncProgressView::decl(&cfg),
        SyncRunView::decl(&cfg),
        SyncHealth::decl(&cfg),
        UnsentFileKind::decl(&cfg),
        UnsentWhy::decl(&cfg),
        UnsentFileView::decl(&cfg),
        PendingOpView::decl(&cfg),
        RejectedOpView::decl(&cfg),
        ReviewFlagView::decl(&cfg),
        SyncView::decl(&cfg),
        DayEndCheck::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from the Rust types in crates/onsite-domain by its `bindings` test.\n\
         // Do not edit: run `UPDATE_BINDINGS=1 cargo test -p onsite-domain --test bindings`.\n",
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
fn typescript_bindings_are_current() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings.ts");
    let want = render();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "ui/src/lib/bindings.ts is stale: run `UPDATE_BINDINGS=1 cargo test -p onsite-domain --test bindings`"
    );
}
