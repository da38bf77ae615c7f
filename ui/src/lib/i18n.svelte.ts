// Every string the user sees goes through t(). Dictionaries: ./i18n/<locale>.json.
import en from './i18n/en.json';
import zh from './i18n/zh-CN.json';

export type Locale = 'en' | 'zh-CN';
export type Key = keyof typeof en;

export const dictionaries: Record<Locale, Record<Key, string>> = { en, 'zh-CN': zh };
export const LOCALES: Locale[] = ['zh-CN', 'en'];

/** The UI language for a saved choice (null: follow the system) and the system locale. */
export function resolveLocale(saved: string | null, system: string): Locale {
  if (saved === 'en' || saved === 'zh-CN') return saved;
  return system.toLowerCase().replace('_', '-').startsWith('zh') ? 'zh-CN' : 'en';
}

/** Fills {name} placeholders. */
export function format(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

export const i18n = $state({ locale: 'en' as Locale });

export function t(key: Key, params?: Record<string, string | number>): string {
  const text = dictionaries[i18n.locale][key] ?? dictionaries.en[key] ?? key;
  return format(text, params);
}

/** Labels for values that come from data (appliance categories): unknown ones as they are. */
export function label(prefix: string, value: string): string {
  const key = `${prefix}.${value}` as Key;
  return key in dictionaries[i18n.locale] ? t(key) : value;
}

export function setLocale(locale: Locale) {
  i18n.locale = locale;
  document.documentElement.lang = locale;
}
