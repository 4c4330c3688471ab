import type { Graph, Node } from '../engine/index.js';
import { cutGraph, inferShapes, type ShapeMap } from '../engine/index.js';

/**
 * Inputs (by op type) whose float initializers become trainable weights when a backbone is imported; the same
 * table as the engine's `importGraph`, so `last:N` counts here agree with `selectTrainable`.
 */
const WEIGHT_INPUTS: Record<string, readonly number[]> = {
  Conv: [1, 2], ConvTranspose: [1, 2], Gemm: [1, 2], MatMul: [0, 1], BatchNormalization: [1, 2], LayerNormalization: [1, 2],
};

/** One weight layer of a backbone as `last:N` counts it: a node with a ≥ 2-D weight, plus the vector-only nodes after it. */
export interface WeightLayer {
  /** Node that starts the layer. */
  node: string;
  opType: string;
  /** Trainable initializers of the layer (its own and those of the norm nodes that follow it). */
  params: string[];
  /** Tensor the layer's node reads (its first non-weight input). */
  input: string;
}

/** A block boundary: `last:N` for N in [from, to] trains the weight layers after `tensor`, a tensor every path to the embedding crosses. */
export interface BlockCut {
  from: number;
  to: number;
  tensor: string;
  dims: number[];
}

/** A tensor a backbone could be cut at. */
export interface CutCandidate {
  name: string;
  dims: number[];
  producer: string;
}

/** What `medclass backbone inspect` reports about an ONNX backbone. */
export interface BackboneInspection {
  inputs: { name: string; dims: (number | string)[]; dtype: string }[];
  outputs: { name: string; dims: (number | string)[]; dtype: string }[];
  /** Tensor the weight layers are counted towards (`embedding` when the model has one, else its first output). */
  target: string;
  /** Pooled [N,D] tensors (and [N,C,1,1] pools) every path to the target crosses: candidate `embedding` cuts. */
  pooled: CutCandidate[];
  /** The last three spatial [N,C,h,w] maps (h·w > 1) the target depends on: candidate `features` taps for Grad-CAM. */
  maps: CutCandidate[];
  /** Weight layers in topological order; `last:N` trains the last N of them (plus the head). */
  layers: WeightLayer[];
  /** Block boundaries from the end: the tensor after which `last:N` starts, grouped over N. */
  blocks: BlockCut[];
  /** Weight layers per op type of the node that starts them (e.g. { Conv: 53 }). */
  layerOps: Record<string, number>;
}

/** True when every path from the graph's inputs to `target` goes through `t` (a clean single-tensor cut). */
function isCut(g: Graph, target: string, t: string): boolean {
  if (t === target) return true;
  const inputs = new Set(g.inputs.map((v) => v.name));
  if (inputs.has(t)) return true;
  const suffix = cutGraph(g, [target], [t]);
  return suffix.some((n) => n.inputs.includes(t)) && !suffix.some((n) => n.inputs.some((i) => inputs.has(i)));
}

/**
 * The clean cut closest before weight layer `j`: its input when that is a cut, else the latest float tensor produced
 * between layer j−1's node and layer j's that every path to `target` crosses; the graph input for j = 0; undefined
 * when no cut separates layer j from layer j−1 (a skip connection or attention crosses).
 */
export function cutBeforeLayer(g: Graph, target: string, nodes: readonly Node[], layers: readonly WeightLayer[], j: number, shapes?: ShapeMap): string | undefined {
  const input = g.inputs.find((v) => v.dtype === 'float32') ?? g.inputs[0]!;
  if (j === 0) return input.name;
  const index = new Map(nodes.map((n, i) => [n.name, i] as const));
  const producerIndex = new Map(nodes.flatMap((n, i) => n.outputs.map((o) => [o, i] as const)));
  const lo = index.get(layers[j - 1]!.node)!, hi = index.get(layers[j]!.node)!;
  if ((producerIndex.get(layers[j]!.input) ?? -1) >= lo && isCut(g, target, layers[j]!.input)) return layers[j]!.input;
  const float = (o: string) => (shapes ? shapes.get(o)?.dtype === 'float32' : !g.initializers.has(o));
  for (let i = hi - 1; i >= lo; i--) for (const o of nodes[i]!.outputs) if (float(o) && isCut(g, target, o)) return o;
  return undefined;
}

