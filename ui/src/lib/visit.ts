// The visit screen's logic that is not layout: money as typed and shown, change for cash,
// the customer's language, what is left to take from the van.
import type { Bilingual, PartUseView, PricedLine, QuoteView, VisitStage } from './bindings';

/** ¥12.34 from minor units (fen); negative amounts with a leading minus. */
export function yuan(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}¥${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** What the technician typed in yuan ("88", "88.5", "¥88.50") as minor units; null when it
 *  is not an amount (empty, letters, more than two decimals). */
export function parseYuan(text: string): number | null {
  const m = /^\s*¥?\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(text);
  if (!m) return null;
  const cents = (m[2] ?? '').padEnd(2, '0');
  return Number(m[1]) * 100 + Number(cents || '0');
}

/** The change to hand back for cash: null until both amounts are known; negative when
 *  too little was handed over (the screen says so, the store refuses it). */
export function changeFor(amountText: string, tenderedText: string): number | null {
  const amount = parseYuan(amountText);
  const tendered = parseYuan(tenderedText);
  if (amount === null || tendered === null) return null;
  return tendered - amount;
}

/** The text in the customer's language ("zh-CN" or "en"). */
export function inLanguage(text: Bilingual, language: string): string {
  return language.toLowerCase().startsWith('zh') ? text.zh : text.en;
}

/** The customer's language as one of the UI's locales. */
export function customerLocale(language: string): 'zh-CN' | 'en' {
  return language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

/** A quote line's reasons, in the customer's language, as one sentence. */
export function lineReason(line: PricedLine, language: string): string {
  return line.reasons.map((r) => inLanguage(r, language)).join(' ');
}

export interface PartToTake {
  code: string;
  name: Bilingual;
  quoted: number;
  taken: number;
  remaining: number;
}

/** The parts on the quote and how many of each are still to take from the van. */
export function partsToTake(quote: QuoteView | null, uses: PartUseView[]): PartToTake[] {
  if (!quote) return [];
  const byCode = new Map<string, PartToTake>();
  for (const line of quote.priced.lines) {
    if (line.kind !== 'part') continue;
    const seen = byCode.get(line.code);
    if (seen) seen.quoted += line.quantity;
    else byCode.set(line.code, { code: line.code, name: line.name, quoted: line.quantity, taken: 0, remaining: 0 });
  }
  for (const use of uses) {
    const p = byCode.get(use.part_no);
    if (p) p.taken += use.quantity;
  }
  const all = [...byCode.values()];
  for (const p of all) p.remaining = Math.max(0, p.quoted - p.taken);
  return all;
}

/** The order of the visit's steps, for "where the visit stopped". */
export const STAGES: VisitStage[] = [
  'not_started', 'diagnosed', 'quoted', 'quote_accepted', 'quote_declined', 'parts_taken', 'payment',
  'feedback_given',
];
