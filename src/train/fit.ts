import type { LossSpec, Network, Optimizer, ReduceLrOnPlateau as Plateau, Rng, Schedule, Tensor } from '../engine/index.js';
import {
  ParameterStore, ReduceLrOnPlateau, Trainer, bnStatOutputs, createOptimizer, dropoutFeeds, makeSchedule, updateRunningStats,
} from '../engine/index.js';
import { MedclassError } from '../errors.js';
import { augmentBatch, mixupBatch } from './augment.js';
import type { TrunkCache } from './cached-trunk.js';
import { gatherRows, gatherTabular, type ImageSet } from './image-set.js';
import { TABULAR_INPUT, selectTrainable } from '../models/index.js';
import type { FitOptions, PhaseOptions } from './options.js';
import { Predictor, softmaxRows } from './predict.js';
import { balancedClassWeights, balancedSampleOrder, batches, shuffledOrder } from './sampling.js';

/** A validation score: labels and probabilities `[N,K]` → a number; `higherIsBetter` says which way is good. */
export interface Monitor {
  name: string;
  higherIsBetter: boolean;
  score(labels: Int32Array, probs: Float64Array, numClasses: number): number;
}

/** One epoch's record (a row of history.csv). */
export interface EpochRecord {
  phase: number;
  epoch: number;
  trainLoss: number;
  valLoss: number;
  valScore: number;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

/** Events `fit` reports; the CLI draws progress from them. */
export type FitEvent =
  | { type: 'phase-start'; phase: number; epochs: number; trainable: number; total: number }
  | { type: 'batch-end'; phase: number; epoch: number; batch: number; batches: number; loss: number; elapsedMs: number }
  | { type: 'epoch-end'; record: EpochRecord; best: boolean };

/** Hooks: each gets read-only state and may answer 'stop' (a clean stop with a checkpoint, as on Ctrl-C). */
export interface FitHooks {
  onBatchEnd?(e: Extract<FitEvent, { type: 'batch-end' }>): void | 'stop';
  /** Called after each epoch with everything needed to write a resumable checkpoint. */
  onEpochEnd?(state: FitState): void | 'stop' | Promise<void | 'stop'>;
}

/** Training state at an epoch boundary: enough to resume bit-exactly. */
export interface FitState {
  phase: number;
  /** Epochs finished in this phase. */
  epoch: number;
  step: number;
  net: Network;
  optimizer: Optimizer;
  history: EpochRecord[];
  best: { score: number; epoch: number; phase: number; params: Map<string, Float32Array> } | undefined;
  badEpochs: number;
  plateau?: ReturnType<Plateau['stateDict']>;
  /** This epoch ends its phase: the phase's last epoch, or early stopping (patience) ended the phase here. */
  phaseEnd: boolean;
}

/** Where to continue from (a checkpoint's state). */
export interface ResumeFrom {
  phase: number;
  epoch: number;
  step: number;
  optimizer?: Parameters<Optimizer['loadStateDict']>[0];
  history: EpochRecord[];
  best?: FitState['best'];
  badEpochs: number;
  plateau?: ReturnType<Plateau['stateDict']>;
  /** The checkpoint's epoch ended its phase (`FitState.phaseEnd`): continue with the next phase. */
  phaseEnded?: boolean;
}

export interface FitArgs {
  net: Network;
  train: ImageSet;
  val: ImageSet;
  options: FitOptions;
  monitor: Monitor;
  rng: Rng;
  threads?: number;
  hooks?: FitHooks;
  onEvent?: (e: FitEvent) => void;
  resume?: ResumeFrom;
  /** Cached-trunk training of head / last:N phases of an imported backbone (see cached-trunk.ts). */
  trunkCache?: TrunkCache;
}

export interface FitResult {
  history: EpochRecord[];
  best: FitState['best'];
  stopped: 'done' | 'early' | 'interrupted';
}

/** The phases to run: the explicit ones, or one phase training everything. */
export function phasesOf(o: FitOptions): PhaseOptions[] {
  return o.phases.length > 0 ? o.phases : [{ epochs: o.epochs, lr: o.lr, trainable: 'all' }];
}

function lossSpec(o: FitOptions, train: ImageSet, k: number): LossSpec {
  const classWeights = o.classWeights === 'auto' ? balancedClassWeights(train.labels, k) : o.classWeights === 'none' ? undefined : o.classWeights;
  return {
    kind: 'cross-entropy', ...(classWeights ? { classWeights } : {}), ...(o.labelSmoothing > 0 ? { labelSmoothing: o.labelSmoothing } : {}),
    ...(o.mixup > 0 ? { soft: true } : {}),
  };
}

function meanCrossEntropy(labels: Int32Array, probs: Float64Array, k: number): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s -= Math.log(Math.max(probs[i * k + labels[i]!]!, 1e-15));
  return s / labels.length;
}

