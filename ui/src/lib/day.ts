// The technician's day outside any one job, as logic without layout: the day's expenses
// (amounts at the rates, what was typed) and the van's stock-take (counts, differences).
import type { ExpenseRatesView, StockCountForm, VanPartView } from './bindings';
import { parseYuan } from './visit';

/** The store's limits (onsite-store visit::money and visit::parts). */
export const LIMITS = { km: 5000, mealDays: 20, nights: 20, count: 100_000, rateMinor: 1_000_000 };

/** A whole number from 0 to `max` as typed; null when it is not one (blank included). */
export function parseWhole(text: string, max: number): number | null {
  const m = /^\s*(\d{1,9})\s*$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  return n <= max ? n : null;
}

export interface ExpenseAmounts {
  mileage: number;
  meals: number;
  lodging: number;
  total: number;
}

/** What the day costs at `rates` (minor units), as the store computes it. */
export function expenseAmounts(rates: ExpenseRatesView, km: number, mealDays: number, nights: number): ExpenseAmounts {
  const mileage = km * rates.per_km_minor;
  const meals = mealDays * rates.meal_per_day_minor;
  const lodging = nights * rates.lodging_per_night_minor;
  return { mileage, meals, lodging, total: mileage + meals + lodging };
}

export interface ExpenseNumbers {
  km: number;
  meal_days: number;
  nights: number;
}

/** The typed km, meal days and nights; null when any of them is not a whole number within
 *  the store's limits (blank counts as 0: nothing of that kind that day). */
export function expenseNumbers(km: string, mealDays: string, nights: string): ExpenseNumbers | null {
  const whole = (text: string, max: number) => (text.trim() === '' ? 0 : parseWhole(text, max));
  const k = whole(km, LIMITS.km);
  const m = whole(mealDays, LIMITS.mealDays);
  const n = whole(nights, LIMITS.nights);
  if (k === null || m === null || n === null) return null;
  return { km: k, meal_days: m, nights: n };
}

export interface RateTexts {
  perKm: string;
  meal: string;
  lodging: string;
}

/** A rate as the technician edits it: "1.00" (yuan, no sign). */
export function rateText(minor: number): string {
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
}

export function rateTexts(rates: ExpenseRatesView): RateTexts {
  return {
    perKm: rateText(rates.per_km_minor),
    meal: rateText(rates.meal_per_day_minor),
    lodging: rateText(rates.lodging_per_night_minor),
  };
}

/** The typed rates in minor units; null when any is not an amount from ¥0 to ¥10,000. */
export function parseRates(texts: RateTexts): ExpenseRatesView | null {
  const rate = (text: string) => {
    const minor = parseYuan(text);
    return minor !== null && minor <= LIMITS.rateMinor ? minor : null;
  };
  const perKm = rate(texts.perKm);
  const meal = rate(texts.meal);
  const lodging = rate(texts.lodging);
  if (perKm === null || meal === null || lodging === null) return null;
  return { per_km_minor: perKm, meal_per_day_minor: meal, lodging_per_night_minor: lodging };
}

/** Whether two sets of rates are the same (a recorded day may be at earlier rates). */
export function sameRates(a: ExpenseRatesView, b: ExpenseRatesView): boolean {
  return (
    a.per_km_minor === b.per_km_minor &&
    a.meal_per_day_minor === b.meal_per_day_minor &&
    a.lodging_per_night_minor === b.lodging_per_night_minor
  );
}

/** A count as typed: blank (not counted), a whole number, or not a count. */
export type Count = { kind: 'blank' } | { kind: 'counted'; n: number } | { kind: 'invalid' };

export function parseCount(text: string | undefined): Count {
  if (text === undefined || text.trim() === '') return { kind: 'blank' };
  const n = parseWhole(text, LIMITS.count);
  return n === null ? { kind: 'invalid' } : { kind: 'counted', n };
}

/** Counted minus expected; null while the part is not counted (or the count is not one). */
export function difference(expected: number, text: string | undefined): number | null {
  const c = parseCount(text);
  return c.kind === 'counted' ? c.n - expected : null;
}

/** A difference as shown: "+2", "-1", "0". */
export function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

/** The van's parts matching `query` in the part number or either name (any case); all of
 *  them for an empty query. */
export function filterParts(parts: VanPartView[], query: string): VanPartView[] {
  const q = query.trim().toLowerCase();
  if (q === '') return parts;
  return parts.filter(
    (p) => p.part_no.toLowerCase().includes(q) || p.name_en.toLowerCase().includes(q) || p.name_zh.includes(q),
  );
}

/** The counts to submit (parts hidden by the filter included), or the parts whose count is
 *  not a whole number. */
export function countsToSubmit(
  parts: VanPartView[],
  counts: Record<string, string>,
): { counts: StockCountForm[] } | { invalid: VanPartView[] } {
  const out: StockCountForm[] = [];
  const invalid: VanPartView[] = [];
  for (const p of parts) {
    const c = parseCount(counts[p.part_id]);
    if (c.kind === 'counted') out.push({ part_id: p.part_id, counted: c.n });
    else if (c.kind === 'invalid') invalid.push(p);
  }
  return invalid.length > 0 ? { invalid } : { counts: out };
}
