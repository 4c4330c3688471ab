import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTrainingGraph, differentiate, f32, i64, loadModel, readNpz, Session, type Graph, type Tensor } from '../../src/engine/index.js';
import { isMedclassError } from '../../src/errors.js';
import { expectAllClose } from '../helpers/all-close.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/autodiff/', import.meta.url));
const ref = (name: string) => readNpz(readFileSync(`${FIXTURES}${name}/reference.npz`));

function rows(t: Tensor, n: number): Tensor {
  const per = t.data.length / t.dims[0]!;
  return { dtype: t.dtype, dims: [n, ...t.dims.slice(1)], data: t.data.subarray(0, n * per) } as Tensor;
}

describe('buildTrainingGraph', () => {
  const sessions: Session[] = [];
  afterAll(async () => { for (const s of sessions) await s.dispose(); });
  const open = async (g: Graph) => { const s = await Session.create(g, { threads: 1 }); sessions.push(s); return s; };

  it('with all but the last Gemm frozen, only its gradients are outputs and frozen weights stay initializers', async () => {
    const fwd = loadModel(`${FIXTURES}small_cnn/model.onnx`);
    const tg = buildTrainingGraph(fwd, { trainable: ['fc.weight', 'fc.bias'], loss: { kind: 'cross-entropy' } });
    expect(tg.paramInputs).toEqual(['fc.weight', 'fc.bias']);
    expect(Object.keys(tg.gradOutputs)).toEqual(['fc.weight', 'fc.bias']);
    expect(tg.graph.inputs.map((v) => v.name)).toEqual(['x', 'fc.weight', 'fc.bias', 'labels']);
    expect(tg.graph.initializers.has('c1.weight')).toBe(true);
    expect(tg.graph.initializers.has('fc.weight')).toBe(false);
    expect(fwd.initializers.has('fc.weight')).toBe(true); // the forward graph is not modified
    // No gradient flows into the frozen convolutions: no ConvTranspose was emitted.
    expect(tg.graph.nodes.some((n) => n.opType === 'ConvTranspose')).toBe(false);
    const r = ref('small_cnn');
    const s = await open(tg.graph);
    const out = await s.run({ x: r.get('x')!, labels: r.get('y')!, 'fc.weight': fwd.initializers.get('fc.weight')!, 'fc.bias': fwd.initializers.get('fc.bias')! });
    expectAllClose(out[tg.gradOutputs['fc.weight']!]!.data as Float32Array, r.get('grad/fc.weight')!.data as Float32Array, { rtol: 1e-4, atol: 1e-6, label: 'grad/fc.weight' });
    expectAllClose(out[tg.lossOutput]!.data as Float32Array, r.get('loss')!.data as Float32Array, { rtol: 1e-6, label: 'loss' });
  });

  it('one symbolic-batch graph serves any batch size and agrees with a graph specialised to that size', async () => {
    const fwd = loadModel(`${FIXTURES}tiny_vit/model.onnx`);
    const meta = JSON.parse(readFileSync(`${FIXTURES}tiny_vit/meta.json`, 'utf8')) as { trainable: string[] };
    const r = ref('tiny_vit');
    const dyn = buildTrainingGraph(fwd, { trainable: meta.trainable, loss: { kind: 'cross-entropy' } });
    expect(dyn.graph.inputs[0]!.dims[0]).toBe('batch');
    const fixed3 = buildTrainingGraph(fwd, { trainable: meta.trainable, loss: { kind: 'cross-entropy' }, batchSize: 3 });
    expect(fixed3.graph.inputs[0]!.dims[0]).toBe(3);
    const kept = buildTrainingGraph(fwd, { trainable: ['head.bias'], loss: { kind: 'cross-entropy' }, keepOutputs: ['/ln/LayerNormalization_output_0', '/qkv/Transpose_output_0'] });
    const dimsOf = (n: string) => kept.graph.outputs.find((o) => o.name === n)!.dims;
    expect(dimsOf('/ln/LayerNormalization_output_0')).toEqual(['batch', 17, 32]);
    expect(dimsOf('/qkv/Transpose_output_0')).toEqual([32, 96]);
    expect(dimsOf(kept.logitsOutput)).toEqual(['batch', 3]);
    const params = Object.fromEntries(meta.trainable.map((p) => [p, fwd.initializers.get(p)!]));
    const sd = await open(dyn.graph), sf = await open(fixed3.graph);
    const full = await sd.run({ x: r.get('x')!, labels: r.get('y')!, ...params });
    expectAllClose(full[dyn.gradOutputs['pos']!]!.data as Float32Array, r.get('grad/pos')!.data as Float32Array, { rtol: 1e-3, atol: 1e-6, label: 'grad/pos batch 4' });
    const a = await sd.run({ x: rows(r.get('x')!, 3), labels: rows(r.get('y')!, 3), ...params });
    const b = await sf.run({ x: rows(r.get('x')!, 3), labels: rows(r.get('y')!, 3), ...params });
    for (const p of meta.trainable) {
      expectAllClose(a[dyn.gradOutputs[p]!]!.data as Float32Array, b[fixed3.gradOutputs[p]!]!.data as Float32Array, { rtol: 1e-4, atol: 1e-6, label: p });
    }
  });

  it('BCE graphs take float32 labels and a [N,1] logit', async () => {
    const fwd = loadModel(`${FIXTURES}mlp/model.onnx`);
    // use logit column 0 of the 3-class model as a binary logit via Slice
    const g: Graph = { ...fwd, nodes: [...fwd.nodes], initializers: new Map(fwd.initializers) };
    g.initializers.set('s0', i64([0], [1])); g.initializers.set('s1', i64([1], [1])); g.initializers.set('ax', i64([1], [1]));
    g.nodes.push({ opType: 'Slice', name: 'col0', domain: '', inputs: ['logits', 's0', 's1', 'ax'], outputs: ['bin'], attrs: {} });
    const tg = buildTrainingGraph(g, { trainable: ['fc2.bias'], logits: 'bin', loss: { kind: 'bce-with-logits', posWeight: 2 } });
    expect(tg.graph.inputs.find((v) => v.name === 'labels')!.dtype).toBe('float32');
    const r = ref('mlp');
    const s = await open(tg.graph);
    const y = f32(Array.from(r.get('y')!.data as BigInt64Array, (v) => (v === 0n ? 1 : 0)), [8]);
    const out = await s.run({ x: r.get('x')!, labels: y, 'fc2.bias': fwd.initializers.get('fc2.bias')! });
    // d loss / d bias_0 = mean(σ(x)·(1 + (p−1)·y) − p·y) for BCE with pos_weight p; other biases get 0.
    const xs = out.bin!.data as Float32Array;
    let expected = 0;
    xs.forEach((x, i) => { const sg = 1 / (1 + Math.exp(-x)); const yi = y.data[i]!; expected += (sg * (1 + yi) - 2 * yi) / 8; });
    expectAllClose(out[tg.gradOutputs['fc2.bias']!]!.data as Float32Array, [expected, 0, 0], { rtol: 1e-5, atol: 1e-7, label: 'grad/fc2.bias' });
  });

  it('Grad-CAM: gradient of one logit w.r.t. the last feature map is fc.weight[c, k] / (H·W) everywhere', async () => {
    const g = loadModel(`${FIXTURES}small_cnn/model.onnx`);
    g.initializers.set('cls', i64([2], []));
    g.initializers.set('all', i64([0], [1]));
    g.nodes.push({ opType: 'Gather', name: 'pick', domain: '', inputs: ['logits', 'cls'], outputs: ['logit_c'], attrs: { axis: { type: 'int', value: 1 } } });
    g.nodes.push({ opType: 'ReduceSum', name: 'sum', domain: '', inputs: ['logit_c', 'all'], outputs: ['score'], attrs: { keepdims: { type: 'int', value: 0 } } });
    const fmap = '/Relu_1_output_0';
    const grads = differentiate(g, { loss: 'score', wrt: [fmap], inputDims: { x: [4, 3, 16, 16] } });
    g.nodes.push({ opType: 'Identity', name: 'gid', domain: '', inputs: [grads.get(fmap)!], outputs: ['cam_grad'], attrs: {} });
    g.outputs = [{ name: 'cam_grad', dtype: 'float32', dims: ['batch', 16, 4, 4] }];
    const s = await open(g);
    const out = await s.run({ x: ref('small_cnn').get('x')! });
    const gr = out.cam_grad!;
    expect(gr.dims).toEqual([4, 16, 4, 4]);
    const w = g.initializers.get('fc.weight')!.data as Float32Array;
    const want = Float32Array.from({ length: 4 * 16 * 16 }, (_, i) => w[2 * 16 + (Math.floor(i / 16) % 16)]! / 16);
    expectAllClose(gr.data as Float32Array, want, { rtol: 1e-6, atol: 1e-9, label: 'dlogit/dA', dims: gr.dims });
  });

  it('emits only standard-domain ONNX ops that onnxruntime runs with graph optimisations disabled (no contrib kernels)', async () => {
    for (const name of ['mbconv', 'tiny_vit']) {
      const fwd = loadModel(`${FIXTURES}${name}/model.onnx`);
      const meta = JSON.parse(readFileSync(`${FIXTURES}${name}/meta.json`, 'utf8')) as { trainable: string[] };
      const tg = buildTrainingGraph(fwd, { trainable: meta.trainable, loss: { kind: 'cross-entropy', labelSmoothing: 0.1 } });
      expect(tg.graph.opset).toBe(17);
      expect(tg.graph.extraOpsets).toBeUndefined();
      expect(tg.graph.nodes.filter((n) => n.domain !== '').map((n) => `${n.domain}.${n.opType}`)).toEqual([]);
      const s = await Session.create(tg.graph, { threads: 1, optimization: 'disabled' });
      sessions.push(s);
      const r = ref(name);
      const feeds: Record<string, Tensor> = { x: r.get('x')!, labels: r.get('y')! };
      for (const p of meta.trainable) feeds[p] = fwd.initializers.get(p)!;
      const out = await s.run(feeds, [tg.lossOutput]);
      expect(Number.isFinite(out[tg.lossOutput]!.data[0] as number)).toBe(true);
    }
  });

  it('names an unknown parameter with a suggestion, and an op without a rule with its node', () => {
    const fwd = loadModel(`${FIXTURES}mlp/model.onnx`);
    let err: unknown;
    try { buildTrainingGraph(fwd, { trainable: ['fc1.weigh'], loss: { kind: 'cross-entropy' } }); } catch (e) { err = e; }
    expect(isMedclassError(err, 'MC_ENGINE_UNKNOWN_PARAM')).toBe(true);
    expect((err as { hint?: string }).hint).toContain('fc1.weight');
    const g: Graph = { ...fwd, nodes: fwd.nodes.map((n) => (n.opType === 'Relu' ? { ...n, opType: 'Cos', name: 'my_cos' } : n)), initializers: new Map(fwd.initializers) };
    err = undefined;
    try { buildTrainingGraph(g, { trainable: ['fc1.weight'], loss: { kind: 'cross-entropy' } }); } catch (e) { err = e; }
    expect(isMedclassError(err, 'MC_ENGINE_UNSUPPORTED_OP')).toBe(true);
    expect((err as Error).message).toMatch(/Cos.*my_cos/);
  });
});
