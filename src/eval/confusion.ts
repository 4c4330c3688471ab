import type { OnEvalEvent, SampleWeight } from './types.js';

/**
 * Confusion matrix [K, K] (rows true class, columns predicted), as `sklearn.metrics.confusion_matrix`
 * with `labels=range(K)`; with `sampleWeight` each row counts its weight. Returned row-major as Float64Array.
 */
export function confusionMatrix(yTrue: Int32Array, yPred: Int32Array, classes: number, sampleWeight?: SampleWeight): Float64Array {
  const cm = new Float64Array(classes * classes);
  for (let i = 0; i < yTrue.length; i++) cm[yTrue[i]! * classes + yPred[i]!]! += sampleWeight ? sampleWeight[i]! : 1;
  return cm;
}

/** Row-normalised confusion matrix (`normalize='true'`): each row divided by its sum; empty rows stay 0. */
export function normalizeConfusionRows(cm: Float64Array, classes: number): Float64Array {
  const out = new Float64Array(cm.length);
  for (let r = 0; r < classes; r++) {
    let s = 0;
    for (let c = 0; c < classes; c++) s += cm[r * classes + c]!;
    if (s > 0) for (let c = 0; c < classes; c++) out[r * classes + c] = cm[r * classes + c]! / s;
  }
  return out;
}

/** Per-class counts derived from a confusion matrix. */
export interface ClassCounts {
  tp: Float64Array;
  fp: Float64Array;
  fn: Float64Array;
  tn: Float64Array;
  total: number;
}

/** True/false positives/negatives per class (one-vs-rest) from a confusion matrix [K, K]. */
export function classCounts(cm: Float64Array, classes: number): ClassCounts {
  const tp = new Float64Array(classes);
  const fp = new Float64Array(classes);
  const fn = new Float64Array(classes);
  const tn = new Float64Array(classes);
  let total = 0;
  for (const v of cm) total += v;
  for (let k = 0; k < classes; k++) {
    tp[k] = cm[k * classes + k]!;
    for (let j = 0; j < classes; j++) {
      if (j === k) continue;
      fn[k]! += cm[k * classes + j]!;
      fp[k]! += cm[j * classes + k]!;
    }
    tn[k] = total - tp[k]! - fp[k]! - fn[k]!;
  }
  return { tp, fp, fn, tn, total };
}

/** Per-class precision (PPV), recall (sensitivity), specificity, NPV, F1 and support. */
export interface PerClassScores {
  precision: Float64Array;
  recall: Float64Array;
  specificity: Float64Array;
  npv: Float64Array;
  f1: Float64Array;
  support: Float64Array;
}

function ratio(num: number, den: number, metric: string, onEvent?: OnEvalEvent): number {
  if (den > 0) return num / den;
  onEvent?.({ type: 'warning', code: 'MC_EVAL_UNDEFINED_METRIC', metric, message: `${metric} is ill-defined (0/0); set to 0 as scikit-learn's zero_division="warn"` });
  return 0;
}

/**
 * Per-class scores from a confusion matrix, as `sklearn.metrics.precision_recall_fscore_support(average=None)`
 * (zero_division → 0 with a warning event); specificity = TN/(TN+FP) and NPV = TN/(TN+FN) likewise.
 */
export function perClassScores(cm: Float64Array, classes: number, onEvent?: OnEvalEvent): PerClassScores {
  const { tp, fp, fn, tn } = classCounts(cm, classes);
  const out: PerClassScores = {
    precision: new Float64Array(classes),
    recall: new Float64Array(classes),
    specificity: new Float64Array(classes),
    npv: new Float64Array(classes),
    f1: new Float64Array(classes),
    support: new Float64Array(classes),
  };
  for (let k = 0; k < classes; k++) {
    const p = ratio(tp[k]!, tp[k]! + fp[k]!, `precision[class ${k}]`, onEvent);
    const r = ratio(tp[k]!, tp[k]! + fn[k]!, `recall[class ${k}]`, onEvent);
    out.precision[k] = p;
    out.recall[k] = r;
    out.specificity[k] = ratio(tn[k]!, tn[k]! + fp[k]!, `specificity[class ${k}]`, onEvent);
    out.npv[k] = ratio(tn[k]!, tn[k]! + fn[k]!, `npv[class ${k}]`, onEvent);
    out.f1[k] = p + r === 0 ? 0 : (2 * p * r) / (p + r);
    out.support[k] = tp[k]! + fn[k]!;
  }
  return out;
}

