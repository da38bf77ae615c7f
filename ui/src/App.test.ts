import { flushSync, mount, unmount } from 'svelte';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { AppInfo, TodayView } from './lib/bindings';
import { i18n } from './lib/i18n.svelte';

const api = vi.hoisted(() => ({
  keyState: vi.fn(),
  systemLocale: vi.fn(),
  unlock: vi.fn(),
  appInfo: vi.fn(),
  syncStatus: vi.fn(),
  today: vi.fn(),
  uiReady: vi.fn(),
  dayEndCheck: vi.fn(),
  search: vi.fn(),
}));
vi.mock('./lib/api', () => ({ api, asIpcError: (e: unknown) => e }));

import App from './App.svelte';

const info = { version: '0.1.0', data_file: '/d/onsite.db', system_locale: 'en-US', settings: { locale: 'en' } } as unknown as AppInfo;
const todayView = { technician_name: 'Li', date: '2026-12-06', items: [], overdue_carry_backs: [] } as unknown as TodayView;

let app: Record<string, unknown> | undefined;
beforeEach(() => {
  vi.clearAllMocks();
  api.appInfo.mockResolvedValue(info);
  api.systemLocale.mockResolvedValue('en-US');
  api.syncStatus.mockResolvedValue(null);
  api.today.mockResolvedValue(todayView);
  api.uiReady.mockResolvedValue(undefined);
});
afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = '';
  i18n.locale = 'en';
});
const settle = async () => {
  for (let i = 0; i < 8; i++) await new Promise((r) => setTimeout(r, 0));
  flushSync();
};
const q = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

it('while the data is locked shows only the unlock screen, asks for nothing else, then opens the app', async () => {
  api.keyState.mockResolvedValueOnce({ state: 'enter_pin', wrong_tries: 0, wait_seconds: 0 });
  app = mount(App, { target: document.body });
  await settle();
  expect(q('unlock-screen')).not.toBeNull();
  expect(q('nav-today')).toBeNull();
  expect(q('fatal-error')).toBeNull();
  expect(api.appInfo).not.toHaveBeenCalled();
  expect(api.syncStatus).not.toHaveBeenCalled();

  const pin = q('pin') as HTMLInputElement;
  pin.value = '123456';
  pin.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
  api.unlock.mockResolvedValueOnce({ state: 'open', method: 'pin' });
  api.keyState.mockResolvedValueOnce({ state: 'open', method: 'pin' });
  (q('pin-unlock') as HTMLButtonElement).click();
  await settle();
  expect(q('unlock-screen')).toBeNull();
  expect(q('nav-today')).not.toBeNull();
  expect(api.appInfo).toHaveBeenCalledTimes(1);
  expect(api.syncStatus).toHaveBeenCalledTimes(1);
});

it('an open key starts the app as before', async () => {
  api.keyState.mockResolvedValueOnce({ state: 'open', method: 'credential_store' });
  app = mount(App, { target: document.body });
  await settle();
  expect(q('unlock-screen')).toBeNull();
  expect(q('nav-today')).not.toBeNull();
  expect(api.syncStatus).toHaveBeenCalledTimes(1);
});

it('a backend without key_state starts the app as before', async () => {
  api.keyState.mockRejectedValueOnce({ code: 'internal', message: 'command key_state not found', file: null });
  app = mount(App, { target: document.body });
  await settle();
  expect(q('unlock-screen')).toBeNull();
  expect(q('fatal-error')).toBeNull();
  expect(q('nav-today')).not.toBeNull();
  expect(api.appInfo).toHaveBeenCalledTimes(1);
  expect(api.syncStatus).toHaveBeenCalledTimes(1);
});

it('the unlock screens speak the language last used with the data open', async () => {
  localStorage.setItem('onsite.locale', 'zh-CN');
  api.keyState.mockResolvedValueOnce({ state: 'set_pin' });
  app = mount(App, { target: document.body });
  await settle();
  expect(q('set-pin-save')!.textContent).toBe('保存PIN码');
  localStorage.removeItem('onsite.locale');
});

it('at first start the unlock screens speak the system language, asked of the system', async () => {
  // The webview says en-US (its fallback where zh_CN is not installed); the system says zh-CN.
  localStorage.removeItem('onsite.locale');
  api.systemLocale.mockResolvedValueOnce('zh-CN');
  api.keyState.mockResolvedValueOnce({ state: 'set_pin' });
  app = mount(App, { target: document.body });
  await settle();
  expect(q('set-pin-save')!.textContent).toBe('保存PIN码');
});
