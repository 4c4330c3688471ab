import type { Optimizer } from '../../engine/index.js';
import { ReduceLrOnPlateau } from '../../engine/index.js';
import type { AfterValidate, BeforePhase, FitHandler, SetLr } from '../fit-events.js';
import type { Monitor } from '../fit-types.js';

type PlateauState = ReturnType<ReduceLrOnPlateau['stateDict']>;

/**
 * The `plateau` schedule: torch's ReduceLROnPlateau on the monitored score (factor 0.5, patience 2, relative
 * threshold 1e-4, no cooldown), started afresh each phase. It answers with the reduced learning rates; the loop sets them.
 */
export class PlateauSchedule implements FitHandler {
  private scheduler: ReduceLrOnPlateau | undefined;

  constructor(private readonly monitor: Pick<Monitor, 'higherIsBetter'>) {}

  /** The scheduler's resumable state (undefined before the first phase). */
  stateDict(): PlateauState | undefined {
    return this.scheduler?.stateDict();
  }

  beforePhase(e: BeforePhase): void {
    this.scheduler = new ReduceLrOnPlateau({
      mode: this.monitor.higherIsBetter ? 'max' : 'min', factor: 0.5, patience: 2, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8,
    });
    if (e.resume?.plateau) this.scheduler.loadStateDict(e.resume.plateau);
  }

  afterValidate(e: AfterValidate): void | SetLr {
    // ReduceLrOnPlateau changes the lrs of the optimizer it is given (it reads and writes only `groups`): give it a
    // copy of the groups and answer with the result, so the loop, not this handler, writes the optimizer.
    const groups = e.lrGroups.map((g) => ({ ...g }));
    const reduced = this.scheduler!.step(e.record.valScore, { groups } as Pick<Optimizer, 'groups'> as Optimizer);
    return reduced ? { lrGroups: groups.map((g) => ({ lr: g.lr, initialLr: g.initialLr })) } : undefined;
  }
}
