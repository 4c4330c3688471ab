import type { OnEvalEvent } from './types.js';

/** Non-conformity score of split conformal prediction (Angelopoulos & Bates 2021). */
export type ConformalMethod = 'lac' | 'aps';

/**
 * The conformal quantile q̂: the ⌈(n+1)(1−α)⌉/n empirical quantile of the calibration scores with numpy's
 * `method="higher"` (the sorted score at index ⌈(n−1)·level⌉). When the level exceeds 1 (too few calibration
 * rows for α) q̂ is +∞, so every set holds every class.
 */
export function conformalQuantile(scores: Float64Array, alpha: number): number {
  const n = scores.length;
  if (n === 0) return Infinity;
  const level = Math.ceil((n + 1) * (1 - alpha)) / n;
  if (level > 1) return Infinity;
  const sorted = Float64Array.from(scores).sort();
  return sorted[Math.min(n - 1, Math.ceil((n - 1) * level))]!;
}

/**
 * Score of class `y` for one row of probabilities `p` [K]. LAC: 1 − p_y. APS (non-randomised):
 * the mass of classes more probable than y plus p_y.
 */
export function conformalScore(p: Float64Array, y: number, method: ConformalMethod): number {
  if (method === 'lac') return 1 - p[y]!;
  let s = 0;
  for (let k = 0; k < p.length; k++) if (p[k]! > p[y]!) s += p[k]!;
  return s + p[y]!;
}

/** Scores of the true class for every row of `probs` [N, K]. */
export function trueClassScores(labels: Int32Array, probs: Float64Array, classes: number, method: ConformalMethod): Float64Array {
  const out = new Float64Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = conformalScore(probs.subarray(i * classes, (i + 1) * classes), labels[i]!, method);
  return out;
}

/** Calibrated thresholds: one q̂ (marginal), or one per class (Mondrian / class-conditional). */
export interface ConformalCalibration {
  method: ConformalMethod;
  alpha: number;
  mondrian: boolean;
  /** q̂ per class; all equal unless Mondrian */
  qhat: Float64Array;
  /** calibration rows used per q̂ (per class when Mondrian) */
  n: number[];
}

/**
 * Split conformal calibration on held-out rows (labels, probabilities [N, K]): q̂ from the true-class scores,
 * per class when `mondrian` (Vovk's class-conditional guarantee). A class with too few rows gets q̂ = +∞ and a warning.
 */
export function calibrateConformal(labels: Int32Array, probs: Float64Array, classes: number, alpha: number, method: ConformalMethod, mondrian = false, onEvent?: OnEvalEvent): ConformalCalibration {
  const scores = trueClassScores(labels, probs, classes, method);
  const qhat = new Float64Array(classes);
  const n: number[] = [];
  const groups = mondrian ? Array.from({ length: classes }, (_, k) => k) : [-1];
  for (const g of groups) {
    const s = g < 0 ? scores : scores.filter((_, i) => labels[i] === g);
    const q = conformalQuantile(s, alpha);
    if (!Number.isFinite(q)) {
      const what = g < 0 ? 'calibration set' : `class ${g}`;
      onEvent?.({ type: 'warning', code: 'MC_EVAL_UNDEFINED_METRIC', metric: `conformal_${method}${g < 0 ? '' : `[class ${g}]`}`, message: `${what}: ${s.length} calibration rows are too few for α = ${alpha} (need ≥ ${Math.ceil(1 / alpha - 1)}); q̂ = +∞, sets hold every class` });
    }
    if (g < 0) qhat.fill(q);
    else qhat[g] = q;
    n.push(s.length);
  }
  return { method, alpha, mondrian, qhat, n };
}

/**
 * Prediction sets as a membership mask [N, K]: class y is in the set when its score ≤ q̂_y. APS scores are sums
 * whose rounding depends on the summation order, so they are compared with a 1e-12 slack; LAC scores exactly.
 */
export function predictionSets(probs: Float64Array, classes: number, cal: ConformalCalibration): Uint8Array {
  const n = probs.length / classes;
  const sets = new Uint8Array(probs.length);
  const slack = cal.method === 'aps' ? 1e-12 : 0;
  for (let i = 0; i < n; i++) {
    const p = probs.subarray(i * classes, (i + 1) * classes);
    for (let k = 0; k < classes; k++) sets[i * classes + k] = conformalScore(p, k, cal.method) <= cal.qhat[k]! + slack ? 1 : 0;
  }
  return sets;
}

/** Empirical coverage and set sizes of prediction sets on labelled rows. */
export interface ConformalEvaluation {
  qhat: number | number[];
  coverage: number;
  mean_set_size: number;
  n_calibration: number | number[];
  n_test: number;
  /** coverage among rows of each true class */
  coverage_per_class: number[];
  /** rows whose set has 0, 1, …, K classes */
  set_size_histogram: number[];
}

/** Coverage (fraction of rows whose set holds the true class), mean set size, per-class coverage, size histogram. */
export function evaluateSets(labels: Int32Array, sets: Uint8Array, classes: number, cal: ConformalCalibration): ConformalEvaluation {
  const n = labels.length;
  let covered = 0;
  let sizeSum = 0;
  const hist = new Array<number>(classes + 1).fill(0);
  const classN = new Array<number>(classes).fill(0);
  const classCovered = new Array<number>(classes).fill(0);
  for (let i = 0; i < n; i++) {
    let size = 0;
    for (let k = 0; k < classes; k++) size += sets[i * classes + k]!;
    const hit = sets[i * classes + labels[i]!]!;
    covered += hit;
    sizeSum += size;
    hist[size]!++;
    classN[labels[i]!]!++;
    classCovered[labels[i]!]! += hit;
  }
  return {
    qhat: cal.mondrian ? [...cal.qhat] : cal.qhat[0]!,
    coverage: covered / n,
    mean_set_size: sizeSum / n,
    n_calibration: cal.mondrian ? cal.n : cal.n[0]!,
    n_test: n,
    coverage_per_class: classN.map((m, k) => (m > 0 ? classCovered[k]! / m : NaN)),
    set_size_histogram: hist,
  };
}

/** Calibrate on one split and evaluate on another: the whole split-conformal procedure in one call. */
export function splitConformal(cal: { labels: Int32Array; probs: Float64Array }, test: { labels: Int32Array; probs: Float64Array }, classes: number, alpha: number, method: ConformalMethod, mondrian = false, onEvent?: OnEvalEvent): ConformalEvaluation {
  const c = calibrateConformal(cal.labels, cal.probs, classes, alpha, method, mondrian, onEvent);
  return evaluateSets(test.labels, predictionSets(test.probs, classes, c), classes, c);
}
