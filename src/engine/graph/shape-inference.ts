import { MedclassError } from '../../errors.js';
import { SHAPE_TABLE, tensorValue, type InferredValue } from './shape-table.js';
import type { Graph } from './types.js';

export { broadcastShapes, SHAPE_OPS } from './shape-table.js';
export type { InferredValue, ValueType } from './shape-table.js';

/** Inferred facts by value name. */
export type ShapeMap = Map<string, InferredValue>;

/**
 * Static shape inference: concrete dims (and small integer values, so exporter shape subgraphs such as
 * Shape→Gather→Concat→Reshape fold) for every value of `graph`, given concrete dims for symbolic input dims.
 * Values of ops outside `SHAPE_OPS` stay unknown. (Training graphs keep a symbolic batch: see `buildTrainingGraph`.)
 *
 * @example
 * const shapes = inferShapes(graph, { x: [8, 3, 32, 32] });
 * shapes.get('logits')?.dims; // [8, 10]
 */
export function inferShapes(graph: Graph, inputDims: Record<string, readonly number[]> = {}): ShapeMap {
  const map: ShapeMap = new Map();
  for (const v of graph.inputs) {
    const given = inputDims[v.name];
    const dims = given ? [...given] : v.dims.map((d) => (typeof d === 'number' ? d : NaN));
    if (dims.some((d) => Number.isNaN(d))) {
      throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `input '${v.name}' has symbolic dims [${v.dims.join(',')}]; pass concrete dims`, {
        hint: 'give the batch size (graphs are compiled for a fixed batch size)',
      });
    }
    map.set(v.name, { dtype: v.dtype, dims });
  }
  for (const [name, t] of graph.initializers) {
    const value = tensorValue(t);
    map.set(name, { dtype: t.dtype, dims: [...t.dims], ...(value ? { value } : {}) });
  }
  for (const node of graph.nodes) {
    const f = node.domain === '' || node.domain === 'ai.onnx' ? SHAPE_TABLE[node.opType] : undefined;
    if (!f) continue;
    const ins = node.inputs.map((n) => (n === '' ? undefined : map.get(n)));
    const outs = f(node, ins);
    node.outputs.forEach((o, i) => { const v = outs[i]; if (o && v) map.set(o, v); });
  }
  return map;
}