/** Fraction of rows on the diagonal, as `sklearn.metrics.accuracy_score`. Higher is better. */
export function accuracyFromConfusion(cm: Float64Array, classes: number): number {
  let diag = 0;
  let total = 0;
  for (let r = 0; r < classes; r++) for (let c = 0; c < classes; c++) {
    total += cm[r * classes + c]!;
    if (r === c) diag += cm[r * classes + c]!;
  }
  return total > 0 ? diag / total : NaN;
}

/**
 * Mean recall over the classes present in y_true, as `sklearn.metrics.balanced_accuracy_score`
 * (classes without true rows are left out of the mean). Higher is better.
 */
export function balancedAccuracyFromConfusion(cm: Float64Array, classes: number): number {
  let s = 0;
  let m = 0;
  for (let r = 0; r < classes; r++) {
    let row = 0;
    for (let c = 0; c < classes; c++) row += cm[r * classes + c]!;
    if (row > 0) {
      s += cm[r * classes + r]! / row;
      m++;
    }
  }
  return m > 0 ? s / m : NaN;
}

/** Macro (unweighted mean) and support-weighted mean of per-class values, as sklearn's `average=`. */
export function averageScores(values: Float64Array, support: Float64Array): { macro: number; weighted: number } {
  let macro = 0;
  let weighted = 0;
  let total = 0;
  for (let k = 0; k < values.length; k++) {
    macro += values[k]!;
    weighted += values[k]! * support[k]!;
    total += support[k]!;
  }
  return { macro: macro / values.length, weighted: total > 0 ? weighted / total : 0 };
}

/**
 * Matthews correlation coefficient for K classes (Gorodkin's R_K), as `sklearn.metrics.matthews_corrcoef`;
 * 0 when a marginal is constant. Higher is better.
 */
export function mccFromConfusion(cm: Float64Array, classes: number): number {
  const t = new Float64Array(classes);
  const p = new Float64Array(classes);
  let correct = 0;
  let n = 0;
  for (let r = 0; r < classes; r++) for (let c = 0; c < classes; c++) {
    const v = cm[r * classes + c]!;
    t[r]! += v;
    p[c]! += v;
    n += v;
    if (r === c) correct += v;
  }
  let tp = 0;
  let pp = 0;
  let tt = 0;
  for (let k = 0; k < classes; k++) {
    tp += t[k]! * p[k]!;
    pp += p[k]! * p[k]!;
    tt += t[k]! * t[k]!;
  }
  const cov = correct * n - tp;
  const den = (n * n - pp) * (n * n - tt);
  return den === 0 ? 0 : cov / Math.sqrt(den);
}

/**
 * Cohen's kappa, as `sklearn.metrics.cohen_kappa_score` with `weights=None` (plain) or `'quadratic'`
 * (disagreement weight (i−j)², for ordinal grades) or `'linear'`. Class indices are the ordinal positions. Higher is better.
 */
export function cohenKappaFromConfusion(cm: Float64Array, classes: number, weights: 'none' | 'linear' | 'quadratic' = 'none'): number {
  const rowSum = new Float64Array(classes);
  const colSum = new Float64Array(classes);
  let n = 0;
  for (let r = 0; r < classes; r++) for (let c = 0; c < classes; c++) {
    const v = cm[r * classes + c]!;
    rowSum[r]! += v;
    colSum[c]! += v;
    n += v;
  }
  let observed = 0;
  let expected = 0;
  for (let r = 0; r < classes; r++) for (let c = 0; c < classes; c++) {
    const w = weights === 'none' ? (r === c ? 0 : 1) : weights === 'linear' ? Math.abs(r - c) : (r - c) ** 2;
    observed += w * cm[r * classes + c]!;
    expected += (w * colSum[c]! * rowSum[r]!) / n;
  }
  return 1 - observed / expected;
}
