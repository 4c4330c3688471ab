import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { balancedClassWeights, balancedSampleOrder, batches, countLabels } from '../../src/train/sampling.js';

describe('class weights and sampling', () => {
  it('balanced weights equal sklearn compute_class_weight("balanced") = N/(C·n_c)', () => {
    // labels: 6×0, 2×1, 2×2 → sklearn gives [10/(3·6), 10/(3·2), 10/(3·2)]
    const y = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2];
    expect(balancedClassWeights(y, 3)).toEqual([10 / 18, 10 / 6, 10 / 6]);
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
