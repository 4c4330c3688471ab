import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { FitOptions, fit, type ImageSet, type Monitor } from '../../src/train/index.js';

const constant: Monitor = { name: 'constant', higherIsBetter: true, score: () => 0.5 };

function randomSet(n: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 16 * 16);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform() - 0.5;
  return { x, dims: [n, 1, 16, 16], labels: Int32Array.from({ length: n }, (_, i) => i % 2), indices: [...Array(n).keys()] };
}

async function trainLosses(fitOptions: Record<string, unknown>, train = randomSet(32, 1)): Promise<number[]> {
  const net = createModel('compact-cnn', { inChannels: 1, numClasses: 2, inputSize: 16, width: 0.25, rng: new Rng(0).fork('init') });
  const result = await fit({
    net, train, val: randomSet(8, 2), options: FitOptions.parse({ epochs: 2, batchSize: 8, lr: 1e-3, ...fitOptions }),
    monitor: constant, rng: new Rng(0).fork('fit'), threads: 1,
  });
  return result.history.map((h) => h.trainLoss);
}

describe('fit.mixup', () => {
  it('changes training (soft targets, mixed inputs) and is reproducible by seed', async () => {
    const plain = await trainLosses({});
    const mixed = await trainLosses({ mixup: 0.4 });
    expect(mixed).not.toEqual(plain);
    expect(await trainLosses({ mixup: 0.4 })).toEqual(mixed);
    for (const l of mixed) expect(Number.isFinite(l)).toBe(true);
  });

  it('is refused for fusion sets (it would mix the images but not their metadata)', async () => {
    const train = { ...randomSet(16, 1), tabular: { features: 2, data: new Float32Array(32) } } as unknown as ImageSet;
    await expect(trainLosses({ mixup: 0.4 }, train)).rejects.toMatchObject({ code: 'MC_TRAIN_BAD_CONFIG' });
  });
});
