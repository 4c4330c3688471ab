import type { SampleWeight } from './types.js';

function weightedMean(values: (i: number) => number, n: number, sampleWeight?: SampleWeight): number {
  let s = 0;
  let w = 0;
  for (let i = 0; i < n; i++) {
    const wi = sampleWeight ? sampleWeight[i]! : 1;
    if (wi === 0) continue;
    s += wi * values(i);
    w += wi;
  }
  return w > 0 ? s / w : NaN;
}

/**
 * Mean negative log-likelihood of the true class, as `sklearn.metrics.log_loss` 1.2.1 with `eps='auto'`:
 * probabilities clipped to [ε, 1−ε] (ε = float64 machine epsilon) and rows renormalised. `probs` is [N, K].
 * Lower is better.
 */
export function logLoss(labels: Int32Array, probs: Float64Array, classes: number, sampleWeight?: SampleWeight): number {
  const eps = Number.EPSILON;
  const clip = (p: number) => Math.min(Math.max(p, eps), 1 - eps);
  return weightedMean((i) => {
    let s = 0;
    for (let k = 0; k < classes; k++) s += clip(probs[i * classes + k]!);
    return -Math.log(clip(probs[i * classes + labels[i]!]!) / s);
  }, labels.length, sampleWeight);
}

/**
 * Brier score. Binary (classes = 2): mean (p₁ − y)², as `sklearn.metrics.brier_score_loss` on class 1.
 * Multi-class: per row Σ_k (p_k − 1[y = k])², averaged over rows (the original Brier 1950 definition, which
 * for two classes is twice the binary value). `multiclassForm` forces the second form for K = 2. Lower is better.
 */
export function brierScore(labels: Int32Array, probs: Float64Array, classes: number, sampleWeight?: SampleWeight, multiclassForm = classes > 2): number {
  if (!multiclassForm) return weightedMean((i) => (probs[i * classes + 1]! - (labels[i] === 1 ? 1 : 0)) ** 2, labels.length, sampleWeight);
  return weightedMean((i) => {
    let s = 0;
    for (let k = 0; k < classes; k++) s += (probs[i * classes + k]! - (labels[i] === k ? 1 : 0)) ** 2;
    return s;
  }, labels.length, sampleWeight);
}
