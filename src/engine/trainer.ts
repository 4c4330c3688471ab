import { cpus } from 'node:os';
import { MedclassError } from '../errors.js';
import { bindParams } from './export.js';
import type { Graph } from './graph/types.js';
import type { TrainerOptionsInput } from './options.js';
import { TrainerOptions } from './options.js';
import { clipGradNorm } from './optim/clip.js';
import type { Optimizer } from './optim/optimizer.js';
import type { Schedule } from './optim/schedules.js';
import { makeSchedule } from './optim/schedules.js';
import type { ScheduleOptions } from './options.js';
import type { ParameterStore } from './params.js';
import { nchwcBlockSize } from './runtime/nchwc.js';
import { Session } from './runtime/session.js';
import { spinWhenIdle } from './runtime/free-cores.js';
import type { Tensor } from './tensor.js';
import type { LossSpec } from './loss.js';
import { buildTrainingGraph } from './training-graph.js';

/** What `Trainer.compile` needs besides the forward graph. */
export interface TrainerSetup {
  /** Parameter values; the trainable ones are fed each step and updated in place, the frozen ones are baked in. */
  params: ParameterStore;
  optimizer: Optimizer;
  loss: LossSpec;
  /** Logits value of the forward graph (default: its first output). */
  logits?: string;
  /** Forward values to return from each step besides loss and logits (e.g. batch-norm batch statistics). */
  keepOutputs?: string[];
  /** Learning-rate multiplier per 0-based step, or schedule options (cosine/onecycle need `options.totalSteps`). Default: constant 1. */
  schedule?: Schedule | ScheduleOptions;
  options?: TrainerOptionsInput;
}

/** One training step's outputs: loss before the update, logits, kept forward values, lr used, gradient norm. */
export interface StepResult {
  loss: number;
  logits: Tensor;
  kept: Record<string, Tensor>;
  /** Base-lr multiplier the schedule gave this step. */
  lrFactor: number;
  /** Global L2 norm of the gradients before clipping (computed only when clipping). */
  gradNorm?: number;
  /** Wall time of the onnxruntime run (forward, loss, backward) and of clipping + optimizer update, in ms. */
  runMs: number;
  updateMs: number;
}

interface Compiled {
  session: Session;
  trainable: string[];
  dataInputs: string[];
  labelsInput: string;
  lossOutput: string;
  logitsOutput: string;
  grads: [param: string, output: string][];
  /** Parameters the training graph has gradient outputs for (as built, not as requested). */
  gradParams: string[];
  kept: Record<string, string>;
  fetch: string[];
  /** The compiled training graph (kept to reopen the session without spinning). */
  graph: Graph;
  spinning: boolean;
}

/**
 * A spinning session's share of its threads' CPU time below which another process is taken to compete for the cores:
 * spinning, an idle 2-core machine gives ~0.95 during a ResNet-18-28 run; beside another 2-thread job ~0.5.
 */
const CONTENDED_SHARE = 0.7;
/** Consecutive contended runs after which the session is reopened without spinning. */
const CONTENDED_RUNS = 3;

/**
 * A compiled training step: forward + loss + backward in ONE onnxruntime session, created once and reused for every
 * `step`. Trainable parameters are graph inputs fed from the store's arrays (the same typed arrays every step, no
 * copies); frozen ones stay initializers, so no gradients are computed for them. After the run it clips (optional),
 * applies the schedule's lr and the optimizer, all in place. Freezing or unfreezing in the store recompiles at the next step.
 *
 * @example
 * const t = await Trainer.compile(net.trainGraph(), { params: store, optimizer: createOptimizer({ name: 'adamw' }), loss: { kind: 'cross-entropy' } });
 * try { for (const b of batches) await t.step({ x: b.x, labels: b.labels }); } finally { await t.dispose(); }
 */
export class Trainer {
  private compiled: Compiled;
  private inference?: { session: Session; trainable: string[] };
  private readonly feeds: Record<string, Tensor> = {};
  private readonly opts: TrainerOptions;
  private readonly schedule?: Schedule;
  /** Optimizer steps taken (the schedule's position); set it when resuming. */
  stepCount = 0;
  private contendedRuns = 0;

