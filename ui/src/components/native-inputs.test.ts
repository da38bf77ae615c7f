/// <reference types="vite/client" />
import { expect, it } from 'vitest';

// The webview draws native date pickers, number spinners and file pickers in the system's
// language and at its own (small) size. Every screen uses our own pieces instead: DateField,
// QtyField, and FilePick (the only component holding a file input, hidden behind a label).
const sources = import.meta.glob(['./*.svelte', './visit/*.svelte'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

it('finds the screens', () => {
  for (const name of ['./Sync.svelte', './CarryBack.svelte', './Visit.svelte', './visit/DiagnosisStep.svelte']) {
    expect(Object.keys(sources)).toContain(name);
  }
});

it('no native date or number inputs anywhere', () => {
  for (const [name, s] of Object.entries(sources)) {
    expect(s, name).not.toMatch(/type=["'](date|number|datetime-local|month|time)["']/);
  }
});

it('file inputs only inside FilePick, hidden behind its label', () => {
  for (const [name, s] of Object.entries(sources)) {
    if (name === './FilePick.svelte') continue;
    expect(s, name).not.toMatch(/type=["']file["']/);
  }
  const pick = sources['./FilePick.svelte'];
  expect(pick).toMatch(/<input id="pick-\{uid\}" class="hidden-input" type="file"/);
  expect(pick).toContain('<label for="pick-{uid}"');
  for (const user of ['./Sync.svelte', './CarryBack.svelte', './visit/DiagnosisStep.svelte']) {
    expect(sources[user], user).toContain('<FilePick');
  }
});
