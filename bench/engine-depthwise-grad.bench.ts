// Depthwise 3×3 conv (group = C) weight-gradient formulations on the MobileNetV2 layer shapes that a last:40
// fine-tune trains (batch 32; TF SAME padding: [1,1,1,1] at stride 1, [0,0,1,1] at stride 2), each timed in its own
// session (min of `runs` after one warm-up), checked against the current rule's output:
//   grouped_conv   (the rule before): X as [1, C·N, H, W], dY as C kernels of N channels, one grouped Conv;
//   grouped_nc     X as [1, N·C, H, W] and dY as N·C one-channel kernels (plain reshapes), group N·C, sum over N —
//                  needs a static batch (the group count), which the trainer's symbolic-batch graphs do not have;
//   mul9           9 × Slice(padded X) · dY, ReduceSum over N, H, W;
//   onehot_matmul  im2col by a depthwise Conv with a one-hot [9C, 1, 3, 3] kernel → [N, C, 9, Ho·Wo], MatMul with dY as
//                  [N, C, Ho·Wo, 1], ReduceSum over N;
//   onehot_mulsum  the same columns, Mul by dY and ReduceSum over N and space;
//   slices_matmul  the columns from 9 Slices + Concat instead of the one-hot Conv;
//   mul9_nc        9 × Slice(padded X) · dY, ReduceSum over space only ([N, C, 1, 1], contiguous), Concat, ReduceSum over N.
// (Also tried and dropped, 2–4× slower than grouped_conv: X and dY transposed channel-first with 9 batched MatMuls over
// C, the windows of the flattened padded image with per-window MatMul or Einsum.)
// Also times the forward Conv and the current dX for scale. Prints one JSON line per shape (min wall and process CPU
// ms). Args: [threads=1] [runs=7]; DW_VARIANTS=a,b,… times only those (and grouped_conv, the reference).
import { cpus, loadavg } from 'node:os';
import { attr, f32 } from '../src/engine/index.js';
import type { Emitter, Graph } from '../src/engine/index.js';
import { maxRelDiff, randomFeeds, timeVariants, variantGraph } from './graph-variants.js';

const threads = Number(process.argv[2] ?? 1);
const runs = Number(process.argv[3] ?? 7);
// [N, C, H, stride, layers of this shape in last:40]
// DW_SHAPES='N,C,H,S,count;…' replaces them (e.g. the whole MobileNetV2-224's: 32,32,112,1,1;32,96,112,2,1;…).
const SHAPES: [number, number, number, number, number][] = process.env.DW_SHAPES
  ? process.env.DW_SHAPES.split(';').map((s) => s.split(',').map(Number) as [number, number, number, number, number])
  : [[32, 192, 28, 1, 2], [32, 192, 28, 2, 1], [32, 384, 14, 1, 4], [32, 576, 14, 1, 2], [32, 576, 14, 2, 1], [32, 960, 7, 1, 3]];
const ONLY = process.env.DW_VARIANTS?.split(',');

