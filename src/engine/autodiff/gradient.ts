import { MedclassError } from '../../errors.js';
import { inferShapes, type ShapeMap } from '../graph/shape-inference.js';
import type { Graph, Node } from '../graph/types.js';
import { f32 } from '../tensor.js';
import { batchNormGrad, matchBatchNorms, type BatchNormMatch } from './batchnorm-composite.js';
import { GradEmitter, NodeView } from './grad-emitter.js';
import { BROADCASTING, NON_DIFFERENTIABLE, RULES } from './rules/index.js';

function unsupported(node: Node): MedclassError {
  return new MedclassError('MC_ENGINE_UNSUPPORTED_OP', `no gradient rule for ${node.domain ? `${node.domain}.` : ''}${node.opType} (node '${node.name}')`, {
    hint: 'freeze the parameters before this node, or add a rule in src/engine/autodiff/rules/',
  });
}

/** Options for `differentiate`. */
export interface DifferentiateOptions {
  /** Name of the value to differentiate; a non-scalar value means the gradient of its sum. */
  loss: string;
  /** Values (graph inputs, initializers or intermediate values) to take gradients with respect to. */
  wrt: readonly string[];
  /** Concrete dims for graph inputs with symbolic dims (e.g. the batch size). */
  inputDims?: Record<string, readonly number[]>;
  /** Precomputed shapes (skips inference). */
  shapes?: ShapeMap;
  /** Prefix of emitted node and value names (default 'grad'). */
  prefix?: string;
  /**
   * Differentiate the layer builder's batch-statistics normalisation (`matchBatchNorms`) by its closed form instead
   * of op by op (default true).
   */
  closedFormBatchNorm?: boolean;
}

const isFloat = (t: string | undefined) => t === 'float32' || t === 'float64';
/** Unknown dtype (an op shape inference does not cover) counts as float, so a missing rule is reported, not skipped. */
const maybeFloat = (t: string | undefined) => t === undefined || isFloat(t);

/**
 * Reverse-mode autodiff: appends the gradient graph to `graph` (standard opset-17 ops only) and returns, for each
 * name in `wrt`, the value holding d(loss)/d(wrt). Walks the nodes between `wrt` and `loss` in reverse topological
 * order, sums contributions where branches meet, un-broadcasts for broadcasting ops, and throws
 * `MC_ENGINE_UNSUPPORTED_OP` naming the op and node when a rule is missing. Usable for Grad-CAM too (gradient of
 * one logit with respect to a feature map).
 *
 * @example
 * const grads = differentiate(graph, { loss: 'loss', wrt: ['fc.weight'], inputDims: { x: [8, 20] } });
 * graph.outputs.push({ name: grads.get('fc.weight')!, dtype: 'float32', dims: [3, 20] });
 */
