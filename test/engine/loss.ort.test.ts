import { afterAll, describe, expect, it } from 'vitest';
import { differentiate, emitLoss, f32, i64, Session, type Graph, type LossSpec, type Tensor } from '../../src/engine/index.js';
import { expectAllClose, maxRelError } from '../helpers/all-close.js';
import { finiteDiff } from '../helpers/finite-diff.js';

function lossGraph(spec: LossSpec, n: number, c: number): Graph {
  const bce = spec.kind === 'bce-with-logits';
  const soft = spec.kind === 'cross-entropy' && spec.soft === true;
  const g: Graph = {
    name: 'loss', nodes: [], initializers: new Map(), valueInfo: new Map(), opset: 17, outputs: [],
    inputs: [
      { name: 'logits', dtype: 'float32', dims: bce ? [n] : [n, c] },
      { name: 'labels', dtype: bce || soft ? 'float32' : 'int64', dims: soft ? [n, c] : [n] },
    ],
  };
  const { loss } = emitLoss(g, spec, 'logits', 'labels', { batch: n, classes: c });
  g.nodes.push({ opType: 'Identity', name: 'out', domain: '', inputs: [loss], outputs: ['L'], attrs: {} });
  g.outputs.push({ name: 'L', dtype: 'float32', dims: [] });
  return g;
}

/** torch.nn.functional.cross_entropy(weight, label_smoothing, reduction='mean'), written from aten/src/ATen/native/LossNLL.cpp. */
function torchCrossEntropy(logits: number[][], y: number[], w?: number[], eps = 0): number {
  const C = logits[0]!.length;
  const wt = w ?? Array(C).fill(1);
  let nll = 0, smooth = 0, denom = 0;
  logits.forEach((row, i) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const logp = row.map((v) => v - lse);
    nll += -wt[y[i]!]! * logp[y[i]!]!;
    smooth += -logp.reduce((s, v, k) => s + wt[k]! * v, 0);
    denom += wt[y[i]!]!;
  });
  return (1 - eps) * (nll / denom) + (eps / C) * (smooth / denom);
}

