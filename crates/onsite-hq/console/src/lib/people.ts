// What the people-and-tokens screen checks before sending (head office checks again).
import type { Permission, Role } from './bindings';
import type { Key } from './i18n.svelte';

export const ROLES: Role[] = ['administrator', 'dispatcher', 'finance'];
export const PERMISSIONS: Permission[] = [
  'read_jobs',
  'dispatch',
  'technicians',
  'devices',
  'export',
  'reference',
  'operations',
  'users',
  'audit',
];

/** The first problem with a new person's form, as a message key and its parameters. */
export function personProblem(
  f: { username: string; display_name: string; password: string },
  label: (k: Key) => string,
): { key: Key; params: Record<string, string | number> } | null {
  if (!f.username.trim()) return { key: 'form.required', params: { field: label('people.username') } };
  if (!f.display_name.trim()) return { key: 'form.required', params: { field: label('people.display_name') } };
  if ([...f.password].length < 10) return { key: 'form.required', params: { field: label('people.password') } };
  return null;
}
