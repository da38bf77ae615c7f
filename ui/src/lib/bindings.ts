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

export type ErrorCode = "db_corrupt" | "db_locked" | "db_too_new" | "db_io" | "not_found" | "transition_not_allowed" | "reason_required" | "signature_required" | "document_failed" | "invalid_input" | "internal" | "invalid_quantity" | "invalid_amount" | "price_not_editable" | "payment_above_due" | "purchase_date_in_future" | "order_cancelled" | "order_closed" | "insufficient_stock" | "photo_too_large" | "quote_required" | "quote_not_accepted" | "no_fee_table" | "sync_not_enrolled" | "sync_offline" | "sync_bad_address" | "sync_bad_certificate" | "sync_code_refused" | "sync_device_revoked" | "sync_server_error" | "sync_unsent_elsewhere" | "job_closed" | "fault_required" | "quote_empty" | "no_pdf_viewer" | "demo_in_progress" | "enrol_unreachable" | "pin_too_short" | "pin_wrong" | "pin_wait" | "key_unavailable" | "locked";

export type IpcError = { code: ErrorCode, message: string, file: string | null, };

export type WorkOrderSummary = { id: string, order_no: string, customer_name: string, 
/**
 * Shown with search results, so that a match on a phone fragment can be checked.
 */
customer_phone: string, address: string, appliance_category: string, appliance_model: string, job_type: JobType, status: WorkOrderStatus, appointment_start: string, appointment_end: string, lateness: Lateness, };

export type CarryBackState = "taken" | "at_workshop" | "repaired" | "returned";

export type CarryBackOverdue = "past_expected_return" | "past_repair_limit";

export type CarryBackView = { id: string, receipt_no: string, work_order_id: string, order_no: string, customer_name: string, item: string, serial_no: string | null, accessories: Array<string>, condition: string, fault: string, expected_return: string, state: CarryBackState, taken_at: string, taken_signer: string, returned_at: string | null, 
/**
 * On return: whether the customer handed the receipt back (false: its loss recorded).
 */
receipt_collected: boolean | null, receipt_lost_note: string | null, returned_signer: string | null, photos: Array<string>, overdue: CarryBackOverdue | null, };

export type OtherDeviceFactView = { 
/**
 * The outbox kind it stands for (`TakePayment`, `IssueQuote`, …), for its label.
 */
kind: string, at: string, 
/**
 * An amount it carries: the payment, the quote's total due, the invoice.
 */
amount_minor: number | null, 
/**
 * The status it moved the job to.
 */
status: WorkOrderStatus | null, 
/**
 * A part number and quantity, a signer, a rating: what identifies it.
 */
detail: string | null, };

export type CarryBackForm = { item: string, serial_no: string | null, accessories: Array<string>, condition: string, fault: string, expected_return: string, 
/**
 * SHA-256 of photos already stored (see the `add_photo` command).
 */
photos: Array<string>, };

export type TodayView = { technician_name: string, date: string, items: Array<WorkOrderSummary>, 
/**
 * Carry-backs past their return date or the 15-working-day limit.
 */
overdue_carry_backs: Array<CarryBackView>, };

export type ProofKind = "none" | "receipt" | "invoice";

export type ProofOfPurchase = { kind: ProofKind, date: string | null, sealed: boolean, };

export type CustomerView = { id: string, name: string, phone: string, address: string, 
/**
 * The language documents are printed in for this customer: "zh-CN" or "en".
 */
language: string, };

export type ContractCover = "labour" | "parts" | "both";

export type ContractView = { reference: string, covers: ContractCover, valid_from: string, valid_to: string, };

export type ApplianceView = { id: string, category: string, brand: string, model: string, serial_no: string | null, purchase_date: string | null, proof: ProofOfPurchase, 
/**
 * Maintenance contracts on the appliance (head office's).
 */
contracts: Array<ContractView>, };

export type StatusChangeView = { from: WorkOrderStatus | null, to: WorkOrderStatus, at: string, reason: string | null, };

export type VisitView = { work_order_id: string, order_no: string, job_type: JobType, status: WorkOrderStatus, appointment_start: string, reported_fault: string, };

export type SignatureView = { id: string, signer_name: string, signed_at: string, content_hash: string, png_sha256: string, valid: boolean, };

export type DocumentKind = "sign_off" | "quote" | "payment_receipt" | "carry_back" | "day_end";

