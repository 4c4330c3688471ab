import { afterAll, describe, expect, it } from 'vitest';
import { Rng, Session, defineNetwork, f32, loadModel, saveModel } from '../../src/engine/index.js';
import type { LayerBuilder, Network, Sym, Tensor } from '../../src/engine/index.js';
import { buildTrainingGraph } from '../../src/engine/training-graph.js';

// conv(3→4, 3×3, pad 1) → batch-norm → flatten → linear(64→3): small enough for a float64 reference in TS.
const N = 5, C = 3, H = 4, W = 4, K = 4, CLASSES = 3;
const def = (b: LayerBuilder, x: Sym): Sym =>
  b.linear(b.flatten(b.batchNorm(b.conv2d(x, 'conv', { out: K, kernel: 3, padding: 1, bias: false }), 'bn')), 'fc', { out: CLASSES });

function setup(): { net: Network; x: Tensor<'float32'>; y: number[] } {
  const rng = new Rng(11);
  const net = defineNetwork(def, { name: 'bn-check', inputDims: [C, H, W], numClasses: CLASSES, rng: rng.fork('init') });
  const r = rng.fork('values');
  // Non-trivial BN affine and running statistics, so every term of the formulas matters.
  for (const name of ['bn.weight', 'bn.bias', 'bn.running_mean']) {
    const v = net.params.get(name) ?? net.buffers.get(name)!;
    for (let i = 0; i < v.length; i++) v[i] = r.uniform(0.5, 1.5) * (name === 'bn.bias' || name === 'bn.running_mean' ? (i % 2 ? 1 : -1) : 1);
  }
  const rv = net.buffers.get('bn.running_var')!;
  for (let i = 0; i < rv.length; i++) rv[i] = r.uniform(0.5, 3);
  const x = f32(Float32Array.from({ length: N * C * H * W }, () => r.normal()), [N, C, H, W]);
  return { net, x, y: [0, 2, 1, 1, 0] };
}

/** Float64 forward in training mode with torch's formulas: biased variance to normalise, unbiased one published. */
function referenceForward(p: Map<string, Float64Array>, x: Float64Array): { logits: Float64Array; mean: Float64Array; varUnbiased: Float64Array } {
  const conv = new Float64Array(N * K * H * W);
  const wt = p.get('conv.weight')!;
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
    let s = 0;
    for (let c = 0; c < C; c++) for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) {
      const ii = i + di, jj = j + dj;
      if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
      s += x[((n * C + c) * H + ii) * W + jj]! * wt[((k * C + c) * 3 + di + 1) * 3 + dj + 1]!;
    }
    conv[((n * K + k) * H + i) * W + j] = s;
  }
  const m = N * H * W;
  const mean = new Float64Array(K), varB = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let q = 0; q < H * W; q++) s += conv[(n * K + k) * H * W + q]!;
    mean[k] = s / m;
    let v = 0;
    for (let n = 0; n < N; n++) for (let q = 0; q < H * W; q++) v += (conv[(n * K + k) * H * W + q]! - mean[k]!) ** 2;
    varB[k] = v / m;
  }
  const g = p.get('bn.weight')!, beta = p.get('bn.bias')!, fw = p.get('fc.weight')!, fb = p.get('fc.bias')!;
  const F = K * H * W;
  const logits = new Float64Array(N * CLASSES);
  for (let n = 0; n < N; n++) for (let o = 0; o < CLASSES; o++) {
    let s = fb[o]!;
    for (let f = 0; f < F; f++) {
      const k = Math.floor(f / (H * W));
      const yv = ((conv[n * F + f]! - mean[k]!) / Math.sqrt(varB[k]! + 1e-5)) * g[k]! + beta[k]!;
      s += yv * fw[o * F + f]!;
    }
    logits[n * CLASSES + o] = s;
  }
  return { logits, mean, varUnbiased: varB.map((v) => (v * m) / (m - 1)) };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};
const to64 = (m: Map<string, Float32Array>) => new Map([...m].map(([k, v]) => [k, Float64Array.from(v)]));

const sessions: Session[] = [];
afterAll(async () => { for (const s of sessions) await s.dispose(); });
const open = async (g: Parameters<typeof Session.create>[0]) => { const s = await Session.create(g, { threads: 1 }); sessions.push(s); return s; };

