// Forward Conv on ResNet-18-28 / compact-CNN layer shapes with the weight as a graph INPUT (as in a training graph):
//   plain       Conv(X, W): onnxruntime's NCHW im2col + SGEMM path (its NchwcTransformer skips a Conv whose weight
//               is not a constant initializer);
//   nchwc       ReorderInput → com.microsoft.nchwc Conv with W reordered in the graph (Reshape·Transpose to
//               OIHWBiBo / OIHWBo) → ReorderOutput, i.e. onnxruntime's blocked direct-convolution kernels;
//   const_w     Conv with W as an initializer (onnxruntime converts it to NCHWc itself): the reference.
// Each variant in its own session, min of `runs` after one warm-up; outputs checked against `plain`.
// Prints one JSON line per shape. Args: [threads=2] [runs=5].
import { cpus, loadavg } from 'node:os';
import { attr } from '../src/engine/index.js';
import type { Emitter, Graph } from '../src/engine/index.js';
import { nchwcBlockSize } from '../src/engine/runtime/nchwc.js';
import { maxRelDiff, randomFeeds, timeVariants, variantGraph } from './graph-variants.js';

const threads = Number(process.argv[2] ?? 2);
const runs = Number(process.argv[3] ?? 5);
// [N, Cin, Cout, H, kernel, stride]
const SHAPES: [number, number, number, number, number, number][] = [
  [128, 1, 64, 28, 3, 1], [128, 64, 64, 28, 3, 1], [128, 64, 128, 28, 3, 2], [128, 128, 128, 14, 3, 1],
  [128, 64, 128, 28, 1, 2], [128, 256, 256, 7, 3, 1], [128, 512, 512, 4, 3, 1],
];
const B = await nchwcBlockSize();

for (const [N, C, K, H, k, S] of SHAPES) {
  const p = (k - 1) / 2;
  const Ho = Math.floor((H + 2 * p - k) / S) + 1;
  const conv = { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]), strides: attr.ints([S, S]) };
  const inputs = [{ name: 'X', dtype: 'float32' as const, dims: [N, C, H, H] }, { name: 'W', dtype: 'float32' as const, dims: [K, C, k, k] }];
  const make = (build: (e: Emitter) => string): Graph => variantGraph('nchwc-conv', inputs, build);
  const feeds = randomFeeds({ X: [N, C, H, H], W: [K, C, k, k] });
  const nchwc = make((e) => {
    const blocked = C >= B;
    const wr = blocked
      ? e.reshape(e.transpose(e.reshape('W', [K / B, B, C / B, B, k, k]), [0, 2, 4, 5, 3, 1]), [K, C, k, k])
      : e.reshape(e.transpose(e.reshape('W', [K / B, B, C, k, k]), [0, 2, 3, 4, 1]), [K, C, k, k]);
    const x = blocked ? nchwcOp(e, 'ReorderInput', ['X']) : 'X';
    return nchwcOp(e, 'ReorderOutput', [nchwcOp(e, 'Conv', [x, wr], conv)], { channels: attr.int(K) });
  });
  nchwc.extraOpsets = { 'com.microsoft.nchwc': 1 };
  const constW = make((e) => e.op('Conv', ['X', e.constant(feeds.W!, 'W')], conv));
  const load0 = loadavg()[0]!;
  const { minMs, out } = await timeVariants({ plain: make((e) => e.op('Conv', ['X', 'W'], conv)), nchwc, const_w: constW }, feeds, threads, runs);
  console.log(JSON.stringify({
    name: 'engine-nchwc-conv', config: { N, C, K, H, kernel: k, stride: S, threads, block: B }, min_ms: minMs,
    gflops: Object.fromEntries(Object.entries(minMs).map(([v, ms]) => [v, +((2 * N * K * C * k * k * Ho * Ho) / ms / 1e6).toFixed(1)])),
    rel_err: { nchwc: maxRelDiff(out.nchwc, out.plain), const_w: maxRelDiff(out.const_w, out.plain) },
    load: [load0, loadavg()[0]], cpu: cpus()[0]?.model, cores: cpus().length,
  }));
}

function nchwcOp(e: Emitter, op: string, ins: string[], attrs: Record<string, ReturnType<typeof attr.int>> = {}): string {
  const out = e.op(op, ins, attrs);
  e.graph.nodes.at(-1)!.domain = 'com.microsoft.nchwc';
  return out;
}
