// Cached-trunk training gives the same weights as ordinary training of the same phases (no augmentation, same
// seed), on 64 Kermany chest X-rays at 224 px through the shared MobileNetV2; the exported full model agrees too.
import { describe, expect, it } from 'vitest';
import { Rng, Session, loadModel, saveModel, type Graph, type Network } from '../../src/engine/index.js';
import { Dataset, PreprocessOptions, normalizationTable, openSource } from '../../src/data/index.js';
import { createBackbone } from '../../src/models/index.js';
import { FitOptions, TrunkCache, copyWeights, fit, rowRange, type EpochRecord, type ImageSet } from '../../src/train/index.js';
import { expectAllClose } from '../helpers/all-close.js';

const SHARED = new URL('../../../shared/', import.meta.url).pathname;
const MODEL = `${SHARED}models/tf-mobilenet-coral/mobilenet_v2_1.0_224_quant.f32.onnx`;
const DATA = `${SHARED}data/chest-xray-pneumonia-224/dataset`;
const OPTS = { numClasses: 2, inChannels: 1, head: { kind: 'linear', dropout: 0.2 } } as const;

/** The first `n` NORMAL and `n` PNEUMONIA training images (sorted ids), preprocessed as the example config does. */
async function load(n: number, skip: number): Promise<ImageSet> {
  const source = openSource(DATA);
  const ds = new Dataset(source);
  const byClass = [0, 1].map((c) => ds.indicesOf('train').filter((i) => source.items[i]!.label === source.classes[c]).slice(skip, skip + n));
  const rows = byClass[0]!.flatMap((a, i) => [a, byClass[1]![i]!]);
  const b = await ds.loadBytes(rows, PreprocessOptions.parse({ size: 224, channels: 1, normalize: 'half' }));
  return { bytes: { data: b.bytes, table: normalizationTable('half', 1) }, dims: b.dims, labels: b.labels, indices: b.indices }; // as a run holds them
}

const monitor = { name: 'loss', higherIsBetter: false, score: () => 0 };

async function train(graph: Graph, train: ImageSet, val: ImageSet, cache?: TrunkCache): Promise<{ net: Network; history: EpochRecord[] }> {
  const net = createBackbone(graph, { ...OPTS, rng: new Rng(7).fork('init') });
  const options = FitOptions.parse({
    batchSize: 16, optimizer: 'adamw', schedule: 'constant', weightDecay: 1e-4, classWeights: 'auto',
    phases: [{ epochs: 2, lr: 3e-3, trainable: 'head' }, { epochs: 1, lr: 1e-3, trainable: 'last:2' }],
  });
  const r = await fit({ net, train, val, options, monitor, rng: new Rng(3).fork('fit'), threads: 2, ...(cache ? { trunkCache: cache } : {}) });
  return { net, history: r.history };
}

