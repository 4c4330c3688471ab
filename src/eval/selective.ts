import type { Rng } from '../engine/index.js';
import { stratifiedBootstrap } from './bootstrap.js';
import { argmaxRows } from './probabilities.js';
import { rocAucScore } from './ranking.js';
import type { Interval, OnEvalEvent, SampleWeight } from './types.js';

/** Per-sample uncertainty [N] from per-sample probabilities [S, N, K] (ensemble members or MC-dropout passes), in nats. */
export interface PredictiveUncertainty {
  /** mean probabilities p̄ [N, K] */
  mean: Float64Array;
  /** predictive entropy H(p̄) [N] */
  entropy: Float64Array;
  /** expected entropy E_s[H(p_s)] [N] (aleatoric part) */
  expectedEntropy: Float64Array;
  /** mutual information H(p̄) − E_s[H(p_s)] [N] (BALD; epistemic part, ≥ 0) */
  mutualInformation: Float64Array;
}

const entropyOf = (p: Float64Array, o: number, k: number): number => {
  let h = 0;
  for (let c = 0; c < k; c++) { const v = p[o + c]!; if (v > 0) h -= v * Math.log(v); }
  return h;
};

/**
 * Predictive entropy, expected entropy and mutual information (BALD, Houlsby et al. 2011; Gal & Ghahramani 2016) of
 * `samples` probability vectors per row: `probs` is [S, N, K] row-major, each [K] row summing to 1; 0·log 0 = 0.
 *
 * @example
 * const u = predictiveUncertainty(Float64Array.from([0.9, 0.1, 0.1, 0.9]), 2, 1, 2); // u.mutualInformation[0] ≈ 0.368
 */
export function predictiveUncertainty(probs: Float64Array, samples: number, n: number, k: number): PredictiveUncertainty {
  const mean = new Float64Array(n * k);
  const expectedEntropy = new Float64Array(n);
  for (let s = 0; s < samples; s++) {
    for (let i = 0; i < n; i++) {
      const o = (s * n + i) * k;
      for (let c = 0; c < k; c++) mean[i * k + c]! += probs[o + c]! / samples;
      expectedEntropy[i]! += entropyOf(probs, o, k) / samples;
    }
  }
  const entropy = Float64Array.from({ length: n }, (_, i) => entropyOf(mean, i * k, k));
  const mutualInformation = entropy.map((h, i) => Math.max(0, h - expectedEntropy[i]!));
  return { mean, entropy, expectedEntropy, mutualInformation };
}

/** Entropy H(p) [N] of probability rows [N, K], in nats (0·log 0 = 0): the single model's uncertainty. */
export function entropyRows(probs: Float64Array, k: number): Float64Array {
  return Float64Array.from({ length: probs.length / k }, (_, i) => entropyOf(probs, i * k, k));
}

/** 1 − max_c p_c [N] of probability rows [N, K] (the softmax-response baseline of selective classification). */
export function oneMinusMaxProbability(probs: Float64Array, k: number): Float64Array {
  return Float64Array.from({ length: probs.length / k }, (_, i) => 1 - Math.max(...probs.subarray(i * k, (i + 1) * k)));
}

/** Row order by ascending uncertainty, ties by row index (as `numpy.argsort(u, kind='stable')`). */
export function certaintyOrder(uncertainty: Float64Array): Int32Array {
  return Int32Array.from(uncertainty.keys()).sort((a, b) => uncertainty[a]! - uncertainty[b]! || a - b);
}

/**
 * How well an uncertainty score detects misclassifications: ROC AUC with the errors as the positive class and the
 * uncertainty as the score (`sklearn.metrics.roc_auc_score(errors, uncertainty)`). 0.5 = no better than chance;
 * NaN (and an `MC_EVAL_UNDEFINED_METRIC` warning) when there are no errors or nothing else. Higher is better.
 */
export function errorDetectionAuroc(uncertainty: Float64Array, correct: Uint8Array, sampleWeight?: SampleWeight, onEvent?: OnEvalEvent): number {
  const errors = correct.map((c) => (c ? 0 : 1));
  return rocAucScore(errors, uncertainty, sampleWeight, onEvent, undefined, 'error_detection_auroc');
}

/**
 * Selective prediction: accuracy on the `coverage` fraction of rows with the lowest uncertainty (ties by row index),
 * i.e. the first round(coverage·N) rows of `certaintyOrder` (at least one). With `sampleWeight` (bootstrap
 * multiplicities) rows are kept while their cumulative weight stays within coverage·W + ½. Higher is better.
 */
export function selectiveAccuracy(uncertainty: Float64Array, correct: Uint8Array, coverage: number, sampleWeight?: SampleWeight, order = certaintyOrder(uncertainty)): number {
  const w = (i: number) => (sampleWeight ? sampleWeight[i]! : 1);
  let total = 0;
  for (let i = 0; i < correct.length; i++) total += w(i);
  const budget = coverage * total + 0.5;
  let kept = 0;
  let right = 0;
  for (const i of order) {
    const wi = w(i);
    if (wi === 0) continue;
    if (kept > 0 && kept + wi > budget) break;
    kept += wi;
    right += correct[i]! ? wi : 0;
  }
  return kept > 0 ? right / kept : NaN;
}

