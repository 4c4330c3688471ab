import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MedclassError } from '../errors.js';
import { gradientOrigins } from './autodiff/gradient.js';
import { bindParams } from './export.js';
import type { Graph } from './graph/types.js';
import type { LossSpec } from './loss.js';
import { createOptimizer } from './optim/create.js';
import type { ParameterStore } from './params.js';
import type { Rng } from './rng.js';
import { nchwcBlockSize } from './runtime/nchwc.js';
import { Session, runtimeVersion } from './runtime/session.js';
import type { SessionOptions } from './runtime/session.js';
import type { Tensor } from './tensor.js';
import { f32, i64, numel } from './tensor.js';
import { Trainer } from './trainer.js';
import type { StepResult } from './trainer.js';
import { buildTrainingGraph } from './training-graph.js';

/** Timing settings shared by `benchTrain` and `benchInfer`. */
export interface BenchOptions {
  batch: number;
  /** Timed iterations (at least 1; 5 or more for a stable median). */
  steps: number;
  /** Untimed iterations first (session warm-up, memory pattern, arena growth). */
  warmup: number;
  /** onnxruntime intra-op threads (0 = onnxruntime's default, all cores). */
  threads: number;
  /** Also run the graph with onnxruntime profiling and return the time per op type (a separate session, not timed). */
  profile?: boolean;
  /** Groups the profile by this label instead of the op type (e.g. by the gradient rule that emitted the node). */
  profileKey?: ProfileKey;
  /** Training only, without `profileKey`: group the profile by `ruleKey` of the profiled training graph. */
  profileByRule?: boolean;
  /** Extra session settings for `benchInfer` and the profile run (the trainer uses the session defaults). */
  session?: Omit<SessionOptions, 'threads' | 'profile'>;
  /** Source of the random inputs and labels. */
  rng: Rng;
  /** Training only: lower Convs to onnxruntime's NCHWc kernels (default true, as the trainer does). */
  nchwc?: boolean;
  /** Training only: closed-form batch-norm gradients (default true, as the trainer does). */
  closedFormBatchNorm?: boolean;
  /** Training only: the trainer's `spin` (default 'auto', as the trainer does). */
  spin?: boolean | 'auto';
}

/** The group a profiled node counts toward: from its graph node name and onnxruntime's op type. */
export type ProfileKey = (nodeName: string, opType: string) => string;

/** Time spent in one op type (or `profileKey` group) during the profiled runs (averaged per run). */
export interface OpCost {
  op: string;
  ms: number;
  /** Fraction of the summed node time. */
  share: number;
  /** Nodes of this type executed per run. */
  nodes: number;
}

/** One benchmark's figures; field names are snake_case because the record is printed as a JSON line. */
export interface BenchResult {
  mode: 'train' | 'infer';
  model: string;
  batch: number;
  steps: number;
  threads: number;
  /** Images per second at the median iteration time. */
  img_per_s: number;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  /** (max − min) / median: 0 is perfectly steady. */
  spread: number;
  /** Median process CPU time (user + system, all threads) per iteration: steadier than wall time on a loaded machine. */
  cpu_ms: number;
  /** Training only: median of the onnxruntime run (forward, loss, backward) and of the optimizer update. */
  run_median_ms?: number;
  update_median_ms?: number;
  compile_ms: number;
  /** Peak resident memory of the process so far (VmHWM), MiB. */
  peak_rss_mb: number;
  /** 1-minute load average when the timing started and ended (the machine may be shared). */
  load: [number, number];
  cpu: string;
  cores: number;
  node: string;
  onnxruntime: string;
  profile?: OpCost[];
}

/** A trainable network for `benchTrain`: forward graph (input `x`, output logits), parameters and extra step feeds. */
export interface BenchNetwork {
  name: string;
  graph: Graph;
  params: ParameterStore;
  /** Input dims without the batch, e.g. [3, 224, 224]. */
  inputDims: readonly number[];
  numClasses: number;
  keepOutputs?: string[];
  /** Extra feeds per step (e.g. dropout masks) for a batch size. */
  extraFeeds?: (batch: number) => Record<string, Tensor>;
  loss?: LossSpec;
}

/** Peak resident set size (VmHWM) in MiB, or the current RSS where /proc is unavailable. */
export function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch { /* not Linux */ }
  return Math.round(process.memoryUsage().rss / 2 ** 20);
}

/**
 * Sums an onnxruntime profile (Chrome trace JSON) by op type, or by `key`: node kernel time per run, largest first.
 * The first `skipRuns` session runs (warm-up) are left out.
 */
