import { cloneGraph } from './export.js';
import { attr, type Graph, type Node } from './graph/types.js';
import { floatAttr, intAttr } from './graph/op-attrs.js';
import { Session } from './runtime/session.js';
import { activationParams, planRange, quantizeWeight, weightAxis, weightFormat, type QdqPlan, type QuantRange } from './quantize.js';
import type { CalibrationFeeds } from './quantize-calibrate.js';
import type { Tensor } from './tensor.js';

/** The Conv/Gemm nodes `rewriteQdq` gives int8 weights and an int32 bias: a planned activation input, a float weight. */
function correctable(graph: Graph, plan: QdqPlan): Node[] {
  const planned = new Set(plan.tensors);
  return graph.nodes.filter((n) => {
    const w = graph.initializers.get(n.inputs[1] ?? '');
    const b = n.inputs[2] ? graph.initializers.get(n.inputs[2]) : undefined;
    if (!planned.has(n.inputs[0] ?? '') || w?.dtype !== 'float32' || (n.inputs[2] && b?.dtype !== 'float32')) return false;
    if (n.opType === 'Conv') return w.dims.length >= 3;
    return n.opType === 'Gemm' && intAttr(n, 'transA', 0) === 0 && w.dims.length === 2 && floatAttr(n, 'alpha', 1) === 1 && floatAttr(n, 'beta', 1) === 1 && (!b || b.dims.length === 1);
  });
}

/** The weight as the int8 model sees it: quantized per output channel and dequantized. */
function dequantizedWeight(w: Tensor, axis: number, qmax: number): Tensor {
  const { q, scales } = quantizeWeight(w, axis, qmax);
  const inner = w.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const c = w.dims[axis]!;
  return { dtype: 'float32', dims: [...w.dims], data: Float32Array.from(q, (v, i) => v * scales[Math.floor(i / inner) % c]!) };
}

/**
 * Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and Bias
 * Correction", §4.2, the empirical form AIMET implements), one layer at a time on float inputs: for each Conv/Gemm
 * the QDQ plan quantizes, the mean over the calibration images of its output change per output channel when its input
 * is quantized (the plan's range, uint8) and its weights are int8 per channel — `Wq ⊛ Q(x) − W ⊛ x` — is subtracted
 * from its bias (in place; a Conv without a bias gets one). One pass of the float graph with a side branch per layer.
 * Returns the number of layers corrected and the largest |correction|.
 */
export async function correctBiases(graph: Graph, plan: QdqPlan, ranges: ReadonlyMap<string, QuantRange>, batches: Iterable<CalibrationFeeds> | AsyncIterable<CalibrationFeeds>, threads = 0): Promise<{ layers: number; maxAbs: number }> {
  const layers = correctable(graph, plan);
  if (layers.length === 0) return { layers: 0, maxAbs: 0 };
  const g = cloneGraph(graph);
  const names: string[] = [];
  layers.forEach((n, k) => {
    const x = n.inputs[0]!;
    const a = activationParams(planRange(plan, ranges, x)!);
    const p = `bias_correction/${k}`;
    g.initializers.set(`${p}/scale`, { dtype: 'float32', dims: [], data: Float32Array.of(a.scale) });
    g.initializers.set(`${p}/zero_point`, { dtype: 'uint8', dims: [], data: Uint8Array.of(a.zeroPoint) });
    const w = g.initializers.get(n.inputs[1]!)!;
    g.initializers.set(`${p}/w`, dequantizedWeight(w, weightAxis(n), weightFormat(plan, n, w).qmax));
    const axes = n.opType === 'Conv' ? [0, ...Array.from({ length: g.initializers.get(n.inputs[1]!)!.dims.length - 2 }, (_, i) => i + 2)] : [0];
    const reduce: Node = g.opset >= 18
      ? { opType: 'ReduceMean', name: `${p}/mean`, domain: '', inputs: [`${p}/d`, `${p}/axes`], outputs: [`${p}/delta`], attrs: { keepdims: attr.int(0) } }
      : { opType: 'ReduceMean', name: `${p}/mean`, domain: '', inputs: [`${p}/d`], outputs: [`${p}/delta`], attrs: { keepdims: attr.int(0), axes: attr.ints(axes) } };
    if (g.opset >= 18) g.initializers.set(`${p}/axes`, { dtype: 'int64', dims: [axes.length], data: BigInt64Array.from(axes.map(BigInt)) });
    g.nodes.push(
      { opType: 'QuantizeLinear', name: `${p}/q`, domain: '', inputs: [x, `${p}/scale`, `${p}/zero_point`], outputs: [`${p}/xq`], attrs: {} },
      { opType: 'DequantizeLinear', name: `${p}/dq`, domain: '', inputs: [`${p}/xq`, `${p}/scale`, `${p}/zero_point`], outputs: [`${p}/xdq`], attrs: {} },
      { ...n, name: `${p}/int8`, inputs: [`${p}/xdq`, `${p}/w`], outputs: [`${p}/yq`], attrs: { ...n.attrs } },
      { ...n, name: `${p}/float`, inputs: [x, n.inputs[1]!], outputs: [`${p}/yf`], attrs: { ...n.attrs } },
      { opType: 'Sub', name: `${p}/sub`, domain: '', inputs: [`${p}/yq`, `${p}/yf`], outputs: [`${p}/d`], attrs: {} },
      reduce,
    );
    g.outputs.push({ name: `${p}/delta`, dtype: 'float32', dims: [g.initializers.get(n.inputs[1]!)!.dims[weightAxis(n)]!] });
    names.push(`${p}/delta`);
  });
  const sums = layers.map((n) => new Float64Array(graph.initializers.get(n.inputs[1]!)!.dims[weightAxis(n)]!));
  let count = 0;
  // 'basic': no QDQ fusion, so the side branches compute exactly the dequantized arithmetic
  const session = await Session.create(g, { optimization: 'basic', ...(threads ? { threads } : {}) });
  try {
    for await (const feeds of batches) {
      const m = Object.values(feeds)[0]!.dims[0]!;
      const r = await session.run(feeds, names);
      names.forEach((name, k) => r[name]!.data.forEach((v, c) => { sums[k]![c]! += Number(v) * m; }));
      count += m;
    }
  } finally {
    await session.dispose();
  }
  let maxAbs = 0;
  layers.forEach((n, k) => {
    const delta = sums[k]!.map((s) => s / count);
    const b = n.inputs[2] ? graph.initializers.get(n.inputs[2]) : undefined;
    const old = b?.dtype === 'float32' ? (b.data as Float32Array) : new Float32Array(delta.length);
    const name = `${n.inputs[2] || `${n.name}/bias`}/bias_corrected`;
    graph.initializers.set(name, { dtype: 'float32', dims: [delta.length], data: Float32Array.from(old, (v, c) => v - delta[c]!) });
    n.inputs[2] = name;
    for (const d of delta) maxAbs = Math.max(maxAbs, Math.abs(d));
  });
  return { layers: layers.length, maxAbs };
}
