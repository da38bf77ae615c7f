// Every string the office sees goes through t(). Dictionaries: ./i18n/<locale>.json.
import en from './i18n/en.json';
import zh from './i18n/zh-CN.json';

export type Locale = 'en' | 'zh-CN';
export type Key = keyof typeof en;

export const dictionaries: Record<Locale, Record<Key, string>> = { en, 'zh-CN': zh };
export const LOCALES: Locale[] = ['zh-CN', 'en'];

/** The language for a saved choice (null: follow the browser) and the browser's language. */
export function resolveLocale(saved: string | null, browser: string): Locale {
  if (saved === 'en' || saved === 'zh-CN') return saved;
  return browser.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

/** Fills {name} placeholders. */
export function format(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

export const i18n = $state({ locale: 'en' as Locale });

export function t(key: Key, params?: Record<string, string | number>): string {
  const text = dictionaries[i18n.locale][key] ?? dictionaries.en[key] ?? key;
  return format(text, params);
}

/** A time from head office (RFC 3339), as the console's language writes it. */
export function formatTime(iso: string): string {
  return new Date(iso).toLocaleString(i18n.locale);
}
