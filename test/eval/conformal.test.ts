import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { calibrateConformal, conformalQuantile, conformalScore, predictionSets, softmax, splitConformal, type EvalEvent } from '../../src/eval/index.js';

describe('conformal quantile', () => {
  const x = Float64Array.from([0.5, 0.1, 0.3, 0.9, 1.0, 0.2, 0.4, 0.6, 0.8, 0.7]);
  it('is numpy.quantile(x, ⌈(n+1)(1−α)⌉/n, method="higher")', () => {
    // numpy 1.24: quantile(arange(1,11)/10, 0.8, method='higher') = 0.9; 0.9 → 1.0
    expect(conformalQuantile(x, 0.3)).toBe(0.9);
    expect(conformalQuantile(x, 0.2)).toBe(1.0);
    expect(conformalQuantile(x, 0.1)).toBe(1.0);
  });
  it('is +∞ when the level exceeds 1 (n too small for α), with a warning from calibrateConformal', () => {
    expect(conformalQuantile(x, 0.05)).toBe(Infinity);
    const events: EvalEvent[] = [];
    const labels = Int32Array.from({ length: 10 }, (_, i) => i % 2);
    const probs = Float64Array.from({ length: 20 }, (_, i) => (i % 2 ? 0.3 : 0.7));
    const cal = calibrateConformal(labels, probs, 2, 0.05, 'lac', false, (e) => events.push(e));
    expect(cal.qhat[0]).toBe(Infinity);
    expect(events[0]?.code).toBe('MC_EVAL_UNDEFINED_METRIC');
  });
});

describe('conformal scores and sets', () => {
  const p = Float64Array.from([0.5, 0.3, 0.2]);
  it('LAC is 1 − p_y; APS is the mass of classes at least as likely as y', () => {
    expect(conformalScore(p, 1, 'lac')).toBeCloseTo(0.7, 15);
    expect(conformalScore(p, 0, 'aps')).toBeCloseTo(0.5, 15);
    expect(conformalScore(p, 1, 'aps')).toBeCloseTo(0.8, 15);
    expect(conformalScore(p, 2, 'aps')).toBeCloseTo(1.0, 15);
  });
  it('APS sets are nested top-k prefixes of the ranking', () => {
    const sets = predictionSets(p, 3, { method: 'aps', alpha: 0.1, mondrian: false, qhat: new Float64Array(3).fill(0.85), n: [1] });
    expect([...sets]).toEqual([1, 1, 0]);
  });

  it('marginal coverage ≥ 1 − α on exchangeable synthetic data, LAC and APS, plain and Mondrian', () => {
    const rng = new Rng(7);
    const K = 4;
    const make = (n: number) => {
      const labels = new Int32Array(n);
      const logits = new Float64Array(n * K);
      for (let i = 0; i < n; i++) {
        labels[i] = rng.int(0, K);
        for (let k = 0; k < K; k++) logits[i * K + k] = rng.normal() + (k === labels[i] ? 1.2 : 0);
      }
      return { labels, probs: softmax(logits, K) };
    };
    const cal = make(2000);
    const test = make(4000);
    for (const method of ['lac', 'aps'] as const) for (const mondrian of [false, true]) {
      const r = splitConformal(cal, test, K, 0.1, method, mondrian);
      expect(r.coverage).toBeGreaterThan(0.885); // 1 − α minus ~2 binomial s.e. of 4000 rows
      expect(r.mean_set_size).toBeGreaterThan(1);
      expect(r.mean_set_size).toBeLessThan(K);
      if (mondrian) for (const c of r.coverage_per_class) expect(c).toBeGreaterThan(0.86);
    }
  });
});
