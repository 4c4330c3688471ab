import { MedclassError } from '../errors.js';
import { consumersOf, foldBatchNorms, pruneInitializers, stripIdentities } from './graph/qdq-prepare.js';
import { stemConv } from './graph/stem-space-to-depth.js';
import { floatAttr, intAttr } from './graph/op-attrs.js';
import { attr, type Graph, type Node } from './graph/types.js';
import type { Tensor } from './tensor.js';

/** The observed range of one activation tensor over the calibration images. */
export interface QuantRange { min: number; max: number }

/**
 * Which activation tensors a QDQ rewrite quantizes: the activation inputs of Conv, Gemm, MatMul (weights as
 * initializers), of Add (two activations) and of the average pools, and the outputs of Conv, Add and the pools,
 * taken after a following Relu or Clip ≥ 0 (onnxruntime folds the activation into the QuantizeLinear). `shared`
 * maps a MaxPool/Flatten output to its input, whose scale it takes (so onnxruntime drops the Q/DQ pair around it).
 */
export interface QdqPlan {
  tensors: string[];
  shared: Map<string, string>;
  /**
   * Weights in the 7-bit range [−64, 64] instead of [−127, 127] (onnxruntime's `reduce_range`). x86 CPUs without
   * VNNI run u8·s8 products through VPMADDUBSW, whose 16-bit sums of two products saturate past 32767
   * (255·127·2 = 64770); with |w| ≤ 64 a pair stays ≤ 32640, so the int8 kernels compute exactly what the QDQ
   * graph says on every CPU. Two kinds of weight keep the full range, exact without VNNI too (`weightFormat`):
   * depthwise Convs' (MLAS's depthwise int8 kernel widens both operands to 16 bits and sums in 32), and the weights
   * named in `uint8Weights`.
   */
  reduceRange?: boolean;
  /**
   * Weights (initializer names) stored as uint8 with zero point 128 instead of int8: onnxruntime then runs the u8·u8
   * kernel, which widens to 16 bits (exact at full range, slower than u8·s8). With `reduceRange`, `planQdq` names a
   * quantized stem's (`stemConv`): the layer quantization hurts most and, on ≤ 4 input channels, a negligible share of the time.
   */
  uint8Weights?: string[];
}

const POOLS = new Set(['GlobalAveragePool', 'AveragePool']);
const PASS_THROUGH = new Set(['MaxPool', 'Flatten']);

/** Folds BatchNormalization into Convs and removes inner Identity nodes: the float graph the rewrite works on (in place). */
export function prepareForQdq(graph: Graph): Graph {
  if (graph.opset < 13) {
    throw new MedclassError('MC_ENGINE_BAD_MODEL', `opset ${graph.opset}: per-channel DequantizeLinear (axis) needs opset 13 or newer`, { hint: 'export the model at opset 13+' });
  }
  stripIdentities(graph);
  foldBatchNorms(graph);
  return graph;
}

/** Options of `planQdq`. */
export interface PlanQdqOptions {
  /**
   * Keep the stem (`stemConv`) in float: the image is not quantized, the stem's output is
   * (default true). A stem reads 1–3 channels, where onnxruntime's int8 Conv is slower than its float one (compact
   * CNN, batch 32: 2.3 vs 0.7 ms); to keep the stem's output float too, leave it out with `withoutTensors`.
   */
  floatStem?: boolean;
  /** Quantize weights to the 7-bit range (see `QdqPlan.reduceRange`; default false). */
  reduceRange?: boolean;
}

