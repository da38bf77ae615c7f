import { expect, it } from 'vitest';
import { defaultReturnDate, splitAccessories } from './carryback';

it('splits accessories typed in either language', () => {
  expect(splitAccessories('遥控器，挂架、 电源线; manual,, ')).toEqual(['遥控器', '挂架', '电源线', 'manual']);
  expect(splitAccessories('  ')).toEqual([]);
});

it('promises a week by default, across month ends', () => {
  expect(defaultReturnDate(new Date(2026, 10, 24))).toBe('2026-12-01');
  expect(defaultReturnDate(new Date(2026, 11, 28))).toBe('2027-01-04');
});
