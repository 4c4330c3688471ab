import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { MedclassError } from '../../errors.js';
import { saveModel } from '../graph/onnx-io.js';
import type { Graph } from '../graph/types.js';
import type { DType, Tensor } from '../tensor.js';

/** A float64 tensor: used only by gradient tests that run tiny graphs in double precision. */
export interface Float64Tensor {
  readonly dtype: 'float64';
  readonly dims: readonly number[];
  readonly data: Float64Array;
}

/** What `Session.run` accepts and returns: a medclass tensor, or a float64 one for double-precision checks. */
export type RunTensor = Tensor | Float64Tensor;

/** Options for `Session.create`. */
export interface SessionOptions {
  /** Intra-op threads (default, or 0: all cores, `os.availableParallelism()`). */
  threads?: number;
  /** Graph optimisation level (default 'all'). */
  optimization?: 'all' | 'extended' | 'basic' | 'disabled';
  /** Run independent nodes concurrently ('parallel', inter-op threads = `interOpThreads`) or one at a time (default). */
  executionMode?: 'sequential' | 'parallel';
  /** Inter-op threads for `executionMode: 'parallel'` (default 1). */
  interOpThreads?: number;
  /**
   * Pre-plan one block for all intermediate values from the first run's allocations (onnxruntime's default is true).
   * Default false: the plan holds every intermediate at once; without it the arena reuses freed buffers.
   * MobileNetV2-224 batch-32 training: peak RSS 4743 → 3183 MiB at the same CPU time per step.
   */
  memPattern?: boolean;
  /** Use onnxruntime's CPU memory arena (default true, onnxruntime's default). */
  cpuMemArena?: boolean;
  /**
   * Let idle intra-op threads busy-wait for work before sleeping (onnxruntime's default is true). Default false:
   * on a shared machine spinning threads take the cores the working ones need (MobileNetV2 training step on a loaded
   * 2-core machine: 13.2 → 7.3 s); on an idle one sleeping costs a wake-up per parallel op (ResNet-18-28 training
   * step 4–6 %: the trainer passes `spinWhenIdle(threads)`).
   */
  allowSpinning?: boolean;
  /** Write an onnxruntime profile (Chrome trace JSON) to `<profile>_<timestamp>.json`; `endProfiling()` returns its path. */
  profile?: string;
}

/** Version of the onnxruntime-node binding in use. */
export function runtimeVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common;
}

const ORT_TYPES = new Set<string>(['float32', 'float64', 'int64', 'int32', 'uint8', 'bool']);

function toOrt(name: string, t: RunTensor): ort.Tensor {
  if (!ORT_TYPES.has(t.dtype)) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `input '${name}': unsupported dtype ${t.dtype}`);
  // ort.Tensor wraps the typed array without copying.
  return new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims as number[]);
}

function fromOrt(name: string, t: ort.Tensor): RunTensor {
  const dims = [...t.dims];
  const dtype = t.type === 'float64' ? 'float64' : (t.type as DType);
  if (!ORT_TYPES.has(dtype)) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `output '${name}': unsupported dtype ${t.type}`);
  return { dtype, dims, data: t.data } as RunTensor;
}

/**
 * One onnxruntime `InferenceSession` for one compiled graph: create it once, `run` it for every batch, `dispose` it
 * in `finally`. The only module of medclass that imports `onnxruntime-node`. Tensors cross without copying
 * (int64 as `BigInt64Array`, bool as `Uint8Array`).
 *
 * @example
 * const s = await Session.create(graph, { threads: 1 });
 * try { const { logits } = await s.run({ x }); } finally { await s.dispose(); }
 */
export class Session {
  private disposed = false;

  private constructor(private readonly inner: ort.InferenceSession, private readonly profilePrefix?: string) {}

