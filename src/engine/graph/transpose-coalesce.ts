import { Emitter } from './emitter.js';
import { intsAttr } from './op-attrs.js';
import type { ShapeMap } from './shape-inference.js';
import type { Graph, Node } from './types.js';
import { attr } from './types.js';

/**
 * A Transpose `perm` with the axes that stay next to each other merged: the groups of input axes (in input order)
 * and the permutation of the groups. E.g. [0,2,3,1] on [N,C,H,W] is [0,2,1] on [N,C,H·W].
 */
export function coalescePerm(perm: readonly number[]): { groups: number[][]; perm: number[] } {
  const out: number[][] = [];
  for (const p of perm) {
    const last = out.at(-1);
    if (last && last.at(-1)! + 1 === p) last.push(p);
    else out.push([p]);
  }
  const byInput = [...out].sort((a, b) => a[0]! - b[0]!);
  return { groups: byInput, perm: out.map((g) => byInput.indexOf(g)) };
}

/**
 * Rewrites every Transpose whose permutation keeps some axes adjacent into Reshape → a Transpose of lower rank →
 * Reshape (bit-identical). onnxruntime's Transpose has fast paths for moving one axis and for 2-D, but runs a
 * general element loop for higher-rank perms it does not coalesce itself: in ResNet-18-28's training step the
 * channels-last dW's [co, kh, kw, ci] → [co, ci, kh, kw] of a 512×512 3×3 weight took 5.3 ms as rank 4. `shapes`
 * holds the dims at the graph's batch size and `alt` (optional) at another one: a dim that differs is the batch's,
 * written -1 in the Reshapes (a Transpose with two such dims is left alone), so the graph still serves every batch
 * size. Returns the number of Transposes rewritten.
 */
export function coalesceTransposes(graph: Graph, shapes: ShapeMap, alt?: ShapeMap): number {
  const e = new Emitter(graph, 'tc');
  const old = graph.nodes;
  graph.nodes = [];
  let rewritten = 0;
  for (const node of old) {
    const plan = node.opType === 'Transpose' && node.domain === '' ? planOf(node, shapes, alt) : undefined;
    if (!plan) {
      graph.nodes.push(node);
      continue;
    }
    // the Transpose keeps the node's name, so profiles still attribute it to the rule that emitted it
    const x = e.reshape(node.inputs[0]!, plan.inShape);
    const t = `${node.outputs[0]!}/tc`;
    graph.nodes.push({ ...node, inputs: [x], outputs: [t], attrs: { ...node.attrs, perm: attr.ints(plan.perm) } });
    graph.nodes.push({ opType: 'Reshape', name: `${node.name}/tc_out`, domain: '', inputs: [t, e.ints(plan.outShape)], outputs: [node.outputs[0]!], attrs: {} });
    rewritten++;
  }
  return rewritten;
}

function planOf(node: Node, shapes: ShapeMap, alt?: ShapeMap): { inShape: number[]; perm: number[]; outShape: number[] } | undefined {
  const dims = shapes.get(node.inputs[0] ?? '')?.dims;
  if (!dims || dims.length < 3 || node.outputs.length !== 1) return undefined;
  const perm = intsAttr(node, 'perm', [...dims.keys()].reverse());
  const c = coalescePerm(perm);
  if (c.groups.length === dims.length || c.groups.length < 2) return undefined;
  const other = alt?.get(node.inputs[0]!)?.dims;
  const batched = dims.map((d, i) => other !== undefined && other[i] !== d);
  if (batched.filter(Boolean).length > 1) return undefined;
  const inShape = c.groups.map((g) => (g.some((i) => batched[i]) ? -1 : g.reduce((s, i) => s * dims[i]!, 1)));
  const outShape = perm.map((p) => (batched[p] ? -1 : dims[p]!));
  return { inShape, perm: c.perm, outShape };
}
