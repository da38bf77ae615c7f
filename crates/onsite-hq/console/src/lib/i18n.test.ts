import { describe, expect, it } from 'vitest';
import type { Permission, Role } from './bindings';
import { dictionaries, format, resolveLocale, type Key } from './i18n.svelte';
import { actorName } from './audit';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('the console in two languages', () => {
  it('has the same keys and placeholders in both', () => {
    const en = dictionaries.en;
    const zh = dictionaries['zh-CN'];
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en) as Key[]) {
      expect(placeholders(zh[key]), key).toEqual(placeholders(en[key]));
      expect(zh[key].trim(), key).not.toBe('');
    }
  });

  it('names every role and permission head office can send', () => {
    // `satisfies` makes svelte-check fail when Rust adds a variant this list lacks.
    const roles = { administrator: 1, dispatcher: 1, finance: 1 } satisfies Record<Role, 1>;
    const permissions = {
      read_jobs: 1,
      dispatch: 1,
      technicians: 1,
      devices: 1,
      export: 1,
      reference: 1,
      operations: 1,
      users: 1,
      audit: 1,
    } satisfies Record<Permission, 1>;
    for (const r of Object.keys(roles)) expect(dictionaries['zh-CN'][`role.${r}` as Key], r).toBeTruthy();
    for (const p of Object.keys(permissions)) expect(dictionaries.en[`permission.${p}` as Key], p).toBeTruthy();
  });

  it('follows the browser unless a language was chosen', () => {
    expect(resolveLocale(null, 'zh-CN')).toBe('zh-CN');
    expect(resolveLocale(null, 'zh-TW')).toBe('zh-CN');
    expect(resolveLocale(null, 'en-GB')).toBe('en');
    expect(resolveLocale('en', 'zh-CN')).toBe('en');
    expect(format('{a} and {b}', { a: 1 })).toBe('1 and {b}');
  });

  it('names the actor of an audit entry', () => {
    const t = (k: Key, p?: Record<string, string | number>) => format(dictionaries.en[k], p);
    expect(actorName({ kind: 'user', id: 'x', username: 'li.na' }, t)).toBe('li.na');
    expect(actorName({ kind: 'token', id: 'x', name: 'ERP' }, t)).toBe('API token ERP');
    expect(actorName({ kind: 'admin_token' }, t)).toBe('Admin token');
  });
});

describe('a new person', () => {
  it('needs a user name, a name and a password of ten characters before it is sent', async () => {
    const { personProblem } = await import('./people');
    const label = (k: Key) => dictionaries.en[k];
    expect(personProblem({ username: ' ', display_name: 'x', password: '0123456789' }, label)?.params.field).toBe(
      'User name',
    );
    expect(personProblem({ username: 'li', display_name: '', password: '0123456789' }, label)?.key).toBe('form.required');
    expect(personProblem({ username: 'li', display_name: '李', password: '十个字的密码短语好' }, label)).not.toBeNull();
    expect(personProblem({ username: 'li', display_name: '李', password: '十个汉字的密码短语好' }, label)).toBeNull();
  });
});