export function differentiate(graph: Graph, opts: DifferentiateOptions): Map<string, string> {
  const shapes = opts.shapes ?? inferShapes(graph, opts.inputDims);
  const g = new GradEmitter(graph, shapes, opts.prefix ?? 'grad');
  const forward = graph.nodes.slice();

  // Values that depend on a wrt value through float tensors …
  const needs = new Set<string>(opts.wrt);
  for (const node of forward) {
    if (node.inputs.some((i) => needs.has(i))) for (const o of node.outputs) if (maybeFloat(shapes.get(o)?.dtype)) needs.add(o);
  }
  // … and nodes the loss depends on.
  const feeds = new Set<string>([opts.loss]);
  const active: boolean[] = Array(forward.length).fill(false);
  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k]!;
    if (!node.outputs.some((o) => feeds.has(o))) continue;
    for (const i of node.inputs) if (i) feeds.add(i);
    active[k] = node.inputs.some((i) => needs.has(i));
  }

  // Fail early, naming the op, before any rule asks for shapes the unsupported op left unknown.
  forward.forEach((node, k) => {
    if (active[k] && !NON_DIFFERENTIABLE.has(node.opType) && !((node.domain === '' || node.domain === 'ai.onnx') && RULES[node.opType])) throw unsupported(node);
  });

  const lossInfo = shapes.get(opts.loss);
  if (!lossInfo) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `loss '${opts.loss}' is not a value of graph '${graph.name}' with a known shape`);

  const grads = new Map<string, string[]>();
  const push = (name: string, v: string) => { const l = grads.get(name); if (l) l.push(v); else grads.set(name, [v]); };
  const take = (name: string): string | undefined => {
    const l = grads.get(name);
    if (!l || l.length === 0) return undefined;
    const s = g.sum(l);
    grads.set(name, [s]);
    return s;
  };
  push(opts.loss, g.constant(f32(new Float32Array(lossInfo.dims.reduce((a, b) => a * b, 1)).fill(1), lossInfo.dims), 'seed'));

  // β' of a batch norm's bias Add must broadcast over the normalised axes as factor does (dims equal, leading 1s aside).
  const perChannel = (beta: string, factor: string) => {
    const [b, f] = [shapes.get(beta)?.dims, shapes.get(factor)?.dims];
    if (!b || !f || b.length > f.length) return false;
    return f.every((d, i) => (i < f.length - b.length ? d === 1 : b[i - (f.length - b.length)] === d));
  };
  const batchNorms = opts.closedFormBatchNorm === false ? new Map<number, BatchNormMatch>() : matchBatchNorms(forward, perChannel);
  for (let k = forward.length - 1; k >= 0; k--) {
    if (!active[k]) continue;
    const node = forward[k]!;
    const dYs = node.outputs.map((o) => take(o) ?? '');
    if (dYs.every((d) => d === '')) continue;
    const bn = batchNorms.get(k);
    if (bn) {
      g.origin = 'BatchNorm (closed form)';
      const [dx, dGamma, dBeta] = batchNormGrad(g, bn, dYs[0]!);
      if (needs.has(bn.x)) push(bn.x, dx);
      if (needs.has(bn.gamma)) push(bn.gamma, g.unbroadcast(dGamma, g.dims(bn.factor), g.dims(bn.gamma)));
      if (dBeta && bn.beta && needs.has(bn.beta)) push(bn.beta, g.unbroadcast(dBeta, g.dims(bn.factor), g.dims(bn.beta)));
      g.origin = 'sum/unbroadcast';
      continue;
    }
    if (NON_DIFFERENTIABLE.has(node.opType)) continue;
    const rule = node.domain === '' || node.domain === 'ai.onnx' ? RULES[node.opType] : undefined;
    if (!rule) throw unsupported(node);
    const view = new NodeView(node, g);
    g.origin = node.opType;
    const dXs = rule(view, dYs, g);
    g.origin = 'sum/unbroadcast';
    node.inputs.forEach((input, i) => {
      const dx = dXs[i];
      if (!dx || !input || !needs.has(input) || !isFloat(shapes.get(input)?.dtype)) return;
      const fixed = BROADCASTING.has(node.opType) ? g.unbroadcast(dx, view.outDims(0), view.inDims(i)) : dx;
      push(input, fixed);
    });
  }

  const result = new Map<string, string>();
  for (const w of opts.wrt) {
    const info = shapes.get(w);
    if (!info) throw new MedclassError('MC_ENGINE_UNKNOWN_PARAM', `'${w}' is not a value of graph '${graph.name}'`);
    result.set(w, take(w) ?? g.zeros(info.dims));
  }
  ORIGINS.set(graph, g.origins);
  return result;
}

const ORIGINS = new WeakMap<Graph, ReadonlyMap<string, string>>();

/**
 * For a graph `differentiate` extended: gradient node name → the op type of the forward node whose rule emitted it
 * (refined by the rule, e.g. 'Conv dW im2col'; 'sum/unbroadcast' for the driver's own nodes). Empty for other graphs.
 */
export function gradientOrigins(graph: Graph): ReadonlyMap<string, string> {
  return ORIGINS.get(graph) ?? new Map();
}
