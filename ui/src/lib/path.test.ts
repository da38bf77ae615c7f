import { describe, expect, it } from 'vitest';
import type { PricedLine, QuoteView, VisitStateView } from './bindings';
import { visitPath } from './path';

const money = (minor: number) => ({ minor, currency: 'CNY' }) as never;

function line(code: string, kind: 'part' | 'service', quantity = 1): PricedLine {
  return {
    code, name: { zh: code, en: code }, kind, component: null, quantity, unit_price: money(100),
    price_set_by_technician: false, amount: money(100 * quantity), status: 'charged', covered_by: null,
    old_part: null, charged: money(100 * quantity), includes: [], reasons: [],
  } as PricedLine;
}

function quote(lines: PricedLine[], decision: 'accepted' | 'declined' | null): QuoteView {
  const priced = { fee_table: {} as never, work_date: '2026-12-06', lines, totals: {} as never };
  return {
    id: 'q', work_order_id: 'w', fee_table_id: 'f', fee_table_version: 1, issued_at: '', priced, current: priced,
    decision: decision ? { decision, at: '' } : null, callout: null,
  };
}

function visit(over: Partial<VisitStateView> = {}): VisitStateView {
  return {
    work_order_id: 'w', status: 'on_site', stage: 'not_started', diagnosis: null, quote: null, parts: [], returns: [],
    payments: [], feedback: null,
    balance: { due_minor: 0, paid_minor: 0, outstanding_minor: 0, invoiced_later_minor: null, settlement: 'nothing_due' },
    ...over,
  };
}

const diagnosis = { id: 'd', fault_found: 'clogged', components: [], exclusions: [], notes: '', photos: [], recorded_at: '' };
const owing = (minor: number) => ({ due_minor: minor, paid_minor: 0, outstanding_minor: minor, invoiced_later_minor: null, settlement: 'unpaid' as const });
const paid = (minor: number) => ({ due_minor: minor, paid_minor: minor, outstanding_minor: 0, invoiced_later_minor: null, settlement: 'paid' as const });
const use = (part_no: string, quantity: number) => ({ id: part_no, part_id: part_no, part_no, quantity, serial_fitted: null, serial_removed: null, override_reason: null, at: '', old_returned: 0 });

const states = (p: ReturnType<typeof visitPath>) => Object.fromEntries(p.steps.map((s) => [s.id, s.state]));

describe('the visit path', () => {
  it('starts with the diagnosis and lists every required step as left', () => {
    const p = visitPath(visit(), 'on_site', false);
    expect(p.next).toBe('diagnosis');
    expect(p.left).toEqual(['diagnosis', 'quote', 'parts', 'payment']);
    expect(p.readyToSign).toBe(false);
  });

  it('moves on step by step through a paid repair', () => {
    const q = quote([line('REPLACE', 'service'), line('F-PP-10', 'part')], null);
    let p = visitPath(visit({ diagnosis, quote: q, balance: owing(8800) }), 'on_site', false);
    expect(p.next).toBe('quote');
    const accepted = quote(q.priced.lines, 'accepted');
    p = visitPath(visit({ diagnosis, quote: accepted, balance: owing(8800) }), 'in_progress', false);
    expect(p.next).toBe('parts');
    p = visitPath(visit({ diagnosis, quote: accepted, parts: [use('F-PP-10', 1)], balance: owing(8800) }), 'in_progress', false);
    expect(p.next).toBe('payment');
    expect(p.left).toEqual(['payment']);
    p = visitPath(visit({ diagnosis, quote: accepted, parts: [use('F-PP-10', 1)], balance: paid(8800) }), 'in_progress', false);
    // Feedback is next but optional: the customer can sign already.
    expect(p.next).toBe('feedback');
    expect(p.left).toEqual([]);
    expect(p.readyToSign).toBe(true);
    p = visitPath(visit({ diagnosis, quote: accepted, parts: [use('F-PP-10', 1)], balance: paid(8800), feedback: { rating: 5, comment: '', callback_allowed: true, at: '' } }), 'in_progress', false);
    expect(p.next).toBe('signature');
    p = visitPath(visit({ diagnosis, quote: accepted, parts: [use('F-PP-10', 1)], balance: paid(8800) }), 'in_progress', true);
    expect(p.next).toBe('feedback');
    p = visitPath(visit({ diagnosis, quote: accepted, parts: [use('F-PP-10', 1)], balance: paid(8800), feedback: { rating: 5, comment: '', callback_allowed: true, at: '' } }), 'in_progress', true);
    expect(p.next).toBe('complete');
  });

  it('counts a part as taken only when all of the quoted quantity is', () => {
    const q = quote([line('F-PP-10', 'part', 2)], 'accepted');
    const p = visitPath(visit({ diagnosis, quote: q, parts: [use('F-PP-10', 1)], balance: owing(200) }), 'in_progress', false);
    expect(states(p).parts).toBe('next');
  });

  it('skips parts when none are quoted, and numbers the steps without a gap', () => {
    const q = quote([line('MAINT', 'service')], 'accepted');
    const p = visitPath(visit({ diagnosis, quote: q, balance: owing(5000) }), 'in_progress', false);
    expect(states(p).parts).toBe('skipped');
    expect(p.steps.map((s) => s.number)).toEqual([1, 2, null, 3, 4, 5, 6]);
    expect(p.next).toBe('payment');
  });

  it('skips parts when the quote is declined', () => {
    const q = quote([line('F-PP-10', 'part')], 'declined');
    const p = visitPath(visit({ diagnosis, quote: q, balance: owing(3000) }), 'on_site', false);
    expect(states(p).parts).toBe('skipped');
    expect(p.next).toBe('payment');
  });

  it('takes invoicing later as settled', () => {
    const q = quote([line('MAINT', 'service')], 'accepted');
    const balance = { ...owing(5000), invoiced_later_minor: 5000, settlement: 'invoiced_later' as const };
    const p = visitPath(visit({ diagnosis, quote: q, balance }), 'in_progress', false);
    expect(states(p).payment).toBe('done');
    expect(p.readyToSign).toBe(true);
  });

  it('has no next step once the visit is closed', () => {
    const p = visitPath(visit({ diagnosis }), 'completed', true);
    expect(p.next).toBeNull();
    expect(states(p).complete).toBe('done');
    expect(p.readyToSign).toBe(false);
    expect(visitPath(visit(), 'unable_to_complete', false).next).toBeNull();
  });
});
