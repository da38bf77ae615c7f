import { expect, it } from 'vitest';
import { localDay, window } from './format';

it('shows only times for today and the date for other days', () => {
  const start = new Date(2026, 10, 24, 9, 30).toISOString();
  const end = new Date(2026, 10, 24, 11, 0).toISOString();
  expect(window(start, end, 'en', '2026-11-24')).toBe('09:30–11:00');
  expect(window(start, end, 'en', '2026-11-25')).toMatch(/24.*09:30–11:00/);
  expect(localDay(start)).toBe('2026-11-24');
});
