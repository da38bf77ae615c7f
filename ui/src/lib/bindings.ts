// Generated from the Rust types in crates/onsite-domain by its `bindings` test.
// Do not edit: run `UPDATE_BINDINGS=1 cargo test -p onsite-domain --test bindings`.

export type JobType = "install" | "maintain" | "repair" | "relocate" | "inspect";

export type WorkOrderStatus = "assigned" | "en_route" | "on_site" | "in_progress" | "completed" | "unable_to_complete" | "cancelled";

export type Lateness = "on_time" | "late" | "overdue";

export type Currency = "CNY";

export type Money = { 
/**
 * Minor units (fen for CNY). JSON number; safe in JavaScript up to 2^53.
 */
minor: number, currency: Currency, };

export type ErrorCode = "db_corrupt" | "db_locked" | "db_too_new" | "db_io" | "not_found" | "transition_not_allowed" | "reason_required" | "signature_required" | "document_failed" | "invalid_input" | "internal" | "invalid_quantity" | "invalid_amount" | "price_not_editable" | "payment_above_due" | "purchase_date_in_future" | "order_cancelled" | "order_closed" | "insufficient_stock" | "quote_required" | "quote_not_accepted" | "no_fee_table";

export type IpcError = { code: ErrorCode, message: string, file: string | null, };

export type WorkOrderSummary = { id: string, order_no: string, customer_name: string, address: string, appliance_category: string, appliance_model: string, job_type: JobType, status: WorkOrderStatus, appointment_start: string, appointment_end: string, lateness: Lateness, };

export type TodayView = { technician_name: string, date: string, items: Array<WorkOrderSummary>, };

export type ProofKind = "none" | "receipt" | "invoice";

export type ProofOfPurchase = { kind: ProofKind, date: string | null, sealed: boolean, };

export type CustomerView = { id: string, name: string, phone: string, address: string, 
/**
 * The language documents are printed in for this customer: "zh-CN" or "en".
 */
language: string, };

export type ApplianceView = { id: string, category: string, brand: string, model: string, serial_no: string | null, purchase_date: string | null, proof: ProofOfPurchase, };

export type StatusChangeView = { from: WorkOrderStatus | null, to: WorkOrderStatus, at: string, reason: string | null, };

export type VisitView = { work_order_id: string, order_no: string, job_type: JobType, status: WorkOrderStatus, appointment_start: string, reported_fault: string, };

export type SignatureView = { id: string, signer_name: string, signed_at: string, content_hash: string, png_sha256: string, valid: boolean, };

export type DocumentKind = "sign_off" | "quote" | "payment_receipt" | "carry_back" | "day_end";

export type DocumentView = { sha256: string, kind: DocumentKind, lang: string, size: number, created_at: string, };

export type NoSignatureReason = "customer_absent" | "refused_to_sign";

export type WorkOrderDetail = { summary: WorkOrderSummary, customer: CustomerView, appliance: ApplianceView, reported_fault: string, notes: string, status_history: Array<StatusChangeView>, earlier_visits: Array<VisitView>, 
/**
 * What the technician may move it to now.
 */
next_statuses: Array<WorkOrderStatus>, 
/**
 * SHA-256 of the job's content now (see `signoff`).
 */
content_hash: string, 
/**
 * Every signature, oldest first; the last valid one counts.
 */
signatures: Array<SignatureView>, documents: Array<DocumentView>, };

export type Settings = { locale: string | null, };

export type AppInfo = { version: string, data_file: string, system_locale: string, settings: Settings, };
