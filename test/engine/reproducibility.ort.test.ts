import { describe, expect, it } from 'vitest';
import { ParameterStore, Rng, Session, bindParams, bnStatOutputs, buildTrainingGraph, defineNetwork, f32, i64 } from '../../src/engine/index.js';
import type { LayerBuilder, Sym, Tensor } from '../../src/engine/index.js';
import { NCHWC_DOMAIN } from '../../src/engine/graph/nchwc-lower.js';
import { nchwcBlockSize } from '../../src/engine/runtime/nchwc.js';

// What is bit-reproducible: the same training graph, feeds and intra-op thread count give bit-identical outputs
// (loss, logits, every gradient), run after run and session after session. A different thread count splits
// reductions (GEMM/conv blocks, ReduceSum) differently, so float32 sums round differently: close, not identical.
const def = (b: LayerBuilder, x: Sym): Sym => {
  let h = b.relu(b.batchNorm(b.conv2d(x, 'c1', { out: 32, kernel: 3, padding: 1, bias: false }), 'bn1'));
  h = b.relu6(b.conv2d(h, 'dw', { out: 32, kernel: 3, padding: 1, stride: 2, group: 32 }));
  h = b.maxPool(b.relu(b.batchNorm(b.conv2d(h, 'c2', { out: 64, kernel: 3, padding: 1, bias: false }), 'bn2')), { kernel: 2, stride: 2 });
  return b.linear(b.flatten(b.globalAvgPool(h)), 'fc', { out: 3 });
};

async function runStep(threads: number, feeds: Record<string, Tensor>, graph: Parameters<typeof Session.create>[0]): Promise<Record<string, Tensor>[]> {
  const s = await Session.create(graph, { threads });
  try {
    return [await s.run(feeds), await s.run(feeds)];
  } finally {
    await s.dispose();
  }
}

const block = await nchwcBlockSize();

describe('reproducibility of a training step', () => {
  it.each([['plain Convs', 0], ["Convs on onnxruntime's NCHWc kernels", block]])('is bit-identical for the same thread count; across 1 and 2 threads it differs only by float32 round-off (%s)', async (_, nchwcBlock) => {
    const rng = new Rng(11);
    const net = defineNetwork(def, { name: 'repro', inputDims: [3, 28, 28], numClasses: 3, rng: rng.fork('init') });
    const params = ParameterStore.fromWeights(net.params, net.shapes);
    const tg = buildTrainingGraph(bindParams(net.trainGraph(), params), { trainable: params.trainableNames(), loss: { kind: 'cross-entropy' }, keepOutputs: bnStatOutputs(net), nchwcBlock });
    if (nchwcBlock) expect(tg.graph.nodes.filter((nd) => nd.domain === NCHWC_DOMAIN && nd.opType === 'Conv').length).toBeGreaterThanOrEqual(3);
    const d = rng.fork('data');
    const n = 32;
    const feeds: Record<string, Tensor> = {
      x: f32(Float32Array.from({ length: n * 3 * 28 * 28 }, () => d.normal()), [n, 3, 28, 28]),
      labels: i64(Array.from({ length: n }, () => d.int(0, 3)), [n]),
    };
    for (const p of params.trainableNames()) feeds[p] = params.tensor(p);
    const [a1, a2] = await runStep(2, feeds, tg.graph);
    const [b1] = await runStep(2, feeds, tg.graph);
    const [c1] = await runStep(1, feeds, tg.graph);
    const names = Object.keys(a1!);
    expect(names.length).toBe(tg.graph.outputs.length);
    let worst = 0;
    for (const k of names) {
      const a = a1![k]!.data as Float32Array;
      expect(Buffer.from(a2![k]!.data.buffer).equals(Buffer.from(a.buffer)), `${k}: second run`).toBe(true);
      expect(Buffer.from(b1![k]!.data.buffer).equals(Buffer.from(a.buffer)), `${k}: second session`).toBe(true);
      const c = c1![k]!.data as Float32Array;
      let m = 0, scale = 0;
      for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i]! - c[i]!)); scale = Math.max(scale, Math.abs(a[i]!)); }
      worst = Math.max(worst, scale > 0 ? m / scale : m);
    }
    // 1 vs 2 threads: relative to each tensor's largest magnitude, at float32 round-off level.
    expect(worst).toBeLessThan(1e-5);
  });
});
