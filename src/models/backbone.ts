import { basename } from 'node:path';
import type { Graph, Network, Rng, Sym, Tensor, ValueInfo } from '../engine/index.js';
import { LayerBuilder, cutGraph, defineNetwork, f32, inferShapes, loadModel } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import type { BackboneOptions, BackboneOptionsInput, HeadOptions } from './options.js';
import { BackboneOptions as BackboneSchema } from './options.js';
import { fuseTabular } from './fusion.js';
import { cutBeforeLayer, weightLayers } from './backbone-inspect.js';

const bad = (message: string, hint?: string) => new MedclassError('MC_MODELS_BAD_BACKBONE', message, hint ? { hint } : {});

/**
 * A head on the pooled embedding [N,D]: linear, or an MLP of linear–ReLU blocks (`hidden`: one width or a list, e.g.
 * [512, 128]) then a linear; dropout before every linear after the first (only before the last for a linear head).
 * Parameters are `head.fc1` … `head.fc<L+1>` (MLP) or `head.fc` (linear); dropouts `head.drop<i>`, the last `head.drop`.
 */
export function attachHead(b: LayerBuilder, emb: Sym, head: HeadOptions, numClasses: number): Sym {
  return b.scope('head', () => {
    let h = emb;
    const widths = head.kind === 'mlp' ? (typeof head.hidden === 'number' ? [head.hidden] : head.hidden) : [];
    widths.forEach((out, i) => {
      if (i > 0) h = b.dropout(h, head.dropout, `drop${i}`);
      h = b.relu(b.linear(h, `fc${i + 1}`, { out, init: { kind: 'kaimingUniform', mode: 'fanIn' } }));
    });
    return b.linear(b.dropout(h, head.dropout, 'drop'), widths.length ? `fc${widths.length + 1}` : 'fc', { out: numClasses });
  });
}

/** Sums a conv weight [O,3,k,k] over its input channels → [O,1,k,k] (fastai's grey-input adaptation). */
export function sumInputChannels(w: Tensor): Tensor<'float32'> {
  const [o, c, kh, kw] = w.dims as [number, number, number, number];
  const src = w.data as Float32Array;
  const k = kh * kw;
  const out = new Float32Array(o * k);
  for (let i = 0; i < o; i++) for (let j = 0; j < c; j++) for (let q = 0; q < k; q++) out[i * k + q]! += src[(i * c + j) * k + q]!;
  return f32(out, [o, 1, kh, kw]);
}

interface Prepared {
  o: BackboneOptions;
  name: string;
  /** The graph with grey-input weights adapted (and its input declared 1-channel when summed). */
  graph: Graph;
  input: ValueInfo;
  /** Concatenate a grey input three times before the trunk. */
  repeat: boolean;
  h: number;
  w: number;
}

function prepare(source: string | Graph, options: BackboneOptionsInput): Prepared {
  const o: BackboneOptions = BackboneSchema.parse(options);
  const g = typeof source === 'string' ? loadModel(source) : source;
  const name = typeof source === 'string' ? basename(source).replace(/\.onnx$/, '') : g.name;
  const floatInputs = g.inputs.filter((v) => v.dtype === 'float32');
  const input = o.inputName ? g.inputs.find((v) => v.name === o.inputName) : floatInputs.length === 1 ? floatInputs[0] : undefined;
  if (!input) throw bad(`${name}: ${o.inputName ? `no input '${o.inputName}'` : `expected one float input, found ${floatInputs.length}`}`, 'set inputName');
  const [, c, h, w] = input.dims;
  if (input.dims.length !== 4 || typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number') {
    throw bad(`${name}: input '${input.name}' must be [N,C,H,W] with static C, H, W, got [${input.dims.join(',')}]`);
  }
  if (o.inChannels === c) return { o, name, graph: g, input, repeat: false, h, w };
  if (o.inChannels !== 1 || c !== 3) throw bad(`${name}: model takes ${c} channels; only 1-channel input can be adapted (to 3), got ${o.inChannels}`);
  if (o.greyInput === 'repeat') return { o, name, graph: g, input, repeat: true, h, w };
  const conv = g.nodes.find((n) => n.opType === 'Conv' && n.inputs[0] === input.name);
  const weight = conv ? g.initializers.get(conv.inputs[1]!) : undefined;
  if (!conv || !weight || weight.dims[1] !== 3 || (conv.attrs.group && conv.attrs.group.value !== 1)) {
    throw bad(`${name}: no plain 3-channel Conv reads '${input.name}', cannot sum its weights`, "use greyInput: 'repeat'");
  }
  const initializers = new Map(g.initializers).set(conv.inputs[1]!, sumInputChannels(weight));
  const grey = { ...input, dims: [input.dims[0]!, 1, h, w] };
  return { o, name, graph: { ...g, initializers, inputs: g.inputs.map((v) => (v === input ? grey : v)) }, input: grey, repeat: false, h, w };
}

