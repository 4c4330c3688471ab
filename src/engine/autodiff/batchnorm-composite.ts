import { intAttr, intsAttr } from '../graph/op-attrs.js';
import type { Node } from '../graph/types.js';
import { attr } from '../graph/types.js';
import type { GradEmitter } from './grad-emitter.js';

/**
 * A batch-statistics normalisation as the layer builder decomposes it (train mode):
 * mean = ReduceMean(x), c = x − mean, var = ReduceMean(c·c), sd = Sqrt(var + ε), factor = γ' / sd, t = c·factor,
 * and y = t + β' when t feeds nothing but one Add.
 */
export interface BatchNormMatch {
  /** Index (in the forward node list) of the node the closed-form rule replaces: the `t + β'` Add, else `t = c · factor`. */
  at: number;
  x: string;
  centred: string;
  /** var + ε. */
  varEps: string;
  sd: string;
  factor: string;
  /** The numerator of `factor` (γ reshaped to broadcast), which receives dγ'. */
  gamma: string;
  /** The other input of the `t + β'` Add (β reshaped to broadcast), which receives dβ'; absent without the Add. */
  beta?: string;
  axes: number[];
}

/**
 * Finds the builder's batch-norm decompositions whose inner values feed nothing but the pattern itself (so no
 * other gradient would flow into them), keyed by the index of the node they end in: the bias Add when `perChannel`
 * accepts its other input (broadcast over the normalised axes, as `factor`), else the final Mul.
 */
export function matchBatchNorms(nodes: readonly Node[], perChannel: (beta: string, factor: string) => boolean = () => false): Map<number, BatchNormMatch> {
  const producer = new Map<string, Node>();
  const uses = new Map<string, number>();
  // value → the Add that adds another value to it (its index and that other input)
  const biasAdds = new Map<string, { at: number; beta: string }>();
  nodes.forEach((n, at) => {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
    if (n.opType === 'Add' && n.domain === '' && n.inputs.length === 2 && n.inputs[0] !== n.inputs[1]) {
      biasAdds.set(n.inputs[0]!, { at, beta: n.inputs[1]! });
      biasAdds.set(n.inputs[1]!, { at, beta: n.inputs[0]! });
    }
  });
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
      const m: BatchNormMatch = { at, x: sub.inputs[0]!, centred, varEps: add.outputs[0]!, sd: sqrt.outputs[0]!, factor, gamma: div.inputs[0]!, axes };
      const bias = uses.get(t.outputs[0]!) === 1 ? biasAdds.get(t.outputs[0]!) : undefined;
      if (bias && perChannel(bias.beta, factor)) out.set(bias.at, { ...m, at: bias.at, beta: bias.beta });
      else out.set(at, m);
      return;
    }
  });
  return out;
}

/**
 * The closed-form gradient of a matched batch norm for the upstream gradient `dy` of its last node (t = c·factor, or
 * y = t + β'): with x̂ = c/sd, dx = factor·(dy − mean(dy) − c·mean(dy·c)/(var + ε)), dγ' = Σ(dy·c)/sd and
 * dβ' = Σ dy over the normalised axes. Two reductions (Σ dy, Σ dy·c; the means divide them by the count, taken at
 * run time so one graph serves every batch size) and five elementwise passes. Returns [dx, dγ', dβ' (with `beta`)].
 */
export function batchNormGrad(g: GradEmitter, m: BatchNormMatch, dy: string): [dx: string, dGamma: string, dBeta?: string] {
  const sumDy = g.reduceSum(dy, m.axes, true);
  const prod = g.mul(dy, m.centred);
  const sumProd = g.reduceSum(prod, m.axes, true);
  const count = g.op('Cast', [g.div(g.op('Size', [dy]), g.op('Size', [sumDy]))], { to: attr.int(g.dtype(dy) === 'float64' ? 11 : 1) });
  const coef = g.div(g.mul(m.factor, g.div(sumProd, count)), m.varEps);
  const dx = g.sub(g.mul(g.sub(dy, g.div(sumDy, count)), m.factor), g.mul(m.centred, coef));
  const dGamma = g.div(sumProd, m.sd);
  return m.beta === undefined ? [dx, dGamma] : [dx, dGamma, sumDy];
}