  private constructor(private readonly forwardGraph: Graph, private readonly setup: TrainerSetup, compiled: Compiled) {
    this.compiled = compiled;
    this.opts = TrainerOptions.parse(setup.options ?? {});
    const sch = setup.schedule;
    if (sch) this.schedule = typeof sch === 'function' ? sch : makeSchedule(sch, this.opts.totalSteps);
    this.bindFeeds();
  }

  /** Builds the training graph for the store's currently trainable parameters and compiles it once. */
  static async compile(forward: Graph, setup: TrainerSetup): Promise<Trainer> {
    const compiled = await Trainer.build(forward, setup);
    return new Trainer(forward, setup, compiled);
  }

  private static async build(forward: Graph, setup: TrainerSetup): Promise<Compiled> {
    const opts = TrainerOptions.parse(setup.options ?? {});
    const trainable = setup.params.trainableNames();
    if (trainable.length === 0) throw new MedclassError('MC_ENGINE_UNKNOWN_PARAM', `graph '${forward.name}': every parameter is frozen, nothing to train`);
    const bound = bindParams(forward, setup.params);
    const tg = buildTrainingGraph(bound, {
      trainable,
      loss: setup.loss,
      ...(setup.logits ? { logits: setup.logits } : {}),
      ...(setup.keepOutputs ? { keepOutputs: setup.keepOutputs } : {}),
      ...(opts.nchwc ? { nchwcBlock: await nchwcBlockSize() } : {}),
      closedFormBatchNorm: opts.closedFormBatchNorm,
    });
    const spinning = opts.spin === 'auto' ? await spinWhenIdle(opts.threads) : opts.spin;
    const session = await Session.create(tg.graph, { ...(opts.threads > 0 ? { threads: opts.threads } : {}), allowSpinning: spinning });
    const grads = trainable.map((p): [string, string] => {
      const out = tg.gradOutputs[p];
      if (!out) throw new MedclassError('MC_ENGINE_UNKNOWN_PARAM', `training graph has no gradient output for ${p}`);
      return [p, out];
    });
    const kept = Object.fromEntries(tg.keptOutputs.map((n) => [n, n]));
    return {
      session, trainable, dataInputs: [...tg.dataInputs], labelsInput: tg.labelsInput, lossOutput: tg.lossOutput,
      logitsOutput: tg.logitsOutput, grads, kept, gradParams: Object.keys(tg.gradOutputs),
      fetch: [...new Set([tg.lossOutput, tg.logitsOutput, ...grads.map(([, o]) => o), ...Object.values(kept)])],
      graph: tg.graph, spinning,
    };
  }

  /** Pre-binds one tensor per trainable parameter: views of the store's arrays, reused by every step. */
  private bindFeeds(): void {
    for (const k of Object.keys(this.feeds)) delete this.feeds[k];
    for (const p of this.compiled.trainable) this.feeds[p] = this.setup.params.tensor(p);
  }

  /** Names of the graph inputs a step needs besides parameters (data inputs, then labels). */
  get inputNames(): string[] {
    return [...this.compiled.dataInputs, this.compiled.labelsInput];
  }

  /** Parameters for which the compiled graph outputs a gradient. */
  gradientOutputs(): string[] {
    return [...this.compiled.gradParams];
  }

  /** Parameters the compiled step trains. */
  get trainableNames(): string[] {
    return [...this.compiled.trainable];
  }

  private async ensureCurrent(): Promise<void> {
    const now = this.setup.params.trainableNames();
    if (now.join('\n') === this.compiled.trainable.join('\n')) return;
    const old = this.compiled.session;
    this.compiled = await Trainer.build(this.forwardGraph, this.setup);
    await old.dispose();
    this.bindFeeds();
  }

