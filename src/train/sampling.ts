import type { Rng } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import type { FitOptions } from './options.js';

/** Per-class counts for labels in [0, numClasses). */
export function countLabels(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]! += 1;
  return counts;
}

/**
 * Balanced class weights w_c = N / (C · n_c), as scikit-learn's `compute_class_weight('balanced')`;
 * a class absent from the labels gets weight 0.
 */
export function balancedClassWeights(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = countLabels(labels, numClasses);
  const present = counts.filter((c) => c > 0).length;
  return counts.map((c) => (c > 0 ? labels.length / (present * c) : 0));
}

/** A class-weight setting (`fit.classWeights`): 'auto' (N/(C·n_c)), 'sqrt' (its square root, rescaled so the mean row weight stays 1), 'none', or one per class. */
export type ClassWeightSpec = FitOptions['classWeights'];

/** Throws when a per-class list (class weights, focal α) does not hold one entry per class. */
export function checkPerClass(list: readonly number[], numClasses: number, what: string): void {
  if (list.length === numClasses) return;
  throw new MedclassError('MC_TRAIN_BAD_CONFIG', `${what} lists ${list.length} weight${list.length === 1 ? '' : 's'} for ${numClasses} classes`, {
    hint: "give one weight per class, in class order, or 'auto' / 'sqrt' / 'none'",
  });
}

/** Checks every per-class list of the fit options (class weights, focal α) against the class count. */
export function checkClassLists(o: Pick<FitOptions, 'classWeights' | 'loss'>, numClasses: number): void {
  if (typeof o.classWeights !== 'string') checkPerClass(o.classWeights, numClasses, 'fit.classWeights');
  if (o.loss.kind === 'focal' && o.loss.alpha) checkPerClass(o.loss.alpha, numClasses, 'fit.loss.alpha');
}

/**
 * The per-class loss weights a setting stands for on these labels (undefined = unweighted). A list must hold one
 * weight per class: a single weight would broadcast in the loss graph, another wrong length fail inside onnxruntime.
 */
export function resolveClassWeights(spec: ClassWeightSpec, labels: ArrayLike<number>, numClasses: number, what = 'fit.classWeights'): number[] | undefined {
  if (spec === 'none') return undefined;
  if (typeof spec !== 'string') {
    checkPerClass(spec, numClasses, what);
    return [...spec];
  }
  const balanced = balancedClassWeights(labels, numClasses);
  if (spec === 'auto') return balanced;
  const counts = countLabels(labels, numClasses);
  const root = balanced.map(Math.sqrt);
  const mean = root.reduce((a, w, c) => a + w * counts[c]!, 0) / labels.length;
  return root.map((w) => w / mean);
}

/** Shuffled epoch order: a permutation of 0..n-1 from `rng`. */
export function shuffledOrder(n: number, rng: Rng): number[] {
  return rng.permutation(n);
}

/**
 * Weighted random sampling with replacement (torch WeightedRandomSampler): `n` indices drawn with probability
 * proportional to `1 / n_{label}`, so classes appear about equally often (oversampling the rare ones).
 */
export function balancedSampleOrder(labels: ArrayLike<number>, numClasses: number, n: number, rng: Rng): number[] {
  const counts = countLabels(labels, numClasses);
  const cum = new Float64Array(labels.length);
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    total += 1 / counts[labels[i]!]!;
    cum[i] = total;
  }
  const order: number[] = [];
  for (let k = 0; k < n; k++) {
    const u = rng.uniform() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    order.push(lo);
  }
  return order;
}

/** Splits an order into consecutive batches of `batchSize` (the last may be shorter unless `dropLast`). */
export function batches(order: readonly number[], batchSize: number, dropLast = false): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const b = order.slice(i, i + batchSize);
    if (b.length === batchSize || (!dropLast && b.length > 0)) out.push(b);
  }
  return out;
}
