// Technicians and their devices: what the screen checks before sending (head office checks
// again), a device's state in words, and an enrolment code as a QR code.
import qrcode from 'qrcode-generator';
import type { Device } from './bindings';
import type { Key } from './i18n.svelte';

/** The longest technician name head office takes (onsite-api `NewTechnician`). */
export const MAX_NAME = 100;

/** The first problem with a new technician's name, as a message key and its parameters. */
export function technicianProblem(
  name: string,
  label: (k: Key) => string,
): { key: Key; params: Record<string, string | number> } | null {
  const n = [...name.trim()].length;
  if (n === 0) return { key: 'form.required', params: { field: label('fleet.name') } };
  if (n > MAX_NAME) return { key: 'fleet.name_too_long', params: { max: MAX_NAME } };
  return null;
}

export type DeviceState = 'active' | 'lost' | 'erased' | 'revoked';

/** Where a device stands: erased (it reported so) over lost over revoked over active. */
export function deviceState(d: Device): DeviceState {
  if (d.erased) return 'erased';
  if (d.lost_at) return 'lost';
  if (d.revoked_at) return 'revoked';
  return 'active';
}

/** Which actions the office can still take on a device. */
export function deviceActions(d: Device): { revoke: boolean; lost: boolean } {
  const state = deviceState(d);
  return { revoke: state === 'active', lost: state === 'active' || state === 'revoked' };
}

/** The dark modules of `text` as a QR code (error correction M), row by row. */
export function qrModules(text: string): boolean[][] {
  const qr = qrcode(0, 'M');
  // Enrolment codes are upper-case letters, digits and dashes: QR's compact alphanumeric mode.
  qr.addData(text, /^[0-9A-Z $%*+\-./:]*$/.test(text) ? 'Alphanumeric' : 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => qr.isDark(r, c)));
}
