import { describe, expect, it } from 'vitest';
import type { VanPartView } from './bindings';
import {
  countsToSubmit,
  difference,
  expenseAmounts,
  expenseNumbers,
  filterParts,
  parseCount,
  parseRates,
  rateTexts,
  sameRates,
  signed,
} from './day';
import { yuan } from './visit';

const DEFAULTS = { per_km_minor: 100, meal_per_day_minor: 3000, lodging_per_night_minor: 15000 };

describe('the day’s expenses', () => {
  it('computes the amounts and total at the rates, shown as yuan', () => {
    const a = expenseAmounts(DEFAULTS, 42, 1, 0);
    expect([a.mileage, a.meals, a.lodging, a.total].map(yuan)).toEqual(['¥42.00', '¥30.00', '¥0.00', '¥72.00']);
    expect(yuan(expenseAmounts(DEFAULTS, 120, 2, 1).total)).toBe('¥330.00');
    expect(yuan(expenseAmounts({ ...DEFAULTS, per_km_minor: 150 }, 42, 1, 0).total)).toBe('¥93.00');
    expect(yuan(expenseAmounts({ ...DEFAULTS, per_km_minor: 85 }, 3, 0, 0).total)).toBe('¥2.55');
  });

  it('reads what was typed, blank as nothing, within the store’s limits', () => {
    expect(expenseNumbers('42', '1', '')).toEqual({ km: 42, meal_days: 1, nights: 0 });
    expect(expenseNumbers(' 5000 ', '20', '20')).toEqual({ km: 5000, meal_days: 20, nights: 20 });
    for (const bad of [['-1', '0', '0'], ['4.5', '0', '0'], ['5001', '0', '0'], ['1', '21', '0'], ['1', '0', 'x']]) {
      expect(expenseNumbers(bad[0], bad[1], bad[2])).toBeNull();
    }
  });

  it('edits rates in yuan and refuses what is not a rate', () => {
    expect(rateTexts(DEFAULTS)).toEqual({ perKm: '1.00', meal: '30.00', lodging: '150.00' });
    expect(parseRates({ perKm: '1.5', meal: '¥35', lodging: '0' })).toEqual({
      per_km_minor: 150,
      meal_per_day_minor: 3500,
      lodging_per_night_minor: 0,
    });
    expect(parseRates({ perKm: '', meal: '30', lodging: '150' })).toBeNull();
    expect(parseRates({ perKm: '-1', meal: '30', lodging: '150' })).toBeNull();
    expect(parseRates({ perKm: '10000.01', meal: '30', lodging: '150' })).toBeNull();
    expect(sameRates(DEFAULTS, { ...DEFAULTS })).toBe(true);
    expect(sameRates(DEFAULTS, { ...DEFAULTS, lodging_per_night_minor: 1 })).toBe(false);
  });
});

const part = (part_id: string, part_no: string, name_en: string, name_zh: string, quantity: number) =>
  ({ part_id, part_no, name_en, name_zh, quantity }) as VanPartView;
const VAN = [
  part('a', 'F-PP-10', 'PP sediment filter 10"', 'PP棉滤芯 10寸', 12),
  part('b', 'F-CTO-10', 'CTO carbon block filter 10"', '压缩活性炭滤芯 10寸', 8),
  part('c', 'P-PUMP-50', 'Booster pump', '增压泵', 2),
];

describe('the stock-take', () => {
  it('shows the difference live: counted minus expected, none while not counted', () => {
    expect(difference(12, '10')).toBe(-2);
    expect(difference(8, '9')).toBe(1);
    expect(difference(2, '2')).toBe(0);
    expect(difference(2, '0')).toBe(-2);
    expect(difference(2, '')).toBeNull();
    expect(difference(2, undefined)).toBeNull();
    expect(difference(2, 'two')).toBeNull();
    expect([-2, 1, 0].map(signed)).toEqual(['-2', '+1', '0']);
  });

  it('tells blank from invalid counts', () => {
    expect(parseCount('  ')).toEqual({ kind: 'blank' });
    expect(parseCount('0')).toEqual({ kind: 'counted', n: 0 });
    expect(parseCount('-1')).toEqual({ kind: 'invalid' });
    expect(parseCount('1.5')).toEqual({ kind: 'invalid' });
    expect(parseCount('100001')).toEqual({ kind: 'invalid' });
  });

  it('filters by part number or either name, any case', () => {
    expect(filterParts(VAN, 'f-pp').map((p) => p.part_id)).toEqual(['a']);
    expect(filterParts(VAN, 'carbon').map((p) => p.part_id)).toEqual(['b']);
    expect(filterParts(VAN, '增压').map((p) => p.part_id)).toEqual(['c']);
    expect(filterParts(VAN, ' ')).toHaveLength(3);
  });

  it('submits the counted parts only, hidden ones included, and refuses invalid counts', () => {
    expect(countsToSubmit(VAN, { a: '10', b: '', c: '3' })).toEqual({
      counts: [
        { part_id: 'a', counted: 10 },
        { part_id: 'c', counted: 3 },
      ],
    });
    const r = countsToSubmit(VAN, { a: '10', b: 'x' });
    expect('invalid' in r && r.invalid.map((p) => p.part_no)).toEqual(['F-CTO-10']);
  });
});
