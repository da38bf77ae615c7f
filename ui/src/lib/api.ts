// Typed calls to the Rust commands. Types come from ./bindings (generated from Rust).
import { invoke } from '@tauri-apps/api/core';
import type {
  AppInfo,
  DocumentView,
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
  setLocale: (locale: string | null) => call<Settings>('set_locale', { locale }),
  sign: (id: string, signerName: string, strokes: unknown, pngBase64: string) =>
    call<WorkOrderDetail>('sign_work_order', { id, signerName, strokes, pngBase64 }),
  createSignOff: (id: string, lang?: string) => call<DocumentView>('create_sign_off', { id, lang: lang ?? null }),
  openDocument: (sha256: string) => call<void>('open_document', { sha256 }),
  uiReady: () => call<void>('ui_ready'),
};
