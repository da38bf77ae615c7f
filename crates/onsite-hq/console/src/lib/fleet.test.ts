import { describe, expect, it } from 'vitest';
import type { Device } from './bindings';
import { deviceActions, deviceState, qrModules, technicianProblem } from './fleet';

const label = (k: string) => `<${k}>`;

const device = (over: Partial<Device> = {}): Device => ({
  id: 'd1',
  technician_id: 't1',
  name: 'van laptop',
  enrolled_at: '2026-12-01T08:00:00Z',
  revoked_at: null,
  ...over,
});

describe('technicians and devices', () => {
  it('asks for a name of 1 to 100 characters, counting Chinese characters as one', () => {
    expect(technicianProblem('  ', label)?.key).toBe('form.required');
    expect(technicianProblem('李建国', label)).toBeNull();
    expect(technicianProblem('李'.repeat(100), label)).toBeNull();
    expect(technicianProblem('李'.repeat(101), label)).toEqual({
      key: 'fleet.name_too_long',
      params: { max: 100 },
    });
  });

  it('says where a device stands and what can still be done', () => {
    expect(deviceState(device())).toBe('active');
    expect(deviceActions(device())).toEqual({ revoke: true, lost: true });
    const revoked = device({ revoked_at: '2026-12-02T08:00:00Z' });
    expect(deviceState(revoked)).toBe('revoked');
    expect(deviceActions(revoked)).toEqual({ revoke: false, lost: true });
    const lost = device({ revoked_at: null, lost_at: '2026-12-02T09:00:00Z' });
    expect(deviceState(lost)).toBe('lost');
    expect(deviceActions(lost)).toEqual({ revoke: false, lost: false });
    const erased = device({
      revoked_at: '2026-12-02T10:00:00Z',
      lost_at: '2026-12-02T09:00:00Z',
      erased: {
        at: '2026-12-02T10:00:00Z',
        report: { erased_at: '2026-12-02T10:00:00Z', work_orders: 3, customers: 2, records: 40, unsent: 0, files: 5 },
      },
    });
    expect(deviceState(erased)).toBe('erased');
    expect(deviceActions(erased)).toEqual({ revoke: false, lost: false });
  });

  it('draws an enrolment code as a square QR code with its three finder patterns', () => {
    const code = 'K7QM-3XPD-9WRT';
    const m = qrModules(code);
    expect(m.length).toBeGreaterThanOrEqual(21);
    expect(m.every((row) => row.length === m.length)).toBe(true);
    // The three finder patterns: dark 7×7 corners with a light ring.
    for (const [r, c] of [[0, 0], [0, m.length - 7], [m.length - 7, 0]]) {
      expect(m[r][c]).toBe(true);
      expect(m[r + 6][c + 6]).toBe(true);
      expect(m[r + 1][c + 1]).toBe(false);
    }
    // Alphanumeric mode: a 14-character code fits the smallest symbol (21 × 21).
    expect(m.length).toBe(21);
    // Another code draws differently.
    expect(qrModules('AAAA-BBBB-CCCC')).not.toEqual(m);
  });
});
