import { flushSync, mount, unmount } from 'svelte';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { DayEndCheck, SyncView, TodayView } from '../lib/bindings';
import { i18n } from '../lib/i18n.svelte';

const api = vi.hoisted(() => ({
  today: vi.fn(),
  uiReady: vi.fn(),
  dayEndCheck: vi.fn(),
  syncNow: vi.fn(),
  syncStatus: vi.fn(),
  createDayEnd: vi.fn(),
  search: vi.fn(),
  workOrder: vi.fn(),
}));
vi.mock('../lib/api', () => ({
  api,
  asIpcError: (e: unknown) => e,
}));

import Today from './Today.svelte';

const todayView = { technician_name: '李明', date: '2026-11-29', items: [], overdue_carry_backs: [] } as unknown as TodayView;
const check = (over: Partial<DayEndCheck>): DayEndCheck => ({
  enrolled: true,
  unsent_ops: 0,
  unsent_files: 0,
  rejected_ops: 0,
  last_success_at: null,
  ...over,
});
const synced = (ok: boolean) =>
  ({
    enrolled: true,
    last_success_at: ok ? '2026-11-29T09:00:00Z' : null,
    last_attempt_at: '2026-11-29T09:00:00Z',
    last_error_code: ok ? null : 'sync_offline',
    last_run: { ok },
    running: null,
  }) as unknown as SyncView;

let app: Record<string, unknown> | undefined;
const onSync = vi.fn();
beforeEach(() => {
  vi.clearAllMocks();
  api.today.mockResolvedValue(todayView);
  api.uiReady.mockResolvedValue(undefined);
  api.syncStatus.mockResolvedValue({ running: null });
  api.createDayEnd.mockResolvedValue({ sha256: 'ab'.repeat(32) });
});
afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = '';
  i18n.locale = 'en';
});

const tick = () => new Promise((r) => setTimeout(r, 0));
async function settle() {
  for (let i = 0; i < 5; i++) await tick();
  flushSync();
}
const q = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

async function openWarning() {
  app = mount(Today, { target: document.body, props: { onOpen: () => {}, onSync } });
  await settle();
  q('day-end')!.click();
  await settle();
  expect(q('day-end-unsent')).not.toBeNull();
}

it('"Sync now" in the day-end warning syncs in place and, once all is sent, closes the day', async () => {
  api.dayEndCheck.mockResolvedValueOnce(check({ unsent_ops: 3 })).mockResolvedValueOnce(check({}));
  api.syncNow.mockResolvedValue(synced(true));
  await openWarning();
  q('day-end-sync')!.click();
  await settle();
  expect(api.syncNow).toHaveBeenCalledTimes(1);
  expect(onSync).not.toHaveBeenCalled();
  expect(api.dayEndCheck).toHaveBeenCalledTimes(2);
  expect(q('day-end-unsent')).toBeNull();
  expect(q('day-end-sync-outcome')!.dataset.outcome).toBe('ok');
  expect(api.createDayEnd).toHaveBeenCalled();
  expect(q('day-end-doc')).not.toBeNull();
});

it('a sync that does not reach head office says so in the warning, refreshed', async () => {
  api.dayEndCheck.mockResolvedValueOnce(check({ unsent_ops: 3 })).mockResolvedValueOnce(check({ unsent_ops: 4 }));
  api.syncNow.mockResolvedValue(synced(false));
  await openWarning();
  q('day-end-sync')!.click();
  await settle();
  const warning = q('day-end-unsent')!.textContent!;
  expect(warning).toContain('4 records');
  expect(q('day-end-sync-outcome')!.dataset.outcome).toBe('failed');
  expect(q('day-end-open-sync')).not.toBeNull();
  expect(api.createDayEnd).not.toHaveBeenCalled();
});

it('a device that is not enrolled is sent to the sync screen to connect', async () => {
  api.dayEndCheck.mockResolvedValue(check({ enrolled: false }));
  await openWarning();
  q('day-end-sync')!.click();
  await settle();
  expect(onSync).toHaveBeenCalled();
  expect(api.syncNow).not.toHaveBeenCalled();
});

it('search results show the phone from the summary, with the typed digits marked', async () => {
  api.search.mockResolvedValue([
    {
      id: 'wo-1', order_no: 'WO-1', customer_name: '张志强', customer_phone: '13800138000', address: '北京',
      appliance_category: 'water_purifier',
      appliance_model: 'M', job_type: 'repair', status: 'assigned', lateness: 'on_time',
      appointment_start: '2026-11-29T01:00:00Z', appointment_end: '2026-11-29T02:00:00Z',
    },
  ]);
  app = mount(Today, { target: document.body, props: { onOpen: () => {}, onSync } });
  await settle();
  const input = q('search') as HTMLInputElement;
  input.value = '0013';
  input.dispatchEvent(new Event('input', { bubbles: true }));
  input.form!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
  await settle();
  const phone = q('customer-phone')!;
  expect(phone.textContent).toContain('13800138000');
  expect(phone.querySelector('mark')!.textContent).toBe('0013');
  // One search, no call per result.
  expect(api.workOrder).not.toHaveBeenCalled();
});
