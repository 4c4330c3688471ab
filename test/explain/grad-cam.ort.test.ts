import { afterAll, describe, expect, it } from 'vitest';
import { Emitter, Rng, cutGraph, defineNetwork, f32, type Graph, type Network } from '../../src/engine/index.js';
import { GradCam, buildGradCamGraph, camClassifier, classActivationMap, convLayers, mapPeak, normalizeMap, upsampleBilinear } from '../../src/explain/index.js';
import { createModel } from '../../src/models/index.js';
import { expectAllClose } from '../helpers/all-close.js';
import { finiteDiff } from '../helpers/finite-diff.js';

const open: GradCam[] = [];
afterAll(async () => { for (const g of open) await g.dispose(); });
const create = async (...a: Parameters<typeof GradCam.create>) => { const g = await GradCam.create(...a); open.push(g); return g; };

/** conv(1→5, 3×3) → ReLU → `features` → GAP → linear(5→3): Grad-CAM must equal CAM up to the positive scale 1/(h·w). */
function gapNet(): Network {
  return defineNetwork((b, x) => {
    const h = b.tap(b.relu(b.conv2d(x, 'conv', { out: 5, kernel: 3, padding: 1 })), 'features');
    return b.linear(b.flatten(b.globalAvgPool(h)), 'fc', { out: 3 });
  }, { name: 'gap', inputDims: [1, 6, 7], numClasses: 3, rng: new Rng(4) });
}

/** conv–BN–ReLU–maxpool–conv–ReLU–GAP–linear with non-trivial BN statistics (nonlinear between an early conv and the logits). */
function deepNet(): Network {
  const net = defineNetwork((b, x) => {
    let h = b.relu(b.batchNorm(b.conv2d(x, 'conv0', { out: 4, kernel: 3, padding: 1, bias: false }), 'bn0'));
    h = b.maxPool(h, { kernel: 2 });
    h = b.tap(b.relu(b.conv2d(h, 'conv1', { out: 6, kernel: 3, padding: 1 })), 'features');
    return b.linear(b.flatten(b.globalAvgPool(h)), 'fc', { out: 3 });
  }, { name: 'deep', inputDims: [2, 8, 8], numClasses: 3, rng: new Rng(9) });
  const r = new Rng(1);
  for (const [name, v] of net.buffers) for (let i = 0; i < v.length; i++) v[i] = name.endsWith('running_var') ? r.uniform(0.5, 2) : r.normal(0, 0.3);
  return net;
}

const images = (n: number, per: number, seed: number) => { const r = new Rng(seed); return Float32Array.from({ length: n * per }, () => r.normal(0, 1)); };

