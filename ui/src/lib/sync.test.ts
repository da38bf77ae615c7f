import { beforeEach, describe, expect, it } from 'vitest';
import type { DayEndCheck, IpcError, SyncView, UnsentFileView } from './bindings';
import { setLocale } from './i18n.svelte';
import {
  badge,
  connectionText,
  dayEndWarning,
  demoInProgressQuestion,
  enrolErrorText,
  isDemoInProgress,
  opLabel,
  progressText,
  reach,
  unsentLine,
} from './sync';

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

describe('what the sync screen says about head office', () => {
  // Local times, so the expected HH:MM holds in any time zone.
  const at = (h: number, m: number, day = 29) => new Date(2026, 10, day, h, m).toISOString();
  const now = new Date(2026, 10, 29, 15, 0);
  const view = (over: Partial<SyncView>): SyncView =>
    ({
      enrolled: true,
      server_url: 'https://hq.example.com',
      technician_name: '李明',
      health: 'ok',
      last_success_at: null,
      last_attempt_at: null,
      last_error_code: null,
      ...over,
    }) as SyncView;

  beforeEach(() => setLocale('en'));

  it('says connected only when the last attempt reached head office', () => {
    const ok = view({ last_success_at: at(9, 5), last_attempt_at: at(9, 5) });
    expect(reach(ok)).toBe('ok');
    expect(connectionText(ok, now)).toBe('Connected to https://hq.example.com as 李明. Head office answered at 09:05.');

    const down = view({ health: 'retrying', last_success_at: at(9, 5), last_attempt_at: at(14, 30), last_error_code: 'sync_offline' });
    expect(reach(down)).toBe('unreachable');
    const text = connectionText(down, now);
    expect(text).toBe('Head office at https://hq.example.com cannot be reached: no answer since 09:05. Signed in as 李明.');
    expect(text).not.toMatch(/connected/i);
  });

  it('treats a failure whose code was lost (a restart) as unreachable, and tells never-reached apart', () => {
    const restarted = view({ last_success_at: null, last_attempt_at: at(14, 30), last_error_code: null });
    expect(reach(restarted)).toBe('unreachable');
    expect(connectionText(restarted, now)).toBe(
      'Head office at https://hq.example.com has not been reached yet (last try 14:30). Signed in as 李明.',
    );
  });

  it('says when head office answered with an error rather than not at all', () => {
    const failing = view({ last_success_at: at(9, 5), last_attempt_at: at(14, 30), last_error_code: 'sync_server_error' });
    expect(reach(failing)).toBe('failing');
    expect(connectionText(failing, now)).toContain('answered the last sync (14:30) with an error');
  });

  it('says when nothing was tried yet, and dates times of other days', () => {
    expect(reach(view({}))).toBe('never');
    expect(connectionText(view({}), now)).toBe('Set up for head office at https://hq.example.com as 李明. No sync has run yet.');
    const old = view({ last_success_at: at(9, 5, 27), last_attempt_at: at(14, 30), last_error_code: 'sync_offline' });
    expect(connectionText(old, now)).toMatch(/no answer since .*2026.* 09:05\./);
  });

  it('speaks Chinese without claiming a connection', () => {
    setLocale('zh-CN');
    const down = view({ last_success_at: at(9, 5), last_attempt_at: at(14, 30), last_error_code: 'sync_offline' });
    expect(connectionText(down, now)).toBe('无法连接总部 https://hq.example.com：自 09:05 起没有应答。技师：李明。');
    expect(connectionText(down, now)).not.toContain('已连接');
  });
});

describe('enrolment errors', () => {
  beforeEach(() => setLocale('en'));
  const err = (code: string, message = ''): IpcError => ({ code, message, file: null }) as unknown as IpcError;

  it('an address that does not answer says to check it, and promises no retry', () => {
    for (const code of ['enrol_unreachable', 'sync_offline']) {
      const text = enrolErrorText(err(code));
      expect(text).toContain('Check the head-office address');
      expect(text).not.toMatch(/tries again|retry/i);
    }
    expect(enrolErrorText(err('sync_code_refused'))).toContain('did not accept this code');
  });

  it('asks before setting aside demo jobs in progress, with their number when given', () => {
    expect(isDemoInProgress(err('demo_in_progress'))).toBe(true);
    expect(isDemoInProgress(err('sync_offline'))).toBe(false);
    expect(demoInProgressQuestion(err('demo_in_progress', '3 demo jobs are in progress'))).toBe(
      'Jobs in progress on the demo: 3. Connecting sets the demo data aside in a file. Connect anyway?',
    );
    expect(demoInProgressQuestion(err('demo_in_progress', ''))).toMatch(/^Jobs on the demo are in progress/);
    setLocale('zh-CN');
    expect(demoInProgressQuestion(err('demo_in_progress', '2'))).toContain('有 2 张工单正在进行');
  });
});
