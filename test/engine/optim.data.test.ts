import { describe, expect, it } from 'vitest';
import { AdamW } from '../../src/engine/optim/adamw.js';
import { clipGradNorm } from '../../src/engine/optim/clip.js';
import { createOptimizer } from '../../src/engine/optim/create.js';
import { Sgd } from '../../src/engine/optim/sgd.js';
import { ParameterStore } from '../../src/engine/params.js';
import { expectRelClose, loadFixture } from './optim-helpers.js';

const SGD0 = { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

describe('SGD', () => {
  for (const name of ['mlp', 'small_cnn', 'resblock', 'mbconv']) {
    it(`one step (lr 0.1) on the PyTorch gradients matches torch.optim.SGD (${name} fixture)`, () => {
      const { graph, ref, meta } = loadFixture(name);
      const store = ParameterStore.fromGraph(graph, meta.trainable);
      const grads = new Map(meta.trainable.map((p) => [p, ref.get(`grad/${p}`)!.data as Float32Array]));
      new Sgd(SGD0).step(store, grads);
      for (const p of meta.trainable) expectRelClose(store.get(p).data, ref.get(`sgd1/${p}`)!.data as Float32Array, 1e-6, `sgd1/${p}`);
    });
  }

  it('momentum, dampening, weight decay and Nesterov follow the torch update rule (hand-derived)', () => {
    // p=1, g=0.5 each step, lr 0.1, momentum 0.9, wd 0.1 → d = g + wd·p.
    const store = new ParameterStore();
    store.add('w', new Float32Array([1]), [1]);
    const opt = new Sgd({ ...SGD0, momentum: 0.9, weightDecay: 0.1, nesterov: true });
    const g = new Map([['w', new Float32Array([0.5])]]);
    opt.step(store, g); // d=0.6, buf=0.6, step=0.6+0.54=1.14, p=1-0.114=0.886
    expect(store.get('w').data[0]).toBeCloseTo(0.886, 6);
    opt.step(store, g); // d=0.5886, buf=0.54+0.5886=1.1286, step=0.5886+1.01574=1.60434, p=0.886-0.160434
    expect(store.get('w').data[0]).toBeCloseTo(0.725566, 6);
    const damp = new Sgd({ ...SGD0, momentum: 0.5, dampening: 0.5 });
    const s2 = new ParameterStore();
    s2.add('w', new Float32Array([0]), [1]);
    damp.step(s2, new Map([['w', new Float32Array([1])]])); // buf=1 (first step: no dampening)
    damp.step(s2, new Map([['w', new Float32Array([1])]])); // buf=0.5+0.5=1
    expect(s2.get('w').data[0]).toBeCloseTo(-0.2, 6);
  });

  it('rejects Nesterov without momentum', () => {
    expect(() => new Sgd({ ...SGD0, nesterov: true })).toThrow(/Nesterov/);
  });
});

describe('AdamW', () => {
  it('first steps match the torch.optim.AdamW formula (hand-derived, decoupled decay, amsgrad)', () => {
    const store = new ParameterStore();
    store.add('w', new Float32Array([2, -1]), [2]);
    const opt = new AdamW({ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.5, amsgrad: false });
    opt.step(store, { w: new Float32Array([0.3, -0.2]) });
    // step 1: m̂ = g, v̂ = g², update = lr·g/(|g|+eps) ≈ ±lr; decay first: p·(1 − 0.05)
    expect(store.get('w').data[0]).toBeCloseTo(2 * 0.95 - 0.1, 6);
    expect(store.get('w').data[1]).toBeCloseTo(-1 * 0.95 + 0.1, 6);
    // amsgrad: second gradient smaller → denominator keeps the larger v
    const s2 = new ParameterStore();
    s2.add('w', new Float32Array([0]), [1]);
    const ams = new AdamW({ lr: 1, betas: [0.5, 0.5], eps: 0, weightDecay: 0, amsgrad: true });
    ams.step(s2, { w: new Float32Array([2]) }); // m=1, v=2, bc1=.5, bc2=.5 → p = -(1/.5)·1/(√2/√.5) = -1
    ams.step(s2, { w: new Float32Array([0]) }); // m=.5, v=1, vmax=2, bc1=.75, bc2=.75 → Δ = (1/.75)·.5/(√2/√.75)
    expect(s2.get('w').data[0]).toBeCloseTo(-1 - (0.5 / 0.75) / (Math.SQRT2 / Math.sqrt(0.75)), 6);
  });

  it('per-group lr and weight decay apply to the parameters each group names', () => {
    const store = new ParameterStore();
    store.add('trunk.w', new Float32Array([1]), [1]);
    store.add('head.w', new Float32Array([1]), [1]);
    const opt = createOptimizer({ name: 'adamw', lr: 0.1, weightDecay: 0 }, [{ params: 'trunk.*', lr: 0.01, weightDecay: 1 }]);
    opt.step(store, { 'trunk.w': new Float32Array([1]), 'head.w': new Float32Array([1]) });
    expect(store.get('head.w').data[0]).toBeCloseTo(0.9, 6);
    expect(store.get('trunk.w').data[0]).toBeCloseTo(0.99 - 0.01, 6);
    expect(opt.groupOf('head.w').lr).toBe(0.1);
  });

  it('state dict round-trips: a restored optimizer continues identically', () => {
    const mk = () => { const s = new ParameterStore(); s.add('w', new Float32Array([1, 2, 3]), [3]); return s; };
    const g = { w: new Float32Array([0.1, -0.3, 0.7]) };
    const a = mk(), b = mk();
    const optA = createOptimizer({ name: 'adamw' });
    optA.step(a, g); optA.step(a, g);
    b.load({ w: a.get('w').data });
    const optB = createOptimizer({ name: 'adamw' });
    optB.loadStateDict(optA.stateDict());
    optA.step(a, g); optB.step(b, g);
    expect([...b.get('w').data]).toEqual([...a.get('w').data]);
  });
});

describe('clipGradNorm', () => {
  it('scales by maxNorm / (norm + 1e-6) as torch.nn.utils.clip_grad_norm_, and leaves small gradients', () => {
    const a = new Float32Array([3, 0]), b = new Float32Array([4]);
    expect(clipGradNorm([a, b], 1)).toBeCloseTo(5, 6);
    expect(a[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
    expect(b[0]).toBeCloseTo(4 / (5 + 1e-6), 6);
    const c = new Float32Array([0.3, 0.4]);
    expect(clipGradNorm([c], 1)).toBeCloseTo(0.5, 6);
    expect([...c]).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });
});
