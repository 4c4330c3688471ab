import { windowAttrs } from '../../graph/op-attrs.js';
import { attr } from '../../graph/types.js';
import { f32 } from '../../tensor.js';
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

/** Pads the spatial axes of an NCHW value (begin pads, then end pads), or returns it when all are 0. */
export function padSpatial(g: GradEmitter, v: string, pads: readonly number[]): string {
  const r = pads.length / 2;
  return pads.some((p) => p !== 0) ? g.pad(v, [0, 0, ...pads.slice(0, r), 0, 0, ...pads.slice(r)]) : v;
}

/** Slices of `xt` (spatial axes 2, 3) that each kernel offset of a 2-D convolution reads, one per (kh, kw). */
export function kernelSlices(g: GradEmitter, xt: string, kernel: readonly number[], out: readonly number[], strides: readonly number[], dilations: readonly number[]): string[] {
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
 * Output positions (Ho·Wo) from which a stride-1 group-1 dW is `convWeightGradShifted` instead of the im2col Gemm.
 * `bench/engine-conv-dw.bench.ts`, batch 128, 2 threads, min process CPU ms of 4 runs (load 10–14): 64→64 3×3
 * 28×28 im2col 188.8 → shifted (per image) 146.1, 128→128 14×14 134.8 → 113.0 (shifted with one big Gemm: 162.2,
 * 109.1), but 256 7×7 93.3 → 142.7 and 512 4×4 108.6 → 360.9 (the per-image products get too small): those take
 * channels-last columns, now gathered: `convWeightGradNhwcGather` (`bench/engine-conv-dw-ab.bench.ts`, median CPU ms of alternated rounds, load 12–17: 256 7×7
 * im2col 93.0 → 87.4, 512 4×4 129.0 → 76.0, 128→256 3×3 s2 62.6 → 42.2, 256→512 3×3 s2 64.2 → 40.6).
 */
const SHIFTED_DW_MIN_POSITIONS = 196;

/**
 * Input channels from which the shifted dW builds its operands by Gathers (`convWeightGradShiftedGather`; below, the
 * gathered rows of C floats are too short). `node --import tsx bench/engine-conv-dw-ab.bench.ts 2 9 "shifted,shifted
 * gather"` (AMD EPYC, load 0.2–1.1, median wall ms of 9 alternated rounds), slices / gathers: batch 128 64 28×28
 * 50.3 / 43.8, 128 14×14 48.9 / 41.3; batch 64 (compact CNN) 32 28×28 10.0 / 8.3, 32→64 14×14 5.3 / 4.6, 64 14×14
 * 8.3 / 7.6; batch 32 (compact-resnet w0.5 at 192 px) 16 48×48 5.3 / 6.2, 32 24×24 4.3 / 3.7, 64 12×12 4.3 / 3.8.
 */
const SHIFTED_GATHER_MIN_CHANNELS = 32;

/**
 * Input channels below which (and for strided 1×1 convs) dW is `convWeightGradBatched`. Same bench: the 1→64 3×3
 * stem 9.6 → 4.6 CPU ms, the 64→128 1×1 stride-2 downsample 17.4 → 12.9 (the X and dY transposes cost more than
 * the per-image products lose); 64→128 3×3 stride 2 is a tie (114.6 / 118.4) and keeps im2col.
 */
const BATCHED_DW_MAX_CHANNELS = 16;

/**
 * Narrow strided convs with at least this many input channels (RGB stems) take `convWeightGradNhwcGather` instead:
 * `DW_SHAPES=… bench/engine-conv-dw-ab.bench.ts 2 5 "batched,nhwc gather"` (AMD EPYC, idle, median wall ms), batch 64:
 * 3→16 7×7 s2 at 96 px 28.1 / 17.8, at 160 px 140.3 / 49.9, 3→48 at 192 px 270.9 / 89.4; batch 32: MobileNetV2's
 * 3→32 3×3 s2 at 224 px 35.1 / 17.6. With one channel the gathered rows are single floats and batched keeps winning
 * (1→16 7×7 s2 at 128 px 17.0 / 21.3), as it does at stride 1 (3→16 3×3 at 28 px, batch 128: 2.0 / 3.1).
 */
const STRIDED_GATHER_MIN_CHANNELS = 3;

/**
 * Output positions from which a strided 1×1 dW stays `convWeightGradBatched` (below: `convWeightGradNhwcGather`).
 * `bench/engine-conv-dw-ab.bench.ts`, median process CPU ms of 15 alternated rounds (load 17): 64→128 at 14×14
 * outputs batched 10.3 / channels-last 13.2, 128→256 at 7×7 8.2 / 9.0, 256→512 at 4×4 15.5 / 7.7.
 */
const STRIDED_1X1_BATCHED_MIN_POSITIONS = 49;

/**
 * Output positions from which a stride-1 1×1 (pointwise) dW is `convWeightGradBatched` too. MobileNetV2-224's
 * pointwise shapes, batch 32 (`DW_N=32 DW_SHAPES=… node --import tsx bench/engine-conv-dw-ab.bench.ts 2 5
 * "batched,nhwc gather,im2col"`, median wall ms of 5 alternated rounds, load ≈ 1), batched / channels-last:
 * 16→96 112² 9.9 / 43.5, 144→24 56² 10.0 / 35.1, 24→144 56² 6.0 / 19.5, 192→32 28² 3.7 / 9.3, 384→64 14² 6.3 / 6.8,
 * 64→384 14² 3.7 / 5.0, 576→96 14² 7.1 / 11.4; at 7×7 the channels-last Gemm wins (960→160 8.4 / 6.6, 320→1280
 * 21.5 / 13.7).
 */
const POINTWISE_BATCHED_MIN_POSITIONS = 196;

/**
 * dW of a 2-D group-1 convolution per image, without transposing X or dY: the k² windows of the padded X stacked
 * as [N, C·k², Ho·Wo] columns, MatMul of dY as [N, K, Ho·Wo] with their transpose (onnxruntime fuses the Transpose
 * into the MatMul), summed over the batch.
 */
function convWeightGradBatched(g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>): string {
  const [co, ci, kh, kw] = wd as [number, number, number, number];
  const slices = kernelSlices(g, padSpatial(g, x, a.pads), [kh, kw], yd.slice(2), a.strides, a.dilations);
  const cols = slices.length === 1 ? slices[0]! : g.op('Concat', slices.map((s) => g.op('Unsqueeze', [s, g.ints([2])])), { axis: attr.int(2) });
  const p = yd[2]! * yd[3]!;
  const mm = g.matmul(g.reshape(dY, [0, co, p]), g.transpose(g.reshape(cols, [0, ci * kh * kw, p]), [0, 2, 1]));
  return g.reshape(g.reduceSum(mm, [0], false), [co, ci, kh, kw]);
}

/**
 * dW of a stride-1, dilation-1, 2-D group-1 convolution from KW column-shifted copies of the padded X and KH
 * row-padded copies of dY (not KH·KW windows): per image [KH·K, L] × [L, KW·C] with L = (H + pads)·Wo, whose block
 * (i, j) is dW[:, :, i, j] because Σ_h dY[h]·X[h + i] = Σ_r dY_i[r]·X[r] with dY_i = dY shifted down by i rows;
 * summed over the batch. A third less copying than the windows and no transposes of X or dY.
 */
function convWeightGradShifted(g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>): string {
  const [co, ci, kh, kw] = wd as [number, number, number, number];
  const [ho, wo] = [yd[2]!, yd[3]!];
  const hp = ho + kh - 1;
  const xp = padSpatial(g, x, a.pads);
  const xs = [...Array(kw).keys()].map((j) => g.op('Slice', [xp, g.ints([j]), g.ints([j + wo]), g.ints([3])]));
  const ds = [...Array(kh).keys()].map((i) => g.pad(dY, [0, 0, i, 0, 0, 0, kh - 1 - i, 0]));
  const cat = (v: string[], c: number) => g.reshape(v.length === 1 ? v[0]! : g.op('Concat', v, { axis: attr.int(1) }), [0, v.length * c, hp * wo]);
  const mm = g.matmul(cat(ds, co), g.transpose(cat(xs, ci), [0, 2, 1]));
  return g.transpose(g.reshape(g.reduceSum(mm, [0], false), [kh, co, kw, ci]), [1, 3, 0, 2]);
}

/**
 * `convWeightGradShifted` with each operand built by ONE Gather (the same product, as [K·KH, L] × [L, KW·C]): the X
 * windows as rows of C floats of the padded NHWC X (already [N, L, KW·C], the layout the MatMul reads), the dY shifts
 * as rows of Wo floats of one padded copy of dY — each copied once instead of twice.
 */
function convWeightGradShiftedGather(g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>, xd: readonly number[]): string {
  const [co, ci, kh, kw] = wd as [number, number, number, number];
  const [ho, wo] = [yd[2]!, yd[3]!];
  const { rows: xp, hp, wp } = paddedNhwcRows(g, x, xd, a.pads); // stride 1: Hp = Ho + KH − 1
  const xi: number[] = [];
  for (let h = 0; h < hp; h++) for (let w = 0; w < wo; w++) for (let j = 0; j < kw; j++) xi.push(h * wp + w + j);
  const cols = g.reshape(g.op('Gather', [xp, g.ints(xi)], { axis: attr.int(1) }), [0, hp * wo, kw * ci]);
  const dp = kh > 1 ? g.pad(dY, [0, 0, kh - 1, 0, 0, 0, kh - 1, 0]) : dY;
  const di: number[] = [];
  for (let i = 0; i < kh; i++) for (let h = 0; h < hp; h++) di.push(h + kh - 1 - i);
  const rows = g.reshape(g.op('Gather', [dp, g.ints(di)], { axis: attr.int(2) }), [0, co * kh, hp * wo]);
  const mm = g.matmul(rows, cols);
  return g.transpose(g.reshape(g.reduceSum(mm, [0], false), [co, kh, kw, ci]), [0, 3, 1, 2]);
}

/** Pads the spatial axes of an NHWC value (`pads` as a Conv's: begin pads, then end pads). */
export function padNhwc(g: GradEmitter, v: string, pads: readonly number[]): string {
  return pads.some((p) => p !== 0) ? g.pad(v, [0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!, 0]) : v;
}

/** X (NCHW, dims `xd`) transposed to NHWC and padded, as rows of C floats [N, Hp·Wp, C], with Hp and Wp. */
function paddedNhwcRows(g: GradEmitter, x: string, xd: readonly number[], pads: readonly number[]): { rows: string; hp: number; wp: number } {
  const hp = xd[2]! + pads[0]! + pads[2]!, wp = xd[3]! + pads[1]! + pads[3]!;
  return { rows: g.reshape(padNhwc(g, g.transpose(x, [0, 2, 3, 1]), pads), [0, hp * wp, xd[1]!]), hp, wp };
}

/**
 * The channels-last im2col Gemm (`bench/conv-dw-variants.ts` `convWeightGradNhwc`) with the columns built by ONE Gather instead of k² Slices and a Concat (which copies each
 * window twice): rows of C floats of the padded NHWC X, flattened to [N, Hp·Wp, C], gathered in (ho, wo, kh, kw)
 * order, so the result reshapes to the same [N·Ho·Wo, KH·KW·C] columns.
 */
function convWeightGradNhwcGather(g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>, xd: readonly number[]): string {
  const [co, ci, kh, kw] = wd as [number, number, number, number];
  const [ho, wo] = [yd[2]!, yd[3]!];
  const { rows: xp, hp, wp } = paddedNhwcRows(g, x, xd, a.pads);
  const [s, d] = [a.strides, a.dilations];
  const idx: number[] = [];
  for (let oh = 0; oh < ho; oh++) for (let ow = 0; ow < wo; ow++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) idx.push((oh * s[0]! + i * d[0]!) * wp + ow * s[1]! + j * d[1]!);
  // a 1×1 stride-1 unpadded conv (MobileNetV2's pointwise ones) reads every row once, in order: no copy needed
  const identity = idx.length === hp * wp && idx.every((v, i) => v === i);
  const cols = g.reshape(identity ? xp : g.op('Gather', [xp, g.ints(idx)], { axis: attr.int(1) }), [-1, kh * kw * ci]);
  const dw = g.op('Gemm', [g.reshape(g.transpose(dY, [1, 0, 2, 3]), [co, -1]), cols]);
  return g.transpose(g.reshape(dw, [co, kh, kw, ci]), [0, 3, 1, 2]);
}

export type DwFormulation = (g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>, xd: readonly number[]) => string;

/** The group-1 2-D dW formulations the rule chooses from, by the name their profile part carries (for benches). */
export const CONV_DW_FORMULATIONS: Record<string, DwFormulation> = {
  batched: convWeightGradBatched, shifted: convWeightGradShifted, 'shifted gather': convWeightGradShiftedGather,
  'nhwc gather': convWeightGradNhwcGather,
};

/**
 * Output positions (Ho·Wo) from which a stride-1 depthwise dW too large for the Toeplitz form is computed by
 * `depthwiseWeightGradRows` instead of the grouped Conv with dY as the kernel.
 * `bench/engine-depthwise-toeplitz.bench.ts` on MobileNetV2's shapes (batch 32, 2 threads, min of 5, idle), grouped
 * Conv / the earlier per-offset windows / rows, wall (process CPU) ms: 192×28² 93.4 (166.4) / 121.7 (158.7) / 59.3
 * (78.0); 144×56² 268.8 (482.8) / 344.7 (417.4) / 174.9 (225.7); 32×112² 200.1 (383.7) / 286.5 (378.8) / 133.8
 * (217.6). At stride 2 rows lose to the grouped Conv (96×112² 174.5 vs 221.3, 192×28² 22.7 vs 26.9).
 */
const DEPTHWISE_ROWS_MIN_POSITIONS = 100;

/**
 * dW of a stride-1 2-D depthwise convolution, one kernel row at a time: channel-first X padded, its rows oh + i·d
 * against dY's rows with the batch and the output rows contracted by a batched MatMul over channels (a [Wp, Wo]
 * matrix per channel: every input column against every output column), then the kernel columns' diagonals
 * (input column ow + j·d) of the KH matrices summed by one MatMul with a constant 0/1 selection matrix. KH copies of
 * X and GEMMs, against the 9 window copies, products and reductions of the per-offset form.
 */
function depthwiseWeightGradRows(g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>, xd: readonly number[]): string {
  const [c, , kh, kw] = wd as [number, number, number, number];
  const [ho, wo] = [yd[2]!, yd[3]!];
  const wp = xd[3]! + a.pads[1]! + a.pads[3]!;
  const sel = selectionConstant(g, ['rows', wp, ho, wo, kh, kw, ...a.dilations].join(','), kh * wp * wo, kh * kw, (m) => {
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let ow = 0; ow < wo; ow++) m[((i * wp + ow + j * a.dilations[1]!) * wo + ow) * kh * kw + i * kw + j] = 1;
  });
  const xp = padSpatial(g, g.transpose(x, [1, 0, 2, 3]), a.pads);
  const dyc = g.reshape(g.transpose(dY, [1, 0, 2, 3]), [c, -1, wo]);
  const parts = [...Array(kh).keys()].map((i) => {
    const rows = g.reshape(g.slice(xp, [i * a.dilations[0]!], [i * a.dilations[0]! + ho], [2]), [c, -1, wp]);
    return g.reshape(g.op('MatMul', [g.transpose(rows, [0, 2, 1]), dyc]), [c, wp * wo]);
  });
  const cat = parts.length === 1 ? parts[0]! : g.op('Concat', parts, { axis: attr.int(1) });
  return g.reshape(g.op('MatMul', [cat, sel]), [c, 1, kh, kw]);
}

