import type { Graph, Network, Rng } from '../engine/index.js';
import { Session, f32, loadModel } from '../engine/index.js';
import { createBackbone, cutBeforeLastConvs, selectTrainable, trunkPrefix, type BackboneOptionsInput } from '../models/index.js';
import { augmentBatch, isAugmenting, type AugmentSpec } from './augment.js';
import { gatherRows, type ImageSet } from './image-set.js';

/** What a cached phase trains on: the suffix network (sharing weight arrays with the full one) and cached inputs. */
export interface CachedPhase {
  /** The tensor the suffix starts at (`embedding` for a head phase, a block input for `last:N`). */
  start: string;
  /** The network after `start`; its parameter arrays ARE the full network's, so training updates the full network in place. */
  net: Network;
  /** Cached training inputs for epoch `e` (pass `e mod passes`), rows in the order of the image set. */
  trainFor(epoch: number): ImageSet;
  /** Cached validation inputs (never augmented). */
  val: ImageSet;
}

/** Progress of the frozen-prefix passes (the run forwards them as stage events). */
export interface CacheEvent { type: 'stage'; stage: 'cache'; detail: string }

export interface TrunkCacheOptions {
  /**
   * Augmented copies of the training set to cache per phase: 0 = the cached phase trains on un-augmented images
   * (prefix once per image); P ≥ 1 = P augmented passes through the prefix, epoch e uses pass e mod P.
   */
  augmentPasses?: number;
  threads?: number;
  /** Images per prefix inference call. */
  batchSize?: number;
  onEvent?: (e: CacheEvent) => void;
}

interface Entry { train: ImageSet[]; val: ImageSet; prefixParams: Set<string> }

/**
 * Cached-trunk training for an imported backbone: a phase that trains only the head (or the last N conv layers)
 * runs the frozen prefix once per image (per augmentation pass) with an optimised inference session, keeps its
 * output in memory as float32, and trains only the suffix network (`createBackbone(..., { startTensor })`). The
 * suffix shares the full network's weight arrays, so the full network (export, evaluation, checkpoints) always
 * holds the trained values. The prefix is rebuilt from the full network's current weights, and a cache is dropped
 * when a later phase trains any weight before its start tensor.
 */
export class TrunkCache {
  private readonly graph: Graph;
  private readonly entries = new Map<string, Entry>();

  constructor(source: string | Graph, private readonly backbone: Omit<BackboneOptionsInput, 'startTensor'>, private readonly o: TrunkCacheOptions = {}) {
    this.graph = typeof source === 'string' ? loadModel(source) : source;
  }

  /** The start tensor for a `trainable` spec, or undefined when the phase trains (almost) everything. */
  startFor(trainable: string): string | undefined {
    const emb = this.backbone.embeddingTensor ?? 'embedding';
    if (trainable === 'head') return emb;
    const m = /^last:(\d+)$/.exec(trainable);
    if (!m) return undefined;
    const t = cutBeforeLastConvs(this.graph, Number(m[1]), emb);
    return this.graph.inputs.some((v) => v.name === t) ? undefined : t;
  }

  /**
   * The cached view of a phase of `net` training `trainable`, or undefined when it cannot be cached (trains all,
   * or the suffix would train a different set of weights). `rng` draws the augmentation passes.
   */
  async phase(args: { net: Network; trainable: string; train: ImageSet; val: ImageSet; augment: AugmentSpec; rng: Rng }): Promise<CachedPhase | undefined> {
    const { net, trainable } = args;
    const start = this.startFor(trainable);
    if (start === undefined) return undefined;
    const suffix = createBackbone(this.graph, { ...this.backbone, numClasses: net.numClasses, startTensor: start, rng: args.rng.fork('suffix-init') });
    for (const [name, data] of suffix.params) {
      const full = net.params.get(name);
      if (!full || full.length !== data.length) return undefined;
      suffix.params.set(name, full);
    }
    for (const [name, data] of suffix.buffers) {
      const full = net.buffers.get(name);
      if (!full || full.length !== data.length) return undefined;
      suffix.buffers.set(name, full);
    }
    const want = new Set(selectTrainable(net, trainable));
    const got = selectTrainable(suffix, trainable);
    if (got.length !== want.size || got.some((n) => !want.has(n))) return undefined;

    const passes = isAugmenting(args.augment) ? Math.max(0, this.o.augmentPasses ?? 0) : 0;
    const key = `${start}|${passes}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const prefixParams = new Set([...net.params.keys()].filter((n) => !suffix.params.has(n)));
      const session = await Session.create(this.prefixGraph(net, start), this.o.threads ? { threads: this.o.threads } : {});
      try {
        const run = (set: ImageSet, label: string, aug?: Rng) => this.runPrefix(session, set, label, args.augment, aug);
        const val = await run(args.val, `${start}: val`);
        const train = passes === 0
          ? [await run(args.train, `${start}: train`)]
          : await sequential(passes, (q) => run(args.train, `${start}: train pass ${q + 1}/${passes}`, args.rng.fork(`pass${q}`)));
        entry = { train, val, prefixParams };
      } finally {
        await session.dispose();
      }
      this.entries.set(key, entry);
    }
    const e = entry;
    return { start, net: suffix, val: e.val, trainFor: (epoch) => e.train[epoch % e.train.length]! };
  }

  /** Drops every cache whose prefix contains a weight in `trained` (call after a phase that trained them). */
  invalidate(trained: Iterable<string>): void {
    const t = [...trained];
    for (const [key, e] of this.entries) if (t.some((n) => e.prefixParams.has(n))) this.entries.delete(key);
  }

  /** The frozen prefix before `start`, with the full network's current weights. */
  private prefixGraph(net: Network, start: string): Graph {
    const g = trunkPrefix(this.graph, { ...this.backbone, numClasses: net.numClasses, startTensor: start });
    for (const name of g.initializers.keys()) {
      const v = net.params.get(name) ?? net.buffers.get(name);
      if (v) g.initializers.set(name, f32(v, net.shapes.get(name)!));
    }
    return g;
  }

  private async runPrefix(session: Session, set: ImageSet, label: string, augment: AugmentSpec, aug?: Rng): Promise<ImageSet> {
    const t0 = performance.now();
    const [n, c, h, w] = set.dims;
    const bs = this.o.batchSize ?? 64;
    const buf = new Float32Array(bs * c * h * w);
    let out: Float32Array | undefined;
    let tail: number[] = [];
    for (let s = 0; s < n; s += bs) {
      const m = Math.min(bs, n - s);
      const rows = Array.from({ length: m }, (_, i) => s + i);
      const x = gatherRows(set, rows, buf).subarray(0, m * c * h * w);
      if (aug) augmentBatch(x, [m, c, h, w], augment, aug);
      const r = (await session.run({ x: f32(x, [m, c, h, w]) }, ['cached'])).cached!;
      tail = r.dims.slice(1) as number[];
      const per = tail.reduce((a, b) => a * b, 1);
      out ??= new Float32Array(n * per);
      out.set(r.data as Float32Array, s * per);
    }
    this.o.onEvent?.({ type: 'stage', stage: 'cache', detail: `${label}: ${n} images in ${((performance.now() - t0) / 1000).toFixed(1)} s` });
    // ImageSet rows are [C,H,W]; a flat [D] cache is held as [D,1,1] (the suffix network's input is [N,D]).
    const dims: [number, number, number, number] = [n, tail[0] ?? 1, tail[1] ?? 1, tail[2] ?? 1];
    return { x: out ?? new Float32Array(0), dims, labels: set.labels, indices: set.indices };
  }
}

async function sequential<T>(count: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(await f(i));
  return out;
}
