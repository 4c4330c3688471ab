import { oneVsRest } from './ranking.js';
import { column } from './probabilities.js';

/**
 * Mean over classes of a ranking metric (one-vs-rest; the positive class alone for two classes), skipping classes
 * where it is undefined; NaN when none is defined.
 */
export function macroOneVsRest(score: (isPositive: Uint8Array, scores: Float64Array) => number, labels: Int32Array, probs: Float64Array, k: number): number {
  if (k === 2) return score(oneVsRest(labels, 1), column(probs, 2, 1));
  let s = 0;
  let n = 0;
  for (let c = 0; c < k; c++) {
    const v = score(oneVsRest(labels, c), column(probs, k, c));
    if (Number.isFinite(v)) { s += v; n++; }
  }
  return n ? s / n : NaN;
}
