import { intAttr, windowAttrs } from '../../graph/op-attrs.js';
import { attr } from '../../graph/types.js';
import { f32, numel } from '../../tensor.js';
import type { RuleTable } from '../grad-emitter.js';
import { fitSpatial } from './conv.js';

/** Number of window elements each output position averages over (per AveragePool's count_include_pad). */
function windowCounts(sp: number[], out: number[], k: number[], s: number[], pads: number[], includePad: boolean): Float32Array {
  const r = sp.length;
  const per = sp.map((size, i) => Array.from({ length: out[i]! }, (_, o) => {
    const start = o * s[i]! - pads[i]!;
    const lo = includePad ? -pads[i]! : 0, hi = includePad ? size + pads[i + r]! : size;
    return Math.max(0, Math.min(start + k[i]!, hi) - Math.max(start, lo));
  }));
  const res = new Float32Array(numel(out));
  for (let idx = 0; idx < res.length; idx++) {
    let rem = idx, c = 1;
    for (let i = r - 1; i >= 0; i--) { c *= per[i]![rem % out[i]!]!; rem = Math.floor(rem / out[i]!); }
    res[idx] = c;
  }
  return res;
}

/**
 * Pooling. MaxPool routes dY to the arg-max (first maximum, as PyTorch) via a MaxPool with Indices, then MaxUnpool
 * when windows tile the input (kernel = stride, no padding, dilation or ceil mode; ~25 % cheaper) or ScatterElements(add).
 */
export const poolRules = {
  MaxPool: (n, [dY], g) => {
    const x = n.input(0);
    const a = windowAttrs(n.node, n.inDims(0).slice(2));
    const [, idx] = g.opN('MaxPool', [x], { ...n.node.attrs }, 2);
    const disjoint = a.kernelShape.every((k, i) => k === a.strides[i]) && a.pads.every((p) => p === 0) && a.dilations.every((d) => d === 1) && !a.ceilMode
      && intAttr(n.node, 'storage_order', 0) === 0;
    if (disjoint) {
      return [g.op('MaxUnpool', [dY!, idx!, g.shape(x)], { kernel_shape: attr.ints(a.kernelShape), strides: attr.ints(a.strides) })];
    }
    const zeros = g.reshape(g.zerosShaped(g.shape(x)), [-1]);
    const flat = g.op('ScatterElements', [zeros, g.reshape(idx!, [-1]), g.reshape(dY!, [-1])], {
      axis: attr.int(0), reduction: attr.string('add'),
    });
    return [g.reshapeLike(flat, x)];
  },
  // dX = ConvTranspose(dY / count, ones) per channel: each input element collects the windows it belongs to.
  AveragePool: (n, [dY], g) => {
    const xd = n.inDims(0), yd = n.outDims(0);
    const sp = xd.slice(2), out = yd.slice(2), r = sp.length;
    const a = windowAttrs(n.node, sp);
    const hasPad = a.pads.some((p) => p !== 0);
    const counts = windowCounts(sp, out, a.kernelShape, a.strides, a.pads, a.countIncludePad || !hasPad);
    const uniform = counts.every((c) => c === counts[0]);
    const scaled = uniform ? g.mul(dY!, g.scalar(1 / counts[0]!)) : g.div(dY!, g.constant(f32(counts, [1, 1, ...out]), 'pool_count'));
    const ones = g.constant(f32(new Float32Array(numel(a.kernelShape)).fill(1), [1, 1, ...a.kernelShape]), 'pool_ones');
    const convT = g.op('ConvTranspose', [g.reshape(scaled, [-1, 1, ...out]), ones], {
      strides: attr.ints(a.strides), pads: attr.ints([...a.pads.slice(0, r), ...Array(r).fill(0)]), kernel_shape: attr.ints(a.kernelShape),
    });
    const full = sp.map((_, i) => (out[i]! - 1) * a.strides[i]! + a.kernelShape[i]! - a.pads[i]!);
    return [g.reshapeLike(fitSpatial(g, convT, full, sp), n.input(0))];
  },
  // The arg-max over all of space: a MaxPool with the whole plane as its window, routed like MaxPool.
  GlobalMaxPool: (n, [dY], g) => {
    const x = n.input(0);
    const [, idx] = g.opN('MaxPool', [x], { kernel_shape: attr.ints(n.inDims(0).slice(2)) }, 2);
    const zeros = g.reshape(g.zerosShaped(g.shape(x)), [-1]);
    const flat = g.op('ScatterElements', [zeros, g.reshape(idx!, [-1]), g.reshape(dY!, [-1])], { axis: attr.int(0), reduction: attr.string('add') });
    return [g.reshapeLike(flat, x)];
  },
  GlobalAveragePool: (n, [dY], g) => {
    const xd = n.inDims(0);
    return [g.expandLike(g.mul(dY!, g.scalar(1 / numel(xd.slice(2)))), n.input(0))];
  },
} satisfies RuleTable;