describe('cached-trunk training (MobileNetV2, 64 chest X-rays)', () => {
  it('trains the same head and last conv weights as uncached training; the exported model agrees', async () => {
    const graph = loadModel(MODEL);
    const [trainSet, valSet] = [await load(32, 0), await load(8, 32)];
    const cache = new TrunkCache(graph, OPTS, { threads: 2 });
    expect(cache.startFor('head')).toBe('embedding');
    expect(cache.startFor('all')).toBeUndefined();

    const plain = await train(graph, trainSet, valSet);
    const cached = await train(graph, trainSet, valSet, cache);

    const a = copyWeights(plain.net);
    const b = copyWeights(cached.net);
    const init = copyWeights(createBackbone(graph, { ...OPTS, rng: new Rng(7).fork('init') }));
    const changed = [...a.keys()].filter((n) => a.get(n)!.some((v, i) => v !== init.get(n)![i]));
    // Phase 1 trains the head; phase 2 the last two convs (block 16's projection, Conv_1) and the head.
    expect(changed.sort()).toEqual(['head.fc.bias', 'head.fc.weight', 'n60_conv_2d_B', 'n60_conv_2d_W', 'n61_conv_2d_B', 'n61_conv_2d_W']);
    // The prefix runs in an optimised inference session, the uncached step in the unoptimised training graph:
    // the inputs differ by float32 rounding only, and so do the trained weights — except where AdamW divides a
    // gradient at the float32 noise level by its own RMS: there the two steps can differ by up to one step, lr
    // (one weight of 409,600 on a Zen 1 host: 7.6e-5). At most 1 in 10,000 may, and by no more than the largest lr.
    for (const n of changed) {
      const [x, y] = [b.get(n)!, a.get(n)!];
      const off = Array.from(y, (v, i) => i).filter((i) => Math.abs(x[i]! - y[i]!) > 2e-5 + 1e-3 * Math.abs(y[i]!));
      expect(off.length, `${n}: ${off.length} of ${y.length} outside float rounding`).toBeLessThanOrEqual(Math.floor(y.length / 10_000));
      for (const i of off) expect(Math.abs(x[i]! - y[i]!), `${n}[${i}]`).toBeLessThan(3e-3);
    }
    for (const n of a.keys()) if (!changed.includes(n)) expect(b.get(n), n).toEqual(a.get(n));
    plain.history.forEach((h, i) => expect(cached.history[i]!.trainLoss).toBeCloseTo(h.trainLoss, 4));

    // Export after cached training: the full inference graph, with the trained weights, on raw images.
    const run = async (net: Network) => (await (await Session.create(saveModel(net.inferenceGraph()))).run({
      x: { dtype: 'float32', dims: valSet.dims, data: rowRange(valSet, 0, valSet.dims[0]) },
    })).logits!.data as Float32Array;
    expectAllClose(await run(cached.net), await run(plain.net), { atol: 1e-4, rtol: 1e-4, label: 'exported logits' });
  }, 120_000);

  it('augmented passes: epoch e trains on pass e mod P, val is never augmented; a trained prefix weight drops the cache', async () => {
    const graph = loadModel(MODEL);
    const set = await load(4, 40);
    const net = createBackbone(graph, { ...OPTS, rng: new Rng(7).fork('init') });
    const augment = { hflip: true, vflip: false, rotate: 10, translate: 0, zoom: 0, brightness: 0, contrast: 0 };
    const cache = new TrunkCache(graph, OPTS, { threads: 2, augmentPasses: 2 });
    const phase = await cache.phase({ net, trainable: 'head', train: set, val: set, augment, rng: new Rng(1) });
    expect(phase!.start).toBe('embedding');
    expect(phase!.val.dims).toEqual([8, 1280, 1, 1]);
    const [p0, p1, p2] = [0, 1, 2].map((e) => phase!.trainFor(e));
    expect(p2).toBe(p0);
    expect(p1!.x).not.toEqual(p0!.x);
    expect(p0!.x).not.toEqual(phase!.val.x);
    const plain = await new TrunkCache(graph, OPTS, { threads: 2 }).phase({ net, trainable: 'head', train: set, val: set, augment, rng: new Rng(1) });
    expect(plain!.trainFor(0).x).toEqual(plain!.val.x);
    expectAllClose(phase!.val.x!, plain!.val.x!, { atol: 0, rtol: 0, label: 'val cache' });
    // Same key → same cache object; after a phase trains a weight before `embedding`, it is recomputed.
    const again = await cache.phase({ net, trainable: 'head', train: set, val: set, augment, rng: new Rng(1) });
    expect(again!.val).toBe(phase!.val);
    cache.invalidate(['n61_conv_2d_W']);
    const fresh = await cache.phase({ net, trainable: 'head', train: set, val: set, augment, rng: new Rng(1) });
    expect(fresh!.val).not.toBe(phase!.val);
    expect(fresh!.val.x).toEqual(phase!.val.x);
  }, 60_000);
});
