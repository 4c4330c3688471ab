import { argmaxRows } from './probabilities.js';
import type { SampleWeight } from './types.js';

/** One bin of a reliability diagram: rows whose top-class confidence falls in (lower, upper]. */
export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** fraction of rows in the bin whose top class is the true class */
  accuracy: number;
  /** mean top-class probability in the bin */
  confidence: number;
}

/** Reliability diagram data, expected and maximum calibration error. Bins with no rows are `null`. */
export interface CalibrationSummary {
  ece: number;
  mce: number;
  bins: (ReliabilityBin | null)[];
  /** rows per bin (the confidence histogram), empty bins included as 0 */
  histogram: number[];
}

/**
 * Expected/maximum calibration error on the top-class confidence with `nBins` equal-width bins
 * (Guo et al. 2017): bin i holds confidence in (i/nBins, (i+1)/nBins], the first bin also confidence 0;
 * edges as `numpy.linspace(0, 1, nBins + 1)`. ECE = Σ_b (n_b/N)|acc_b − conf_b|; MCE = max_b |acc_b − conf_b|.
 * `probs` is [N, K]. Lower is better for both.
 */
export function calibrationSummary(labels: Int32Array, probs: Float64Array, classes: number, nBins = 15, sampleWeight?: SampleWeight): CalibrationSummary {
  const step = 1 / nBins;
  const edges = Array.from({ length: nBins + 1 }, (_, i) => (i === nBins ? 1 : i * step));
  const count = new Float64Array(nBins);
  const correct = new Float64Array(nBins);
  const confSum = new Float64Array(nBins);
  const pred = argmaxRows(probs, classes);
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const w = sampleWeight ? sampleWeight[i]! : 1;
    if (w === 0) continue;
    const conf = probs[i * classes + pred[i]!]!;
    let b = Math.min(nBins - 1, Math.max(0, Math.ceil(conf * nBins) - 1));
    while (b > 0 && conf <= edges[b]!) b--;
    while (b < nBins - 1 && conf > edges[b + 1]!) b++;
    count[b]! += w;
    confSum[b]! += w * conf;
    if (pred[i] === labels[i]) correct[b]! += w;
    total += w;
  }
  let ece = 0;
  let mce = 0;
  const bins: (ReliabilityBin | null)[] = [];
  for (let b = 0; b < nBins; b++) {
    if (count[b] === 0) {
      bins.push(null);
      continue;
    }
    const accuracy = correct[b]! / count[b]!;
    const confidence = confSum[b]! / count[b]!;
    const gap = Math.abs(accuracy - confidence);
    ece += (count[b]! / total) * gap;
    mce = Math.max(mce, gap);
    bins.push({ lower: edges[b]!, upper: edges[b + 1]!, count: count[b]!, accuracy, confidence });
  }
  return { ece: total > 0 ? ece : NaN, mce: total > 0 ? mce : NaN, bins, histogram: [...count] };
}

/** Mean NLL of softmax(β·z) and its first two derivatives in β (NLL is convex in β). */
function nllAndDerivatives(labels: Int32Array, logits: Float64Array, classes: number, beta: number): [number, number, number] {
  let nll = 0;
  let g = 0;
  let h = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    let m = -Infinity;
    for (let k = 0; k < classes; k++) m = Math.max(m, beta * logits[o + k]!);
    let s = 0;
    let ez = 0;
    let ez2 = 0;
    for (let k = 0; k < classes; k++) {
      const z = logits[o + k]!;
      const e = Math.exp(beta * z - m);
      s += e;
      ez += e * z;
      ez2 += e * z * z;
    }
    ez /= s;
    ez2 /= s;
    const zy = logits[o + labels[i]!]!;
    nll += m + Math.log(s) - beta * zy;
    g += ez - zy;
    h += ez2 - ez * ez;
  }
  return [nll / n, g / n, h / n];
}

/** A fitted temperature and the validation NLL before and after. */
export interface TemperatureFit {
  temperature: number;
  nllBefore: number;
  nllAfter: number;
  iterations: number;
}

/**
 * Temperature scaling (Guo et al. 2017): the scalar T > 0 minimising the mean NLL of softmax(z / T) on
 * validation logits [N, K]. Solved by safeguarded Newton on β = 1/T, where the NLL is convex, to machine
 * precision; T is kept in [1e-3, 1e3] (separable data drives T → 0).
 */
export function fitTemperature(labels: Int32Array, logits: Float64Array, classes: number): TemperatureFit {
  const nllBefore = nllAndDerivatives(labels, logits, classes, 1)[0];
  let lo = 1e-3;
  let hi = 1e3;
  if (nllAndDerivatives(labels, logits, classes, lo)[1] >= 0) return { temperature: 1 / lo, nllBefore, nllAfter: nllAndDerivatives(labels, logits, classes, lo)[0], iterations: 0 };
  if (nllAndDerivatives(labels, logits, classes, hi)[1] <= 0) return { temperature: 1 / hi, nllBefore, nllAfter: nllAndDerivatives(labels, logits, classes, hi)[0], iterations: 0 };
  let beta = 1;
  let iterations = 0;
  for (; iterations < 200; iterations++) {
    const [, g, h] = nllAndDerivatives(labels, logits, classes, beta);
    if (g > 0) hi = beta;
    else lo = beta;
    let next = h > 0 ? beta - g / h : NaN;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - beta) <= 1e-15 * Math.max(1, beta) || hi - lo <= 1e-15 * hi) {
      beta = next;
      break;
    }
    beta = next;
  }
  return { temperature: 1 / beta, nllBefore, nllAfter: nllAndDerivatives(labels, logits, classes, beta)[0], iterations };
}
