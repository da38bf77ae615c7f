// The visit's path as its own small piece of state: which steps the visit has, which are
// done, which one comes next, and what is left before it can be completed. The screen draws
// it; nothing here touches the DOM or the API.
import type { VisitStateView, WorkOrderStatus } from './bindings';
import { partsToTake } from './visit';

export type StepId = 'diagnosis' | 'quote' | 'parts' | 'payment' | 'feedback' | 'signature' | 'complete';

/** done; next (the one to do now); todo (later); skipped (the visit does not need it). */
export type StepState = 'done' | 'next' | 'todo' | 'skipped';

export interface PathStep {
  id: StepId;
  state: StepState;
  /** Shown as 1, 2, 3… over the steps that are not skipped (no jump from 2 to 4). */
  number: number | null;
  /** Completion can go ahead without it (feedback: the customer may not give any). */
  optional: boolean;
}

export interface VisitPath {
  steps: PathStep[];
  /** The step to do now; null once the visit is closed. */
  next: StepId | null;
  /** Required steps not done yet, before the signature (what blocks completion). */
  left: StepId[];
  /** Everything before the signature is done: the signature pad and "complete" are useful. */
  readyToSign: boolean;
}

const ORDER: StepId[] = ['diagnosis', 'quote', 'parts', 'payment', 'feedback', 'signature', 'complete'];

/** Statuses in which the visit is being carried out (the technician can act). */
export function isWorking(status: WorkOrderStatus): boolean {
  return status === 'on_site' || status === 'in_progress';
}

/** Statuses in which the visit is over (nothing left to do but look, or add a note). */
export function isClosed(status: WorkOrderStatus): boolean {
  return status === 'completed' || status === 'unable_to_complete' || status === 'cancelled';
}

/** Where the visit stands. `signed`: the latest customer signature matches the content. */
export function visitPath(visit: VisitStateView | null, status: WorkOrderStatus, signed: boolean): VisitPath {
  const quote = visit?.quote ?? null;
  const decided = quote?.decision?.decision ?? null;
  const toTake = partsToTake(quote, visit?.parts ?? []);
  const balance = visit?.balance ?? null;

  const done: Record<StepId, boolean> = {
    diagnosis: visit?.diagnosis != null,
    quote: decided !== null,
    parts: decided === 'accepted' && toTake.every((p) => p.remaining === 0),
    payment:
      decided !== null &&
      balance !== null &&
      (balance.outstanding_minor <= 0 || balance.settlement === 'invoiced_later'),
    feedback: visit?.feedback != null,
    signature: signed,
    complete: status === 'completed',
  };
  const skipped: Record<StepId, boolean> = {
    diagnosis: false,
    quote: false,
    // No parts on the quote, or the customer declined it: nothing to take from the van.
    parts: decided === 'declined' || (quote !== null && toTake.length === 0),
    payment: false,
    feedback: false,
    signature: false,
    complete: false,
  };
  const closed = isClosed(status);
  const optional = (id: StepId) => id === 'feedback';

  let next: StepId | null = null;
  if (!closed) {
    next = ORDER.find((id) => !done[id] && !skipped[id]) ?? null;
  }
  const left = ORDER.slice(0, ORDER.indexOf('signature')).filter(
    (id) => !done[id] && !skipped[id] && !optional(id),
  );
  let n = 0;
  const steps = ORDER.map((id): PathStep => {
    const state: StepState = skipped[id] ? 'skipped' : done[id] ? 'done' : id === next ? 'next' : 'todo';
    return { id, state, number: state === 'skipped' ? null : ++n, optional: optional(id) };
  });
  return { steps, next, left, readyToSign: !closed && left.length === 0 };
}
