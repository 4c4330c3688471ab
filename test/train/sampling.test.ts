import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { balancedClassWeights, balancedSampleOrder, batches, countLabels, resolveClassWeights } from '../../src/train/sampling.js';

describe('class weights and sampling', () => {
  it('balanced weights equal sklearn compute_class_weight("balanced") = N/(C·n_c)', () => {
    // labels: 6×0, 2×1, 2×2 → sklearn gives [10/(3·6), 10/(3·2), 10/(3·2)]
    const y = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2];
    expect(balancedClassWeights(y, 3)).toEqual([10 / 18, 10 / 6, 10 / 6]);
  });

  it("'sqrt' weights are the square roots of the balanced ones, rescaled to mean row weight 1", () => {
    // 8×0, 2×1: balanced [10/16, 10/4] → roots [√0.625, √2.5]; mean row weight (8·√0.625 + 2·√2.5)/10 = √2.5·0.6
    const y = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    const w = resolveClassWeights('sqrt', y, 2)!;
    expect(w[0]).toBeCloseTo(Math.sqrt(0.625) / (Math.sqrt(2.5) * 0.6), 12);
    expect(w[1]).toBeCloseTo(1 / 0.6, 12);
    expect(w[1]! / w[0]!).toBeCloseTo(2, 12); // √(8/2)
    expect(resolveClassWeights('none', y, 2)).toBeUndefined();
    expect(resolveClassWeights('auto', y, 2)).toEqual(balancedClassWeights(y, 2));
  });

  it('a weight list must hold one weight per class (a single weight would broadcast silently)', () => {
    const y = [0, 1, 2];
    expect(resolveClassWeights([1, 2, 3], y, 3)).toEqual([1, 2, 3]);
    expect(() => resolveClassWeights([2], y, 3)).toThrow(/fit\.classWeights lists 1 weight for 3 classes/);
    expect(() => resolveClassWeights([1, 2, 3, 4], y, 3, 'fit.loss.alpha')).toThrow(/fit\.loss\.alpha lists 4 weights for 3 classes/);
  });

  it('balanced sampler draws classes about equally often from 9:1 data', () => {
    const y = Array.from({ length: 1000 }, (_, i) => (i < 900 ? 0 : 1));
    const order = balancedSampleOrder(y, 2, 20000, new Rng(0));
    const c = countLabels(order.map((i) => y[i]!), 2);
    expect(Math.abs(c[0]! / 20000 - 0.5)).toBeLessThan(0.02);
  });

  it('sampler is reproducible by seed', () => {
    const y = [0, 1, 1, 1, 0, 1];
    expect(balancedSampleOrder(y, 2, 50, new Rng(5))).toEqual(balancedSampleOrder(y, 2, 50, new Rng(5)));
  });

  it('batches keeps or drops the last partial batch', () => {
    expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(batches([1, 2, 3, 4, 5], 2, true)).toEqual([[1, 2], [3, 4]]);
  });
});
