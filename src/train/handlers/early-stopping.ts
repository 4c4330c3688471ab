import type { AfterValidate, BeforeFit, BeforePhase, FitHandler } from '../fit-events.js';
import type { EpochRecord, Monitor } from '../fit-types.js';
import type { PhaseOptions } from '../options.js';
import { Tracker } from './tracker.js';

/**
 * Early stopping per phase (fastai's EarlyStoppingCallback): after `patience` epochs in a row that do not improve on
 * the run's best score it answers 'end-phase', so the current phase ends there and a later phase still trains.
 * Epochs before `minEpochs` (counted over the run) are not counted; `patience` 0 turns it off.
 */
export class EarlyStopping implements FitHandler {
  private bad = 0;
  private readonly tracker: Tracker;

  constructor(monitor: Pick<Monitor, 'higherIsBetter'>, private readonly opts: { patience: number; minEpochs: number }) {
    this.tracker = new Tracker(monitor, opts.minEpochs);
  }

  /** Epochs in a row, in this phase, without an improvement. */
  get badEpochs(): number {
    return this.bad;
  }

  /** Lowers the first epoch counted to at most `n` (a re-planned, shorter run). */
  capMinEpochs(n: number): void {
    this.tracker.capMinEpochs(n);
  }

  beforeFit(e: BeforeFit): void {
    this.tracker.reset(e.resume?.best?.score);
  }

  /** Each phase counts afresh, except the phase a resumed run continues. */
  beforePhase(e: BeforePhase): void {
    this.bad = e.resume?.badEpochs ?? 0;
  }

  afterValidate(e: AfterValidate): void | 'end-phase' {
    const j = this.tracker.judge(e.record.valScore, e.history.length);
    if (j === 'improved') this.bad = 0;
    else if (j === 'worse') this.bad++;
    return this.opts.patience > 0 && this.bad >= this.opts.patience ? 'end-phase' : undefined;
  }
}

/** True when early stopping ended some phase before its last epoch (read from the history, so it survives resuming). */
export function stoppedEarly(phases: readonly PhaseOptions[], history: readonly EpochRecord[]): boolean {
  return phases.some((ph, i) => {
    const n = history.filter((h) => h.phase === i).length;
    return n > 0 && n < ph.epochs;
  });
}
