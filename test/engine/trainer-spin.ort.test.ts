import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Rng, defineNetwork, f32, i64 } from '../../src/engine/index.js';
import type { LayerBuilder, Sym } from '../../src/engine/index.js';
import { createOptimizer } from '../../src/engine/optim/create.js';
import { ParameterStore } from '../../src/engine/params.js';
import { Trainer } from '../../src/engine/trainer.js';

const def = (b: LayerBuilder, x: Sym): Sym => {
  let h = b.relu(b.conv2d(x, 'c1', { out: 32, kernel: 3, padding: 1 }));
  h = b.relu(b.conv2d(h, 'c2', { out: 32, kernel: 3, padding: 1 }));
  return b.linear(b.flatten(b.globalAvgPool(h)), 'fc', { out: 2 });
};

async function train(spin: boolean, steps: number): Promise<{ params: Float32Array[]; spinningAtEnd: boolean; losses: number[] }> {
  const rng = new Rng(11);
  const net = defineNetwork(def, { name: 'spin', inputDims: [1, 32, 32], numClasses: 2, rng: rng.fork('init') });
  const store = ParameterStore.fromWeights(net.params, net.shapes);
  const t = await Trainer.compile(net.trainGraph(), {
    params: store, optimizer: createOptimizer({ name: 'adamw', lr: 1e-3 }), loss: { kind: 'cross-entropy' }, options: { threads: 2, spin },
  });
  const data = rng.fork('data');
  const losses: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const x = f32(Float32Array.from({ length: 64 * 32 * 32 }, () => data.normal()), [64, 1, 32, 32]);
      losses.push((await t.step({ x, labels: i64(Array.from({ length: 64 }, () => data.int(0, 2)), [64]) })).loss);
    }
    return { params: store.trainableNames().map((n) => store.tensor(n).data.slice() as Float32Array), spinningAtEnd: t.spinning, losses };
  } finally {
    await t.dispose();
  }
}

describe('Trainer spin: true', () => {
  it('reopens its session without spinning when other processes take the cores, with the same results', async () => {
    // two busy processes on a 2-core machine leave this one about half of its threads' time
    const hogs: ChildProcess[] = Array.from({ length: Math.max(2, cpus().length) }, () => spawn(process.execPath, ['-e', 'for(;;);'], { stdio: 'ignore' }));
    try {
      await new Promise((r) => setTimeout(r, 300));
      const spun = await train(true, 12);
      expect(spun.spinningAtEnd).toBe(false);
      const plain = await train(false, 12);
      expect(plain.spinningAtEnd).toBe(false);
      expect(spun.losses).toEqual(plain.losses);
      spun.params.forEach((p, i) => expect(p).toEqual(plain.params[i]));
    } finally {
      for (const h of hogs) h.kill('SIGKILL');
    }
  }, 120_000);
});
