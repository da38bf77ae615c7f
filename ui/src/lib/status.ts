import type { WorkOrderStatus } from './bindings';

/** A status the technician can move to (head office sets the others). */
export type Action = Exclude<WorkOrderStatus, 'assigned' | 'cancelled'>;

/** The buttons the detail screen offers: forward steps first, "unable to complete" last. */
export function forwardActions(next: WorkOrderStatus[]): Action[] {
  const actions = next.filter((s): s is Action => s !== 'assigned' && s !== 'cancelled');
  const forward = actions.filter((s) => s !== 'unable_to_complete');
  return actions.includes('unable_to_complete') ? [...forward, 'unable_to_complete'] : forward;
}
