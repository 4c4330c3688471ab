import { describe, expect, it } from 'vitest';
import { ParameterStore, Rng, Session, Trainer, attr, bindParams, buildTrainingGraph, createOptimizer, defineNetwork, f32, i64, inferShapes } from '../../src/engine/index.js';
import type { Graph, LayerBuilder, Sym, Tensor } from '../../src/engine/index.js';
import { NCHWC_CHAIN_OPS, keepNchwcChains } from '../../src/engine/graph/nchwc-chain.js';
import { pruneDeadNodes } from '../../src/engine/graph/prune.js';
import { fuseNchwcActivations } from '../../src/engine/graph/nchwc-activation.js';
import { NCHWC_DOMAIN, NCHWC_MIN_POSITIONS, lowerConvsToNchwc } from '../../src/engine/graph/nchwc-lower.js';
import { nchwcBlockSize } from '../../src/engine/runtime/nchwc.js';

const block = await nchwcBlockSize();
const randn = (rng: Rng, dims: number[]): Tensor => f32(Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()), dims);

/** One Conv per kind the lowering handles, weights (and a bias) as graph inputs, each output a graph output. */
function convGraph(): { graph: Graph; feeds: Record<string, Tensor>; dims: Record<string, number[]> } {
  const rng = new Rng(3);
  const N = 2;
  const cases: [name: string, x: number[], w: number[], attrs: Record<string, ReturnType<typeof attr.ints>>, bias: boolean][] = [
    ['narrow_in', [N, 3, 9, 9], [32, 3, 3, 3], { pads: attr.ints([1, 1, 1, 1]) }, true],
    ['blocked_3x3', [N, 32, 9, 9], [16, 32, 3, 3], { pads: attr.ints([1, 1, 1, 1]) }, false],
    ['strided_dilated', [N, 16, 11, 11], [32, 16, 3, 3], { pads: attr.ints([2, 1, 0, 1]), strides: attr.ints([2, 2]), dilations: attr.ints([2, 1]) }, false],
    ['depthwise', [N, 32, 8, 8], [32, 1, 3, 3], { pads: attr.ints([1, 1, 1, 1]), group: attr.int(32) }, true],
    ['pointwise', [N, 32, 8, 8], [16, 32, 1, 1], {}, false],
  ];
  const graph: Graph = { name: 'convs', opset: 17, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map() };
  const feeds: Record<string, Tensor> = {};
  const dims: Record<string, number[]> = {};
  for (const [name, x, w, attrs, bias] of cases) {
    const ins = [`${name}.x`, `${name}.w`, ...(bias ? [`${name}.b`] : [])];
    const shapes = [x, w, ...(bias ? [[w[0]!]] : [])];
    ins.forEach((n, i) => { graph.inputs.push({ name: n, dtype: 'float32', dims: shapes[i]! }); feeds[n] = randn(rng, shapes[i]!); dims[n] = shapes[i]!; });
    graph.nodes.push({ opType: 'Conv', name: `${name}.conv`, domain: '', inputs: ins, outputs: [`${name}.y`], attrs: { kernel_shape: attr.ints(w.slice(2)), ...attrs } });
    graph.outputs.push({ name: `${name}.y`, dtype: 'float32', dims: [] });
  }
  // The block input also feeds a second lowered Conv: it is reordered once.
  graph.nodes.push({ opType: 'Conv', name: 'shared.conv', domain: '', inputs: ['blocked_3x3.x', 'blocked_3x3.w'], outputs: ['shared.y'], attrs: { kernel_shape: attr.ints([3, 3]) } });
  graph.outputs.push({ name: 'shared.y', dtype: 'float32', dims: [] });
  return { graph, feeds, dims };
}

async function runAll(graph: Graph, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const s = await Session.create(graph, { threads: 1 });
  try { return await s.run(feeds); } finally { await s.dispose(); }
}

function maxRel(a: Float32Array, b: Float32Array): number {
  let m = 0, sc = 0;
  for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i]! - b[i]!)); sc = Math.max(sc, Math.abs(b[i]!)); }
  return m / (sc || 1);
}

