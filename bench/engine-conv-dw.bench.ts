// Conv dW formulations on ResNet-18-28 layer shapes (batch 128, weight gradients of a k×k conv), each timed in its own
// session (min of `runs` after one warm-up), checked against `im2col`:
//   im2col       the rule before: X transposed to [C, N, H, W], padded, k² strided Slices concatenated into
//                [C·k², N·Ho·Wo] columns, one Gemm with dY as [K, N·Ho·Wo];
//   im2col_swapped  the same columns as the Gemm's first operand ([C·k², N·Ho·Wo] × dY as [N·Ho·Wo, K]), transposed;
//   shift_k      stride 1: k W-shifted Slices of X and k H-padded copies of dY (not k² windows), one Gemm [k·K, L] ×
//                [L, k·C] whose (i, j) block is dW[:, :, i, j] (L = N·(H+2p)·W); shift_k_batched: the same per image;
//   gemm_k2      k² Gemms (one per kernel offset, each [K, N·Ho·Wo] × [N·Ho·Wo, C]), results concatenated;
//   batched_mm   per-image columns [N, C·k², Ho·Wo] (Slices of the padded NCHW X, no transposes), one com.microsoft
//                FusedMatMul with transB against dY as [N, K, Ho·Wo] → [N, K, C·k²], ReduceSum over N;
// (Also tried: the textbook Conv over batch↔channel-swapped tensors run by onnxruntime's NCHWc kernel, X as [C, N, H, W]
// and dY as an OIHWBiBo kernel — 1.4–6× slower than im2col at load ≈ 8: a 28×28 kernel over a 3×3 output.)
// Prints one JSON line per shape. Args: [threads=2] [runs=5].
import { cpus, loadavg } from 'node:os';
import { attr } from '../src/engine/index.js';
import type { Emitter, Graph } from '../src/engine/index.js';
import { maxRelDiff, randomFeeds, timeVariants, variantGraph } from './graph-variants.js';

const threads = Number(process.argv[2] ?? 2);
const runs = Number(process.argv[3] ?? 5);
// [N, Cin, Cout, H, kernel, stride]
const SHAPES: [number, number, number, number, number, number][] = [
  [128, 1, 64, 28, 3, 1], [128, 64, 64, 28, 3, 1], [128, 64, 128, 28, 3, 2], [128, 128, 128, 14, 3, 1],
  [128, 64, 128, 28, 1, 2], [128, 256, 256, 7, 3, 1], [128, 512, 512, 4, 3, 1],
];
const ms = (e: Emitter, op: string, ins: string[], attrs: Record<string, ReturnType<typeof attr.int>>, domain: string): string => {
  const out = e.op(op, ins, attrs);
  e.graph.nodes.at(-1)!.domain = domain;
  return out;
};

