import { cutGraph, intAttr, loadModel, type Graph, type Node } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import { weightedMap, type Map2d } from './cam-maps.js';
import { defaultCamLayer } from './grad-cam-graph.js';

/** The linear classifier after global average pooling: weight `[K,C]` (row k scores class k) and bias `[K]`. */
export interface CamClassifier {
  layer: string;
  weight: Float32Array;
  bias: Float32Array;
  numClasses: number;
  channels: number;
}

const PASS = new Set(['Identity', 'Flatten', 'Reshape', 'Squeeze', 'Dropout']);

/**
 * Finds the classifier of a GAP→linear network (the CAM of Zhou et al. 2016): from `layer` (default as Grad-CAM)
 * through Identity*, GlobalAveragePool (or ReduceMean over h,w), Identity/Flatten/Reshape/Squeeze/Dropout*, to one
 * Gemm or MatMul(+Add) with a constant weight that yields the logits. Anything else is `MC_EXPLAIN_NOT_CAM_MODEL`.
 */
export function camClassifier(model: Graph | Uint8Array, opts: { layer?: string; output?: string } = {}): CamClassifier {
  const g = model instanceof Uint8Array ? loadModel(model) : model;
  const logits = opts.output ?? g.outputs[0]!.name;
  const layer = opts.layer ?? defaultCamLayer(g, logits);
  const nodes = cutGraph(g, [logits]);
  const fail = (why: string) => new MedclassError('MC_EXPLAIN_NOT_CAM_MODEL', `'${layer}' → '${logits}': ${why}`, { hint: 'use Grad-CAM (GradCam), which works for any differentiable head' });
  const next = (v: string): Node => {
    const users = nodes.filter((n) => n.inputs.includes(v));
    if (users.length !== 1) throw fail(`'${v}' feeds ${users.length} nodes, expected one`);
    return users[0]!;
  };
  let v = layer;
  let n = next(v);
  while (n.opType === 'Identity') { v = n.outputs[0]!; n = next(v); }
  const gap = n.opType === 'GlobalAveragePool'
    || (n.opType === 'ReduceMean' && [...(n.attrs.axes?.value as number[] ?? [])].sort().join() === '2,3');
  if (!gap) throw fail(`expected global average pooling, found ${n.opType} ('${n.name}')`);
  v = n.outputs[0]!;
  n = next(v);
  while (PASS.has(n.opType)) { v = n.outputs[0]!; n = next(v); }
  const wName = n.inputs[1]!;
  const wt = g.initializers.get(wName);
  if (!(n.opType === 'Gemm' || n.opType === 'MatMul') || !wt || wt.dims.length !== 2 || n.inputs[0] !== v) {
    throw fail(`expected a Gemm or MatMul with a constant weight, found ${n.opType} ('${n.name}')`);
  }
  const transB = n.opType === 'Gemm' && intAttr(n, 'transB', 0) === 1;
  const alpha = n.opType === 'Gemm' ? (n.attrs.alpha?.value as number | undefined) ?? 1 : 1;
  const [r, c] = wt.dims as [number, number];
  const k = transB ? r : c;
  const ch = transB ? c : r;
  const src = wt.data as Float32Array;
  const weight = new Float32Array(k * ch);
  for (let i = 0; i < k; i++) for (let j = 0; j < ch; j++) weight[i * ch + j] = alpha * (transB ? src[i * ch + j]! : src[j * k + i]!);
  let out = n.outputs[0]!;
  let biasName = n.opType === 'Gemm' ? n.inputs[2] : undefined;
  if (n.opType === 'MatMul' && out !== logits) {
    const add = next(out);
    if (add.opType === 'Add') { biasName = add.inputs.find((i) => i !== out); out = add.outputs[0]!; }
  }
  while (out !== logits) {
    const m = next(out);
    if (m.opType !== 'Identity') throw fail(`expected the linear layer to give the logits, found ${m.opType} ('${m.name}') after it`);
    out = m.outputs[0]!;
  }
  const b = biasName ? g.initializers.get(biasName) : undefined;
  const beta = n.opType === 'Gemm' ? (n.attrs.beta?.value as number | undefined) ?? 1 : 1;
  const bias = new Float32Array(k);
  if (b) for (let i = 0; i < k; i++) bias[i] = beta * (b.data.length === 1 ? Number(b.data[0]) : Number(b.data[i]));
  return { layer, weight, bias, numClasses: k, channels: ch };
}

/**
 * Plain CAM of one image: M_k = Σ_c W[k,c] A_c over its feature map `A` `[C,h,w]` (not rectified, not normalised).
 * For a GAP→linear net, the mean of M_k over h,w plus the bias is the logit of class k.
 */
export function classActivationMap(a: Float32Array, clf: CamClassifier, k: number, h: number, w: number): Map2d {
  if (a.length !== clf.channels * h * w) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `feature map: expected [${clf.channels},${h},${w}], got ${a.length} values`);
  return weightedMap(a, clf.weight.subarray(k * clf.channels, (k + 1) * clf.channels), h, w, false);
}
