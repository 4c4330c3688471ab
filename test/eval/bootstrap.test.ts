import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { percentileSorted, rowsByClass, stratifiedBootstrap, stratifiedResampleWeights } from '../../src/eval/index.js';

describe('stratified bootstrap', () => {
  it('percentiles interpolate linearly as numpy.percentile ([2.5, 97.5] of [3,1,4,1,5,9,2,6] = [1, 8.475])', () => {
    const s = Float64Array.from([3, 1, 4, 1, 5, 9, 2, 6]).sort();
    expect(percentileSorted(s, 0.025)).toBeCloseTo(1, 12);
    expect(percentileSorted(s, 0.975)).toBeCloseTo(8.475, 12);
  });

  it('each resample keeps the class counts of the sample', () => {
    const labels = Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2, 2, 0]);
    const byClass = rowsByClass(labels, 3);
    const rng = new Rng(3);
    for (let b = 0; b < 20; b++) {
      const w = stratifiedResampleWeights(byClass, labels.length, rng);
      const counts = [0, 0, 0];
      w.forEach((m, i) => (counts[labels[i]!]! += m));
      expect(counts).toEqual([4, 2, 4]);
    }
  });

  it('same seed → same CI; another seed → a different one; the CI of a mean brackets it', () => {
    const rng = new Rng(11);
    const labels = Int32Array.from({ length: 300 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const x = Float64Array.from({ length: 300 }, () => rng.normal());
    const mean = (w: Float64Array) => ({ m: w.reduce((s, wi, i) => s + wi * x[i]!, 0) / w.reduce((a, b) => a + b, 0) });
    const a = stratifiedBootstrap(labels, 2, mean, 300, 0.95, new Rng(0).fork('bootstrap'));
    const b = stratifiedBootstrap(labels, 2, mean, 300, 0.95, new Rng(0).fork('bootstrap'));
    const c = stratifiedBootstrap(labels, 2, mean, 300, 0.95, new Rng(1).fork('bootstrap'));
    expect(a.intervals).toEqual(b.intervals);
    expect(c.intervals.m).not.toEqual(a.intervals.m);
    const point = x.reduce((s, v) => s + v, 0) / x.length;
    expect(a.intervals.m!.low).toBeLessThan(point);
    expect(a.intervals.m!.high).toBeGreaterThan(point);
    // width ≈ 2·1.96·σ/√n for a mean (σ ≈ 1, n = 300): about 0.23
    expect(a.intervals.m!.high - a.intervals.m!.low).toBeGreaterThan(0.17);
    expect(a.intervals.m!.high - a.intervals.m!.low).toBeLessThan(0.29);
  });
});
