import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, Session, dropoutFeeds, f32, loadModel } from '../../src/engine/index.js';
import type { Graph, Tensor } from '../../src/engine/index.js';
import { isMedclassError } from '../../src/errors.js';
import { createBackbone, cutBeforeLastConvs, selectTrainable, trunkPrefix } from '../../src/models/index.js';

const MODEL = new URL('../../../shared/models/tf-mobilenet-coral/mobilenet_v2_1.0_224_quant.f32.onnx', import.meta.url).pathname;
const N = 2, S = 224;

let original: Graph;
let reference: Record<string, Tensor>;
let grey: Float32Array;
const sessions: Session[] = [];
const open = async (g: Graph) => { const s = await Session.create(g, { threads: 1 }); sessions.push(s); return s; };
const maxAbsDiff = (a: Tensor, b: Tensor) => {
  const x = a.data as Float32Array, y = b.data as Float32Array;
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  return d;
};

beforeAll(async () => {
  original = loadModel(MODEL);
  // A smooth grey test image in the model's [-1, 1] input range, replicated on R, G, B for the original model.
  grey = Float32Array.from({ length: N * S * S }, (_, i) => Math.sin(i * 0.001) * 0.9);
  const rgb = new Float32Array(N * 3 * S * S);
  for (let b = 0; b < N; b++) for (let c = 0; c < 3; c++) rgb.set(grey.subarray(b * S * S, (b + 1) * S * S), (b * 3 + c) * S * S);
  reference = await (await open(original)).run({ input: f32(rgb, [N, 3, S, S]) }, ['embedding', 'features']);
});
afterAll(async () => { for (const s of sessions) await s.dispose(); });