/** The weight layers of `nodes` (topological order) as `selectTrainable`'s `last:N` counts them after an import. */
export function weightLayers(g: Graph, nodes: readonly Node[]): WeightLayer[] {
  const layers: WeightLayer[] = [];
  const owned = new Set<string>();
  for (const n of nodes) {
    const params = (WEIGHT_INPUTS[n.opType] ?? []).map((s) => n.inputs[s]).filter((v): v is string => !!v && g.initializers.get(v)?.dtype === 'float32' && !owned.has(v));
    if (params.length === 0) continue;
    params.forEach((p) => owned.add(p));
    const starts = params.some((p) => g.initializers.get(p)!.dims.length >= 2);
    if (starts || layers.length === 0) {
      const input = n.inputs.find((v) => v && !g.initializers.has(v)) ?? n.inputs[0]!;
      layers.push({ node: n.name, opType: n.opType, params, input });
    } else layers.at(-1)!.params.push(...params);
  }
  return layers;
}

/**
 * Analyses an ONNX backbone without running it: inputs and outputs, candidate cut tensors (pooled embeddings, last
 * conv maps), the weight layers `last:N` counts and, for each N, the block boundary the phase starts after.
 */
export function inspectBackbone(g: Graph): BackboneInspection {
  const input = g.inputs.find((v) => v.dtype === 'float32') ?? g.inputs[0];
  const batch1: Record<string, number[]> = {};
  for (const v of g.inputs) batch1[v.name] = v.dims.map((d) => (typeof d === 'number' ? d : 1));
  const shapes = inferShapes(g, batch1);
  const target = g.outputs.some((v) => v.name === 'embedding') || g.nodes.some((n) => n.outputs.includes('embedding')) ? 'embedding' : g.outputs[0]!.name;
  const nodes = cutGraph(g, [target]);
  const producer = new Map(nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const floatValues = nodes.flatMap((n) => n.outputs).filter((o) => shapes.get(o)?.dtype === 'float32');
  const dimsOf = (v: string) => [...(shapes.get(v)?.dims ?? [])];
  const cand = (v: string): CutCandidate => ({ name: v, dims: dimsOf(v), producer: `${producer.get(v)?.opType ?? 'input'} ${producer.get(v)?.name ?? ''}`.trim() });
  const pooledLike = floatValues.filter((v) => { const d = dimsOf(v); return (d.length === 2 && d[1]! > 1) || (d.length === 4 && d[2] === 1 && d[3] === 1 && d[1]! > 1); });
  const pooled = pooledLike.filter((v) => isCut(g, target, v)).map(cand);
  const spatial = floatValues.filter((v) => { const d = dimsOf(v); return d.length === 4 && d[2]! * d[3]! > 1; });
  const maps: CutCandidate[] = [];
  for (let k = spatial.length - 1; k >= 0 && maps.length < 3; k--) maps.push(cand(spatial[k]!));
  const layers = weightLayers(g, nodes);
  const blocks: BlockCut[] = [];
  const cutBefore = (j: number) => cutBeforeLayer(g, target, nodes, layers, j, shapes);
  let to = layers.length;
  for (let j = layers.length - 1; j >= 0; j--) {
    const tensor = cutBefore(j);
    if (tensor === undefined) continue;
    const from = blocks.length ? blocks.at(-1)!.to + 1 : 1;
    to = layers.length - j;
    blocks.push({ from, to, tensor, dims: tensor === input?.name ? input.dims.map((d) => (typeof d === 'number' ? d : 1)) : dimsOf(tensor) });
  }
  const info = (v: { name: string; dims: (number | string)[]; dtype: string }) => ({ name: v.name, dims: [...v.dims], dtype: v.dtype });
  return {
    inputs: g.inputs.map(info), outputs: g.outputs.map(info), target, pooled, maps: maps.reverse(), layers, blocks,
    layerOps: layers.reduce<Record<string, number>>((m, l) => ({ ...m, [l.opType]: (m[l.opType] ?? 0) + 1 }), {}),
  };
}
