import { describe, expect, it } from 'vitest';
import { parseQty, stepQty } from './qty';

describe('quantities as typed', () => {
  it('takes whole numbers within the limits', () => {
    expect(parseQty('2', 1, 3)).toEqual({ ok: true, value: 2 });
    expect(parseQty(' 3 ', 1, 3)).toEqual({ ok: true, value: 3 });
    expect(parseQty(5, 1, null)).toEqual({ ok: true, value: 5 });
  });
  it.each(['abc', '', '1.5', '-1', '1e2', '２'])('refuses %j as not a number', (s) => {
    expect(parseQty(s, 1, 3)).toEqual({ ok: false, why: 'not_a_number' });
  });
  it('says which limit was crossed', () => {
    expect(parseQty('0', 1, 3)).toEqual({ ok: false, why: 'too_small' });
    expect(parseQty('4', 1, 3)).toEqual({ ok: false, why: 'too_large' });
  });
  it('steps within the limits', () => {
    expect(stepQty('1', 1, 1, 3)).toBe('2');
    expect(stepQty('3', 1, 1, 3)).toBe('3');
    expect(stepQty('1', -1, 1, 3)).toBe('1');
    expect(stepQty('abc', 1, 1, 3)).toBe('1');
    expect(stepQty('', -1, 1, null)).toBe('1');
  });
});
