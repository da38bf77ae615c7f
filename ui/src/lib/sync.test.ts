import { beforeEach, describe, expect, it } from 'vitest';
import type { DayEndCheck, SyncView } from './bindings';
import { setLocale } from './i18n.svelte';
import { badge, dayEndWarning, opLabel, progressText } from './sync';

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
