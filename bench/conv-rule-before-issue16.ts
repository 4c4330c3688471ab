// The Conv gradient rule as it was before issue 16 (src/engine/autodiff/rules/conv.ts at a5ebd9f), for A/B runs:
// AB_OLD_RULES=./conv-rule-before-issue16.ts node --import tsx bench/engine-step-ab.ts resnet18-28 128 2 3 old,nchwc
import { windowAttrs } from '../src/engine/graph/op-attrs.js';
import { attr } from '../src/engine/graph/types.js';
import type { GradEmitter, RuleTable } from '../src/engine/autodiff/grad-emitter.js';
import { convWeightGradIm2col } from './conv-dw-variants.js'; // the same emitter as then

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

/** Pads the spatial axes of an NCHW value (begin pads, then end pads), or returns it when all are 0. */
function padSpatial(g: GradEmitter, v: string, pads: readonly number[]): string {
  const r = pads.length / 2;
  return pads.some((p) => p !== 0) ? g.pad(v, [0, 0, ...pads.slice(0, r), 0, 0, ...pads.slice(r)]) : v;
}

/** Slices of `xt` (spatial axes 2, 3) that each kernel offset of a 2-D convolution reads, one per (kh, kw). */
function kernelSlices(g: GradEmitter, xt: string, kernel: readonly number[], out: readonly number[], strides: readonly number[], dilations: readonly number[]): string[] {
  const slices: string[] = [];
  for (let kh = 0; kh < kernel[0]!; kh++) {
    for (let kw = 0; kw < kernel[1]!; kw++) {
      const starts = [kh * dilations[0]!, kw * dilations[1]!];
      const ends = starts.map((st, i) => st + (out[i]! - 1) * strides[i]! + 1);
      const whole = strides.every((s) => s === 1);
      slices.push(whole && kernel[0] === 1 && kernel[1] === 1 ? xt
        : g.op('Slice', [xt, g.ints(starts), g.ints(ends), g.ints([2, 3]), g.ints(strides)]));
    }
  }
  return slices;
}

/**
 * Output positions (Ho·Wo) from which a stride-1 depthwise dW is computed by `depthwiseWeightGradWindows` instead of
 * the grouped Conv with dY as the kernel. `bench/engine-depthwise-grad.bench.ts` on MobileNetV2's shapes (batch 32,
 * 1 thread): 28×28 45–58 → 29–44 ms, 14×14 23–37 → 16.5–29.5 ms, 7×7 a tie (≈ 14–15 ms each); at stride 2 the
 * strided windows cost more than they save (10–13 → 17–20 ms), so strided convs keep the grouped Conv.
 */
const DEPTHWISE_WINDOWS_MIN_POSITIONS = 100;

/**
 * dW of a stride-1 2-D depthwise convolution (group = C, one filter per channel), one kernel offset at a time: the
 * offset's window of the padded X times dY, summed over space (a contiguous reduction, [N, C, 1, 1]), the offsets
 * concatenated and summed over the batch. Onnxruntime runs the grouped Conv with a dY kernel as an im2col whose rows
 * are only kernel-width long, which costs more than these KH·KW passes over the activations once Ho·Wo is large.
 */
function depthwiseWeightGradWindows(g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>): string {
  const [c, , kh, kw] = wd as [number, number, number, number];
  const windows = kernelSlices(g, padSpatial(g, x, a.pads), [kh, kw], yd.slice(2), a.strides, a.dilations);
  const parts = windows.map((win) => g.reduceSum(g.mul(win, dY), [2, 3], true));
  const cat = parts.length === 1 ? parts[0]! : g.op('Concat', parts, { axis: attr.int(2) });
  return g.reshape(g.reduceSum(cat, [0], false), [c, 1, kh, kw]);
}

/**
 * dX of a stride-1 2-D convolution (group 1 or depthwise) as a forward Conv of dY with the spatially flipped,
 * in/out-swapped weight; undefined when that does not apply (then ConvTranspose is used).
 */
function convInputGradFlipped(g: GradEmitter, dY: string, w: string, wd: readonly number[], G: number, a: ReturnType<typeof windowAttrs>): string | undefined {
  const depthwise = G > 1 && wd[1] === 1 && wd[0] === G;
  if (wd.length !== 4 || a.strides.some((s) => s !== 1) || (G !== 1 && !depthwise)) return undefined;
  const ext = [0, 1].map((i) => a.dilations[i]! * (wd[i + 2]! - 1));
  const pads = [ext[0]! - a.pads[0]!, ext[1]! - a.pads[1]!, ext[0]! - a.pads[2]!, ext[1]! - a.pads[3]!];
  if (pads.some((p) => p < 0)) return undefined;
  const big = -(2 ** 31);
  const flipped = g.op('Slice', [w, g.ints([-1, -1]), g.ints([big, big]), g.ints([2, 3]), g.ints([-1, -1])]);
  const wt = depthwise ? flipped : g.transpose(flipped, [1, 0, 2, 3]);
  return g.op('Conv', [dY, wt], { dilations: attr.ints(a.dilations), group: attr.int(G), pads: attr.ints(pads), kernel_shape: attr.ints(wd.slice(2)) });
}

