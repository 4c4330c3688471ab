import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMedclassError } from '../../src/errors.js';
import { loadCheckpoint, restoreParams, saveCheckpoint } from '../../src/engine/checkpoint.js';
import { createOptimizer } from '../../src/engine/optim/create.js';
import { ParameterStore } from '../../src/engine/params.js';
import { Rng } from '../../src/engine/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'mc-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function model(): ParameterStore {
  const s = new ParameterStore();
  s.add('a.weight', new Float32Array(12).map((_, i) => Math.sin(i)), [3, 4]);
  s.add('a.bias', new Float32Array(3).map((_, i) => i / 7), [3]);
  s.add('b.weight', new Float32Array(5).map((_, i) => -i / 3), [5]);
  return s;
}

/** Deterministic pseudo-gradients from a seeded stream (same sequence for both runs). */
function grads(rng: Rng, s: ParameterStore): Map<string, Float32Array> {
  return new Map(s.trainableNames().map((n) => [n, Float32Array.from(s.get(n).data, (v) => v * 0.1 + rng.normal())]));
}

describe('checkpoints', () => {
  it('a run saved at step 5 and resumed from the file ends bit-identical to an uninterrupted run (AdamW, frozen param)', async () => {
    const straight = model();
    straight.freeze('b.*');
    const optS = createOptimizer({ name: 'adamw', lr: 0.01 }, [{ params: 'a.bias', lr: 0.1 }]);
    const rngS = new Rng(7).fork('grads');
    for (let i = 0; i < 10; i++) optS.step(straight, grads(rngS, straight));

    const first = model();
    first.freeze('b.*');
    const optA = createOptimizer({ name: 'adamw', lr: 0.01 }, [{ params: 'a.bias', lr: 0.1 }]);
    const rngA = new Rng(7).fork('grads');
    for (let i = 0; i < 5; i++) optA.step(first, grads(rngA, first));
    const path = join(dir, 'run.ckpt');
    await saveCheckpoint(path, { step: 5, epoch: 1, rngKey: new Rng(7).key, params: first, optimizer: optA.stateDict(), extra: { best: 0.5 } });
    expect(readdirSync(dir)).toEqual(['run.ckpt']); // no temp file left behind

    const ck = await loadCheckpoint(path);
    expect([ck.step, ck.epoch, ck.extra]).toEqual([5, 1, { best: 0.5 }]);
    const resumed = model();
    restoreParams(ck, resumed);
    expect(resumed.frozenNames()).toEqual(['b.weight']);
    const optB = createOptimizer({ name: 'adamw', lr: 0.01 }, [{ params: 'a.bias', lr: 0.1 }]);
    optB.loadStateDict(ck.optimizer!);
    const rngB = new Rng(ck.rngKey).fork('grads');
    for (let i = 0; i < 5; i++) grads(rngB, resumed); // replay the stream position
    for (let i = 5; i < 10; i++) optB.step(resumed, grads(rngB, resumed));
    for (const n of straight.names()) expect(Buffer.from(resumed.get(n).data.buffer).equals(Buffer.from(straight.get(n).data.buffer)), n).toBe(true);
  });

  it('truncated or foreign files fail with MC_ENGINE_BAD_CHECKPOINT naming the file', async () => {
    const path = join(dir, 'ok.ckpt');
    await saveCheckpoint(path, { step: 1, epoch: 0, rngKey: [1], params: model() });
    const bytes = readFileSync(path);
    const cut = join(dir, 'cut.ckpt');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 8));
    const foreign = join(dir, 'foreign.ckpt');
    writeFileSync(foreign, 'PK\u0003\u0004 not a checkpoint');
    for (const [p, why] of [[cut, /truncated/], [foreign, /bad magic/]] as const) {
      const err = await loadCheckpoint(p).catch((e: unknown) => e);
      expect(isMedclassError(err, 'MC_ENGINE_BAD_CHECKPOINT')).toBe(true);
      expect((err as Error).message).toMatch(why);
      expect((err as Error).message).toContain(p);
    }
    const other = new ParameterStore();
    other.add('a.weight', new Float32Array(4), [4]);
    const good = await loadCheckpoint(path);
    expect(() => restoreParams(good, other)).toThrow(/a.weight: expected \[4\], found \[3,4\]/);
  });

  it('restores frozen flags by exact name, even for names with glob characters', async () => {
    const s = new ParameterStore();
    s.add('onnx::Mul_1', new Float32Array([1]), [1]);
    s.add('onnx::Mul_10', new Float32Array([2]), [1]);
    s.add('w?', new Float32Array([3]), [1]);
    s.freeze('w?');
    const path = join(dir, 'names.ckpt');
    await saveCheckpoint(path, { step: 0, epoch: 0, rngKey: [], params: s });
    const back = new ParameterStore();
    back.add('onnx::Mul_1', new Float32Array(1), [1]);
    back.add('onnx::Mul_10', new Float32Array(1), [1]);
    back.add('w?', new Float32Array(1), [1]);
    back.add('wx', new Float32Array(1), [1]);
    const ck = await loadCheckpoint(path);
    expect(() => restoreParams(ck, back)).toThrow(/lacks 1 parameter/);
    const exactBack = new ParameterStore();
    for (const n of ['onnx::Mul_1', 'onnx::Mul_10', 'w?']) exactBack.add(n, new Float32Array(1), [1]);
    restoreParams(ck, exactBack);
    expect(exactBack.frozenNames()).toEqual(['w?']);
    expect([...exactBack.get('onnx::Mul_10').data]).toEqual([2]);
  });
});
