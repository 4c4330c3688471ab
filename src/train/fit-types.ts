import type { Network, Optimizer, ReduceLrOnPlateau as Plateau, Rng } from '../engine/index.js';
import type { TrunkCache } from './cached-trunk.js';
import type { ImageSet } from './image-set.js';
import type { FitOptions } from './options.js';
import type { Replan } from './replan.js';

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
  /** Arg-max accuracy on the training batches as they were trained (augmented, dropout on; mixed rows against their own label). */
  trainAccuracy?: number;
  /** Arg-max accuracy on the validation split. */
  valAccuracy?: number;
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
  /** `fit.ema`: the averaged weights (the network holds the raw ones here). */
  ema?: ReadonlyMap<string, Float32Array>;
  /** Re-plans made so far under the deadline (a resume replays them, so its schedule is the uninterrupted run's). */
  replans: readonly Replan[];
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
  /** `fit.ema`: the averaged weights at the checkpoint. */
  ema?: ReadonlyMap<string, Float32Array>;
  /** `FitState.replans` at the checkpoint: replayed at their epochs before training continues. */
  replans?: readonly Replan[];
}

/** What `fit` takes: the network (trained in place), the data, options, the validation monitor and the seeded RNG. */
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
  /**
   * Training should end by this `performance.now()` (ms): after each epoch of the last phase, when the epochs left do
   * not fit the time left at the measured epoch time, the phase is shortened and its schedule compressed to still
   * anneal by then (`FitResult.replans`). Stopping at the deadline itself is the caller's (a hook answering 'stop').
   */
  deadline?: number;
  /** With `deadline`: the last phase may also grow, up to this many epochs, when its epochs run faster than planned. */
  maxEpochs?: number;
  /** Cached-trunk training of head / last:N phases of an imported backbone (see cached-trunk.ts). */
  trunkCache?: TrunkCache;
}

/** What `fit` gives back: every epoch's record, the best epoch's weights, and how the run ended. */
export interface FitResult {
  history: EpochRecord[];
  best: FitState['best'];
  stopped: 'done' | 'early' | 'interrupted';
  /** Re-plans made under `FitArgs.deadline` (empty without one or when the plan fitted). */
  replans: Replan[];
}
