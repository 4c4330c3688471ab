// Conv dW formulations measured against the rule's own (bench/engine-conv-dw-ab.bench.ts) and not used by it: the NCHW
// im2col Gemm (superseded by the gathered channels-last columns), channels-last columns from k² Slices + Concat, and
// two channels-last variants of the shifted-copies product (within noise or slower; bench/README.md).
import type { GradEmitter } from '../src/engine/autodiff/grad-emitter.js';
import { CONV_DW_FORMULATIONS, kernelSlices, padNhwc, padSpatial, type DwFormulation } from '../src/engine/autodiff/rules/conv.js';
import type { windowAttrs } from '../src/engine/graph/op-attrs.js';
import { attr } from '../src/engine/graph/types.js';

/**
 * dW of a 2-D group-1 convolution as ONE matrix product: the input's shifted (strided) windows, one per kernel
 * offset, stacked into [Cin·KH·KW, N·Ho·Wo] columns, times dY as [Cout, N·Ho·Wo]. onnxruntime runs this Gemm far
 * faster than a Conv whose kernel is dY. Superseded by the rule's `convWeightGradNhwcGather` (same product, cheaper columns, B read
 * without transB).
 */
export function convWeightGradIm2col(g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>): string {
  const [co, ci, kh, kw] = wd as [number, number, number, number];
  const xt = g.transpose(padSpatial(g, x, a.pads), [1, 0, 2, 3]);
  const slices = kernelSlices(g, xt, [kh, kw], yd.slice(2), a.strides, a.dilations);
  const cols = slices.length === 1 ? slices[0]! : g.op('Concat', slices.map((s) => g.op('Unsqueeze', [s, g.ints([1])])), { axis: attr.int(1) });
  const colsFlat = g.op('Reshape', [cols, g.ints([ci * kh * kw, -1])]);
  const dyFlat = g.op('Reshape', [g.transpose(dY, [1, 0, 2, 3]), g.ints([co, -1])]);
  const dw = g.op('Gemm', [dyFlat, colsFlat], { transB: attr.int(1) });
  return g.op('Reshape', [dw, g.ints([co, ci, kh, kw])]);
}

/**
 * dW of a 2-D group-1 convolution as one Gemm over channels-last columns: X transposed to NHWC and padded, its k²
 * (strided) windows concatenated on the channel axis into [N·Ho·Wo, KH·KW·C], times dY as [N·Ho·Wo, K] (transA).
 * The same product as `convWeightGradIm2col`, but each window copies runs of Wo·C floats (or C at stride 2), not
 * runs of Wo: at 7×7 and 4×4 outputs the NCHW windows are 7 or 4 floats long. dY is [K, N·Ho·Wo] (NCHW with batch and
 * channels swapped), not NHWC with transA: onnxruntime's Gemm ran transA 30–50 % slower.
 */
function convWeightGradNhwc(g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>): string {
  const [co, ci, kh, kw] = wd as [number, number, number, number];
  const [ho, wo] = [yd[2]!, yd[3]!];
  const xp = padNhwc(g, g.transpose(x, [0, 2, 3, 1]), a.pads);
  const [s, d] = [a.strides, a.dilations];
  const windows: string[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const starts = [i * d[0]!, j * d[1]!];
      const ends = [starts[0]! + (ho - 1) * s[0]! + 1, starts[1]! + (wo - 1) * s[1]! + 1];
      windows.push(g.op('Slice', [xp, g.ints(starts), g.ints(ends), g.ints([1, 2]), g.ints(s)]));
    }
  }
  const cols = g.reshape(windows.length === 1 ? windows[0]! : g.op('Concat', windows, { axis: attr.int(3) }), [-1, kh * kw * ci]);
  const dw = g.op('Gemm', [g.reshape(g.transpose(dY, [1, 0, 2, 3]), [co, -1]), cols]);
  return g.transpose(g.reshape(dw, [co, kh, kw, ci]), [0, 3, 1, 2]);
}

/**
 * dW of a stride-1, dilation-1 2-D group-1 convolution as `convWeightGradShifted` in channels-last layout, one Gemm
 * over the whole batch: KW W-shifted windows of the padded NHWC X ([N·Hp·Wo, KW·C]) and KH row-padded copies of
 * dY with batch and channels swapped ([KH·K, N·Hp·Wo]); block (i, j) of the [KH·K, KW·C] product is dW[:, :, i, j]. Hp/Ho times the exact work.
 */
function convWeightGradNhwcShifted(g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>): string {
  const [co, ci, kh, kw] = wd as [number, number, number, number];
  const wo = yd[3]!;
  const xp = padNhwc(g, g.transpose(x, [0, 2, 3, 1]), a.pads);
  const dyt = g.transpose(dY, [1, 0, 2, 3]);
  const xs = [...Array(kw).keys()].map((j) => g.slice(xp, [j], [j + wo], [2]));
  const ds = [...Array(kh).keys()].map((i) => g.pad(dyt, [0, 0, i, 0, 0, 0, kh - 1 - i, 0]));
  const catX = g.reshape(xs.length === 1 ? xs[0]! : g.op('Concat', xs, { axis: attr.int(3) }), [-1, kw * ci]);
  const catDy = g.reshape(ds.length === 1 ? ds[0]! : g.op('Concat', ds, { axis: attr.int(0) }), [kh * co, -1]);
  const dw = g.op('Gemm', [catDy, catX]);
  return g.transpose(g.reshape(dw, [kh, co, kw, ci]), [1, 3, 0, 2]);
}

/**
 * `convWeightGradShifted` (per image, summed over the batch) with the X operand channels-last: the KW W-shifted
 * windows of the padded NHWC X as [N, Hp·Wo, KW·C], the layout the MatMul reads without transposing it.
 */
function convWeightGradShiftedNhwc(g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>): string {
  const [co, ci, kh, kw] = wd as [number, number, number, number];
  const [ho, wo] = [yd[2]!, yd[3]!];
  const hp = ho + kh - 1;
  const xp = padNhwc(g, g.transpose(x, [0, 2, 3, 1]), a.pads);
  const xs = [...Array(kw).keys()].map((j) => g.slice(xp, [j], [j + wo], [2]));
  const ds = [...Array(kh).keys()].map((i) => g.pad(dY, [0, 0, i, 0, 0, 0, kh - 1 - i, 0]));
  const catX = g.reshape(xs.length === 1 ? xs[0]! : g.op('Concat', xs, { axis: attr.int(3) }), [0, hp * wo, kw * ci]);
  const catDy = g.reshape(ds.length === 1 ? ds[0]! : g.op('Concat', ds, { axis: attr.int(1) }), [0, kh * co, hp * wo]);
  const mm = g.matmul(catDy, catX);
  return g.transpose(g.reshape(g.reduceSum(mm, [0], false), [kh, co, kw, ci]), [1, 3, 0, 2]);
}

/** The rule's formulations and the ones above, by profile-part name. */
export const DW_VARIANTS: Record<string, DwFormulation> = {
  ...CONV_DW_FORMULATIONS, im2col: convWeightGradIm2col, nhwc: convWeightGradNhwc,
  'nhwc shifted': convWeightGradNhwcShifted, 'shifted nhwc': convWeightGradShiftedNhwc,
};
