import { Rng } from '../engine/index.js';
import { createBackbone, createModel } from '../models/index.js';
import type { ImageSet } from '../train/index.js';
import { FitOptions, TrunkCache, fit } from '../train/index.js';
import { monitorFor } from './monitors.js';

/** A measured training speed: seconds per training image (steady state, first batch left out). */
export interface ProbeResult { secondsPerImage: number; seconds: number }

/** Random images of a shape with labels cycling through the classes (speed does not depend on the pixel values). */
function randomSet(n: number, dims: [number, number, number], k: number, rng: Rng): ImageSet {
  const per = dims[0] * dims[1] * dims[2];
  const x = new Float32Array(n * per);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform(-1, 1);
  return { x, dims: [n, ...dims], labels: Int32Array.from({ length: n }, (_, i) => i % k), indices: Array.from({ length: n }, (_, i) => i) };
}

/** Median of the gaps between successive batch ends after the first two (compile, warm-up): one training step in ms. */
function stepMs(ends: number[]): number {
  const gaps = ends.slice(2).map((t, i) => t - ends[i + 1]!).sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] ?? ends[0] ?? 0;
}

/**
 * Measures a from-scratch training step of `arch` at (size, width, batch) on random images with the recipe's
 * augmentation: `batches` (8) steps of one epoch through the same `fit` a run uses, the first two (compile, warm-up) left out.
 */
export async function probeScratch(o: { arch: string; size: number; width: number; channels: 1 | 3; classes: number; batch: number; batches?: number; augment: Record<string, unknown>; threads: number }): Promise<ProbeResult> {
  const t0 = performance.now();
  const rng = new Rng(0).fork('probe');
  const n = o.batch * (o.batches ?? 8);
  const net = createModel(o.arch, { inChannels: o.channels, numClasses: o.classes, inputSize: o.size, width: o.width, dropout: 0.1, rng: rng.fork('init') });
  const ends: number[] = [];
  await fit({
    net, train: randomSet(n, [o.channels, o.size, o.size], o.classes, rng.fork('x')), val: randomSet(o.classes, [o.channels, o.size, o.size], o.classes, rng.fork('v')),
    options: FitOptions.parse({ epochs: 1, batchSize: o.batch, schedule: 'constant', augment: o.augment }), monitor: monitorFor('loss'), rng: rng.fork('fit'), threads: o.threads,
    onEvent: (e) => { if (e.type === 'batch-end') ends.push(e.elapsedMs); },
  });
  return { secondsPerImage: stepMs(ends) / 1000 / o.batch, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Measures the backbone's last:40 training step per image (the cost that dominates a cached-trunk recipe): two
 * epochs of 4 batches of 32 random 224 px images through `fit` with the trunk cache, first batch of each left out.
 */
export async function probeBackbone(o: { backbone: string; channels: 1 | 3; classes: number; threads: number }): Promise<ProbeResult> {
  const t0 = performance.now();
  const rng = new Rng(0).fork('probe');
  const head = { kind: 'linear' as const, dropout: 0.2 };
  const net = createBackbone(o.backbone, { numClasses: o.classes, inChannels: o.channels, head, rng: rng.fork('init') });
  const [c, h, w] = net.inputDims as [number, number, number];
  const ends: number[][] = [];
  await fit({
    net, train: randomSet(128, [c, h, w], o.classes, rng.fork('x')), val: randomSet(o.classes, [c, h, w], o.classes, rng.fork('v')),
    options: FitOptions.parse({ batchSize: 32, schedule: 'constant', cacheTrunk: true, phases: [{ epochs: 2, lr: 1e-4, trainable: 'last:40' }] }),
    monitor: monitorFor('loss'), rng: rng.fork('fit'), threads: o.threads,
    trunkCache: new TrunkCache(o.backbone, { numClasses: o.classes, inChannels: o.channels, head }, { threads: o.threads }),
    onEvent: (e) => { if (e.type === 'batch-end') { if (e.batch === 1) ends.push([0]); ends.at(-1)!.push(e.elapsedMs); } },
  });
  const ms = Math.min(...ends.map(stepMs));
  return { secondsPerImage: ms / 1000 / 32, seconds: (performance.now() - t0) / 1000 };
}
