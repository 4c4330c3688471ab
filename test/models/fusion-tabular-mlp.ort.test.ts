import { afterAll, describe, expect, it } from 'vitest';
import { Rng, Session, f32 } from '../../src/engine/index.js';
import { TABULAR_INPUT, createModel } from '../../src/models/index.js';
import { expectAllClose } from '../helpers/all-close.js';

// arch tabular-mlp: tab [N,F] → Gemm → ReLU → Gemm; the image input x is declared (so every run tool can feed it) but unread.
const N = 6;
const F = 7;
const K = 4;
const sessions: Session[] = [];
afterAll(async () => { for (const s of sessions) await s.dispose(); });

describe('tabular-mlp (tabular input only)', () => {
  const net = createModel('tabular-mlp', { inChannels: 3, numClasses: K, inputSize: 8, width: 0.25, dropout: 0.2, tabularFeatures: F, rng: new Rng(3).fork('init') });
  const rng = new Rng(9);
  const tab = Float32Array.from({ length: N * F }, () => rng.normal());

  it('gives logits that depend on tab only, equal to relu(tab·W1ᵀ + b1)·W2ᵀ + b2 from its own weights', async () => {
    const g = net.inferenceGraph();
    expect(g.inputs.map((v) => v.name)).toEqual(['x', TABULAR_INPUT]);
    expect(net.shapes.get('fc1.weight')).toEqual([16, F]); // 64 × width
    const s = await Session.create(g, { threads: 1 });
    sessions.push(s);
    const run = async (x: Float32Array) => (await s.run({ x: f32(x, [N, 3, 8, 8]), [TABULAR_INPUT]: f32(tab, [N, F]) }, ['logits'])).logits!.data as Float32Array;
    const a = await run(new Float32Array(N * 3 * 64));
    const b = await run(Float32Array.from({ length: N * 3 * 64 }, () => rng.uniform(-3, 3)));
    expect(Array.from(b)).toEqual(Array.from(a));
    const W1 = net.params.get('fc1.weight')!; const b1 = net.params.get('fc1.bias')!;
    const W2 = net.params.get('fc.weight')!; const b2 = net.params.get('fc.bias')!;
    const H = 16;
    const want = new Float32Array(N * K);
    for (let i = 0; i < N; i++) {
      const h = Array.from({ length: H }, (_, u) => Math.max(0, b1[u]! + Array.from({ length: F }, (_, j) => W1[u * F + j]! * tab[i * F + j]!).reduce((p, q) => p + q, 0)));
      for (let k = 0; k < K; k++) want[i * K + k] = b2[k]! + h.reduce((p, v, u) => p + W2[k * H + u]! * v, 0);
    }
    expectAllClose(a, want, { rtol: 1e-5, atol: 1e-5, label: 'tabular-mlp logits' });
  });

  it('refuses a config without tabular columns with a coded error', () => {
    expect(() => createModel('tabular-mlp', { inChannels: 3, numClasses: K, inputSize: 8, rng: new Rng(1) })).toThrow(/needs tabular features/);
  });
});
