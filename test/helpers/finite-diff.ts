import type { Graph, Node, Tensor } from '../../src/engine/index.js';
import { attr, Session } from '../../src/engine/index.js';
import type { Float64Tensor, RunTensor } from '../../src/engine/runtime/session.js';

/** Which precision the finite differences ran in, with the step used. */
export interface FiniteDiffResult {
  grads: Map<string, Float64Array>;
  precision: 'float64' | 'float32';
  eps: number;
}

const toF64 = (t: Tensor): Float64Tensor => ({ dtype: 'float64', dims: t.dims, data: Float64Array.from(t.data as Float32Array) });

/** A copy of `graph` computing in double precision: float32 inputs, initializers, constants and casts become float64. */
export function toFloat64Graph(graph: Graph): Graph {
  const convertAttrs = (n: Node): Node => {
    const attrs = { ...n.attrs };
    for (const [k, a] of Object.entries(attrs)) if (a.type === 'tensor' && a.value.dtype === 'float32') attrs[k] = attr.tensor(toF64(a.value) as unknown as Tensor);
    if (n.opType === 'Cast' && attrs.to?.type === 'int' && attrs.to.value === 1) attrs.to = attr.int(11);
    return { ...n, attrs };
  };
  const f64 = <T extends { dtype: string }>(v: T): T => (v.dtype === 'float32' ? { ...v, dtype: 'float64' } : v);
  return {
    ...graph,
    nodes: graph.nodes.map(convertAttrs),
    inputs: graph.inputs.map(f64),
    outputs: graph.outputs.map(f64),
    initializers: new Map([...graph.initializers].map(([k, t]) => [k, t.dtype === 'float32' ? (toF64(t) as unknown as Tensor) : t])),
    valueInfo: new Map(),
  };
}

/**
 * Central finite differences of the scalar `output` of `graph` with respect to the float32 graph inputs `wrt`,
 * run through a real onnxruntime session. Runs in float64 (eps 1e-6; error ≈ 1e-10 relative) when onnxruntime's
 * CPU provider has double kernels for every op; otherwise in float32 with eps 1e-2, whose error (truncation
 * ε²·f‴ plus round-off 1e-7/ε) is about 1e-4 of the gradient's scale on O(1) inputs — tests then use 3e-3.
 */
export async function finiteDiff(graph: Graph, output: string, feeds: Record<string, Tensor>, wrt: readonly string[]): Promise<FiniteDiffResult> {
  const g = { ...graph, outputs: graph.outputs.filter((o) => o.name === output) };
  let session: Session;
  let precision: 'float64' | 'float32' = 'float64';
  try {
    session = await Session.create(toFloat64Graph(g), { threads: 1 });
    const probe: Record<string, RunTensor> = {};
    for (const [k, v] of Object.entries(feeds)) probe[k] = v.dtype === 'float32' ? toF64(v) : v;
    await session.runAny(probe);
  } catch {
    precision = 'float32';
    session = await Session.create(g, { threads: 1 });
  }
  const eps = precision === 'float64' ? 1e-6 : 1e-2;
  const base: Record<string, RunTensor> = {};
  for (const [k, v] of Object.entries(feeds)) {
    base[k] = precision === 'float64' && v.dtype === 'float32' ? toF64(v) : { ...v, data: (v.data as Float32Array).slice() } as Tensor;
  }
  const grads = new Map<string, Float64Array>();
  try {
    const f = async () => Number((await session.runAny(base, [output]))[output]!.data[0]);
    for (const name of wrt) {
      const data = base[name]!.data as Float32Array | Float64Array;
      const out = new Float64Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const x = data[i]!;
        data[i] = x + eps;
        const hi = data[i]!; // the stored (rounded) perturbation, exact in float32 too
        const up = await f();
        data[i] = x - eps;
        const lo = data[i]!;
        const down = await f();
        data[i] = x;
        out[i] = (up - down) / (hi - lo);
      }
      grads.set(name, out);
    }
  } finally {
    await session.dispose();
  }
  return { grads, precision, eps };
}