/**
 * Area under the risk–coverage curve (Geifman & El-Yaniv 2017): the mean, over m = 1…N rows taken in `certaintyOrder`,
 * of the error rate among the first m. Lower is better; a perfect ranking gives about (error rate)²/2.
 */
export function aurc(uncertainty: Float64Array, correct: Uint8Array, sampleWeight?: SampleWeight, order = certaintyOrder(uncertainty)): number {
  let kept = 0;
  let wrong = 0;
  let area = 0;
  for (const i of order) {
    const wi = sampleWeight ? sampleWeight[i]! : 1;
    if (wi === 0) continue;
    kept += wi;
    wrong += correct[i]! ? 0 : wi;
    area += wi * (wrong / kept);
  }
  return kept > 0 ? area / kept : NaN;
}

/** Selective-prediction figures of one uncertainty score on one split. */
export interface SelectiveFigures {
  error_detection_auroc: number;
  aurc: number;
  /** accuracy on the most certain fraction, by coverage (`'0.9'`, `'0.8'`) */
  accuracy_at_coverage: Record<string, number>;
  /** bootstrap CIs by figure key (`error_detection_auroc`, `aurc`, `accuracy_at_coverage@0.9`, …) */
  ci?: Record<string, Interval>;
}

/** What `selectiveMetrics` reports for one split. */
export interface SelectiveReport {
  n: number;
  accuracy: number;
  errors: number;
  coverages: number[];
  /** per uncertainty score (`entropy`, `mutual_information`, `one_minus_max_probability`) */
  scores: Record<string, SelectiveFigures>;
  bootstrap?: { n: number; level: number; method: string };
}

/** Options of `selectiveMetrics`. */
export interface SelectiveOptions {
  coverages?: readonly number[];
  /** bootstrap resamples for the CIs (0 = none) */
  bootstrap?: number;
  ciLevel?: number;
  onEvent?: OnEvalEvent;
}

/**
 * The value of uncertainty scores on one split: for labels [N], probabilities [N, K] (whose arg-max is the
 * prediction) and each named uncertainty [N], the error-detection AUROC, the AURC and the accuracy at each coverage
 * (default 90 % and 80 %), with stratified-bootstrap percentile CIs drawn from `rng` when `bootstrap` > 0.
 */
export function selectiveMetrics(labels: Int32Array, probs: Float64Array, k: number, uncertainties: Readonly<Record<string, Float64Array>>, rng: Rng, o: SelectiveOptions = {}): SelectiveReport {
  const coverages = [...(o.coverages ?? [0.9, 0.8])];
  const pred = argmaxRows(probs, k);
  const correct = Uint8Array.from(labels, (y, i) => (pred[i] === y ? 1 : 0));
  const right = correct.reduce((s, c) => s + c, 0);
  const orders = Object.fromEntries(Object.entries(uncertainties).map(([name, u]) => [name, certaintyOrder(u)]));
  const figures = (w: SampleWeight, onEvent?: OnEvalEvent): Record<string, Record<string, number>> => Object.fromEntries(Object.entries(uncertainties).map(([name, u]) => [name, {
    error_detection_auroc: errorDetectionAuroc(u, correct, w, onEvent),
    aurc: aurc(u, correct, w, orders[name]),
    ...Object.fromEntries(coverages.map((c) => [`accuracy_at_coverage@${c}`, selectiveAccuracy(u, correct, c, w, orders[name])])),
  }]));
  const point = figures(undefined, o.onEvent);
  const nBoot = o.bootstrap ?? 0;
  const level = o.ciLevel ?? 0.95;
  const boot = nBoot > 0 ? stratifiedBootstrap(labels, k, (w) => {
    const f = figures(w);
    return Object.fromEntries(Object.entries(f).flatMap(([name, r]) => Object.entries(r).map(([key, v]) => [`${name}/${key}`, v])));
  }, nBoot, level, rng) : undefined;
  const scores: Record<string, SelectiveFigures> = {};
  for (const [name, r] of Object.entries(point)) {
    const ci = boot ? Object.fromEntries(Object.keys(r).flatMap((key) => { const iv = boot.intervals[`${name}/${key}`]; return iv ? [[key, iv]] : []; })) : undefined;
    scores[name] = {
      error_detection_auroc: r.error_detection_auroc!, aurc: r.aurc!,
      accuracy_at_coverage: Object.fromEntries(coverages.map((c) => [String(c), r[`accuracy_at_coverage@${c}`]!])),
      ...(ci ? { ci } : {}),
    };
  }
  return {
    n: labels.length, accuracy: labels.length ? right / labels.length : NaN, errors: labels.length - right, coverages, scores,
    ...(boot ? { bootstrap: { n: boot.n, level: boot.level, method: boot.method } } : {}),
  };
}