describe('losses', () => {
  const sessions: Session[] = [];
  afterAll(async () => { for (const s of sessions) await s.dispose(); });
  const run = async (spec: LossSpec, logits: Tensor, labels: Tensor, c: number) => {
    const s = await Session.create(lossGraph(spec, logits.dims[0]!, c));
    sessions.push(s);
    return (await s.run({ logits, labels })).L!.data[0] as number;
  };

  it('cross-entropy matches values PyTorch prints (F.cross_entropy([[1,2,3]], [0]) = 2.4076, smoothing 0.1 → 2.3076)', async () => {
    expect(await run({ kind: 'cross-entropy' }, f32([1, 2, 3], [1, 3]), i64([0], [1]), 3)).toBeCloseTo(2.40761, 4);
    expect(await run({ kind: 'cross-entropy', labelSmoothing: 0.1 }, f32([1, 2, 3], [1, 3]), i64([0], [1]), 3)).toBeCloseTo(2.30761, 4);
    // uniform logits: log C whatever the smoothing
    expect(await run({ kind: 'cross-entropy', labelSmoothing: 0.3 }, f32(new Float32Array(8), [2, 4]), i64([1, 3], [2]), 4)).toBeCloseTo(Math.log(4), 5);
  });

  it('class weights and label smoothing follow PyTorch (weighted mean: Σ w_y·l / Σ w_y)', async () => {
    const logits = [[0.3, -1.2, 2.0], [1.5, 0.1, -0.4], [-0.7, 0.9, 0.2], [0.0, 0.4, -2.2]];
    const y = [2, 0, 1, 1], w = [0.2, 1.5, 3.0];
    for (const [weights, eps] of [[undefined, 0], [w, 0], [undefined, 0.2], [w, 0.2]] as const) {
      const got = await run({ kind: 'cross-entropy', ...(weights ? { classWeights: weights } : {}), labelSmoothing: eps }, f32(logits.flat(), [4, 3]), i64(y, [4]), 3);
      expectAllClose([got], [torchCrossEntropy(logits, y, weights ? [...weights] : undefined, eps)], { rtol: 1e-6, label: `CE w=${!!weights} eps=${eps}` });
    }
  });

  it('soft targets (MixUp): one-hot targets give the hard loss; mixed targets give λ·CE(a) + (1−λ)·CE(b) unweighted', async () => {
    const logits = [[0.3, -1.2, 2.0], [1.5, 0.1, -0.4], [-0.7, 0.9, 0.2], [0.0, 0.4, -2.2]];
    const y = [2, 0, 1, 1], w = [0.2, 1.5, 3.0];
    const onehot = y.flatMap((c) => [0, 1, 2].map((k) => (k === c ? 1 : 0)));
    for (const [weights, eps] of [[undefined, 0], [w, 0.2]] as const) {
      const spec = { kind: 'cross-entropy', ...(weights ? { classWeights: weights } : {}), labelSmoothing: eps } as const;
      const hard = await run(spec, f32(logits.flat(), [4, 3]), i64(y, [4]), 3);
      const soft = await run({ ...spec, soft: true }, f32(logits.flat(), [4, 3]), f32(onehot, [4, 3]), 3);
      expectAllClose([soft], [hard], { rtol: 1e-6, label: `soft one-hot w=${!!weights} eps=${eps}` });
    }
    // MixUp with partner b = y permuted and λ = 0.7: the mean of λ·CE(y) + (1−λ)·CE(b) (Zhang et al. 2018)
    const b = [1, 1, 2, 0], lam = 0.7;
    const mixed = y.flatMap((c, i) => [0, 1, 2].map((k) => (k === c ? lam : 0) + (k === b[i] ? 1 - lam : 0)));
    const want = lam * torchCrossEntropy(logits, y) + (1 - lam) * torchCrossEntropy(logits, b);
    expectAllClose([await run({ kind: 'cross-entropy', soft: true }, f32(logits.flat(), [4, 3]), f32(mixed, [4, 3]), 3)], [want], { rtol: 1e-6, label: 'mixup CE' });
  });

  it('BCE with logits matches PyTorch (x=0,y=1: log 2; pos_weight 3: 3·log 2) and is stable for large |x|', async () => {
    expect(await run({ kind: 'bce-with-logits' }, f32([0], [1]), f32([1], [1]), 1)).toBeCloseTo(Math.LN2, 6);
    expect(await run({ kind: 'bce-with-logits', posWeight: 3 }, f32([0], [1]), f32([1], [1]), 1)).toBeCloseTo(3 * Math.LN2, 5);
    // mean of softplus(−100)·1 ≈ 0 and softplus(100)·1 = 100 for a confidently wrong negative
    expect(await run({ kind: 'bce-with-logits' }, f32([100, 100], [2]), f32([1, 0], [2]), 1)).toBeCloseTo(50, 4);
  });

  for (const spec of [
    { kind: 'cross-entropy', classWeights: [0.5, 2, 1], labelSmoothing: 0.1 },
    { kind: 'bce-with-logits', posWeight: 2.5 },
    { kind: 'cross-entropy', classWeights: [0.5, 2, 1], soft: true },
  ] as LossSpec[]) {
    it(`${spec.kind}${spec.kind === 'cross-entropy' && spec.soft ? ' (soft targets)' : ''}: gradient w.r.t. logits matches finite differences`, async () => {
      const bce = spec.kind === 'bce-with-logits';
      const soft = spec.kind === 'cross-entropy' && spec.soft === true;
      const g = lossGraph(spec, 4, 3);
      const logits = bce ? f32([0.3, -1.2, 2.0, -0.5], [4]) : f32([0.3, -1.2, 2.0, 1.5, 0.1, -0.4, -0.7, 0.9, 0.2, 0.0, 0.4, -2.2], [4, 3]);
      const labels = bce ? f32([1, 0, 1, 0], [4]) : soft ? f32([0.2, 0, 0.8, 1, 0, 0, 0, 0.55, 0.45, 0.3, 0.7, 0], [4, 3]) : i64([2, 0, 1, 1], [4]);
      const fd = await finiteDiff(g, 'L', { logits, labels }, ['logits']);
      const ga: Graph = { ...g, nodes: [...g.nodes], outputs: [...g.outputs] };
      const grad = differentiate(ga, { loss: 'L', wrt: ['logits'] }).get('logits')!;
      ga.nodes.push({ opType: 'Identity', name: 'gid', domain: '', inputs: [grad], outputs: ['dL'], attrs: {} });
      ga.outputs.push({ name: 'dL', dtype: 'float32', dims: [...logits.dims] });
      const s = await Session.create(ga);
      sessions.push(s);
      const out = await s.run({ logits, labels });
      expect(maxRelError(out.dL!.data as Float32Array, fd.grads.get('logits')!)).toBeLessThan(fd.precision === 'float64' ? 1e-5 : 3e-3);
    });
  }
});
