// Forward Conv (weight as a graph input, as in a training graph) at small outputs, alternated A B … in one process:
//   plain  Conv(X, W): onnxruntime's per-image im2col + SGEMM (at 4×4 outputs a [K, 9C] × [9C, 16] product per image);
//   gemm   channels-last im2col over the whole batch (`convAsGemm` below): X to NHWC, padded,
//          its k² windows concatenated on channels into [N·Ho·Wo, k²·C], one MatMul with W as [k²·C, K], back to NCHW.
// Per variant min/median wall and process-CPU ms, and the max relative difference from plain.
// Usage: node --import tsx bench/engine-conv-gemm-ab.bench.ts [threads=2] [rounds=5]
import { cpus, loadavg } from 'node:os';
import { Emitter, Session, attr, windowOut } from '../src/engine/index.js';
import type { Graph } from '../src/engine/index.js';
import { alternateRuns, maxRelDiff, runStats, randomFeeds, variantGraph } from './graph-variants.js';

const threads = Number(process.argv[2] ?? 2);
const rounds = Number(process.argv[3] ?? 5);
// [N, Cin, Cout, H, kernel, stride]: ResNet-18-28's 512-channel stage (and its dX), the 256 stage, the 128 stage
const SHAPES: [number, number, number, number, number, number][] = [
  [128, 512, 512, 4, 3, 1], [128, 256, 512, 7, 3, 2], [128, 256, 256, 7, 3, 1], [128, 128, 128, 14, 3, 1],
];

for (const [N, C, K, H, k, S] of SHAPES) {
  const p = (k - 1) / 2;
  const attrs = { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]), strides: attr.ints([S, S]) };
  const inputs = [{ name: 'X', dtype: 'float32' as const, dims: [N, C, H, H] }, { name: 'W', dtype: 'float32' as const, dims: [K, C, k, k] }];
  const graphs: Record<string, Graph> = {
    plain: variantGraph('conv', inputs, (e) => e.op('Conv', ['X', 'W'], attrs)),
    gemm: variantGraph('conv', inputs, (e: Emitter) => convAsGemm(e, 'X', 'W', undefined, [N, C, H, H], [K, C, k, k], { pads: [p, p, p, p], strides: [S, S], dilations: [1, 1] })),
  };
  const names = Object.keys(graphs);
  const feeds = randomFeeds({ X: [N, C, H, H], W: [K, C, k, k] });
  const sessions = await Promise.all(names.map((v) => Session.create(graphs[v]!, { threads })));
  const load0 = loadavg()[0]!;
  let runs: Awaited<ReturnType<typeof alternateRuns>>;
  try {
    runs = await alternateRuns(sessions, names, graphs, feeds, rounds);
  } finally {
    await Promise.all(sessions.map((s) => s.dispose()));
  }
  const { out } = runs;
  console.log(JSON.stringify({
    name: 'engine-conv-gemm-ab', config: { N, C, K, H, kernel: k, stride: S, threads, rounds }, ...runStats(names, runs),
    rel_err: maxRelDiff(out.gemm, out.plain), load: [+load0.toFixed(2), +loadavg()[0]!.toFixed(2)], cpu: cpus()[0]?.model,
  }));
}

/** The window attributes `convAsGemm` needs (explicit pads: begin pads, then end pads). */
interface GemmConvAttrs { pads: readonly number[]; strides: readonly number[]; dilations: readonly number[] }

/**
 * A 2-D group-1 convolution Y = Conv(X, W, B) as one matrix product over the whole batch: X to NHWC and padded,
 * its KH·KW (strided) windows concatenated on the channel axis into [N·Ho·Wo, KH·KW·C] columns, times W as
 * [KH·KW·C, K], plus B, back to NCHW. The batch stays a run-time dim. `xd` / `wd` are X's and W's dims.
 */
function convAsGemm(e: Emitter, x: string, w: string, b: string | undefined, xd: readonly number[], wd: readonly number[], a: GemmConvAttrs): string {
  const [k, c, kh, kw] = wd as [number, number, number, number];
  const [s, d, p] = [a.strides, a.dilations, a.pads];
  const [ho, wo] = [0, 1].map((i) => windowOut(xd[i + 2]!, wd[i + 2]!, s[i]!, d[i]!, p[i]!, p[i + 2]!)) as [number, number];
  let xt = e.transpose(x, [0, 2, 3, 1]);
  if (p.some((v) => v !== 0)) xt = e.op('Pad', [xt, e.ints([0, p[0]!, p[1]!, 0, 0, p[2]!, p[3]!, 0])]);
  const windows: string[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const starts = [i * d[0]!, j * d[1]!];
      const ends = [starts[0]! + (ho - 1) * s[0]! + 1, starts[1]! + (wo - 1) * s[1]! + 1];
      const whole = starts.every((v) => v === 0) && ends[0] === xd[2]! + p[0]! + p[2]! && ends[1] === xd[3]! + p[1]! + p[3]! && s.every((v) => v === 1);
      windows.push(whole ? xt : e.op('Slice', [xt, e.ints(starts), e.ints(ends), e.ints([1, 2]), e.ints(s)]));
    }
  }
  const cols = e.reshape(windows.length === 1 ? windows[0]! : e.op('Concat', windows, { axis: attr.int(3) }), [-1, kh * kw * c]);
  const wr = e.reshape(e.transpose(w, [2, 3, 1, 0]), [kh * kw * c, k]);
  const y = b ? e.op('Gemm', [cols, wr, b]) : e.matmul(cols, wr);
  return e.transpose(e.reshape(y, [-1, ho, wo, k]), [0, 3, 1, 2]);
}
