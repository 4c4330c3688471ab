import { MedclassError } from '../../errors.js';
import { inferShapes } from '../graph/shape-inference.js';
import type { Dim, Graph, Node } from '../graph/types.js';
import type { GraphRecorder } from './layer-builder.js';
import type { Sym } from './types.js';

/** Inputs (by op type) that hold trainable weights when they are float initializers. */
const WEIGHT_INPUTS: Record<string, readonly number[]> = {
  Conv: [1, 2], ConvTranspose: [1, 2], Gemm: [1, 2], MatMul: [0, 1], BatchNormalization: [1, 2], LayerNormalization: [1, 2],
};

/**
 * Nodes of `g` needed to compute `targets`, in the graph's (topological) order: a graph cut at named tensors.
 * Values in `stopAt` are treated as given (their producers are not kept), for cutting out a graph's suffix.
 * Throws `MC_MODELS_BAD_BACKBONE` naming a target no node or input produces.
 */
export function cutGraph(g: Graph, targets: readonly string[], stopAt: readonly string[] = []): Node[] {
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
  const needed = new Set<number>();
  const stack = [...targets];
  for (const t of targets) {
    if (!producer.has(t) && !g.inputs.some((v) => v.name === t)) {
      const names = g.outputs.map((v) => v.name).join(', ');
      throw new MedclassError('MC_MODELS_BAD_BACKBONE', `graph '${g.name}' has no tensor '${t}' (its outputs: ${names})`, {
        hint: 'name a tensor the model computes, e.g. `features` or `embedding` for the shared MobileNet files',
      });
    }
  }
  const given = new Set(stopAt);
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (given.has(v)) continue;
    const i = producer.get(v);
    if (i === undefined || needed.has(i)) continue;
    needed.add(i);
    stack.push(...g.nodes[i]!.inputs.filter((v) => v !== ''));
  }
  return g.nodes.filter((_, i) => needed.has(i));
}

/**
 * Copies the part of `g` that computes `outputs` into the graph `b` is recording. `inputs` maps `g`'s input names
 * to values of `b`. Float initializers that feed a weight slot (Conv/Gemm/MatMul/norm scale and bias) become
 * parameters under their own names, owned by the consuming node (`<prefix><node name>`), initialised with their
 * stored values; other initializers and all value names are prefixed with `prefix`. Output dims come from static
 * shape inference at batch 1, the batch dimension written `'N'`.
 */
export function importGraph(
  b: GraphRecorder,
  g: Graph,
  inputs: Readonly<Record<string, Sym>>,
  outputs: readonly string[],
  prefix: string,
): Record<string, Sym> {
  const nodes = cutGraph(g, outputs, Object.keys(inputs));
  const ungiven = g.inputs.filter((v) => !inputs[v.name] && nodes.some((n) => n.inputs.includes(v.name)));
  if (ungiven.length > 0) {
    throw new MedclassError('MC_MODELS_BAD_BACKBONE', `'${g.name}': computing ${outputs.join(', ')} from ${Object.keys(inputs).join(', ')} also needs input '${ungiven[0]!.name}' (a skip connection crosses the cut)`, {
      hint: 'cut at a tensor every later path goes through, e.g. a block output',
    });
  }
  const weightOwner = new Map<string, string>();
  for (const n of nodes) {
    for (const slot of WEIGHT_INPUTS[n.opType] ?? []) {
      const v = n.inputs[slot];
      if (v && g.initializers.get(v)?.dtype === 'float32' && !weightOwner.has(v)) weightOwner.set(v, `${prefix}${n.name}`);
    }
  }
  const rename = (v: string): string => {
    if (v === '') return v;
    if (inputs[v]) return inputs[v].name;
    if (weightOwner.has(v)) return v;
    return `${prefix}${v}`;
  };
  const done = new Set<string>();
  for (const n of nodes) {
    for (const v of n.inputs) {
      const t = g.initializers.get(v);
      if (!t || done.has(v)) continue;
      done.add(v);
      const owner = weightOwner.get(v);
      if (owner !== undefined) b.declare(v, t.dims, { kind: 'values', values: t.data as Float32Array }, 'param', owner);
      else b.graph.initializers.set(`${prefix}${v}`, t);
    }
  }
  for (const n of nodes) {
    b.graph.nodes.push({ ...n, name: `${prefix}${n.name}`, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename), attrs: { ...n.attrs } });
  }
  const batch1: Record<string, number[]> = {};
  for (const [name, s] of Object.entries(inputs)) batch1[name] = s.dims.map((d) => (typeof d === 'number' ? d : 1));
  const inputInfo = Object.keys(inputs).map((name) => ({ name, dtype: 'float32' as const, dims: batch1[name]! }));
  const shapes = inferShapes({ ...g, nodes, inputs: inputInfo }, batch1);
  const out: Record<string, Sym> = {};
  for (const o of outputs) {
    const dims = shapes.get(o)?.dims;
    if (!dims) throw new MedclassError('MC_MODELS_BAD_BACKBONE', `shape of '${o}' in '${g.name}' could not be inferred`);
    out[o] = { name: rename(o), dims: [('N' as Dim), ...dims.slice(1)] };
  }
  return out;
}
