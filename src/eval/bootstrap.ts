import type { Rng } from '../engine/index.js';
import type { Interval } from './types.js';

/**
 * Percentile of sorted values with linear interpolation, as `numpy.percentile(method="linear")`;
 * `q` in [0, 1]. NaN for an empty input.
 */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const m = sorted.length;
  if (m === 0) return NaN;
  const pos = (m - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(m - 1, lo + 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Stratified bootstrap resample weights: for each class, as many rows as the class has, drawn with
 * replacement from that class (so class counts are those of the sample). Returns the multiplicity of each
 * row [N], to pass as `sampleWeight`, which equals evaluating on the resampled rows.
 */
export function stratifiedResampleWeights(byClass: readonly Int32Array[], n: number, rng: Rng): Float64Array {
  const w = new Float64Array(n);
  for (const rows of byClass) {
    for (let j = 0; j < rows.length; j++) w[rows[rng.int(0, rows.length)]!]! += 1;
  }
  return w;
}

/** Row indices of each class 0..K−1 (the strata). */
export function rowsByClass(labels: Int32Array, classes: number): Int32Array[] {
  const lists: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((y, i) => lists[y]!.push(i));
  return lists.map((l) => Int32Array.from(l));
}

/** Bootstrap confidence intervals for named statistics. */
export interface BootstrapResult {
  /** resamples drawn */
  n: number;
  level: number;
  method: 'stratified bootstrap, percentile';
  /** CI per statistic key; keys whose resamples were all NaN are absent */
  intervals: Record<string, Interval>;
}

/**
 * Percentile bootstrap CIs (Efron & Tibshirani 1993) at `level` for every statistic returned by `statistic`,
 * resampling rows within each class. `statistic(weights)` evaluates on the sample weighted by multiplicities.
 * Deterministic for a given `rng` state; NaN resamples of a statistic are dropped.
 */
export function stratifiedBootstrap(labels: Int32Array, classes: number, statistic: (weights: Float64Array) => Record<string, number>, nResamples: number, level: number, rng: Rng): BootstrapResult {
  const byClass = rowsByClass(labels, classes);
  const samples = new Map<string, number[]>();
  for (let b = 0; b < nResamples; b++) {
    const values = statistic(stratifiedResampleWeights(byClass, labels.length, rng));
    for (const [k, v] of Object.entries(values)) {
      if (!samples.has(k)) samples.set(k, []);
      if (!Number.isNaN(v)) samples.get(k)!.push(v);
    }
  }
  const intervals: Record<string, Interval> = {};
  const tail = (1 - level) / 2;
  for (const [k, vs] of samples) {
    if (vs.length === 0) continue;
    const sorted = Float64Array.from(vs).sort();
    intervals[k] = { low: percentileSorted(sorted, tail), high: percentileSorted(sorted, 1 - tail) };
  }
  return { n: nResamples, level, method: 'stratified bootstrap, percentile', intervals };
}
