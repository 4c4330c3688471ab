import { MedclassError } from '../errors.js';
import { saveModel } from './graph/onnx-io.js';
import type { Graph } from './graph/types.js';
import type { ParameterStore } from './params.js';
import type { Tensor } from './tensor.js';
import { f32 } from './tensor.js';

/** A copy of `g` safe to extend or mutate: fresh node, input/output, initializer and value-info containers. */
export function cloneGraph(g: Graph): Graph {
  return {
    ...g,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
    inputs: g.inputs.map((v) => ({ ...v, dims: [...v.dims] })),
    outputs: g.outputs.map((v) => ({ ...v, dims: [...v.dims] })),
    initializers: new Map(g.initializers),
    valueInfo: new Map(g.valueInfo),
    ...(g.extraOpsets ? { extraOpsets: { ...g.extraOpsets } } : {}),
  };
}

/**
 * A copy of `forward` whose initializers named like the store's parameters (and `extra` values, e.g. BN running
 * statistics) hold the current values. A parameter that `forward` declares as a graph input becomes an initializer.
 * Tensors are views of the store's arrays (no copy); serialise or compile before the next optimizer step.
 */
export function bindParams(forward: Graph, params: ParameterStore, extra: ReadonlyMap<string, Float32Array> = new Map()): Graph {
  const g = cloneGraph(forward);
  const values = new Map<string, Tensor>();
  for (const name of params.names()) values.set(name, params.tensor(name));
  for (const [name, data] of extra) {
    const old = g.initializers.get(name) ?? g.inputs.find((v) => v.name === name);
    if (!old) continue;
    const dims = 'data' in old ? old.dims : (old.dims as number[]);
    values.set(name, f32(data, dims));
  }
  const unknown = [...values.keys()].filter((n) => !g.initializers.has(n) && !g.inputs.some((v) => v.name === n));
  if (unknown.length > 0) {
    throw new MedclassError('MC_ENGINE_UNKNOWN_PARAM', `graph '${g.name}' has no initializer or input for ${unknown.length} parameter(s): ${unknown.slice(0, 5).join(', ')}`, {
      hint: 'the parameter store must come from the same network as the graph',
    });
  }
  for (const [name, t] of values) {
    const old = g.initializers.get(name);
    if (old && old.data.length !== t.data.length) {
      throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `${name}: graph has [${old.dims.join(',')}], store has [${t.dims.join(',')}]`);
    }
    g.initializers.set(name, t);
  }
  g.inputs = g.inputs.filter((v) => !values.has(v.name));
  return g;
}

/**
 * The inference graph with trained weights as initializers, serialised as a standalone ONNX model (opset of the
 * graph, IR 8) that onnxruntime (node, web, Triton) loads as is. `buffers` supplies non-trainable state such as
 * batch-norm running statistics.
 *
 * @example
 * writeFileSync('model.onnx', exportInferenceGraph(net.inferenceGraph(), store, net.buffers));
 */
export function exportInferenceGraph(forward: Graph, params: ParameterStore, buffers?: ReadonlyMap<string, Float32Array>): Uint8Array {
  return saveModel(bindParams(forward, params, buffers));
}
