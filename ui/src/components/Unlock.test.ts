import { flushSync, mount, unmount } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ForgottenPin, KeyProblem, KeyState } from '../lib/bindings';
import { i18n } from '../lib/i18n.svelte';

const api = vi.hoisted(() => ({
  keyState: vi.fn(),
  setPin: vi.fn(),
  unlock: vi.fn(),
  forgottenPin: vi.fn(),
  eraseForgotten: vi.fn(),
  setDataAside: vi.fn(),
}));
vi.mock('../lib/api', () => ({ api, asIpcError: (e: unknown) => e }));

import Unlock from './Unlock.svelte';

let app: Record<string, unknown> | undefined;
let onOpened: ReturnType<typeof vi.fn>;
beforeEach(() => {
  vi.clearAllMocks();
  onOpened = vi.fn();
});
afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = '';
  i18n.locale = 'en';
  vi.useRealTimers();
});

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  flushSync();
};
const q = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
const button = (id: string) => q(id) as HTMLButtonElement;
const input = (id: string) => q(id) as HTMLInputElement;
function fill(id: string, value: string) {
  const el = input(id);
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}
function submit(id: string) {
  q(id)!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
}
function open(state: KeyState) {
  app = mount(Unlock, { target: document.body, props: { state, onOpened } });
  flushSync();
}
const wrong = { code: 'pin_wrong', message: 'wrong', file: null };
const enter = (wrong_tries: number, wait_seconds: number): KeyState => ({ state: 'enter_pin', wrong_tries, wait_seconds });

describe('set a PIN', () => {
  it('says why, enables Save only when the rules hold, and saves with setPin', async () => {
    open({ state: 'set_pin' });
    expect(q('unlock-screen')!.dataset.state).toBe('set_pin');
    expect(q('set-pin-why')!.textContent).toContain('cannot recover');
    for (const id of ['set-pin', 'set-pin-repeat']) {
      expect(input(id).type).toBe('password');
      expect(input(id).getAttribute('autocomplete')).toBe('new-password');
      expect(input(id).getAttribute('inputmode')).toBe('text');
    }
    expect(button('set-pin-save').disabled).toBe(true);

    fill('set-pin', '12345');
    fill('set-pin-repeat', '12345');
    expect(q('set-pin-rule-length')!.dataset.ok).toBe('false');
    expect(q('set-pin-rule-match')!.dataset.ok).toBe('true');
    expect(button('set-pin-save').disabled).toBe(true);

    fill('set-pin', 'blue van 7');
    expect(q('set-pin-rule-length')!.dataset.ok).toBe('true');
    expect(q('set-pin-rule-match')!.dataset.ok).toBe('false');
    expect(button('set-pin-save').disabled).toBe(true);
    submit('set-pin-form'); // Enter while invalid does nothing
    await settle();
    expect(api.setPin).not.toHaveBeenCalled();

    fill('set-pin-repeat', 'blue van 7');
    expect(button('set-pin-save').disabled).toBe(false);

    button('set-pin-show').click();
    flushSync();
    expect(input('set-pin').type).toBe('text');
    expect(input('set-pin-repeat').type).toBe('text');

    api.setPin.mockResolvedValueOnce({ state: 'open', method: 'pin' });
    submit('set-pin-form'); // Enter submits
    await settle();
    expect(api.setPin).toHaveBeenCalledWith('blue van 7');
    expect(onOpened).toHaveBeenCalledTimes(1);
  });

  it('shows the error the backend gives', async () => {
    open({ state: 'set_pin' });
    fill('set-pin', '123456');
    fill('set-pin-repeat', '123456');
    api.setPin.mockRejectedValueOnce({ code: 'pin_too_short', message: '', file: null });
    button('set-pin-save').click();
    await settle();
    expect(q('set-pin-error')!.textContent).toContain('at least 6 characters');
    expect(onOpened).not.toHaveBeenCalled();
  });
});

