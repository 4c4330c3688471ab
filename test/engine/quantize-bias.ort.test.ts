// Empirical bias correction (correctBiases) against a plain-JS reference of the quantized arithmetic, and its effect
// on the int8 session onnxruntime fuses (QGemm): the mean output shift on the calibration images goes to ~0.
import { describe, expect, it } from 'vitest';
import { Session, cloneGraph, correctBiases, int8MaySaturate, rewriteQdq, saveModel, type CalibrationFeeds, type Graph, type QdqPlan, type QuantRange } from '../../src/engine/index.js';
import { attr } from '../../src/engine/graph/types.js';

let seed = 7;
const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
const fill = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());

// the arithmetic the int8 model does, written out independently of the engine
const qx = (v: number, r: QuantRange) => {
  const s = Math.fround((Math.max(0, r.max) - Math.min(0, r.min)) / 255);
  const z = Math.round(-Math.min(0, r.min) / s);
  return (Math.max(0, Math.min(255, Math.round(v / s) + z)) - z) * s;
};
const qw = (w: Float32Array, rows: number, qmax = 127) => {
  const per = w.length / rows;
  const out = new Float32Array(w.length);
  for (let c = 0; c < rows; c++) {
    let m = 0;
    for (let j = 0; j < per; j++) m = Math.max(m, Math.abs(w[c * per + j]!));
    const s = Math.fround(m / qmax);
    for (let j = 0; j < per; j++) out[c * per + j] = Math.round(w[c * per + j]! / s) * s;
  }
  return out;
};

const N = 40;
const K = 6;
const C = 3;

function gemmGraph(w: Float32Array, b: Float32Array): Graph {
  return {
    name: 'gemm', opset: 17, valueInfo: new Map(),
    inputs: [{ name: 'x', dtype: 'float32', dims: ['n', K] }],
    outputs: [{ name: 'y', dtype: 'float32', dims: ['n', C] }],
    initializers: new Map([['w', { dtype: 'float32', dims: [C, K], data: w }], ['b', { dtype: 'float32', dims: [C], data: b }]]),
    nodes: [{ opType: 'Gemm', name: 'fc', domain: '', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { transB: attr.int(1) } }],
  };
}

const batchesOf = (x: Float32Array, per: number[], size = 16): CalibrationFeeds[] => {
  const n = x.length / per.reduce((a, b) => a * b, 1);
  const out: CalibrationFeeds[] = [];
  for (let s = 0; s < n; s += size) {
    const m = Math.min(size, n - s);
    const k = per.reduce((a, b) => a * b, 1);
    out.push({ x: { dtype: 'float32', dims: [m, ...per], data: x.slice(s * k, (s + m) * k) } });
  }
  return out;
};

async function run(g: Graph, x: Float32Array, per: number[]): Promise<Float32Array> {
  const s = await Session.create(saveModel(g), { threads: 1 });
  try {
    return (await s.run(batchesOf(x, per, x.length)[0]!, ['y'])).y!.data as Float32Array;
  } finally {
    await s.dispose();
  }
}