export type Paper = "a4" | "roll_80mm";

export type DocumentView = { sha256: string, kind: DocumentKind, lang: string, 
/**
 * The paper it is laid out for.
 */
paper: Paper, size: number, created_at: string, };

export type AddendumView = { id: string, text: string, at: string, };

export type DraftView = { 
/**
 * `notes`, `addendum`, `fault`, `diagnosis_notes` or `feedback_comment`.
 */
field: string, text: string, saved_at: string, };

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
signatures: Array<SignatureView>, documents: Array<DocumentView>, carry_backs: Array<CarryBackView>, 
/**
 * What the technician recorded on this job on their other device (as head office
 * stored it), oldest first: shown so that nothing is done twice.
 */
other_device: Array<OtherDeviceFactView>, 
/**
 * Notes added after the job was closed, oldest first. Not part of the content the
 * customer signed: adding one leaves the signature valid.
 */
addenda: Array<AddendumView>, };

export type Settings = { locale: string | null, };

export type AppInfo = { version: string, data_file: string, system_locale: string, settings: Settings, };

export type KeyMethod = "credential_store" | "pin";

export type KeyProblem = "credential_store_unavailable" | "key_missing" | "key_damaged" | "data_from_another_device";

export type KeyState = { "state": "open", method: KeyMethod, } | { "state": "set_pin" } | { "state": "enter_pin", wrong_tries: number, wait_seconds: number, } | { "state": "problem", problem: KeyProblem, };

export type ForgottenPin = { 
/**
 * Changes (ops) recorded here and not yet acknowledged by head office.
 */
unsent_changes: number, 
/**
 * Signatures, photos and documents not yet uploaded.
 */
unsent_files: number, 
/**
 * When these counts were taken (RFC 3339 UTC), `None` if never.
 */
counted_at: string | null, 
/**
 * Whether the device was enrolled with head office (otherwise it held the demo).
 */
enrolled: boolean, };

export type DataSetAside = { 
/**
 * The folder the data (database, files and key file) was moved to.
 */
folder: string, 
/**
 * How many files and folders were moved.
 */
moved: number, 
/**
 * The key's state now (a fresh start).
 */
next: KeyState, };

export type Bilingual = { 
/**
 * Simplified Chinese (zh-CN).
 */
zh: string, 
/**
 * English.
 */
en: string, };

export type ItemKind = "service" | "labour" | "travel" | "part";

export type FeeItem = { code: string, name: Bilingual, kind: ItemKind, 
/**
 * The list price of one unit.
 */
price: Money, 
/**
 * The technician may set the price on the job (for instance a quoted repair). All
 * other items refuse a technician's price.
 */
open_priced: boolean, 
/**
 * Warranty and service contracts may make this item free. Services that are not
 * repairs (relocation, which the customer chooses) are charged whatever the warranty.
 */
coverable: boolean, 
/**
 * For parts: the component the part is, which decides its warranty (a filter is a
 * consumable). `None`: the appliance as a whole.
 */
component: string | null, 
/**
 * For parts: the old part has a recovery value, so it must come back even when
 * cheap (004 §4.5a).
 */
recoverable: boolean, };

export type FeeTableStamp = { version: string, effective_from: string, };

export type Exclusion = "misuse" | "dropped_or_moved_improperly" | "force_majeure" | "unauthorised_repair" | "customer_damage";

export type RecordedExclusion = { kind: Exclusion, component: string | null, };

export type CoveredBy = "warranty" | "contract";

export type OldPartState = "exempt" | "awaiting" | "returned";

export type LineStatus = "covered" | "charged" | "deposit";

export type PricedLine = { code: string, name: Bilingual, kind: ItemKind, component: string | null, quantity: number, unit_price: Money, 
/**
 * The technician set the unit price (open-priced item).
 */
price_set_by_technician: boolean, 
/**
 * `quantity × unit_price`, whoever pays it.
 */
amount: Money, status: LineStatus, covered_by: CoveredBy | null, 
/**
 * For covered parts: whether the old part must still come back.
 */
old_part: OldPartState | null, 
/**
 * What the customer pays for this line now: `amount` when charged or held as a
 * deposit, zero when covered.
 */
charged: Money, 
/**
 * For a bundle: the requested services it stands for, by code.
 */
includes: Array<string>, 
/**
 * Why, for the customer: the entitlement first, then bundle or old-part notes.
 */
reasons: Array<Bilingual>, };