for (const [N, C, K, H, k, S] of SHAPES) {
  const p = (k - 1) / 2;
  const Ho = Math.floor((H + 2 * p - k) / S) + 1, P = Ho * Ho;
  const inputs = [{ name: 'X', dtype: 'float32' as const, dims: [N, C, H, H] }, { name: 'dY', dtype: 'float32' as const, dims: [N, K, Ho, Ho] }];
  const make = (build: (e: Emitter) => string): Graph => {
    const g = variantGraph('conv-dw', inputs, build);
    g.extraOpsets = { 'com.microsoft': 1 };
    return g;
  };
  const offsets = [...Array(k * k).keys()].map((i) => [Math.floor(i / k), i % k] as const);
  const window = (e: Emitter, v: string, [i, j]: readonly [number, number]) => (k === 1 && S === 1 ? v
    : e.op('Slice', [v, e.ints([i, j]), e.ints([i + (Ho - 1) * S + 1, j + (Ho - 1) * S + 1]), e.ints([2, 3]), e.ints([S, S])]));
  const pad = (e: Emitter, v: string) => (p > 0 ? e.op('Pad', [v, e.ints([0, 0, p, p, 0, 0, p, p])]) : v);
  const variants: Record<string, Graph> = {
    im2col: make((e) => {
      const xt = e.transpose(pad(e, 'X'), [1, 0, 2, 3]);
      const sl = offsets.map((o) => e.op('Unsqueeze', [window(e, xt, o), e.ints([1])]));
      const cols = e.reshape(sl.length === 1 ? sl[0]! : e.op('Concat', sl, { axis: attr.int(1) }), [C * k * k, -1]);
      return e.reshape(e.op('Gemm', [e.reshape(e.transpose('dY', [1, 0, 2, 3]), [K, -1]), cols], { transB: attr.int(1) }), [K, C, k, k]);
    }),
    im2col_swapped: make((e) => {
      const xt = e.transpose(pad(e, 'X'), [1, 0, 2, 3]);
      const sl = offsets.map((o) => e.op('Unsqueeze', [window(e, xt, o), e.ints([1])]));
      const cols = e.reshape(sl.length === 1 ? sl[0]! : e.op('Concat', sl, { axis: attr.int(1) }), [C * k * k, -1]);
      return e.reshape(e.transpose(e.op('Gemm', [cols, e.reshape(e.transpose('dY', [1, 0, 2, 3]), [K, -1])], { transB: attr.int(1) }), [1, 0]), [K, C, k, k]);
    }),
    ...(S === 1 && k > 1 ? {
      shift_k: make((e) => {
        // X shifted in W only (k Slices of [C, N, H+2p, W]), dY padded in H at k offsets (k Pads): one Gemm
        // [k·K, L] × [L, k·C] whose (i, j) block is dW[:, :, i, j], L = N·(H+2p)·W.
        const xt = e.transpose(pad(e, 'X'), [1, 0, 2, 3]);
        const xs = [...Array(k).keys()].map((j) => e.reshape(e.op('Slice', [xt, e.ints([j]), e.ints([j + H]), e.ints([3])]), [C, -1]));
        const dyt = e.transpose('dY', [1, 0, 2, 3]);
        const ds = [...Array(k).keys()].map((i) => e.reshape(e.op('Pad', [dyt, e.ints([0, 0, i, 0, 0, 0, 2 * p - i, 0])]), [K, -1]));
        const gm = e.op('Gemm', [e.op('Concat', ds, { axis: attr.int(0) }), e.op('Concat', xs, { axis: attr.int(0) })], { transB: attr.int(1) });
        return e.transpose(e.reshape(gm, [k, K, k, C]), [1, 3, 0, 2]);
      }),
      shift_k_batched: make((e) => {
        const xp = pad(e, 'X');
        const xs = [...Array(k).keys()].map((j) => e.op('Slice', [xp, e.ints([j]), e.ints([j + H]), e.ints([3])]));
        const ds = [...Array(k).keys()].map((i) => e.op('Pad', ['dY', e.ints([0, 0, i, 0, 0, 0, 2 * p - i, 0])]));
        const cat = (v: string[], c: number) => e.reshape(e.op('Concat', v, { axis: attr.int(1) }), [0, k * c, -1]);
        const mm = ms(e, 'FusedMatMul', [cat(ds, K), cat(xs, C)], { transB: attr.int(1) }, 'com.microsoft');
        return e.transpose(e.reshape(e.reduceSum(mm, [0], false), [k, K, k, C]), [1, 3, 0, 2]);
      }),
    } : {}),
    gemm_k2: make((e) => {
      const xt = e.transpose(pad(e, 'X'), [1, 0, 2, 3]);
      const dy = e.reshape(e.transpose('dY', [1, 0, 2, 3]), [K, -1]);
      const parts = offsets.map((o) => e.op('Unsqueeze', [e.op('Gemm', [dy, e.reshape(window(e, xt, o), [C, -1])], { transB: attr.int(1) }), e.ints([2])]));
      return e.reshape(parts.length === 1 ? parts[0]! : e.op('Concat', parts, { axis: attr.int(2) }), [K, C, k, k]);
    }),
    batched_mm: make((e) => {
      const xp = pad(e, 'X');
      const sl = offsets.map((o) => e.op('Unsqueeze', [window(e, xp, o), e.ints([2])]));
      const cols = e.reshape(sl.length === 1 ? sl[0]! : e.op('Concat', sl, { axis: attr.int(2) }), [0, C * k * k, P]);
      const mm = ms(e, 'FusedMatMul', [e.reshape('dY', [0, K, P]), cols], { transB: attr.int(1) }, 'com.microsoft');
      return e.reshape(e.reduceSum(mm, [0], false), [K, C, k, k]);
    }),
  };
  const feeds = randomFeeds({ X: [N, C, H, H], dY: [N, K, Ho, Ho] });
  const load0 = loadavg()[0]!;
  const { minMs, minCpuMs, out } = await timeVariants(variants, feeds, threads, runs);
  console.log(JSON.stringify({
    name: 'engine-conv-dw', config: { N, C, K, H, kernel: k, stride: S, threads }, min_ms: minMs, min_cpu_ms: minCpuMs,
    rel_err: Object.fromEntries(Object.keys(variants).filter((v) => v !== 'im2col').map((v) => [v, maxRelDiff(out[v], out.im2col)])),
    load: [load0, loadavg()[0]], cpu: cpus()[0]?.model, cores: cpus().length,
  }));
}
