import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { FitOptions, fit, loadWeights, type FitState, type ImageSet, type Monitor, type ResumeFrom } from '../../src/train/index.js';
import { fitSnapshot } from '../helpers/fit-snapshot.js';

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
  it('a resumed run replays the re-plans made before its checkpoint and ends as the uninterrupted run', async () => {
    const newNet = () => createModel('compact-cnn', { inChannels: 1, numClasses: 2, inputSize: 16, width: 0.25, rng: new Rng(0).fork('init') });
    const train = randomSet(16, 1);
    const val = randomSet(8, 2);
    const options = FitOptions.parse({ epochs: 3, batchSize: 8, lr: 1e-3, schedule: 'onecycle', warmup: 0.2 });
    const common = { train, val, options, monitor: auc, threads: 1, maxEpochs: 8 };
    const whole = newNet();
    const a = await fit({ ...common, net: whole, rng: new Rng(0).fork('fit'), deadline: performance.now() + 600_000 });
    expect(a.replans.map((r) => [r.afterEpoch, r.to])).toEqual([[1, 8]]);
    let saved: (ResumeFrom & { params: Map<string, Float32Array> }) | undefined;
    await fit({
      ...common, net: newNet(), rng: new Rng(0).fork('fit'), deadline: performance.now() + 600_000,
      hooks: {
        onEpochEnd: (s: FitState) => {
          if (s.epoch !== 3) return undefined;
          saved = fitSnapshot(s);
          return 'stop';
        },
      },
    });
    expect(saved!.replans).toHaveLength(1);
    // resumed without a deadline (as `medclass train --resume` does): the plan and the stretched schedule come from the checkpoint
    const resumed = newNet();
    loadWeights(resumed, saved!.params);
    const b = await fit({ ...common, net: resumed, rng: new Rng(0).fork('fit'), resume: saved! });
    expect(b.history.map((h) => [h.epoch, h.lr])).toEqual(a.history.map((h) => [h.epoch, h.lr]));
    expect(b.history.map((h) => h.valScore)).toEqual(a.history.map((h) => h.valScore));
    const plan = (r: typeof a.replans) => r.map(({ phase, afterEpoch, from, to }) => ({ phase, afterEpoch, from, to }));
    expect(plan(b.replans)).toEqual(plan(a.replans)); // their timings are the first run's
    for (const [n, d] of whole.params) expect(resumed.params.get(n), n).toEqual(d);
    // without the re-plans the resumed run follows the config's 3 epochs (the test can fail)
    const blind = newNet();
    loadWeights(blind, saved!.params);
    const { replans: _drop, ...noReplans } = saved!;
    const c = await fit({ ...common, net: blind, rng: new Rng(0).fork('fit'), resume: noReplans });
    expect(c.history).toHaveLength(3);
  }, 60_000);
});
