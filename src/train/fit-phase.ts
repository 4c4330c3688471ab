import type { LossSpec, Optimizer, Schedule, Tensor } from '../engine/index.js';
import { ParameterStore, Trainer, bnStatOutputs, createOptimizer, dropoutFeeds, makeSchedule, updateRunningStats } from '../engine/index.js';
import { TABULAR_INPUT, selectTrainable } from '../models/index.js';
import { augmentBatch, mixupBatch } from './augment.js';
import { cutmixBatch } from './cutmix.js';
import type { AfterBatch } from './fit-events.js';
import type { EpochRecord, FitArgs } from './fit-types.js';
import { gatherRows, gatherTabular, type ImageSet } from './image-set.js';
import type { FitOptions, PhaseOptions } from './options.js';
import { Predictor, softmaxRows } from './predict.js';
import { checkClassLists, resolveClassWeights, balancedSampleOrder, batches, shuffledOrder } from './sampling.js';
import { ResizableSchedule } from './replan.js';

/** One phase, compiled: its optimizer, and one epoch of training plus validation at a time. */
export interface PhaseRun {
  readonly optimizer: Optimizer;
  /** Names of the parameters this phase trains. */
  readonly trainable: ReadonlySet<string>;
  /** Parameter counts for the phase-start event: trained in this phase, and in the whole network. */
  readonly counts: { trainable: number; total: number };
  /** Training steps per epoch (the last partial batch is dropped). */
  readonly stepsPerEpoch: number;
  /** Re-planning: the phase now ends after `epochs` epochs; the step schedule's rest is compressed or stretched to end there. */
  /** Ends the phase's schedule at `epochs`, re-timing it from the end of epoch `fromEpoch` (default: now). */
  resize(epochs: number, fromEpoch?: number): void;
  /** Trains epoch `e` (0-based) and validates it; 'stop' when `afterBatch` answered 'stop' (no validation then). */
  epoch(e: number, afterBatch: (b: AfterBatch) => 'stop' | undefined, beforeValidate?: () => void): Promise<EpochRecord | 'stop'>;
  dispose(): Promise<void>;
}

function lossSpec(o: FitOptions, train: ImageSet, k: number): LossSpec {
  checkClassLists(o, k);
  const classWeights = resolveClassWeights(o.classWeights, train.labels, k);
  const soft = o.mixup > 0 || o.cutmix > 0;
  if (o.loss.kind === 'focal') {
    const alpha = o.loss.alpha ?? classWeights;
    return { kind: 'focal', gamma: o.loss.gamma, ...(alpha ? { alpha } : {}), ...(soft ? { soft: true } : {}) };
  }
  return {
    kind: 'cross-entropy', ...(classWeights ? { classWeights } : {}), ...(o.labelSmoothing > 0 ? { labelSmoothing: o.labelSmoothing } : {}),
    ...(soft ? { soft: true } : {}),
  };
}

function meanCrossEntropy(labels: Int32Array, probs: Float64Array, k: number): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s -= Math.log(Math.max(probs[i * k + labels[i]!]!, 1e-15));
  return s / labels.length;
}

/** Rows of `logits` [n,k] (train mode: dropout and augmentation on) whose arg-max is the row's un-mixed label. */
function argmaxHits(logits: Float32Array, labels: readonly number[], k: number): number {
  let hits = 0;
  labels.forEach((y, i) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (logits[i * k + c]! > logits[i * k + best]!) best = c;
    if (best === y) hits++;
  });
  return hits;
}

function accuracyOf(labels: Int32Array, probs: Float64Array, k: number): number {
  let hits = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
    if (best === labels[i]) hits++;
  }
  return labels.length ? hits / labels.length : NaN;
}

