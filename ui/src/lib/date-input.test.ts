import { describe, expect, it } from 'vitest';
import { addDays, dayInWords, dayPlaceholder, dayText, isoDay, parseDay } from './date-input';

describe('parseDay', () => {
  it('reads the year-first forms typed in either language', () => {
    for (const typed of [
      '2026-11-29',
      '2026/11/29',
      '2026.11.29',
      '2026 11 29',
      '2026年11月29日',
      '2026 年 11 月 29 日',
      '2026年11月29',
      '２０２６／１１／２９',
      '20261129',
      '  2026/11/29 ',
    ]) {
      expect(parseDay(typed), typed).toBe('2026-11-29');
    }
    expect(parseDay('2026-1-5')).toBe('2026-01-05');
    expect(parseDay('2026年1月5日')).toBe('2026-01-05');
  });

  it('refuses what is not a day, and day-first or month-first forms', () => {
    for (const typed of ['', '  ', 'abc', '2026-02-30', '2026-13-01', '2026-00-10', '11/29/2026', '29/11/2026', '2026-11', '202611290', '1899-12-31']) {
      expect(parseDay(typed), typed).toBeNull();
    }
    expect(parseDay('2028-02-29')).toBe('2028-02-29');
    expect(parseDay('2026-02-29')).toBeNull();
  });
});

describe('showing a day', () => {
  it('puts the day back in the app-language form, which parses again', () => {
    expect(dayText('2026-11-29', 'zh-CN')).toBe('2026/11/29');
    expect(dayText('2026-11-29', 'en')).toBe('2026-11-29');
    for (const l of ['zh-CN', 'en'] as const) expect(parseDay(dayText('2026-01-05', l))).toBe('2026-01-05');
    expect(dayPlaceholder('zh-CN')).toBe('年/月/日');
    expect(dayPlaceholder('en')).toBe('YYYY-MM-DD');
  });

  it('says the day in words with its weekday, never the webview locale order', () => {
    expect(dayInWords('2026-11-29', 'zh-CN')).toBe('2026年11月29日 星期日');
    expect(dayInWords('2026-11-29', 'en')).toBe('Sunday 29 November 2026');
    expect(dayInWords('2026-11-30', 'en')).toBe('Monday 30 November 2026');
    expect(dayInWords('2026-02-31', 'en')).toBe('');
    expect(dayInWords('', 'zh-CN')).toBe('');
  });
});

describe('previous and next day', () => {
  it('crosses month and year ends and leap days', () => {
    expect(addDays('2026-11-30', 1)).toBe('2026-12-01');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-01-01', -1)).toBe('2025-12-31');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(isoDay(2026, 2, 29)).toBeNull();
  });
});
