// Dates and times as a technician reads them, in the UI language and the device's zone.
import type { Locale } from './i18n.svelte';

export function time(iso: string, locale: Locale): string {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hour12: false }).format(
    new Date(iso),
  );
}

export function date(iso: string, locale: Locale): string {
  // A plain date (YYYY-MM-DD) is a calendar day, not an instant: keep it in local time.
  const d = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(`${iso}T00:00:00`) : new Date(iso);
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

export function dateTime(iso: string, locale: Locale): string {
  return `${date(iso, locale)} ${time(iso, locale)}`;
}

/** "09:30–11:00", with the date in front when it is not `today` (YYYY-MM-DD). */
export function window(start: string, end: string, locale: Locale, today?: string): string {
  const span = `${time(start, locale)}–${time(end, locale)}`;
  return today !== undefined && localDay(start) !== today ? `${date(start, locale)} ${span}` : span;
}

/** The local calendar day (YYYY-MM-DD) of an instant. */
export function localDay(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
