import { intAttr, normAxis } from '../../graph/op-attrs.js';
import type { RuleTable } from '../grad-emitter.js';

/** Activations and (log-)softmax. Sigmoid/Tanh/Softmax reuse the forward output. */
export const activationRules = {
  Relu: (n, [dY], g) => [g.where(g.greater(n.input(0), g.scalar(0)), dY!, g.zerosLike(dY!))],
  // torch.clamp semantics: the gradient passes where min ≤ x ≤ max.
  Clip: (n, [dY], g) => {
    const x = n.input(0);
    const conds: string[] = [];
    if (n.has(1)) conds.push(g.op('GreaterOrEqual', [x, n.input(1)]));
    if (n.has(2)) conds.push(g.op('LessOrEqual', [x, n.input(2)]));
    if (conds.length === 0) return [dY];
    const mask = conds.length === 2 ? g.op('And', conds) : conds[0]!;
    return [g.where(mask, dY!, g.zerosLike(dY!))];
  },
  Sigmoid: (n, [dY], g) => { const y = n.output(0); return [g.mul(dY!, g.mul(y, g.oneMinus(y)))]; },
  Tanh: (n, [dY], g) => { const y = n.output(0); return [g.mul(dY!, g.oneMinus(g.mul(y, y)))]; },
  Softplus: (n, [dY], g) => [g.mul(dY!, g.op('Sigmoid', [n.input(0)]))],
  LeakyRelu: (n, [dY], g) => {
    const alpha = n.node.attrs.alpha?.type === 'float' ? n.node.attrs.alpha.value : 0.01;
    return [g.mul(dY!, g.where(g.greater(n.input(0), g.scalar(0)), g.scalar(1), g.scalar(alpha)))];
  },
  // dX = y·(dY − Σ dY·y) over the softmax axis (opset 13: one axis, default −1).
  Softmax: (n, [dY], g) => {
    const y = n.output(0);
    const axis = normAxis(intAttr(n.node, 'axis', -1), n.inDims(0).length);
    return [g.mul(y, g.sub(dY!, g.reduceSum(g.mul(dY!, y), [axis], true)))];
  },
  // dX = dY − exp(y)·Σ dY
  LogSoftmax: (n, [dY], g) => {
    const axis = normAxis(intAttr(n.node, 'axis', -1), n.inDims(0).length);
    return [g.sub(dY!, g.mul(g.op('Exp', [n.output(0)]), g.reduceSum(dY!, [axis], true)))];
  },
} satisfies RuleTable;

