// Train-mode batch norm + ReLU, forward and backward as one unit (z → y = BN(z) → r = Relu(y); given dr: dz, dγ, dβ),
// on ResNet-18-28's activation shapes, formulations alternated A B A B … in one process (sessions created once):
//   cur      the builder's decomposition (ReduceMean, Sub, Mul, ReduceMean, Sqrt, Div, Mul, Add) and the closed form
//            of batchnorm-composite.ts, ReLU gradient dr·Cast(Greater(y, 0));
//   sign     cur with the ReLU mask Sign(r) (one float pass instead of Greater + Cast);
//   rss      cur with var = ReduceSumSquare(c)/n (no c·c pass);
//   where    cur with the ReLU gradient Where(y > 0, dr, 0);
//   ortbn    forward as one onnxruntime BatchNormalization in training mode (batch mean and biased variance as its
//            running-statistics outputs, momentum 0); backward as cur from c = z − mean;
//   affine   ortbn, backward from x̂ = BatchNormalization(z; 1, 0, mean, var) and dz = f·dt − (x̂·A + B) with the
//            per-channel affine as one inference-mode BatchNormalization (mean 0, var 1, ε 0).
// Prints one JSON line per shape: min wall and CPU ms per variant, max relative difference of dz from cur.
// Args: [threads=2] [rounds=5].
import { cpus, loadavg } from 'node:os';
import { Emitter, Session, attr } from '../src/engine/index.js';
import type { Graph, Tensor } from '../src/engine/index.js';
import { maxRelDiff, randomFeeds } from './graph-variants.js';

const threads = Number(process.argv[2] ?? 2);
const rounds = Number(process.argv[3] ?? 5);
const SHAPES: [number, number, number][] = [[128, 64, 28], [128, 128, 14], [128, 256, 7]];
const EPS = 1e-5;

type Build = (e: Emitter, C: number, n: number) => string[];

/** Closed form of batchnorm-composite.ts from dt, c, var + ε, sd and factor. */
function closedForm(e: Emitter, dt: string, c: string, varEps: string, sd: string, f: string, axes: number[]): string[] {
  const prod = e.mul(dt, c);
  const meanDt = e.reduceMean(dt, axes);
  const coef = e.div(e.mul(f, e.reduceMean(prod, axes)), varEps);
  const dz = e.sub(e.mul(e.sub(dt, meanDt), f), e.mul(c, coef));
  return [dz, e.div(e.reduceSum(prod, axes, true), sd), e.reduceSum(dt, axes, true)];
}

const AXES = [0, 2, 3];
const decomposed = (e: Emitter, C: number, n?: number) => {
  const mean = e.reduceMean('z', AXES);
  const c = e.sub('z', mean);
  const v = n ? e.mul(e.op('ReduceSumSquare', [c], { axes: attr.ints(AXES), keepdims: attr.int(1) }), e.scalar(1 / n)) : e.reduceMean(e.mul(c, c), AXES);
  const varEps = e.add(v, e.scalar(EPS));
  const sd = e.op('Sqrt', [varEps]);
  const f = e.div(e.reshape('gamma', [1, C, 1, 1]), sd);
  const y = e.add(e.mul(c, f), e.reshape('beta', [1, C, 1, 1]));
  return { mean, v, c, varEps, sd, f, y, r: e.op('Relu', [y]) };
};
const fused = (e: Emitter, C: number) => {
  const zeros = e.mul('gamma', e.scalar(0));
  const [y, mean1, v1] = e.opN('BatchNormalization', ['z', 'gamma', 'beta', zeros, zeros], { epsilon: attr.float(EPS), momentum: attr.float(0), training_mode: attr.int(1) }, 3) as [string, string, string];
  const mean = e.reshape(mean1, [1, C, 1, 1]), v = e.reshape(v1, [1, C, 1, 1]);
  const varEps = e.add(v, e.scalar(EPS));
  const sd = e.op('Sqrt', [varEps]);
  const f = e.div(e.reshape('gamma', [1, C, 1, 1]), sd);
  return { mean, v, mean1, v1, varEps, sd, f, y, r: e.op('Relu', [y]) };
};