export function profileByOp(traceJson: string, skipRuns = 0, key: ProfileKey = (_, op) => op): OpCost[] {
  const events = JSON.parse(traceJson) as { cat?: string; name?: string; ts?: number; dur?: number; args?: { op_name?: string } }[];
  const starts = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.ts ?? 0).sort((a, b) => a - b);
  const runs = Math.max(1, starts.length - skipRuns);
  const from = starts[skipRuns] ?? 0;
  const by = new Map<string, { us: number; n: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.op_name || (e.ts ?? 0) < from) continue;
    const group = key(e.name.slice(0, -'_kernel_time'.length), e.args.op_name);
    const c = by.get(group) ?? { us: 0, n: 0 };
    c.us += e.dur ?? 0;
    c.n++;
    by.set(group, c);
  }
  const total = [...by.values()].reduce((s, c) => s + c.us, 0) || 1;
  return [...by].map(([op, c]) => ({ op, ms: +(c.us / 1000 / runs).toFixed(2), share: +(c.us / total).toFixed(4), nodes: Math.round(c.n / runs) }))
    .sort((a, b) => b.ms - a.ms);
}

/** Runs `session` warm-up + `runs` times with profiling on, and returns the per-op-type costs. */
async function profileRuns(graph: Graph, feeds: Record<string, Tensor>, outputs: readonly string[] | undefined, o: BenchOptions): Promise<OpCost[]> {
  const dir = mkdtempSync(join(tmpdir(), 'medclass-profile-'));
  try {
    const s = await Session.create(graph, { ...o.session, ...(o.threads > 0 ? { threads: o.threads } : {}), profile: join(dir, 'ort') });
    try {
      const runs = Math.min(o.steps, 3), warm = Math.max(1, o.warmup);
      for (let i = 0; i < warm + runs; i++) await s.run(feeds, outputs);
      return profileByOp(readFileSync(s.endProfiling(), 'utf8'), warm, o.profileKey);
    } finally {
      await s.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (a: readonly number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const r2 = (v: number) => +v.toFixed(2);

/** Wall and CPU time of `f` in ms. */
async function timed(f: () => Promise<unknown>): Promise<[wall: number, cpu: number]> {
  const c0 = process.cpuUsage(), t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return [performance.now() - t0, (c.user + c.system) / 1000];
}

function summarise(mode: BenchResult['mode'], model: string, o: BenchOptions, times: number[], cpu: number[], compileMs: number, load0: number): BenchResult {
  const med = median(times), lo = Math.min(...times), hi = Math.max(...times);
  return {
    mode, model, batch: o.batch, steps: o.steps, threads: o.threads,
    img_per_s: r2((o.batch * 1000) / med), median_ms: r2(med), min_ms: r2(lo), max_ms: r2(hi), spread: +((hi - lo) / med).toFixed(3), cpu_ms: r2(median(cpu)),
    compile_ms: Math.round(compileMs), peak_rss_mb: peakRssMb(), load: [r2(load0), r2(loadavg()[0]!)],
    cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, onnxruntime: runtimeVersion(),
  };
}

function checkOptions(o: BenchOptions): void {
  if (!(o.batch >= 1 && o.steps >= 1 && o.warmup >= 0)) {
    throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `bench: batch and steps must be ≥ 1 and warmup ≥ 0, got batch ${o.batch}, steps ${o.steps}, warmup ${o.warmup}`);
  }
}

/** Random N(0,1) images [batch, ...dims]. */
function randomImages(rng: Rng, batch: number, dims: readonly number[]): Tensor {
  const shape = [batch, ...dims];
  return f32(Float32Array.from({ length: numel(shape) }, () => rng.normal()), shape);
}

/**
 * Times full training steps of `net` (forward, loss, backward and AdamW update, through `Trainer` exactly as
 * training runs them) on random images and labels: `warmup` untimed steps, then `steps` timed ones.
 *
 * @example
 * const r = await benchTrain({ name: 'resnet18-28', graph: net.trainGraph(), params, inputDims: [1, 28, 28], numClasses: 2 },
 *   { batch: 128, steps: 5, warmup: 1, threads: 2, rng });
 */
export async function benchTrain(net: BenchNetwork, o: BenchOptions): Promise<BenchResult> {
  checkOptions(o);
  const loss = net.loss ?? { kind: 'cross-entropy' as const };
  const rng = o.rng.fork('bench-data');
  const x = randomImages(rng, o.batch, net.inputDims);
  const labels = i64(Array.from({ length: o.batch }, () => rng.int(0, net.numClasses)), [o.batch]);
  const extra = net.extraFeeds?.(o.batch) ?? {};
  const t0 = performance.now();
  const trainer = await Trainer.compile(net.graph, {
    params: net.params, optimizer: createOptimizer({ name: 'adamw', lr: 1e-4 }), loss,
    ...(net.keepOutputs ? { keepOutputs: net.keepOutputs } : {}), options: { threads: o.threads, nchwc: o.nchwc ?? true, closedFormBatchNorm: o.closedFormBatchNorm ?? true, spin: o.spin ?? 'auto' },
  });
  const compileMs = performance.now() - t0;
  const load0 = loadavg()[0]!;
  const times: number[] = [], cpu: number[] = [], run: number[] = [], update: number[] = [];
  try {
    for (let i = 0; i < o.warmup + o.steps; i++) {
      let r: StepResult | undefined;
      const [wall, c] = await timed(async () => { r = await trainer.step({ x, labels }, extra); });
      if (i < o.warmup || !r) continue;
      times.push(wall);
      cpu.push(c);
      run.push(r.runMs);
      update.push(r.updateMs);
    }
  } finally {
    await trainer.dispose();
  }
  const res = summarise('train', net.name, o, times, cpu, compileMs, load0);
  res.run_median_ms = r2(median(run));
  res.update_median_ms = r2(median(update));
  if (o.profile) {
    const trainable = net.params.trainableNames();
    const tg = buildTrainingGraph(bindParams(net.graph, net.params), {
      trainable, loss, ...(net.keepOutputs ? { keepOutputs: net.keepOutputs } : {}), ...(o.nchwc === false ? {} : { nchwcBlock: await nchwcBlockSize() }),
      closedFormBatchNorm: o.closedFormBatchNorm ?? true,
    });
    const feeds: Record<string, Tensor> = { ...extra, x, [tg.labelsInput]: labels };
    for (const p of trainable) feeds[p] = net.params.tensor(p);
    res.profile = await profileRuns(tg.graph, feeds, undefined, { ...o, ...(!o.profileKey && o.profileByRule ? { profileKey: ruleKey(tg.graph) } : {}) });
  }
  return res;
}

/**
 * Profile groups of a training graph by rule: forward nodes as 'fwd <op>' ('fwd Conv 3x3', 'fwd Conv depthwise 3x3'),
 * gradient nodes as 'grad <gradientOrigins label>' (e.g. 'grad Conv dW shifted'), nodes a Conv was lowered to as the
 * Conv's (or blocked elementwise op's) group plus '(NCHWc <op>)', nodes onnxruntime made as '<op> (made by onnxruntime)'.
 */
export function ruleKey(graph: Graph): ProfileKey {
  const origins = gradientOrigins(graph);
  const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
  return (name, op) => {
    const o = origins.get(name);
    if (o !== undefined) return `grad ${o}`;
    const lowered = /^(.*)\/nchwc_(in|conv|out|blk)$/.exec(name);
    if (lowered) {
      const base = lowered[1]!;
      const fwd = nodes.get(`${base}/nchwc_blk`)?.opType ?? 'Conv'; // an elementwise op kept blocked, or a lowered Conv
      return `${origins.has(base) ? `grad ${origins.get(base)}` : `fwd ${fwd}`} (NCHWc ${op})`;
    }
    if (name.startsWith('nchwc/')) return 'NCHWc weight reorder';
    const n = nodes.get(name);
    if (!n) return `${op} (made by onnxruntime)`;
    if (n.opType === 'Conv' && n.domain === '') {
      const k = n.attrs.kernel_shape?.type === 'ints' ? n.attrs.kernel_shape.value.join('x') : '?';
      return `fwd Conv${n.attrs.group?.type === 'int' && n.attrs.group.value > 1 ? ' depthwise' : ''} ${k}`;
    }
    return `fwd ${op}`;
  };
}

/**
 * Times inference of `graph` (its one float input fed random images [batch, ...dims], every output fetched) in one
 * session: `warmup` untimed runs, then `steps` timed ones.
 */
export async function benchInfer(name: string, graph: Graph, o: BenchOptions): Promise<BenchResult> {
  checkOptions(o);
  const init = new Set(graph.initializers.keys());
  const inputs = graph.inputs.filter((v) => !init.has(v.name));
  const input = inputs.length === 1 ? inputs[0] : undefined;
  if (!input || input.dtype !== 'float32') {
    throw new MedclassError('MC_ENGINE_MISSING_INPUT', `bench: graph '${name}' must have one float32 input, found ${inputs.map((v) => `${v.name}:${v.dtype}`).join(', ') || 'none'}`);
  }
  const dims = input.dims.slice(1);
  if (dims.some((d) => typeof d !== 'number')) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `bench: input '${input.name}' of '${name}' needs static dims after the batch, got [${input.dims.join(',')}]`);
  const feeds = { [input.name]: randomImages(o.rng.fork('bench-data'), o.batch, dims as number[]) };
  const t0 = performance.now();
  const s = await Session.create(graph, { ...o.session, ...(o.threads > 0 ? { threads: o.threads } : {}) });
  const compileMs = performance.now() - t0;
  const load0 = loadavg()[0]!;
  const times: number[] = [], cpu: number[] = [];
  try {
    for (let i = 0; i < o.warmup + o.steps; i++) {
      const [wall, c] = await timed(() => s.run(feeds));
      if (i >= o.warmup) { times.push(wall); cpu.push(c); }
    }
  } finally {
    await s.dispose();
  }
  const res = summarise('infer', name, o, times, cpu, compileMs, load0);
  if (o.profile) res.profile = await profileRuns(graph, feeds, undefined, o);
  return res;
}