describe('Convs lowered to onnxruntime NCHWc kernels', () => {
  it('finds a channel block on this CPU (16 with AVX-512, 8 with AVX2)', () => {
    expect([8, 16]).toContain(block);
  });

  it.skipIf(!block)('every kind (narrow input, blocked, strided/dilated/asymmetric pads, depthwise, 1×1, bias) matches the plain Conv', async () => {
    const { graph, feeds, dims } = convGraph();
    const ref = await runAll(graph, feeds);
    const lowered = { ...graph, nodes: [...graph.nodes] };
    const n = lowerConvsToNchwc(lowered, inferShapes(lowered, dims), block, () => true);
    expect(n).toBe(6);
    expect(lowered.nodes.filter((x) => x.opType === 'ReorderInput').length).toBe(4); // not for the 3-channel input; once for the shared one
    const got = await runAll(lowered, feeds);
    for (const k of Object.keys(ref)) {
      expect(got[k]!.dims, k).toEqual(ref[k]!.dims);
      expect(maxRel(got[k]!.data as Float32Array, ref[k]!.data as Float32Array), k).toBeLessThan(1e-5);
    }
  });

  it.skipIf(!block)('the default rule keeps outputs below nchwcMinPositions(block) and strided 1×1 Convs plain', async () => {
    const saved = { ...NCHWC_MIN_POSITIONS };
    try {
      for (const min of [49, 16]) {
        NCHWC_MIN_POSITIONS[block] = min;
        const { graph, dims } = convGraph();
        const lowered = { ...graph, nodes: [...graph.nodes] };
        // 9×9 = 81 and 8×8 = 64 outputs pass; the strided case has 5×5 = 25 outputs, below 49 and above 16.
        expect(lowerConvsToNchwc(lowered, inferShapes(lowered, dims), block)).toBe(min === 49 ? 5 : 6);
        expect(lowered.nodes.some((x) => x.name.startsWith('strided_dilated.conv') && x.domain === NCHWC_DOMAIN)).toBe(min === 16);
      }
    } finally {
      Object.assign(NCHWC_MIN_POSITIONS, saved);
    }
  });

  it.skipIf(!block)('a Trainer step with NCHWc Convs gives the loss and updated parameters of plain Convs (1e-5)', async () => {
    const def = (b: LayerBuilder, x: Sym): Sym => {
      let h = b.relu(b.batchNorm(b.conv2d(x, 'c1', { out: 16, kernel: 3, padding: 1, bias: false }), 'bn1'));
      h = b.relu(b.conv2d(h, 'c2', { out: 32, kernel: 3, padding: 1 }));
      h = b.relu(b.conv2d(h, 'dw', { out: 32, kernel: 3, padding: 1, group: 32 }));
      return b.linear(b.flatten(b.globalAvgPool(h)), 'fc', { out: 2 });
    };
    const rng = new Rng(5);
    const net = defineNetwork(def, { name: 'nchwc-step', inputDims: [1, 12, 12], numClasses: 2, rng: rng.fork('init') });
    const d = rng.fork('data');
    const feeds = { x: randn(d, [8, 1, 12, 12]), labels: i64(Array.from({ length: 8 }, () => d.int(0, 2)), [8]) };
    const results = [];
    for (const nchwc of [false, true]) {
      const params = ParameterStore.fromWeights(new Map([...net.params].map(([k, v]) => [k, v.slice()])), net.shapes); // the store keeps arrays by reference
      const t = await Trainer.compile(net.trainGraph(), { params, optimizer: createOptimizer({ name: 'sgd', lr: 0.1 }), loss: { kind: 'cross-entropy' }, options: { threads: 1, nchwc } });
      try {
        const losses = [(await t.step(feeds)).loss, (await t.step(feeds)).loss];
        results.push({ losses, w: params.tensor('c2.weight').data as Float32Array });
      } finally { await t.dispose(); }
    }
    expect(Math.abs(results[1]!.losses[1]! - results[0]!.losses[1]!)).toBeLessThan(1e-5);
    expect(maxRel(results[1]!.w, results[0]!.w)).toBeLessThan(1e-5);
  });
});

