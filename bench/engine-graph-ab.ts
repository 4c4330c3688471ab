// A/B of one network's training graph (forward, loss, backward; no optimizer update) built with the current rules and
// with the rules exported as `rules` by AB_OLD_RULES=path.ts or git:COMMIT: both sessions compiled first, then `rounds` rounds each
// running A and B once on the same feeds (alternated, so both see the same machine load). Per variant the min and
// median wall and process-CPU ms per run, the median of the per-round CPU ratios new/old, and the max relative
// difference of the gradients. Cheaper than engine-step-ab.ts (no compile per round), so more rounds fit a busy hour.
// AB_NEW_RULES=path.ts takes the new variant's rules from a module too (e.g. a threshold changed in a copy of conv.ts).
// Usage: AB_OLD_RULES=path.ts or git:COMMIT node --import tsx bench/engine-graph-ab.ts [arch=resnet18-28] [batch=128] [threads=2] [rounds=8]
import { cpus, loadavg } from 'node:os';
import { ParameterStore, RULES, Rng, Session, bindParams, bnStatOutputs, buildTrainingGraph, f32, i64 } from '../src/engine/index.js';
import type { Graph, Tensor } from '../src/engine/index.js';
import { nchwcBlockSize } from '../src/engine/runtime/nchwc.js';
import { createModel } from '../src/models/index.js';
import { maxRelDiff } from './graph-variants.js';
import { loadOldRules } from './old-rules.js';

const arch = process.argv[2] ?? 'resnet18-28';
const [batch, threads, rounds] = [128, 2, 8].map((d, i) => Number(process.argv[3 + i] ?? d)) as [number, number, number];
if (!process.env.AB_OLD_RULES) throw new Error('set AB_OLD_RULES=path.ts or git:COMMIT (a module exporting `rules`)');
const old = await loadOldRules();
const current = { ...RULES };
const fresh = process.env.AB_NEW_RULES ? ((await import(process.env.AB_NEW_RULES)) as { rules: typeof RULES }).rules : {};

const rng = new Rng(0);
const net = createModel(arch, { inChannels: arch === 'resnet18-28' ? 1 : 3, numClasses: 2, inputSize: arch.endsWith('-28') || arch === 'compact-cnn' ? 28 : 224, rng: rng.fork('init') });
const params = ParameterStore.fromWeights(net.params, net.shapes);
const block = await nchwcBlockSize();
const build = (rules: Partial<typeof RULES>) => {
  Object.assign(RULES, current, rules);
  try {
    return buildTrainingGraph(bindParams(net.trainGraph(), params), { trainable: params.trainableNames(), loss: { kind: 'cross-entropy' }, keepOutputs: bnStatOutputs(net), nchwcBlock: block });
  } finally {
    Object.assign(RULES, current);
  }
};
const variants = { old: build(old), new: build(fresh) };
const data = rng.fork('data');
const feeds: Record<string, Tensor> = {
  x: f32(Float32Array.from({ length: batch * net.inputDims.reduce((a, b) => a * b, 1) }, () => data.normal()), [batch, ...net.inputDims]),
  [variants.new.labelsInput]: i64(Array.from({ length: batch }, () => data.int(0, net.numClasses)), [batch]),
};
for (const p of params.trainableNames()) feeds[p] = params.tensor(p);
const names = Object.keys(variants) as (keyof typeof variants)[];
const sessions = await Promise.all(names.map((v) => Session.create(variants[v].graph as Graph, { threads })));
const wall: Record<string, number[]> = { old: [], new: [] }, cpu: Record<string, number[]> = { old: [], new: [] };
const out: Record<string, Record<string, Tensor>> = {};
const load0 = loadavg()[0]!;
try {
  for (let r = 0; r <= rounds; r++) {
    for (const [i, v] of names.entries()) {
      const t = performance.now(), c0 = process.cpuUsage();
      out[v] = await sessions[i]!.run(feeds);
      const c = process.cpuUsage(c0);
      if (r > 0) { wall[v]!.push(performance.now() - t); cpu[v]!.push((c.user + c.system) / 1000); }
      if (r > 0) process.stderr.write(`round ${r} ${v}: ${wall[v]!.at(-1)!.toFixed(0)} ms, CPU ${cpu[v]!.at(-1)!.toFixed(0)} ms (load ${loadavg()[0]!.toFixed(2)})\n`);
    }
  }
} finally {
  await Promise.all(sessions.map((s) => s.dispose()));
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const fix = (x: number) => +x.toFixed(1);
const gradDiff = Math.max(...Object.values(variants.new.gradOutputs).map((o) => maxRelDiff(out.new![o]!.data as Float32Array, out.old![o]!.data as Float32Array) ?? Infinity));
console.log(JSON.stringify({
  name: 'engine-graph-ab', arch, batch, threads, rounds,
  min_ms: { old: fix(Math.min(...wall.old!)), new: fix(Math.min(...wall.new!)) }, median_ms: { old: fix(med(wall.old!)), new: fix(med(wall.new!)) },
  cpu_min_ms: { old: fix(Math.min(...cpu.old!)), new: fix(Math.min(...cpu.new!)) }, cpu_median_ms: { old: fix(med(cpu.old!)), new: fix(med(cpu.new!)) },
  cpu_ratio_median: +med(cpu.new!.map((c, i) => c / cpu.old![i]!)).toFixed(3), max_grad_rel_diff: gradDiff,
  load: [+load0.toFixed(2), +loadavg()[0]!.toFixed(2)], cpu: cpus()[0]?.model, cores: cpus().length,
}));