export type Totals = { 
/**
 * Every line at its price.
 */
gross: Money, 
/**
 * Lines the warranty or a contract pays.
 */
covered: Money, 
/**
 * Covered parts held as a deposit until their old part is returned.
 */
deposit: Money, 
/**
 * Lines the customer pays outright.
 */
charged: Money, 
/**
 * What the customer pays now: `charged + deposit`. Always `gross - covered`.
 */
due: Money, };

export type PricedJob = { fee_table: FeeTableStamp, work_date: string, lines: Array<PricedLine>, totals: Totals, };

export type PhotoView = { sha256: string, media_type: string, size: number, };

export type DiagnosisView = { id: string, fault_found: string, 
/**
 * Warranty component codes (`pump`, `filter`...).
 */
components: Array<string>, exclusions: Array<RecordedExclusion>, notes: string, photos: Array<PhotoView>, recorded_at: string, };

export type QuoteDecisionKind = "accepted" | "declined";

export type QuoteDecisionView = { decision: QuoteDecisionKind, at: string, };

export type QuoteView = { id: string, work_order_id: string, fee_table_id: string, fee_table_version: number, issued_at: string, 
/**
 * As shown to the customer.
 */
priced: PricedJob, 
/**
 * As it stands now: deposits of returned old parts reversed.
 */
current: PricedJob, decision: QuoteDecisionView | null, 
/**
 * Due when declined: the call-out fee, if the fee table has one.
 */
callout: PricedJob | null, };

export type PartUseView = { id: string, part_id: string, part_no: string, quantity: number, serial_fitted: string | null, serial_removed: string | null, override_reason: string | null, at: string, 
/**
 * Old parts handed back for this use.
 */
old_returned: number, };

export type PartReturnView = { id: string, kind: string, part_id: string, quantity: number, part_use_id: string | null, serial: string | null, at: string, };

export type PaymentMethod = "cash" | "card" | "bank_transfer" | "qr";

export type PaymentView = { id: string, method: PaymentMethod, amount_minor: number, tendered_minor: number | null, change_minor: number | null, at: string, };

export type Settlement = "nothing_due" | "unpaid" | "part_paid" | "paid" | "invoiced_later" | "refund_due";

export type BalanceView = { due_minor: number, paid_minor: number, 
/**
 * `due - paid`; negative when a refund is owed.
 */
outstanding_minor: number, invoiced_later_minor: number | null, settlement: Settlement, };

export type FeedbackView = { rating: number, comment: string, callback_allowed: boolean, at: string, };

export type VisitStage = "not_started" | "diagnosed" | "quoted" | "quote_accepted" | "quote_declined" | "parts_taken" | "payment" | "feedback_given";

export type VisitStateView = { work_order_id: string, status: WorkOrderStatus, stage: VisitStage, diagnosis: DiagnosisView | null, quote: QuoteView | null, parts: Array<PartUseView>, returns: Array<PartReturnView>, payments: Array<PaymentView>, balance: BalanceView, feedback: FeedbackView | null, };

export type VanPartView = { part_id: string, part_no: string, name_zh: string, name_en: string, category: string, price_minor: number, serialized: boolean, consumable: boolean, return_required: boolean, quantity: number, };

export type ComponentOption = { code: string, name: Bilingual, };

export type VisitCatalog = { fee_table: FeeTableStamp, services: Array<FeeItem>, components: Array<ComponentOption>, 
/**
 * The van's stock now.
 */
van: Array<VanPartView>, };

export type DiagnosisForm = { fault_found: string, components: Array<string>, exclusions: Array<RecordedExclusion>, notes: string, 
/**
 * Photos already stored with `add_photo`.
 */
photos: Array<PhotoView>, };

export type QuoteLineForm = { code: string, quantity: number, component: string | null, 
/**
 * Open-priced items only.
 */
price_minor: number | null, };

export type TakePartForm = { part_id: string, quantity: number, serial_fitted: string | null, serial_removed: string | null, 
/**
 * Needed when the van would go below zero.
 */
override_reason: string | null, };

export type PaymentForm = { method: PaymentMethod, amount_minor: number, 
/**
 * Cash only: what the customer handed over.
 */
tendered_minor: number | null, };

export type PaymentResult = { change_minor: number | null, visit: VisitStateView, };

export type ExpenseRatesView = { per_km_minor: number, meal_per_day_minor: number, lodging_per_night_minor: number, };

