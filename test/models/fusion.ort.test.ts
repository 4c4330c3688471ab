import { afterAll, describe, expect, it } from 'vitest';
import { Rng, Session, cutGraph, f32, loadModel, saveModel, type Graph, type Tensor } from '../../src/engine/index.js';
import { buildTrainingGraph } from '../../src/engine/training-graph.js';
import { TABULAR_INPUT, createBackbone, createModel } from '../../src/models/index.js';
import { expectAllClose } from '../helpers/all-close.js';

// Early fusion: the image embedding [N,D] ⊕ the tabular input tab [N,F] → dropout → linear. The fused training graph's
// gradients (engine autodiff) against central finite differences of its loss through onnxruntime, and the head's
// linearity in tab against the weights themselves.
const N = 4;
const F = 5;
const K = 3;
const sessions: Session[] = [];
afterAll(async () => { for (const s of sessions) await s.dispose(); });
const open = async (g: Graph) => { const s = await Session.create(g, { threads: 1 }); sessions.push(s); return s; };

const seeded = (rng: Rng, n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));

describe('image + tabular fusion network', () => {
  const net = createModel('compact-cnn', { inChannels: 2, numClasses: K, inputSize: 8, width: 0.125, tabularFeatures: F, rng: new Rng(5).fork('init') });
  const rng = new Rng(11);
  const x = f32(seeded(rng, N * 2 * 8 * 8), [N, 2, 8, 8]);
  const tab = f32(seeded(rng, N * F), [N, F]);
  const labels: Tensor = { dtype: 'int64', dims: [N], data: BigInt64Array.from([0n, 2n, 1n, 1n]) };

  it('has two graph inputs (x [N,C,H,W], tab [N,F]) in every graph, and the head reads D + F features', () => {
    for (const g of [net.trainGraph(), net.evalGraph(), net.inferenceGraph()]) {
      expect(g.inputs.filter((v) => !net.shapes.has(v.name) && !v.name.startsWith('drop')).map((v) => [v.name, v.dims])).toEqual([['x', ['N', 2, 8, 8]], [TABULAR_INPUT, ['N', F]]]);
    }
    expect(net.shapes.get('fc.weight')).toEqual([K, 16 + F]);
    expect(net.head).toEqual(['fc.weight', 'fc.bias']);
  });

  it('training-graph gradients (trunk convs and BN behind the Concat, head incl. its tabular columns) match finite differences', async () => {
    const trainable = [...net.params.keys()];
    const tg = buildTrainingGraph(net.trainGraph(), { trainable, loss: { kind: 'cross-entropy', classWeights: [1, 2, 0.5] }, batchSize: N });
    const feeds: Record<string, Tensor> = { x, [TABULAR_INPUT]: tab, [tg.labelsInput]: labels };
    for (const p of trainable) feeds[p] = f32(net.params.get(p)!.slice(), net.shapes.get(p)!);
    const analytic = await (await open(tg.graph)).run(feeds);
    // The loss alone (backward nodes pruned) through onnxruntime, probed at each tensor's 6 largest gradient entries
    // with central differences, h = 3e-4 (onnxruntime has no float64 Conv, so float32: round-off ≈ 1e-7/h of the
    // loss); within 0.5 % of the tensor's largest gradient. conv0/bn1 get their gradient through Concat's Slice of dY.
    const lossGraph: Graph = { ...tg.graph, nodes: cutGraph(tg.graph, ['loss']), outputs: tg.graph.outputs.filter((o) => o.name === 'loss') };
    const fwd = await open(lossGraph);
    const loss = async () => Number((await fwd.run(feeds, ['loss'])).loss!.data[0]);
    const h = 3e-4;
    for (const p of ['conv0.weight', 'bn1.weight', 'conv5.weight', 'bn5.bias', 'fc.weight', 'fc.bias']) {
      const g = analytic[tg.gradOutputs[p]!]!.data as Float32Array;
      const v = feeds[p]!.data as Float32Array;
      const scale = Math.max(...Array.from(g, Math.abs));
      expect(scale, p).toBeGreaterThan(0);
      const probes = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 6);
      for (const i of probes) {
        const keep = v[i]!;
        v[i] = keep + h; const up = await loss();
        v[i] = keep - h; const down = await loss();
        v[i] = keep;
        expect(Math.abs((up - down) / (2 * h) - g[i]!) / scale, `${p}[${i}]: autodiff ${g[i]} vs FD ${(up - down) / (2 * h)}`).toBeLessThan(5e-3);
      }
    }
    // the tabular columns of the head get gradient: Σ_n dL/dlogits[n]·tab[n] ≠ 0
    const gW = analytic[tg.gradOutputs['fc.weight']!]!.data as Float32Array;
    const tabCols = Array.from({ length: K * F }, (_, i) => gW[Math.floor(i / F) * (16 + F) + 16 + (i % F)]!);
    expect(Math.max(...tabCols.map(Math.abs))).toBeGreaterThan(1e-4);
  });

  it('exported logits are linear in tab with the head weights: logits(t1) − logits(t2) = (t1 − t2)·W_tabᵀ', async () => {
    const s = await open(loadModel(saveModel(net.inferenceGraph())));
    const t2 = f32(seeded(new Rng(3), N * F, 2), [N, F]);
    const l1 = (await s.run({ x, [TABULAR_INPUT]: tab }, ['logits'])).logits!.data as Float32Array;
    const l2 = (await s.run({ x, [TABULAR_INPUT]: t2 }, ['logits'])).logits!.data as Float32Array;
    const W = net.params.get('fc.weight')!;
    const expected = new Float64Array(N * K);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
      for (let j = 0; j < F; j++) expected[n * K + k] += (tab.data[n * F + j]! - t2.data[n * F + j]!) * W[k * (16 + F) + 16 + j]!;
    }
    expectAllClose(Array.from(l1, (v, i) => v - l2[i]!), expected, { atol: 1e-5, rtol: 1e-4, label: 'Δlogits' });
  });

  it('an imported backbone takes tab too (its head reads embedding ⊕ tab)', () => {
    const g: Graph = {
      name: 'tiny', opset: 17, valueInfo: new Map(), initializers: new Map([['w', f32(seeded(new Rng(1), 4 * 3 * 3 * 3), [4, 3, 3, 3])]]),
      inputs: [{ name: 'img', dtype: 'float32', dims: [1, 3, 8, 8] }], outputs: [{ name: 'embedding', dtype: 'float32', dims: [1, 4] }],
      nodes: [
        { opType: 'Conv', name: 'c', domain: '', inputs: ['img', 'w'], outputs: ['features'], attrs: {} },
        { opType: 'GlobalAveragePool', name: 'p', domain: '', inputs: ['features'], outputs: ['pooled'], attrs: {} },
        { opType: 'Flatten', name: 'f', domain: '', inputs: ['pooled'], outputs: ['embedding'], attrs: {} },
      ],
    };
    const bb = createBackbone(g, { numClasses: K, tabularFeatures: F, head: { kind: 'mlp', hidden: 6 }, rng: new Rng(0) });
    expect(bb.inferenceGraph().inputs.map((v) => v.name)).toEqual(['x', TABULAR_INPUT]);
    expect(bb.shapes.get('head.fc1.weight')).toEqual([6, 4 + F]);
  });
});
