// Conv dW formulations of `rules/conv.ts` (CONV_DW_FORMULATIONS: the rule's own emitters, and bench/conv-dw-variants.ts) on every ResNet-18-28 conv
// shape, batch 128, alternated A B C … in one process (all sessions created first, then `rounds` rounds, each running
// every variant once), so all variants see the same machine load; per variant the min and median wall and process-CPU
// ms, and the max relative difference from `im2col`.
// Usage: node --import tsx bench/engine-conv-dw-ab.bench.ts [threads=2] [rounds=5] [variants=all] [shapes=all]
// shapes: indices into SHAPES, comma separated. DW_PROFILE=1 also prints each variant's kernel time by op (onnxruntime
// profile of the timed rounds, ms per run).
import { readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GradEmitter } from '../src/engine/autodiff/grad-emitter.js';
import { DW_VARIANTS } from './conv-dw-variants.js';
import { Session, attr, windowAttrs } from '../src/engine/index.js';
import type { Graph, Node } from '../src/engine/index.js';
import { alternateRuns, maxRelDiff, runStats, randomFeeds } from './graph-variants.js';

const threads = Number(process.argv[2] ?? 2);
const rounds = Number(process.argv[3] ?? 5);
const wanted = process.argv[4] && process.argv[4] !== 'all' ? process.argv[4].split(',') : Object.keys(DW_VARIANTS);
// [Cin, Cout, H, kernel, stride] of ResNet-18-28 (the stem, then per stage: 3×3 s1, the first 3×3 s2, the 1×1 s2 downsample)
// DW_SHAPES='Cin,Cout,H,kernel,stride;…' and DW_N replace them and the batch (e.g. MobileNetV2-224's 1×1 convs at 32).
const SHAPES: [number, number, number, number, number][] = process.env.DW_SHAPES ? process.env.DW_SHAPES.split(';').map((t) => t.split(',').map(Number) as [number, number, number, number, number]) : [
  [1, 64, 28, 3, 1], [64, 64, 28, 3, 1],
  [64, 128, 28, 3, 2], [64, 128, 28, 1, 2], [128, 128, 14, 3, 1],
  [128, 256, 14, 3, 2], [128, 256, 14, 1, 2], [256, 256, 7, 3, 1],
  [256, 512, 7, 3, 2], [256, 512, 7, 1, 2], [512, 512, 4, 3, 1],
];
const which = process.argv[5] && process.argv[5] !== 'all' ? process.argv[5].split(',').map(Number) : SHAPES.map((_, i) => i);
const N = Number(process.env.DW_N ?? 128);

for (const si of which) {
  const [C, K, H, k, S] = SHAPES[si]!;
  const p = (k - 1) / 2;
  const Ho = Math.floor((H + 2 * p - k) / S) + 1;
  const node: Node = { opType: 'Conv', name: 'conv', domain: '', inputs: ['X', 'W'], outputs: ['Y'], attrs: { pads: attr.ints([p, p, p, p]), strides: attr.ints([S, S]), kernel_shape: attr.ints([k, k]) } };
  const a = windowAttrs(node, [H, H], [k, k]);
  const applies = (v: string) => !v.includes('shifted') || (S === 1 && k > 1);
  const names = wanted.filter(applies);
  const graphs: Record<string, Graph> = {};
  for (const v of names) {
    const g: Graph = { name: 'dw', nodes: [], outputs: [], initializers: new Map(), valueInfo: new Map(), opset: 17,
      inputs: [{ name: 'X', dtype: 'float32', dims: [N, C, H, H] }, { name: 'dY', dtype: 'float32', dims: [N, K, Ho, Ho] }] };
    const e = new GradEmitter(g, new Map());
    g.outputs.push({ name: DW_VARIANTS[v]!(e, 'X', 'dY', [K, C, k, k], [N, K, Ho, Ho], a, [N, C, H, H]), dtype: 'float32', dims: [] });
    graphs[v] = g;
  }
  const feeds = randomFeeds({ X: [N, C, H, H], dY: [N, K, Ho, Ho] });
  const profile = process.env.DW_PROFILE ? (v: string) => join(tmpdir(), `dw-ab-${process.pid}-${names.indexOf(v)}-x`) : undefined;
  const sessions = await Promise.all(names.map((v) => Session.create(graphs[v]!, { threads, ...(profile ? { profile: profile(v) } : {}) })));
  const load0 = loadavg()[0]!;
  let runs: Awaited<ReturnType<typeof alternateRuns>>;
  try {
    runs = await alternateRuns(sessions, names, graphs, feeds, rounds);
    if (profile) {
      for (const [i, v] of names.entries()) {
        const path = sessions[i]!.endProfiling();
        const byOp: Record<string, number> = {};
        const events = JSON.parse(readFileSync(path, 'utf8')) as { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } }[];
        const warm = events.find((ev) => ev.name === 'model_run')!; // the warm-up run is not counted
        for (const ev of events) {
          if (ev.cat === 'Node' && ev.name.endsWith('_kernel_time') && ev.ts > warm.ts + warm.dur) byOp[ev.args!.op_name!] = (byOp[ev.args!.op_name!] ?? 0) + ev.dur / 1000 / rounds;
        }
        if (!process.env.DW_KEEP) rmSync(path);
        process.stderr.write(`${v} (${path}): ${Object.entries(byOp).sort((x, y) => y[1] - x[1]).map(([o, ms]) => `${o} ${ms.toFixed(1)}`).join(', ')}\n`);
      }
    }
  } finally {
    await Promise.all(sessions.map((s) => s.dispose()));
  }
  const { out } = runs;
  console.log(JSON.stringify({
    name: 'engine-conv-dw-ab', config: { N, C, K, H, kernel: k, stride: S, threads, rounds }, ...runStats(names, runs),
    rel_err: Object.fromEntries(names.filter((v) => v !== 'im2col').map((v) => [v, maxRelDiff(out[v], out.im2col)])),
    load: [+load0.toFixed(2), +loadavg()[0]!.toFixed(2)], cpu: cpus()[0]?.model,
  }));
}
