import type { Network, Rng } from '../engine/index.js';
import { ParameterStore, Trainer, bnStatOutputs, createOptimizer, dropoutFeeds, updateRunningStats } from '../engine/index.js';
import { augmentBatch } from './augment.js';
import { gatherRows, type ImageSet } from './image-set.js';
import type { FitOptions } from './options.js';
import { batches, resolveClassWeights, shuffledOrder } from './sampling.js';
import { copyWeights, loadWeights } from './weights.js';

/** An LR range test's curve and suggestion. */
export interface LrFindResult {
  lrs: number[];
  /** Raw training loss at each step (before that step's update). */
  losses: number[];
  /** Exponentially smoothed, bias-corrected losses (fastai: β = 0.98). */
  smoothed: number[];
  /** The suggested peak learning rate: the rate at the smoothed minimum divided by 10 (fastai's `lr_min`). */
  suggested: number;
}

/** Smooths losses as fastai's LRFinder does: EMA with β, divided by (1 − β^t). */
export function smoothLosses(losses: readonly number[], beta = 0.98): number[] {
  let avg = 0;
  return losses.map((l, i) => (avg = beta * avg + (1 - beta) * l) / (1 - beta ** (i + 1)));
}

/**
 * The suggestion from a range test's curve: the rate at the lowest smoothed loss, over 10 (fastai's `lr_min`),
 * clamped to [`lo`, `hi`]; the points after the loss blew up (above 4× its minimum) are not considered.
 */
export function suggestLr(lrs: readonly number[], smoothed: readonly number[], lo = 1e-5, hi = 1e-1): number {
  let best = 0;
  for (let i = 1; i < smoothed.length; i++) {
    if (smoothed[i]! > 4 * smoothed[best]!) break;
    if (smoothed[i]! < smoothed[best]!) best = i;
  }
  return Math.min(hi, Math.max(lo, lrs[best]! / 10));
}

/**
 * fastai's `lr_find` on the training images only: `steps` steps of the fit's optimizer, loss and augmentation at
 * rates growing exponentially from `start` to `end`, stopping early once the smoothed loss exceeds 4× its minimum;
 * `net`'s weights and buffers are restored afterwards. Seeded from `rng`.
 */
export async function lrFind(o: {
  net: Network; train: ImageSet; options: FitOptions; rng: Rng; threads?: number; steps?: number; start?: number; end?: number;
}): Promise<LrFindResult> {
  const { net, train, options: f } = o;
  const steps = o.steps ?? 60;
  const start = o.start ?? 1e-5;
  const end = o.end ?? 1;
  const k = net.numClasses;
  const bs = Math.min(f.batchSize, train.dims[0]);
  const saved = copyWeights(net);
  const store = new ParameterStore();
  for (const [name, data] of net.params) store.add(name, data, net.shapes.get(name)!);
  const optimizer = createOptimizer(f.optimizer === 'sgd'
    ? { name: 'sgd', lr: start, momentum: f.momentum, weightDecay: f.weightDecay, nesterov: f.momentum > 0 }
    : { name: 'adamw', lr: start, weightDecay: f.weightDecay });
  const rate = (s: number) => (end / start) ** (s / Math.max(1, steps - 1));
  const forward = net.trainGraph();
  forward.inputs = forward.inputs.map((v) => (v.name === 'x' ? { ...v, dims: [bs, ...v.dims.slice(1)] } : v));
  const cw = resolveClassWeights(f.classWeights, train.labels, k);
  const trainer = await Trainer.compile(forward, {
    params: store, optimizer, keepOutputs: bnStatOutputs(net), schedule: rate,
    loss: { kind: 'cross-entropy', ...(cw ? { classWeights: cw } : {}), ...(f.labelSmoothing > 0 ? { labelSmoothing: f.labelSmoothing } : {}) },
    options: { threads: o.threads ?? 0, ...(f.clipNorm > 0 ? { clipNorm: f.clipNorm } : {}), totalSteps: steps },
  });
  const xDims = [bs, ...net.inputDims];
  const xBuf = new Float32Array(xDims.reduce((a, b) => a * b, 1));
  const yBuf = new BigInt64Array(bs);
  const lrs: number[] = [];
  const losses: number[] = [];
  try {
    for (let epoch = 0; losses.length < steps; epoch++) {
      const erng = o.rng.fork(`epoch${epoch}`);
      const augRng = erng.fork('augment');
      const dropRng = erng.fork('dropout');
      for (const rows of batches(shuffledOrder(train.dims[0], erng.fork('sampler')), bs, true)) {
        if (losses.length >= steps) break;
        gatherRows(train, rows, xBuf);
        rows.forEach((row, i) => (yBuf[i] = BigInt(train.labels[row]!)));
        augmentBatch(xBuf, xDims, f.augment, augRng);
        lrs.push(start * rate(losses.length));
        const res = await trainer.step({ x: { dtype: 'float32', dims: xDims, data: xBuf }, labels: { dtype: 'int64', dims: [bs], data: yBuf } }, dropoutFeeds(net, dropRng, bs));
        updateRunningStats(net.buffers, net.bnStats, res.kept);
        losses.push(res.loss);
        const sm = smoothLosses(losses);
        if (!Number.isFinite(res.loss) || sm.at(-1)! > 4 * Math.min(...sm)) break;
      }
    }
  } finally {
    await trainer.dispose();
    loadWeights(net, saved);
  }
  const smoothed = smoothLosses(losses);
  return { lrs, losses, smoothed, suggested: suggestLr(lrs, smoothed) };
}