describe('Conv chains kept in the blocked layout (keepNchwcChains)', () => {
  // An inverted-residual block as MobileNetV2's (no batch norm between the Convs), a strided depthwise and a Relu;
  // channel counts are multiples of 16, so every Conv is lowered with AVX-512's block 16 as with AVX2's 8.
  const def = (b: LayerBuilder, x: Sym): Sym => {
    const stem = b.relu6(b.conv2d(x, 'stem', { out: 16, kernel: 3, padding: 1 }));
    let h = b.relu6(b.conv2d(stem, 'expand', { out: 32, kernel: 1 }));
    h = b.relu6(b.conv2d(h, 'dw', { out: 32, kernel: 3, padding: 1, group: 32 }));
    h = b.add(b.conv2d(h, 'project', { out: 16, kernel: 1 }), stem);
    h = b.relu(b.conv2d(h, 'dw2', { out: 16, kernel: 3, padding: 1, stride: 2, group: 16 }));
    h = b.relu6(b.conv2d(h, 'head', { out: 32, kernel: 1 }));
    return b.linear(b.flatten(b.globalAvgPool(h)), 'fc', { out: 3 });
  };

  it.skipIf(!block)('gives bit-identical loss and gradients with far fewer ReorderInputs', async () => {
    const rng = new Rng(11);
    const net = defineNetwork(def, { name: 'chain', inputDims: [3, 16, 16], numClasses: 3, rng: rng.fork('init') });
    const params = ParameterStore.fromWeights(net.params, net.shapes);
    const d = rng.fork('data');
    const feeds: Record<string, Tensor> = { x: randn(d, [4, 3, 16, 16]), labels: i64([0, 1, 2, 1], [4]) };
    for (const p of params.trainableNames()) feeds[p] = params.tensor(p);
    const build = () => buildTrainingGraph(bindParams(net.trainGraph(), params), { trainable: params.trainableNames(), loss: { kind: 'cross-entropy' }, batchSize: 4, nchwcBlock: block });
    const saved = [...NCHWC_CHAIN_OPS];
    NCHWC_CHAIN_OPS.clear();
    const apart = build();
    saved.forEach((op) => NCHWC_CHAIN_OPS.add(op));
    const chained = build();
    const count = (g: Graph, op: string) => g.nodes.filter((n) => n.opType === op && n.domain === NCHWC_DOMAIN).length;
    // every activation follows a lowered Conv, so each is folded into it (fuseNchwcActivations) and none runs alone
    const fused = chained.graph.nodes.filter((n) => n.domain === NCHWC_DOMAIN && n.attrs.activation?.type === 'string').map((n) => n.attrs.activation!.value);
    expect(fused.sort()).toEqual(['Clip', 'Clip', 'Clip', 'Clip', 'Relu']);
    expect(chained.graph.nodes.filter((n) => n.opType === 'Clip' || n.opType === 'Relu')).toEqual([]);
    expect(apart.graph.nodes.filter((n) => n.attrs.activation)).toEqual([]);
    expect(count(chained.graph, 'Conv')).toBe(count(apart.graph, 'Conv'));
    expect(count(apart.graph, 'ReorderInput')).toBeGreaterThanOrEqual(8);
    expect(count(chained.graph, 'ReorderInput')).toBeLessThanOrEqual(count(apart.graph, 'ReorderInput') - 6);
    const a = await runAll(apart.graph, feeds), c = await runAll(chained.graph, feeds);
    const outs = [apart.lossOutput, ...Object.values(apart.gradOutputs)];
    expect(outs.length).toBe(params.trainableNames().length + 1);
    for (const k of outs) {
      expect(c[k]!.dims, k).toEqual(a[k]!.dims);
      expect(Array.from(c[k]!.data as Float32Array), k).toEqual(Array.from(a[k]!.data as Float32Array));
    }
    // And the gradients are those of plain Convs (the lowering's own tolerance).
    const plainGraph = buildTrainingGraph(bindParams(net.trainGraph(), params), { trainable: params.trainableNames(), loss: { kind: 'cross-entropy' }, batchSize: 4 }).graph;
    // weights are blocked by transposes that move one axis (ranks 3 and 4), never onnxruntime's slower 6-D path
    const reorders = chained.graph.nodes.filter((n) => n.opType === 'Transpose' && n.name.startsWith('nchwc/'));
    // two per blocked-input group-1 Conv (OIHWBiBo), one per depthwise or narrow-input Conv (OIHWBo)
    const shapes = inferShapes(chained.graph, Object.fromEntries(chained.graph.inputs.map((v) => [v.name, v.dims as number[]])));
    const expected = chained.graph.nodes.filter((n) => n.opType === 'Conv' && n.domain === NCHWC_DOMAIN).reduce((sum, n) => {
      const group = n.attrs.group?.type === 'int' ? n.attrs.group.value : 1;
      const cg = shapes.get(n.inputs[1]!)!.dims[1] as number;
      return sum + (group === 1 && cg >= block ? 2 : 1);
    }, 0);
    expect(reorders.length).toBe(expected);
    expect(reorders.filter((n) => n.attrs.perm?.type === 'ints' && n.attrs.perm.value.length > 4)).toEqual([]);
    const plain = await runAll(plainGraph, feeds);
    for (const k of outs) expect(maxRel(c[k]!.data as Float32Array, plain[k]!.data as Float32Array), k).toBeLessThan(1e-4);
  });
});

