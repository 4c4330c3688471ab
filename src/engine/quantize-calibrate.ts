import { cloneGraph } from './export.js';
import { inferShapes } from './graph/shape-inference.js';
import type { Graph } from './graph/types.js';
import { Session } from './runtime/session.js';
import type { QuantRange } from './quantize.js';
import type { Tensor } from './tensor.js';

/** One calibration batch: the float graph's inputs by name. */
export type CalibrationFeeds = Record<string, Tensor>;

function widen(ranges: Map<string, QuantRange>, name: string, data: ArrayLike<number>): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const r = ranges.get(name);
  ranges.set(name, r ? { min: Math.min(r.min, lo), max: Math.max(r.max, hi) } : { min: lo, max: hi });
}

/** A calibration session: the float graph with every tensor of `inner` as an extra output. */
async function calibrationSession(graph: Graph, inner: readonly string[], feeds: CalibrationFeeds, threads: number): Promise<Session> {
  const g = cloneGraph(graph);
  const shapes = inferShapes(g, Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.dims])));
  const existing = new Set(g.outputs.map((o) => o.name));
  for (const t of inner) {
    if (existing.has(t)) continue;
    const rank = shapes.get(t)?.dims.length ?? 4;
    g.outputs.push({ name: t, dtype: 'float32', dims: Array.from({ length: rank }, (_, i) => `${t}:${i}`) });
  }
  return Session.create(g, threads ? { threads } : {});
}

/** Runs `visit(tensor, values)` for every tensor of `tensors` on every calibration batch. */
async function forEachTensor(graph: Graph, tensors: readonly string[], batches: Iterable<CalibrationFeeds> | AsyncIterable<CalibrationFeeds>, threads: number, visit: (t: string, v: Float32Array) => void): Promise<void> {
  const inputs = new Set(graph.inputs.map((v) => v.name));
  const inner = tensors.filter((t) => !inputs.has(t));
  let session: Session | undefined;
  try {
    for await (const feeds of batches) {
      session ??= await calibrationSession(graph, inner, feeds, threads);
      for (const [k, t] of Object.entries(feeds)) if (tensors.includes(k)) visit(k, t.data as Float32Array);
      const r = await session.run(feeds, inner);
      for (const t of inner) visit(t, r[t]!.data as Float32Array);
    }
  } finally {
    await session?.dispose();
  }
}

/** Histogram bins of |v| for percentile calibration (onnxruntime's HistogramCalibrater uses 2048). */
const BINS = 2048;

/**
 * Percentile calibration (onnxruntime's `CalibrationMethod.Percentile`): a first pass finds each tensor's MinMax
 * range, a second one histograms |v| over [0, max|v|] in 2048 bins; the range is [0, p] for a tensor that never went
 * below 0 and [−p, p] otherwise, p the `percentile`-th percentile of |v| (never wider than the MinMax range).
 * `batches` is called once per pass.
 */
export async function calibratePercentile(graph: Graph, tensors: readonly string[], batches: () => Iterable<CalibrationFeeds> | AsyncIterable<CalibrationFeeds>, percentile = 99.999, threads = 0): Promise<Map<string, QuantRange>> {
  const mm = await calibrateMinMax(graph, tensors, batches(), threads);
  const hist = new Map<string, { top: number; bins: Float64Array }>();
  for (const [t, r] of mm) hist.set(t, { top: Math.max(Math.abs(r.min), Math.abs(r.max)) || 1, bins: new Float64Array(BINS) });
  await forEachTensor(graph, tensors, batches(), threads, (t, v) => {
    const h = hist.get(t)!;
    const k = BINS / h.top;
    for (let i = 0; i < v.length; i++) h.bins[Math.min(BINS - 1, Math.floor(Math.abs(v[i]!) * k))]++;
  });
  const out = new Map<string, QuantRange>();
  for (const [t, r] of mm) {
    const h = hist.get(t)!;
    const total = h.bins.reduce((a, b) => a + b, 0);
    let acc = 0;
    let b = 0;
    while (b < BINS - 1 && (acc += h.bins[b]!) < (total * percentile) / 100) b++;
    const p = ((b + 1) * h.top) / BINS;
    out.set(t, r.min >= 0 ? { min: 0, max: Math.min(r.max, p) } : { min: Math.max(r.min, -p), max: Math.min(r.max, p) });
  }
  return out;
}

/**
 * MinMax calibration (onnxruntime's `CalibrationMethod.MinMax`): runs the float graph over the calibration batches
 * with every tensor of `tensors` as an extra output and returns each one's smallest and largest value seen.
 * Graph inputs among `tensors` take their range from the feeds. One session, `threads` intra-op threads.
 */
export async function calibrateMinMax(graph: Graph, tensors: readonly string[], batches: Iterable<CalibrationFeeds> | AsyncIterable<CalibrationFeeds>, threads = 0): Promise<Map<string, QuantRange>> {
  const ranges = new Map<string, QuantRange>();
  await forEachTensor(graph, tensors, batches, threads, (t, v) => widen(ranges, t, v));
  return ranges;
}
