import { describe, expect, it } from 'vitest';
import { exportInferenceGraph } from '../../src/engine/export.js';
import { loadModel } from '../../src/engine/graph/onnx-io.js';
import { ParameterStore } from '../../src/engine/params.js';
import { Session } from '../../src/engine/runtime/session.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectRelClose, loadFixture } from './optim-helpers.js';

describe('exportInferenceGraph', () => {
  it('writes the store values as initializers: a fresh session reproduces the PyTorch logits (small_cnn), and changed values change them', async () => {
    const { graph, ref, meta } = loadFixture('small_cnn');
    const store = ParameterStore.fromGraph(graph, meta.trainable);
    const bytes = exportInferenceGraph(graph, store);
    const s = await Session.create(bytes, { threads: 1 });
    try {
      const { logits } = await s.run({ x: ref.get('x') as Tensor });
      expectRelClose(logits!.data as Float32Array, ref.get('logits')!.data as Float32Array, 1e-5, 'logits');
    } finally {
      await s.dispose();
    }
    store.get('fc.bias').data.fill(0);
    const reloaded = loadModel(exportInferenceGraph(graph, store));
    expect([...(reloaded.initializers.get('fc.bias')!.data as Float32Array)]).toEqual([0, 0, 0, 0]);
    expect(graph.initializers.get('fc.bias')!.data).not.toBe(store.get('fc.bias').data); // the source graph is untouched
  });

  it('names parameters the graph does not have', () => {
    const { graph, meta } = loadFixture('mlp');
    const store = ParameterStore.fromGraph(graph, meta.trainable);
    store.add('head.weight', new Float32Array(1), [1]);
    expect(() => exportInferenceGraph(graph, store)).toThrow(/head\.weight/);
  });
});