/**
 * Trains `net` in place (its `params` and `buffers`), phase by phase: per epoch a seeded order (shuffled or
 * class-balanced), seeded augmentation and dropout masks, one compiled training step per batch (fixed batch size;
 * the last partial batch is dropped), running batch-norm statistics, then validation with `monitor`. The best
 * epoch's weights are kept in `best` (restore them with `restoreBest`). Early stopping (`patience` epochs without
 * improvement) ends the current phase, not the run: a later phase still trains. Every random draw comes from
 * `rng.fork('phase<p>/epoch<e>')`, so resuming at an epoch boundary reproduces an uninterrupted run.
 */
export async function fit(args: FitArgs): Promise<FitResult> {
  const { net, train, val, options: o, monitor, rng } = args;
  const k = net.numClasses;
  const phases = phasesOf(o);
  // Epochs before `minEpochs` (counted over the run) are never chosen as best nor counted for patience; the run's
  // last epoch always may be.
  const minEpochs = Math.min(o.minEpochs, phases.reduce((a, ph) => a + ph.epochs, 0));
  if (o.mixup > 0 && train.tabular) {
    throw new MedclassError('MC_TRAIN_BAD_CONFIG', 'fit.mixup cannot be used with a tabular (fusion) input: MixUp would mix the images but not their metadata', {
      hint: 'set fit.mixup: 0 for fusion runs',
    });
  }
  const loss = lossSpec(o, train, k);
  const bs = Math.min(o.batchSize, train.dims[0]);
  const r = args.resume;
  const history = r ? [...r.history] : [];
  let best = r?.best;
  let badEpochs = r?.badEpochs ?? 0;
  let step = r?.step ?? 0;
  const predictor = await Predictor.create(net, args.threads);
  try {
    for (let p = r?.phase ?? 0; p < phases.length; p++) {
      const phase = phases[p]!;
      const startEpoch = r && p === r.phase ? (r.phaseEnded ? phase.epochs : r.epoch) : 0;
      if (startEpoch >= phase.epochs) { badEpochs = 0; continue; }
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
      if (r?.optimizer && p === r.phase) optimizer.loadStateDict(r.optimizer);
      const stepsPerEpoch = Math.floor(train.dims[0] / bs);
      const phaseSteps = stepsPerEpoch * phase.epochs;
      const schedule: Schedule | undefined = o.schedule === 'plateau' || o.schedule === 'constant' ? undefined
        : makeSchedule(o.schedule === 'onecycle' ? { name: 'onecycle', pctStart: o.warmup, divFactor: 25, finalDivFactor: 1e4, threePhase: false }
          : { name: 'cosine', warmupSteps: Math.round(o.warmup * phaseSteps), warmupStartFactor: 0, minFactor: 0 }, phaseSteps);
      const plateau = o.schedule === 'plateau' ? new ReduceLrOnPlateau({ mode: monitor.higherIsBetter ? 'max' : 'min', factor: 0.5, patience: 2, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8 }) : undefined;
      if (plateau && r?.plateau && p === r.phase) plateau.loadStateDict(r.plateau);
      const forward = pnet.trainGraph();
      forward.inputs = forward.inputs.map((v) => (v.name === 'x' || v.name === TABULAR_INPUT ? { ...v, dims: [bs, ...v.dims.slice(1)] } : v));
      const trainer = await Trainer.compile(forward, {
        params: store, optimizer, loss, keepOutputs: bnStatOutputs(pnet),
        ...(schedule ? { schedule } : {}),
        options: { threads: args.threads ?? 0, ...(o.clipNorm > 0 ? { clipNorm: o.clipNorm } : {}), totalSteps: Math.max(1, phaseSteps) },
      });
      trainer.stepCount = startEpoch * stepsPerEpoch;
      const total = cached ? [...net.params.values()].reduce((a, v) => a + v.length, 0) : store.count();
      args.onEvent?.({ type: 'phase-start', phase: p, epochs: phase.epochs, trainable: store.count(true), total });
      const vpred = cached ? await Predictor.create(pnet, args.threads) : predictor;
      try {
        const xDims = [bs, ...pnet.inputDims];
        const xBuf = new Float32Array(xDims.reduce((a, b) => a * b, 1));
        const yBuf = new BigInt64Array(bs);
        // Fusion models: the tabular rows come from `train` itself (a cached set holds only the trunk outputs).
        const tabBuf = train.tabular ? new Float32Array(bs * train.tabular.features) : undefined;
        const tabFeed = (rows: readonly number[]): Record<string, Tensor> =>
          tabBuf ? { [TABULAR_INPUT]: { dtype: 'float32', dims: [bs, train.tabular!.features], data: gatherTabular(train, rows, tabBuf)! } } : {};
        for (let e = startEpoch; e < phase.epochs; e++) {
          const erng = rng.fork(`phase${p}/epoch${e}`);
          const ptrain = cached ? cached.trainFor(e) : train;
          const order = o.sampler === 'balanced'
            ? balancedSampleOrder(train.labels, k, train.dims[0], erng.fork('sampler'))
            : shuffledOrder(train.dims[0], erng.fork('sampler'));
          const augRng = erng.fork('augment');
          const dropRng = erng.fork('dropout');
          const mixRng = erng.fork('mixup');
          const t0 = performance.now();
          let lossSum = 0;
          const bl = batches(order, bs, true);
          let stop = false;
          for (let b = 0; b < bl.length; b++) {
            const rows = bl[b]!;
            gatherRows(ptrain, rows, xBuf);
            rows.forEach((row, i) => (yBuf[i] = BigInt(train.labels[row]!)));
            if (!cached) augmentBatch(xBuf, xDims, o.augment, augRng);
            // MixUp mixes the network input: images, or the cached prefix outputs (manifold MixUp at the cut).
            const labels: Tensor = o.mixup > 0
              ? { dtype: 'float32', dims: [bs, k], data: mixupBatch(xBuf, xDims, Int32Array.from(rows, (row) => train.labels[row]!), k, o.mixup, mixRng) }
              : { dtype: 'int64', dims: [bs], data: yBuf };
            const x: Tensor = { dtype: 'float32', dims: xDims, data: xBuf };
            const res = await trainer.step({ x, ...tabFeed(rows), labels }, dropoutFeeds(pnet, dropRng, bs));
            updateRunningStats(pnet.buffers, pnet.bnStats, res.kept);
            lossSum += res.loss;
            step++;
            const ev = { type: 'batch-end' as const, phase: p, epoch: e, batch: b + 1, batches: bl.length, loss: res.loss, elapsedMs: performance.now() - t0 };
            args.onEvent?.(ev);
            if (args.hooks?.onBatchEnd?.(ev) === 'stop') { stop = true; break; }
          }
          if (stop) return { history, best, stopped: 'interrupted' };
          const trainSeconds = (performance.now() - t0) / 1000;
          const vset = cached ? { ...cached.val, ...(val.tabular ? { tabular: val.tabular } : {}) } : val;
          const probs = softmaxRows(await vpred.logits(vset), k);
          const valScore = monitor.score(val.labels, probs, k);
          const record: EpochRecord = {
            phase: p, epoch: e + 1, trainLoss: lossSum / Math.max(1, bl.length), valLoss: meanCrossEntropy(val.labels, probs, k), valScore,
            lr: optimizer.groups[0]!.lr, seconds: (performance.now() - t0) / 1000, imagesPerSecond: (bl.length * bs) / trainSeconds,
          };
          history.push(record);
          const eligible = history.length >= minEpochs;
          const improved = eligible && (best === undefined || (monitor.higherIsBetter ? valScore > best.score : valScore < best.score));
          if (improved) {
            best = { score: valScore, epoch: e + 1, phase: p, params: copyWeights(net) };
            badEpochs = 0;
          } else if (eligible) badEpochs++;
          plateau?.step(valScore, optimizer);
          args.onEvent?.({ type: 'epoch-end', record, best: improved });
          const stopEarly = o.patience > 0 && badEpochs >= o.patience;
          const state: FitState = {
            phase: p, epoch: e + 1, step, net, optimizer, history, best, badEpochs, ...(plateau ? { plateau: plateau.stateDict() } : {}),
            phaseEnd: stopEarly || e + 1 === phase.epochs,
          };
          if ((await args.hooks?.onEpochEnd?.(state)) === 'stop') return { history, best, stopped: 'interrupted' };
          if (stopEarly) break; // early stopping ends this phase; the next phase (if any) starts afresh
        }
      } finally {
        await trainer.dispose();
        if (cached) await vpred.dispose();
      }
      args.trunkCache?.invalidate(trainable);
      badEpochs = 0;
    }
    // 'early' when patience ended some phase before its last epoch (read from the history, so it survives resuming)
    const early = phases.some((ph, i) => { const n = history.filter((h) => h.phase === i).length; return n > 0 && n < ph.epochs; });
    return { history, best, stopped: early ? 'early' : 'done' };
  } finally {
    await predictor.dispose();
  }
}

/** Copies of every parameter and buffer of `net`. */
export function copyWeights(net: Network): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const [n, d] of [...net.params, ...net.buffers]) m.set(n, d.slice());
  return m;
}

/** Writes saved weights back into `net` in place. */
export function loadWeights(net: Network, weights: ReadonlyMap<string, Float32Array>): void {
  for (const [n, d] of weights) (net.params.get(n) ?? net.buffers.get(n))?.set(d);
}