/**
 * An imported ONNX backbone as a `Network`: the graph is cut at `embeddingTensor` (only the nodes it needs are
 * kept), a new head (`head.*`) maps the embedding to `logits`, and `featureTensor` becomes the `features` tap for
 * CAM. Every Conv/Gemm weight and bias of the trunk is a parameter (named as in the file); `net.head` lists the
 * head's, and `selectTrainable` picks phase-1 (head) or phase-2 (all, last N conv layers) sets.
 *
 * Grey input (`inChannels: 1`): `greyInput: 'sum'` (default) sums the first conv's RGB weights into one channel —
 * exactly the response to a grey image replicated on R, G, B, at a third of the first conv's input cost;
 * `'repeat'` keeps the weights and concatenates the grey channel three times in the graph.
 * Preprocessing (size, normalisation) is the model's own; for the shared TF-slim MobileNets x = pixel/127.5 − 1.
 *
 * Cached-trunk training: with `startTensor`, the network's input `x` is that tensor (dims from shape inference)
 * and it holds only what follows it; `trunkPrefix` gives the frozen part before it, to run once per image.
 * Parameter names are the same as in the full network, so trained values copy back by name.
 *
 * @example
 * const net = createBackbone('../shared/models/tf-mobilenet-coral/mobilenet_v2_1.0_224_quant.f32.onnx',
 *   { numClasses: 2, inChannels: 1, rng: rng.fork('head') });
 */
export function createBackbone(source: string | Graph, options: BackboneOptionsInput & { rng: Rng }): Network {
  const { rng, ...rest } = options;
  const { o, name, graph, input, repeat, h, w } = prepare(source, rest);
  const produced = new Set(graph.nodes.flatMap((n) => n.outputs));
  const start = o.startTensor;
  let inputDims: number[] = [o.inChannels, h, w];
  if (start !== undefined) {
    const dims = produced.has(start) ? inferShapes(graph, { [input.name]: [1, ...input.dims.slice(1)] as number[] }).get(start)?.dims : undefined;
    if (!dims) throw bad(`${name}: no tensor '${start}' with an inferable shape to start from`);
    inputDims = dims.slice(1);
  }
  // A start at or before the feature map keeps the `features` tap; a start past it (e.g. the embedding) drops it.
  const startsAfterFeatures = start !== undefined && start !== o.featureTensor && cutGraph(graph, [start]).some((n) => n.outputs.includes(o.featureTensor));
  const withFeatures = produced.has(o.featureTensor) && !startsAfterFeatures;
  const define = (b: LayerBuilder, x: Sym): Sym => {
    b.graph.opset = Math.max(b.graph.opset, graph.opset);
    const from = start ?? input.name;
    const inp = repeat && start === undefined ? b.concat([x, x, x], 1) : x;
    const wanted = withFeatures ? [o.embeddingTensor, o.featureTensor] : [o.embeddingTensor];
    const outs = b.importGraph(graph, { [from]: inp }, wanted);
    if (withFeatures) b.tap(outs[o.featureTensor]!, 'features');
    let emb = outs[o.embeddingTensor]!;
    if (emb.dims.length === 4) emb = b.flatten(b.globalAvgPool(emb));
    if (emb.dims.length !== 2) throw bad(`${name}: embedding '${o.embeddingTensor}' must be [N,D] or [N,C,h,w], got [${emb.dims.join(',')}]`);
    return attachHead(b, fuseTabular(b, b.tap(emb, 'embedding'), o.tabularFeatures), o.head, o.numClasses);
  };
  return defineNetwork(define, { name, inputDims, numClasses: o.numClasses, rng, headScope: 'head' });
}

/**
 * The frozen part of a backbone before `options.startTensor`, as a standalone inference graph: input `x`
 * [N, inChannels, H, W] (grey input adapted as in `createBackbone`), output `cached`. Run it once per image (per
 * augmentation pass) and train `createBackbone(source, { ...options, startTensor })` on its outputs.
 */
export function trunkPrefix(source: string | Graph, options: BackboneOptionsInput): Graph {
  const { o, name, graph, input, repeat, h, w } = prepare(source, options);
  if (o.startTensor === undefined) throw bad(`${name}: trunkPrefix needs startTensor`);
  const b = new LayerBuilder('inference', `${name}-prefix`);
  b.graph.opset = Math.max(b.graph.opset, graph.opset);
  const x = b.input('x', ['N', o.inChannels, h, w]);
  const out = b.importGraph(graph, { [input.name]: repeat ? b.concat([x, x, x], 1) : x }, [o.startTensor]);
  b.output(out[o.startTensor]!, 'cached');
  for (const s of b.specs) if (s.init.kind === 'values') b.graph.initializers.set(s.name, f32(s.init.values, s.dims));
  return b.graph;
}

/**
 * A single-tensor cut that leaves at least the last `n` weight layers computing `target` (topological order; Conv, and the
 * Gemm/MatMul of a ViT, as `selectTrainable` counts them) after it: the input of the n-th last layer, moved earlier while a skip
 * connection would cross it on the way to `target`. Use as `startTensor` for cached-trunk training of the `last:n` phase.
 */
export function cutBeforeLastConvs(source: string | Graph, n: number, target = 'embedding'): string {
  const g = typeof source === 'string' ? loadModel(source) : source;
  const nodes = cutGraph(g, [target]);
  const convs = weightLayers(g, nodes);
  for (let k = Math.max(0, convs.length - n); k >= 0; k--) {
    const t = convs.length === 0 ? undefined : cutBeforeLayer(g, target, nodes, convs, k);
    if (t === undefined) continue;
    if (g.inputs.some((v) => v.name === t)) return t;
    const suffix = cutGraph(g, [target], [t]);
    if (!suffix.some((node) => node.inputs.some((i) => g.inputs.some((v) => v.name === i)))) return t;
  }
  return g.inputs[0]!.name;
}