describe('enter the PIN', () => {
  it('unlocks and hands over to the app', async () => {
    open(enter(0, 0));
    expect(input('pin').getAttribute('autocomplete')).toBe('current-password');
    expect(document.activeElement).toBe(input('pin'));
    expect(button('pin-unlock').disabled).toBe(true);
    fill('pin', '123456');
    api.unlock.mockResolvedValueOnce({ state: 'open', method: 'pin' });
    submit('pin-form');
    await settle();
    expect(api.unlock).toHaveBeenCalledWith('123456');
    expect(onOpened).toHaveBeenCalledTimes(1);
  });

  it('after a wrong PIN says so with the tries so far', async () => {
    open(enter(0, 0));
    fill('pin', '111111');
    api.unlock.mockRejectedValueOnce(wrong);
    api.keyState.mockResolvedValueOnce(enter(2, 0));
    button('pin-unlock').click();
    await settle();
    expect(api.keyState).toHaveBeenCalledTimes(1);
    expect(q('pin-error')!.textContent).toContain('That PIN is not right. Wrong tries so far: 2.');
    expect(input('pin').value).toBe('');
    expect(q('pin-wait')).toBeNull();
    expect(input('pin').disabled).toBe(false);
    expect(onOpened).not.toHaveBeenCalled();
  });

  it('still says the PIN was wrong when the count cannot be had', async () => {
    open(enter(0, 0));
    fill('pin', '111111');
    api.unlock.mockRejectedValueOnce(wrong);
    api.keyState.mockRejectedValueOnce({ code: 'internal', message: '', file: null });
    button('pin-unlock').click();
    await settle();
    expect(q('pin-error')!.textContent).toContain('That PIN is not right.');
  });

  it('during a wait disables the field and counts down to zero', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    open(enter(0, 0));
    fill('pin', '111111');
    api.unlock.mockRejectedValueOnce(wrong);
    api.keyState.mockResolvedValueOnce(enter(5, 30));
    button('pin-unlock').click();
    await settle();
    expect(q('pin-error')!.textContent).toContain('Wrong tries so far: 5.');
    expect(q('pin-wait')!.textContent).toContain('Try again in 0:30');
    expect(input('pin').disabled).toBe(true);
    expect(button('pin-unlock').disabled).toBe(true);

    vi.advanceTimersByTime(1000);
    flushSync();
    expect(q('pin-wait')!.textContent).toContain('Try again in 0:29');
    vi.advanceTimersByTime(28_000);
    flushSync();
    expect(q('pin-wait')!.textContent).toContain('Try again in 0:01');
    expect(input('pin').disabled).toBe(true);
    vi.advanceTimersByTime(1000);
    flushSync();
    expect(q('pin-wait')).toBeNull();
    expect(input('pin').disabled).toBe(false);
    fill('pin', '222222');
    expect(button('pin-unlock').disabled).toBe(false);
  });

  it('a wait kept across restarts counts down from the start, and the timer stops on destroy', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    open(enter(3, 65));
    expect(q('pin-tries')!.textContent).toContain('Wrong tries since the data was last opened: 3.');
    expect(q('pin-error')).toBeNull();
    expect(q('pin-wait')!.textContent).toContain('Try again in 1:05');
    expect(input('pin').disabled).toBe(true);
    expect(vi.getTimerCount()).toBe(1);
    unmount(app!);
    app = undefined;
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the pin_wait error also shows the countdown', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    open(enter(4, 0));
    fill('pin', '111111');
    api.unlock.mockRejectedValueOnce({ code: 'pin_wait', message: '', file: null });
    api.keyState.mockResolvedValueOnce(enter(4, 12));
    button('pin-unlock').click();
    await settle();
    expect(q('pin-wait')!.textContent).toContain('Try again in 0:12');
    expect(button('pin-unlock').disabled).toBe(true);
    expect(q('unlock-error')).toBeNull();
  });

  it('other errors are shown in words', async () => {
    open(enter(0, 0));
    fill('pin', '111111');
    api.unlock.mockRejectedValueOnce({ code: 'key_unavailable', message: '', file: null });
    button('pin-unlock').click();
    await settle();
    expect(q('unlock-error')!.dataset.code).toBe('key_unavailable');
    expect(q('unlock-error')!.textContent).toContain('Nothing has been deleted');
    expect(api.keyState).not.toHaveBeenCalled();
  });
});

