import { describe, expect, it } from 'vitest';
import { isMedclassError } from '../../src/errors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, restoreParams, saveCheckpoint } from '../../src/engine/checkpoint.js';
import { exportInferenceGraph } from '../../src/engine/export.js';
import { createOptimizer } from '../../src/engine/optim/create.js';
import { cosineSchedule } from '../../src/engine/optim/schedules.js';
import { ParameterStore } from '../../src/engine/params.js';
import { Session } from '../../src/engine/runtime/session.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { Trainer } from '../../src/engine/trainer.js';
import { expectRelClose, loadFixture } from './optim-helpers.js';

const LOSS = { kind: 'cross-entropy' } as const;

describe('Trainer', () => {
  for (const name of ['mlp', 'bn_mlp', 'small_cnn', 'resblock', 'mbconv']) {
    it(`3 AdamW steps on the fixture batch match torch.optim.AdamW losses and params within 1e-4 (${name})`, async () => {
      const { graph, ref, meta } = loadFixture(name);
      const params = ParameterStore.fromGraph(graph, meta.trainable);
      const optimizer = createOptimizer({ name: 'adamw', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
      const t = await Trainer.compile(graph, { params, optimizer, loss: LOSS, options: { threads: 1 } });
      try {
        const feeds = { x: ref.get('x') as Tensor, [t.inputNames.at(-1)!]: ref.get('y') as Tensor };
        const losses: number[] = [];
        for (let i = 0; i < 3; i++) losses.push((await t.step(feeds)).loss);
        expectRelClose(losses, ref.get('adamw3_losses')!.data as Float32Array, 1e-4, 'adamw3_losses');
        for (const p of meta.trainable) expectRelClose(params.get(p).data, ref.get(`adamw3/${p}`)!.data as Float32Array, 1e-4, `adamw3/${p}`);
      } finally {
        await t.dispose();
      }
    });
  }

  it('one SGD step (lr 0.1) through the compiled graph matches the sgd1 reference (small_cnn)', async () => {
    const { graph, ref, meta } = loadFixture('small_cnn');
    const params = ParameterStore.fromGraph(graph, meta.trainable);
    const t = await Trainer.compile(graph, { params, optimizer: createOptimizer({ name: 'sgd', lr: 0.1 }), loss: LOSS, options: { threads: 1 } });
    try {
      const r = await t.step({ x: ref.get('x') as Tensor, [t.inputNames.at(-1)!]: ref.get('y') as Tensor });
      expectRelClose([r.loss], ref.get('loss')!.data as Float32Array, 1e-5, 'loss');
      expectRelClose(r.logits.data as Float32Array, ref.get('logits')!.data as Float32Array, 1e-5, 'logits');
      for (const p of meta.trainable) expectRelClose(params.get(p).data, ref.get(`sgd1/${p}`)!.data as Float32Array, 1e-4, `sgd1/${p}`);
    } finally {
      await t.dispose();
    }
  });

  it('with everything but the last Gemm frozen, only its gradients are produced and frozen weights stay bit-identical after 10 steps (small_cnn)', async () => {
    const { graph, ref, meta } = loadFixture('small_cnn');
    const params = ParameterStore.fromGraph(graph, meta.trainable);
    params.freeze('*');
    params.unfreeze('fc.*');
    const before = new Map(params.names().map((n) => [n, params.get(n).data.slice()]));
    const t = await Trainer.compile(graph, { params, optimizer: createOptimizer({ name: 'sgd', lr: 0.1, momentum: 0.9 }), loss: LOSS, options: { threads: 1 } });
    try {
      expect(t.trainableNames).toEqual(['fc.bias', 'fc.weight']);
      expect(t.gradientOutputs().sort()).toEqual(['fc.bias', 'fc.weight']);
      const feeds = { x: ref.get('x') as Tensor, [t.inputNames.at(-1)!]: ref.get('y') as Tensor };
      for (let i = 0; i < 10; i++) await t.step(feeds);
      for (const n of ['c1.weight', 'c1.bias', 'c2.weight', 'c2.bias']) {
        expect(Buffer.from(params.get(n).data.buffer).equals(Buffer.from(before.get(n)!.buffer)), n).toBe(true);
      }
      expect(params.get('fc.weight').data).not.toEqual(before.get('fc.weight'));
      // unfreezing recompiles at the next step: now every parameter changes
      params.unfreeze('c2.*');
      await t.step(feeds);
      expect(t.trainableNames).toEqual(['c2.bias', 'c2.weight', 'fc.bias', 'fc.weight']);
      expect(params.get('c2.weight').data).not.toEqual(before.get('c2.weight'));
    } finally {
      await t.dispose();
    }
  });

  it('export round trip: the exported ONNX gives the training graph\'s logits (max abs diff < 1e-5) after 5 steps (small_cnn)', async () => {
    const { graph, ref, meta } = loadFixture('small_cnn');
    const params = ParameterStore.fromGraph(graph, meta.trainable);
    const t = await Trainer.compile(graph, {
      params, optimizer: createOptimizer({ name: 'adamw', lr: 1e-2 }), loss: LOSS,
      schedule: { name: 'cosine', warmupSteps: 2, warmupStartFactor: 0, minFactor: 0 }, options: { threads: 1, clipNorm: 1, totalSteps: 6 },
    });
    const exported = { s: undefined as Session | undefined };
    try {
      const feeds = { x: ref.get('x') as Tensor, [t.inputNames.at(-1)!]: ref.get('y') as Tensor };
      const factors: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await t.step(feeds);
        factors.push(r.lrFactor);
        expect(r.gradNorm).toBeGreaterThan(0);
      }
      expect(factors.slice(0, 3)).toEqual([0, 0.5, 1]);
      exported.s = await Session.create(exportInferenceGraph(graph, params), { threads: 1 });
      const fromFile = (await exported.s.run({ x: ref.get('x') as Tensor })).logits!.data as Float32Array;
      const fwd = (await t.forward({ x: ref.get('x') as Tensor }, ['logits'])).logits!.data as Float32Array;
      const train = (await t.step(feeds)).logits.data as Float32Array; // logits before this step's update
      let maxDiff = 0;
      for (let i = 0; i < train.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fromFile[i]! - train[i]!), Math.abs(fwd[i]! - train[i]!));
      expect(maxDiff).toBeLessThan(1e-5);
      expect(fromFile).not.toEqual(ref.get('logits')!.data); // the weights did change
    } finally {
      await t.dispose();
      await exported.s?.dispose();
    }
  });

  it('a run checkpointed after 3 of 6 steps and resumed in a fresh trainer ends bit-identical (AdamW, cosine schedule, clipping; resblock)', async () => {
    const { graph, ref, meta } = loadFixture('resblock');
    const feeds = { x: ref.get('x') as Tensor, labels: ref.get('y') as Tensor };
    const setup = (params: ParameterStore) => ({
      params, optimizer: createOptimizer({ name: 'adamw', lr: 1e-2 }, [{ params: 'fc.*', lr: 3e-2 }]), loss: LOSS,
      schedule: cosineSchedule({ totalSteps: 6, warmupSteps: 1 }), options: { threads: 1, clipNorm: 0.5 },
    });
    const straight = ParameterStore.fromGraph(graph, meta.trainable);
    const a = await Trainer.compile(graph, setup(straight));
    const dir = mkdtempSync(join(tmpdir(), 'mc-trainer-'));
    const path = join(dir, 'last.ckpt');
    try {
      for (let i = 0; i < 6; i++) await a.step(feeds);
      const first = ParameterStore.fromGraph(graph, meta.trainable);
      const s1 = setup(first);
      const b = await Trainer.compile(graph, s1);
      for (let i = 0; i < 3; i++) await b.step(feeds);
      await saveCheckpoint(path, { step: b.stepCount, epoch: 0, rngKey: [0], params: first, optimizer: s1.optimizer.stateDict() });
      await b.dispose();

      const ck = await loadCheckpoint(path);
      const resumed = ParameterStore.fromGraph(graph, meta.trainable);
      restoreParams(ck, resumed);
      const s2 = setup(resumed);
      s2.optimizer.loadStateDict(ck.optimizer!);
      const c = await Trainer.compile(graph, s2);
      c.stepCount = ck.step;
      for (let i = 3; i < 6; i++) await c.step(feeds);
      await c.dispose();
      for (const n of meta.trainable) expect(Buffer.from(resumed.get(n).data.buffer).equals(Buffer.from(straight.get(n).data.buffer)), n).toBe(true);
    } finally {
      await a.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a step without the labels feed fails with MC_ENGINE_MISSING_INPUT naming it', async () => {
    const { graph, ref, meta } = loadFixture('mlp');
    const t = await Trainer.compile(graph, { params: ParameterStore.fromGraph(graph, meta.trainable), optimizer: createOptimizer({ name: 'sgd' }), loss: LOSS, options: { threads: 1 } });
    try {
      const err = await t.step({ x: ref.get('x') as Tensor }).catch((e: unknown) => e);
      expect(isMedclassError(err, 'MC_ENGINE_MISSING_INPUT')).toBe(true);
      expect((err as Error).message).toMatch(/'labels'/);
    } finally {
      await t.dispose();
    }
  });
});
