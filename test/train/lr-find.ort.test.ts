import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { FitOptions, copyWeights, lrFind, smoothLosses, suggestLr, type ImageSet } from '../../src/train/index.js';
import { expectAllClose } from '../helpers/all-close.js';

describe('LR range test (fastai lr_find)', () => {
  it('smooths as fastai does (β 0.98, debiased): values from a Python loop', () => {
    // python: avg = b*avg + (1-b)*l; avg / (1 - b**(i+1))
    expectAllClose(smoothLosses([2, 1.5, 1.2, 1, 0.9]), [2.0, 1.7474747474747456, 1.5612841790232614, 1.4166826394943097, 1.3091291581402291], { rtol: 1e-12 });
  });

  it('suggests the rate at the smoothed minimum / 10, ignoring what follows a blow-up past 4× the minimum', () => {
    const lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1];
    expect(suggestLr(lrs, [2, 1.5, 0.8, 1.0, 3])).toBeCloseTo(1e-3, 12);
    expect(suggestLr(lrs, [2, 1.5, 0.8, 9, 0.1])).toBeCloseTo(1e-3, 12); // the 0.1 after the blow-up is noise
    expect(suggestLr([1e-2, 1], [1, 0.5], 1e-5, 0.05)).toBe(0.05); // clamped
  });

  it('on a real net: rates grow exponentially from 1e-5, the smoothed loss falls before the rate is too high, and the weights come back unchanged', async () => {
    const rng = new Rng(5);
    const n = 64;
    const x = new Float32Array(n * 16 * 16);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    // separable: class 1 images are brighter
    for (let i = 0; i < n; i++) for (let j = 0; j < 256; j++) x[i * 256 + j] = rng.uniform() - 0.5 + (labels[i]! ? 0.3 : -0.3);
    const train: ImageSet = { x, dims: [n, 1, 16, 16], labels, indices: [...Array(n).keys()] };
    const net = createModel('compact-cnn', { inChannels: 1, numClasses: 2, inputSize: 16, width: 0.25, rng: new Rng(0).fork('init') });
    const before = copyWeights(net);
    const r = await lrFind({ net, train, options: FitOptions.parse({ batchSize: 16 }), rng: new Rng(1), threads: 1, steps: 30 });
    expect(r.lrs[0]).toBeCloseTo(1e-5, 12);
    for (let i = 1; i < r.lrs.length; i++) expect(r.lrs[i]! / r.lrs[i - 1]!).toBeCloseTo(1e5 ** (1 / 29), 9);
    expect(r.suggested).toBeGreaterThan(1e-5);
    expect(r.suggested).toBeLessThan(0.1);
    expect(Math.min(...r.smoothed)).toBeLessThan(r.smoothed[0]!); // it learned something before the rate got too high
    for (const [k, v] of before) expect((net.params.get(k) ?? net.buffers.get(k))!, k).toEqual(v);
  });
});