  /**
   * One training step on a batch: `feeds` holds the data inputs (e.g. `x` [N,C,H,W]) and the labels input;
   * `extraFeeds` any other graph inputs (dropout masks). Updates the trainable parameters in place.
   */
  async step(feeds: Record<string, Tensor>, extraFeeds: Record<string, Tensor> = {}): Promise<StepResult> {
    await this.ensureCurrent();
    const c = this.compiled;
    const all: Record<string, Tensor> = { ...this.feeds, ...extraFeeds }; // params are the pre-bound views
    for (const name of [...c.dataInputs, c.labelsInput]) {
      const t = feeds[name] ?? extraFeeds[name];
      if (!t) throw new MedclassError('MC_ENGINE_MISSING_INPUT', `training step: no feed for '${name}' (needs ${this.inputNames.join(', ')})`);
      all[name] = t;
    }
    const [t0, cpu0] = [performance.now(), process.cpuUsage()];
    const out = await c.session.run(all, c.fetch);
    const t1 = performance.now();
    if (c.spinning) await this.stopSpinningWhenContended(t1 - t0, process.cpuUsage(cpu0));
    const gradArrays = c.grads.map(([, o]) => out[o]!.data as Float32Array);
    const gradNorm = this.opts.clipNorm !== undefined ? clipGradNorm(gradArrays, this.opts.clipNorm) : undefined;
    const lrFactor = this.schedule ? this.schedule(this.stepCount) : 1;
    if (this.schedule) this.setup.optimizer.setLrFactor(lrFactor);
    const grads = new Map<string, Float32Array>();
    c.grads.forEach(([p], i) => grads.set(p, gradArrays[i]!));
    this.setup.optimizer.step(this.setup.params, grads);
    this.stepCount++;
    const kept: Record<string, Tensor> = {};
    for (const [k, o] of Object.entries(c.kept)) kept[k] = out[o]!;
    return {
      loss: (out[c.lossOutput]!.data as Float32Array)[0]!,
      logits: out[c.logitsOutput]!,
      kept,
      lrFactor,
      runMs: t1 - t0,
      updateMs: performance.now() - t1,
      ...(gradNorm !== undefined ? { gradNorm } : {}),
    };
  }

  /** Whether the current session's threads busy-wait between ops (see `TrainerOptions.spin`). */
  get spinning(): boolean {
    return this.compiled.spinning;
  }

  /**
   * Spinning threads take the cores from a process that starts competing after the session was opened: when this
   * process got less than CONTENDED_SHARE of its threads' CPU time for CONTENDED_RUNS runs in a row, the session is
   * reopened without spinning (the graph is kept, so this costs one session creation).
   */
  private async stopSpinningWhenContended(wallMs: number, cpu: NodeJS.CpuUsage): Promise<void> {
    const threads = this.opts.threads > 0 ? this.opts.threads : cpus().length;
    const share = (cpu.user + cpu.system) / 1000 / (wallMs * threads);
    this.contendedRuns = share < CONTENDED_SHARE ? this.contendedRuns + 1 : 0;
    if (this.contendedRuns < CONTENDED_RUNS) return;
    const c = this.compiled;
    const session = await Session.create(c.graph, { ...(this.opts.threads > 0 ? { threads: this.opts.threads } : {}), allowSpinning: false });
    await c.session.dispose();
    this.compiled = { ...c, session, spinning: false };
    this.contendedRuns = 0;
  }

  /**
   * Runs the forward graph (no loss, no update) with the current parameter values, through a second session
   * created on first use with the trainable parameters as inputs. Returns `outputs` (default: all graph outputs).
   */
  async forward(feeds: Record<string, Tensor>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const trainable = this.compiled.trainable;
    if (!this.inference || this.inference.trainable.join('\n') !== trainable.join('\n')) {
      await this.inference?.session.dispose();
      const g = bindParams(this.forwardGraph, this.setup.params);
      for (const p of trainable) {
        const t = g.initializers.get(p)!;
        g.initializers.delete(p);
        g.inputs.push({ name: p, dtype: 'float32', dims: [...t.dims] });
      }
      this.inference = { session: await Session.create(g, this.opts.threads > 0 ? { threads: this.opts.threads } : {}), trainable };
    }
    const all: Record<string, Tensor> = { ...feeds };
    for (const p of trainable) all[p] = this.setup.params.tensor(p);
    return this.inference.session.run(all, outputs);
  }

  /** Releases both sessions. Safe to call twice. */
  async dispose(): Promise<void> {
    await this.compiled.session.dispose();
    await this.inference?.session.dispose();
  }
}
