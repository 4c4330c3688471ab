import type { OnEvalEvent, SampleWeight } from './types.js';

/** Row indices sorted by score, highest first (ties in any order: only tie groups matter below). */
export function descendingOrder(scores: Float64Array): Int32Array {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[b]! - scores[a]!);
}

/** Cumulative false/true positives at each distinct threshold, highest threshold first. */
export interface ClfCurve {
  fps: Float64Array;
  tps: Float64Array;
  thresholds: Float64Array;
}

/**
 * As scikit-learn's `_binary_clf_curve`: for each distinct score (descending) the weighted count of
 * negatives (fps) and positives (tps) scoring at or above it. Zero-weight rows are ignored.
 * `order` may be passed to reuse a sort (from `descendingOrder(scores)`).
 */
export function binaryClfCurve(isPositive: Uint8Array, scores: Float64Array, sampleWeight?: SampleWeight, order = descendingOrder(scores)): ClfCurve {
  const fps: number[] = [];
  const tps: number[] = [];
  const thresholds: number[] = [];
  let fp = 0;
  let tp = 0;
  let last = NaN;
  for (let j = 0; j < order.length; j++) {
    const i = order[j]!;
    const w = sampleWeight ? sampleWeight[i]! : 1;
    if (w === 0) continue;
    if (thresholds.length > 0 && scores[i] !== last) {
      fps.push(fp);
      tps.push(tp);
      thresholds.push(scores[i]!);
    } else if (thresholds.length === 0) {
      thresholds.push(scores[i]!);
    }
    last = scores[i]!;
    if (isPositive[i]) tp += w;
    else fp += w;
  }
  if (thresholds.length > 0) {
    fps.push(fp);
    tps.push(tp);
  }
  return { fps: Float64Array.from(fps), tps: Float64Array.from(tps), thresholds: Float64Array.from(thresholds) };
}

/** ROC curve points: false positive rate, true positive rate and the threshold reaching them. */
export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  thresholds: Float64Array;
}

/**
 * ROC curve as `sklearn.metrics.roc_curve` 1.2.1 (drop_intermediate=True, a first point (0,0) at
 * threshold max+1); a positive row has `isPositive[i] = 1`.
 */
export function rocCurve(isPositive: Uint8Array, scores: Float64Array, sampleWeight?: SampleWeight, dropIntermediate = true): RocCurve {
  const c = binaryClfCurve(isPositive, scores, sampleWeight);
  let idx = Array.from({ length: c.fps.length }, (_, i) => i);
  if (dropIntermediate && c.fps.length > 2) {
    idx = idx.filter((i) => i === 0 || i === c.fps.length - 1
      || c.fps[i + 1]! - 2 * c.fps[i]! + c.fps[i - 1]! !== 0 || c.tps[i + 1]! - 2 * c.tps[i]! + c.tps[i - 1]! !== 0);
  }
  const n = idx.length + 1;
  const fpr = new Float64Array(n);
  const tpr = new Float64Array(n);
  const thresholds = new Float64Array(n);
  const fpsLast = c.fps[c.fps.length - 1] ?? 0;
  const tpsLast = c.tps[c.tps.length - 1] ?? 0;
  thresholds[0] = (c.thresholds[0] ?? 0) + 1;
  idx.forEach((i, j) => {
    fpr[j + 1] = fpsLast > 0 ? c.fps[i]! / fpsLast : NaN;
    tpr[j + 1] = tpsLast > 0 ? c.tps[i]! / tpsLast : NaN;
    thresholds[j + 1] = c.thresholds[i]!;
  });
  if (!(fpsLast > 0)) fpr[0] = NaN;
  if (!(tpsLast > 0)) tpr[0] = NaN;
  return { fpr, tpr, thresholds };
}

/**
 * Area under the ROC curve of a binary problem, as `sklearn.metrics.roc_auc_score` (trapezoids over the
 * distinct thresholds, so tied scores count one half). One class only → NaN and an `MC_EVAL_UNDEFINED_METRIC`
 * warning event. Higher is better.
 */
export function rocAucScore(isPositive: Uint8Array, scores: Float64Array, sampleWeight?: SampleWeight, onEvent?: OnEvalEvent, order?: Int32Array, metric = 'roc_auc'): number {
  const c = binaryClfCurve(isPositive, scores, sampleWeight, order);
  const p = c.tps[c.tps.length - 1] ?? 0;
  const n = c.fps[c.fps.length - 1] ?? 0;
  if (!(p > 0) || !(n > 0)) {
    onEvent?.({ type: 'warning', code: 'MC_EVAL_UNDEFINED_METRIC', metric, message: `${metric}: only one class present in y_true (${p} positives, ${n} negatives); ROC AUC is undefined, reported as NaN` });
    return NaN;
  }
  let area = 0;
  let fp0 = 0;
  let tp0 = 0;
  for (let i = 0; i < c.fps.length; i++) {
    area += (c.fps[i]! - fp0) * (c.tps[i]! + tp0);
    fp0 = c.fps[i]!;
    tp0 = c.tps[i]!;
  }
  return area / 2 / (p * n);
}

/** Precision-recall curve: precision and recall per threshold, recall decreasing, ending at (recall 0, precision 1). */
export interface PrCurve {
  precision: Float64Array;
  recall: Float64Array;
  thresholds: Float64Array;
}

/** Precision-recall curve as `sklearn.metrics.precision_recall_curve` 1.2.1 (thresholds ascending). */
export function precisionRecallCurve(isPositive: Uint8Array, scores: Float64Array, sampleWeight?: SampleWeight): PrCurve {
  const c = binaryClfCurve(isPositive, scores, sampleWeight);
  const m = c.fps.length;
  const tpsLast = c.tps[m - 1] ?? 0;
  const precision = new Float64Array(m + 1);
  const recall = new Float64Array(m + 1);
  const thresholds = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const j = m - 1 - i;
    const ps = c.tps[j]! + c.fps[j]!;
    precision[i] = ps !== 0 ? c.tps[j]! / ps : 0;
    recall[i] = tpsLast === 0 ? 1 : c.tps[j]! / tpsLast;
    thresholds[i] = c.thresholds[j]!;
  }
  precision[m] = 1;
  recall[m] = 0;
  return { precision, recall, thresholds };
}

/**
 * Average precision as `sklearn.metrics.average_precision_score`: Σ (R_n − R_{n−1}) P_n over thresholds
 * (the step definition, no interpolation). No positives → NaN and a warning event. Higher is better.
 */
export function averagePrecisionScore(isPositive: Uint8Array, scores: Float64Array, sampleWeight?: SampleWeight, onEvent?: OnEvalEvent, order?: Int32Array, metric = 'average_precision'): number {
  const c = binaryClfCurve(isPositive, scores, sampleWeight, order);
  const p = c.tps[c.tps.length - 1] ?? 0;
  if (!(p > 0)) {
    onEvent?.({ type: 'warning', code: 'MC_EVAL_UNDEFINED_METRIC', metric, message: `${metric}: no positive rows in y_true; average precision is undefined, reported as NaN` });
    return NaN;
  }
  let ap = 0;
  let r0 = 0;
  for (let i = 0; i < c.fps.length; i++) {
    const r = c.tps[i]! / p;
    ap += (r - r0) * (c.tps[i]! / (c.tps[i]! + c.fps[i]!));
    r0 = r;
  }
  return ap;
}

/** One-vs-rest indicator of class `k`: 1 where `labels[i] === k`. */
export function oneVsRest(labels: Int32Array, k: number): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = labels[i] === k ? 1 : 0;
  return out;
}
