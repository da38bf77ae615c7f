// What the sync screen and the day-end check say, as pure functions of the Rust views.
import type { DayEndCheck, IpcError, SyncProgressView, SyncView, UnsentFileView } from './bindings';
import { errorText } from './errors';
import { dateTime, localDay, time } from './format';
import { i18n, label, t, type Key } from './i18n.svelte';

/** The line shown while a sync runs. */
export function progressText(p: SyncProgressView): string {
  switch (p.phase) {
    case 'starting':
      return t('sync.phase.starting');
    case 'uploading':
      return t('sync.phase.uploading', { files: p.blobs_uploaded });
    case 'pushing':
      return t('sync.phase.pushing', { sent: p.ops_sent, total: p.pending_at_start });
    case 'pulling':
      return t('sync.phase.pulling', { changes: p.changes_received });
  }
}

/** A kind of outbox record, in the user's language (unknown kinds as they are). */
export function opLabel(kind: string): string {
  return label('op', kind);
}

/** One file that could not be sent, for the sync screen: what, which job, why, since when. */
export function unsentLine(u: UnsentFileView): string {
  return t('sync.unsent.line', {
    kind: t(`sync.unsent.kind.${u.kind}`),
    job: u.order_no ?? t('sync.no_order'),
    why: t(`sync.unsent.why.${u.why}`),
    when: dateTime(u.first_at, i18n.locale),
  });
}

/** Records waiting to go, for the navigation badge ('' when none or not enrolled). */
export function badge(v: SyncView | null): string {
  if (!v || !v.enrolled) return '';
  const n = v.pending.length + v.rejected.length;
  return n > 0 ? String(n) : '';
}

/**
 * What to warn about before the day is closed, one sentence per line; null when
 * everything recorded here has reached head office.
 */
/** Why a record waits to be sent, in the user's language (codes from the sync engine). */
export function waitingText(code: string): string {
  const known = ['behind', 'file_missing', 'file_damaged', 'file_too_large', 'too_large', 'unreadable', 'held'];
  return known.includes(code) ? t(`sync.waiting.${code}` as Key) : t('sync.waiting.unreadable');
}

/** A record waiting on its file can be sent without it, with a reason. */
export function canSendWithoutFile(code: string): boolean {
  return code === 'file_missing' || code === 'file_damaged' || code === 'file_too_large';
}

export function dayEndWarning(c: DayEndCheck): string[] | null {
  if (!c.enrolled) return [t('dayend.check.not_enrolled')];
  const lines: string[] = [];
  if (c.unsent_ops > 0 || c.unsent_files > 0) {
    lines.push(t('dayend.check.unsent', { ops: c.unsent_ops, files: c.unsent_files }));
  }
  // Refused records count too: head office keeps a copy but has not taken them (issue 9).
  if (c.rejected_ops > 0) lines.push(t('dayend.check.rejected', { count: c.rejected_ops }));
  if (lines.length === 0) return null;
  lines.push(
    t('dayend.check.last_success', {
      when: c.last_success_at ? dateTime(c.last_success_at, i18n.locale) : t('sync.never'),
    }),
  );
  return lines;
}

/** How the last attempt to reach head office went. */
export type Reach = 'never' | 'ok' | 'unreachable' | 'failing';

/**
 * The outcome of the last sync attempt: a success stamps both times alike, a failure only
 * the attempt. A failure is "unreachable" when the network failed (or the code is not
 * known any more, after a restart), "failing" when head office answered with an error.
 */
export function reach(v: SyncView): Reach {
  if (v.last_attempt_at === null) return v.last_success_at === null ? 'never' : 'ok';
  if (v.last_success_at !== null && Date.parse(v.last_success_at) >= Date.parse(v.last_attempt_at)) return 'ok';
  const code = v.last_error_code;
  return code === null || code === 'sync_offline' ? 'unreachable' : 'failing';
}

/** A time of the day when it is today, else with its date. */
function when(iso: string, now: Date): string {
  return localDay(iso) === localDay(now.toISOString()) ? time(iso, i18n.locale) : dateTime(iso, i18n.locale);
}

/**
 * The sync screen's first line: to which head office, as whom, and whether it answered the
 * last time Onsite tried. Never "connected" while the last attempt failed.
 */
export function connectionText(v: SyncView, now: Date = new Date()): string {
  const url = v.server_url ?? '';
  const name = v.technician_name ?? '';
  switch (reach(v)) {
    case 'never':
      return t('sync.reach.never', { url, name });
    case 'ok':
      return t('sync.reach.ok', { url, name, time: when(v.last_success_at ?? v.last_attempt_at ?? '', now) });
    case 'unreachable':
      return v.last_success_at
        ? t('sync.reach.unreachable_since', { url, name, since: when(v.last_success_at, now) })
        : t('sync.reach.unreachable_never', { url, name, tried: when(v.last_attempt_at ?? '', now) });
    case 'failing':
      return t('sync.reach.failing', { url, name, tried: when(v.last_attempt_at ?? '', now) });
  }
}

/**
 * Enrolment errors as the enrol form says them. Enrolment tries once: an address that does
 * not answer says to check it, never that Onsite will try again.
 */
export function enrolErrorText(e: IpcError): string {
  const code: string = e.code;
  if (code === 'enrol_unreachable' || code === 'sync_offline') return t('sync.enrol.unreachable');
  return errorText(e);
}

/** Enrolment refused because demo jobs are in progress (it asks before setting them aside). */
export function isDemoInProgress(e: IpcError): boolean {
  return (e.code as string) === 'demo_in_progress';
}

/** The question asked before setting the demo aside; the number of jobs in progress is the
 *  first number of the error's message when it has one. */
export function demoInProgressQuestion(e: IpcError): string {
  const n = /\d+/.exec(e.message ?? '');
  return n ? t('sync.enrol.demo_question', { count: Number(n[0]) }) : t('sync.enrol.demo_question_some');
}