/**
 * Largest H·W·Ho·Wo (input times output positions) for which a 2-D depthwise dW is computed by
 * `depthwiseWeightGradToeplitz`: its per-channel [H·W, Ho·Wo] product grows with the square of the image, so it pays
 * only on small maps. `bench/engine-depthwise-toeplitz.bench.ts` on MobileNetV2's shapes (batch 32, 2 threads, min of
 * 5, idle): 960×7² 28.5–29.2 → 8.1–10.1 ms, 576×14² stride 2 16.3–19.2 → 9.8–11.5, 384×14² 40.4–48.6 → 17.9–24.0,
 * 576×14² 59.5 → 29.1; 192×28² stride 2 loses (23.1 → 31.6).
 */
const DEPTHWISE_TOEPLITZ_MAX = 196 * 196;

/**
 * The float32 0/1 [rows, cols] matrix `fill` writes, emitted once per geometry `key` and graph (MobileNetV2 has six
 * 14×14 stride-1 depthwise layers: one 1.4 MB matrix for all of them).
 */
function selectionConstant(g: GradEmitter, key: string, rows: number, cols: number, fill: (m: Float32Array) => void): string {
  return g.sharedConstant(`dw_select ${key}`, () => {
    const m = new Float32Array(rows * cols);
    fill(m);
    return f32(m, [rows, cols]);
  }, 'dw_select');
}

