import { windowAttrs } from '../../graph/op-attrs.js';
import { attr } from '../../graph/types.js';
import type { GradEmitter, RuleTable } from '../grad-emitter.js';

/** Slices (or zero-pads at the end) the spatial axes of `v` (dims `have`) to `want`. */
export function fitSpatial(g: GradEmitter, v: string, have: readonly number[], want: readonly number[]): string {
  const r = want.length;
  const axes = [...Array(r).keys()].map((i) => i + 2);
  let out = v;
  if (have.some((h, i) => h > want[i]!)) out = g.slice(out, Array(r).fill(0), want.map((w, i) => Math.min(w, have[i]!)), axes);
  if (have.some((h, i) => h < want[i]!)) {
    const pads = [0, 0, ...Array(r).fill(0), 0, 0, ...want.map((w, i) => Math.max(0, w - have[i]!))];
    out = g.pad(out, pads);
  }
  return out;
}

/**
 * Convolution. dX is a ConvTranspose of dY with the same weight (begin pads only, then sliced or padded to X's
 * size, so no output_padding is needed for any stride); dW is a grouped convolution of X (batch and channel axes
 * swapped) with dY as the kernel, stride and dilation exchanged; dB sums dY over batch and space.
 */
export const convRules = {
  Conv: (n, [dY], g) => {
    const [x, w] = [n.input(0), n.input(1)];
    const xd = n.inDims(0), wd = n.inDims(1), yd = n.outDims(0);
    const sp = xd.slice(2), r = sp.length;
    const a = windowAttrs(n.node, sp, wd.slice(2));
    const C = xd[1]!, G = a.group, Cg = C / G;

    // dX
    const convT = g.op('ConvTranspose', [dY!, w], {
      strides: attr.ints(a.strides), dilations: attr.ints(a.dilations), group: attr.int(G),
      pads: attr.ints([...a.pads.slice(0, r), ...Array(r).fill(0)]), kernel_shape: attr.ints(a.kernelShape),
    });
    const full = sp.map((_, i) => (yd[i + 2]! - 1) * a.strides[i]! + (a.kernelShape[i]! - 1) * a.dilations[i]! + 1 - a.pads[i]!);
    const dx = fitSpatial(g, convT, full, sp);

    // dW: out[c', m, k] = Σ_{n,o} Xr[c', j·N + n, k·d + o·s − p] · dY[n, m, o], j = group of m
    const spAxes = [...Array(r).keys()].map((i) => i + 2);
    const swap01 = [1, 0, ...spAxes];
    const xr = G === 1
      ? g.transpose(x, swap01)
      : g.reshape(g.transpose(g.reshape(x, [0, G, Cg, ...sp]), [2, 1, 0, ...spAxes.map((i) => i + 1)]), [Cg, -1, ...sp]);
    const dyr = g.transpose(dY!, swap01);
    const dwc = g.op('Conv', [xr, dyr], {
      strides: attr.ints(a.dilations), dilations: attr.ints(a.strides), group: attr.int(G),
      pads: attr.ints(a.pads), kernel_shape: attr.ints(yd.slice(2)),
    });
    const kFull = sp.map((s, i) => Math.floor((s + a.pads[i]! + a.pads[i + r]! - ((yd[i + 2]! - 1) * a.strides[i]! + 1)) / a.dilations[i]!) + 1);
    const dwSliced = fitSpatial(g, dwc, kFull, wd.slice(2));
    const dw = g.transpose(dwSliced, swap01);

    const db = n.has(2) ? g.reduceSum(dY!, [0, ...spAxes], false) : undefined;
    return [dx, dw, db];
  },
} satisfies RuleTable;
