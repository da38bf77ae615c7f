import { beforeEach, describe, expect, it } from 'vitest';
import type { DayEndCheck, SyncView, UnsentFileView } from './bindings';
import { setLocale } from './i18n.svelte';
import { badge, dayEndWarning, opLabel, progressText, unsentLine } from './sync';

const check = (over: Partial<DayEndCheck>): DayEndCheck => ({
  enrolled: true,
  unsent_ops: 0,
  unsent_files: 0,
  rejected_ops: 0,
  last_success_at: '2026-11-24T09:00:00Z',
  ...over,
});

describe('day-end check', () => {
  beforeEach(() => setLocale('en'));

  it('says nothing when everything was sent', () => {
    expect(dayEndWarning(check({}))).toBeNull();
  });

  it('warns about refused records: head office has not taken them', () => {
    const lines = dayEndWarning(check({ rejected_ops: 2 }))!;
    expect(lines[0]).toContain('2 records were refused');
    expect(lines[1]).toMatch(/^Last successful sync: /);
  });

  it('warns with the counts when records or files are unsent', () => {
    const lines = dayEndWarning(check({ unsent_ops: 3, unsent_files: 1, rejected_ops: 2 }))!;
    expect(lines[0]).toBe('3 records and 1 files recorded on this device have not been sent yet.');
    expect(lines[1]).toContain('2 records were refused');
    expect(lines[2]).toMatch(/^Last successful sync: /);
    expect(dayEndWarning(check({ unsent_files: 1 }))).not.toBeNull();
  });

  it('warns that nothing is sent on a device that is not connected', () => {
    expect(dayEndWarning(check({ enrolled: false }))).toEqual([
      'This device is not connected to head office, so nothing recorded here has been sent.',
    ]);
  });

  it('speaks Chinese too', () => {
    setLocale('zh-CN');
    expect(dayEndWarning(check({ unsent_ops: 2, last_success_at: null }))![0]).toBe(
      '本设备上有 2 条记录和 0 个文件尚未发送。',
    );
    expect(dayEndWarning(check({ unsent_ops: 2, last_success_at: null }))![1]).toContain('从未');
  });
});

describe('sync screen', () => {
  beforeEach(() => setLocale('en'));

  it('describes each phase of a run with its counts', () => {
    const p = { pending_at_start: 12, blobs_uploaded: 2, ops_sent: 5, pages_pulled: 1, changes_received: 7 };
    expect(progressText({ ...p, phase: 'starting' })).toBe('Connecting to head office…');
    expect(progressText({ ...p, phase: 'uploading' })).toContain('(2)');
    expect(progressText({ ...p, phase: 'pushing' })).toBe('Sending records (5 of 12)…');
    expect(progressText({ ...p, phase: 'pulling' })).toBe('Receiving updates (7)…');
  });

  it('names record kinds, unknown ones as they are', () => {
    expect(opLabel('TakePayment')).toBe('Payment');
    expect(opLabel('SomethingNew')).toBe('SomethingNew');
  });

  it('badges pending and refused records only when enrolled', () => {
    const v = { enrolled: true, pending: [{}, {}], rejected: [{}] } as unknown as SyncView;
    expect(badge(v)).toBe('3');
    expect(badge({ ...v, enrolled: false })).toBe('');
    expect(badge({ ...v, pending: [], rejected: [] })).toBe('');
    expect(badge(null)).toBe('');
  });
});

describe('files that could not be sent', () => {
  const lost: UnsentFileView = {
    sha256: 'ab'.repeat(32),
    op_id: 'op-1',
    kind: 'photo',
    why: 'missing',
    work_order_id: 'wo-1',
    order_no: 'WO-20261124-002',
    first_at: '2026-11-24T09:00:00Z',
    last_at: '2026-11-24T10:00:00Z',
  };

  it('say what, which job and why, in the user\'s language', () => {
    setLocale('en');
    const line = unsentLine(lost);
    expect(line).toMatch(/^Photo · WO-20261124-002 · no longer on this device · first noticed /);
    expect(unsentLine({ ...lost, why: 'too_large', order_no: null })).toContain(
      '(no job) · larger than head office accepts',
    );
    setLocale('zh-CN');
    expect(unsentLine(lost)).toMatch(/^照片 · WO-20261124-002 · 本机上已找不到 · 首次发现于 /);
    expect(unsentLine({ ...lost, kind: 'signature', why: 'damaged' })).toContain('签名');
  });
});

describe('records waiting to be sent', () => {
  it('says why in the user language and offers to send without a lost file', async () => {
    const { waitingText, canSendWithoutFile } = await import('./sync');
    setLocale('en');
    expect(waitingText('file_damaged')).toContain('damaged');
    expect(waitingText('held')).toContain('once head office is updated');
    expect(waitingText('something new')).toBe(waitingText('unreadable'));
    expect(canSendWithoutFile('file_missing')).toBe(true);
    expect(canSendWithoutFile('behind')).toBe(false);
    setLocale('zh-CN');
    expect(waitingText('file_missing')).toContain('不附文件');
  });
});