const VARIANTS: Record<string, Build> = {
  cur: (e, C) => {
    const d = decomposed(e, C);
    const dt = e.mul('dr', e.op('Cast', [e.greater(d.y, e.scalar(0))], { to: attr.int(1) }));
    return [d.r, ...closedForm(e, dt, d.c, d.varEps, d.sd, d.f, AXES), d.mean, d.v];
  },
  sign: (e, C) => {
    const d = decomposed(e, C);
    const dt = e.mul('dr', e.op('Sign', [d.r]));
    return [d.r, ...closedForm(e, dt, d.c, d.varEps, d.sd, d.f, AXES), d.mean, d.v];
  },
  rss: (e, C, n) => {
    const d = decomposed(e, C, n);
    const dt = e.mul('dr', e.op('Cast', [e.greater(d.y, e.scalar(0))], { to: attr.int(1) }));
    return [d.r, ...closedForm(e, dt, d.c, d.varEps, d.sd, d.f, AXES), d.mean, d.v];
  },
  where: (e, C) => {
    const d = decomposed(e, C);
    const dt = e.where(e.greater(d.y, e.scalar(0)), 'dr', e.scalar(0));
    return [d.r, ...closedForm(e, dt, d.c, d.varEps, d.sd, d.f, AXES), d.mean, d.v];
  },
  ortbn: (e, C) => {
    const d = fused(e, C);
    const dt = e.mul('dr', e.op('Cast', [e.greater(d.y, e.scalar(0))], { to: attr.int(1) }));
    return [d.r, ...closedForm(e, dt, e.sub('z', d.mean), d.varEps, d.sd, d.f, AXES), d.mean, d.v];
  },
  affine: (e, C, n) => {
    const d = fused(e, C);
    const dt = e.mul('dr', e.op('Cast', [e.greater(d.y, e.scalar(0))], { to: attr.int(1) }));
    const one = e.add(e.mul('gamma', e.scalar(0)), e.scalar(1));
    const zero = e.mul('gamma', e.scalar(0));
    const xhat = e.op('BatchNormalization', ['z', one, zero, d.mean1, d.v1], { epsilon: attr.float(EPS) });
    const s1 = e.reduceSum(dt, AXES, false), s2 = e.reduceSum(e.mul(dt, xhat), AXES, false);
    const f1 = e.reshape(d.f, [C]);
    const a = e.mul(f1, e.mul(s2, e.scalar(1 / n))), b = e.mul(f1, e.mul(s1, e.scalar(1 / n)));
    const aff = e.op('BatchNormalization', [xhat, a, b, zero, one], { epsilon: attr.float(0) });
    const dz = e.sub(e.mul(dt, d.f), aff);
    return [d.r, dz, s2, s1, d.mean, d.v];
  },
};

const names = (process.env.VARIANTS ?? Object.keys(VARIANTS).join(',')).split(',');
for (const [N, C, H] of SHAPES) {
  const dims = [N, C, H, H];
  const feeds = randomFeeds({ z: dims, dr: dims, gamma: [C], beta: [C] });
  for (let i = 0; i < C; i++) feeds.gamma!.data[i] = 1 + 0.1 * (feeds.gamma!.data[i] as number);
  const sessions: Record<string, Session> = {}, dzName: Record<string, string> = {};
  for (const v of names) {
    const g: Graph = { name: v, nodes: [], outputs: [], initializers: new Map(), valueInfo: new Map(), opset: 17, inputs: [
      { name: 'z', dtype: 'float32', dims }, { name: 'dr', dtype: 'float32', dims }, { name: 'gamma', dtype: 'float32', dims: [C] }, { name: 'beta', dtype: 'float32', dims: [C] }] };
    const outs = VARIANTS[v]!(new Emitter(g, 'b'), C, N * H * H);
    dzName[v] = outs[1]!;
    g.outputs = outs.map((o) => ({ name: o, dtype: 'float32', dims: [] }));
    sessions[v] = await Session.create(g, { threads });
  }
  const wall: Record<string, number> = {}, cpu: Record<string, number> = {}, dz: Record<string, Float32Array> = {};
  const load0 = loadavg()[0]!;
  for (let r = 0; r <= rounds; r++) {
    for (const v of names) {
      const t = performance.now(), c0 = process.cpuUsage();
      const out = await sessions[v]!.run(feeds as Record<string, Tensor>);
      const c = process.cpuUsage(c0);
      if (r === 0) { dz[v] = out[dzName[v]!]!.data as Float32Array; continue; }
      wall[v] = Math.min(wall[v] ?? Infinity, +(performance.now() - t).toFixed(2));
      cpu[v] = Math.min(cpu[v] ?? Infinity, +((c.user + c.system) / 1000).toFixed(2));
    }
  }
  for (const s of Object.values(sessions)) await s.dispose();
  console.log(JSON.stringify({
    name: 'engine-bn-relu', config: { N, C, H, threads, rounds }, min_ms: wall, min_cpu_ms: cpu,
    dz_rel_diff: Object.fromEntries(names.map((v) => [v, maxRelDiff(dz[v], dz.cur)])), load: [load0, loadavg()[0]], cpu: cpus()[0]?.model,
  }));
}