describe('activations folded into NCHWc Convs (fuseNchwcActivations)', () => {
  // conv → Clip(0, 6), conv → Relu, conv → Clip(−1, bound from a graph input), conv → Relu with the Conv's result also
  // a graph output: the first two fold, the last two cannot.
  function graphOf(): { graph: Graph; feeds: Record<string, Tensor> } {
    const rng = new Rng(8);
    const graph: Graph = { name: 'acts', opset: 17, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map() };
    const x = randn(rng, [2, 16, 10, 10]);
    const feeds: Record<string, Tensor> = { x: f32((x.data as Float32Array).map((v) => v * 4), x.dims), hi: f32([0.5], []) };
    graph.inputs.push({ name: 'x', dtype: 'float32', dims: [2, 16, 10, 10] }, { name: 'hi', dtype: 'float32', dims: [] });
    graph.initializers.set('zero', f32([0], [])).set('six', f32([6], [])).set('minus1', f32([-1], []));
    const dims: Record<string, number[]> = { x: [2, 16, 10, 10], hi: [] };
    for (const [k, act, bounds] of [['a', 'Clip', ['zero', 'six']], ['b', 'Relu', []], ['c', 'Clip', ['minus1', 'hi']], ['d', 'Relu', []]] as const) {
      graph.inputs.push({ name: `${k}.w`, dtype: 'float32', dims: [16, 16, 3, 3] });
      feeds[`${k}.w`] = randn(rng, [16, 16, 3, 3]);
      dims[`${k}.w`] = [16, 16, 3, 3];
      graph.nodes.push({ opType: 'Conv', name: `${k}.conv`, domain: '', inputs: ['x', `${k}.w`], outputs: [`${k}.t`], attrs: { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) } });
      graph.nodes.push({ opType: act, name: `${k}.act`, domain: '', inputs: [`${k}.t`, ...bounds], outputs: [`${k}.y`], attrs: {} });
      graph.outputs.push({ name: `${k}.y`, dtype: 'float32', dims: [] });
    }
    graph.outputs.push({ name: 'd.t', dtype: 'float32', dims: [] });
    const shapes = inferShapes(graph, dims);
    lowerConvsToNchwc(graph, shapes, block, () => true);
    keepNchwcChains(graph, shapes);
    pruneDeadNodes(graph);
    return { graph, feeds };
  }

  it.skipIf(!block)('folds a Relu or constant-bound Clip that alone reads a Conv, bit-identically', async () => {
    const { graph, feeds } = graphOf();
    const ref = await runAll(graph, feeds);
    const fused = { ...graph, nodes: [...graph.nodes] };
    expect(fuseNchwcActivations(fused)).toBe(2);
    pruneDeadNodes(fused);
    const conv = (k: string) => fused.nodes.find((n) => n.name === `${k}.conv/nchwc_conv`)!;
    expect(conv('a').attrs.activation).toEqual(attr.string('Clip'));
    expect(conv('a').attrs.activation_params).toEqual(attr.floats([0, 6]));
    expect(conv('b').attrs.activation).toEqual(attr.string('Relu'));
    expect(conv('c').attrs.activation).toBeUndefined();
    expect(conv('d').attrs.activation).toBeUndefined();
    expect(fused.nodes.filter((n) => n.opType === 'Clip' || n.opType === 'Relu').map((n) => n.name.split('.')[0])).toEqual(['c', 'd']);
    const got = await runAll(fused, feeds);
    for (const k of Object.keys(ref)) expect(Array.from(got[k]!.data as Float32Array), k).toEqual(Array.from(ref[k]!.data as Float32Array));
    // the activations did act: a Clip(0, 6) output lies in [0, 6], and some inputs lay outside
    const a = got['a.y']!.data as Float32Array;
    expect(Math.min(...a)).toBe(0);
    expect(Math.max(...a)).toBe(6);
  });
});
