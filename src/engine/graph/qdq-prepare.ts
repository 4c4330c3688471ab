import type { Tensor } from '../tensor.js';
import { floatAttr } from './op-attrs.js';
import type { Graph, Node } from './types.js';

/** Consumers of each value (node indices into `graph.nodes`), and whether it is a graph output. */
export function consumersOf(graph: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) (m.get(i) ?? m.set(i, []).get(i)!).push(n);
  return m;
}

const f32Of = (g: Graph, name: string | undefined): Float32Array | undefined => {
  const t = name ? g.initializers.get(name) : undefined;
  return t?.dtype === 'float32' ? (t.data as Float32Array) : undefined;
};

/**
 * Folds inference-mode BatchNormalization into the Conv feeding it (the Conv's output consumed by the BN alone,
 * weights and BN parameters initializers): W' = W·γ/√(σ²+ε) per output channel, b' = (b − μ)·γ/√(σ²+ε) + β.
 * The same rewrite onnxruntime's ConvBNFusion does before its quantizer sees a graph, so a Conv is followed by its
 * activation and the QDQ pattern Conv → Relu → QuantizeLinear holds. Returns the number of BNs folded.
 */
export function foldBatchNorms(graph: Graph): number {
  const cons = consumersOf(graph);
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const drop = new Set<Node>();
  let folded = 0;
  for (const bn of graph.nodes) {
    if (bn.opType !== 'BatchNormalization' || bn.outputs.length !== 1) continue;
    const conv = producer.get(bn.inputs[0]!);
    if (!conv || conv.opType !== 'Conv' || (cons.get(bn.inputs[0]!)?.length ?? 0) !== 1 || outputs.has(bn.inputs[0]!)) continue;
    const w = graph.initializers.get(conv.inputs[1]!);
    const [gamma, beta, mean, vari] = bn.inputs.slice(1, 5).map((n) => f32Of(graph, n));
    if (!w || w.dtype !== 'float32' || !gamma || !beta || !mean || !vari) continue;
    const bias = conv.inputs[2] ? f32Of(graph, conv.inputs[2]) : undefined;
    if (conv.inputs[2] && !bias) continue;
    const eps = floatAttr(bn, 'epsilon', 1e-5);
    const cout = w.dims[0]!;
    const per = w.data.length / cout;
    const wd = w.data as Float32Array;
    const nw = new Float32Array(wd.length);
    const nb = new Float32Array(cout);
    for (let c = 0; c < cout; c++) {
      const k = gamma[c]! / Math.sqrt(vari[c]! + eps);
      for (let j = 0; j < per; j++) nw[c * per + j] = wd[c * per + j]! * k;
      nb[c] = ((bias?.[c] ?? 0) - mean[c]!) * k + beta[c]!;
    }
    const wName = `${conv.inputs[1]}/bn_folded`;
    const bName = `${bn.inputs[2]}/bn_folded_bias`;
    graph.initializers.set(wName, { dtype: 'float32', dims: [...w.dims], data: nw } as Tensor);
    graph.initializers.set(bName, { dtype: 'float32', dims: [cout], data: nb } as Tensor);
    conv.inputs = [conv.inputs[0]!, wName, bName];
    conv.outputs = [bn.outputs[0]!];
    drop.add(bn);
    folded++;
  }
  graph.nodes = graph.nodes.filter((n) => !drop.has(n));
  pruneInitializers(graph);
  return folded;
}

/**
 * Removes Identity nodes whose output is not a graph output, wiring their consumers to the Identity's input (so an
 * activation is directly followed by the QuantizeLinear onnxruntime fuses it into). Returns the number removed.
 */
export function stripIdentities(graph: Graph): number {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const alias = new Map<string, string>();
  const root = (v: string): string => (alias.has(v) ? root(alias.get(v)!) : v);
  const keep: Node[] = [];
  for (const n of graph.nodes) {
    n.inputs = n.inputs.map((i) => (i ? root(i) : i));
    if (n.opType === 'Identity' && n.inputs.length === 1 && !outputs.has(n.outputs[0]!)) alias.set(n.outputs[0]!, n.inputs[0]!);
    else keep.push(n);
  }
  graph.nodes = keep;
  return alias.size;
}

/** Drops initializers no node reads any more. */
export function pruneInitializers(graph: Graph): void {
  const used = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const k of [...graph.initializers.keys()]) if (!used.has(k)) graph.initializers.delete(k);
}
