import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { calibrationSummary, fitTemperature, logLoss, softmax } from '../../src/eval/index.js';

function syntheticLogits(n: number, K: number, scale: number, rng: Rng): { labels: Int32Array; logits: Float64Array } {
  const labels = new Int32Array(n);
  const logits = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.int(0, K);
    for (let k = 0; k < K; k++) logits[i * K + k] = scale * (rng.normal() + (k === labels[i] ? 1.5 : 0));
  }
  return { labels, logits };
}

describe('temperature scaling', () => {
  it('the fitted T is a minimum of the NLL: central differences of NLL(T) vanish and both sides are higher', () => {
    const { labels, logits } = syntheticLogits(400, 4, 2.5, new Rng(1));
    const { temperature: T, nllAfter, nllBefore } = fitTemperature(labels, logits, 4);
    const nll = (t: number) => logLoss(labels, softmax(logits, 4, t), 4);
    const h = 1e-4;
    expect(Math.abs((nll(T + h) - nll(T - h)) / (2 * h))).toBeLessThan(1e-6);
    expect(nll(T * 1.01)).toBeGreaterThan(nllAfter);
    expect(nll(T * 0.99)).toBeGreaterThan(nllAfter);
    expect(nllAfter).toBeLessThanOrEqual(nllBefore);
    expect(nllAfter).toBeCloseTo(nll(T), 12);
  });

  it('over-confident logits get T > 1, under-confident T < 1', () => {
    const base = syntheticLogits(500, 3, 1, new Rng(2));
    const tBase = fitTemperature(base.labels, base.logits, 3).temperature;
    const hot = fitTemperature(base.labels, base.logits.map((z) => 3 * z), 3).temperature;
    expect(hot).toBeCloseTo(3 * tBase, 6);
    const cold = fitTemperature(base.labels, base.logits.map((z) => 0.2 * z), 3).temperature;
    expect(cold).toBeCloseTo(0.2 * tBase, 6);
  });

  it('perfectly separable logits hit the bound T = 1e-3 instead of diverging', () => {
    const labels = Int32Array.from([0, 1, 0, 1]);
    const logits = Float64Array.from([1, 0, 0, 1, 2, 0, 0, 2]);
    expect(fitTemperature(labels, logits, 2).temperature).toBeCloseTo(1e-3, 12);
  });
});

describe('ECE / MCE with equal-width bins', () => {
  it('hand-derived: two bins populated, ECE the count-weighted |acc − conf|, MCE the largest gap', () => {
    // top-class confidences 0.9, 0.9, 0.6, 0.6 → bins 13 ((0.867,0.933]) and 8 ((0.533,0.6]); correct: 1,0 and 1,1
    const labels = Int32Array.from([0, 1, 0, 1]);
    const probs = Float64Array.from([0.9, 0.1, 0.9, 0.1, 0.6, 0.4, 0.4, 0.6]);
    const s = calibrationSummary(labels, probs, 2, 15);
    expect(s.bins[13]).toMatchObject({ count: 2, accuracy: 0.5 });
    expect(s.bins[13]!.confidence).toBeCloseTo(0.9, 12);
    expect(s.bins[8]).toMatchObject({ count: 2, accuracy: 1 });
    expect(s.ece).toBeCloseTo(0.5 * 0.4 + 0.5 * 0.4, 12);
    expect(s.mce).toBeCloseTo(0.4, 12);
    expect(s.bins.filter((b) => b === null)).toHaveLength(13);
    expect(s.histogram.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('a confidence exactly on an edge goes to the lower bin: (i/15, (i+1)/15]', () => {
    const labels = Int32Array.from([0]);
    const s = calibrationSummary(labels, Float64Array.from([0.5, 0.5]), 2, 2);
    expect(s.bins[0]).not.toBeNull(); // 0.5 ∈ (0, 0.5]
    const t = calibrationSummary(labels, Float64Array.from([1, 0]), 2, 15);
    expect(t.bins[14]!.count).toBe(1); // 1.0 ∈ (14/15, 1]
  });
});
