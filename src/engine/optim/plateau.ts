import type { PlateauOptions } from '../options.js';
import type { Optimizer } from './optimizer.js';

/**
 * Reduce-on-plateau as torch.optim.lr_scheduler.ReduceLROnPlateau: after `patience` epochs without an improvement
 * of more than `threshold` (relative or absolute), multiply every group's lr by `factor` (not below `minLr`), then
 * wait `cooldown` epochs. It scales `initialLr` too, so a step schedule running alongside keeps the reduction.
 */
export class ReduceLrOnPlateau {
  best: number;
  badEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;

  constructor(readonly opts: PlateauOptions) {
    this.best = opts.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(a: number): boolean {
    const { mode, thresholdMode, threshold } = this.opts;
    if (mode === 'min') return thresholdMode === 'rel' ? a < this.best * (1 - threshold) : a < this.best - threshold;
    return thresholdMode === 'rel' ? a > this.best * (1 + threshold) : a > this.best + threshold;
  }

  /** Records one epoch's metric; reduces the optimizer's lrs when it plateaued. Returns true when it reduced. */
  step(metric: number, optimizer: Optimizer): boolean {
    this.lastEpoch++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.badEpochs = 0;
    } else {
      this.badEpochs++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.badEpochs = 0;
    }
    if (this.badEpochs <= this.opts.patience) return false;
    let reduced = false;
    for (const g of optimizer.groups) {
      const next = Math.max(g.lr * this.opts.factor, this.opts.minLr);
      if (g.lr - next > this.opts.eps) {
        g.initialLr *= next / g.lr;
        g.lr = next;
        reduced = true;
      }
    }
    this.cooldownCounter = this.opts.cooldown;
    this.badEpochs = 0;
    return reduced;
  }

  /** State for checkpoints. */
  stateDict(): { best: number; badEpochs: number; cooldownCounter: number; lastEpoch: number } {
    return { best: this.best, badEpochs: this.badEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch };
  }

  loadStateDict(s: { best: number; badEpochs: number; cooldownCounter: number; lastEpoch: number }): void {
    Object.assign(this, s);
  }
}
