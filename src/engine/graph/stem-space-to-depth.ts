import { windowAttrs } from './op-attrs.js';
import { attr, type Graph, type Node } from './types.js';

/** Input channels up to which a strided stem is rewritten (a stem reads 1–3; s²·C channels come out). */
const MAX_STEM_CHANNELS = 4;

/**
 * The stem: the first Conv reading a graph input, directly or through the (Pad →) SpaceToDepth that
 * `spaceToDepthStem` puts before it. The one definition the int8 export's choices use (the stem rewrite, a float
 * stem, the stem's uint8 weights).
 */
export function stemConv(graph: Graph): Node | undefined {
  const inputs = new Set(graph.inputs.map((v) => v.name));
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const readsInput = (v: string): boolean => {
    if (inputs.has(v)) return true;
    const p = producer.get(v);
    return p !== undefined && (p.opType === 'SpaceToDepth' || p.opType === 'Pad') && readsInput(p.inputs[0]!);
  };
  return graph.nodes.find((n) => n.opType === 'Conv' && readsInput(n.inputs[0]!));
}

/**
 * Rewrites a strided stem — `stemConv` reading a graph input directly, stride s ≥ 2 equal on both axes, group 1, no
 * dilation, few input channels — as SpaceToDepth(s) followed by a stride-1 Conv of ⌈k/s⌉ taps over s²·C channels
 * (in place; the output is the same up to float rounding). Weight tap (a, b) of phase (r, c) is the old weight's
 * (s·a + r, s·b + c), zero past the kernel; a begin padding not divisible by s, or a size not divisible by s, gets
 * an explicit zero Pad of the input first. Why: onnxruntime's int8 Conv is slow on 1–3 input channels, so such a stem
 * was kept in float, and its 32-channel full-size float output cost a layout reorder and a QuantizeLinear; over 4·C
 * channels with a 2×2 kernel the stem runs in int8 (Kermany MobileNetV2, batch 32, 1 thread: the int8 model
 * 85.4 → 81.0 ms median alternated, 1.97× → 2.04× the float model's speed; bench/README.md, session 29). Returns
 * whether it rewrote (it needs a static input size); otherwise the graph is left as it was.
 */
export function spaceToDepthStem(graph: Graph): boolean {
  const inputs = new Map(graph.inputs.map((v) => [v.name, v]));
  const stem = stemConv(graph);
  // a stem already behind a SpaceToDepth is left alone
  const input = stem && inputs.get(stem.inputs[0]!);
  if (!input || !stem || input.dims.length !== 4) return false;
  const w = graph.initializers.get(stem.inputs[1] ?? '');
  const [, ch, h, wd] = input.dims;
  if (!w || w.dtype !== 'float32' || w.dims.length !== 4 || typeof ch !== 'number' || typeof h !== 'number' || typeof wd !== 'number') return false;
  const [k, c, kh, kw] = w.dims as [number, number, number, number];
  if (c !== ch || c > MAX_STEM_CHANNELS) return false;
  const a = windowAttrs(stem, [h, wd], [kh, kw]);
  const s = a.strides[0]!;
  if (s < 2 || a.strides[1] !== s || a.group !== 1 || a.dilations.some((d) => d !== 1)) return false;
  const size = [h, wd];
  const out = [0, 1].map((i) => Math.floor((size[i]! + a.pads[i]! + a.pads[i + 2]! - [kh, kw][i]!) / s) + 1);
  const taps = [Math.ceil(kh / s), Math.ceil(kw / s)];
  // an odd begin padding and a size not divisible by s are made up by an explicit zero Pad before SpaceToDepth
  const preBegin = [0, 1].map((i) => a.pads[i]! % s);
  const preEnd = [0, 1].map((i) => (s - ((size[i]! + preBegin[i]!) % s)) % s);
  const cells = [0, 1].map((i) => (size[i]! + preBegin[i]! + preEnd[i]!) / s);
  const begin = [0, 1].map((i) => Math.floor(a.pads[i]! / s));
  // end padding of the s2d map so that the stride-1 Conv yields the old output size; the taps it adds past the old
  // padding meet zero weights
  const end = [0, 1].map((i) => out[i]! - 1 + taps[i]! - cells[i]! - begin[i]!);
  if (end.some((e) => e < 0)) return false;

  const c2 = c * s * s;
  const src = w.data as Float32Array;
  const dst = new Float32Array(k * c2 * taps[0]! * taps[1]!);
  // SpaceToDepth (DCR) puts input channel ci of phase (r, q) at channel (r·s + q)·C + ci
  for (let o = 0; o < k; o++) for (let r = 0; r < s; r++) for (let q = 0; q < s; q++) for (let ci = 0; ci < c; ci++) {
    for (let ta = 0; ta < taps[0]!; ta++) for (let tb = 0; tb < taps[1]!; tb++) {
      const y = s * ta + r;
      const x = s * tb + q;
      if (y >= kh || x >= kw) continue;
      dst[((o * c2 + (r * s + q) * c + ci) * taps[0]! + ta) * taps[1]! + tb] = src[((o * c + ci) * kh + y) * kw + x]!;
    }
  }
  const oldW = stem.inputs[1]!;
  let wName = `${oldW}_s2d`;
  for (let i = 1; graph.initializers.has(wName); i++) wName = `${oldW}_s2d_${i}`;
  graph.initializers.set(wName, { dtype: 'float32', dims: [k, c2, taps[0]!, taps[1]!], data: dst });
  const added: Node[] = [];
  let x = input.name;
  if ([...preBegin, ...preEnd].some((p) => p > 0)) {
    const pads = `${stem.name}_pre_pads`;
    graph.initializers.set(pads, { dtype: 'int64', dims: [8], data: BigInt64Array.from([0, 0, ...preBegin, 0, 0, ...preEnd], (v) => BigInt(v)) });
    added.push({ opType: 'Pad', name: `${stem.name}_pre_pad`, domain: '', inputs: [x, pads], outputs: [`${x}_padded`], attrs: {} });
    x = `${x}_padded`;
  }
  const s2d = `${input.name}_space_to_depth`;
  added.push({ opType: 'SpaceToDepth', name: `${stem.name}_space_to_depth`, domain: '', inputs: [x], outputs: [s2d], attrs: { blocksize: attr.int(s) } });
  stem.inputs = [s2d, wName, ...stem.inputs.slice(2)];
  stem.attrs = { kernel_shape: attr.ints(taps), strides: attr.ints([1, 1]), pads: attr.ints([...begin, ...end]) };
  graph.nodes.splice(graph.nodes.indexOf(stem), 0, ...added);
  if (!graph.nodes.some((n) => n.inputs.includes(oldW))) graph.initializers.delete(oldW);
  return true;
}