describe('forgotten PIN', () => {
  const counted: ForgottenPin = { unsent_changes: 4, unsent_files: 2, counted_at: '2026-12-06T08:00:00Z', enrolled: true };

  async function openForgot(f: ForgottenPin) {
    api.forgottenPin.mockResolvedValueOnce(f);
    open(enter(1, 0));
    button('pin-forgot').click();
    await settle();
  }

  it('says what has not reached head office and erases only after ERASE', async () => {
    await openForgot(counted);
    expect(q('unlock-screen')!.dataset.state).toBe('forgot');
    const summary = q('forgot-summary')!.textContent!;
    expect(summary).toContain('4 changes and 2 photos, signatures or documents recorded on this computer have not reached head office');
    expect(summary).toContain('counted');
    expect(q('forgot-first')!.textContent).toContain('Ask head office');
    expect(button('forgot-erase').disabled).toBe(true);
    expect(button('forgot-erase').textContent).toContain("Erase this computer's data and start again");
    fill('forgot-confirm', 'erase');
    expect(button('forgot-erase').disabled).toBe(true);
    fill('forgot-confirm', 'ERASE');
    expect(button('forgot-erase').disabled).toBe(false);

    api.eraseForgotten.mockResolvedValueOnce({ state: 'set_pin' });
    button('forgot-erase').click();
    await settle();
    expect(api.eraseForgotten).toHaveBeenCalledWith('ERASE');
    expect(q('set-pin')).not.toBeNull();
    expect(q('unlock-screen')!.dataset.state).toBe('set_pin');
    expect(onOpened).not.toHaveBeenCalled();
  });

  it('after erasing, an open state starts the app', async () => {
    await openForgot(counted);
    fill('forgot-confirm', 'ERASE');
    api.eraseForgotten.mockResolvedValueOnce({ state: 'open', method: 'credential_store' });
    submit('forgot-form');
    await settle();
    expect(onOpened).toHaveBeenCalledTimes(1);
  });

  it('says when everything had reached head office, or only the demo is lost', async () => {
    await openForgot({ ...counted, unsent_changes: 0, unsent_files: 0 });
    expect(q('forgot-summary')!.textContent).toContain('Everything recorded on this computer had reached head office');
    unmount(app!);
    await openForgot({ ...counted, enrolled: false });
    expect(q('forgot-summary')!.textContent).toContain('only the demo data is lost');
  });

  it('says it in Chinese, and a failed erase is shown', async () => {
    i18n.locale = 'zh-CN';
    await openForgot(counted);
    expect(q('forgot-summary')!.textContent).toContain('此电脑上记录的 4 项更改和 2 个照片、签名或文件尚未送达总部');
    fill('forgot-confirm', 'ERASE');
    api.eraseForgotten.mockRejectedValueOnce({ code: 'internal', message: '', file: null });
    button('forgot-erase').click();
    await settle();
    expect(q('forgot-erase-error')!.dataset.code).toBe('internal');
    expect(q('forgot-screen')).not.toBeNull();
  });

  it('back returns to the PIN as key_state has it now (the wait still running)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    await openForgot(counted);
    expect(q('pin')).toBeNull();
    api.keyState.mockResolvedValueOnce(enter(3, 20));
    button('forgot-back').click();
    await settle();
    expect(api.keyState).toHaveBeenCalledTimes(1);
    expect(q('pin')).not.toBeNull();
    expect(q('pin-tries')!.textContent).toContain('3');
    expect(q('pin-wait')!.textContent).toContain('Try again in 0:20');
  });

  it('back still returns to the PIN when key_state fails', async () => {
    await openForgot(counted);
    api.keyState.mockRejectedValueOnce({ code: 'internal', message: '', file: null });
    button('forgot-back').click();
    await settle();
    expect(q('pin')).not.toBeNull();
  });

  it('a failed count still says what may be lost, and erasing stays possible', async () => {
    api.forgottenPin.mockRejectedValueOnce({ code: 'internal', message: '', file: null });
    open(enter(1, 0));
    button('pin-forgot').click();
    await settle();
    expect(q('forgot-error')).not.toBeNull();
    expect(q('forgot-summary')!.dataset.kind).toBe('never_counted');
    fill('forgot-confirm', 'ERASE');
    expect(button('forgot-erase').disabled).toBe(false);
    api.forgottenPin.mockResolvedValueOnce(counted);
    button('forgot-retry').click();
    await settle();
    expect(q('forgot-summary')!.dataset.kind).toBe('unsent');
  });
});

