// A calendar day typed in the app's language, not the webview's: what a DateField accepts,
// how it shows the day back in words, and the day before or after. Pure functions; a day
// is an ISO string YYYY-MM-DD (what the Rust commands take).
import type { Locale } from './i18n.svelte';

const pad = (n: number) => String(n).padStart(2, '0');

/** The ISO day of year/month/day, or null when there is no such day (31 February). */
export function isoDay(year: number, month: number, day: number): string | null {
  if (year < 1900 || year > 2999 || month < 1 || month > 12 || day < 1) return null;
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return `${year}-${pad(month)}-${pad(day)}`;
}

/**
 * The day typed, or null. Year first, in any of the forms people type here:
 * 2026-11-29, 2026/11/29, 2026.11.29, 2026 11 29, 2026年11月29日 (spaces and full-width
 * digits allowed), or eight digits 20261129 (what a number pad types fastest).
 * Day-first or month-first forms (29/11/2026, 11/29/2026) are refused: they read
 * differently in different countries.
 */
export function parseDay(text: string): string | null {
  const s = text
    .normalize('NFKC') // full-width digits and ／ to ASCII
    .trim();
  if (s === '') return null;
  let m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (!m) m = /^(\d{4})\s*[-/.\s年]\s*(\d{1,2})\s*[-/.\s月]\s*(\d{1,2})\s*[日号]?$/.exec(s);
  if (!m) return null;
  return isoDay(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** An ISO day as it goes back into the field: 2026/11/29 in Chinese, 2026-11-29 in English. */
export function dayText(iso: string, locale: Locale): string {
  const p = parts(iso);
  if (!p) return iso;
  return locale === 'zh-CN' ? `${p.y}/${pad(p.m)}/${pad(p.d)}` : `${p.y}-${pad(p.m)}-${pad(p.d)}`;
}

/** What the field shows while empty: the form it expects, in the app's language. */
export function dayPlaceholder(locale: Locale): string {
  return locale === 'zh-CN' ? '年/月/日' : 'YYYY-MM-DD';
}

const WEEKDAYS_ZH = ['星期日', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六'];
const WEEKDAYS_EN = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS_EN = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function parts(iso: string): { y: number; m: number; d: number; weekday: number } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (isoDay(y, mo, d) === null) return null;
  return { y, m: mo, d, weekday: new Date(Date.UTC(y, mo - 1, d)).getUTCDay() };
}

/** The day in words: "2026年11月29日 星期日" / "Sunday 29 November 2026". */
export function dayInWords(iso: string, locale: Locale): string {
  const p = parts(iso);
  if (!p) return '';
  return locale === 'zh-CN'
    ? `${p.y}年${p.m}月${p.d}日 ${WEEKDAYS_ZH[p.weekday]}`
    : `${WEEKDAYS_EN[p.weekday]} ${p.d} ${MONTHS_EN[p.m - 1]} ${p.y}`;
}

/** The ISO day `n` days after `iso` (before, for negative `n`). */
export function addDays(iso: string, n: number): string {
  const p = parts(iso);
  if (!p) return iso;
  const d = new Date(Date.UTC(p.y, p.m - 1, p.d + n));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}
