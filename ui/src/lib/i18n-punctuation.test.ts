import { expect, it } from 'vitest';
import zh from './i18n/zh-CN.json';

// Chinese text uses full-width punctuation: "无法完成的原因？", not "无法完成的原因?".
it('Chinese texts put no half-width punctuation after Chinese characters', () => {
  const bad = Object.entries(zh as Record<string, string>).filter(([, text]) =>
    /[\u3400-\u9fff\u3000-\u303f\uff00-\uffef][?!,;:()]/.test(text),
  );
  expect(bad).toEqual([]);
  expect((zh as Record<string, string>)['order.reason']).toBe('无法完成的原因？');
});
