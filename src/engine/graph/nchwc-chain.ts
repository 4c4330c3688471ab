import { NCHWC_DOMAIN } from './nchwc-lower.js';
import type { ShapeMap } from './shape-inference.js';
import type { Graph, Node } from './types.js';
import { attr } from './types.js';

/**
 * Elementwise ops that `keepNchwcChains` runs on blocked (NCHWc) tensors. Clearing the set turns the pass off
 * (`bench/engine-step-ab.ts` does, to A/B it).
 */
export const NCHWC_CHAIN_OPS = new Set(['Clip', 'Relu', 'Add', 'Sub', 'Mul', 'Equal', 'Greater', 'Less', 'And', 'Cast']);

const numel = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/**
 * Keeps chains of lowered Convs in onnxruntime's blocked layout. `lowerConvsToNchwc` wraps every Conv in its own
 * ReorderInput → Conv → ReorderOutput, so Conv → Clip → Conv (MobileNetV2's blocks have no batch norm between) ran
 * two full-tensor reorders per link, forward and backward. An elementwise op is layout-blind when all its tensor
 * operands share one shape and layout, so this pass runs it on the blocked twins of its operands (scalars as they
 * are), and a ReorderInput of a value that has a blocked twin becomes that twin. Where a float result is still read
 * in NCHW (by a gradient's Gemm, a ReduceSum, a graph output), the op itself is replaced by a ReorderOutput of its
 * blocked result; dead nodes are left for `pruneDeadNodes`. Outputs are bit-identical: every element is computed by
 * the same op from the same operands, only where it is stored differs. `shapes` must hold every value's dims.
 * Returns the number of ops moved to the blocked layout.
 */
export function keepNchwcChains(graph: Graph, shapes: ShapeMap, ops: ReadonlySet<string> = NCHWC_CHAIN_OPS): number {
  if (ops.size === 0) return 0;
  const blocked = new Map<string, string>();
  const rename = new Map<string, string>();
  const old = graph.nodes;
  graph.nodes = [];
  let moved = 0;
  for (const original of old) {
    const node = { ...original, inputs: original.inputs.map((i) => rename.get(i) ?? i) };
    if (node.domain === NCHWC_DOMAIN && node.opType === 'ReorderOutput') {
      blocked.set(node.outputs[0]!, node.inputs[0]!);
      graph.nodes.push(node);
      continue;
    }
    if (node.domain === NCHWC_DOMAIN && node.opType === 'ReorderInput') {
      const twin = blocked.get(node.inputs[0]!);
      if (twin !== undefined) {
        rename.set(node.outputs[0]!, twin);
        continue;
      }
      graph.nodes.push(node);
      continue;
    }
    const twinInputs = node.domain === '' && ops.has(node.opType) ? blockedOperands(node, shapes, blocked) : undefined;
    if (!twinInputs) {
      graph.nodes.push(node);
      continue;
    }
    const out = node.outputs[0]!;
    const twin = `${out}/nchwc`;
    graph.nodes.push({ ...node, name: `${node.name}/nchwc_blk`, inputs: twinInputs, outputs: [twin] });
    blocked.set(out, twin);
    moved++;
    const v = shapes.get(out)!;
    // ReorderOutput reads float only; a bool (Equal) keeps its NCHW op for any reader left in NCHW.
    if (v.dtype === 'float32') {
      graph.nodes.push({ opType: 'ReorderOutput', name: `${node.name}/nchwc_out`, domain: NCHWC_DOMAIN, inputs: [twin], outputs: [out], attrs: { channels: attr.int(v.dims[1]!) } });
    } else {
      graph.nodes.push(node);
    }
  }
  return moved;
}

/** The node's inputs with each tensor operand replaced by its blocked twin, when all have one (same dims as the output) and the rest are scalars. */
function blockedOperands(node: Node, shapes: ShapeMap, blocked: ReadonlyMap<string, string>): string[] | undefined {
  if (node.outputs.length !== 1) return undefined;
  const out = shapes.get(node.outputs[0]!);
  if (!out || out.dims.length !== 4) return undefined;
  let any = false;
  const inputs: string[] = [];
  for (const i of node.inputs) {
    if (i === '') { inputs.push(i); continue; }
    const twin = blocked.get(i);
    const v = shapes.get(i);
    if (twin !== undefined && v && v.dims.length === 4 && v.dims.every((d, k) => d === out.dims[k])) {
      inputs.push(twin);
      any = true;
    } else if (v && numel(v.dims) === 1) {
      inputs.push(i);
    } else {
      return undefined;
    }
  }
  return any ? inputs : undefined;
}
