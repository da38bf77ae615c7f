import type { Actor } from './bindings';
import type { Key } from './i18n.svelte';

/** Who an audit entry names, in the office's language. */
export function actorName(a: Actor, t: (key: Key, params?: Record<string, string | number>) => string): string {
  switch (a.kind) {
    case 'user':
      return a.username;
    case 'token':
      return t('actor.token', { name: a.name });
    default:
      return t('actor.admin_token');
  }
}
