import type { Monitor } from '../fit-types.js';

/** How one epoch's validation score compares with the best so far. */
export type Judgement = 'improved' | 'worse' | 'too-early';

/**
 * The best validation score of a run, as fastai's TrackerCallback: an epoch improves when its score beats the best
 * strictly, in the monitor's direction. Epochs while the history is shorter than `minEpochs` are 'too-early' (neither
 * chosen nor counted). A NaN score never improves on a number.
 */
export class Tracker {
  private bestScore: number | undefined;

  constructor(private readonly monitor: Pick<Monitor, 'higherIsBetter'>, private minEpochs: number) {}

  /** Lowers `minEpochs` to at most `n` (a re-planned, shorter run). */
  capMinEpochs(n: number): void {
    this.minEpochs = Math.min(this.minEpochs, n);
  }

  /** Starts from a checkpoint's best score (or from none). */
  reset(bestScore: number | undefined): void {
    this.bestScore = bestScore;
  }

  /** Judges `score`, the latest of `historyLength` epochs, and keeps it when it improved. */
  judge(score: number, historyLength: number): Judgement {
    if (historyLength < this.minEpochs) return 'too-early';
    const b = this.bestScore;
    const improved = b === undefined || (this.monitor.higherIsBetter ? score > b : score < b);
    if (improved) this.bestScore = score;
    return improved ? 'improved' : 'worse';
  }
}
