/// <reference types="vite/client" />
import { expect, it } from 'vitest';

// The webview draws native date pickers, number spinners and file pickers in the system's
// language and at its own (small) size. These screens use our own pieces instead.
const screens = ['Sync', 'Today', 'CarryBack', 'Expenses', 'StockTake', 'SettingsView', 'DateField'];
const sources = import.meta.glob('./*.svelte', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;
const source = (name: string) => {
  const s = sources[`./${name}.svelte`];
  if (s === undefined) throw new Error(`no ${name}.svelte`);
  return s;
};

it('no native date or number inputs on these screens', () => {
  for (const name of screens) {
    const s = source(name);
    expect(s, name).not.toMatch(/type=["'](date|number|datetime-local|month|time)["']/);
  }
});

it('file inputs are visually hidden behind a label in the app language', () => {
  for (const name of screens) {
    const inputs = source(name).match(/<input[^>]*type="file"[^>]*>/gs) ?? [];
    for (const input of inputs) {
      expect(input, name).toMatch(/class="vh"/);
      const id = /id="([^"]+)"/.exec(input)?.[1];
      expect(id, name).toBeTruthy();
      expect(source(name), name).toContain(`<label for="${id}" `);
    }
  }
  expect(source('CarryBack')).toContain('type="file"');
  expect(source('Sync')).toContain('type="file"');
});
