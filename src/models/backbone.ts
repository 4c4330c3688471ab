import { basename } from 'node:path';
import type { Graph, LayerBuilder, Network, Rng, Sym, Tensor } from '../engine/index.js';
import { defineNetwork, f32, loadModel } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import type { BackboneOptions, BackboneOptionsInput, HeadOptions } from './options.js';
import { BackboneOptions as BackboneSchema } from './options.js';

const bad = (message: string, hint?: string) => new MedclassError('MC_MODELS_BAD_BACKBONE', message, hint ? { hint } : {});

/** A head on the pooled embedding [N,D]: linear, or linear–ReLU–dropout–linear; dropout before the last linear. */
export function attachHead(b: LayerBuilder, emb: Sym, head: HeadOptions, numClasses: number): Sym {
  return b.scope('head', () => {
    let h = emb;
    if (head.kind === 'mlp') h = b.relu(b.linear(h, 'fc1', { out: head.hidden, init: { kind: 'kaimingUniform', mode: 'fanIn' } }));
    return b.linear(b.dropout(h, head.dropout, 'drop'), head.kind === 'mlp' ? 'fc2' : 'fc', { out: numClasses });
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
 * @example
 * const net = createBackbone('../shared/models/tf-mobilenet-coral/mobilenet_v2_1.0_224_quant.f32.onnx',
 *   { numClasses: 2, inChannels: 1, rng: rng.fork('head') });
 */
export function createBackbone(source: string | Graph, options: BackboneOptionsInput & { rng: Rng }): Network {
  const { rng, ...rest } = options;
  const o: BackboneOptions = BackboneSchema.parse(rest);
  const g = typeof source === 'string' ? loadModel(source) : source;
  const name = typeof source === 'string' ? basename(source).replace(/\.onnx$/, '') : g.name;
  const floatInputs = g.inputs.filter((v) => v.dtype === 'float32');
  const input = o.inputName ? g.inputs.find((v) => v.name === o.inputName) : floatInputs.length === 1 ? floatInputs[0] : undefined;
  if (!input) throw bad(`${name}: ${o.inputName ? `no input '${o.inputName}'` : `expected one float input, found ${floatInputs.length}`}`, 'set inputName');
  const [, c, h, w] = input.dims;
  if (input.dims.length !== 4 || typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number') {
    throw bad(`${name}: input '${input.name}' must be [N,C,H,W] with static C, H, W, got [${input.dims.join(',')}]`);
  }
  const initializers = new Map(g.initializers);
  const repeat = o.inChannels !== c;
  if (o.inChannels !== c) {
    if (o.inChannels !== 1 || c !== 3) throw bad(`${name}: model takes ${c} channels; only 1-channel input can be adapted (to 3), got ${o.inChannels}`);
    if (o.greyInput === 'sum') {
      const conv = g.nodes.find((n) => n.opType === 'Conv' && n.inputs[0] === input.name);
      const weight = conv ? initializers.get(conv.inputs[1]!) : undefined;
      if (!conv || !weight || weight.dims[1] !== 3 || (conv.attrs.group && conv.attrs.group.value !== 1)) {
        throw bad(`${name}: no plain 3-channel Conv reads '${input.name}', cannot sum its weights`, "use greyInput: 'repeat'");
      }
      initializers.set(conv.inputs[1]!, sumInputChannels(weight));
    }
  }
  const sumGrey = repeat && o.greyInput === 'sum';
  const graph: Graph = { ...g, initializers, inputs: sumGrey ? [{ ...input, dims: [input.dims[0]!, 1, h, w] }] : g.inputs };
  const produced = new Set(g.nodes.flatMap((n) => n.outputs));
  const withFeatures = produced.has(o.featureTensor);
  const define = (b: LayerBuilder, x: Sym): Sym => {
    b.graph.opset = Math.max(b.graph.opset, g.opset);
    const inp = repeat && !sumGrey ? b.concat([x, x, x], 1) : x;
    const outs = b.importGraph(graph, { [input.name]: inp }, withFeatures ? [o.embeddingTensor, o.featureTensor] : [o.embeddingTensor]);
    if (withFeatures) b.tap(outs[o.featureTensor]!, 'features');
    let emb = outs[o.embeddingTensor]!;
    if (emb.dims.length === 4) emb = b.flatten(b.globalAvgPool(emb));
    if (emb.dims.length !== 2) throw bad(`${name}: embedding '${o.embeddingTensor}' must be [N,D] or [N,C,h,w], got [${emb.dims.join(',')}]`);
    return attachHead(b, b.tap(emb, 'embedding'), o.head, o.numClasses);
  };
  return defineNetwork(define, { name, inputDims: [o.inChannels, h, w], numClasses: o.numClasses, rng, headScope: 'head' });
}
