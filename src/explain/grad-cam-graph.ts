import { Emitter, attr, cloneGraph, cutGraph, differentiate, i64, inferShapes, loadModel, type Graph } from '../engine/index.js';
import { MedclassError } from '../errors.js';

/** What `buildGradCamGraph` made: the graph and the names of its inputs and outputs. */
export interface GradCamGraph {
  graph: Graph;
  /** image input `[N,C,H,W]` */
  input: string;
  /** int64 `[N]` input: the class whose logit is explained per image, −1 = the predicted (arg-max) class */
  target: string;
  /** outputs: logits `[N,K]`, the class explained `[N,1]` (int64), feature map A `[N,C,h,w]` and dScore/dA (same dims) */
  logits: string;
  selected: string;
  layer: string;
  gradient: string;
  /** input dims without the batch `[C,H,W]`, feature dims without the batch `[C,h,w]`, number of classes */
  inputDims: number[];
  featureDims: number[];
  numClasses: number;
  /** other data inputs the logits need, fed unchanged beside the image (a fusion model's `tab` [N,F]): name, dims without the batch */
  extraInputs: { name: string; dims: number[] }[];
}

/** Options of `buildGradCamGraph`. */
export interface GradCamGraphOptions {
  /** value to explain at (default: the `features` tap when the graph has one, else the last Conv output) */
  layer?: string;
  /** logits output (default: the graph's first output) */
  output?: string;
  /** image input (default: the first graph input that is not an initializer) */
  input?: string;
}

const producers = (g: Graph) => new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));

/** Outputs of the graph's Conv nodes in topological order (the layers Grad-CAM can be asked for by name). */
export function convLayers(model: Graph): string[] {
  return model.nodes.filter((n) => n.opType === 'Conv').map((n) => n.outputs[0]!);
}

/**
 * The default layer among the values the logits depend on: the `features` tap (built-in CNNs, backbones) when it is
 * one of them, else the last Conv output (a ViT's `features` is a side branch, so its patch embedding is used).
 */
export function defaultCamLayer(model: Graph, output = model.outputs[0]?.name ?? ''): string {
  const nodes = cutGraph(model, [output]);
  if (nodes.some((n) => n.outputs.includes('features'))) return 'features';
  const last = nodes.filter((n) => n.opType === 'Conv').at(-1)?.outputs[0];
  if (!last) throw new MedclassError('MC_EXPLAIN_BAD_LAYER', `graph '${model.name}': '${output}' depends on no 'features' value and no Conv node`, { hint: 'Grad-CAM needs a convolutional feature map; name one with --layer' });
  return last;
}

/**
 * Builds, once, a graph that outputs the logits, the feature map A at `layer` and dScore/dA, where score is the
 * logit of the chosen class (input `target`, −1 = arg-max) summed over the batch — so each image's slice of dA is
 * the gradient of its own logit (inference graphs do not mix images). Gradients come from the engine's
 * `differentiate`; the graph is plain opset 17 and serves every batch size.
 *
 * @example
 * const cg = buildGradCamGraph(readFileSync('runs/x/model.onnx'));
 * const s = await Session.create(cg.graph);
 */