/** The step schedule of a phase of `phaseSteps` steps (none for 'constant' and 'plateau', which a handler drives). */
function stepSchedule(o: FitOptions, phaseSteps: number): Schedule | undefined {
  if (o.schedule === 'plateau' || o.schedule === 'constant') return undefined;
  return makeSchedule(o.schedule === 'onecycle' ? { name: 'onecycle', pctStart: o.warmup, divFactor: 25, finalDivFactor: 1e4, threePhase: false }
    : { name: 'cosine', warmupSteps: Math.round(o.warmup * phaseSteps), warmupStartFactor: 0, minFactor: 0 }, phaseSteps);
}

/**
 * Compiles phase `p` of `args` (trainable parameters, optimizer, resumed optimizer state, step schedule, one training
 * step for a fixed batch size) starting at epoch `startEpoch`; with a trunk cache, over the suffix network on the
 * cached prefix outputs. `predictor` validates the full network. Every random draw of epoch `e` comes from
 * `args.rng.fork('phase<p>/epoch<e>')`.
 */
export async function openPhase(args: FitArgs, p: number, phase: PhaseOptions, startEpoch: number, predictor: Predictor): Promise<PhaseRun> {
  const { net, train, val, options: o, monitor, rng } = args;
  const k = net.numClasses;
  const bs = Math.min(o.batchSize, train.dims[0]);
  const r = args.resume && p === args.resume.phase ? args.resume : undefined;
  // Cached trunk: train the suffix network (sharing `net`'s weight arrays) on the frozen prefix's cached outputs.
  const cached = await args.trunkCache?.phase({ net, trainable: phase.trainable, train, val, augment: o.augment, rng: rng.fork(`phase${p}/cache`) });
  const pnet = cached?.net ?? net;
  const store = new ParameterStore();
  for (const [name, data] of pnet.params) store.add(name, data, pnet.shapes.get(name)!);
  const trainable = new Set(selectTrainable(pnet, phase.trainable));
  const frozen = store.names().filter((n) => !trainable.has(n));
  if (frozen.length > 0) store.freeze(frozen);
  const optimizer = createOptimizer(o.optimizer === 'sgd'
    ? { name: 'sgd', lr: phase.lr, momentum: o.momentum, weightDecay: o.weightDecay, nesterov: o.momentum > 0 }
    : { name: 'adamw', lr: phase.lr, weightDecay: o.weightDecay });
  if (r?.optimizer) optimizer.loadStateDict(r.optimizer);
  const stepsPerEpoch = Math.floor(train.dims[0] / bs);
  const phaseSteps = stepsPerEpoch * phase.epochs;
  const base = stepSchedule(o, phaseSteps);
  const schedule = base ? new ResizableSchedule(base, phaseSteps) : undefined;
  const forward = pnet.trainGraph();
  forward.inputs = forward.inputs.map((v) => (v.name === 'x' || v.name === TABULAR_INPUT ? { ...v, dims: [bs, ...v.dims.slice(1)] } : v));
  const trainer = await Trainer.compile(forward, {
    params: store, optimizer, loss: lossSpec(o, train, k), keepOutputs: bnStatOutputs(pnet),
    ...(schedule ? { schedule: schedule.at } : {}),
    options: { threads: args.threads ?? 0, ...(o.clipNorm > 0 ? { clipNorm: o.clipNorm } : {}), totalSteps: Math.max(1, phaseSteps) },
  });
  trainer.stepCount = startEpoch * stepsPerEpoch;
  const total = cached ? [...net.params.values()].reduce((a, v) => a + v.length, 0) : store.count();
  const vpred = cached ? await Predictor.create(pnet, args.threads) : predictor;
  const xDims = [bs, ...pnet.inputDims];
  const xBuf = new Float32Array(xDims.reduce((a, b) => a * b, 1));
  const yBuf = new BigInt64Array(bs);
  // Fusion models: the tabular rows come from `train` itself (a cached set holds only the trunk outputs).
  const tabBuf = train.tabular ? new Float32Array(bs * train.tabular.features) : undefined;
  const tabFeed = (rows: readonly number[]): Record<string, Tensor> =>
    tabBuf ? { [TABULAR_INPUT]: { dtype: 'float32', dims: [bs, train.tabular!.features], data: gatherTabular(train, rows, tabBuf)! } } : {};

  const epoch = async (e: number, afterBatch: (b: AfterBatch) => 'stop' | undefined, beforeValidate?: () => void): Promise<EpochRecord | 'stop'> => {
    const erng = rng.fork(`phase${p}/epoch${e}`);
    const ptrain = cached ? cached.trainFor(e) : train;
    const order = o.sampler === 'balanced'
      ? balancedSampleOrder(train.labels, k, train.dims[0], erng.fork('sampler'))
      : shuffledOrder(train.dims[0], erng.fork('sampler'));
    const augRng = erng.fork('augment');
    const dropRng = erng.fork('dropout');
    const mixRng = erng.fork('mixup');
    const cutRng = erng.fork('cutmix');
    let trainHits = 0;
    const t0 = performance.now();
    let lossSum = 0;
    const bl = batches(order, bs, true);
    for (let b = 0; b < bl.length; b++) {
      const rows = bl[b]!;
      gatherRows(ptrain, rows, xBuf);
      rows.forEach((row, i) => (yBuf[i] = BigInt(train.labels[row]!)));
      if (!cached) augmentBatch(xBuf, xDims, o.augment, augRng);
      // MixUp mixes the network input: images, or the cached prefix outputs (manifold MixUp at the cut).
      // CutMix pastes a box of a partner image; with both set, each batch draws one of the two (p = 0.5).
      const rowLabels = () => Int32Array.from(rows, (row) => train.labels[row]!);
      const useCut = o.cutmix > 0 && (o.mixup === 0 || cutRng.uniform() < 0.5);
      const labels: Tensor = useCut
        ? { dtype: 'float32', dims: [bs, k], data: cutmixBatch(xBuf, xDims, rowLabels(), k, o.cutmix, cutRng) }
        : o.mixup > 0
          ? { dtype: 'float32', dims: [bs, k], data: mixupBatch(xBuf, xDims, rowLabels(), k, o.mixup, mixRng) }
          : { dtype: 'int64', dims: [bs], data: yBuf };
      const x: Tensor = { dtype: 'float32', dims: xDims, data: xBuf };
      const res = await trainer.step({ x, ...tabFeed(rows), labels }, dropoutFeeds(pnet, dropRng, bs));
      updateRunningStats(pnet.buffers, pnet.bnStats, res.kept);
      lossSum += res.loss;
      trainHits += argmaxHits(res.logits.data as Float32Array, rows.map((row) => train.labels[row]!), k);
      const ev = { type: 'batch-end' as const, phase: p, epoch: e, batch: b + 1, batches: bl.length, loss: res.loss, elapsedMs: performance.now() - t0 };
      if (afterBatch(ev) === 'stop') return 'stop';
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    beforeValidate?.();
    const vset = cached ? { ...cached.val, ...(val.tabular ? { tabular: val.tabular } : {}) } : val;
    const probs = softmaxRows(await vpred.logits(vset), k);
    const valScore = monitor.score(val.labels, probs, k);
    return {
      phase: p, epoch: e + 1, trainLoss: lossSum / Math.max(1, bl.length), valLoss: meanCrossEntropy(val.labels, probs, k), valScore,
      trainAccuracy: trainHits / Math.max(1, bl.length * bs), valAccuracy: accuracyOf(val.labels, probs, k),
      lr: optimizer.groups[0]!.lr, seconds: (performance.now() - t0) / 1000, imagesPerSecond: (bl.length * bs) / trainSeconds,
    };
  };

  return {
    optimizer, trainable, counts: { trainable: store.count(true), total }, stepsPerEpoch, epoch,
    resize: (epochs, fromEpoch) => schedule?.resize(fromEpoch === undefined ? trainer.stepCount : fromEpoch * stepsPerEpoch, epochs * stepsPerEpoch),
    dispose: async () => {
      await trainer.dispose();
      if (cached) await vpred.dispose();
    },
  };
}
