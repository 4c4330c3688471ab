import { intAttr, intsAttr, normAxis } from '../../graph/op-attrs.js';
import { attr } from '../../graph/types.js';
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
  const keepdims = intAttr(n.node, 'keepdims', 1) === 1;
  const kept = keepdims || axes.length === 0 ? dY : g.op('Unsqueeze', [dY, g.ints(axes)]);
  return g.expandLike(kept, n.input(0));
}

/** Reductions: the gradient spreads back over the reduced axes (divided by their size for the mean). */
export const reduceRules = {
  ReduceSum: (n, [dY], g) => [spread(n, g, dY!, reducedAxes(n, g))],
  ReduceMean: (n, [dY], g) => {
    const axes = reducedAxes(n, g);
    // Over the batch axis the count is taken at run time (Size(X)/Size(Y)), so the graph serves any batch size.
    const scaled = axes.includes(0)
      ? g.div(dY!, g.op('Cast', [g.div(g.op('Size', [n.input(0)]), g.op('Size', [n.output(0)]))], { to: attr.int(1) }))
      : g.mul(dY!, g.scalar(1 / numel(axes.map((a) => n.inDims(0)[a]!))));
    return [spread(n, g, scaled, axes)];
  },
} satisfies RuleTable;
