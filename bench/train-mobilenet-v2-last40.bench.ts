// Phase-2 step of the chest X-ray example: MobileNetV2 (shared TF model, grey input) trained from the block-3 cut
// (cached trunk, input [N, 32, 28, 28]) with the last 40 convs + head trainable, batch 32. Times full Trainer steps
// (min and median of `steps`), then profiles the same training graph with onnxruntime and sums kernel time by the
// rule that emitted each node (forward op, depthwise dW/dX, 1×1 dW/dX, Clip grad, ...). Prints one JSON line.
// Args: [threads=1] [steps=6] [batch=32] [profile=1].
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ParameterStore, Rng, Session, benchTrain, bindParams, bnStatOutputs, buildTrainingGraph, dropoutFeeds, f32, i64, inferShapes, loadModel,
  type Graph, type Node, type Tensor,
} from '../src/engine/index.js';
import { createBackbone, cutBeforeLastConvs, selectTrainable } from '../src/models/index.js';

const shared = fileURLToPath(new URL('../../shared/', import.meta.url));
const [threads, steps, batch, profile] = [1, 6, 32, 1].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number, number, number];

const source = loadModel(`${shared}models/tf-mobilenet-coral/mobilenet_v2_1.0_224_quant.f32.onnx`);
const start = cutBeforeLastConvs(source, 40);
const rng = new Rng(0);
const net = createBackbone(source, { numClasses: 2, inChannels: 1, head: { kind: 'linear', dropout: 0.2 }, startTensor: start, rng: rng.fork('init') });
const params = ParameterStore.fromWeights(net.params, net.shapes);
const trainable = new Set(selectTrainable(net, 'last:40'));
params.freeze('*');
params.unfreeze([...trainable]);
const masks = rng.fork('dropout');
const graph = net.trainGraph();

const load0 = loadavg();
const r = await benchTrain(
  { name: 'mobilenet_v2 last:40 from block 3', graph, params, inputDims: net.inputDims, numClasses: 2, keepOutputs: bnStatOutputs(net), extraFeeds: (b) => dropoutFeeds(net, masks, b) },
  { batch, steps, warmup: 1, threads, rng },
);

/** Which rule emitted a node of the training graph: forward op kind or gradient formulation. */
function classify(node: Node, dims: (v: string) => readonly number[] | undefined): string {
  const grad = node.name.startsWith('grad/');
  const a = node.attrs;
  const group = a.group?.type === 'int' ? a.group.value : 1;
  const k = a.kernel_shape?.type === 'ints' ? a.kernel_shape.value : dims(node.inputs[1] ?? '')?.slice(2);
  const ks = k ? k.join('x') : '?';
  if (!grad) {
    if (node.opType === 'Conv') return `fwd Conv ${group > 1 ? 'depthwise' : ''} ${ks}`.replace('  ', ' ');
    return `fwd ${node.opType}`;
  }
  if (node.opType === 'Conv' || node.opType === 'ConvTranspose') {
    const w = dims(node.inputs[1] ?? '');
    const big = w && w.length === 4 && (w[2]! > 3 || w[3]! > 3); // kernel = dY: a weight gradient
    if (group > 1) return big ? 'grad depthwise dW (grouped Conv, kernel dY)' : `grad depthwise dX (${node.opType})`;
    return big ? 'grad dW (Conv, kernel dY)' : `grad dX ${ks} (${node.opType})`;
  }
  return `grad ${node.opType}`;
}

let byRule: { rule: string; ms: number; share: number; nodes: number }[] | undefined;
if (profile) {
  const tg = buildTrainingGraph(bindParams(graph, params), { trainable: params.trainableNames(), loss: { kind: 'cross-entropy' }, keepOutputs: bnStatOutputs(net) });
  const g: Graph = tg.graph;
  const prng = rng.fork('profile');
  const feeds: Record<string, Tensor> = {
    ...dropoutFeeds(net, masks, batch),
    x: f32(Float32Array.from({ length: batch * net.inputDims.reduce((p, d) => p * d, 1) }, () => prng.normal()), [batch, ...net.inputDims]),
    [tg.labelsInput]: i64(Array.from({ length: batch }, () => prng.int(0, 2)), [batch]),
  };
  for (const p of tg.paramInputs) feeds[p] = params.tensor(p);
  const shapes = inferShapes(g, Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.dims])));
  const nodes = new Map(g.nodes.map((n) => [n.name, n]));
  // The window dW of a depthwise conv (conv.ts) has no telling attributes: mark the nodes downstream of each
  // gradient Pad (Slice → Mul → ReduceSum → Concat → ReduceSum → Reshape) as its.
  const consumers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const windowDw = new Set<string>();
  const chain = ['Slice', 'Mul', 'ReduceSum', 'Concat', 'ReduceSum', 'Reshape'];
  const walk = (n: Node, depth: number): void => {
    windowDw.add(n.name);
    if (depth < chain.length) for (const c of n.outputs.flatMap((o) => consumers.get(o) ?? [])) if (c.opType === chain[depth] && c.name.startsWith('grad/')) walk(c, depth + 1);
  };
  for (const n of g.nodes) if (n.name.startsWith('grad/') && n.opType === 'Pad') walk(n, 0);
  const dir = mkdtempSync(join(tmpdir(), 'medclass-profile-'));
  try {
    const s = await Session.create(g, { threads, profile: join(dir, 'ort') });
    const warm = 1, runs = 3;
    try {
      for (let i = 0; i < warm + runs; i++) await s.run(feeds);
      const events = JSON.parse(readFileSync(s.endProfiling(), 'utf8')) as { cat?: string; name?: string; ts?: number; dur?: number; args?: { op_name?: string } }[];
      const from = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.ts ?? 0).sort((x, y) => x - y)[warm] ?? 0;
      const acc = new Map<string, { us: number; n: number }>();
      for (const e of events) {
        if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || (e.ts ?? 0) < from) continue;
        const node = nodes.get(e.name.slice(0, -'_kernel_time'.length));
        const rule = !node ? `${e.args?.op_name ?? '?'} (fused by onnxruntime)`
          : windowDw.has(node.name) ? `grad depthwise dW (windows: ${node.opType})` : classify(node, (v) => shapes.get(v)?.dims as number[] | undefined);
        const c = acc.get(rule) ?? { us: 0, n: 0 };
        c.us += e.dur ?? 0;
        c.n++;
        acc.set(rule, c);
      }
      const total = [...acc.values()].reduce((t, c) => t + c.us, 0) || 1;
      byRule = [...acc].map(([rule, c]) => ({ rule, ms: +(c.us / 1000 / runs).toFixed(1), share: +(c.us / total).toFixed(3), nodes: Math.round(c.n / runs) }))
        .sort((x, y) => y.ms - x.ms);
    } finally {
      await s.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(JSON.stringify({
  name: 'train-mobilenet-v2-last40', config: { start, input: net.inputDims, trainable: trainable.size, batch, steps, threads },
  min_ms: r.min_ms, median_ms: r.median_ms, max_ms: r.max_ms, cpu_ms: r.cpu_ms, run_median_ms: r.run_median_ms, img_per_s: r.img_per_s, peak_rss_mb: r.peak_rss_mb,
  load: [+load0[0]!.toFixed(2), +loadavg()[0]!.toFixed(2)], by_rule: byRule,
  cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, onnxruntime: r.onnxruntime,
}));
