import { afterAll, describe, expect, it } from 'vitest';
import { Rng, Session, dropoutFeeds, f32 } from '../../src/engine/index.js';
import type { Graph, Network } from '../../src/engine/index.js';
import { isMedclassError } from '../../src/errors.js';
import { BUILTIN_MODELS, createModel, selectTrainable } from '../../src/models/index.js';

const sessions: Session[] = [];
const open = async (g: Graph) => { const s = await Session.create(g, { threads: 1 }); sessions.push(s); return s; };
afterAll(async () => { for (const s of sessions) await s.dispose(); });
const count = (net: Network) => [...net.params.values()].reduce((s, v) => s + v.length, 0);

// torchvision resnet18 has 11,689,512 parameters (3-channel 7×7 stem, 1000-class fc).
const TV_RESNET18 = 11_689_512, TV_FC = 512 * 1000 + 1000, TV_STEM = 64 * 3 * 7 * 7;

describe('built-in networks', () => {
  it.each([
    ['compact-cnn', 1, 28, 2],
    ['resnet18-28', 3, 28, 5],
    ['resnet18', 1, 64, 2],
    ['vit-small', 3, 28, 5],
  ] as const)('%s (%i ch, %i px): eval graph = inference graph; train graph runs with masks and BN stats', async (name, ch, size, classes) => {
    const rng = new Rng(0);
    const net = createModel(name, { inChannels: ch, numClasses: classes, inputSize: size, dropout: 0.1, rng });
    const n = 3;
    const x = f32(Float32Array.from({ length: n * ch * size * size }, (_, i) => Math.sin(i * 0.37)), [n, ch, size, size]);
    const train = await (await open(net.trainGraph())).run({ x, ...dropoutFeeds(net, rng.fork('mask'), n) });
    expect(train.logits!.dims).toEqual([n, classes]);
    expect(Object.keys(train)).toHaveLength(1 + 2 * net.bnStats.length);
    const ev = (await (await open(net.evalGraph())).run({ x })).logits!.data as Float32Array;
    const inf = await (await open(net.inferenceGraph({ extraOutputs: ['features', 'embedding'] }))).run({ x });
    let d = 0;
    for (let i = 0; i < ev.length; i++) d = Math.max(d, Math.abs(ev[i]! - (inf.logits!.data as Float32Array)[i]!));
    expect(d).toBeLessThan(1e-5);
    expect(inf.features!.dims.length).toBe(4);
    expect(inf.embedding!.dims).toEqual([n, net.taps.get('embedding')![1]]);
    expect(selectTrainable(net, 'head')).toEqual(net.head);
    expect(net.head.length).toBe(2);
  });

  it('resnet18-28 and resnet18 have torchvision ResNet-18 parameter counts with their stems and heads', () => {
    const small = createModel('resnet18-28', { inChannels: 3, numClasses: 3, inputSize: 28, rng: new Rng(0) });
    expect(count(small)).toBe(TV_RESNET18 - TV_FC - TV_STEM + 64 * 3 * 3 * 3 + 512 * 3 + 3);
    const big = createModel('resnet18', { inChannels: 1, numClasses: 2, inputSize: 224, rng: new Rng(0) });
    expect(count(big)).toBe(TV_RESNET18 - TV_FC - TV_STEM + 64 * 1 * 7 * 7 + 512 * 2 + 2);
    expect(big.bnStats).toHaveLength(20);
    expect(big.params.has('layer4.1.conv2.weight') && big.params.has('layer2.0.downsample.0.weight')).toBe(true);
  });

  it('vit-small picks a patch giving ≥ 7×7 tokens', () => {
    const net = createModel('vit-small', { inChannels: 1, numClasses: 2, inputSize: 64, rng: new Rng(0) });
    expect(net.shapes.get('patch_embed.proj.weight')).toEqual([192, 1, 8, 8]);
    expect(net.shapes.get('pos_embed')).toEqual([1, 65, 192]);
    expect(net.taps.get('features')).toEqual(['N', 192, 8, 8]);
  });

  it('a bad name lists the valid ones; a too-small input is a config error', () => {
    let err: unknown;
    try { createModel('resnet50', { inChannels: 1, numClasses: 2, inputSize: 28, rng: new Rng(0) }); } catch (e) { err = e; }
    expect(isMedclassError(err, 'MC_MODELS_UNKNOWN_MODEL')).toBe(true);
    for (const name of BUILTIN_MODELS) expect((err as Error).message).toContain(name);
    expect(() => createModel('resnet18', { inChannels: 1, numClasses: 2, inputSize: 28, rng: new Rng(0) })).toThrow(/below 32 px/);
    expect(() => createModel('vit-small', { inChannels: 1, numClasses: 2, inputSize: 27, rng: new Rng(0) })).toThrow(/not a multiple/);
  });
});
