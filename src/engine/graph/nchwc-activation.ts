import { NCHWC_DOMAIN } from './nchwc-lower.js';
import type { Graph, Node } from './types.js';
import { attr } from './types.js';

const FLOAT_MAX = 3.4028234663852886e38;

/**
 * Folds a blocked Relu or Clip (constant bounds) into the lowered NCHWc Conv that alone feeds it: onnxruntime's NCHWc
 * Conv applies `activation` / `activation_params` to each output block while it is still in cache, where a separate
 * Clip re-reads and re-writes the whole tensor (MobileNetV2-224 training spent ~8 % of its kernel time in them). Only
 * when the Conv's result has no other reader, which holds in training graphs because the Relu and Clip gradients read
 * the activation's output, not its input. Run after `pruneDeadNodes` (a dead NCHW copy would count as a reader), and
 * prune again after. Returns the number of activations folded.
 */
export function fuseNchwcActivations(graph: Graph): number {
  const readers = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const drop = new Set<Node>();
  for (const conv of graph.nodes) {
    if (conv.domain !== NCHWC_DOMAIN || conv.opType !== 'Conv' || conv.attrs.activation) continue;
    const y = conv.outputs[0]!;
    const r = readers.get(y) ?? [];
    if (outputs.has(y) || r.length !== 1) continue;
    const act = r[0]!;
    if (act.domain !== '' || act.inputs[0] !== y || act.outputs.length !== 1) continue;
    const params = activationParams(graph, act);
    if (!params) continue;
    conv.attrs = { ...conv.attrs, activation: attr.string(act.opType), ...(params.length > 0 ? { activation_params: attr.floats(params) } : {}) };
    conv.outputs = [act.outputs[0]!];
    drop.add(act);
  }
  graph.nodes = graph.nodes.filter((n) => !drop.has(n));
  return drop.size;
}

/** [] for Relu, [min, max] for a Clip whose bounds are scalar initializers (or absent); undefined otherwise. */
function activationParams(graph: Graph, n: Node): number[] | undefined {
  if (n.opType === 'Relu') return [];
  if (n.opType !== 'Clip') return undefined;
  const bound = (i: number, absent: number): number | undefined => {
    const name = n.inputs[i] ?? '';
    if (name === '') return absent;
    const t = graph.initializers.get(name);
    return t && t.data.length === 1 && t.dtype === 'float32' ? Number(t.data[0]) : undefined;
  };
  const min = bound(1, -FLOAT_MAX), max = bound(2, FLOAT_MAX);
  return min === undefined || max === undefined ? undefined : [min, max];
}
