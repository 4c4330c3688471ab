import { describe, expect, it } from 'vitest';
import { Rng, Session, bnStatOutputs, defineNetwork, dropoutFeeds, f32, i64, updateRunningStats } from '../../src/engine/index.js';
import type { LayerBuilder, Sym, Tensor } from '../../src/engine/index.js';
import { exportInferenceGraph } from '../../src/engine/export.js';
import { createOptimizer } from '../../src/engine/optim/create.js';
import { oneCycleSchedule } from '../../src/engine/optim/schedules.js';
import { ParameterStore } from '../../src/engine/params.js';
import { Trainer } from '../../src/engine/trainer.js';

// conv → training-mode batch-norm → relu → dropout → global pool → linear, on a toy task: class 1 images are brighter.
const def = (b: LayerBuilder, x: Sym): Sym => {
  let h = b.relu(b.batchNorm(b.conv2d(x, 'conv', { out: 8, kernel: 3, padding: 1, bias: false }), 'bn'));
  h = b.dropout(h, 0.2);
  return b.linear(b.flatten(b.globalAvgPool(h)), 'fc', { out: 2 });
};

function batch(rng: Rng, n: number): { x: Tensor; labels: Tensor; y: number[] } {
  const y = Array.from({ length: n }, () => rng.int(0, 2));
  const x = new Float32Array(n * 64);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal() + y[Math.floor(i / 64)]! * 0.8;
  return { x: f32(x, [n, 1, 8, 8]), labels: i64(y, [n]), y };
}

describe('Trainer with a builder network', () => {
  it('trains with batch-statistics BN (kept outputs → running stats) and seeded dropout masks; export with buffers matches the eval graph', async () => {
    const rng = new Rng(5);
    const net = defineNetwork(def, { name: 'toy', inputDims: [1, 8, 8], numClasses: 2, rng: rng.fork('init') });
    const params = ParameterStore.fromWeights(net.params, net.shapes);
    const steps = 40;
    const t = await Trainer.compile(net.trainGraph(), {
      params, optimizer: createOptimizer({ name: 'sgd', lr: 0.5, momentum: 0.9 }), loss: { kind: 'cross-entropy' },
      keepOutputs: bnStatOutputs(net), schedule: oneCycleSchedule({ totalSteps: steps }), options: { threads: 1 },
    });
    const data = rng.fork('data');
    const drop = rng.fork('dropout');
    const runMean0 = net.buffers.get('bn.running_mean')!.slice();
    const losses: number[] = [];
    try {
      for (let s = 0; s < steps; s++) {
        const b = batch(data, 32);
        const r = await t.step({ x: b.x, labels: b.labels }, dropoutFeeds(net, drop.fork(`step-${s}`), 32));
        expect(Object.keys(r.kept).sort()).toEqual(bnStatOutputs(net).sort());
        updateRunningStats(net.buffers, net.bnStats, r.kept);
        losses.push(r.loss);
      }
    } finally {
      await t.dispose();
    }
    const mean = (a: number[]) => a.reduce((p, c) => p + c, 0) / a.length;
    expect(mean(losses.slice(-5))).toBeLessThan(0.6 * mean(losses.slice(0, 5)));
    expect(net.buffers.get('bn.running_mean')).not.toEqual(runMean0);

    const test = batch(rng.fork('test'), 64);
    const infer = await Session.create(exportInferenceGraph(net.inferenceGraph(), params, net.buffers), { threads: 1 });
    const evalS = await Session.create(exportInferenceGraph(net.evalGraph(), params, net.buffers), { threads: 1 });
    try {
      const a = (await infer.run({ x: test.x })).logits!.data as Float32Array;
      const e = (await evalS.run({ x: test.x })).logits!.data as Float32Array;
      let maxDiff = 0, correct = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - e[i]!));
      for (let i = 0; i < test.y.length; i++) if ((a[2 * i + 1]! > a[2 * i]! ? 1 : 0) === test.y[i]) correct++;
      expect(maxDiff).toBeLessThan(1e-4);
      expect(correct / test.y.length).toBeGreaterThan(0.8);
    } finally {
      await infer.dispose();
      await evalS.dispose();
    }
  });
});
