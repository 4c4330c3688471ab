import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { FitOptions, fit, type ImageSet, type Monitor } from '../../src/train/index.js';

const auc: Monitor = { name: 'first-prob', higherIsBetter: true, score: (_l, p) => p[0]! };

function randomSet(n: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 16 * 16);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform() - 0.5;
  return { x, dims: [n, 1, 16, 16], labels: Int32Array.from({ length: n }, (_, i) => i % 2), indices: [...Array(n).keys()] };
}

/** Blocks the thread for `ms` (an epoch slower than planned, as on a loaded machine). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

describe('fit under a deadline: re-planning', () => {
  it('a run whose epochs are slower than planned is shortened after its first epoch and ends annealed, within the deadline', async () => {
    const net = createModel('compact-cnn', { inChannels: 1, numClasses: 2, inputSize: 16, width: 0.25, rng: new Rng(0).fork('init') });
    const lr = 1e-3;
    const options = FitOptions.parse({ epochs: 40, batchSize: 8, lr, schedule: 'onecycle', warmup: 0.2, minEpochs: 12, patience: 0 });
    const t0 = performance.now();
    const deadline = t0 + 5000; // 40 epochs of ≥ 2·150 ms need ≥ 12 s
    let pastDeadline = false;
    const result = await fit({
      net, train: randomSet(16, 1), val: randomSet(8, 2), options, monitor: auc, rng: new Rng(0).fork('fit'), threads: 1, deadline,
      hooks: { onBatchEnd: () => { busy(150); return (pastDeadline = performance.now() >= deadline) ? 'stop' : undefined; } },
    });
    const ended = performance.now();
    expect(pastDeadline).toBe(false);
    expect(ended).toBeLessThanOrEqual(deadline);
    expect(result.stopped).toBe('done');
    expect(result.replans.length).toBeGreaterThanOrEqual(1);
    const first = result.replans[0]!;
    expect(first.afterEpoch).toBe(1);
    expect(first.from).toBe(40);
    const to = result.replans.at(-1)!.to;
    expect(to).toBeLessThan(40);
    expect(to).toBeGreaterThanOrEqual(3); // (5 s − compiling) / (2 · 150 ms + validation)
    expect(result.history.length).toBe(to);
    // one-cycle's last step: lr / (divFactor 25 · finalDivFactor 1e4); the peak was reached on the way
    expect(result.history.at(-1)!.lr).toBeCloseTo(lr / 2.5e5, 12);
    expect(Math.max(...result.history.map((h) => h.lr))).toBeGreaterThan(0.8 * lr);
    // minEpochs (12 of 40) shrank with the run, so a best epoch was chosen
    expect(result.best).toBeDefined();
  }, 60_000);

  it('a run whose epochs are faster than planned grows up to maxEpochs and still ends annealed', async () => {
    const net = createModel('compact-cnn', { inChannels: 1, numClasses: 2, inputSize: 16, width: 0.25, rng: new Rng(0).fork('init') });
    const lr = 1e-3;
    const result = await fit({
      net, train: randomSet(16, 1), val: randomSet(8, 2), options: FitOptions.parse({ epochs: 3, batchSize: 8, lr, schedule: 'onecycle', warmup: 0.2 }),
      monitor: auc, rng: new Rng(0).fork('fit'), threads: 1, deadline: performance.now() + 600_000, maxEpochs: 8,
    });
    expect(result.replans[0]).toMatchObject({ afterEpoch: 1, from: 3, to: 8 });
    expect(result.history.length).toBe(8);
    expect(result.history.at(-1)!.lr).toBeCloseTo(lr / 2.5e5, 12);
    expect(result.stopped).toBe('done');
  }, 60_000);

  it('without a deadline nothing is re-planned', async () => {
    const net = createModel('compact-cnn', { inChannels: 1, numClasses: 2, inputSize: 16, width: 0.25, rng: new Rng(0).fork('init') });
    const result = await fit({
      net, train: randomSet(16, 1), val: randomSet(8, 2), options: FitOptions.parse({ epochs: 3, batchSize: 8, lr: 1e-3 }), monitor: auc,
      rng: new Rng(0).fork('fit'), threads: 1,
    });
    expect(result.replans).toEqual([]);
    expect(result.history.length).toBe(3);
  }, 60_000);
});
