import { flushSync, mount, unmount } from 'svelte';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { SyncView } from '../lib/bindings';
import { i18n } from '../lib/i18n.svelte';

const api = vi.hoisted(() => ({
  syncStatus: vi.fn(),
  enrolDevice: vi.fn(),
  syncNow: vi.fn(),
}));
vi.mock('../lib/api', () => ({ api, asIpcError: (e: unknown) => e }));

import Sync from './Sync.svelte';

const notEnrolled = {
  enrolled: false,
  health: 'not_enrolled',
  server_url: null,
  technician_name: null,
  certificate: null,
  running: null,
  last_success_at: null,
  last_attempt_at: null,
  last_error: null,
  last_error_code: null,
  next_attempt_at: null,
  last_run: null,
  pending: [],
  unsent_files: 0,
  unsent: [],
  rejected: [],
  review: [],
  erased_at: null,
  erased_unsent: 0,
} as unknown as SyncView;
const enrolled = { ...notEnrolled, enrolled: true, health: 'ok', server_url: 'https://hq', technician_name: '李明' } as SyncView;

let app: Record<string, unknown> | undefined;
beforeEach(() => {
  vi.clearAllMocks();
  api.syncStatus.mockResolvedValue(notEnrolled);
});
afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = '';
  i18n.locale = 'en';
});

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  flushSync();
};
const q = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
function fill(id: string, value: string) {
  const el = q(id) as HTMLInputElement;
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

async function submitEnrolment() {
  app = mount(Sync, { target: document.body, props: { onBack: () => {}, onChange: () => {} } });
  await settle();
  fill('enrol-url', 'https://hq.example.com');
  fill('enrol-code', 'ABCD-1234');
  flushSync();
  q('enrol-form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
  await settle();
}

it('asks before setting aside demo jobs in progress, and enrols with the confirmation', async () => {
  api.enrolDevice
    .mockRejectedValueOnce({ code: 'demo_in_progress', message: '2 demo jobs in progress', file: null })
    .mockResolvedValueOnce(enrolled);
  await submitEnrolment();
  expect(api.enrolDevice).toHaveBeenLastCalledWith(expect.objectContaining({ code: 'ABCD-1234' }), false);
  expect(q('enrol-demo-confirm')!.textContent).toContain('Jobs in progress on the demo: 2.');
  expect(q('enrol-submit')).toBeNull();
  expect(q('sync-error')).toBeNull();
  q('enrol-demo-anyway')!.click();
  await settle();
  expect(api.enrolDevice).toHaveBeenCalledTimes(2);
  expect(api.enrolDevice).toHaveBeenLastCalledWith(expect.objectContaining({ code: 'ABCD-1234' }), true);
  expect(q('sync-reach')).not.toBeNull();
});

it('cancel keeps the demo and the form', async () => {
  api.enrolDevice.mockRejectedValueOnce({ code: 'demo_in_progress', message: '', file: null });
  await submitEnrolment();
  q('enrol-demo-cancel')!.click();
  flushSync();
  expect(q('enrol-demo-confirm')).toBeNull();
  expect(q('enrol-submit')).not.toBeNull();
  expect(api.enrolDevice).toHaveBeenCalledTimes(1);
});

it('an address that does not answer says to check it, without promising a retry', async () => {
  api.enrolDevice.mockRejectedValueOnce({ code: 'enrol_unreachable', message: 'connect timeout', file: null });
  await submitEnrolment();
  const text = q('sync-error')!.textContent!;
  expect(text).toContain('Check the head-office address');
  expect(text).not.toMatch(/tries again/);
});

it('says plainly that head office marked the device lost and its customer data was erased', async () => {
  const erased = {
    ...enrolled,
    health: 'needs_enrolment',
    last_error_code: 'sync_device_revoked',
    erased_at: '2026-12-06T08:00:00Z',
    erased_unsent: 2,
  } as SyncView;
  api.syncStatus.mockResolvedValue(erased);
  app = mount(Sync, { target: document.body, props: { onBack: () => {}, onChange: () => {} } });
  await settle();
  const notice = q('sync-erased')!;
  expect(notice.getAttribute('role')).toBe('alert');
  expect(notice.textContent).toContain('Head office marked this device lost');
  expect(notice.textContent).toContain('customer data');
  expect(q('sync-erased-unsent')!.textContent).toContain('2 records could not be sent');
  // The enrolment card does not promise that what was recorded here is kept.
  expect(q('enrol-intro')!.textContent).toContain('fetches its jobs afresh');
  expect(q('enrol-intro')!.textContent).not.toContain('kept');
  unmount(app);
  i18n.locale = 'zh-CN';
  app = mount(Sync, { target: document.body, props: { onBack: () => {}, onChange: () => {} } });
  await settle();
  expect(q('sync-erased')!.textContent).toContain('总部已将此设备标记为丢失');
});

it('shows no erase notice on a device that was not lost', async () => {
  api.syncStatus.mockResolvedValue(enrolled);
  app = mount(Sync, { target: document.body, props: { onBack: () => {}, onChange: () => {} } });
  await settle();
  expect(q('sync-erased')).toBeNull();
});
