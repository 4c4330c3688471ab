import { attr, loadModel, saveModel, type Graph, type Node } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import type { LateCombiner } from './late-fusion-fit.js';

/** Copies `g`'s nodes and initializers with every value name except the shared inputs prefixed by `prefix`. */
function prefixed(g: Graph, prefix: string, shared: ReadonlySet<string>): { nodes: Node[]; initializers: Graph['initializers'] } {
  const name = (v: string) => (v === '' || shared.has(v) ? v : `${prefix}${v}`);
  const nodes = g.nodes.map((n) => ({ ...n, name: `${prefix}${n.name}`, inputs: n.inputs.map(name), outputs: n.outputs.map(name) }));
  const initializers = new Map([...g.initializers].map(([k, t]) => [name(k), t]));
  return { nodes, initializers };
}

/**
 * One ONNX graph for a late-fusion run: the image model (inputs `x`) and the tabular model (inputs `x`, unread, and
 * `tab`) side by side, their value names prefixed `image/` and `tabular/`, combined into `logits` [N,K] by the fitted
 * combiner — `w·image + (1 − w)·tabular` (weighted) or `Gemm(Concat(image, tabular), W, b)` (stacking). The graph's
 * inputs are the image's `x` and the tabular model's `tab`, so `predict`, `serve` and `eval --data` feed it like an
 * early-fusion run.
 */
export function lateFusionGraph(imageModel: Uint8Array, tabularModel: Uint8Array, c: LateCombiner, k: number, io: { input: string; tabularInput: string; output: string }): Uint8Array {
  const img = loadModel(imageModel);
  const tab = loadModel(tabularModel);
  const xi = img.inputs.find((v) => v.name === io.input);
  const xt = tab.inputs.find((v) => v.name === io.input);
  const ti = tab.inputs.find((v) => v.name === io.tabularInput);
  if (!xi || !ti) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `late fusion: the image model needs input '${io.input}' and the tabular model input '${io.tabularInput}'`);
  if (img.inputs.some((v) => v.name === io.tabularInput)) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', 'late fusion: the image model already takes tabular input (an early-fusion run); pass an image-only run');
  if (xt && JSON.stringify(xt.dims.slice(1)) !== JSON.stringify(xi.dims.slice(1))) {
    throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `late fusion: image input ${io.input} is [${xi.dims.join(',')}] in the image model but [${xt.dims.join(',')}] in the tabular model`, { hint: 'train the tabular run with the same data.preprocess as the image run' });
  }
  const shared = new Set([io.input, io.tabularInput]);
  const a = prefixed(img, 'image/', shared);
  const b = prefixed(tab, 'tabular/', shared);
  const la = `image/${io.output}`;
  const lb = `tabular/${io.output}`;
  const initializers = new Map([...a.initializers, ...b.initializers]);
  const nodes: Node[] = [...a.nodes, ...b.nodes];
  const node = (opType: string, inputs: string[], output: string, attrs: Node['attrs'] = {}): Node => ({ opType, name: `fuse/${output}`, domain: '', inputs, outputs: [output], attrs });
  if (c.method === 'weighted') {
    initializers.set('fuse/w_image', { dtype: 'float32', dims: [], data: Float32Array.of(c.imageWeight) });
    initializers.set('fuse/w_tabular', { dtype: 'float32', dims: [], data: Float32Array.of(1 - c.imageWeight) });
    nodes.push(node('Mul', [la, 'fuse/w_image'], 'fuse/image'), node('Mul', [lb, 'fuse/w_tabular'], 'fuse/tabular'), node('Add', ['fuse/image', 'fuse/tabular'], io.output));
  } else {
    initializers.set('fuse/W', { dtype: 'float32', dims: [k, 2 * k], data: Float32Array.from(c.weight) });
    initializers.set('fuse/b', { dtype: 'float32', dims: [k], data: Float32Array.from(c.bias) });
    nodes.push(node('Concat', [la, lb], 'fuse/concat', { axis: attr.int(1) }), node('Gemm', ['fuse/concat', 'fuse/W', 'fuse/b'], io.output, { transB: attr.int(1) }));
  }
  const graph: Graph = {
    name: 'late-fusion', nodes, initializers, valueInfo: new Map(), opset: Math.max(img.opset, tab.opset),
    inputs: [xi, ti], outputs: [{ name: io.output, dtype: 'float32', dims: ['N', k] }],
    ...(img.extraOpsets || tab.extraOpsets ? { extraOpsets: { ...img.extraOpsets, ...tab.extraOpsets } } : {}),
  };
  return saveModel(graph);
}