  /** Compiles `model` (a `Graph`, serialised here, or ONNX bytes) into a session. */
  static async create(model: Graph | Uint8Array, opts: SessionOptions = {}): Promise<Session> {
    const bytes = model instanceof Uint8Array ? model : saveModel(model);
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: opts.optimization ?? 'all',
      logSeverityLevel: 3,
      interOpNumThreads: opts.interOpThreads ?? 1,
      // unset or 0: every core, said explicitly — onnxruntime's own default ran 1 intra-op thread on a 2-core AMD EPYC VM
      // (PneumoniaMNIST example epochs 11 s vs 8 s with 2 threads, user time = wall time)
      intraOpNumThreads: opts.threads || availableParallelism(),
      ...(opts.executionMode ? { executionMode: opts.executionMode } : {}),
      enableMemPattern: opts.memPattern ?? false,
      ...(opts.cpuMemArena !== undefined ? { enableCpuMemArena: opts.cpuMemArena } : {}),
      ...(opts.profile ? { enableProfiling: true, profileFilePrefix: opts.profile } : {}),
      extra: { session: { intra_op: { allow_spinning: opts.allowSpinning ? '1' : '0' } } },
    };
    try {
      return new Session(await ort.InferenceSession.create(bytes, options), opts.profile);
    } catch (e) {
      const name = model instanceof Uint8Array ? 'model' : `graph '${model.name}'`;
      throw new MedclassError('MC_ENGINE_BAD_MODEL', `onnxruntime rejected ${name}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Names of the graph inputs the session expects (initializers excluded). */
  get inputNames(): readonly string[] { return this.inner.inputNames; }

  /** Names of the graph outputs. */
  get outputNames(): readonly string[] { return this.inner.outputNames; }

  /**
   * Runs the graph on `feeds` (one tensor per input name) and returns the requested `outputs` (default: all).
   * Throws `MC_ENGINE_MISSING_INPUT` naming every missing feed.
   */
  async run(feeds: Record<string, Tensor>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    return (await this.runAny(feeds, outputs)) as Record<string, Tensor>;
  }

  /** `run` that also accepts and returns float64 tensors (double-precision gradient checks). */
  async runAny(feeds: Record<string, RunTensor>, outputs?: readonly string[]): Promise<Record<string, RunTensor>> {
    if (this.disposed) throw new MedclassError('MC_ENGINE_BAD_MODEL', 'session used after dispose()');
    const missing = this.inner.inputNames.filter((n) => !(n in feeds));
    if (missing.length > 0) {
      throw new MedclassError('MC_ENGINE_MISSING_INPUT', `missing input(s): ${missing.join(', ')} (expected ${this.inner.inputNames.join(', ')})`, {
        hint: 'pass one tensor per graph input',
      });
    }
    const unknownOut = (outputs ?? []).filter((n) => !this.inner.outputNames.includes(n));
    if (unknownOut.length > 0) {
      throw new MedclassError('MC_ENGINE_MISSING_INPUT', `unknown output(s): ${unknownOut.join(', ')} (graph outputs: ${this.inner.outputNames.join(', ')})`);
    }
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const n of this.inner.inputNames) ortFeeds[n] = toOrt(n, feeds[n]!);
    let res: ort.InferenceSession.ReturnType;
    try {
      res = outputs ? await this.inner.run(ortFeeds, [...outputs]) : await this.inner.run(ortFeeds);
    } catch (e) {
      const shapes = Object.entries(feeds).map(([k, v]) => `${k}[${v.dims.join(',')}]`).join(', ');
      throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `onnxruntime run failed with feeds ${shapes}: ${(e as Error).message}`, { cause: e });
    }
    const out: Record<string, RunTensor> = {};
    for (const [k, v] of Object.entries(res)) out[k] = fromOrt(k, v);
    return out;
  }

  /**
   * Stops profiling (session created with `profile`) and returns the path of the trace onnxruntime wrote:
   * the newest `<profile>_*.json`.
   */
  endProfiling(): string {
    if (!this.profilePrefix) throw new MedclassError('MC_ENGINE_BAD_MODEL', 'endProfiling(): the session was created without `profile`');
    this.inner.endProfiling();
    const dir = dirname(this.profilePrefix), stem = basename(this.profilePrefix);
    const found = readdirSync(dir).filter((f) => f.startsWith(`${stem}_`) && f.endsWith('.json')).sort();
    if (found.length === 0) throw new MedclassError('MC_ENGINE_BAD_MODEL', `endProfiling(): no profile ${this.profilePrefix}_*.json was written`);
    return join(dir, found.at(-1)!);
  }

  /** Releases the native session; further `run` calls throw. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.inner.release();
  }
}
