// spaceToDepthStem: a strided stem Conv rewritten as (Pad →) SpaceToDepth → stride-1 Conv gives onnxruntime's output of
// the original Conv (the reference is onnxruntime's own Conv on the untouched graph), and once quantized onnxruntime
// fuses the rewritten stem into a QLinearConv.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import pkg from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { Session, cloneGraph, planQdq, rewriteQdq, saveModel, type Graph } from '../../src/engine/index.js';
import { spaceToDepthStem } from '../../src/engine/graph/stem-space-to-depth.js';
import { attr, type Attr } from '../../src/engine/graph/types.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';

const { onnx } = pkg;
let seed = 11;
const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 - 0.5; };

interface Stem { c: number; size: [number, number]; k: [number, number]; attrs: Record<string, Attr> }

function stemGraph({ c, size, k, attrs }: Stem): Graph {
  const out = 8;
  return {
    name: 'stem', opset: 17, valueInfo: new Map(),
    inputs: [{ name: 'x', dtype: 'float32', dims: ['n', c, ...size] }],
    outputs: [{ name: 'y', dtype: 'float32', dims: ['n', out, 'h', 'w'] }],
    initializers: new Map([
      ['w', { dtype: 'float32', dims: [out, c, ...k], data: Float32Array.from({ length: out * c * k[0] * k[1] }, rand) }],
      ['b', { dtype: 'float32', dims: [out], data: Float32Array.from({ length: out }, rand) }],
    ]),
    nodes: [
      { opType: 'Conv', name: 'stem', domain: '', inputs: ['x', 'w', 'b'], outputs: ['s'], attrs },
      { opType: 'Relu', name: 'act', domain: '', inputs: ['s'], outputs: ['y'], attrs: {} },
    ],
  };
}

/** The stem's graph with a 1×1 Conv after it, so the stem's activation is quantized as inside a net. */
function withHead(g: Graph): Graph {
  g.nodes[1]!.outputs = ['a'];
  g.initializers.set('w2', { dtype: 'float32', dims: [4, 8, 1, 1], data: Float32Array.from({ length: 32 }, rand) });
  g.nodes.push({ opType: 'Conv', name: 'head', domain: '', inputs: ['a', 'w2'], outputs: ['h'], attrs: {} });
  g.nodes.push({ opType: 'GlobalAveragePool', name: 'pool', domain: '', inputs: ['h'], outputs: ['y'], attrs: {} });
  return g;
}

async function run(g: Graph, x: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const s = await Session.create(saveModel(g), { threads: 1 });
  try {
    const y = (await s.run({ x: { dtype: 'float32', dims, data: x } }, ['y'])).y!;
    return { data: y.data as Float32Array, dims: y.dims };
  } finally {
    await s.dispose();
  }
}

const cases: [string, Stem][] = [
  ['MobileNetV2: 3×3/2 SAME_UPPER, 1 channel', { c: 1, size: [32, 32], k: [3, 3], attrs: { strides: attr.ints([2, 2]), auto_pad: attr.string('SAME_UPPER') } }],
  ['ResNet: 7×7/2 pads 3 (odd begin: explicit Pad), 3 channels', { c: 3, size: [40, 40], k: [7, 7], attrs: { strides: attr.ints([2, 2]), pads: attr.ints([3, 3, 3, 3]) } }],
  ['3×3/2 pads 1 on an odd size', { c: 1, size: [33, 31], k: [3, 3], attrs: { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) } }],
  ['4×4/4 patchify, no padding', { c: 3, size: [32, 32], k: [4, 4], attrs: { strides: attr.ints([4, 4]) } }],
  ['3×3/2 SAME_LOWER', { c: 2, size: [30, 30], k: [3, 3], attrs: { strides: attr.ints([2, 2]), auto_pad: attr.string('SAME_LOWER') } }],
];

const dir = mkdtempSync(join(tmpdir(), 'medclass-s2d-'));
afterAll(() => removeTempDir(dir));

describe('spaceToDepthStem', () => {
  it.each(cases)('%s: the same output as the strided Conv', async (_, stem) => {
    const g = stemGraph(stem);
    const dims = [3, stem.c, ...stem.size];
    const x = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, rand);
    const want = await run(g, x, dims);
    const h = cloneGraph(g);
    expect(spaceToDepthStem(h)).toBe(true);
    expect(h.nodes.map((n) => n.opType)).toContain('SpaceToDepth');
    const conv = h.nodes.find((n) => n.opType === 'Conv')!;
    expect(conv.attrs.strides).toEqual(attr.ints([1, 1]));
    expect(h.initializers.has('w')).toBe(false);
    const got = await run(h, x, dims);
    expect(got.dims).toEqual(want.dims);
    let err = 0;
    for (let i = 0; i < want.data.length; i++) err = Math.max(err, Math.abs(got.data[i]! - want.data[i]!));
    expect(err).toBeLessThan(1e-5);
    expect(Math.max(...want.data)).toBeGreaterThan(0.1); // not a degenerate all-zero output
  });

  it('leaves stride-1, grouped, dilated, many-channel and dynamic-size stems alone', () => {
    const s1: Stem = { c: 1, size: [28, 28], k: [3, 3], attrs: { pads: attr.ints([1, 1, 1, 1]) } };
    const grouped: Stem = { c: 2, size: [28, 28], k: [3, 3], attrs: { strides: attr.ints([2, 2]), group: attr.int(2) } };
    const dilated: Stem = { c: 1, size: [28, 28], k: [3, 3], attrs: { strides: attr.ints([2, 2]), dilations: attr.ints([2, 2]) } };
    const wide: Stem = { c: 16, size: [28, 28], k: [3, 3], attrs: { strides: attr.ints([2, 2]) } };
    for (const s of [s1, grouped, dilated, wide]) {
      const g = stemGraph(s);
      const before = JSON.stringify(g.nodes);
      expect(spaceToDepthStem(g)).toBe(false);
      expect(JSON.stringify(g.nodes)).toBe(before);
    }
    const dynamic = stemGraph(cases[0]![1]);
    dynamic.inputs[0]!.dims = ['n', 1, 'h', 'w'];
    expect(spaceToDepthStem(dynamic)).toBe(false);
  });

  it.each([cases[0]!, cases[1]!])('%s, quantized: the rewritten stem runs as a QLinearConv', async (label, stem) => {
    const g = withHead(stemGraph(stem));
    expect(spaceToDepthStem(g)).toBe(true);
    const plan = planQdq(g);
    expect(plan.tensors).toContain('x_space_to_depth'); // the stem's input is quantized: no Conv reads the image now
    const ranges = new Map(plan.tensors.map((t) => [t, { min: t === 'a' ? 0 : -1, max: 1 }])); // 'a' follows the Relu
    rewriteQdq(g, plan, ranges);
    const model = join(dir, `${label.length}.onnx`);
    const opt = join(dir, `${label.length}.optimized.onnx`);
    writeFileSync(model, saveModel(g));
    const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, optimizedModelFilePath: opt, logSeverityLevel: 3 });
    await s.release();
    const ops = onnx.ModelProto.decode(readFileSync(opt)).graph!.node!.map((n) => n.opType);
    expect(ops.filter((o) => o === 'QLinearConv')).toHaveLength(2); // the stem and the 1×1 head
    expect(ops.filter((o) => o === 'Conv' || o === 'FusedConv')).toHaveLength(0);
  });
});
