import { describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/engine/optim/create.js';
import { ParameterStore } from '../../src/engine/params.js';
import { Rng } from '../../src/engine/rng.js';
import { f32, i64 } from '../../src/engine/tensor.js';
import { Trainer } from '../../src/engine/trainer.js';
import { loadFixture } from './optim-helpers.js';

const LOSS = { kind: 'cross-entropy' } as const;
const MB = 1024 * 1024;

describe('training memory', () => {
  it('1,000 AdamW steps of small_cnn (batch 16, random data) keep RSS flat: growth from step 100 to 1,000 < 50 MB', async () => {
    const { graph, meta } = loadFixture('small_cnn');
    const params = ParameterStore.fromGraph(graph, meta.trainable);
    const t = await Trainer.compile(graph, { params, optimizer: createOptimizer({ name: 'adamw', lr: 1e-3 }), loss: LOSS, options: { threads: 1 } });
    const rng = new Rng(3).fork('memory-test');
    const n = 16;
    const batches = Array.from({ length: 4 }, () => ({
      x: f32(Float32Array.from({ length: n * 3 * 16 * 16 }, () => rng.normal()), [n, 3, 16, 16]),
      y: i64(Array.from({ length: n }, () => rng.int(0, meta.classes)), [n]),
    }));
    const label = t.inputNames.at(-1)!;
    let rss100 = 0;
    try {
      for (let i = 1; i <= 1000; i++) {
        const b = batches[i % batches.length]!;
        await t.step({ x: b.x, [label]: b.y });
        if (i === 100) rss100 = process.memoryUsage().rss;
      }
    } finally {
      await t.dispose();
    }
    const rss1000 = process.memoryUsage().rss;
    const growth = (rss1000 - rss100) / MB;
    expect(growth, `RSS step 100 = ${(rss100 / MB).toFixed(1)} MB, step 1000 = ${(rss1000 / MB).toFixed(1)} MB`).toBeLessThan(50);
  }, 40_000);
});