describe('key problems', () => {
  const cases: [KeyProblem, string][] = [
    ['credential_store_unavailable', 'Unlock the keyring'],
    ['key_missing', 'set this data aside'],
    ['key_damaged', 'damaged'],
    ['data_from_another_device', 'copied from another computer'],
  ];
  it.each(cases)('%s names what to do, and Try again asks again', async (problem, words) => {
    open({ state: 'problem', problem });
    expect(q('key-problem')!.dataset.problem).toBe(problem);
    expect(q('key-problem-text')!.textContent).toContain(words);
    expect(q('key-problem-heading')!.textContent!.length).toBeGreaterThan(0);
    api.keyState.mockResolvedValueOnce({ state: 'problem', problem });
    button('key-retry').click();
    await settle();
    expect(api.keyState).toHaveBeenCalledTimes(1);
    expect(q('key-retry-checked')).not.toBeNull();
    api.keyState.mockResolvedValueOnce({ state: 'open', method: 'credential_store' });
    button('key-retry').click();
    await settle();
    expect(onOpened).toHaveBeenCalledTimes(1);
  });

  it('offers setting the data aside only where the key is gone, and asks before moving it', async () => {
    open({ state: 'problem', problem: 'credential_store_unavailable' });
    expect(q('aside-offer')).toBeNull();
    unmount(app!);
    app = undefined;
    document.body.innerHTML = '';

    open({ state: 'problem', problem: 'key_missing' });
    api.forgottenPin.mockResolvedValueOnce({
      unsent_changes: 3,
      unsent_files: 1,
      counted_at: '2026-12-05T16:00:00Z',
      enrolled: true,
    } satisfies ForgottenPin);
    button('aside-offer').click();
    await settle();
    // Asked first: what has not reached head office, and nothing moved yet.
    expect(q('aside-ask')).not.toBeNull();
    expect(q('aside-summary')!.dataset.kind).toBe('unsent');
    expect(q('aside-summary')!.textContent).toContain('3 changes');
    expect(api.setDataAside).not.toHaveBeenCalled();
    // Cancel goes back with nothing done.
    button('aside-cancel').click();
    flushSync();
    expect(q('aside-ask')).toBeNull();
    expect(api.setDataAside).not.toHaveBeenCalled();

    // A refusal is shown and the screen stays.
    api.forgottenPin.mockResolvedValueOnce({ unsent_changes: 0, unsent_files: 0, counted_at: null, enrolled: true });
    button('aside-offer').click();
    await settle();
    expect(q('aside-summary')!.dataset.kind).toBe('never_counted');
    api.setDataAside.mockRejectedValueOnce({ code: 'db_io', message: 'cannot move', file: null });
    button('aside-confirm').click();
    await settle();
    expect(q('key-retry-error')!.dataset.code).toBe('db_io');
    expect(onOpened).not.toHaveBeenCalled();

    // Confirmed: where it went, then Continue opens the fresh data.
    api.setDataAside.mockResolvedValueOnce({
      folder: '/home/tech/.local/share/onsite/set-aside/2026-12-06T10-00-00Z',
      moved: 3,
      next: { state: 'open', method: 'credential_store' },
    });
    button('aside-confirm').click();
    await settle();
    expect(q('aside-folder')!.textContent).toContain('set-aside/2026-12-06T10-00-00Z');
    expect(onOpened).not.toHaveBeenCalled();
    button('aside-continue').click();
    flushSync();
    expect(onOpened).toHaveBeenCalledTimes(1);
  });

  it('Try again can lead to the PIN screen', async () => {
    open({ state: 'problem', problem: 'credential_store_unavailable' });
    api.keyState.mockResolvedValueOnce(enter(0, 0));
    button('key-retry').click();
    await settle();
    expect(q('pin')).not.toBeNull();
  });

  it('a state this UI does not know says the data cannot be opened, with Try again', () => {
    open({ state: 'sealed_by_martians' } as unknown as KeyState);
    expect(q('key-problem')!.dataset.problem).toBe('unknown');
    expect(q('key-problem-heading')!.textContent).toBe('Onsite cannot open its data');
    expect(q('key-retry')).not.toBeNull();
  });

  it('speaks Chinese', () => {
    i18n.locale = 'zh-CN';
    open({ state: 'problem', problem: 'key_missing' });
    expect(q('key-retry')!.textContent).toBe('重试');
  });
});