/** The QDQ plan of a prepared float graph (see `QdqPlan`). */
export function planQdq(graph: Graph, opts: PlanQdqOptions = {}): QdqPlan {
  const cons = consumersOf(graph);
  const outs = new Set(graph.outputs.map((o) => o.name));
  const isInit = (v: string) => graph.initializers.has(v);
  const floatInit = (v: string | undefined) => v !== undefined && graph.initializers.get(v)?.dtype === 'float32';
  const set = new Set<string>();
  const shared = new Map<string, string>();
  const nonNegClip = (n: Node) => n.opType === 'Clip' && (n.inputs[1] ? (graph.initializers.get(n.inputs[1])?.data[0] ?? -1) >= 0 : floatAttr(n, 'min', -1) >= 0);
  const postAct = (v: string): string => {
    const c = cons.get(v) ?? [];
    return c.length === 1 && !outs.has(v) && (c[0]!.opType === 'Relu' || nonNegClip(c[0]!)) ? c[0]!.outputs[0]! : v;
  };
  for (const n of graph.nodes) {
    const [x, w] = n.inputs;
    if (n.opType === 'Conv' && x && !isInit(x) && floatInit(w) && graph.initializers.get(w!)!.dims.length >= 3) set.add(x).add(postAct(n.outputs[0]!));
    else if ((n.opType === 'Gemm' && intAttr(n, 'transA', 0) === 0) || n.opType === 'MatMul') {
      if (x && !isInit(x) && floatInit(w) && graph.initializers.get(w!)!.dims.length === 2) set.add(x);
    } else if (n.opType === 'Add' && n.inputs.length === 2 && n.inputs.every((i) => !isInit(i))) set.add(n.inputs[0]!).add(n.inputs[1]!).add(postAct(n.outputs[0]!));
    else if (POOLS.has(n.opType) && x && !isInit(x)) set.add(x).add(postAct(n.outputs[0]!));
  }
  const stem = stemConv(graph);
  // a float stem reads the image itself; one behind spaceToDepthStem's SpaceToDepth is quantized
  const floatStem = stem !== undefined && opts.floatStem !== false && graph.inputs.some((v) => v.name === stem.inputs[0]);
  if (floatStem) set.delete(stem.inputs[0]!);
  for (const n of graph.nodes) if (PASS_THROUGH.has(n.opType) && set.has(n.inputs[0]!) && set.has(n.outputs[0]!)) shared.set(n.outputs[0]!, n.inputs[0]!);
  // graph order, so a shared tensor's source comes first
  const order = [...graph.inputs.map((v) => v.name), ...graph.nodes.flatMap((n) => n.outputs)];
  const reduced = opts.reduceRange ? { reduceRange: true, ...(stem && !floatStem && floatInit(stem.inputs[1]) ? { uint8Weights: [stem.inputs[1]!] } : {}) } : {};
  return { tensors: order.filter((v) => set.has(v)), shared, ...reduced };
}

/** The range a planned tensor is quantized with: its own, or its source's for a shared (MaxPool/Flatten) output. */
export function planRange(plan: QdqPlan, ranges: ReadonlyMap<string, QuantRange>, v: string): QuantRange | undefined {
  return ranges.get(plan.shared.get(v) ?? v);
}

/** The output-channel axis of a Conv/Gemm/MatMul weight: 0 for Conv and a transposed Gemm weight, else 1. */
export function weightAxis(n: Node): number {
  return n.opType === 'Conv' || (n.opType === 'Gemm' && intAttr(n, 'transB', 0) === 1) ? 0 : 1;
}

/** uint8 asymmetric parameters of a range widened to hold 0 (as onnxruntime's quantizer computes them). */
export function activationParams(r: QuantRange): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, r.min);
  const hi = Math.max(0, r.max);
  if (!(hi > lo)) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / 255);
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-lo / scale))) };
}

/** The largest |q| of a weight: 127, or 64 in the reduced (7-bit) range onnxruntime's quantizer uses. */
const weightQmax = (reduceRange = false): number => (reduceRange ? 64 : 127);

/**
 * A depthwise Conv (one input and one output channel per group): onnxruntime runs it through MLAS's depthwise int8
 * kernel, which subtracts the zero points in 16 bits and multiply-adds into 32-bit sums, so it cannot saturate.
 */
