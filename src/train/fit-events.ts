import type { Network, ParamGroup } from '../engine/index.js';
import type { EpochRecord, FitEvent, FitResult, FitState, ResumeFrom } from './fit-types.js';
import type { PhaseOptions } from './options.js';

// The fit loop as named events, after fastai's Learner (before/after fit, phase, epoch; after batch, validate and
// cancel). A handler is a small object that implements the events it cares about; it gets read-only payloads and
// answers with a decision, which the loop applies. It never throws to cancel and never writes the trainer.

/** before-fit: where the run starts; `resume` is the checkpoint it continues, if any. */
export interface BeforeFit {
  readonly resume?: Readonly<ResumeFrom>;
}

/** before-phase: phase `phase` is compiled and about to train from `startEpoch` (0-based). */
export interface BeforePhase {
  readonly phase: number;
  readonly options: Readonly<PhaseOptions>;
  readonly startEpoch: number;
  /** Parameters trained in this phase, and in the whole network. */
  readonly trainable: number;
  readonly total: number;
  /** The checkpoint this phase continues (only for the phase a resumed run starts in). */
  readonly resume?: Readonly<ResumeFrom>;
}

/** before-epoch: epoch `epoch` (0-based) of phase `phase` is about to train. */
export interface BeforeEpoch {
  readonly phase: number;
  readonly epoch: number;
}

/** after-batch: one training step ran (the `batch-end` progress event). */
export type AfterBatch = Readonly<Extract<FitEvent, { type: 'batch-end' }>>;

/** after-validate: the epoch's record (already the last entry of `history`) and what judging it may read. */
export interface AfterValidate {
  readonly record: Readonly<EpochRecord>;
  readonly history: readonly EpochRecord[];
  /** The network with this epoch's weights: read (copy) them, never write. */
  readonly net: Network;
  /** The optimizer's parameter groups with their current learning rates. */
  readonly lrGroups: readonly Readonly<ParamGroup>[];
}

/** after-phase: phase `phase` ended (its last epoch, or early stopping). */
export interface AfterPhase {
  readonly phase: number;
}

/** after-cancel: a 'stop' cut the run short in epoch `epoch` (0-based) of phase `phase`. */
export interface AfterCancel {
  readonly phase: number;
  readonly epoch: number;
}

/** after-fit: how the run ended. */
export interface AfterFit {
  readonly stopped: FitResult['stopped'];
}

/** A decision to set the optimizer's learning rates, one entry per parameter group (a plateau schedule's answer). */
export interface SetLr {
  readonly lrGroups: readonly { readonly lr: number; readonly initialLr: number }[];
}

/** One handler of the fit loop's events; every method is optional. */
export interface FitHandler {
  beforeFit?(e: BeforeFit): void;
  beforePhase?(e: BeforePhase): void;
  beforeEpoch?(e: BeforeEpoch): void;
  /** 'stop' ends the run as interrupted (no validation of the cut epoch), as on Ctrl-C. */
  afterBatch?(e: AfterBatch): void | 'stop';
  /** 'end-phase' makes this epoch the phase's last (early stopping); a `SetLr` changes the learning rates. */
  afterValidate?(e: AfterValidate): void | 'end-phase' | SetLr;
  /** Gets the whole resumable state (the checkpoint writer's moment); 'stop' ends the run as interrupted. */
  afterEpoch?(s: Readonly<FitState>): void | 'stop' | Promise<void | 'stop'>;
  afterPhase?(e: AfterPhase): void;
  afterCancel?(e: AfterCancel): void;
  afterFit?(e: AfterFit): void;
}

/** What the handlers decided after validation, merged: end the phase here, and/or the new learning rates. */
export interface Verdict {
  endPhase: boolean;
  lrGroups?: SetLr['lrGroups'];
}

/** Calls every handler, in the order given, for each event, and merges their decisions. */
export class FitEvents {
  constructor(private readonly handlers: readonly FitHandler[]) {}

  beforeFit(e: BeforeFit): void {
    for (const h of this.handlers) h.beforeFit?.(e);
  }

  beforePhase(e: BeforePhase): void {
    for (const h of this.handlers) h.beforePhase?.(e);
  }

  beforeEpoch(e: BeforeEpoch): void {
    for (const h of this.handlers) h.beforeEpoch?.(e);
  }

  /** 'stop' when any handler answered 'stop'. */
  afterBatch(e: AfterBatch): 'stop' | undefined {
    let stop = false;
    for (const h of this.handlers) if (h.afterBatch?.(e) === 'stop') stop = true;
    return stop ? 'stop' : undefined;
  }

  /** The phase ends when any handler answered 'end-phase'; the last `SetLr` answer wins. */
  afterValidate(e: AfterValidate): Verdict {
    const v: Verdict = { endPhase: false };
    for (const h of this.handlers) {
      const d = h.afterValidate?.(e);
      if (d === 'end-phase') v.endPhase = true;
      else if (d) v.lrGroups = d.lrGroups;
    }
    return v;
  }

  /** 'stop' when any handler answered 'stop'; handlers run one after another (a checkpoint write is awaited). */
  async afterEpoch(s: Readonly<FitState>): Promise<'stop' | undefined> {
    let stop = false;
    for (const h of this.handlers) if ((await h.afterEpoch?.(s)) === 'stop') stop = true;
    return stop ? 'stop' : undefined;
  }

  afterPhase(e: AfterPhase): void {
    for (const h of this.handlers) h.afterPhase?.(e);
  }

  afterCancel(e: AfterCancel): void {
    for (const h of this.handlers) h.afterCancel?.(e);
  }

  afterFit(e: AfterFit): void {
    for (const h of this.handlers) h.afterFit?.(e);
  }
}
