// Typed calls to the Rust commands. Types come from ./bindings (generated from Rust).
import { invoke } from '@tauri-apps/api/core';
import type {
  AppInfo,
  DayEndCheck,
  EnrolForm,
  SyncView,
  CarryBackForm,
  CarryBackState,
  DiagnosisForm,
  DocumentView,
  DraftView,
  ExpenseForm,
  ExpenseRatesView,
  ExpensesDayView,
  ForgottenPin,
  DataSetAside,
  KeyState,
  StockCountForm,
  StockTakeResult,
  PaymentForm,
  PaymentResult,
  PhotoView,
  QuoteDecisionKind,
  QuoteLineForm,
  TakePartForm,
  VanPartView,
  VisitCatalog,
  VisitStateView,
  IpcError,
  Settings,
  TodayView,
  WorkOrderDetail,
  WorkOrderStatus,
  WorkOrderSummary,
} from './bindings';

export function isIpcError(e: unknown): e is IpcError {
  return typeof e === 'object' && e !== null && 'code' in e && 'message' in e;
}

/** Anything a command throws, as an IpcError (a string from Tauri itself becomes internal). */
export function asIpcError(e: unknown): IpcError {
  if (isIpcError(e)) return e;
  return { code: 'internal', message: String(e), file: null };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asIpcError(e);
  }
}

export const api = {
  appInfo: () => call<AppInfo>('app_info'),
  today: () => call<TodayView>('today'),
  search: (query: string) => call<WorkOrderSummary[]>('search', { query }),
  workOrder: (id: string) => call<WorkOrderDetail>('work_order', { id }),
  changeStatus: (id: string, to: WorkOrderStatus, reason: string | null) =>
    call<WorkOrderDetail>('change_status', { id, to, reason }),
  saveNotes: (id: string, notes: string) => call<WorkOrderDetail>('save_notes', { id, notes }),
  addAddendum: (id: string, text: string) => call<WorkOrderDetail>('add_addendum', { id, text }),
  saveDraft: (id: string, field: string, text: string) => call<void>('save_draft', { id, field, text }),
  drafts: (id: string) => call<DraftView[]>('drafts', { id }),
  setLocale: (locale: string | null) => call<Settings>('set_locale', { locale }),
  sign: (id: string, signerName: string, strokes: unknown, pngBase64: string) =>
    call<WorkOrderDetail>('sign_work_order', { id, signerName, strokes, pngBase64 }),
  createSignOff: (id: string, lang?: string) => call<DocumentView>('create_sign_off', { id, lang: lang ?? null }),
  openDocument: (sha256: string) => call<void>('open_document', { sha256 }),
  createQuoteDocument: (id: string) => call<DocumentView>('create_quote_document', { id }),
  createPaymentReceipt: (id: string) => call<DocumentView[]>('create_payment_receipt', { id }),
  createDayEnd: (lang: string) => call<DocumentView>('create_day_end', { lang }),
  saveDocumentAs: (sha256: string, fileName: string) =>
    call<string | null>('save_document_as', { sha256, fileName }),
  takeCarryBack: (id: string, form: CarryBackForm, signerName: string, strokes: unknown, pngBase64: string) =>
    call<WorkOrderDetail>('take_carry_back', { id, form, signerName, strokes, pngBase64 }),
  advanceCarryBack: (id: string, carryBackId: string, to: CarryBackState) =>
    call<WorkOrderDetail>('advance_carry_back', { id, carryBackId, to }),
  returnCarryBack: (
    id: string,
    carryBackId: string,
    receiptCollected: boolean,
    lostNote: string | null,
    signerName: string,
    strokes: unknown,
    pngBase64: string,
  ) =>
    call<WorkOrderDetail>('return_carry_back', {
      id,
      carryBackId,
      receiptCollected,
      lostNote,
      signerName,
      strokes,
      pngBase64,
    }),
  uiReady: () => call<void>('ui_ready'),
  visit: (id: string) => call<VisitStateView>('visit', { id }),
  visitCatalog: (id: string) => call<VisitCatalog>('visit_catalog', { id }),
  vanStockSearch: (query: string) => call<VanPartView[]>('van_stock_search', { query }),
  addPhoto: (dataBase64: string, mediaType: string) => call<PhotoView>('add_photo', { dataBase64, mediaType }),
  recordDiagnosis: (id: string, form: DiagnosisForm) => call<VisitStateView>('record_diagnosis', { id, form }),
  issueQuote: (id: string, lines: QuoteLineForm[]) => call<VisitStateView>('issue_quote', { id, lines }),
  decideQuote: (id: string, quoteId: string, decision: QuoteDecisionKind) =>
    call<VisitStateView>('decide_quote', { id, quoteId, decision }),
  takePart: (id: string, take: TakePartForm) => call<VisitStateView>('take_part', { id, take }),
  returnUnused: (id: string, partId: string, quantity: number) =>
    call<VisitStateView>('return_unused', { id, partId, quantity }),
  returnOldPart: (id: string, partUseId: string) => call<VisitStateView>('return_old_part', { id, partUseId }),
  takePayment: (id: string, payment: PaymentForm) => call<PaymentResult>('take_payment', { id, payment }),
  invoiceLater: (id: string) => call<VisitStateView>('invoice_later', { id }),
  recordFeedback: (id: string, rating: number, comment: string, callbackAllowed: boolean) =>
    call<VisitStateView>('record_feedback', { id, rating, comment, callbackAllowed }),
  expenses: (day: string | null) => call<ExpensesDayView>('expenses', { day }),
  recordExpense: (form: ExpenseForm) => call<ExpensesDayView>('record_expense', { form }),
  setExpenseRates: (rates: ExpenseRatesView, day: string | null) =>
    call<ExpensesDayView>('set_expense_rates', { rates, day }),
  vanStock: () => call<VanPartView[]>('van_stock'),
  stockTake: (counts: StockCountForm[]) => call<StockTakeResult>('stock_take', { counts }),
  syncStatus: () => call<SyncView>('sync_status'),
  syncNow: () => call<SyncView>('sync_now'),
  enrolDevice: (form: EnrolForm, setAsideConfirmed = false) =>
    call<SyncView>('enrol_device', { form, setAsideConfirmed }),
  dayEndCheck: () => call<DayEndCheck>('day_end_check'),
  dismissUnsentFile: (sha256: string, opId: string) =>
    call<SyncView>('dismiss_unsent_file', { sha256, opId }),
  sendWithoutFile: (opId: string, reason: string) =>
    call<SyncView>('send_without_file', { opId, reason }),
  // The key that opens the technician's data (issue 11). A PIN only ever goes in.
  systemLocale: () => call<string>('system_locale'),
  keyState: () => call<KeyState>('key_state'),
  setPin: (pin: string) => call<KeyState>('set_pin', { pin }),
  unlock: (pin: string) => call<KeyState>('unlock', { pin }),
  forgottenPin: () => call<ForgottenPin>('forgotten_pin'),
  eraseForgotten: (confirm: string) => call<KeyState>('erase_forgotten', { confirm }),
  setDataAside: () => call<DataSetAside>('set_data_aside'),
};
