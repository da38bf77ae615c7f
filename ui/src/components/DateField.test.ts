import { flushSync, mount, unmount } from 'svelte';
import { afterEach, expect, it, vi } from 'vitest';
import { i18n } from '../lib/i18n.svelte';
import DateField from './DateField.svelte';

let app: Record<string, unknown> | undefined;
afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = '';
  i18n.locale = 'en';
});

const $ = <T extends Element>(sel: string) => document.querySelector<T>(sel)!;

function type(text: string) {
  const input = $<HTMLInputElement>('[data-testid="d"]');
  input.value = text;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

it('shows the day in the app language, not the webview locale, with a numeric keypad', () => {
  i18n.locale = 'zh-CN';
  app = mount(DateField, { target: document.body, props: { id: 'd', testid: 'd', value: '2026-11-29' } });
  flushSync();
  const input = $<HTMLInputElement>('[data-testid="d"]');
  expect(input.type).toBe('text');
  expect(input.inputMode).toBe('numeric');
  expect(input.value).toBe('2026/11/29');
  expect($('[data-testid="d-words"]').textContent!.trim()).toBe('2026年11月29日 星期日');
  expect(input.placeholder).toBe('年/月/日');
});

it('reads a typed Chinese date, reports it, and says when the text is not a date', () => {
  const onchange = vi.fn();
  app = mount(DateField, { target: document.body, props: { id: 'd', testid: 'd', value: '', onchange } });
  flushSync();
  type('2026年11月30日');
  expect(onchange).toHaveBeenLastCalledWith('2026-11-30');
  expect($('[data-testid="d-words"]').textContent!.trim()).toBe('Monday 30 November 2026');
  type('11/30/2026');
  expect($<HTMLInputElement>('[data-testid="d"]').getAttribute('aria-invalid')).toBe('true');
  expect($('[data-testid="d-words"]').textContent).toContain('Not a date');
  expect(onchange).toHaveBeenCalledTimes(1);
});

it('steps to the previous and next day with buttons', () => {
  const onchange = vi.fn();
  app = mount(DateField, { target: document.body, props: { id: 'd', testid: 'd', value: '2026-12-31', onchange } });
  flushSync();
  $<HTMLButtonElement>('[data-testid="d-next"]').click();
  flushSync();
  expect(onchange).toHaveBeenLastCalledWith('2027-01-01');
  expect($<HTMLInputElement>('[data-testid="d"]').value).toBe('2027-01-01');
  $<HTMLButtonElement>('[data-testid="d-prev"]').click();
  $<HTMLButtonElement>('[data-testid="d-prev"]').click();
  flushSync();
  expect(onchange).toHaveBeenLastCalledWith('2026-12-30');
  expect($<HTMLButtonElement>('[data-testid="d-prev"]').getAttribute('aria-label')).toBe('Previous day');
});