describe('training-mode batch-norm decomposition', () => {
  it('matches the float64 torch formulas: logits, batch mean and unbiased batch variance', async () => {
    const { net, x } = setup();
    const ref = referenceForward(to64(net.params), Float64Array.from(x.data));
    const out = await (await open(net.trainGraph())).run({ x });
    const s = net.bnStats[0]!;
    expect(maxAbsDiff(out.logits!.data as Float32Array, ref.logits)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out[s.meanOutput]!.data as Float32Array, ref.mean)).toBeLessThan(1e-6);
    expect(maxAbsDiff(out[s.varOutput]!.data as Float32Array, ref.varUnbiased)).toBeLessThan(1e-5);
  });

  it('autodiff gradients through the decomposition match central differences of the float64 forward (conv weight included)', async () => {
    const { net, x, y } = setup();
    const trainable = [...net.params.keys()];
    const tg = buildTrainingGraph(net.trainGraph(), { trainable, loss: { kind: 'cross-entropy' }, batchSize: N, keepOutputs: [] });
    const feeds: Record<string, Tensor> = { x, [tg.labelsInput]: { dtype: 'int64', dims: [N], data: BigInt64Array.from(y.map(BigInt)) } };
    for (const p of trainable) feeds[p] = f32(net.params.get(p)!, net.shapes.get(p)!);
    const out = await (await open(tg.graph)).run(feeds);
    const p64 = to64(net.params);
    const x64 = Float64Array.from(x.data);
    const loss = (): number => {
      const { logits } = referenceForward(p64, x64);
      let s = 0;
      for (let n = 0; n < N; n++) {
        const row = logits.subarray(n * CLASSES, (n + 1) * CLASSES);
        const m = Math.max(...row);
        s += m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) - row[y[n]!]!;
      }
      return s / N;
    };
    expect(out[tg.lossOutput]!.data[0]).toBeCloseTo(loss(), 5);
    const h = 1e-5;
    const worst: Record<string, number> = {};
    for (const p of trainable) {
      const v = p64.get(p)!;
      const fd = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const keep = v[i]!;
        v[i] = keep + h; const lp = loss();
        v[i] = keep - h; const lm = loss();
        v[i] = keep;
        fd[i] = (lp - lm) / (2 * h);
      }
      const g = out[tg.gradOutputs[p]!]!.data as Float32Array;
      const scale = Math.max(...fd.map(Math.abs));
      worst[p] = maxAbsDiff(g, fd) / scale;
    }
    // Relative to each tensor's largest gradient, as the autodiff fixtures: float32 graph vs float64 differences.
    for (const [p, e] of Object.entries(worst)) expect(e, p).toBeLessThan(1e-4);
  });

  it('eval graph (decomposed, running stats) equals the BatchNormalization inference graph and its ONNX round trip', async () => {
    const { net, x } = setup();
    const evalLogits = (await (await open(net.evalGraph())).run({ x })).logits!.data as Float32Array;
    const inf = net.inferenceGraph();
    const infLogits = (await (await open(inf)).run({ x })).logits!.data as Float32Array;
    const reloaded = loadModel(saveModel(inf));
    const rtLogits = (await (await open(reloaded)).run({ x })).logits!.data as Float32Array;
    // Hand check of one logit with running statistics: y = (z − μ_run)/√(σ²_run + ε)·γ + β.
    const p = to64(net.params);
    const rm = net.buffers.get('bn.running_mean')!, rv = net.buffers.get('bn.running_var')!;
    const z = referenceConvOnly(p, Float64Array.from(x.data));
    let l0 = p.get('fc.bias')![0]!;
    for (let f = 0; f < K * H * W; f++) {
      const k = Math.floor(f / (H * W));
      l0 += (((z[f]! - rm[k]!) / Math.sqrt(rv[k]! + 1e-5)) * p.get('bn.weight')![k]! + p.get('bn.bias')![k]!) * p.get('fc.weight')![f]!;
    }
    expect(Math.abs(evalLogits[0]! - l0)).toBeLessThan(1e-5);
    expect(maxAbsDiff(evalLogits, infLogits)).toBeLessThan(1e-5);
    expect(maxAbsDiff(infLogits, rtLogits)).toBe(0);
  });
});

/** conv output of the first image, float64. */
function referenceConvOnly(p: Map<string, Float64Array>, x: Float64Array): Float64Array {
  const out = new Float64Array(K * H * W);
  const wt = p.get('conv.weight')!;
  for (let k = 0; k < K; k++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
    let s = 0;
    for (let c = 0; c < C; c++) for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) {
      const ii = i + di, jj = j + dj;
      if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
      s += x[(c * H + ii) * W + jj]! * wt[((k * C + c) * 3 + di + 1) * 3 + dj + 1]!;
    }
    out[(k * H + i) * W + j] = s;
  }
  return out;
}
