import { differentiate, Emitter, f32, inferShapes, Rng, Session, type Attr, type Graph, type Tensor } from '../../src/engine/index.js';
import { maxRelError } from '../helpers/all-close.js';
import { finiteDiff } from '../helpers/finite-diff.js';

/** One op to check: its inputs in order ('' = omitted), their values, and which float inputs are differentiated. */
export interface OpCase {
  name: string;
  op: string;
  inputs: string[];
  values: Record<string, Tensor>;
  attrs?: Record<string, Attr>;
  /** Inputs fed as constants (initializers), never differentiated. Default: every non-float input. */
  consts?: string[];
  /** Number of node outputs (default 1). */
  outputs?: number;
  /** Outputs that feed the loss (default all float ones: [0]). */
  use?: number[];
  /** Inputs to differentiate (default: every float input not in consts). */
  wrt?: string[];
}

/** Seeded values in [lo, hi) with magnitude at least `gap` (away from 0, for kinks at 0). */
export function seeded(rng: Rng, dims: number[], opts: { lo?: number; hi?: number; gap?: number } = {}): Tensor<'float32'> {
  const { lo = -1, hi = 1, gap = 0 } = opts;
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = rng.uniform(lo, hi);
    while (Math.abs(v) < gap) v = rng.uniform(lo, hi);
    data[i] = v;
  }
  return f32(data, dims);
}

/** Distinct values on a grid 0.05 apart in random order (for max-pool: no ties, no near-ties under FD steps). */
export function distinct(rng: Rng, dims: number[]): Tensor<'float32'> {
  const n = dims.reduce((a, b) => a * b, 1);
  const perm = rng.permutation(n);
  return f32(Float32Array.from(perm, (p) => (p - n / 2) * 0.05), dims);
}

/**
 * Builds a one-node graph with loss L = Σ_k Σ (output_k · R_k) (R_k seeded), differentiates it with the engine and
 * compares against central finite differences through onnxruntime. Returns the worst relative error
 * (max|analytic − FD| / max|FD| over the differentiated inputs) and the FD precision.
 */
export async function checkOpGradient(c: OpCase, seed = 0): Promise<{ error: number; precision: string; worst: string }> {
  const rng = new Rng(seed).fork(c.name);
  const floatNames = c.inputs.filter((n) => n && c.values[n]!.dtype === 'float32');
  const consts = new Set(c.consts ?? c.inputs.filter((n) => n && c.values[n]!.dtype !== 'float32'));
  const wrt = c.wrt ?? floatNames.filter((n) => !consts.has(n));
  const g: Graph = { name: c.name, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map(), opset: 17 };
  for (const n of new Set(c.inputs.filter(Boolean))) {
    const v = c.values[n]!;
    if (consts.has(n)) g.initializers.set(n, v);
    else g.inputs.push({ name: n, dtype: v.dtype, dims: [...v.dims] });
  }
  const outs = Array.from({ length: c.outputs ?? 1 }, (_, i) => `y${i}`);
  g.nodes.push({ opType: c.op, name: c.name, domain: '', inputs: c.inputs, outputs: outs, attrs: c.attrs ?? {} });
  const shapes = inferShapes(g);
  const e = new Emitter(g, 'loss');
  const terms = (c.use ?? [0]).map((k) => {
    const d = shapes.get(outs[k]!)!.dims;
    const r = e.constant(seeded(rng, d), 'R');
    return e.reduceSum(e.mul(outs[k]!, r), [...d.keys()], false);
  });
  const lossValue = terms.reduce((a, b) => e.add(a, b));
  g.nodes.push({ opType: 'Identity', name: 'L_id', domain: '', inputs: [lossValue], outputs: ['L'], attrs: {} });
  g.outputs.push({ name: 'L', dtype: 'float32', dims: [] });
  const feeds: Record<string, Tensor> = {};
  for (const v of g.inputs) feeds[v.name] = c.values[v.name]!;

  const fd = await finiteDiff(g, 'L', feeds, wrt);
  const ga: Graph = { ...g, nodes: [...g.nodes], outputs: [...g.outputs], initializers: new Map(g.initializers) };
  const grads = differentiate(ga, { loss: 'L', wrt });
  for (const w of wrt) {
    const name = `d_${w}`;
    ga.nodes.push({ opType: 'Identity', name: `${name}_id`, domain: '', inputs: [grads.get(w)!], outputs: [name], attrs: {} });
    ga.outputs.push({ name, dtype: 'float32', dims: [...c.values[w]!.dims] });
  }
  const s = await Session.create(ga, { threads: 1 });
  try {
    const out = await s.run(feeds);
    let error = 0, worst = '';
    for (const w of wrt) {
      const err = maxRelError(out[`d_${w}`]!.data as Float32Array, fd.grads.get(w)!);
      if (err >= error) { error = err; worst = w; }
    }
    return { error, precision: fd.precision, worst };
  } finally {
    await s.dispose();
  }
}
