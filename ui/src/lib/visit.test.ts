import { describe, expect, it } from 'vitest';
import type { PricedLine, QuoteView } from './bindings';
import { changeFor, customerLocale, inLanguage, lineReason, parseYuan, partsToTake, yuan } from './visit';

describe('money as typed and shown', () => {
  it.each([
    ['88', 8800], ['88.5', 8850], ['88.05', 8805], ['¥100', 10000], [' 12,30 ', 1230], ['0', 0],
  ])('parses %s', (text, minor) => expect(parseYuan(text)).toBe(minor));

  it.each(['', 'abc', '1.234', '-5', '1e3', '12.3.4'])('refuses %s', (text) => expect(parseYuan(text)).toBeNull());

  it('shows yuan with two decimals', () => {
    expect(yuan(8800)).toBe('¥88.00');
    expect(yuan(1205)).toBe('¥12.05');
    expect(yuan(7)).toBe('¥0.07');
    expect(yuan(-1234)).toBe('-¥12.34');
  });

  it('works out the change for cash', () => {
    expect(changeFor('88', '100')).toBe(1200);
    expect(changeFor('88.00', '88')).toBe(0);
    expect(changeFor('88', '50')).toBe(-3800);
    expect(changeFor('88', '')).toBeNull();
    expect(changeFor('x', '100')).toBeNull();
  });
});

describe('the customer language', () => {
  const b = { zh: '滤芯为耗材，不在保修范围', en: 'Filter is a consumable: not covered' };
  it('picks the customer language', () => {
    expect(inLanguage(b, 'zh-CN')).toBe(b.zh);
    expect(inLanguage(b, 'en')).toBe(b.en);
    expect(customerLocale('zh-CN')).toBe('zh-CN');
    expect(customerLocale('en-GB')).toBe('en');
  });
  it('joins a line reasons', () => {
    const line = { reasons: [b, { zh: '收费', en: 'charged' }] } as unknown as PricedLine;
    expect(lineReason(line, 'en')).toBe('Filter is a consumable: not covered charged');
  });
});

describe('parts to take', () => {
  const money = (minor: number) => ({ minor, currency: 'CNY' as const });
  const line = (code: string, kind: 'part' | 'service', quantity: number) =>
    ({ code, kind, quantity, name: { zh: code, en: code }, unit_price: money(100) }) as unknown as PricedLine;
  const quote = {
    priced: { lines: [line('MAINT', 'service', 1), line('F-PP-10', 'part', 2), line('P-PUMP-24V', 'part', 1)] },
  } as unknown as QuoteView;
  it('lists quoted parts with what is left', () => {
    const uses = [{ part_no: 'F-PP-10', quantity: 1 }] as never;
    expect(partsToTake(quote, uses).map((p) => [p.code, p.quoted, p.taken, p.remaining])).toEqual([
      ['F-PP-10', 2, 1, 1],
      ['P-PUMP-24V', 1, 0, 1],
    ]);
    expect(partsToTake(null, [])).toEqual([]);
  });
});
