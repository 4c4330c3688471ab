import { Rng } from '../engine/index.js';
import { createBackbone, createModel } from '../models/index.js';
import type { ImageSet } from '../train/index.js';
import { FitOptions, TrunkCache, fit } from '../train/index.js';
import { monitorFor } from './monitors.js';
import type { BackboneCosts, TuneCosts } from './recipe-backbone.js';

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
 * Seconds per image of the fastest gap between consecutive `ts`, over `images` images per gap: the first augmented
 * pass warms the session up (HAM10000, MobileNetV2 trunk, idle: 64 images took 10.3 then 6.1 ms/image; the run's
 * 7,010-image pass 5.0), and the mean of the two had the plan ~2× too pessimistic, leaving budget unused.
 */
const perImage = (ts: number[], images: number) => (ts.length < 2 ? 0 : Math.min(...ts.slice(1).map((t, i) => t - ts[i]!)) / 1000 / images);

/** Median of a list (0 when empty). */
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * Measures what a cached-trunk backbone run costs on this machine (`BackboneCosts`): a small run through the same
 * `fit` and trunk cache a run uses — 64 random images at the backbone's input size, 32 val images, batch 32, a head
 * epoch then 2 epochs of each tune depth in `tunes` (shallow to deep), 2 augmented passes with the recipe's
 * augmentation — timed from its events: cache passes (whole trunk, prefixes), phase opening (sessions, training
 * graph), steps (each phase's first left out), val forwards. On the idle 2-vCPU Intel VM: 12 s with one depth, 34 s
 * with the three of TUNE_DEPTHS (measured in two HAM10000 runs); heavy load stretches it (80 s at load 12, one depth).
 */
export async function probeBackbone(o: { backbone: string; channels: 1 | 3; classes: number; threads: number; augment: Record<string, unknown>; tunes: readonly string[] }): Promise<BackboneCosts & { seconds: number }> {
  const t0 = performance.now();
  const rng = new Rng(0).fork('probe');
  const head = { kind: 'linear' as const, dropout: 0.2 };
  const backbone = { numClasses: o.classes, inChannels: o.channels, head };
  const net = createBackbone(o.backbone, { ...backbone, rng: rng.fork('init') });
  const [c, h, w] = net.inputDims as [number, number, number];
  const n = 64, nv = 32, bs = 32;
  const phases = 1 + o.tunes.length;
  const per = () => Array.from({ length: phases }, (): number[] => []);
  const cache = per(); // per phase: timestamps of the val pass and each train pass ending
  const phaseStart: number[] = [];
  const epochEnd = per();
  const steps = per(); // per phase: gaps between batch ends, ms
  const vals = per(); // per phase: val forward seconds per epoch
  let lastMs = 0; // the last batch end, ms from its epoch's start
  const trunkCache = new TrunkCache(o.backbone, backbone, { augmentPasses: 2, threads: o.threads, onEvent: () => cache[phaseStart.length]?.push(performance.now()) });
  await fit({
    net, train: randomSet(n, [c, h, w], o.classes, rng.fork('x')), val: randomSet(nv, [c, h, w], o.classes, rng.fork('v')),
    options: FitOptions.parse({
      batchSize: bs, schedule: 'constant', cacheTrunk: true, cacheAugmentPasses: 2, augment: o.augment,
      phases: [{ epochs: 1, lr: 1e-3, trainable: 'head' }, ...o.tunes.map((t) => ({ epochs: 2, lr: 1e-4, trainable: t }))],
    }),
    monitor: monitorFor('loss'), rng: rng.fork('fit'), threads: o.threads, trunkCache,
    onEvent: (e) => {
      if (e.type === 'phase-start') phaseStart.push(performance.now());
      if (e.type === 'batch-end') {
        // a phase's first step warms its session up and is left out
        if (e.batch > 1) steps[e.phase]!.push(e.elapsedMs - lastMs);
        else if (e.epoch > 0) steps[e.phase]!.push(e.elapsedMs);
        lastMs = e.elapsedMs;
      }
      if (e.type === 'epoch-end') {
        epochEnd[e.record.phase]!.push(performance.now());
        vals[e.record.phase]!.push(e.record.seconds - lastMs / 1000);
      }
    },
  });
  const trunkPerImage = perImage(cache[0]!, n);
  // Opening a phase: from the fit's start (phase 0) or the previous phase's last epoch to its first batch, less the cache passes.
  const opens = [(phaseStart[0]! - t0) / 1000 - (nv + 2 * n) * trunkPerImage];
  const tune: Record<string, TuneCosts> = {};
  o.tunes.forEach((t, i) => {
    const k = i + 1;
    const prefixPerImage = perImage(cache[k]!, n);
    opens.push((phaseStart[k]! - epochEnd[k - 1]!.at(-1)!) / 1000 - (nv + 2 * n) * prefixPerImage);
    const start = trunkCache.startFor(t);
    const suffixDims = start ? createBackbone(o.backbone, { ...backbone, startTensor: start, rng: rng.fork('suffix') }).inputDims : net.inputDims;
    tune[t] = {
      prefixPerImage, tuneStepPerImage: median(steps[k]!) / 1000 / bs, tuneValPerImage: median(vals[k]!) / nv,
      tuneCacheBytesPerImage: 4 * suffixDims.reduce((a, b) => a * b, 1),
    };
  });
  return {
    trunkPerImage, headStepPerImage: median(steps[0]!) / 1000 / bs, headValPerImage: median(vals[0]!) / nv,
    phaseOpenSeconds: Math.max(0, median(opens)), tune,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Seconds to load one image of `items` as a run does (decode, then resize inside the loader: 1.3×), from 8 spread items. */
export async function probeLoadSeconds(items: readonly { load(): Promise<unknown> }[]): Promise<number> {
  const picks = Array.from({ length: Math.min(8, items.length) }, (_, i) => items[Math.floor((i * items.length) / 8)]!);
  const t = performance.now();
  for (const it of picks) await it.load().catch(() => undefined);
  return (1.3 * (performance.now() - t)) / 1000 / Math.max(1, picks.length);
}