/**
 * dW of a 2-D depthwise convolution as matrix products, for small maps: per channel c, the full correlation matrix
 * dT[c] = X[c]ᵀ·dY[c] ([H·W, Ho·Wo], the batch contracted by a batched MatMul over channels), then the entries each
 * kernel offset reads (those at input = output·stride + offset·dilation − pad, inside the image) summed by one MatMul
 * with a constant 0/1 selection matrix [H·W·Ho·Wo, KH·KW]. Two GEMMs and two transposes, against the grouped Conv's
 * im2col whose rows are only Ho·Wo long.
 */
function depthwiseWeightGradToeplitz(g: GradEmitter, x: string, dY: string, wd: readonly number[], yd: readonly number[], a: ReturnType<typeof windowAttrs>, xd: readonly number[]): string {
  const [c, , kh, kw] = wd as [number, number, number, number];
  const [h, w, ho, wo] = [xd[2]!, xd[3]!, yd[2]!, yd[3]!];
  const hw = h * w, p = ho * wo, k = kh * kw;
  const sel = selectionConstant(g, [h, w, ho, wo, kh, kw, ...a.strides, ...a.dilations, a.pads[0], a.pads[1]].join(','), hw * p, k, (m) => {
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let oh = 0; oh < ho; oh++) for (let ow = 0; ow < wo; ow++) {
      const ih = oh * a.strides[0]! + i * a.dilations[0]! - a.pads[0]!, iw = ow * a.strides[1]! + j * a.dilations[1]! - a.pads[1]!;
      if (ih >= 0 && iw >= 0 && ih < h && iw < w) m[((ih * w + iw) * p + oh * wo + ow) * k + i * kw + j] = 1;
    }
  });
  const xc = g.transpose(g.reshape(g.transpose(x, [1, 0, 2, 3]), [c, -1, hw]), [0, 2, 1]);
  const dyc = g.reshape(g.transpose(dY, [1, 0, 2, 3]), [c, -1, p]);
  const dT = g.reshape(g.op('MatMul', [xc, dyc]), [c, hw * p]);
  return g.reshape(g.op('MatMul', [dT, sel]), [c, 1, kh, kw]);
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
 * stride). dB sums dY over batch and space. dW, by shape, as measured fastest:
 * - 2-D, group 1: per image for narrow inputs (< BATCHED_DW_MAX_CHANNELS; strided ones from
 *   STRIDED_GATHER_MIN_CHANNELS take the gathered columns below), strided 1×1 convs from
 *   STRIDED_1X1_BATCHED_MIN_POSITIONS outputs and stride-1 1×1 from POINTWISE_BATCHED_MIN_POSITIONS; from shifted
 *   copies at stride 1 from SHIFTED_DW_MIN_POSITIONS outputs (gathered from SHIFTED_GATHER_MIN_CHANNELS); else one
 *   Gemm over channels-last im2col columns built by one Gather;
 * - 2-D depthwise: two MatMuls on maps of at most DEPTHWISE_TOEPLITZ_MAX input × output positions; at stride 1 from
 *   DEPTHWISE_ROWS_MIN_POSITIONS outputs, one MatMul per kernel row;
 * - otherwise a grouped convolution of X (batch and channel axes swapped) with dY as the kernel, stride and dilation
 *   exchanged.
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

    if (r === 2 && G === 1) {
      const ones = (v: readonly number[]) => v.every((s) => s === 1);
      const k1 = wd[2] === 1 && wd[3] === 1;
      const positions = yd[2]! * yd[3]!;
      const batched1x1From = ones(a.strides) ? POINTWISE_BATCHED_MIN_POSITIONS : STRIDED_1X1_BATCHED_MIN_POSITIONS;
      const stridedGather = C >= STRIDED_GATHER_MIN_CHANNELS && !ones(a.strides) && !k1;
      if ((C < BATCHED_DW_MAX_CHANNELS && !stridedGather) || (k1 && positions >= batched1x1From)) {
        return [dx, g.part('dW batched', () => convWeightGradBatched(g, x, dY!, wd, yd, a)), db];
      }
      if (!k1 && ones(a.strides) && ones(a.dilations) && positions >= SHIFTED_DW_MIN_POSITIONS) {
        if (C >= SHIFTED_GATHER_MIN_CHANNELS) return [dx, g.part('dW shifted gather', () => convWeightGradShiftedGather(g, x, dY!, wd, yd, a, xd)), db];
        return [dx, g.part('dW shifted', () => convWeightGradShifted(g, x, dY!, wd, yd, a)), db];
      }
      return [dx, g.part('dW nhwc gather', () => convWeightGradNhwcGather(g, x, dY!, wd, yd, a, xd)), db];
    }
    const depthwise = r === 2 && Cg === 1 && wd[0] === G;
    // the MatMul forms build float32 selection constants
    const matmulDepthwise = depthwise && g.dtype(x) === 'float32';
    if (matmulDepthwise && sp[0]! * sp[1]! * yd[2]! * yd[3]! <= DEPTHWISE_TOEPLITZ_MAX) {
      return [dx, g.part('dW depthwise Toeplitz', () => depthwiseWeightGradToeplitz(g, x, dY!, wd, yd, a, xd)), db];
    }
    if (matmulDepthwise && a.strides.every((s) => s === 1) && yd[2]! * yd[3]! >= DEPTHWISE_ROWS_MIN_POSITIONS) {
      return [dx, g.part('dW depthwise rows', () => depthwiseWeightGradRows(g, x, dY!, wd, yd, a, xd)), db];
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
