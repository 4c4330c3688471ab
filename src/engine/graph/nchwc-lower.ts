import { Emitter } from './emitter.js';
import { windowAttrs } from './op-attrs.js';
import type { ShapeMap } from './shape-inference.js';
import type { Graph, Node } from './types.js';
import { attr } from './types.js';

/** The onnxruntime domain of its blocked-layout (NCHWc) CPU kernels: ReorderInput, ReorderOutput, Conv, pools. */
export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

/**
 * Output positions (Ho·Wo) from which a Conv is lowered to onnxruntime's NCHWc kernel, by channel block. onnxruntime
 * converts a Conv to its blocked-layout (NCHWc) direct convolution only when the weight is a constant initializer, so
 * in a training graph (weights are inputs) every Conv ran as NCHW im2col + SGEMM. `bench/engine-nchwc-conv.bench.ts`,
 * batch 128, 2 threads, weight as an input, min of 5 (load ≈ 3, block 8): 1→64 28×28 37.8 → 20.0 ms, 64→64 3×3 28×28
 * 153.6 → 86.2 ms, 64→128 3×3 s2 40.7 → 35.4 ms, 128 3×3 14×14 67.3 → 47.8 ms, 256 3×3 7×7 70.6 → 52.2 ms, but 512
 * 3×3 4×4 75.4 → 87.7 ms and 64→128 1×1 s2 11.2 → 14.3 ms (the reorders cost more than the kernel saves): kept
 * plain. With AVX-512's block 16 (AMD EPYC Zen 5, idle) the 4×4 case wins too: 512 3×3 4×4 53.8 → 38.7 ms, and
 * ResNet-18-28's training step (`bench/engine-step-ab.ts resnet18-28 128 2 4 min16,min49`, both orders, 7 of 8
 * rounds faster) 2311.96 → 2172.15 ms median of per-round minima; the 1×1 s2 still loses (3.62 → 4.64 ms).
 * A table, so benches can move it.
 */
export const NCHWC_MIN_POSITIONS: Record<number, number> = { 8: 49, 16: 16 };

/** NCHWC_MIN_POSITIONS for a channel block (a block it does not list takes block 8's, the one measured most widely). */
export function nchwcMinPositions(block: number): number {
  return NCHWC_MIN_POSITIONS[block] ?? NCHWC_MIN_POSITIONS[8]!;
}

/** Which Convs `lowerConvsToNchwc` rewrites; the default is `nchwcWorthIt`. */
export type NchwcRule = (c: { cin: number; cout: number; group: number; kernel: readonly number[]; strides: readonly number[]; positions: number; block: number }) => boolean;

/** The measured rule: at least `nchwcMinPositions(block)` output positions, and not a strided 1×1 (a downsample). */
export const nchwcWorthIt: NchwcRule = (c) => c.positions >= nchwcMinPositions(c.block) && !(c.kernel.every((k) => k === 1) && c.strides.some((s) => s > 1));

/**
 * Rewrites the graph's 2-D float Convs (group 1 with both channel counts multiples of `block` or fewer than `block`
 * input channels; depthwise with a multiple of `block` channels) that `rule` accepts into ReorderInput →
 * com.microsoft.nchwc Conv → ReorderOutput, the weight reordered in the graph (OIHW → OIHWBiBo, or OIHWBo for
 * depthwise and narrow inputs, the layouts onnxruntime's kernels read). A value feeding several lowered Convs is
 * reordered once. `shapes` must hold the dims of every Conv's input and weight. Returns the number of Convs lowered.
 */
export function lowerConvsToNchwc(graph: Graph, shapes: ShapeMap, block: number, rule: NchwcRule = nchwcWorthIt): number {
  if (block < 2) return 0;
  const e = new Emitter(graph, 'nchwc');
  const old = graph.nodes;
  graph.nodes = [];
  const reordered = new Map<string, string>();
  // Node names: `<conv node>/nchwc_in|nchwc_conv|nchwc_out`, so profiles attribute them to the Conv they replace.
  const nchwc = (op: string, inputs: string[], name: string, attrs: Node['attrs'] = {}): string => {
    const out = e.op(op, inputs, attrs);
    const n = graph.nodes.at(-1)!;
    n.domain = NCHWC_DOMAIN;
    n.name = name;
    return out;
  };
  let lowered = 0;
  for (const node of old) {
    const plan = node.opType === 'Conv' && node.domain === '' ? planOf(node, shapes, block, rule) : undefined;
    if (!plan) {
      graph.nodes.push(node);
      continue;
    }
    const [x, w, b] = node.inputs as [string, string, string | undefined];
    const { cout, cg, kernel: [kh, kw], blockedIn } = plan;
    let xr = x;
    if (blockedIn) {
      xr = reordered.get(x) ?? nchwc('ReorderInput', [x], `${node.name}/nchwc_in`);
      reordered.set(x, xr);
    }
    let wr: string;
    if (blockedIn && plan.group === 1) {
      // OIHW → OIHWBiBo as two transposes that each move one axis ([Bo] last, then [HW] before [Bi]): onnxruntime's
      // general 6-D Transpose path is the slower one
      const boLast = e.transpose(e.reshape(w, [cout / block, block, cg * kh * kw]), [0, 2, 1]);
      wr = e.reshape(e.transpose(e.reshape(boLast, [(cout / block) * (cg / block), block, kh * kw, block]), [0, 2, 1, 3]), [cout, cg, kh, kw]);
    } else {
      wr = e.reshape(e.transpose(e.reshape(w, [cout / block, block, cg * kh * kw]), [0, 2, 1]), [cout, cg, kh, kw]);
    }
    const y = nchwc('Conv', b ? [xr, wr, b] : [xr, wr], `${node.name}/nchwc_conv`, { ...node.attrs });
    graph.nodes.push({ opType: 'ReorderOutput', name: `${node.name}/nchwc_out`, domain: NCHWC_DOMAIN, inputs: [y], outputs: [node.outputs[0]!], attrs: { channels: attr.int(cout) } });
    lowered++;
  }
  if (lowered > 0) graph.extraOpsets = { ...graph.extraOpsets, [NCHWC_DOMAIN]: 1 };
  return lowered;
}

interface Plan { cout: number; cg: number; group: number; kernel: number[]; blockedIn: boolean }

function planOf(node: Node, shapes: ShapeMap, block: number, rule: NchwcRule): Plan | undefined {
  const xv = shapes.get(node.inputs[0] ?? ''), wv = shapes.get(node.inputs[1] ?? ''), yv = shapes.get(node.outputs[0] ?? '');
  if (!xv || !wv || !yv || xv.dtype !== 'float32' || xv.dims.length !== 4 || wv.dims.length !== 4 || node.outputs.length !== 1) return undefined;
  const [, cin] = xv.dims as [number, number];
  const [cout, cg, kh, kw] = wv.dims as [number, number, number, number];
  const a = windowAttrs(node, xv.dims.slice(2), [kh, kw]);
  const depthwise = a.group > 1 && a.group === cin && cg === 1 && cout === cin;
  if (a.group > 1 && !depthwise) return undefined;
  if (cout % block !== 0 || (depthwise && cin % block !== 0)) return undefined;
  const blockedIn = depthwise || cin >= block;
  if (blockedIn && cin % block !== 0) return undefined;
  const positions = (yv.dims[2] ?? 0) * (yv.dims[3] ?? 0);
  if (!rule({ cin, cout, group: a.group, kernel: a.kernelShape, strides: a.strides, positions, block })) return undefined;
  return { cout, cg, group: a.group, kernel: [kh, kw], blockedIn };
}