for (const [N, C, H, S, count] of SHAPES) {
  const pads = S === 1 ? [1, 1, 1, 1] : [0, 0, 1, 1];
  const Ho = Math.floor((H + pads[0]! + pads[2]! - 3) / S) + 1, P = Ho * Ho;
  const make = (build: (e: Emitter) => string): Graph => variantGraph('dw-grad', [
    { name: 'X', dtype: 'float32', dims: [N, C, H, H] }, { name: 'W', dtype: 'float32', dims: [C, 1, 3, 3] }, { name: 'dY', dtype: 'float32', dims: [N, C, Ho, Ho] },
  ], build);
  const conv = { kernel_shape: attr.ints([3, 3]), pads: attr.ints(pads), strides: attr.ints([S, S]), group: attr.int(C) };
  const padX = (e: Emitter) => e.op('Pad', ['X', e.ints([0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!])]);
  /** The 9 (strided) windows of `xp` (spatial axes 2, 3) read by each kernel offset. */
  const windows = (e: Emitter, xp: string) => {
    const out: string[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      out.push(e.op('Slice', [xp, e.ints([i, j]), e.ints([i + (Ho - 1) * S + 1, j + (Ho - 1) * S + 1]), e.ints([2, 3]), e.ints([S, S])]));
    }
    return out;
  };
  const onehot = f32(Float32Array.from({ length: 9 * C * 9 }, (_, i) => (Math.floor(i / 9) % 9 === i % 9 ? 1 : 0)), [9 * C, 1, 3, 3]);
  const onehotCols = (e: Emitter) => e.reshape(e.op('Conv', ['X', e.constant(onehot, 'onehot')], conv), [N, C, 9, P]);
  const variants: Record<string, Graph> = {
    forward: make((e) => e.op('Conv', ['X', 'W'], conv)),
    dX_current: make((e) => (S === 1
      ? e.op('Conv', ['dY', e.op('Slice', ['W', e.ints([-1, -1]), e.ints([-(2 ** 31), -(2 ** 31)]), e.ints([2, 3]), e.ints([-1, -1])])], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), group: attr.int(C) })
      : e.op('Slice', [e.op('ConvTranspose', ['dY', 'W'], { strides: attr.ints([S, S]), group: attr.int(C), pads: attr.ints([0, 0, 0, 0]), kernel_shape: attr.ints([3, 3]) }), e.ints([0, 0]), e.ints([H, H]), e.ints([2, 3])]))),
    grouped_conv: make((e) => {
      const xr = e.reshape(e.transpose('X', [1, 0, 2, 3]), [1, -1, H, H]);
      const dwc = e.op('Conv', [xr, e.transpose('dY', [1, 0, 2, 3])], { strides: attr.ints([1, 1]), dilations: attr.ints([S, S]), group: attr.int(C), pads: attr.ints(pads), kernel_shape: attr.ints([Ho, Ho]) });
      return e.transpose(e.op('Slice', [dwc, e.ints([0, 0]), e.ints([3, 3]), e.ints([2, 3])]), [1, 0, 2, 3]);
    }),
    grouped_nc: make((e) => {
      const dwc = e.op('Conv', [e.reshape('X', [1, N * C, H, H]), e.reshape('dY', [N * C, 1, Ho, Ho])], { strides: attr.ints([1, 1]), dilations: attr.ints([S, S]), group: attr.int(N * C), pads: attr.ints(pads), kernel_shape: attr.ints([Ho, Ho]) });
      const k = e.op('Slice', [dwc, e.ints([0, 0]), e.ints([3, 3]), e.ints([2, 3])]);
      return e.reshape(e.op('ReduceSum', [e.reshape(k, [N, C, 9]), e.ints([0])], { keepdims: attr.int(0) }), [C, 1, 3, 3]);
    }),
    mul9: make((e) => {
      const parts = windows(e, padX(e)).map((w) => e.op('ReduceSum', [e.op('Mul', [w, 'dY']), e.ints([0, 2, 3])], { keepdims: attr.int(0) }));
      return e.reshape(e.op('Concat', parts.map((p) => e.op('Unsqueeze', [p, e.ints([1])])), { axis: attr.int(1) }), [C, 1, 3, 3]);
    }),
    onehot_matmul: make((e) => {
      const m = e.op('MatMul', [onehotCols(e), e.reshape('dY', [N, C, P, 1])]);
      return e.reshape(e.op('ReduceSum', [m, e.ints([0])], { keepdims: attr.int(0) }), [C, 1, 3, 3]);
    }),
    onehot_mulsum: make((e) => {
      const m = e.op('Mul', [onehotCols(e), e.reshape('dY', [N, C, 1, P])]);
      return e.reshape(e.op('ReduceSum', [m, e.ints([0, 3])], { keepdims: attr.int(0) }), [C, 1, 3, 3]);
    }),
    slices_matmul: make((e) => {
      const cols = e.op('Concat', windows(e, padX(e)).map((w) => e.reshape(w, [N, C, 1, P])), { axis: attr.int(2) });
      const m = e.op('MatMul', [cols, e.reshape('dY', [N, C, P, 1])]);
      return e.reshape(e.op('ReduceSum', [m, e.ints([0])], { keepdims: attr.int(0) }), [C, 1, 3, 3]);
    }),
    mul9_nc: make((e) => {
      const parts = windows(e, padX(e)).map((w) => e.op('ReduceSum', [e.op('Mul', [w, 'dY']), e.ints([2, 3])], { keepdims: attr.int(1) }));
      return e.reshape(e.op('ReduceSum', [e.op('Concat', parts, { axis: attr.int(2) }), e.ints([0])], { keepdims: attr.int(0) }), [C, 1, 3, 3]);
    }),
  };
  const feeds = randomFeeds({ X: [N, C, H, H], W: [C, 1, 3, 3], dY: [N, C, Ho, Ho] });
  const load0 = loadavg()[0]!;
  if (ONLY) for (const k of Object.keys(variants)) if (!ONLY.includes(k) && k !== 'grouped_conv') delete variants[k];
  const { minMs, minCpuMs, out } = await timeVariants(variants, feeds, threads, runs);
  const dws = Object.keys(variants).filter((k) => k !== 'forward' && !k.startsWith('dX') && k !== 'grouped_conv');
  console.log(JSON.stringify({
    name: 'engine-depthwise-grad', config: { N, C, H, stride: S, pads, layers: count, threads, runs }, min_ms: minMs, min_cpu_ms: minCpuMs,
    rel_err_vs_grouped_conv: Object.fromEntries(dws.map((k) => [k, maxRelDiff(out[k], out.grouped_conv)])),
    load: [+load0.toFixed(2), +loadavg()[0]!.toFixed(2)], cpu: cpus()[0]?.model, cores: cpus().length, node: process.version,
  }));
}
