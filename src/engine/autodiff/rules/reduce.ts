import { intAttr, intsAttr, normAxis } from '../../graph/op-attrs.js';
import { numel } from '../../tensor.js';
import type { NodeView, GradEmitter, RuleTable } from '../grad-emitter.js';

/** The reduced axes of a Reduce* node (attribute before opset 18 for ReduceMean, input from opset 13 for ReduceSum). */
function reducedAxes(n: NodeView, g: GradEmitter): number[] {
  const rank = n.inDims(0).length;
  let axes: number[];
  if (n.has(1)) {
    const v = g.values(n.input(1));
    if (!v) throw new Error(`${n.opType} '${n.name}': axes input is not a static constant`);
    axes = v;
  } else axes = intsAttr(n.node, 'axes', []);
  if (axes.length === 0) return intAttr(n.node, 'noop_with_empty_axes', 0) ? [] : [...Array(rank).keys()];
  return axes.map((a) => normAxis(a, rank));
}

/** Broadcasts dY (reduced dims) back over the reduced axes of X. */
function spread(n: NodeView, g: GradEmitter, dY: string, axes: number[]): string {
  const xd = n.inDims(0);
  const keep = xd.map((d, i) => (axes.includes(i) ? 1 : d));
  return g.expandTo(g.reshape(dY, keep), xd);
}

/** Reductions: the gradient spreads back over the reduced axes (divided by their size for the mean). */
export const reduceRules = {
  ReduceSum: (n, [dY], g) => [spread(n, g, dY!, reducedAxes(n, g))],
  ReduceMean: (n, [dY], g) => {
    const axes = reducedAxes(n, g);
    const count = numel(axes.map((a) => n.inDims(0)[a]!));
    return [spread(n, g, g.mul(dY!, g.scalar(1 / count)), axes)];
  },
} satisfies RuleTable;
