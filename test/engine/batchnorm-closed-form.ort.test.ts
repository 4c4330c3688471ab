import { describe, expect, it } from 'vitest';
import { Emitter, ParameterStore, Rng, Session, bindParams, defineNetwork, differentiate, f32, gradientOrigins, inferShapes } from '../../src/engine/index.js';
import type { Graph, LayerBuilder, Sym, Tensor } from '../../src/engine/index.js';

// The builder's train-mode batch norm is differentiated in closed form (batchnorm-composite.ts); op-by-op autodiff
// of the same decomposition (checked against finite differences in builder-bn.ort.test.ts) is the reference.
const def = (b: LayerBuilder, x: Sym): Sym => {
  let h = b.relu(b.batchNorm(b.conv2d(x, 'c1', { out: 8, kernel: 3, padding: 1, bias: false }), 'bn1'));
  h = b.batchNorm(b.conv2d(h, 'c2', { out: 8, kernel: 3, padding: 1, bias: false }), 'bn2', { eps: 1e-3 });
  h = b.relu(b.add(h, b.conv2d(x, 'skip', { out: 8, kernel: 1, bias: false })));
  return b.batchNorm(b.linear(b.flatten(b.globalAvgPool(h)), 'fc', { out: 4, bias: false }), 'bn_fc'); // a bias before a BN has a zero gradient
};

function gradients(closedFormBatchNorm: boolean): { graph: Graph; wrt: string[]; feeds: Record<string, Tensor> } {
  const rng = new Rng(21);
  const net = defineNetwork(def, { name: 'bn-closed-form', inputDims: [3, 6, 6], numClasses: 4, rng: rng.fork('init') });
  const params = ParameterStore.fromWeights(net.params, net.shapes);
  const graph = bindParams(net.trainGraph(), params);
  const wrt = params.trainableNames();
  for (const p of wrt) {
    const t = graph.initializers.get(p)!;
    graph.initializers.delete(p);
    graph.inputs.push({ name: p, dtype: 'float32', dims: [...t.dims] });
  }
  graph.inputs[0]!.dims = [5, 3, 6, 6];
  const d = rng.fork('data');
  const e = new Emitter(graph, 'loss');
  const r = e.constant(f32(Float32Array.from({ length: 20 }, () => d.normal()), [5, 4]), 'R');
  const loss = e.reduceSum(e.mul(graph.outputs[0]!.name, r), [0, 1], false);
  const dims = Object.fromEntries(graph.inputs.map((v) => [v.name, v.dims as number[]]));
  const grads = differentiate(graph, { loss, wrt, shapes: inferShapes(graph, dims), closedFormBatchNorm });
  graph.outputs = [...wrt, 'x'].filter((w) => grads.has(w)).map((w) => ({ name: grads.get(w)!, dtype: 'float32', dims: [] }));
  const feeds: Record<string, Tensor> = { x: f32(Float32Array.from({ length: 5 * 108 }, () => d.normal()), [5, 3, 6, 6]) };
  for (const p of wrt) feeds[p] = params.tensor(p);
  return { graph, wrt, feeds };
}

describe('closed-form batch-norm gradients', () => {
  it('match op-by-op autodiff of the decomposition for every parameter (conv, linear and BN; eps 1e-3 included)', async () => {
    const closed = gradients(true), ops = gradients(false);
    const origins = [...gradientOrigins(closed.graph).values()];
    // 16 nodes per batch norm, its bias Add included (4 of them scalar: the per-channel count)
    expect(origins.filter((o) => o === 'BatchNorm (closed form)').length).toBe(3 * 16);
    expect([...gradientOrigins(ops.graph).values()]).not.toContain('BatchNorm (closed form)');
    const run = async (g: Graph, feeds: Record<string, Tensor>) => {
      const s = await Session.create(g, { threads: 1 });
      try { return Object.values(await s.run(feeds)); } finally { await s.dispose(); }
    };
    const [a, b] = [await run(closed.graph, closed.feeds), await run(ops.graph, ops.feeds)];
    expect(a.length).toBe(closed.wrt.length);
    a.forEach((t, i) => {
      const x = t.data as Float32Array, y = b[i]!.data as Float32Array;
      let m = 0, sc = 0;
      for (let j = 0; j < x.length; j++) { m = Math.max(m, Math.abs(x[j]! - y[j]!)); sc = Math.max(sc, Math.abs(y[j]!)); }
      expect(m / sc, closed.wrt[i]).toBeLessThan(1e-5);
    });
  });
});