/**
 * Convolution. dX is a forward Conv with the flipped weight when the stride is 1, else a ConvTranspose of dY with
 * the same weight (begin pads only, then sliced or padded to X's size, so no output_padding is needed for any
 * stride); dW is one Gemm over im2col windows (2-D, group 1), per-offset windows of X times dY (2-D depthwise,
 * stride 1, at least DEPTHWISE_WINDOWS_MIN_POSITIONS output positions), or otherwise a grouped convolution of X
 * (batch and channel axes swapped) with dY as the kernel, stride and dilation exchanged;
 * dB sums dY over batch and space.
 */
export const convRules = {
  Conv: (n, [dY], g) => {
    const [x, w] = [n.input(0), n.input(1)];
    const xd = n.inDims(0), wd = n.inDims(1), yd = n.outDims(0);
    const sp = xd.slice(2), r = sp.length;
    const a = windowAttrs(n.node, sp, wd.slice(2));
    const C = xd[1]!, G = a.group, Cg = C / G;
    const spAxes = [...Array(r).keys()].map((i) => i + 2);
    const db = n.has(2) ? g.part('dB', () => g.reduceSum(dY!, [0, ...spAxes], false)) : undefined;

    // dX
    let dx = g.part('dX flipped', () => convInputGradFlipped(g, dY!, w, wd, G, a));
    if (!dx) dx = g.part('dX ConvTranspose', () => {
      const convT = g.op('ConvTranspose', [dY!, w], {
        strides: attr.ints(a.strides), dilations: attr.ints(a.dilations), group: attr.int(G),
        pads: attr.ints([...a.pads.slice(0, r), ...Array(r).fill(0)]), kernel_shape: attr.ints(a.kernelShape),
      });
      const full = sp.map((_, i) => (yd[i + 2]! - 1) * a.strides[i]! + (a.kernelShape[i]! - 1) * a.dilations[i]! + 1 - a.pads[i]!);
      return fitSpatial(g, convT, full, sp);
    });

    if (r === 2 && G === 1) return [dx, g.part('dW im2col', () => convWeightGradIm2col(g, x, dY!, wd, yd, a)), db];
    const depthwise = r === 2 && Cg === 1 && wd[0] === G;
    if (depthwise && a.strides.every((s) => s === 1) && yd[2]! * yd[3]! >= DEPTHWISE_WINDOWS_MIN_POSITIONS) {
      return [dx, g.part('dW depthwise windows', () => depthwiseWeightGradWindows(g, x, dY!, wd, yd, a)), db];
    }
    g.origin += ' dW grouped Conv';

    // dW: out[c', m, k] = Σ_{n,o} Xr[c', j·N + n, k·d + o·s − p] · dY[n, m, o], j = group of m. For depthwise
    // (Cg = 1) this is X as [1, C·N, H, W] with dY as C kernels of N channels: one im2col + GEMV per channel, far
    // cheaper than a strided slice, product and reduction per kernel offset.
    const swap01 = [1, 0, ...spAxes];
    const xr = G === 1
      ? g.transpose(x, swap01)
      : Cg === 1 ? g.reshape(g.transpose(x, swap01), [1, -1, ...sp])
        : g.reshape(g.transpose(g.reshape(x, [0, G, Cg, ...sp]), [2, 1, 0, ...spAxes.map((i) => i + 1)]), [Cg, -1, ...sp]);
    const dyr = g.transpose(dY!, swap01);
    const dwc = g.op('Conv', [xr, dyr], {
      strides: attr.ints(a.dilations), dilations: attr.ints(a.strides), group: attr.int(G),
      pads: attr.ints(a.pads), kernel_shape: attr.ints(yd.slice(2)),
    });
    const kFull = sp.map((s, i) => Math.floor((s + a.pads[i]! + a.pads[i + r]! - ((yd[i + 2]! - 1) * a.strides[i]! + 1)) / a.dilations[i]!) + 1);
    const dwSliced = fitSpatial(g, dwc, kFull, wd.slice(2));
    const dw = g.transpose(dwSliced, swap01);
    return [dx, dw, db];
  },
} satisfies RuleTable;
export { convRules as rules };
