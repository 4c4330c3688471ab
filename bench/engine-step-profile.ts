// Profile of one network's full training step (benchTrain: forward, loss, backward, AdamW): the step time, then
// onnxruntime's kernel time per op type and per gradient rule (benchTrain's profileByRule: forward ops as 'fwd <op>',
// gradient nodes by the forward op whose rule emitted them and the rule's part, e.g. 'grad Conv dW im2col').
// Usage: node --import tsx bench/engine-step-profile.ts [arch=resnet18-28] [batch=128] [threads=2] [steps=3] [top=25] [variant=after]
// variant before: plain Convs, op-by-op batch norm and the rules exported as `rules` by AB_OLD_RULES=path.ts or git:COMMIT (e.g. an
// earlier conv.ts) — the engine before issue 16; after: the current defaults.
// arch: resnet18-28 | compact-cnn | mobilenet_v2-224 | any built-in (size 28 for *-28 / compact-cnn, else 224);
// PROFILE_SIZE, PROFILE_WIDTH and PROFILE_CHANNELS override a built-in's input size, width and input channels
// (e.g. the recipe's compact-resnet: PROFILE_SIZE=96 PROFILE_WIDTH=0.5 … compact-resnet 64).
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  ParameterStore, RULES, Rng, benchTrain, bnStatOutputs, dropoutFeeds, type Network,
} from '../src/engine/index.js';
import { createBackbone, createModel } from '../src/models/index.js';
import { loadOldRules } from './old-rules.js';

const arch = process.argv[2] ?? 'resnet18-28';
const [batch, threads, steps, top] = [128, 2, 3, 25].map((d, i) => Number(process.argv[3 + i] ?? d)) as [number, number, number, number];
const before = process.argv[7] === 'before';
if (before) Object.assign(RULES, await loadOldRules());
const variant = before ? { nchwc: false, closedFormBatchNorm: false } : {};
const MOBILENET_V2 = fileURLToPath(new URL('../../shared/models/tf-mobilenet-coral/mobilenet_v2_1.0_224_quant.f32.onnx', import.meta.url));

const rng = new Rng(0);
const net: Network = arch === 'mobilenet_v2-224'
  ? createBackbone(MOBILENET_V2, { numClasses: 2, inChannels: 3, rng: rng.fork('init') })
  : createModel(arch, {
    inChannels: Number(process.env.PROFILE_CHANNELS ?? (arch === 'resnet18-28' ? 1 : 3)), numClasses: 2,
    inputSize: Number(process.env.PROFILE_SIZE ?? (arch.endsWith('-28') || arch === 'compact-cnn' ? 28 : 224)),
    ...(process.env.PROFILE_WIDTH ? { width: Number(process.env.PROFILE_WIDTH) } : {}), rng: rng.fork('init'),
  });
const params = ParameterStore.fromWeights(net.params, net.shapes);
const graph = net.trainGraph();
const keepOutputs = bnStatOutputs(net);

const masks = rng.fork('dropout');
const bench = { name: net.name, graph, params, inputDims: net.inputDims, numClasses: net.numClasses, keepOutputs, extraFeeds: (b: number) => dropoutFeeds(net, masks, b) };
const load0 = loadavg()[0]!;
const opts = { batch, steps, warmup: 1, threads, rng, ...variant };
const byOp = (await benchTrain(bench, { ...opts, profile: true })).profile!;
const r = await benchTrain(bench, { ...opts, profile: true, profileByRule: true });
const total = r.profile!.reduce((s, c) => s + c.ms, 0);
const fmt = (l: { op: string; ms: number; share: number; nodes: number }[]) => l.slice(0, top).map((c) => `${c.ms.toFixed(1).padStart(8)} ms ${(c.share * 100).toFixed(1).padStart(5)}% ${String(c.nodes).padStart(4)}  ${c.op}`).join('\n');
process.stderr.write(`${arch} (${before ? 'before' : 'after'}) batch ${batch} threads ${threads}: step median ${r.median_ms} ms (min ${r.min_ms}), run ${r.run_median_ms}, update ${r.update_median_ms}, ${r.img_per_s} img/s; profiled kernel sum ${total.toFixed(1)} ms; load ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}\n-- by op\n${fmt(byOp)}\n-- by rule\n${fmt(r.profile!)}\n`);
console.log(JSON.stringify({
  name: 'engine-step-profile', arch, variant: before ? 'before' : 'after', batch, threads, steps, median_ms: r.median_ms, min_ms: r.min_ms, run_median_ms: r.run_median_ms, update_median_ms: r.update_median_ms,
  img_per_s: r.img_per_s, kernel_sum_ms: +total.toFixed(1), load: [+load0.toFixed(2), +loadavg()[0]!.toFixed(2)],
  by_op: byOp.slice(0, top), by_rule: r.profile!.slice(0, top), cpu: cpus()[0]?.model, cores: cpus().length, onnxruntime: r.onnxruntime,
}));
