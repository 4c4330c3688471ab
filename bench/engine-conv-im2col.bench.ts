// Forward Conv on small maps (ResNet-18-28's layer4, 4×4) with the weight as a graph input:
//   plain   Conv(X, W): onnxruntime's per-image NCHW im2col + SGEMM (a [Co, C·k²] × [C·k², Ho·Wo] product per image,
//           whose 16 columns keep the SGEMM far from its peak);
//   gemm    one batch-wide product: X to NHWC, padded, its windows gathered by one Gather into [N·Ho·Wo, k²·C]
//           columns, times W as [k²·C, Co], back to NCHW.
// Sessions alternated A B A B (`alternateRuns`), outputs checked against `plain`. One JSON line per shape.
// Args: [threads=2] [rounds=7].
import { cpus, loadavg } from 'node:os';
import { attr } from '../src/engine/index.js';
import type { Emitter, Graph } from '../src/engine/index.js';
import { Session } from '../src/engine/index.js';
import { alternateRuns, maxRelDiff, randomFeeds, runStats, variantGraph } from './graph-variants.js';

const threads = Number(process.argv[2] ?? 2);
const rounds = Number(process.argv[3] ?? 7);
// [N, Cin, Cout, H, kernel, stride]
const SHAPES: [number, number, number, number, number, number][] = [
  [128, 512, 512, 4, 3, 1], [128, 256, 512, 7, 3, 2], [128, 256, 256, 7, 3, 1], [128, 128, 256, 14, 3, 2],
];

export function im2colGemmConv(e: Emitter, x: string, w: string, [n, c, h, wd]: number[], [k, , kh, kw]: number[], pads: number[], strides: number[]): string {
  const ho = Math.floor((h! + pads[0]! + pads[2]! - kh!) / strides[0]!) + 1;
  const wo = Math.floor((wd! + pads[1]! + pads[3]! - kw!) / strides[1]!) + 1;
  const hp = h! + pads[0]! + pads[2]!, wp = wd! + pads[1]! + pads[3]!;
  const xn = e.transpose(x, [0, 2, 3, 1]);
  const xp = e.reshape(pads.some((p) => p) ? e.op('Pad', [xn, e.ints([0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!, 0])]) : xn, [0, hp * wp, c!]);
  const idx: number[] = [];
  for (let oh = 0; oh < ho; oh++) for (let ow = 0; ow < wo; ow++) for (let i = 0; i < kh!; i++) for (let j = 0; j < kw!; j++) idx.push((oh * strides[0]! + i) * wp + ow * strides[1]! + j);
  const cols = e.reshape(e.op('Gather', [xp, e.ints(idx)], { axis: attr.int(1) }), [-1, kh! * kw! * c!]);
  const wm = e.reshape(e.transpose(w, [2, 3, 1, 0]), [kh! * kw! * c!, k!]);
  const y = e.op('MatMul', [cols, wm]);
  return e.transpose(e.reshape(y, [n!, ho, wo, k!]), [0, 3, 1, 2]);
}

for (const [N, C, K, H, k, S] of SHAPES) {
  const p = (k - 1) / 2;
  const Ho = Math.floor((H + 2 * p - k) / S) + 1;
  const conv = { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]), strides: attr.ints([S, S]) };
  const inputs = [{ name: 'X', dtype: 'float32' as const, dims: [N, C, H, H] }, { name: 'W', dtype: 'float32' as const, dims: [K, C, k, k] }];
  const make = (build: (e: Emitter) => string): Graph => variantGraph('conv-im2col', inputs, build);
  const feeds = randomFeeds({ X: [N, C, H, H], W: [K, C, k, k] });
  const graphs: Record<string, Graph> = {
    plain: make((e) => e.op('Conv', ['X', 'W'], conv)),
    gemm: make((e) => im2colGemmConv(e, 'X', 'W', [N, C, H, H], [K, C, k, k], [p, p, p, p], [S, S])),
  };
  const names = Object.keys(graphs);
  const sessions = await Promise.all(names.map((v) => Session.create(graphs[v]!, { threads })));
  const load0 = loadavg()[0]!;
  const runs = await alternateRuns(sessions, names, graphs, feeds, rounds);
  await Promise.all(sessions.map((s) => s.dispose()));
  const st = runStats(names, runs);
  console.log(JSON.stringify({
    name: 'engine-conv-im2col', config: { N, C, K, H, kernel: k, stride: S, threads }, ...st,
    gflops: Object.fromEntries(names.map((v) => [v, +((2 * N * K * C * k * k * Ho * Ho) / st.median_ms[v]! / 1e6).toFixed(1)])),
    rel_err: maxRelDiff(runs.out.gemm, runs.out.plain), load: [load0, loadavg()[0]], cpu: cpus()[0]?.model, cores: cpus().length,
  }));
}
