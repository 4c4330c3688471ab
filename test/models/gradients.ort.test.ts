import { afterAll, describe, expect, it } from 'vitest';
import { Rng, Session, defineNetwork, f32 } from '../../src/engine/index.js';
import type { Graph, LayerBuilder, Network, RunTensor, Sym, Tensor } from '../../src/engine/index.js';
import { buildTrainingGraph } from '../../src/engine/training-graph.js';
import { resnet, vit } from '../../src/models/index.js';
import { attention } from '../../src/models/vit.js';

// Built-in architectures (scaled down) differentiated by the engine, against central differences of the same
// train-mode forward run by onnxruntime. Errors are max |FD − autodiff| over the probed coordinates of a tensor,
// relative to that tensor's largest gradient. Where onnxruntime has float64 kernels for every op, the FD forward
// runs in float64 (h = 1e-6, tight); otherwise in float32 (h = 1e-3 to 3e-3, where float32 rounding and curvature allow
// only a few per cent).
const N = 4;
const sessions: Session[] = [];
afterAll(async () => { for (const s of sessions) await s.dispose(); });
const open = async (g: Graph) => { const s = await Session.create(g, { threads: 1 }); sessions.push(s); return s; };

/** The graph in double precision: float initializers, inputs, outputs and Cast-to-float become float64. */
function toFloat64(g: Graph): Graph {
  const initializers = new Map<string, Tensor>();
  for (const [k, t] of g.initializers) {
    initializers.set(k, t.dtype === 'float32' ? ({ dtype: 'float64', dims: t.dims, data: Float64Array.from(t.data as Float32Array) } as unknown as Tensor) : t);
  }
  const f64 = <T extends { dtype: string }>(v: T): T => (v.dtype === 'float32' ? { ...v, dtype: 'float64' } : v);
  return {
    ...g, initializers, inputs: g.inputs.map(f64), outputs: g.outputs.map(f64),
    nodes: g.nodes.map((n) => (n.opType === 'Cast' && n.attrs.to?.value === 1 ? { ...n, attrs: { ...n.attrs, to: { type: 'int', value: 11 } } } : n)),
  };
}

async function gradientErrors(net: Network, opts: { float64: boolean; h: number; probes: number }): Promise<{ rel: Record<string, number>; scale: Record<string, number> }> {
  const trainable = [...net.params.keys()];
  const tg = buildTrainingGraph(net.trainGraph(), { trainable, loss: { kind: 'cross-entropy' }, batchSize: N });
  const fg = net.trainGraph();
  for (const p of trainable) { fg.initializers.delete(p); fg.inputs.push({ name: p, dtype: 'float32', dims: [...net.shapes.get(p)!] }); }
  const train = await open(tg.graph);
  const fwd = await open(opts.float64 ? toFloat64(fg) : fg);
  const wrap = (data: Float32Array, dims: readonly number[]): RunTensor =>
    opts.float64 ? { dtype: 'float64', dims, data: Float64Array.from(data) } : f32(data.slice(), dims);
  const xs = Float32Array.from({ length: N * net.inputDims.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i * 1.3));
  const x = f32(xs, [N, ...net.inputDims]);
  const y = [0, 2, 1, 1];
  const probe: Record<string, RunTensor> = { x: wrap(xs, x.dims) };
  const params: Record<string, Tensor> = {};
  for (const p of trainable) {
    params[p] = f32(net.params.get(p)!, net.shapes.get(p)!);
    probe[p] = wrap(net.params.get(p)!, net.shapes.get(p)!);
  }
  const out = await train.run({ x, [tg.labelsInput]: { dtype: 'int64', dims: [N], data: BigInt64Array.from(y.map(BigInt)) }, ...params });
  const loss = async (): Promise<number> => {
    const l = (await fwd.runAny(probe, ['logits'])).logits!.data as Float32Array | Float64Array;
    let sum = 0;
    for (let n = 0; n < N; n++) {
      const row = Array.from(l.subarray(n * 3, n * 3 + 3), Number);
      const m = Math.max(...row);
      sum += m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) - row[y[n]!]!;
    }
    return sum / N;
  };
  const rel: Record<string, number> = {};
  const scales: Record<string, number> = {};
  for (const p of trainable) {
    const g = out[tg.gradOutputs[p]!]!.data as Float32Array;
    const v = probe[p]!.data as Float32Array | Float64Array;
    const scale = Math.max(...Array.from(g, Math.abs));
    const idx = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, opts.probes);
    let worst = 0;
    for (const i of idx) {
      const keep = v[i]!;
      v[i] = keep + opts.h; const lp = await loss();
      v[i] = keep - opts.h; const lm = await loss();
      v[i] = keep;
      worst = Math.max(worst, Math.abs((lp - lm) / (2 * opts.h) - g[i]!));
    }
    rel[p] = scale > 0 ? worst / scale : worst;
    scales[p] = scale;
  }
  return { rel, scale: scales };
}

