import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import {
  FitOptions, Predictor, copyWeights, fit, loadWeights, softmaxRows, type FitState, type ImageSet, type Monitor, type ResumeFrom,
} from '../../src/train/index.js';
import { expectAllClose } from '../helpers/all-close.js';
import { fitSnapshot } from '../helpers/fit-snapshot.js';

function randomSet(n: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 16 * 16);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform() - 0.5;
  return { x, dims: [n, 1, 16, 16], labels: Int32Array.from({ length: n }, (_, i) => i % 2), indices: [...Array(n).keys()] };
}

/** Mean probability of the true class: depends on every weight, so it tells which weights validation saw. */
const meanTrueProb: Monitor = {
  name: 'p-true', higherIsBetter: true,
  score: (labels, probs, k) => labels.reduce((a, y, i) => a + probs[i * k + y]!, 0) / labels.length,
};

const train = randomSet(32, 1);
const val = randomSet(8, 2);
const newNet = () => createModel('compact-cnn', { inChannels: 1, numClasses: 2, inputSize: 16, width: 0.25, rng: new Rng(0).fork('init') });
const options = (o: Record<string, unknown>) => FitOptions.parse({ batchSize: 8, lr: 3e-3, ema: 0.9, augment: { hflip: true, translate: 0.1 }, ...o });

describe('fit.ema: exponential moving average of the weights', () => {
  it('the best weights are the average of the raw weights after each step, computed here in float64, and validation judged them', async () => {
    const net = newNet();
    const names = [...net.params.keys(), ...net.buffers.keys()];
    const get = (n: string) => (net.params.get(n) ?? net.buffers.get(n))!;
    const avg = new Map(names.map((n) => [n, Float64Array.from(get(n))]));
    let t = 0;
    const result = await fit({
      net, train, val, options: options({ epochs: 1 }), monitor: meanTrueProb, rng: new Rng(0).fork('fit'), threads: 1,
      hooks: {
        onBatchEnd: () => {
          t++;
          const d = Math.min(0.9, (1 + t) / (10 + t)); // TensorFlow ExponentialMovingAverage with num_updates
          for (const n of names) {
            const a = avg.get(n)!;
            const w = get(n);
            for (let i = 0; i < a.length; i++) a[i] = d * a[i]! + (1 - d) * w[i]!;
          }
        },
      },
    });
    expect(t).toBe(4);
    const best = result.best!.params;
    let moved = 0;
    for (const n of names) {
      expectAllClose(best.get(n)!, avg.get(n)!, { rtol: 1e-5, atol: 1e-6, label: n });
      moved = Math.max(moved, ...get(n).map((w, i) => Math.abs(w - best.get(n)![i]!)));
    }
    expect(moved).toBeGreaterThan(1e-4); // the net itself ends with the raw weights, not the average
    const raw = copyWeights(net);
    loadWeights(net, best);
    const p = await Predictor.create(net, 1);
    try {
      const score = meanTrueProb.score(val.labels, softmaxRows(await p.logits(val), 2), 2);
      expect(result.history[0]!.valScore).toBeCloseTo(score, 6);
    } finally {
      await p.dispose();
      loadWeights(net, raw);
    }
  });

  it('resuming from an epoch-end state with its EMA ends bit-identical to the uninterrupted run', async () => {
    const whole = newNet();
    const a = await fit({ net: whole, train, val, options: options({ epochs: 3 }), monitor: meanTrueProb, rng: new Rng(0).fork('fit'), threads: 1 });
    const first = newNet();
    let saved: (ResumeFrom & { params: Map<string, Float32Array> }) | undefined;
    await fit({
      net: first, train, val, options: options({ epochs: 3 }), monitor: meanTrueProb, rng: new Rng(0).fork('fit'), threads: 1,
      hooks: {
        onEpochEnd: (s: FitState) => {
          if (s.epoch !== 1) return undefined;
          saved = fitSnapshot(s);
          return 'stop';
        },
      },
    });
    const resumed = newNet();
    loadWeights(resumed, saved!.params);
    const b = await fit({ net: resumed, train, val, options: options({ epochs: 3 }), monitor: meanTrueProb, rng: new Rng(0).fork('fit'), threads: 1, resume: saved! });
    expect(b.history.map((h) => h.valScore)).toEqual(a.history.map((h) => h.valScore));
    expect([b.best!.epoch, b.best!.score]).toEqual([a.best!.epoch, a.best!.score]);
    for (const [n, d] of a.best!.params) expect(b.best!.params.get(n), n).toEqual(d);
    for (const [n, d] of whole.params) expect(resumed.params.get(n), n).toEqual(d);
    // and without the EMA state the resumed run differs (the test can fail)
    const blind = newNet();
    loadWeights(blind, saved!.params);
    const { ema: _drop, ...noEma } = saved!;
    const c = await fit({ net: blind, train, val, options: options({ epochs: 3 }), monitor: meanTrueProb, rng: new Rng(0).fork('fit'), threads: 1, resume: noEma });
    expect(c.history.at(-1)!.valScore).not.toBe(a.history.at(-1)!.valScore);
  });
});
