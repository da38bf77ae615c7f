// What the sync screen and the day-end check say, as pure functions of the Rust views.
import type { DayEndCheck, SyncProgressView, SyncView, UnsentFileView } from './bindings';
import { dateTime } from './format';
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
