// Conv backward formulations on ResNet-18-28 layer shapes (3×3, pad 1), each timed in its own session (min of 7 runs):
// dW by Conv over batch↔channel-transposed tensors vs 9 Gemms over shifted slices (transB, reduction over N·H·W);
// dX by ConvTranspose vs Conv with the spatially flipped, in/out-transposed kernel (stride 1 only).
// Prints one JSON line per shape. Args: [threads=1].
import { cpus } from 'node:os';
import { attr } from '../src/engine/index.js';
import type { Emitter, Graph } from '../src/engine/index.js';
import { maxRelDiff, randomFeeds, timeVariants, variantGraph } from './graph-variants.js';

const threads = Number(process.argv[2] ?? 1);
const SHAPES: [n: number, c: number, k: number, h: number, s: number][] = [
  [128, 64, 64, 28, 1], [128, 128, 128, 14, 1], [128, 256, 256, 7, 1], [128, 512, 512, 4, 1], [128, 64, 128, 28, 2],
];

for (const [N, C, K, H, S] of SHAPES) {
  const Ho = Math.floor((H + 2 - 3) / S) + 1;
  const make = (build: (e: Emitter) => string): Graph => variantGraph('conv-grad', [
    { name: 'X', dtype: 'float32', dims: [N, C, H, H] }, { name: 'W', dtype: 'float32', dims: [K, C, 3, 3] }, { name: 'dY', dtype: 'float32', dims: [N, K, Ho, Ho] },
  ], build);
  const conv = { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([S, S]) };
  const variants: Record<string, Graph> = {
    forward: make((e) => e.op('Conv', ['X', 'W'], conv)),
    dW_conv: make((e) => {
      const r = e.op('Conv', [e.transpose('X', [1, 0, 2, 3]), e.transpose('dY', [1, 0, 2, 3])], { pads: attr.ints([1, 1, 1, 1]), dilations: attr.ints([S, S]) });
      return e.op('Slice', [e.transpose(r, [1, 0, 2, 3]), e.ints([0, 0]), e.ints([3, 3]), e.ints([2, 3])]);
    }),
    dW_gemm9: make((e) => {
      const xt = e.transpose(e.op('Pad', ['X', e.ints([0, 0, 1, 1, 0, 0, 1, 1])]), [1, 0, 2, 3]);
      const dyT = e.reshape(e.transpose('dY', [1, 0, 2, 3]), [K, N * Ho * Ho]);
      const parts: string[] = [];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        const end = [i + (Ho - 1) * S + 1, j + (Ho - 1) * S + 1];
        const sl = e.reshape(e.op('Slice', [xt, e.ints([i, j]), e.ints(end), e.ints([2, 3]), e.ints([S, S])]), [C, N * Ho * Ho]);
        parts.push(e.op('Unsqueeze', [e.op('Gemm', [dyT, sl], { transB: attr.int(1) }), e.ints([2])]));
      }
      return e.reshape(e.op('Concat', parts, { axis: attr.int(2) }), [K, C, 3, 3]);
    }),
    dX_convtranspose: make((e) => e.op('ConvTranspose', ['dY', 'W'], { ...conv, output_padding: attr.ints([(H - 1) % S, (H - 1) % S]) })),
    ...(S === 1 ? {
      dX_conv_flipped: make((e) => {
        const wf = e.op('Slice', ['W', e.ints([-1, -1]), e.ints([-4, -4]), e.ints([2, 3]), e.ints([-1, -1])]);
        return e.op('Conv', ['dY', e.transpose(wf, [1, 0, 2, 3])], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) });
      }),
    } : {}),
  };
  const feeds = randomFeeds({ X: [N, C, H, H], W: [K, C, 3, 3], dY: [N, K, Ho, Ho] });
  const { minMs, out } = await timeVariants(variants, feeds, threads, 7);
  console.log(JSON.stringify({
    name: 'engine-conv-grad', config: { N, C, K, H, stride: S, threads }, min_ms: minMs,
    rel_err: { dW_gemm9: maxRelDiff(out.dW_gemm9, out.dW_conv), dX_conv_flipped: maxRelDiff(out.dX_conv_flipped, out.dX_convtranspose) },
    cpu: cpus()[0]?.model, cores: cpus().length, node: process.version,
  }));
}
