// Shared by the gradient-formulation benches: build one-output graphs over the same inputs, feed them the same
// random tensors, time each in its own session and compare their outputs.
import { Emitter, Rng, Session, f32 } from '../src/engine/index.js';
import type { Graph, Tensor, ValueInfo } from '../src/engine/index.js';

/** A graph over `inputs` whose single output is what `build` returns; inputs it does not read are dropped. */
export function variantGraph(name: string, inputs: ValueInfo[], build: (e: Emitter) => string): Graph {
  const g: Graph = { name, nodes: [], outputs: [], initializers: new Map(), valueInfo: new Map(), opset: 17, inputs: [...inputs] };
  const e = new Emitter(g, 'b');
  g.outputs.push({ name: build(e), dtype: 'float32', dims: [] });
  g.inputs = g.inputs.filter((v) => g.nodes.some((n) => n.inputs.includes(v.name)));
  return g;
}

/** Standard-normal float32 tensors of the given shapes, from one seeded stream. */
export function randomFeeds(shapes: Record<string, number[]>, seed = 1): Record<string, Tensor> {
  const rng = new Rng(seed);
  return Object.fromEntries(Object.entries(shapes).map(([k, dims]) => [k, f32(Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()), dims)]));
}

/**
 * Each variant in its own session: one warm-up run, then the minimum of `runs` timed runs (wall ms, and process CPU
 * ms: the steadier figure on a loaded machine), and its output.
 */
export async function timeVariants(variants: Record<string, Graph>, feeds: Record<string, Tensor>, threads: number, runs: number): Promise<{ minMs: Record<string, number>; minCpuMs: Record<string, number>; out: Record<string, Float32Array> }> {
  const minMs: Record<string, number> = {};
  const minCpuMs: Record<string, number> = {};
  const out: Record<string, Float32Array> = {};
  for (const [name, g] of Object.entries(variants)) {
    const s = await Session.create(g, { threads });
    try {
      const f = Object.fromEntries(g.inputs.map((v) => [v.name, feeds[v.name]!]));
      let best = Infinity, bestCpu = Infinity;
      for (let i = 0; i <= runs; i++) {
        const t = performance.now(), c0 = process.cpuUsage();
        const r = await s.run(f);
        const c = process.cpuUsage(c0);
        if (i > 0) { best = Math.min(best, performance.now() - t); bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000); }
        out[name] = r[g.outputs[0]!.name]!.data as Float32Array;
      }
      minMs[name] = +best.toFixed(2);
      minCpuMs[name] = +bestCpu.toFixed(2);
    } finally {
      await s.dispose();
    }
  }
  return { minMs, minCpuMs, out };
}

/**
 * Runs open sessions (one per variant, same feeds) alternated A B A B … for `rounds` rounds after one warm-up round:
 * wall and process CPU ms of every timed run per variant, and each variant's last first output.
 */
export async function alternateRuns(sessions: Session[], names: string[], graphs: Record<string, Graph>, feeds: Record<string, Tensor>, rounds: number): Promise<{ wall: Record<string, number[]>; cpu: Record<string, number[]>; out: Record<string, Float32Array> }> {
  const wall: Record<string, number[]> = Object.fromEntries(names.map((v) => [v, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(names.map((v) => [v, []]));
  const out: Record<string, Float32Array> = {};
  for (let r = 0; r <= rounds; r++) {
    for (const [i, v] of names.entries()) {
      const t = performance.now(), c0 = process.cpuUsage();
      const res = await sessions[i]!.run(feeds);
      const c = process.cpuUsage(c0);
      if (r > 0) { wall[v]!.push(performance.now() - t); cpu[v]!.push((c.user + c.system) / 1000); }
      out[v] = res[graphs[v]!.outputs[0]!.name]!.data as Float32Array;
    }
  }
  return { wall, cpu, out };
}

/** Per variant, the minimum and median wall ms and the median CPU ms of `alternateRuns`' timings (0.1 ms). */
export function runStats(names: string[], runs: { wall: Record<string, number[]>; cpu: Record<string, number[]> }): Record<'min_ms' | 'median_ms' | 'median_cpu_ms', Record<string, number>> {
  const fix = (x: number) => +x.toFixed(1);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const per = (f: (v: string) => number) => Object.fromEntries(names.map((v) => [v, fix(f(v))]));
  return { min_ms: per((v) => Math.min(...runs.wall[v]!)), median_ms: per((v) => med(runs.wall[v]!)), median_cpu_ms: per((v) => med(runs.cpu[v]!)) };
}

/** max |a − b| / max |b|, or undefined when either is missing or the lengths differ. */
export function maxRelDiff(a?: Float32Array, b?: Float32Array): number | undefined {
  if (!a || !b || a.length !== b.length) return undefined;
  let m = 0, sc = 0;
  for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i]! - b[i]!)); sc = Math.max(sc, Math.abs(b[i]!)); }
  return +(m / sc).toExponential(1);
}