describe('correctBiases', () => {
  // skewed inputs and a coarse input range, so quantization shifts the mean output visibly
  const x = fill(N * K, -0.3, 2.5);
  const w = fill(C * K, -1, 1);
  const b = fill(C, -0.2, 0.2);
  const range: QuantRange = { min: -0.3, max: 2.5 };
  const plan: QdqPlan = { tensors: ['x'], shared: new Map() };
  const ranges = new Map([['x', range]]);

  it('subtracts the mean of Wq·Q(x) − W·x per output channel (Gemm), as the JS reference computes it', async () => {
    const g = gemmGraph(w, b);
    const r = await correctBiases(g, plan, ranges, batchesOf(x, [K]), 1);
    expect(r.layers).toBe(1);
    const wq = qw(w, C);
    const want = Array.from(b, (bc, c) => {
      let d = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) d += qx(x[n * K + k]!, range) * wq[c * K + k]! - x[n * K + k]! * w[c * K + k]!;
      return bc - d / N;
    });
    const got = Array.from(g.initializers.get(g.nodes[0]!.inputs[2]!)!.data as Float32Array);
    got.forEach((v, c) => expect(v).toBeCloseTo(want[c]!, 5));
    expect(r.maxAbs).toBeGreaterThan(1e-3); // the case is not trivially unbiased
  });

  it('a Conv without a bias gets one; per-channel means over batch and space match the reference', async () => {
    const H = 4;
    const xc = fill(N * 2 * H * H, 0, 3);
    const wc = fill(2 * 2 * 2 * 2, -1, 1); // [2 out, 2 in, 2, 2]
    const g: Graph = {
      name: 'conv', opset: 17, valueInfo: new Map(),
      inputs: [{ name: 'x', dtype: 'float32', dims: ['n', 2, H, H] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: ['n', 2, H - 1, H - 1] }],
      initializers: new Map([['w', { dtype: 'float32', dims: [2, 2, 2, 2], data: wc }]]),
      nodes: [{ opType: 'Conv', name: 'conv', domain: '', inputs: ['x', 'w'], outputs: ['y'], attrs: { kernel_shape: attr.ints([2, 2]) } }],
    };
    const rc: QuantRange = { min: 0, max: 3 };
    await correctBiases(g, plan, new Map([['x', rc]]), batchesOf(xc, [2, H, H]), 1);
    const wq = qw(wc, 2);
    const at = (a: Float32Array, n: number, ci: number, i: number, j: number) => a[((n * 2 + ci) * H + i) * H + j]!;
    const want = [0, 1].map((co) => {
      let d = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < H - 1; i++) for (let j = 0; j < H - 1; j++)
        for (let ci = 0; ci < 2; ci++) for (let u = 0; u < 2; u++) for (let v = 0; v < 2; v++) {
          const k = ((co * 2 + ci) * 2 + u) * 2 + v;
          const xv = at(xc, n, ci, i + u, j + v);
          d += qx(xv, rc) * wq[k]! - xv * wc[k]!;
        }
      return -d / (N * (H - 1) * (H - 1));
    });
    expect(g.nodes[0]!.inputs).toHaveLength(3);
    const got = Array.from(g.initializers.get(g.nodes[0]!.inputs[2]!)!.data as Float32Array);
    got.forEach((v, c) => expect(v).toBeCloseTo(want[c]!, 5));
  });

  // reduceRange keeps |w| ≤ 64, so onnxruntime's u8·s8 kernels compute the QDQ arithmetic exactly on every CPU (x86
  // without VNNI saturates 16-bit pair sums at full range: 255·127·2 > 32767)
  const fused = async (correct: boolean, reduceRange: boolean) => {
    const g = gemmGraph(w, b);
    const p: QdqPlan = { ...plan, reduceRange };
    if (correct) await correctBiases(g, p, ranges, batchesOf(x, [K]), 1);
    rewriteQdq(g, p, ranges);
    return run(cloneGraph(g), x, [K]);
  };

  it('reduceRange: the fused QGemm output is the integer arithmetic of the JS reference with 7-bit weights', async () => {
    const q = await fused(false, true);
    const wq = qw(w, C, 64);
    const s = Math.fround((2.5 + 0.3) / 255);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
      let y = b[c]!;
      for (let k = 0; k < K; k++) y += qx(x[n * K + k]!, range) * wq[c * K + k]!;
      // the bias is stored as int32 at x_scale·w_scale: half a step of rounding, plus float summation order
      expect(Math.abs(q[n * C + c]! - y)).toBeLessThan(s * (Math.max(...Array.from(w.slice(c * K, c * K + K), Math.abs)) / 64) + 1e-5);
    }
  });

  it("onnxruntime's fused int8 model (QGemm, 7-bit weights) has ~0 mean output shift on the calibration images after correction", async () => {
    const ref = await run(gemmGraph(w, b), x, [K]);
    const shift = async (correct: boolean) => {
      const q = await fused(correct, true);
      return [0, 1, 2].map((c) => { let d = 0; for (let n = 0; n < N; n++) d += q[n * C + c]! - ref[n * C + c]!; return Math.abs(d / N); });
    };
    const before = await shift(false);
    const after = await shift(true);
    expect(Math.max(...before)).toBeGreaterThan(2e-3);
    // what remains is the int32 bias rounding (x_scale·w_scale ≈ 1e-4) and float summation order
    expect(Math.max(...after)).toBeLessThan(Math.max(...before) / 20);
  });

  it('int8MaySaturate reads VNNI from the CPU flags; Arm never saturates', () => {
    expect(int8MaySaturate('flags\t\t: fpu sse2 avx avx2 fma\n', 'x64')).toBe(true);
    expect(int8MaySaturate('flags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n', 'x64')).toBe(false);
    expect(int8MaySaturate('flags\t\t: fpu avx2 avx_vnni\n', 'x64')).toBe(false);
    expect(int8MaySaturate('', 'arm64')).toBe(false);
  });
});
