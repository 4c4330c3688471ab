// dX of ResNet-18-28's strided convolutions: the rule's ConvTranspose against the s² output phases as stride-1 Convs
// of dY with exactly the taps each phase receives (3×3 s2: 2×2, 2×1, 1×2, 1×1 kernels — 9 taps, no zeros), then
// Concat + DepthToSpace + Slice, alternated in one process (all sessions created first), median/min wall ms.
// Usage: node --import tsx bench/engine-conv-dx-strided-ab.ts [rounds=7]  (DX_N: batch, default 128)
import { cpus, loadavg } from 'node:os';
import { GradEmitter } from '../src/engine/autodiff/grad-emitter.js';
import { fitSpatial } from '../src/engine/autodiff/rules/conv.js';
import { Session, attr } from '../src/engine/index.js';
import type { Graph } from '../src/engine/index.js';
import { alternateRuns, maxRelDiff, randomFeeds, runStats } from './graph-variants.js';

const rounds = Number(process.argv[2] ?? 7);
const N = Number(process.env.DX_N ?? 128);
// [Cin, Cout, H, kernel, stride]
const SHAPES: [number, number, number, number, number][] = [[64, 128, 28, 3, 2], [64, 128, 28, 1, 2], [128, 256, 14, 3, 2], [128, 256, 14, 1, 2], [256, 512, 7, 3, 2], [256, 512, 7, 1, 2]];

/** dX as s² phase Convs: phase r of an axis receives taps i = r + s·t, i.e. a Conv of dY with W[r + s(T−1−t')]. */
function phaseConvs(g: GradEmitter, dY: string, w: string, H: number, k: number, s: number, p: number, ho: number): string {
  const m = Math.ceil((H + p) / s); // rows per phase, covering padded coordinates 0 … s·m − 1
  const big = -(2 ** 31);
  const outs: (string | undefined)[] = [];
  for (let rh = 0; rh < s; rh++) for (let rw = 0; rw < s; rw++) {
    const th = Math.ceil((k - rh) / s), tw = Math.ceil((k - rw) / s);
    if (th <= 0 || tw <= 0) { outs.push(undefined); continue; }
    const taps = g.op('Slice', [w, g.ints([rh + s * (th - 1), rw + s * (tw - 1)]), g.ints([big, big]), g.ints([2, 3]), g.ints([-s, -s])]);
    const end = Math.max(0, m - ho);
    let conv = g.op('Conv', [dY, g.transpose(taps, [1, 0, 2, 3])], { pads: attr.ints([th - 1, tw - 1, end, end]), kernel_shape: attr.ints([th, tw]) });
    if (m < ho) conv = g.slice(conv, [0, 0], [m, m], [2, 3]);
    outs.push(conv);
  }
  const any = outs.find((o) => o !== undefined)!;
  const zeros = outs.includes(undefined) ? g.op('Mul', [any, g.scalar(0)]) : undefined;
  const cat = g.op('Concat', outs.map((o) => o ?? zeros!), { axis: attr.int(1) });
  const interleaved = g.op('DepthToSpace', [cat], { blocksize: attr.int(s), mode: attr.string('DCR') });
  return g.slice(interleaved, [p, p], [p + H, p + H], [2, 3]);
}

for (const [C, K, H, k, S] of SHAPES) {
  const p = (k - 1) / 2;
  const ho = Math.floor((H + 2 * p - k) / S) + 1;
  const graphs: Record<string, Graph> = {};
  const build = (name: string, f: (e: GradEmitter) => string) => {
    const g: Graph = { name: 'dx', nodes: [], outputs: [], initializers: new Map(), valueInfo: new Map(), opset: 17,
      inputs: [{ name: 'W', dtype: 'float32', dims: [K, C, k, k] }, { name: 'dY', dtype: 'float32', dims: [N, K, ho, ho] }] };
    const e = new GradEmitter(g, new Map([['W', { dtype: 'float32', dims: [K, C, k, k] }], ['dY', { dtype: 'float32', dims: [N, K, ho, ho] }]]));
    g.outputs.push({ name: f(e), dtype: 'float32', dims: [] });
    graphs[name] = g;
  };
  // as rules/conv.ts emits it for strided convs
  build('convTranspose', (e) => {
    const t = e.op('ConvTranspose', ['dY', 'W'], { strides: attr.ints([S, S]), pads: attr.ints([p, p, 0, 0]), kernel_shape: attr.ints([k, k]) });
    const full = (ho - 1) * S + k - p;
    return fitSpatial(e, t, [full, full], [H, H]);
  });
  build('phases', (e) => phaseConvs(e, 'dY', 'W', H, k, S, p, ho));
  const names = Object.keys(graphs);
  const sessions = await Promise.all(names.map((v) => Session.create(graphs[v]!, { threads: 2 })));
  const load0 = loadavg()[0]!;
  try {
    const runs = await alternateRuns(sessions, names, graphs, randomFeeds({ W: [K, C, k, k], dY: [N, K, ho, ho] }), rounds);
    console.log(JSON.stringify({
      name: 'engine-conv-dx-strided-ab', config: { N, C, K, H, kernel: k, stride: S, rounds }, ...runStats(names, runs),
      rel_err: maxRelDiff(runs.out.phases, runs.out.convTranspose), load: [+load0.toFixed(2), +loadavg()[0]!.toFixed(2)], cpu: cpus()[0]?.model,
    }));
  } finally {
    await Promise.all(sessions.map((s) => s.dispose()));
  }
}
