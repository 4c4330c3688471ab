import type { Network } from '../engine/index.js';
import type { AfterBatch, BeforeFit, FitHandler } from './fit-events.js';
import { copyWeights } from './weights.js';

/**
 * The decay of update `t` (1-based): `min(decay, (1 + t) / (10 + t))`, the warm-up of TensorFlow's
 * ExponentialMovingAverage `num_updates` and timm's ModelEmaV3, so early averages are not dominated by the init.
 */
export function emaDecayAt(decay: number, t: number): number {
  return Math.min(decay, (1 + t) / (10 + t));
}

/**
 * An exponential moving average of every parameter and buffer of `net` (Polyak averaging; timm's ModelEma), updated
 * after each training step: `avg ← d·avg + (1 − d)·w`. `swap()` exchanges the averages with the network's arrays in
 * place (the trainer keeps feeding the same arrays), so validation, the best-weights copy and export see the average
 * while training continues on the raw weights after the second swap.
 */
export class WeightEma implements FitHandler {
  private avg: Map<string, Float32Array> = new Map();
  private updates = 0;
  private swapped = false;

  constructor(private readonly net: Network, private readonly decay: number) {}

  /** The averaged weights (the network's raw ones while swapped) and the updates so far, for a checkpoint. */
  get state(): { weights: ReadonlyMap<string, Float32Array>; updates: number } {
    return { weights: this.avg, updates: this.updates };
  }

  beforeFit(e: BeforeFit): void {
    this.avg = e.resume?.ema ? new Map([...e.resume.ema].map(([n, d]) => [n, d.slice()])) : copyWeights(this.net);
    this.updates = e.resume?.step ?? 0;
    this.swapped = false;
  }

  afterBatch(_e: AfterBatch): void {
    const d = emaDecayAt(this.decay, ++this.updates);
    const c = 1 - d;
    for (const [n, w] of [...this.net.params, ...this.net.buffers]) {
      const a = this.avg.get(n)!;
      for (let i = 0; i < a.length; i++) a[i] = d * a[i]! + c * w[i]!;
    }
  }

  /** Exchanges the averages with the network's weights (call twice to go back). */
  swap(): void {
    for (const [n, w] of [...this.net.params, ...this.net.buffers]) {
      const a = this.avg.get(n)!;
      const t = w.slice();
      w.set(a);
      a.set(t);
    }
    this.swapped = !this.swapped;
  }

  /** True while the network holds the averages. */
  get active(): boolean {
    return this.swapped;
  }
}