const tokensHead = (b: LayerBuilder, h: Sym): Sym => b.linear(b.reshape(h, ['N', (h.dims[1] as number) * (h.dims[2] as number)]), 'out', { out: 3 });

describe('gradients of the built-in architectures', () => {
  it('pre-norm multi-head attention (decomposed LayerNorm, q/k/v, softmax, residual) matches float64 central differences', async () => {
    const net = defineNetwork((b, x) => {
      const n = b.layerNorm(x, 'norm1');
      return tokensHead(b, b.add(x, b.scope('attn', () => attention(b, n, 2))));
    }, { name: 'attention', inputDims: [3, 4], numClasses: 3, rng: new Rng(1) });
    // Weights of amplitude 0.5 so attention is far from uniform.
    for (const [p, v] of net.params) v.forEach((_, i, a) => { a[i] = 0.5 * Math.sin(3 * i + p.length); });
    const { rel, scale } = await gradientErrors(net, { float64: true, h: 1e-6, probes: 48 });
    // A key bias shifts every score of a query equally, so softmax cancels it: its gradient is 0 up to rounding.
    expect(scale['attn.k.bias']!).toBeLessThan(1e-6);
    delete rel['attn.k.bias'];
    for (const [p, e] of Object.entries(rel)) expect(e, p).toBeLessThan(1e-4);
  });

  it('ResNet (basic blocks, strided 1×1 shortcut, training-mode BN, ReLU) matches float32 central differences', async () => {
    const net = defineNetwork(resnet({ stem: 'small', blocks: [1, 1], widths: [4, 8], dropout: 0, numClasses: 3 }), {
      name: 'resnet-tiny', inputDims: [2, 8, 8], numClasses: 3, rng: new Rng(1),
    });
    const { rel } = await gradientErrors(net, { float64: false, h: 1e-3, probes: 3 });
    expect(Object.keys(rel)).toContain('layer2.0.downsample.0.weight');
    for (const [p, e] of Object.entries(rel)) expect(e, p).toBeLessThan(3e-2);
  });

  it('ViT (patch conv, class token by Pad, GELU MLP, final norm, class-token MatMul) matches float32 central differences', async () => {
    const net = defineNetwork(vit({ patch: 4, dim: 8, depth: 1, heads: 2, mlpRatio: 2, dropout: 0, numClasses: 3 }), {
      name: 'vit-tiny', inputDims: [1, 8, 8], numClasses: 3, rng: new Rng(1),
    });
    const { rel } = await gradientErrors(net, { float64: false, h: 3e-3, probes: 3 });
    // q and k gradients are ≈ 0.02² small at this init, below float32 FD resolution: the float64 attention test covers them.
    for (const p of Object.keys(rel)) if (/attn\.(q|k)\./.test(p)) delete rel[p];
    expect(Object.keys(rel)).toEqual(expect.arrayContaining(['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'blocks.0.mlp.fc1.weight', 'head.weight']));
    for (const [p, e] of Object.entries(rel)) expect(e, p).toBeLessThan(3e-2);
  });
});
