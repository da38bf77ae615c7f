import { describe, expect, it } from 'vitest';
import type { ForgottenPin, KeyProblem } from './bindings';
import { dictionaries } from './i18n.svelte';
import {
  countdown,
  eraseConfirmed,
  forgotSummary,
  isWrongOrWait,
  pinChars,
  pinRules,
  asideSummary,
  maySetAside,
  problemKeys,
  secondsLeft,
} from './unlock';

describe('pinRules', () => {
  it('needs six characters and the same twice', () => {
    expect(pinRules('', '')).toEqual({ longEnough: false, notTooLong: true, matches: false, valid: false });
    expect(pinRules('12345', '12345').valid).toBe(false);
    expect(pinRules('123456', '12345').valid).toBe(false);
    expect(pinRules('123456', '123456')).toEqual({ longEnough: true, notTooLong: true, matches: true, valid: true });
  });

  it('takes passphrases, spaces included, and counts characters as Rust does', () => {
    expect(pinRules('blue van', 'blue van').valid).toBe(true);
    expect(pinRules('蓝色货车去', '蓝色货车去').longEnough).toBe(false);
    expect(pinRules('蓝色货车去了', '蓝色货车去了').valid).toBe(true);
    // Three emoji are six UTF-16 units but three characters.
    expect(pinChars('🔑🔑🔑')).toBe(3);
    expect(pinRules('🔑🔑🔑', '🔑🔑🔑').longEnough).toBe(false);
    expect(pinRules('123456 ', '123456').matches).toBe(false);
  });

  it('refuses more than 128 characters', () => {
    const max = 'x'.repeat(128);
    expect(pinRules(max, max).valid).toBe(true);
    expect(pinRules(max + 'x', max + 'x')).toMatchObject({ notTooLong: false, valid: false });
  });
});

describe('countdown', () => {
  it.each([
    [0, '0:00'],
    [5, '0:05'],
    [29, '0:29'],
    [60, '1:00'],
    [65, '1:05'],
    [600, '10:00'],
    [3725, '1:02:05'],
    [-3, '0:00'],
    [Number.NaN, '0:00'],
  ])('%s s → %s', (s, want) => expect(countdown(s)).toBe(want));

  it('rounds what is left up to whole seconds and never goes below zero', () => {
    expect(secondsLeft(30_000, 0)).toBe(30);
    expect(secondsLeft(30_000, 1)).toBe(30);
    expect(secondsLeft(30_000, 29_001)).toBe(1);
    expect(secondsLeft(30_000, 30_000)).toBe(0);
    expect(secondsLeft(30_000, 40_000)).toBe(0);
  });
});

describe('errors and confirmation', () => {
  it('asks key_state after a wrong PIN or a wait, not after other errors', () => {
    expect(isWrongOrWait({ code: 'pin_wrong', message: '', file: null })).toBe(true);
    expect(isWrongOrWait({ code: 'pin_wait', message: '', file: null })).toBe(true);
    expect(isWrongOrWait({ code: 'key_unavailable', message: '', file: null })).toBe(false);
  });

  it('erases only after the word ERASE', () => {
    expect(eraseConfirmed('')).toBe(false);
    expect(eraseConfirmed('erase')).toBe(false);
    expect(eraseConfirmed('ERAS')).toBe(false);
    expect(eraseConfirmed('ERASE')).toBe(true);
    expect(eraseConfirmed(' ERASE ')).toBe(true);
  });
});

describe('forgotSummary', () => {
  const when = (iso: string) => `@${iso}`;
  const base: ForgottenPin = { unsent_changes: 0, unsent_files: 0, counted_at: '2026-12-06T08:00:00Z', enrolled: true };

  it('names the counts not sent and when they were counted', () => {
    const s = forgotSummary({ ...base, unsent_changes: 4, unsent_files: 2 }, when);
    expect(s.kind).toBe('unsent');
    expect(s.params).toEqual({ changes: 4, files: 2, at: '@2026-12-06T08:00:00Z' });
    expect(forgotSummary({ ...base, unsent_files: 1 }, when).kind).toBe('unsent');
  });

  it('says everything had reached head office only when counted so', () => {
    expect(forgotSummary(base, when)).toMatchObject({ kind: 'all_sent', params: { at: '@2026-12-06T08:00:00Z' } });
    expect(forgotSummary({ ...base, counted_at: null }, when).kind).toBe('never_counted');
  });

  it('a device never enrolled loses only the demo', () => {
    expect(forgotSummary({ ...base, enrolled: false, unsent_changes: 9 }, when).kind).toBe('demo_only');
  });

  it('every sentence exists in both languages with its placeholders', () => {
    for (const kind of ['unsent', 'all_sent', 'never_counted', 'demo_only']) {
      const key = `unlock.forgot.${kind}` as keyof typeof dictionaries.en;
      expect(dictionaries.en[key], key).toBeTruthy();
      expect(dictionaries['zh-CN'][key], key).toBeTruthy();
    }
    expect(dictionaries.en['unlock.forgot.unsent']).toMatch(/\{changes\}.*\{files\}.*\{at\}/);
  });
});

describe('problemKeys', () => {
  it('has a heading and a text for every problem, and a general pair for unknown ones', () => {
    const problems = {
      credential_store_unavailable: 1,
      key_missing: 1,
      key_damaged: 1,
      data_from_another_device: 1,
    } satisfies Record<KeyProblem, 1>;
    for (const p of Object.keys(problems)) {
      const k = problemKeys(p);
      expect(k.heading).toBe(`unlock.problem.${p}.heading`);
      expect(dictionaries.en[k.heading]).toBeTruthy();
      expect(dictionaries['zh-CN'][k.text]).toBeTruthy();
    }
    expect(problemKeys('martian')).toEqual({ heading: 'unlock.problem.other.heading', text: 'unlock.problem.other.text' });
  });
});

describe('maySetAside', () => {
  it('is offered where the key cannot be had, not where the keyring only needs unlocking', () => {
    expect(maySetAside('key_missing')).toBe(true);
    expect(maySetAside('key_damaged')).toBe(true);
    expect(maySetAside('data_from_another_device')).toBe(true);
    expect(maySetAside('credential_store_unavailable')).toBe(false);
    expect(maySetAside('unknown')).toBe(false);
    expect(maySetAside('something_newer')).toBe(false);
  });
});

describe('asideSummary', () => {
  it('counts as the forgotten PIN does but says nothing is lost', () => {
    const when = (iso: string) => iso.slice(0, 10);
    const unsent = asideSummary({ unsent_changes: 2, unsent_files: 1, counted_at: '2026-12-05T10:00:00Z', enrolled: true }, when);
    expect(unsent).toEqual({ kind: 'unsent', key: 'unlock.aside.unsent', params: { changes: 2, files: 1, at: '2026-12-05' } });
    expect(dictionaries.en[unsent.key]).not.toContain('lose');
    expect(asideSummary({ unsent_changes: 0, unsent_files: 0, counted_at: null, enrolled: false }, when).key).toBe(
      'unlock.aside.demo_only',
    );
    for (const lang of ['en', 'zh-CN'] as const) {
      for (const k of ['demo_only', 'never_counted', 'all_sent', 'unsent']) {
        expect(dictionaries[lang][`unlock.aside.${k}` as keyof typeof dictionaries.en]).toBeTruthy();
      }
    }
  });
});