export function buildGradCamGraph(model: Graph | Uint8Array, opts: GradCamGraphOptions = {}): GradCamGraph {
  const g = cloneGraph(model instanceof Uint8Array ? loadModel(model) : model);
  const input = opts.input ?? g.inputs.find((v) => !g.initializers.has(v.name))?.name;
  const inInfo = g.inputs.find((v) => v.name === input);
  if (!input || !inInfo || inInfo.dims.length !== 4) {
    throw new MedclassError('MC_ENGINE_BAD_MODEL', `graph '${g.name}': expected an image input [N,C,H,W], found ${inInfo ? `'${input}' [${inInfo.dims.join(',')}]` : 'none'}`);
  }
  const logits = opts.output ?? g.outputs[0]?.name;
  if (!logits) throw new MedclassError('MC_ENGINE_BAD_MODEL', `graph '${g.name}' has no outputs`);
  const layer = opts.layer ?? defaultCamLayer(g, logits);
  const hint = `Conv outputs of this model: ${convLayers(g).slice(-8).join(', ') || 'none'}${producers(g).has('features') ? ' (and features)' : ''}`;
  // Only the nodes the logits need (drops other outputs' branches); the layer must be among their values.
  g.nodes = cutGraph(g, [logits]);
  if (!g.nodes.some((n) => n.outputs.includes(layer) && n.inputs.some((i) => i !== ''))) {
    throw new MedclassError('MC_EXPLAIN_BAD_LAYER', `'${layer}' is not a value that '${logits}' depends on`, { hint });
  }

  const probe = 2;
  const inputDims = inInfo.dims.slice(1).map((d) => {
    if (typeof d !== 'number') throw new MedclassError('MC_ENGINE_BAD_MODEL', `input '${input}': dims [${inInfo.dims.join(',')}] must be static except the batch`);
    return d;
  });
  // Other data inputs the logits need (an image + tabular model's `tab` [N,F]) stay inputs with the batch symbolic.
  const extraInputs = g.inputs.filter((v) => v.name !== input && !g.initializers.has(v.name) && g.nodes.some((n) => n.inputs.includes(v.name))).map((v) => {
    if (v.dtype !== 'float32' || v.dims.slice(1).some((d) => typeof d !== 'number')) {
      throw new MedclassError('MC_ENGINE_BAD_MODEL', `input '${v.name}': expected float32 with static dims after the batch, got ${v.dtype} [${v.dims.join(',')}]`);
    }
    return { name: v.name, dims: v.dims.slice(1) as number[] };
  });
  const probeDims = Object.fromEntries([[input, [probe, ...inputDims]], ...extraInputs.map((v) => [v.name, [probe, ...v.dims]])]);
  const shapes = inferShapes(g, probeDims);
  const a = shapes.get(layer);
  const z = shapes.get(logits);
  if (!a || a.dims.length !== 4 || a.dims[0] !== probe || a.dtype !== 'float32') {
    throw new MedclassError('MC_EXPLAIN_BAD_LAYER', `'${layer}': expected a float32 feature map [N,C,h,w], found ${a ? `${a.dtype} [${a.dims.join(',')}]` : 'no inferred shape'}`, { hint });
  }
  if (!z || z.dims.length !== 2) throw new MedclassError('MC_ENGINE_BAD_MODEL', `'${logits}': expected logits [N,K], found ${z ? `[${z.dims.join(',')}]` : 'no inferred shape'}`);
  const k = z.dims[1]!;

  const e = new Emitter(g, 'gradcam');
  const target = 'gradcam_target';
  g.inputs = [
    { ...inInfo, dims: ['N', ...inputDims] },
    ...extraInputs.map((v) => ({ name: v.name, dtype: 'float32' as const, dims: ['N', ...v.dims] })),
    { name: target, dtype: 'int64', dims: ['N'] },
  ];
  const argmax = e.op('ArgMax', [logits], { axis: attr.int(1), keepdims: attr.int(1) });
  const t1 = e.op('Unsqueeze', [target, e.ints([1])]);
  const selected = e.op('Where', [e.op('Less', [t1, e.constant(i64([0], []), 'zero')]), argmax, t1]);
  const classes = e.constant(i64(Array.from({ length: k }, (_, i) => i), [1, k]), 'classes');
  const mask = e.op('Cast', [e.op('Equal', [selected, classes])], { to: attr.int(1) });
  const score = e.reduceSum(e.mul(logits, mask), [0, 1], false);
  const shapes2 = inferShapes(g, { ...probeDims, [target]: [probe] });
  const gradient = differentiate(g, { loss: score, wrt: [layer], shapes: shapes2, prefix: 'gradcam/grad' }).get(layer)!;

  const fdims = a.dims.slice(1);
  g.outputs = [
    { name: logits, dtype: 'float32', dims: ['N', k] },
    { name: selected, dtype: 'int64', dims: ['N', 1] },
    { name: layer, dtype: 'float32', dims: ['N', ...fdims] },
    { name: gradient, dtype: 'float32', dims: ['N', ...fdims] },
  ];
  g.valueInfo = new Map();
  return { graph: g, input, target, logits, selected, layer, gradient, inputDims, featureDims: fdims, numClasses: k, extraInputs };
}
