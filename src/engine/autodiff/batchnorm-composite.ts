import { intAttr, intsAttr } from '../graph/op-attrs.js';
import type { Node } from '../graph/types.js';
import type { GradEmitter } from './grad-emitter.js';

/**
 * A batch-statistics normalisation as the layer builder decomposes it (train mode):
 * mean = ReduceMean(x), c = x − mean, var = ReduceMean(c·c), sd = Sqrt(var + ε), factor = γ' / sd, t = c·factor.
 */
export interface BatchNormMatch {
  /** Index (in the forward node list) of the `t = c · factor` Mul the closed-form rule replaces. */
  at: number;
  x: string;
  centred: string;
  /** var + ε. */
  varEps: string;
  sd: string;
  factor: string;
  /** The numerator of `factor` (γ reshaped to broadcast), which receives dγ'. */
  gamma: string;
  axes: number[];
}

/**
 * Finds the builder's batch-norm decompositions whose inner values feed nothing but the pattern itself (so no
 * other gradient would flow into them), keyed by the index of their final Mul.
 */
export function matchBatchNorms(nodes: readonly Node[]): Map<number, BatchNormMatch> {
  const producer = new Map<string, Node>();
  const uses = new Map<string, number>();
  for (const n of nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  const isOp = (v: string | undefined, op: string) => (v !== undefined && producer.get(v)?.opType === op && producer.get(v)!.domain === '' ? producer.get(v)! : undefined);
  const out = new Map<number, BatchNormMatch>();
  nodes.forEach((t, at) => {
    if (t.opType !== 'Mul' || t.domain !== '') return;
    for (const [ci, fi] of [[0, 1], [1, 0]] as const) {
      const centred = t.inputs[ci]!, factor = t.inputs[fi]!;
      const sub = isOp(centred, 'Sub'), div = isOp(factor, 'Div');
      const mean = isOp(sub?.inputs[1], 'ReduceMean');
      if (!sub || !div || !mean || mean.inputs[0] !== sub.inputs[0]) continue;
      const sqrt = isOp(div.inputs[1], 'Sqrt');
      const add = isOp(sqrt?.inputs[0], 'Add');
      const varNode = add && (isOp(add.inputs[0], 'ReduceMean') ?? isOp(add.inputs[1], 'ReduceMean'));
      const sq = isOp(varNode?.inputs[0], 'Mul');
      if (!sqrt || !add || !varNode || !sq || sq.inputs[0] !== centred || sq.inputs[1] !== centred) continue;
      const axes = intsAttr(mean, 'axes', []);
      if (axes.length === 0 || intsAttr(varNode, 'axes', []).join() !== axes.join() || intAttr(mean, 'keepdims', 1) !== 1 || intAttr(varNode, 'keepdims', 1) !== 1) continue;
      // c feeds t and c·c; var + ε the Sqrt (and nothing on the loss path); sd the Div; factor only t.
      if (uses.get(centred) !== 3 || uses.get(sqrt.outputs[0]!) !== 1 || uses.get(factor) !== 1 || uses.get(sq.outputs[0]!) !== 1) continue;
      out.set(at, { at, x: sub.inputs[0]!, centred, varEps: add.outputs[0]!, sd: sqrt.outputs[0]!, factor, gamma: div.inputs[0]!, axes });
      return;
    }
  });
  return out;
}

/**
 * The closed-form gradient of a matched batch norm for upstream `dt` (of t = c·factor): with x̂ = c/sd,
 * dx = factor·(dt − mean(dt) − c·mean(dt·c)/(var + ε)) and dγ' = Σ(dt·c)/sd over the normalised axes: seven passes
 * over the activations instead of the autodiff of the decomposition's nine forward ops. Returns [dx, dγ'].
 */
export function batchNormGrad(g: GradEmitter, m: BatchNormMatch, dt: string): [dx: string, dGamma: string] {
  const prod = g.mul(dt, m.centred);
  const meanDt = g.reduceMean(dt, m.axes);
  const coef = g.div(g.mul(m.factor, g.reduceMean(prod, m.axes)), m.varEps);
  const dx = g.sub(g.mul(g.sub(dt, meanDt), m.factor), g.mul(m.centred, coef));
  return [dx, g.div(g.reduceSum(prod, m.axes, true), m.sd)];
}
