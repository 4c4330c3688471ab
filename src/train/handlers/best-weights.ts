import type { AfterValidate, BeforeFit, FitHandler } from '../fit-events.js';
import type { FitState, Monitor } from '../fit-types.js';
import { copyWeights } from '../weights.js';
import { Tracker } from './tracker.js';

/**
 * Keeps a copy of the weights of the best epoch by the monitor (fastai's SaveModelCallback, in memory): after each
 * validation that improves on the best score, counted from `minEpochs` on over the whole run, not per phase.
 */
export class BestWeights implements FitHandler {
  private kept: FitState['best'];
  private readonly tracker: Tracker;

  constructor(monitor: Pick<Monitor, 'higherIsBetter'>, minEpochs: number) {
    this.tracker = new Tracker(monitor, minEpochs);
  }

  /** The best epoch so far (its score, phase, 1-based epoch and weights), or undefined before one is chosen. */
  get best(): FitState['best'] {
    return this.kept;
  }

  /** Lowers the first epoch that may be chosen to at most `n` (a re-planned, shorter run). */
  capMinEpochs(n: number): void {
    this.tracker.capMinEpochs(n);
  }

  beforeFit(e: BeforeFit): void {
    this.kept = e.resume?.best;
    this.tracker.reset(this.kept?.score);
  }

  afterValidate(e: AfterValidate): void {
    const { record } = e;
    if (this.tracker.judge(record.valScore, e.history.length) === 'improved') {
      this.kept = { score: record.valScore, epoch: record.epoch, phase: record.phase, params: copyWeights(e.net) };
    }
  }
}
