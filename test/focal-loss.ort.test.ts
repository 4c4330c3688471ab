import { afterAll, describe, expect, it } from 'vitest';
import { differentiate, emitLoss, f32, i64, Session, type Graph, type LossSpec, type Tensor } from '../src/engine/index.js';
import { expectAllClose, maxRelError } from './helpers/all-close.js';
import { finiteDiff } from './helpers/finite-diff.js';

// Reference values from PyTorch 1.13 (float64), the focal loss written from its formula (Lin et al. 2017, eq. 5):
//   logp = log_softmax(L, 1); p = logp.exp(); (t * alpha * (1 - p)**gamma * (-logp)).sum(1).mean()
// and its gradient by torch.autograd.grad, for the logits and labels below.
const LOGITS = [0.3, -1.2, 2.0, 1.5, 0.1, -0.4, -0.7, 0.9, 0.2, 0.0, 0.4, -2.2];
const Y = [2, 0, 1, 1];
const SOFT = [0.2, 0, 0.8, 1, 0, 0, 0, 0.55, 0.45, 0.3, 0.7, 0];
const CASES: { name: string; spec: LossSpec; soft: boolean; loss: number; grad: number[] }[] = [
  { name: 'γ = 2', spec: { kind: 'focal', gamma: 2 }, soft: false, loss: 0.05614001585674516,
    grad: [0.0034928356, 0.000779357, -0.0042721925, -0.0153345547, 0.0095451366, 0.005789418, 0.0126487646, -0.0437597052, 0.0311109407, 0.0436535453, -0.048490496, 0.0048369507] },
  { name: 'γ = 2, α per class', spec: { kind: 'focal', gamma: 2, alpha: [0.25, 0.5, 1] }, soft: false, loss: 0.027231476666392994,
    grad: [0.0034928356, 0.000779357, -0.0042721925, -0.0038336387, 0.0023862842, 0.0014473545, 0.0063243823, -0.0218798526, 0.0155554703, 0.0218267726, -0.024245248, 0.0024184753] },
  { name: 'γ = 0.5 (Pow), α per class', spec: { kind: 'focal', gamma: 0.5, alpha: [0.25, 0.5, 1] }, soft: false, loss: 0.12056774734469414,
    grad: [0.0231525202, 0.0051660255, -0.0283185457, -0.013425944, 0.0083571041, 0.0050688399, 0.0131417647, -0.0454652899, 0.0323235252, 0.0431027501, -0.0478786709, 0.0047759208] },
  { name: 'γ = 1.5, soft targets', spec: { kind: 'focal', gamma: 1.5, soft: true }, soft: true, loss: 0.2537427738399571,
    grad: [-0.0445952337, 0.003185707, 0.0414095267, -0.0242710761, 0.0151077578, 0.0091633183, 0.0232409472, 0.0376004148, -0.060841362, -0.0025268332, -0.0048037192, 0.0073305524] },
  // γ = 0 without α is cross-entropy: F.cross_entropy(L, y) = 0.4054143273348362
  { name: 'γ = 0 (= cross-entropy)', spec: { kind: 'focal', gamma: 0 }, soft: false, loss: 0.4054143273348362,
    grad: [0.0373297155, 0.0083293854, -0.045659101, -0.0709381444, 0.0441561099, 0.0267820345, 0.0297172032, -0.1028097288, 0.0730925255, 0.0960567603, -0.1067001527, 0.0106433924] },
];

function focalGraph(spec: LossSpec, soft: boolean): Graph {
  const g: Graph = {
    name: 'focal', nodes: [], initializers: new Map(), valueInfo: new Map(), opset: 17, outputs: [],
    inputs: [
      { name: 'logits', dtype: 'float32', dims: [4, 3] },
      { name: 'labels', dtype: soft ? 'float32' : 'int64', dims: soft ? [4, 3] : [4] },
    ],
  };
  const { loss } = emitLoss(g, spec, 'logits', 'labels', { batch: 4, classes: 3 });
  g.nodes.push({ opType: 'Identity', name: 'out', domain: '', inputs: [loss], outputs: ['L'], attrs: {} });
  g.outputs.push({ name: 'L', dtype: 'float32', dims: [] });
  return g;
}

describe('focal loss', () => {
  const sessions: Session[] = [];
  afterAll(async () => { for (const s of sessions) await s.dispose(); });

  for (const c of CASES) {
    it(`${c.name}: value and gradient match PyTorch, gradient matches finite differences`, async () => {
      const g = focalGraph(c.spec, c.soft);
      const logits = f32(LOGITS, [4, 3]);
      const labels: Tensor = c.soft ? f32(SOFT, [4, 3]) : i64(Y, [4]);
      const ga: Graph = { ...g, nodes: [...g.nodes], outputs: [...g.outputs] };
      const grad = differentiate(ga, { loss: 'L', wrt: ['logits'] }).get('logits')!;
      ga.nodes.push({ opType: 'Identity', name: 'gid', domain: '', inputs: [grad], outputs: ['dL'], attrs: {} });
      ga.outputs.push({ name: 'dL', dtype: 'float32', dims: [4, 3] });
      const s = await Session.create(ga);
      sessions.push(s);
      const out = await s.run({ logits, labels });
      expectAllClose([out.L!.data[0] as number], [c.loss], { rtol: 1e-5, atol: 1e-7, label: `${c.name} loss` });
      expectAllClose(out.dL!.data as Float32Array, c.grad, { rtol: 1e-4, atol: 2e-7, label: `${c.name} dL/dlogits vs torch` });
      const fd = await finiteDiff(g, 'L', { logits, labels }, ['logits']);
      expect(maxRelError(out.dL!.data as Float32Array, fd.grads.get('logits')!)).toBeLessThan(fd.precision === 'float64' ? 1e-5 : 3e-3);
    });
  }

  it('confident correct rows get almost no loss and a finite gradient (p → 1, γ = 0.5)', async () => {
    const g = focalGraph({ kind: 'focal', gamma: 0.5 }, false);
    const ga: Graph = { ...g, nodes: [...g.nodes], outputs: [...g.outputs] };
    const grad = differentiate(ga, { loss: 'L', wrt: ['logits'] }).get('logits')!;
    ga.nodes.push({ opType: 'Identity', name: 'gid', domain: '', inputs: [grad], outputs: ['dL'], attrs: {} });
    ga.outputs.push({ name: 'dL', dtype: 'float32', dims: [4, 3] });
    const s = await Session.create(ga);
    sessions.push(s);
    const big = [60, 0, 0, 0, 60, 0, 0, 0, 60, 60, 0, 0];
    const out = await s.run({ logits: f32(big, [4, 3]), labels: i64([0, 1, 2, 0], [4]) });
    expect(out.L!.data[0]).toBeLessThan(1e-12);
    for (const v of out.dL!.data as Float32Array) expect(Number.isFinite(v)).toBe(true);
  });
});
