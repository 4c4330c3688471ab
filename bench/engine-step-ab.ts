// A/B of full training steps (benchTrain) between engine settings, alternated A B A B … in one process so both see
// the same machine load: per variant the min and median step over all rounds (wall and process CPU time: on a loaded
// machine the CPU time per step is the steadier figure), and the load average.
// Usage: node --import tsx bench/engine-step-ab.ts [arch=resnet18-28] [batch=128] [threads=2] [rounds=3] [variants=plain,nchwc]
// Variants: plain (Convs as plain ONNX Convs), nchwc (the trainer default: measured Convs on onnxruntime's NCHWc kernels),
// old (nchwc, with the rules exported as `rules` by the module AB_OLD_RULES=path.ts or git:COMMIT in place of the current ones:
// e.g. an earlier conv.ts, to A/B a gradient formulation), opbn (nchwc, batch norm differentiated op by op), before
// (plain Convs, op-by-op batch norm and the AB_OLD_RULES rules: the engine before issue 16), after (the defaults),
// spin / nospin (the defaults with the session's intra-op threads always / never spinning), nochain (the defaults with every
// lowered Conv wrapped in its own reorders: keepNchwcChains off), min16 / min49 (the defaults with Convs lowered to NCHWc
// from 16 / 49 output positions, NCHWC_MIN_POSITIONS, whatever the block).
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ParameterStore, RULES, Rng, benchTrain, bnStatOutputs, dropoutFeeds, type BenchOptions, type Network } from '../src/engine/index.js';
import { createBackbone, createModel } from '../src/models/index.js';
import { NCHWC_CHAIN_OPS } from '../src/engine/graph/nchwc-chain.js';
import { NCHWC_MIN_POSITIONS } from '../src/engine/graph/nchwc-lower.js';
import { loadOldRules } from './old-rules.js';

const arch = process.argv[2] ?? 'resnet18-28';
const [batch, threads, rounds] = [128, 2, 3].map((d, i) => Number(process.argv[3 + i] ?? d)) as [number, number, number];
const names = (process.argv[6] ?? 'plain,nchwc').split(',');
const VARIANTS: Record<string, Partial<BenchOptions>> = { plain: { nchwc: false }, nchwc: { nchwc: true }, after: {}, old: { nchwc: true }, opbn: { nchwc: true, closedFormBatchNorm: false }, before: { nchwc: false, closedFormBatchNorm: false }, spin: { spin: true }, nospin: { spin: false }, nochain: {}, min16: {}, min49: {} };
const minPositions = { ...NCHWC_MIN_POSITIONS };
const chainOps = [...NCHWC_CHAIN_OPS];
const current = { ...RULES };
const old = await loadOldRules();
const MOBILENET_V2 = fileURLToPath(new URL('../../shared/models/tf-mobilenet-coral/mobilenet_v2_1.0_224_quant.f32.onnx', import.meta.url));

const rng = new Rng(0);
const net: Network = arch === 'mobilenet_v2-224'
  ? createBackbone(MOBILENET_V2, { numClasses: 2, inChannels: 3, rng: rng.fork('init') })
  : createModel(arch, { inChannels: arch === 'resnet18-28' ? 1 : 3, numClasses: 2, inputSize: arch.endsWith('-28') || arch === 'compact-cnn' ? 28 : 224, rng: rng.fork('init') });
const masks = rng.fork('dropout');
const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const load0 = loadavg()[0]!;
for (let r = 0; r < rounds; r++) {
  for (const v of names) {
    Object.assign(RULES, current, v === 'old' || v === 'before' ? old : {});
    Object.assign(NCHWC_MIN_POSITIONS, minPositions, v === 'min16' ? { 8: 16, 16: 16 } : v === 'min49' ? { 8: 49, 16: 49 } : {});
    NCHWC_CHAIN_OPS.clear();
    if (v !== 'nochain') chainOps.forEach((op) => NCHWC_CHAIN_OPS.add(op));
    const params = ParameterStore.fromWeights(net.params, net.shapes);
    const res = await benchTrain(
      { name: net.name, graph: net.trainGraph(), params, inputDims: net.inputDims, numClasses: net.numClasses, keepOutputs: bnStatOutputs(net), extraFeeds: (b) => dropoutFeeds(net, masks, b) },
      { batch, steps: 2, warmup: 1, threads, rng, ...VARIANTS[v] },
    );
    times[v]!.push(res.min_ms);
    cpu[v]!.push(res.cpu_ms);
    process.stderr.write(`round ${r} ${v}: min ${res.min_ms} ms median ${res.median_ms} ms, CPU ${res.cpu_ms} ms (load ${res.load.join('→')})\n`);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const stat = (a: number[], c: number[]) => ({ min_ms: Math.min(...a), median_ms: med(a), img_per_s_at_min: +((batch * 1000) / Math.min(...a)).toFixed(1), cpu_min_ms: Math.min(...c), cpu_median_ms: med(c) });
console.log(JSON.stringify({
  name: 'engine-step-ab', arch, batch, threads, rounds, variants: Object.fromEntries(names.map((n) => [n, stat(times[n]!, cpu[n]!)])),
  load: [+load0.toFixed(2), +loadavg()[0]!.toFixed(2)], cpu: cpus()[0]?.model, cores: cpus().length,
}));
