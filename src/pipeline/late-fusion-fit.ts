import { MedclassError } from '../errors.js';

/** A fitted prediction-level combiner of two models' logits `a` (image) and `b` (tabular), each `[N, K]`. */
export type LateCombiner =
  | { method: 'weighted'; /** weight of the image logits; the tabular ones get 1 − w */ imageWeight: number; valNll: number; grid: number[]; gridNll: number[] }
  | { method: 'stacking'; /** `[K, 2K]` row-major: class k's weights on [a_0..a_{K-1}, b_0..b_{K-1}] */ weight: number[]; bias: number[]; l2: number; valNll: number; iterations: number };

/**
 * Mean negative log-likelihood of softmax(z) at the true labels (natural log), `z` `[N, K]`; with `classWeights`
 * each row counts w[y] (the sum is still divided by N, as `sample_weight` in scikit-learn's LogisticRegression).
 */
export function meanNll(z: ArrayLike<number>, labels: Int32Array, k: number, classWeights?: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    let m = -Infinity;
    for (let c = 0; c < k; c++) m = Math.max(m, z[i * k + c]!);
    let e = 0;
    for (let c = 0; c < k; c++) e += Math.exp(z[i * k + c]! - m);
    s += (classWeights?.[labels[i]!] ?? 1) * (m + Math.log(e) - z[i * k + labels[i]!]!);
  }
  return s / labels.length;
}

/** The fused logits `[N, K]` of a combiner for logits `a` and `b` `[N, K]`. */
export function combineLogits(c: LateCombiner, a: ArrayLike<number>, b: ArrayLike<number>, k: number): Float64Array {
  if (a.length !== b.length || a.length % k !== 0) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `late fusion: logits of ${a.length} and ${b.length} values for ${k} classes`);
  const n = a.length / k;
  const out = new Float64Array(n * k);
  if (c.method === 'weighted') {
    for (let t = 0; t < out.length; t++) out[t] = c.imageWeight * a[t]! + (1 - c.imageWeight) * b[t]!;
    return out;
  }
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < k; r++) {
      let s = c.bias[r]!;
      for (let j = 0; j < k; j++) s += c.weight[r * 2 * k + j]! * a[i * k + j]! + c.weight[r * 2 * k + k + j]! * b[i * k + j]!;
      out[i * k + r] = s;
    }
  }
  return out;
}

/**
 * Weighted logit average fitted on validation: the image weight w on a grid of `steps` + 1 values in [0, 1]
 * minimising the val NLL of softmax(w·a + (1 − w)·b) (the first of equal minima). w = 1 is image only, 0 tabular only.
 */
export function fitWeightedAverage(a: ArrayLike<number>, b: ArrayLike<number>, labels: Int32Array, k: number, steps = 50, classWeights?: readonly number[]): LateCombiner {
  const grid = Array.from({ length: steps + 1 }, (_, i) => i / steps);
  const gridNll = grid.map((w) => meanNll(combineLogits({ method: 'weighted', imageWeight: w, valNll: 0, grid: [], gridNll: [] }, a, b, k), labels, k, classWeights));
  let best = 0;
  gridNll.forEach((v, i) => { if (v < gridNll[best]!) best = i; });
  return { method: 'weighted', imageWeight: grid[best]!, valNll: gridNll[best]!, grid, gridNll };
}

/**
 * Stacking: multinomial logistic regression on the 2K logits [a, b] fitted on validation, minimising
 * mean NLL + (l2 / 2)·‖W‖² (bias unpenalised) by gradient descent with Armijo backtracking from W = [½I, ½I], b = 0;
 * `classWeights` weight each row's NLL by its class (as the members' training did, so the arg-max keeps their balance).
 * Matches `sklearn.linear_model.LogisticRegression(C = 1 / (l2·N), class_weight)` (multinomial, lbfgs) up to the solver's tolerance.
 */
export function fitStacking(a: ArrayLike<number>, b: ArrayLike<number>, labels: Int32Array, k: number, l2 = 0.01, maxIter = 3000, classWeights?: readonly number[]): LateCombiner {
  const n = labels.length;
  const d = 2 * k;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) { x[i * d + j] = a[i * k + j]!; x[i * d + k + j] = b[i * k + j]!; }
  const theta = new Float64Array(k * d + k); // W row-major, then bias
  for (let r = 0; r < k; r++) { theta[r * d + r] = 0.5; theta[r * d + k + r] = 0.5; }
  const z = new Float64Array(k);
  const objective = (t: Float64Array, grad?: Float64Array): number => {
    let loss = 0;
    grad?.fill(0);
    for (let i = 0; i < n; i++) {
      let m = -Infinity;
      for (let r = 0; r < k; r++) {
        let s = t[k * d + r]!;
        for (let j = 0; j < d; j++) s += t[r * d + j]! * x[i * d + j]!;
        z[r] = s;
        m = Math.max(m, s);
      }
      let e = 0;
      for (let r = 0; r < k; r++) e += Math.exp(z[r]! - m);
      const cw = classWeights?.[labels[i]!] ?? 1;
      loss += cw * (m + Math.log(e) - z[labels[i]!]!);
      if (grad) {
        for (let r = 0; r < k; r++) {
          const g = (cw * (Math.exp(z[r]! - m) / e - (r === labels[i] ? 1 : 0))) / n;
          for (let j = 0; j < d; j++) grad[r * d + j]! += g * x[i * d + j]!;
          grad[k * d + r]! += g;
        }
      }
    }
    let pen = 0;
    for (let q = 0; q < k * d; q++) { pen += t[q]! * t[q]!; if (grad) grad[q]! += l2 * t[q]!; }
    return loss / n + (l2 / 2) * pen;
  };
  const grad = new Float64Array(theta.length);
  const next = new Float64Array(theta.length);
  let f = objective(theta, grad);
  let step = 1;
  let it = 0;
  for (; it < maxIter; it++) {
    const g2 = grad.reduce((s, v) => s + v * v, 0);
    if (g2 < 1e-16) break;
    let fNext = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let q = 0; q < theta.length; q++) next[q] = theta[q]! - step * grad[q]!;
      fNext = objective(next);
      if (fNext <= f - 0.5 * step * g2) break;
      step /= 2;
    }
    if (!(fNext < f)) break;
    theta.set(next);
    f = objective(theta, grad);
    step *= 1.5;
  }
  const weight = Array.from(theta.subarray(0, k * d));
  const bias = Array.from(theta.subarray(k * d));
  const c: LateCombiner = { method: 'stacking', weight, bias, l2, valNll: 0, iterations: it };
  c.valNll = meanNll(combineLogits(c, a, b, k), labels, k, classWeights);
  return c;
}
