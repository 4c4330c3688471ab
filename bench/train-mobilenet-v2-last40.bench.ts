// Phase-2 step of the chest X-ray example: MobileNetV2 (shared TF model, grey input) trained from the block-3 cut
// (cached trunk, input [N, 32, 28, 28]) with the last 40 convs + head trainable, batch 32. Times full Trainer steps
// (min and median of `steps`), then profiles the same training graph with onnxruntime (benchTrain's profile, keyed
// by `ruleKey`) and sums kernel time by the rule that emitted each node (forward op, depthwise dW/dX, 1×1 dW/dX, Clip grad, ...). Prints one JSON line.
// Args: [threads=1] [steps=6] [batch=32] [profile=1].
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  ParameterStore, Rng, benchTrain, bindParams, bnStatOutputs, buildTrainingGraph, dropoutFeeds, inferShapes, loadModel,
  type Graph, type Node, type ProfileKey,
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

/**
 * The profile key of the training graph `benchTrain` profiles (rebuilt here: node names are deterministic), labelling
 * each node with `classify`. The window dW of a depthwise conv (conv.ts) has no telling attributes: the nodes
 * downstream of each gradient Pad (Slice → Mul → ReduceSum → Concat → ReduceSum → Reshape) are marked as its.
 */
function ruleKey(): ProfileKey {
  const tg = buildTrainingGraph(bindParams(graph, params), { trainable: params.trainableNames(), loss: { kind: 'cross-entropy' }, keepOutputs: bnStatOutputs(net) });
  const g: Graph = tg.graph;
  const inputDims: Record<string, readonly number[]> = { x: [batch, ...net.inputDims], [tg.labelsInput]: [batch] };
  for (const [k, t] of Object.entries(dropoutFeeds(net, new Rng(0), batch))) inputDims[k] = t.dims; // shapes only
  for (const p of tg.paramInputs) inputDims[p] = params.tensor(p).dims;
  const shapes = inferShapes(g, inputDims);
  const nodes = new Map(g.nodes.map((n) => [n.name, n]));
  const consumers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const windowDw = new Set<string>();
  const chain = ['Slice', 'Mul', 'ReduceSum', 'Concat', 'ReduceSum', 'Reshape'];
  const walk = (n: Node, depth: number): void => {
    windowDw.add(n.name);
    if (depth < chain.length) for (const c of n.outputs.flatMap((o) => consumers.get(o) ?? [])) if (c.opType === chain[depth] && c.name.startsWith('grad/')) walk(c, depth + 1);
  };
  for (const n of g.nodes) if (n.name.startsWith('grad/') && n.opType === 'Pad') walk(n, 0);
  return (name, op) => {
    const node = nodes.get(name);
    if (!node) return `${op} (fused by onnxruntime)`;
    return windowDw.has(node.name) ? `grad depthwise dW (windows: ${node.opType})` : classify(node, (v) => shapes.get(v)?.dims as number[] | undefined);
  };
}

const load0 = loadavg();
const r = await benchTrain(
  { name: 'mobilenet_v2 last:40 from block 3', graph, params, inputDims: net.inputDims, numClasses: 2, keepOutputs: bnStatOutputs(net), extraFeeds: (b) => dropoutFeeds(net, masks, b) },
  { batch, steps, warmup: 1, threads, rng, ...(profile ? { profile: true, profileKey: ruleKey() } : {}) },
);
const byRule = r.profile?.map(({ op, ...c }) => ({ rule: op, ...c }));

console.log(JSON.stringify({
  name: 'train-mobilenet-v2-last40', config: { start, input: net.inputDims, trainable: trainable.size, batch, steps, threads },
  min_ms: r.min_ms, median_ms: r.median_ms, max_ms: r.max_ms, cpu_ms: r.cpu_ms, run_median_ms: r.run_median_ms, img_per_s: r.img_per_s, peak_rss_mb: r.peak_rss_mb,
  load: [+load0[0]!.toFixed(2), +loadavg()[0]!.toFixed(2)], by_rule: byRule,
  cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, onnxruntime: r.onnxruntime,
}));
