// Whole-number quantities as typed on a touchscreen: text, not a spinner, and refused
// with a reason rather than read as something else ("abc" was once taken as 1).

export type QtyCheck = { ok: true; value: number } | { ok: false; why: 'not_a_number' | 'too_small' | 'too_large' };

/** `text` as a whole number within `min..=max` (max: null for no upper limit). */
export function parseQty(text: string | number, min: number, max: number | null): QtyCheck {
  const s = String(text).trim();
  if (!/^\d{1,6}$/.test(s)) return { ok: false, why: 'not_a_number' };
  const value = Number(s);
  if (value < min) return { ok: false, why: 'too_small' };
  if (max !== null && value > max) return { ok: false, why: 'too_large' };
  return { ok: true, value };
}

/** One step up or down from what is typed, kept within the limits (what is not a number
 *  starts again from `min`). */
export function stepQty(text: string, delta: number, min: number, max: number | null): string {
  const now = /^\d{1,6}$/.test(text.trim()) ? Number(text.trim()) : min - delta;
  let next = Math.max(min, now + delta);
  if (max !== null) next = Math.min(max, next);
  return String(next);
}
