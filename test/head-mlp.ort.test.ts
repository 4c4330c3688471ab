import { afterAll, describe, expect, it } from 'vitest';
import { Rng, Session, attr, dropoutFeeds, f32, type Graph } from '../src/engine/index.js';
import { createBackbone, resolveHead, selectTrainable } from '../src/models/index.js';
import { RunConfig } from '../src/run/index.js';
import { expectAllClose } from './helpers/all-close.js';

const N = 3, C = 4, S = 6, K = 3;

/** A tiny "backbone": x [N,3,6,6] → Conv 1×1 (4 maps, `features`) → GlobalAveragePool → Flatten (`embedding` [N,4]). */
function tinyBackbone(): Graph {
  const w = f32(Array.from({ length: C * 3 }, (_, i) => Math.sin(i + 1) * 0.5), [C, 3, 1, 1]);
  return {
    name: 'tiny', opset: 17, valueInfo: new Map(), initializers: new Map([['conv_w', w]]),
    inputs: [{ name: 'input', dtype: 'float32', dims: ['N', 3, S, S] }],
    outputs: [{ name: 'embedding', dtype: 'float32', dims: ['N', C] }],
    nodes: [
      { opType: 'Conv', name: 'conv', domain: '', inputs: ['input', 'conv_w'], outputs: ['features'], attrs: {} },
      { opType: 'GlobalAveragePool', name: 'gap', domain: '', inputs: ['features'], outputs: ['pooled'], attrs: {} },
      { opType: 'Flatten', name: 'flat', domain: '', inputs: ['pooled'], outputs: ['embedding'], attrs: { axis: attr.int(1) } },
    ],
  };
}

/** y = x·Wᵀ + b for row-major x [n,i], W [o,i] (PyTorch's nn.Linear layout). */
function linear(x: number[][], w: Float32Array, b: Float32Array, out: number): number[][] {
  return x.map((row) => Array.from({ length: out }, (_, o) => row.reduce((s, v, i) => s + v * w[o * row.length + i]!, b[o]!)));
}

describe('MLP head with a list of hidden widths', () => {
  const sessions: Session[] = [];
  afterAll(async () => { for (const s of sessions) await s.dispose(); });
  const x = Float32Array.from({ length: N * 3 * S * S }, (_, i) => Math.cos(i * 0.37));

  it('hidden [16, 8]: linear–ReLU blocks fc1, fc2 then fc3, a dropout before fc2 and fc3; eval logits match a hand-written forward', async () => {
    const net = createBackbone(tinyBackbone(), { numClasses: K, head: { kind: 'mlp', hidden: [16, 8], dropout: 0.5 }, rng: new Rng(0) });
    expect(selectTrainable(net, 'head')).toEqual(['head.fc1.weight', 'head.fc1.bias', 'head.fc2.weight', 'head.fc2.bias', 'head.fc3.weight', 'head.fc3.bias']);
    expect(net.shapes.get('head.fc1.weight')).toEqual([16, C]);
    expect(net.shapes.get('head.fc2.weight')).toEqual([8, 16]);
    expect(net.shapes.get('head.fc3.weight')).toEqual([K, 8]);
    expect(Object.keys(dropoutFeeds(net, new Rng(1), N))).toHaveLength(2);

    const s = await Session.create(net.inferenceGraph(), { threads: 1 });
    sessions.push(s);
    const out = await s.run({ x: f32(x, [N, 3, S, S]) }, ['logits']);
    // the embedding by hand: a 1×1 conv then the spatial mean = the conv weights times the channel means
    const w = tinyBackbone().initializers.get('conv_w')!.data as Float32Array;
    const means = Array.from({ length: N }, (_, n) => [0, 1, 2].map((k) => x.subarray((n * 3 + k) * S * S, (n * 3 + k + 1) * S * S).reduce((a, v) => a + v, 0) / (S * S)));
    const rows = means.map((m) => Array.from({ length: C }, (_, c) => m.reduce((a, v, k) => a + v * w[c * 3 + k]!, 0)));
    const p = (n: string) => net.params.get(n)!;
    const relu = (m: number[][]) => m.map((r) => r.map((v) => Math.max(0, v)));
    const h1 = relu(linear(rows, p('head.fc1.weight'), p('head.fc1.bias'), 16));
    const h2 = relu(linear(h1, p('head.fc2.weight'), p('head.fc2.bias'), 8));
    const want = linear(h2, p('head.fc3.weight'), p('head.fc3.bias'), K).flat();
    expectAllClose(out.logits!.data as Float32Array, want, { rtol: 1e-5, atol: 1e-6, label: 'logits' });

    const train = await Session.create(net.trainGraph(), { threads: 1 });
    sessions.push(train);
    const t = await train.run({ x: f32(x, [N, 3, S, S]), ...dropoutFeeds(net, new Rng(2), N) }, ['logits']);
    expect(t.logits!.dims).toEqual([N, K]);
  });

  it('a single width keeps the old head (fc1, fc2 and one dropout), and linear stays head.fc', () => {
    const one = createBackbone(tinyBackbone(), { numClasses: K, head: { kind: 'mlp', hidden: 32 }, rng: new Rng(0) });
    expect(selectTrainable(one, 'head')).toEqual(['head.fc1.weight', 'head.fc1.bias', 'head.fc2.weight', 'head.fc2.bias']);
    expect(Object.keys(dropoutFeeds(one, new Rng(1), N))).toHaveLength(1);
    const lin = createBackbone(tinyBackbone(), { numClasses: K, rng: new Rng(0) });
    expect(selectTrainable(lin, 'head')).toEqual(['head.fc.weight', 'head.fc.bias']);
  });

  it('model.head in a run config: linear, mlp, or { hidden, dropout } (an MLP; dropout falls back to model.dropout)', () => {
    const cfg = (head: unknown, dropout = 0.2) => RunConfig.parse({ data: { source: 'phantom:' }, model: { arch: 'backbone', backbone: 'x.onnx', head, dropout } }).model;
    const m = cfg({ hidden: [512, 128], dropout: 0.5 });
    expect(resolveHead(m.head, m.dropout)).toEqual({ kind: 'mlp', hidden: [512, 128], dropout: 0.5 });
    const m2 = cfg({ hidden: 64 }, 0.3);
    expect(resolveHead(m2.head, m2.dropout)).toEqual({ kind: 'mlp', hidden: 64, dropout: 0.3 });
    expect(resolveHead(cfg('mlp').head, 0.2)).toEqual({ kind: 'mlp', hidden: 256, dropout: 0.2 });
    expect(resolveHead(cfg(undefined).head, 0.2)).toEqual({ kind: 'linear', hidden: 256, dropout: 0.2 });
    expect(RunConfig.safeParse({ data: { source: 'phantom:' }, model: { head: { hidden: [] } } }).success).toBe(false);
    expect(RunConfig.safeParse({ data: { source: 'phantom:' }, model: { head: { hiden: [8] } } }).success).toBe(false);
  });
});