function isDepthwiseConv(n: Node, w: Tensor): boolean {
  return n.opType === 'Conv' && w.dims.length >= 3 && w.dims[1] === 1 && intAttr(n, 'group', 1) === w.dims[0];
}

/** How node `n`'s weight `w` is stored under `plan`: uint8 (zero point 128) or int8, and its largest |q|. */
export function weightFormat(plan: QdqPlan, n: Node, w: Tensor): { unsigned: boolean; qmax: number } {
  const unsigned = plan.uint8Weights?.includes(n.inputs[1]!) ?? false;
  return { unsigned, qmax: weightQmax(plan.reduceRange === true && !unsigned && !isDepthwiseConv(n, w)) };
}

/**
 * Whether a QDQ graph holds int8 weights outside the 7-bit range [−64, 64] (written without `reduceRange`) read by a
 * node whose int8 kernel can saturate them: any but a depthwise Conv.
 */
export function hasFullRangeWeights(graph: Graph): boolean {
  const q = weightQmax(true);
  const cons = consumersOf(graph);
  for (const n of graph.nodes) {
    const t = n.opType === 'DequantizeLinear' ? graph.initializers.get(n.inputs[0]!) : undefined;
    if (t?.dtype !== 'int8' || !(t.data as Int8Array).some((v) => v > q || v < -q)) continue;
    if ((cons.get(n.outputs[0]!) ?? []).some((c) => !isDepthwiseConv(c, t))) return true;
  }
  return false;
}

/** Symmetric int8 per-channel quantization of `w` along `axis` (scale max|w|/qmax, zero point 0). */
export function quantizeWeight(w: Tensor, axis: number, qmax = 127): { q: Int8Array; scales: Float32Array } {
  const d = w.data as Float32Array;
  const c = w.dims[axis]!;
  const inner = w.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chan = (i: number) => Math.floor(i / inner) % c;
  const max = new Float32Array(c);
  for (let i = 0; i < d.length; i++) max[chan(i)] = Math.max(max[chan(i)]!, Math.abs(d[i]!));
  const scales = max.map((m) => (m > 0 ? Math.fround(m / qmax) : 1));
  const q = new Int8Array(d.length);
  for (let i = 0; i < d.length; i++) q[i] = Math.max(-qmax, Math.min(qmax, Math.round(d[i]! / scales[chan(i)]!)));
  return { q, scales };
}

/**
 * Rewrites a prepared float graph (in place) into QDQ form, the layout onnxruntime's quantizer writes and its graph
 * optimizer fuses into QLinearConv / QGemm / QLinearAdd / QLinearGlobalAveragePool kernels: each planned activation
 * gets one QuantizeLinear → DequantizeLinear pair (uint8, its calibrated range) read by all its consumers; Conv, Gemm
 * and MatMul weights are stored as int8 (uint8 for `plan.uint8Weights`) with per-channel float scales and read through DequantizeLinear (axis = the
 * output channel); their biases are int32 at scale x_scale·w_scale. Returns the number of weights quantized.
 */
