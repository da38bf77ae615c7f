// What every step of the visit is given by the visit (Visit.svelte).
import type { IpcError, VisitCatalog, VisitStateView } from '../../lib/bindings';
import type { PathStep } from '../../lib/path';

/** Runs a visit command; the answer replaces the visit; the error is the step's to show. */
export type RunStep = (f: () => Promise<VisitStateView>) => Promise<IpcError | null>;

export interface StepProps {
  /** The step's place on the path (`wanted`: opened because the technician went to it). */
  step: PathStep & { wanted?: boolean };
  /** The work order. */
  id: string;
  visit: VisitStateView;
  /** A command is running: buttons wait. */
  busy: boolean;
  run: RunStep;
}

/** Steps that price or take parts also need the fee table and van, and whether the
 *  technician is on the job. */
export interface CatalogStepProps extends StepProps {
  catalog: VisitCatalog | null;
  working: boolean;
}
