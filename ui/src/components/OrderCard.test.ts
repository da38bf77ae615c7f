import { flushSync, mount, unmount } from 'svelte';
import { afterEach, expect, it, vi } from 'vitest';
import type { WorkOrderSummary } from '../lib/bindings';
import { i18n } from '../lib/i18n.svelte';
import OrderCard from './OrderCard.svelte';

const order: WorkOrderSummary = {
  id: 'wo-1',
  order_no: 'WO-20261124-002',
  customer_name: '张志强',
  customer_phone: '13501234567',
  address: '北京市西城区西直门外大街18号',
  appliance_category: 'water_purifier',
  appliance_model: 'QY-RO500',
  job_type: 'repair',
  status: 'assigned',
  appointment_start: new Date(2026, 10, 24, 9, 30).toISOString(),
  appointment_end: new Date(2026, 10, 24, 11, 0).toISOString(),
  lateness: 'late',
};

let app: Record<string, unknown> | undefined;
afterEach(() => {
  if (app) unmount(app);
  document.body.innerHTML = '';
  i18n.locale = 'en';
});

it('shows the customer, the translated status and the late marker, and opens on click', () => {
  i18n.locale = 'zh-CN';
  const onOpen = vi.fn();
  app = mount(OrderCard, { target: document.body, props: { order, today: '2026-11-24', onOpen } });
  flushSync();
  const card = document.querySelector<HTMLButtonElement>('[data-testid="order-card"]')!;
  expect(card.textContent).toContain('张志强');
  expect(card.textContent).toContain('09:30–11:00');
  expect(card.querySelector('[data-testid="status"]')!.textContent).toBe('已派工');
  expect(card.querySelector('[data-testid="lateness"]')!.textContent).toBe('已迟到');
  expect(card.textContent).toContain('净水器');
  card.click();
  expect(onOpen).toHaveBeenCalledWith('wo-1');
});

it('shows no marker when on time', () => {
  app = mount(OrderCard, {
    target: document.body,
    props: { order: { ...order, lateness: 'on_time' }, onOpen: () => {} },
  });
  flushSync();
  expect(document.querySelector('[data-testid="lateness"]')).toBeNull();
});

it('shows the phone in search results with the typed fragment marked', () => {
  app = mount(OrderCard, {
    target: document.body,
    props: { order, onOpen: () => {}, phone: '138 0013 8000', query: '00138' },
  });
  flushSync();
  const phone = document.querySelector('[data-testid="customer-phone"]')!;
  expect(phone.textContent).toBe('Phone 138 0013 8000');
  expect(phone.querySelector('mark')!.textContent).toBe('0013 8');
});

it('shows no phone line when it is not known', () => {
  app = mount(OrderCard, { target: document.body, props: { order, onOpen: () => {} } });
  flushSync();
  expect(document.querySelector('[data-testid="customer-phone"]')).toBeNull();
});