export type ExpenseForm = { 
/**
 * `YYYY-MM-DD`.
 */
day: string, km: number, meal_days: number, nights: number, };

export type ExpenseView = { day: string, km: number, meal_days: number, nights: number, rates: ExpenseRatesView, mileage_minor: number, meals_minor: number, lodging_minor: number, total_minor: number, };

export type ExpensesDayView = { day: string, rates: ExpenseRatesView, recorded: ExpenseView | null, };

export type StockCountForm = { part_id: string, counted: number, };

export type StockTakeLineView = { part_id: string, expected: number, counted: number, difference: number, };

export type StockTakeResult = { stock_take_id: string, lines: Array<StockTakeLineView>, van: Array<VanPartView>, };

export type EnrolForm = { 
/**
 * `https://…` address of head office.
 */
server_url: string, 
/**
 * The one-time code (dashes and spaces are ignored by head office).
 */
code: string, 
/**
 * A label head office shows for this device ("Van 3 laptop").
 */
device_name: string, 
/**
 * Head office's own CA certificate (PEM), trusted besides the system's roots.
 */
ca_pem: string | null, };

export type SyncPhaseView = "starting" | "uploading" | "pushing" | "pulling";

export type SyncProgressView = { phase: SyncPhaseView, 
/**
 * Ops waiting when the run started.
 */
pending_at_start: number, blobs_uploaded: number, ops_sent: number, pages_pulled: number, changes_received: number, };

export type SyncRunView = { finished_at: string, ok: boolean, blobs_uploaded: number, ops_applied: number, ops_rejected: number, ops_flagged: number, changes_received: number, 
/**
 * The queue stopped at an op this device cannot send (its kind and why).
 */
blocked: string | null, };

export type SyncHealth = "not_enrolled" | "ok" | "retrying" | "needs_enrolment" | "failing";

export type UnsentFileKind = "photo" | "signature" | "document";

export type UnsentWhy = "missing" | "damaged" | "too_large";

export type UnsentFileView = { sha256: string, 
/**
 * The record (outbox op) that referenced it.
 */
op_id: string, kind: UnsentFileKind, why: UnsentWhy, work_order_id: string | null, order_no: string | null, 
/**
 * When a sync first and last found it could not be sent.
 */
first_at: string, last_at: string, };

export type PendingOpView = { device_seq: number, op_id: string, kind: string, work_order_id: string, order_no: string | null, created_at: string, 
/**
 * Why the last sync could not send it (a file missing or damaged here, too large, a
 * kind head office does not take yet); none when it simply has not gone yet.
 */
waiting: string | null, 
/**
 * It waits for head office to be upgraded (nothing to do here).
 */
held: boolean, };

export type RejectedOpView = { device_seq: number, op_id: string, kind: string, work_order_id: string, order_no: string | null, code: string, reason: string, at: string, };

export type ReviewFlagView = { work_order_id: string, order_no: string | null, reason: string, created_at: string, };

export type SyncView = { enrolled: boolean, server_url: string | null, technician_name: string | null, 
/**
 * Head office's certificate pinned at enrolment, as people compare it
 * (`AB:CD:…`, SHA-256 of its DER): any other certificate is refused.
 */
certificate: string | null, health: SyncHealth, running: SyncProgressView | null, last_success_at: string | null, last_attempt_at: string | null, 
/**
 * The last failure, in English for support.
 */
last_error: string | null, 
/**
 * The last failure of this session, for the UI to explain in the user's language.
 */
last_error_code: ErrorCode | null, 
/**
 * When the background sync tries next (none when it waits for enrolment).
 */
next_attempt_at: string | null, last_run: SyncRunView | null, pending: Array<PendingOpView>, unsent_files: number, 
/**
 * Files that could not be sent and will not be by a later sync (counted in
 * `unsent_files` until dismissed).
 */
unsent: Array<UnsentFileView>, rejected: Array<RejectedOpView>, review: Array<ReviewFlagView>, 
/**
 * When this device erased its customer data because head office marked it lost
 * (issue 11); none otherwise.
 */
erased_at: string | null, 
/**
 * Records that could not be sent before the erase (lost with it).
 */
erased_unsent: number, };

export type DayEndCheck = { enrolled: boolean, unsent_ops: number, unsent_files: number, rejected_ops: number, last_success_at: string | null, };