describe('MobileNetV2 backbone cut at embedding, with a new head', () => {
  it('keeps only the trunk: 52 convs, no classifier, input x and output logits', () => {
    const net = createBackbone(original, { numClasses: 2, inChannels: 3, rng: new Rng(0) });
    const g = net.inferenceGraph();
    const trunkConvs = g.nodes.filter((n) => n.opType === 'Conv');
    expect(original.nodes.filter((n) => n.opType === 'Conv')).toHaveLength(54); // + classifier conv + cam conv
    expect(trunkConvs).toHaveLength(52);
    expect(g.nodes.some((n) => n.inputs.includes('n63_conv_2d_W'))).toBe(false);
    expect(g.inputs.map((v) => v.name)).toEqual(['x']);
    expect(g.outputs.map((v) => v.name)).toEqual(['logits']);
    expect(net.params.size).toBe(52 * 2 + 2);
    expect(net.head).toEqual(['head.fc.weight', 'head.fc.bias']);
  });

  it('reproduces the original embedding and features exactly for RGB input', async () => {
    const net = createBackbone(original, { numClasses: 2, inChannels: 3, rng: new Rng(0) });
    const rgb = f32(new Float32Array(N * 3 * S * S), [N, 3, S, S]);
    for (let b = 0; b < N; b++) for (let c = 0; c < 3; c++) (rgb.data as Float32Array).set(grey.subarray(b * S * S, (b + 1) * S * S), (b * 3 + c) * S * S);
    const out = await (await open(net.inferenceGraph({ extraOutputs: ['embedding', 'features'] }))).run({ x: rgb });
    expect(out.features!.dims).toEqual([N, 1280, 7, 7]);
    expect(maxAbsDiff(out.embedding!, reference.embedding!)).toBe(0);
    expect(maxAbsDiff(out.features!, reference.features!)).toBe(0);
    expect(out.logits!.dims).toEqual([N, 2]);
  });

  it("grey input: 'sum' of the first conv's RGB weights equals the RGB model on a replicated grey image", async () => {
    const sum = createBackbone(original, { numClasses: 2, inChannels: 1, greyInput: 'sum', rng: new Rng(0) });
    const rep = createBackbone(original, { numClasses: 2, inChannels: 1, greyInput: 'repeat', rng: new Rng(0) });
    expect(sum.shapes.get('n0_conv_2d_W')).toEqual([32, 1, 3, 3]);
    const x = f32(grey, [N, 1, S, S]);
    const a = await (await open(sum.inferenceGraph({ extraOutputs: ['embedding'] }))).run({ x });
    const b = await (await open(rep.inferenceGraph({ extraOutputs: ['embedding'] }))).run({ x });
    // Summation order differs from the 3-channel conv: float32 rounding only (embedding values reach ≈ 5.5).
    expect(maxAbsDiff(a.embedding!, reference.embedding!)).toBeLessThan(1e-4);
    expect(maxAbsDiff(b.embedding!, reference.embedding!)).toBe(0);
  });

  it('training graph takes the head dropout mask; phases select head, last-N conv layers or all', async () => {
    const net = createBackbone(original, { numClasses: 3, inChannels: 1, head: { kind: 'mlp', hidden: 64, dropout: 0.3 }, rng: new Rng(0) });
    const out = await (await open(net.trainGraph())).run({ x: f32(grey, [N, 1, S, S]), ...dropoutFeeds(net, new Rng(1), N) });
    expect(out.logits!.dims).toEqual([N, 3]);
    const head = ['head.fc1.weight', 'head.fc1.bias', 'head.fc2.weight', 'head.fc2.bias'];
    expect(selectTrainable(net, 'head')).toEqual(head);
    expect(selectTrainable(net, 'last:2')).toEqual(['n60_conv_2d_W', 'n60_conv_2d_B', 'n61_conv_2d_W', 'n61_conv_2d_B', ...head]);
    expect(selectTrainable(net, 'all')).toHaveLength(52 * 2 + 4);
    expect(() => selectTrainable(net, 'last')).toThrow(/not 'all', 'head' or 'last:N'/);
  });

  it('names the missing tensor when the cut point does not exist', () => {
    let err: unknown;
    try { createBackbone(original, { numClasses: 2, embeddingTensor: 'pool5', rng: new Rng(0) }); } catch (e) { err = e; }
    expect(isMedclassError(err, 'MC_MODELS_BAD_BACKBONE')).toBe(true);
    expect((err as Error).message).toMatch(/no tensor 'pool5'/);
  });

  it('cached trunk: prefix → cached tensor → suffix network gives the full network\'s logits; cuts avoid skip connections', async () => {
    const start = cutBeforeLastConvs(original, 4);
    // The last 4 convs are block 16's expand/depthwise/project and Conv_1; block 16 has no residual, so its input is a clean cut.
    expect(start).toBe('n57_add');
    const opts = { numClasses: 2, inChannels: 1, head: { kind: 'mlp', hidden: 32 } } as const;
    const full = createBackbone(original, { ...opts, rng: new Rng(0) });
    const suffix = createBackbone(original, { ...opts, startTensor: start, rng: new Rng(0) });
    expect(suffix.inputDims).toEqual([160, 7, 7]);
    expect([...suffix.params.keys()].filter((p) => !p.startsWith('head.'))).toHaveLength(4 * 2);
    for (const [p, v] of suffix.params) expect(v, p).toEqual(full.params.get(p));
    const x = f32(grey, [N, 1, S, S]);
    const cached = (await (await open(trunkPrefix(original, { ...opts, startTensor: start }))).run({ x })).cached!;
    expect(cached.dims).toEqual([N, 160, 7, 7]);
    const a = (await (await open(suffix.inferenceGraph())).run({ x: cached })).logits!;
    const b = (await (await open(full.inferenceGraph())).run({ x })).logits!;
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    // Inside a residual block the skip path would cross the cut: it is rejected with a coded error.
    const inside = original.nodes.filter((n) => n.opType === 'Add').at(-1)!.inputs[0]!;
    expect(() => createBackbone(original, { ...opts, startTensor: inside, rng: new Rng(0) })).toThrow(/skip connection crosses the cut/);
  });
});