describe('Grad-CAM', () => {
  it('equals CAM (W[k]·A) up to the positive scale 1/(h·w) on a conv → GAP → linear net', async () => {
    const net = gapNet();
    const graph = net.inferenceGraph();
    const gc = await create(graph, { threads: 1 });
    expect(gc.layer).toBe('features');
    const clf = camClassifier(graph);
    const n = 4;
    const x = images(n, 42, 2);
    const batch = await gc.run(x, n, [0, 1, 2, -1]);
    const hw = 42;
    for (let i = 0; i < n; i++) {
      const k = batch.selected[i]!;
      const a = batch.features.subarray(i * 5 * hw, (i + 1) * 5 * hw);
      const cam = classActivationMap(a, clf, k, 6, 7);
      // CAM's mean over h,w plus the bias is the logit (a reference derived by hand for GAP → linear).
      const mean = cam.data.reduce((s, v) => s + v, 0) / hw;
      expect(mean + clf.bias[k]!).toBeCloseTo(batch.logits[i * 3 + k]!, 5);
      const [res] = await gc.explain(x.subarray(i * 42, (i + 1) * 42), 1, k);
      // α_c = W[k,c]/(h·w) and raw Grad-CAM = ReLU(CAM)/(h·w): the same map up to a positive scale.
      expectAllClose(res!.weights, Array.from(clf.weight.subarray(k * 5, (k + 1) * 5), (w) => w / hw), { rtol: 1e-5, atol: 1e-7, label: `alpha[${i}]` });
      expectAllClose(res!.raw.data, Array.from(cam.data, (v) => Math.max(0, v) / hw), { rtol: 1e-4, atol: 1e-6, label: `raw[${i}]` });
      const ref = normalizeMap(upsampleBilinear({ ...cam, data: cam.data.map((v) => Math.max(0, v)) }, 7, 6));
      expectAllClose(res!.cam.data, ref.data, { rtol: 1e-4, atol: 1e-5, label: `cam[${i}]` });
    }
    expect(batch.selected[3]).toBe([0, 1, 2].reduce((b, c) => (batch.logits[9 + c]! > batch.logits[9 + b]! ? c : b), 0));
  });

  it('dScore/dA equals central finite differences through onnxruntime at an early conv (BN, ReLU, max-pool after it)', async () => {
    const net = deepNet();
    const graph = net.inferenceGraph();
    const layer = convLayers(graph)[0]!;
    const gc = await create(graph, { layer, threads: 1 });
    expect(gc.spec.featureDims).toEqual([4, 8, 8]);
    const n = 2;
    const x = images(n, 128, 5);
    const targets = [2, 0];
    const batch = await gc.run(x, n, targets);
    // The suffix layer → logits with A as input, scored by a constant one-hot: FD reference independent of autodiff.
    const suffix: Graph = { ...graph, nodes: cutGraph(graph, ['logits'], [layer]), inputs: [{ name: layer, dtype: 'float32', dims: [n, 4, 8, 8] }], outputs: [], valueInfo: new Map() };
    const e = new Emitter(suffix, 'fd');
    const onehot = e.constant(f32([0, 0, 1, 1, 0, 0], [n, 3]), 'onehot');
    const score = e.reduceSum(e.mul('logits', onehot), [0, 1], false);
    suffix.outputs = [{ name: score, dtype: 'float32', dims: [] }];
    const fd = await finiteDiff(suffix, score, { [layer]: f32(batch.features, [n, 4, 8, 8]) }, [layer]);
    const ref = fd.grads.get(layer)!;
    const scale = Math.max(...ref.map(Math.abs));
    expect(scale).toBeGreaterThan(1e-3);
    expectAllClose(batch.gradient, Array.from(ref), { rtol: 0, atol: (fd.precision === 'float64' ? 1e-5 : 3e-3) * scale, label: `dS/d${layer}`, dims: [n, 4, 8, 8] });
  });

  it('gives each image the same map whatever the batch it runs in, and validates targets and layers', async () => {
    const net = deepNet();
    const gc = await create(net.inferenceGraph(), { threads: 1 });
    const x = images(5, 128, 8);
    const all = await gc.explain(x, 5, [0, 1, 2, -1, 1], 2);
    const one = await gc.explain(x.subarray(3 * 128, 4 * 128), 1);
    expect(one[0]!.classIndex).toBe(all[3]!.classIndex);
    expectAllClose(one[0]!.cam.data, all[3]!.cam.data, { rtol: 1e-5, atol: 1e-6, label: 'cam, batch 1 vs 5' });
    expect(all.map((r) => r.classIndex).slice(0, 3)).toEqual([0, 1, 2]);
    for (const r of all) {
      expect(Math.max(...r.cam.data)).toBeLessThanOrEqual(1);
      expect(Math.min(...r.cam.data)).toBeGreaterThanOrEqual(0);
      expect([r.cam.width, r.cam.height]).toEqual([8, 8]);
    }
    await expect(gc.run(x.subarray(0, 128), 1, [3])).rejects.toMatchObject({ code: 'MC_EXPLAIN_BAD_TARGET' });
    expect(() => buildGradCamGraph(net.inferenceGraph(), { layer: 'nope' })).toThrow(expect.objectContaining({ code: 'MC_EXPLAIN_BAD_LAYER' }));
    expect(() => buildGradCamGraph(net.inferenceGraph(), { layer: 'embedding' })).toThrow(expect.objectContaining({ code: 'MC_EXPLAIN_BAD_LAYER' }));
    expect(() => camClassifier(net.inferenceGraph(), { layer: convLayers(net.inferenceGraph())[0]! })).toThrow(expect.objectContaining({ code: 'MC_EXPLAIN_NOT_CAM_MODEL' }));
    expect(mapPeak({ width: 3, height: 2, data: Float32Array.from([0, 1, 0, 0, 2, 2]) })).toEqual({ x: 1, y: 1, value: 2 });
  });

  it("defaults to the last Conv the logits depend on when `features` is a side branch (ViT's patch tokens)", async () => {
    const vit = createModel('vit-small', { inChannels: 1, numClasses: 2, inputSize: 28, rng: new Rng(1) });
    const graph = vit.inferenceGraph();
    const gc = await create(graph, { threads: 1 });
    expect(gc.layer).toBe(convLayers(graph).at(-1));
    expect(gc.spec.featureDims).toEqual([192, 7, 7]);
    const [r] = await gc.explain(images(1, 28 * 28, 3), 1);
    expect(r!.cam.width).toBe(28);
    expect(() => buildGradCamGraph(graph, { layer: 'features' })).toThrow(expect.objectContaining({ code: 'MC_EXPLAIN_BAD_LAYER' }));
  });
});
