// What the unlock screens say and allow (issue 11), as pure functions of the Rust views.
// The constants mirror crates/onsite-domain/src/view_keys.rs.
import type { ForgottenPin, IpcError, KeyProblem } from './bindings';
import type { Key } from './i18n.svelte';

/** The least a PIN or passphrase may be (PIN_MIN_CHARS). */
export const PIN_MIN_CHARS = 6;
/** The most (PIN_MAX_CHARS). */
export const PIN_MAX_CHARS = 128;
/** The word typed to confirm erasing the data after a forgotten PIN (ERASE_CONFIRM_WORD). */
export const ERASE_CONFIRM_WORD = 'ERASE';

/** Characters as Rust counts them (Unicode scalar values, not UTF-16 units). */
export function pinChars(pin: string): number {
  return [...pin].length;
}

export type PinRules = {
  /** At least PIN_MIN_CHARS characters. */
  longEnough: boolean;
  /** At most PIN_MAX_CHARS characters. */
  notTooLong: boolean;
  /** The repeat is the same (and something was typed). */
  matches: boolean;
  /** All of the above: Save may be pressed. */
  valid: boolean;
};

/** The live rules under the Set a PIN fields. Nothing is trimmed: a space is a character. */
export function pinRules(pin: string, repeat: string): PinRules {
  const n = pinChars(pin);
  const longEnough = n >= PIN_MIN_CHARS;
  const notTooLong = n <= PIN_MAX_CHARS;
  const matches = pin.length > 0 && pin === repeat;
  return { longEnough, notTooLong, matches, valid: longEnough && notTooLong && matches };
}

/** Whole seconds left until `until` (ms since the epoch) at `now`, never below zero. */
export function secondsLeft(until: number, now: number): number {
  return Math.max(0, Math.ceil((until - now) / 1000));
}

/** A wait as a clock: 29 → "0:29", 65 → "1:05", 3725 → "1:02:05". */
export function countdown(seconds: number): string {
  const s = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const pad = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(rest)}` : `${m}:${pad(rest)}`;
}

/** Whether an unlock error means "ask key_state for the tries and the wait". */
export function isWrongOrWait(e: IpcError): boolean {
  return e.code === 'pin_wrong' || e.code === 'pin_wait';
}

/** Whether the typed word confirms the erase (spaces around it forgiven, case not). */
export function eraseConfirmed(typed: string): boolean {
  return typed.trim() === ERASE_CONFIRM_WORD;
}

/** Which sentence says what a forgotten PIN costs, with its numbers. */
export type ForgotSummary =
  | { kind: 'demo_only'; key: Key; params: Record<string, string | number> }
  | { kind: 'never_counted'; key: Key; params: Record<string, string | number> }
  | { kind: 'all_sent'; key: Key; params: Record<string, string | number> }
  | { kind: 'unsent'; key: Key; params: Record<string, string | number> };

/**
 * What will be lost: only the demo (never enrolled); unknown (never counted, so nothing
 * is promised); nothing head office lacks (as of the count); or the counts not sent.
 * `when` formats the count's time in the user's language.
 */
export function forgotSummary(f: ForgottenPin, when: (iso: string) => string): ForgotSummary {
  if (!f.enrolled) return { kind: 'demo_only', key: 'unlock.forgot.demo_only', params: {} };
  if (!f.counted_at) return { kind: 'never_counted', key: 'unlock.forgot.never_counted', params: {} };
  const at = when(f.counted_at);
  const changes = f.unsent_changes ?? 0;
  const files = f.unsent_files ?? 0;
  if (changes === 0 && files === 0) return { kind: 'all_sent', key: 'unlock.forgot.all_sent', params: { at } };
  return { kind: 'unsent', key: 'unlock.forgot.unsent', params: { changes, files, at } };
}

/**
 * The same count said before setting data aside, where nothing is lost: what head office
 * lacks stays in the set-aside folder.
 */
export function asideSummary(f: ForgottenPin, when: (iso: string) => string): ForgotSummary {
  const said = forgotSummary(f, when);
  const keys: Record<ForgotSummary['kind'], Key> = {
    demo_only: 'unlock.aside.demo_only',
    never_counted: 'unlock.aside.never_counted',
    all_sent: 'unlock.aside.all_sent',
    unsent: 'unlock.aside.unsent',
  };
  return { ...said, key: keys[said.kind] };
}

/** The heading and the text for a key problem (an unknown one gets the general pair). */
export function problemKeys(p: KeyProblem | string): { heading: Key; text: Key } {
  switch (p) {
    case 'credential_store_unavailable':
    case 'key_missing':
    case 'key_damaged':
    case 'data_from_another_device':
      return { heading: `unlock.problem.${p}.heading`, text: `unlock.problem.${p}.text` };
    default:
      return { heading: 'unlock.problem.other.heading', text: 'unlock.problem.other.text' };
  }
}

/**
 * Whether a problem's screen offers "set this data aside and start again" (mirrors
 * KeyProblem::may_set_aside): not while the keyring merely does not answer (unlocking it
 * opens the data), nor for a problem this UI does not know.
 */
export function maySetAside(p: KeyProblem | string): boolean {
  return p === 'key_missing' || p === 'key_damaged' || p === 'data_from_another_device';
}

/** A time for the forgotten-PIN summary; a value that is no time is shown as it is. */
export function safeWhen(iso: string, format: (iso: string) => string): string {
  try {
    return Number.isNaN(new Date(iso).getTime()) ? iso : format(iso);
  } catch {
    return iso;
  }
}

const LOCALE_MEMORY = 'onsite.locale';

/**
 * The UI language last used with the data open, remembered outside it (only the language)
 * so the unlock screens speak it while the settings are locked away.
 */
export function rememberedLocale(): string | null {
  try {
    return globalThis.localStorage?.getItem(LOCALE_MEMORY) ?? null;
  } catch {
    return null;
  }
}

export function rememberLocale(locale: string): void {
  try {
    globalThis.localStorage?.setItem(LOCALE_MEMORY, locale);
  } catch {
    // No storage: the unlock screens follow the system language.
  }
}
