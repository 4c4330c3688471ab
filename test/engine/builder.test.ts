import { describe, expect, it } from 'vitest';
import { Rng, bnStatOutputs, defineNetwork, dropoutFeeds, f32, initScale, initTensor, updateRunningStats } from '../../src/engine/index.js';
import type { LayerBuilder, Sym } from '../../src/engine/index.js';

function stats(v: Float32Array): { mean: number; std: number; maxAbs: number } {
  let s = 0, s2 = 0, m = 0;
  for (const x of v) { s += x; s2 += x * x; m = Math.max(m, Math.abs(x)); }
  const mean = s / v.length;
  return { mean, std: Math.sqrt(s2 / v.length - mean * mean), maxAbs: m };
}

const tiny = (b: LayerBuilder, x: Sym): Sym => {
  let h = b.relu(b.batchNorm(b.conv2d(x, 'conv1', { out: 64, kernel: 3, padding: 1, bias: false }), 'bn1'));
  h = b.scope('block', () => b.relu(b.batchNorm(b.conv2d(h, 'conv', { out: 128, kernel: 3, stride: 2, padding: 1 }), 'bn')));
  h = b.tap(b.flatten(b.globalAvgPool(h)), 'embedding');
  return b.linear(b.dropout(h, 0.25, 'drop'), 'fc', { out: 3 });
};
const make = (seed: number) => defineNetwork(tiny, { name: 'tiny', inputDims: [2, 8, 8], numClasses: 3, rng: new Rng(seed) });

describe('init', () => {
  it('He normal (fan_out) has std √(2/fan_out) as torch.nn.init.kaiming_normal_', () => {
    const dims = [128, 64, 3, 3];
    const w = initTensor({ kind: 'kaimingNormal', mode: 'fanOut' }, dims, new Rng(3));
    const want = Math.sqrt(2 / (128 * 9));
    expect(initScale({ kind: 'kaimingNormal', mode: 'fanOut' }, dims)).toBeCloseTo(want, 12);
    const s = stats(w); // 73,728 draws: the sample std is within 1 % of σ with overwhelming probability
    expect(Math.abs(s.std / want - 1)).toBeLessThan(0.01);
    expect(Math.abs(s.mean)).toBeLessThan(0.01 * want);
  });

  it('Xavier uniform stays within ±√(6/(fan_in+fan_out)) with variance bound²/3', () => {
    const w = initTensor({ kind: 'xavierUniform' }, [300, 200], new Rng(4));
    const bound = Math.sqrt(6 / 500);
    const s = stats(w);
    expect(s.maxAbs).toBeLessThanOrEqual(bound);
    expect(Math.abs(s.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.01);
  });

  it('draws each parameter from its own fork: same seed same values, another seed other values', () => {
    const a = make(7), b = make(7), c = make(8);
    expect(a.params.get('block.conv.weight')).toEqual(b.params.get('block.conv.weight'));
    expect(a.params.get('block.conv.weight')).not.toEqual(c.params.get('block.conv.weight'));
    const w = a.params.get('conv1.weight')!;
    expect(Math.abs(stats(w).std / Math.sqrt(2 / (64 * 9)) - 1)).toBeLessThan(0.06); // 1,152 draws
    expect([...a.params.get('bn1.weight')!]).toEqual(new Array(64).fill(1));
    expect([...a.buffers.get('bn1.running_var')!]).toEqual(new Array(64).fill(1));
  });
});

describe('network graphs', () => {
  it('train, eval and inference graphs share parameter names and shapes', () => {
    const net = make(1);
    const train = net.trainGraph();
    const inf = net.inferenceGraph();
    const paramNames = [...net.params.keys()].sort();
    expect(paramNames).toEqual(['block.bn.bias', 'block.bn.weight', 'block.conv.bias', 'block.conv.weight', 'bn1.bias', 'bn1.weight', 'conv1.weight', 'fc.bias', 'fc.weight']);
    for (const g of [train, net.evalGraph(), inf]) {
      for (const p of paramNames) expect(g.initializers.get(p)?.dims).toEqual(net.shapes.get(p));
    }
    expect(train.inputs.map((v) => v.name)).toEqual(['x', 'drop.mask']);
    expect(train.outputs.map((v) => v.name).sort()).toEqual([...bnStatOutputs(net), 'logits'].sort());
    expect(inf.inputs.map((v) => v.name)).toEqual(['x']);
    expect(inf.outputs).toEqual([{ name: 'logits', dtype: 'float32', dims: ['N', 3] }]);
    expect(inf.nodes.filter((n) => n.opType === 'BatchNormalization')).toHaveLength(2);
    expect(inf.nodes.some((n) => n.opType === 'Mul' && n.inputs.includes('drop.mask'))).toBe(false);
    expect(train.nodes.some((n) => n.opType === 'BatchNormalization')).toBe(false);
  });

  it('can feed weights as inputs and add taps as outputs', () => {
    const g = make(1).inferenceGraph({ weightsAsInputs: true, extraOutputs: ['embedding'] });
    expect(g.initializers.has('fc.weight')).toBe(false);
    expect(g.inputs.map((v) => v.name)).toContain('bn1.running_mean');
    expect(g.outputs.map((v) => v.name)).toEqual(['logits', 'embedding']);
    expect(() => make(1).inferenceGraph({ extraOutputs: ['nope'] })).toThrow(/no tap 'nope'/);
  });
});

describe('dropout masks', () => {
  it('are reproducible by seed, take values {0, 1/(1−p)} and drop about p', () => {
    const net = make(1);
    const a = dropoutFeeds(net, new Rng(5).fork('step-0'), 400)['drop.mask']!;
    const b = dropoutFeeds(net, new Rng(5).fork('step-0'), 400)['drop.mask']!;
    const c = dropoutFeeds(net, new Rng(5).fork('step-1'), 400)['drop.mask']!;
    expect(a.dims).toEqual([400, 128]);
    expect(a.data).toEqual(b.data);
    expect(a.data).not.toEqual(c.data);
    const vals = new Set(a.data as Float32Array);
    expect([...vals].sort()).toEqual([0, Math.fround(1 / 0.75)]);
    const dropped = (a.data as Float32Array).filter((v) => v === 0).length / a.data.length;
    expect(Math.abs(dropped - 0.25)).toBeLessThan(0.01); // 51,200 draws: sd 0.002
  });
});

describe('running statistics', () => {
  it('follow torch: running = (1 − 0.1)·running + 0.1·batch (variance already unbiased)', () => {
    const net = make(1);
    const buffers = new Map(net.buffers);
    const s = net.bnStats[0]!;
    const mean = f32(new Float32Array(64).fill(2), [64]);
    const variance = f32(new Float32Array(64).fill(5), [64]);
    const outs = Object.fromEntries(net.bnStats.flatMap((t) => [[t.meanOutput, mean], [t.varOutput, variance]]));
    updateRunningStats(buffers, net.bnStats.slice(0, 1), outs);
    expect(buffers.get(s.runningMean)![0]).toBeCloseTo(0.2, 6); // 0.9·0 + 0.1·2
    expect(buffers.get(s.runningVar)![0]).toBeCloseTo(1.4, 6); // 0.9·1 + 0.1·5
    updateRunningStats(buffers, net.bnStats.slice(0, 1), outs);
    expect(buffers.get(s.runningMean)![0]).toBeCloseTo(0.38, 6); // 0.9·0.2 + 0.2
    expect(() => updateRunningStats(buffers, net.bnStats, {})).toThrow(/batch statistic missing/);
  });
});
