import { MedclassError } from '../../../errors.js';
import { intAttr, intsAttr, normAxis, stringAttr } from '../../graph/op-attrs.js';
import { attr } from '../../graph/types.js';
import { i64 } from '../../tensor.js';
import type { GradEmitter, NodeView, RuleTable } from '../grad-emitter.js';

/** Reshapes dY back to the input's dims (Reshape, Flatten, Squeeze, Unsqueeze only move dims around). */
const backToInput = (n: NodeView, [dY]: readonly string[], g: GradEmitter) => [g.reshapeLike(dY!, n.input(0))];

function staticInput(n: NodeView, g: GradEmitter, i: number, what: string): number[] {
  const v = g.values(n.input(i));
  if (!v) throw new MedclassError('MC_ENGINE_UNSUPPORTED_OP', `${n.opType} '${n.name}': ${what} must be a static constant to differentiate`);
  return v;
}

/** Shape and indexing ops: each gradient is the inverse data movement, zeros where nothing was read. */
export const shapeRules = {
  Reshape: backToInput, Flatten: backToInput, Squeeze: backToInput, Unsqueeze: backToInput,
  Transpose: (n, [dY], g) => {
    const rank = n.inDims(0).length;
    const perm = intsAttr(n.node, 'perm', [...Array(rank).keys()].reverse());
    const inv = Array<number>(rank);
    perm.forEach((p, i) => { inv[p] = i; });
    return [g.transpose(dY!, inv)];
  },
  Expand: (n, [dY], g) => [g.unbroadcast(dY!, n.outDims(0), n.inDims(0)), undefined],
  // Tile: view dY as [r0, d0, r1, d1, …] and sum over the repeat axes.
  Tile: (n, [dY], g) => {
    const xd = n.inDims(0);
    const reps = staticInput(n, g, 1, 'repeats');
    const split = g.reshape(dY!, xd.flatMap((d, i) => [reps[i]!, d]));
    return [g.reduceSum(split, xd.map((_, i) => 2 * i), false), undefined];
  },
  Concat: (n, [dY], g) => {
    const rank = n.outDims(0).length;
    const axis = normAxis(intAttr(n.node, 'axis', 0), rank);
    let start = 0;
    return n.node.inputs.map((_, i) => {
      const len = n.inDims(i)[axis]!;
      const s = g.slice(dY!, [start], [start + len], [axis]);
      start += len;
      return s;
    });
  },
  Split: (n, dYs, g) => {
    const axis = normAxis(intAttr(n.node, 'axis', 0), n.inDims(0).length);
    const parts = n.node.outputs.map((o, i) => (dYs[i] ? dYs[i]! : g.zerosShaped(g.shape(o))));
    return [parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: attr.int(axis) }), undefined];
  },
  // Zero-pad dY back to the input's extent; for steps ≠ 1, first interleave s−1 zeros after each element along
  // that axis (a negative step reverses dY first and starts from the lowest index read).
  Slice: (n, [dY], g) => {
    const xd = n.inDims(0), yd = n.outDims(0), rank = xd.length;
    const starts = staticInput(n, g, 1, 'starts');
    const axes = n.has(3) ? staticInput(n, g, 3, 'axes') : starts.map((_, i) => i);
    const steps = n.has(4) ? staticInput(n, g, 4, 'steps') : starts.map(() => 1);
    const pads = Array<number>(2 * rank).fill(0);
    const cur = [...yd];
    let v = dY!;
    axes.forEach((a, i) => {
      const ax = normAxis(a, rank), d = xd[ax]!, step = steps[i]!, len = yd[ax]!;
      const raw = starts[i]! < 0 ? starts[i]! + d : starts[i]!;
      const st = step > 0 ? Math.min(Math.max(raw, 0), d) : Math.min(Math.max(raw, -1), d - 1);
      if (len === 0) { pads[ax] = d; cur[ax] = 0; return; }
      let low = st, s = step, span = len;
      if (step < 0) {
        v = g.op('Slice', [v, g.ints([-1]), g.ints([-(2 ** 62)]), g.ints([ax]), g.ints([-1])]);
        low = st + (len - 1) * step;
        s = -step;
      }
      if (s > 1 && len > 1) {
        const u = g.pad(g.op('Unsqueeze', [v, g.ints([ax + 1])]), [...Array(rank + 1).fill(0), ...Array(rank + 1).fill(0).map((_, j) => (j === ax + 1 ? s - 1 : 0))]);
        v = g.reshape(u, cur.map((c, j) => (j < ax ? 0 : j === ax ? -1 : c)));
        span = (len - 1) * s + 1;
        v = g.slice(v, [0], [span], [ax]);
      }
      cur[ax] = span;
      pads[ax] = low;
      pads[ax + rank] = d - low - span;
    });
    return [g.pad(v, pads)];
  },
  Pad: (n, [dY], g) => {
    if (stringAttr(n.node, 'mode', 'constant') !== 'constant') {
      throw new MedclassError('MC_ENGINE_UNSUPPORTED_OP', `Pad '${n.name}': only mode 'constant' is differentiable`);
    }
    const xd = n.inDims(0), rank = xd.length;
    const pads = n.has(1) ? staticInput(n, g, 1, 'pads') : intsAttr(n.node, 'pads', []);
    if (pads.some((p) => p < 0)) throw new MedclassError('MC_ENGINE_UNSUPPORTED_OP', `Pad '${n.name}': negative pads are not differentiable`);
    // ends counted from the end (−pad), or "to the end" where nothing was padded, so any batch size works.
    const ends = pads.slice(rank).map((p) => (p > 0 ? -p : Number.MAX_SAFE_INTEGER));
    return [g.slice(dY!, pads.slice(0, rank), ends, [...Array(rank).keys()])];
  },
  // Scatter-add dY into zeros along `axis` (repeated indices accumulate).
  Gather: (n, [dY], g) => {
    const xd = n.inDims(0), id = n.inDims(1), rank = xd.length, q = id.length;
    const axis = normAxis(intAttr(n.node, 'axis', 0), rank);
    const D = xd[axis]!;
    let idx = g.op('Cast', [n.input(1)], { to: attr.int(7) });
    idx = g.where(g.op('Less', [idx, g.constant(i64([0], []))]), g.add(idx, g.constant(i64([D], []))), idx);
    const yRank = rank - 1 + q;
    const permUp = [...Array(q).keys()].map((i) => i + axis);
    const rest = [...Array(yRank).keys()].filter((i) => i < axis || i >= axis + q);
    const updates = q === 0 && axis === 0 ? dY! : g.transpose(dY!, [...permUp, ...rest]);
    const movedShape = g.op('Gather', [g.shape(n.input(0)), g.ints([axis, ...[...Array(rank).keys()].filter((i) => i !== axis)])], { axis: attr.int(0) });
    const scat = g.op('ScatterND', [g.zerosShaped(movedShape), g.op('Unsqueeze', [idx, g.ints([-1])]), updates], { reduction: attr.string('add') });
    const back = axis === 0 ? scat : g.transpose(scat, [...Array(axis).keys()].map((i) => i + 1).concat([0], [...Array(rank - axis - 1).keys()].map((i) => i + axis + 1)));
    return [back, undefined];
  },
} satisfies RuleTable;
