// Text being typed is kept as a draft on the device (not synced) while it is typed, so that
// closing the app or moving to another screen loses nothing; saving the real thing clears it.
import { api } from './api';

export type DraftField = 'notes' | 'addendum' | 'fault' | 'diagnosis_notes' | 'feedback_comment';

/** Keeps `field` of work order `id`: `keep(text)` saves after a short pause, `flush()` at
 *  once (on leaving the screen). Failures are ignored: a draft is a convenience. */
export function draftKeeper(id: string, field: DraftField, onKept?: (text: string) => void, pauseMs = 400) {
  let pending: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const write = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending === null) return Promise.resolve();
    const text = pending;
    pending = null;
    return api
      .saveDraft(id, field, text)
      .then(() => onKept?.(text))
      .catch(() => undefined);
  };
  return {
    keep(text: string) {
      pending = text;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(write, pauseMs);
    },
    flush: write,
    /** Forget what is pending (the real thing was just saved and cleared the draft). */
    drop() {
      pending = null;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Drafts of a work order by field. */
export async function loadDrafts(id: string): Promise<Partial<Record<DraftField, string>>> {
  try {
    const all = await api.drafts(id);
    return Object.fromEntries(all.map((d) => [d.field, d.text]));
  } catch {
    return {};
  }
}
