import { describe, expect, it } from 'vitest';
import type { ErrorCode, JobType, WorkOrderStatus } from './bindings';
import { dictionaries, format, i18n, label, resolveLocale, t, type Key } from './i18n.svelte';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('translations', () => {
  it('both languages have the same keys and placeholders', () => {
    const en = dictionaries.en;
    const zh = dictionaries['zh-CN'];
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en) as Key[]) {
      expect(placeholders(zh[key]), key).toEqual(placeholders(en[key]));
      expect(zh[key].trim(), key).not.toBe('');
    }
  });

  it('covers every error code, status and job type the Rust side can send', () => {
    // `satisfies` makes svelte-check fail when Rust adds a variant this list lacks.
    const codes = {
      db_corrupt: 1, db_locked: 1, db_too_new: 1, db_io: 1, not_found: 1,
      transition_not_allowed: 1, reason_required: 1, signature_required: 1, document_failed: 1,
      invalid_input: 1, internal: 1,
      invalid_quantity: 1, invalid_amount: 1, price_not_editable: 1, payment_above_due: 1,
      purchase_date_in_future: 1, order_cancelled: 1, order_closed: 1, insufficient_stock: 1,
      photo_too_large: 1,
      quote_required: 1, quote_not_accepted: 1, no_fee_table: 1,
      sync_not_enrolled: 1, sync_offline: 1, sync_bad_address: 1, sync_bad_certificate: 1,
      sync_code_refused: 1, sync_device_revoked: 1, sync_server_error: 1, sync_unsent_elsewhere: 1,
      job_closed: 1, fault_required: 1, quote_empty: 1, no_pdf_viewer: 1, demo_in_progress: 1, enrol_unreachable: 1,
      pin_too_short: 1, pin_wrong: 1, pin_wait: 1, key_unavailable: 1, locked: 1,
    } satisfies Record<ErrorCode, 1>;
    const statuses = {
      assigned: 1, en_route: 1, on_site: 1, in_progress: 1, completed: 1,
      unable_to_complete: 1, cancelled: 1,
    } satisfies Record<WorkOrderStatus, 1>;
    const jobs = { install: 1, maintain: 1, repair: 1, relocate: 1, inspect: 1 } satisfies Record<JobType, 1>;
    const keys = [
      ...Object.keys(codes).map((c) => `error.${c}`),
      ...Object.keys(statuses).map((s) => `status.${s}`),
      ...Object.keys(jobs).map((j) => `job.${j}`),
    ];
    for (const k of keys) expect(dictionaries.en).toHaveProperty([k]);
  });

  it('error texts name the file', () => {
    expect(dictionaries.en['error.db_corrupt']).toContain('{file}');
    expect(dictionaries['zh-CN']['error.db_locked']).toContain('{file}');
  });
});

describe('resolveLocale', () => {
  it.each([
    [null, 'zh-CN', 'zh-CN'],
    [null, 'zh_CN.UTF-8', 'zh-CN'],
    [null, 'zh-TW', 'zh-CN'],
    [null, 'en-US', 'en'],
    [null, 'C', 'en'],
    ['en', 'zh-CN', 'en'],
    ['zh-CN', 'en-GB', 'zh-CN'],
    ['fr', 'en-GB', 'en'],
  ])('saved %s, system %s → %s', (saved, system, want) => {
    expect(resolveLocale(saved, system)).toBe(want);
  });
});

describe('t', () => {
  it('fills placeholders in the current language', () => {
    i18n.locale = 'zh-CN';
    expect(t('today.count', { count: 3 })).toBe('共 3 张工单');
    i18n.locale = 'en';
    expect(t('today.count', { count: 3 })).toBe('3 work orders');
  });

  it('leaves unknown placeholders visible rather than blank', () => {
    expect(format('a {x} {y}', { x: 1 })).toBe('a 1 {y}');
  });

  it('labels known categories and shows unknown ones as they are', () => {
    i18n.locale = 'zh-CN';
    expect(label('category', 'water_purifier')).toBe('净水器');
    expect(label('category', 'espresso_machine')).toBe('espresso_machine');
    i18n.locale = 'en';
  });
});