export function rewriteQdq(graph: Graph, plan: QdqPlan, ranges: ReadonlyMap<string, QuantRange>): number {
  const params = new Map<string, { s: string; z: string; scale: number }>();
  const nodes: Node[] = [];
  const inits = graph.initializers;
  const uniq = (base: string) => { let n = base; for (let i = 1; inits.has(n); i++) n = `${base}_${i}`; return n; };
  const scalar = (name: string, t: Tensor) => { const n = uniq(name); inits.set(n, t); return n; };
  const qdq = (v: string): Node[] => {
    const src = plan.shared.get(v);
    let p = src ? params.get(src) : undefined;
    if (!p) {
      const r = ranges.get(v);
      if (!r) throw new MedclassError('MC_ENGINE_BAD_MODEL', `no calibration range for '${v}'`);
      const a = activationParams(r);
      p = { s: scalar(`${v}_scale`, { dtype: 'float32', dims: [], data: Float32Array.of(a.scale) }), z: scalar(`${v}_zero_point`, { dtype: 'uint8', dims: [], data: Uint8Array.of(a.zeroPoint) }), scale: a.scale };
    }
    params.set(v, p);
    return [
      { opType: 'QuantizeLinear', name: `${v}_QuantizeLinear`, domain: '', inputs: [v, p.s, p.z], outputs: [`${v}_quantized`], attrs: {} },
      { opType: 'DequantizeLinear', name: `${v}_DequantizeLinear`, domain: '', inputs: [`${v}_quantized`, p.s, p.z], outputs: [`${v}_dequantized`], attrs: {} },
    ];
  };
  const planned = new Set(plan.tensors);
  for (const v of graph.inputs) if (planned.has(v.name)) nodes.push(...qdq(v.name));
  let weights = 0;
  for (const n of graph.nodes) {
    const x = n.inputs[0];
    const xs = x && planned.has(x) ? params.get(x)?.scale : undefined;
    const isWeighted = (n.opType === 'Conv' || n.opType === 'Gemm' || n.opType === 'MatMul') && xs !== undefined && inits.get(n.inputs[1]!)?.dtype === 'float32';
    if (isWeighted) {
      const wName = n.inputs[1]!;
      const w = inits.get(wName)!;
      const axis = weightAxis(n);
      const fmt = weightFormat(plan, n, w);
      const { q, scales } = quantizeWeight(w, axis, fmt.qmax);
      const c = scales.length;
      const wq = scalar(`${wName}_quantized`, fmt.unsigned ? { dtype: 'uint8', dims: [...w.dims], data: Uint8Array.from(q, (v) => v + 128) } : { dtype: 'int8', dims: [...w.dims], data: q });
      const ws = scalar(`${wName}_scale`, { dtype: 'float32', dims: [c], data: scales });
      const wz = scalar(`${wName}_zero_point`, fmt.unsigned ? { dtype: 'uint8', dims: [c], data: new Uint8Array(c).fill(128) } : { dtype: 'int8', dims: [c], data: new Int8Array(c) });
      const wdq = uniq(`${wName}_dequantized`);
      nodes.push({ opType: 'DequantizeLinear', name: `${wdq}_node`, domain: '', inputs: [wq, ws, wz], outputs: [wdq], attrs: { axis: attr.int(axis) } });
      n.inputs[1] = wdq;
      weights++;
      const bName = n.inputs[2];
      const b = bName ? inits.get(bName) : undefined;
      const plainGemm = n.opType !== 'Gemm' || (floatAttr(n, 'alpha', 1) === 1 && floatAttr(n, 'beta', 1) === 1);
      if (bName && b?.dtype === 'float32' && b.dims.length === 1 && b.dims[0] === c && plainGemm) {
        const bs = scales.map((s) => Math.fround(xs * s));
        const bq = Int32Array.from(b.data as Float32Array, (v, i) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(v / bs[i]!))));
        const bqn = scalar(`${bName}_quantized`, { dtype: 'int32', dims: [c], data: bq });
        const bsn = scalar(`${bName}_scale`, { dtype: 'float32', dims: [c], data: bs });
        const bzn = scalar(`${bName}_zero_point`, { dtype: 'int32', dims: [c], data: new Int32Array(c) });
        const bdq = uniq(`${bName}_dequantized`);
        nodes.push({ opType: 'DequantizeLinear', name: `${bdq}_node`, domain: '', inputs: [bqn, bsn, bzn], outputs: [bdq], attrs: { axis: attr.int(0) } });
        n.inputs[2] = bdq;
      }
    }
    n.inputs = n.inputs.map((i) => (i && planned.has(i) ? `${i}_dequantized` : i));
    nodes.push(n);
    for (const o of n.outputs) if (planned.has(o)) nodes.push(...qdq(o));
  }
  graph.nodes = nodes;
  pruneInitializers(graph);
  return weights;
}
