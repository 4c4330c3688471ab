import { MedclassError } from '../../errors.js';
import type { DType, Tensor } from '../tensor.js';
import { numel } from '../tensor.js';
import { intAttr, intsAttr, normAxis, windowAttrs, windowOut } from './op-attrs.js';
import type { Node } from './types.js';

/** Element type of an inferred value (float64 only in double-precision test graphs). */
export type ValueType = DType | 'float64';

/** Static facts about one value: element type, concrete dims and, for small integer tensors, the values themselves. */
export interface InferredValue {
  dtype: ValueType;
  dims: number[];
  /** Statically known contents (shape vectors, axes, constants up to 64 elements), row-major. */
  value?: number[];
}

/** Per-op shape (and small-value) inference: one entry per ONNX op, spec defaults from op-attrs. */
export const ONNX_TO_DTYPE: Record<number, ValueType> = { 1: 'float32', 2: 'uint8', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float64' };
export const FOLD_LIMIT = 64;

export function tensorValue(t: Tensor): number[] | undefined {
  if (t.data.length > FOLD_LIMIT) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** NumPy-style broadcast of two shapes; throws naming the node when incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[], where = ''): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `${where}: cannot broadcast [${a.join(',')}] with [${b.join(',')}]`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function strides(dims: readonly number[]): number[] {
  const s = Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

/** Elementwise fold of broadcasting inputs with known values. */
function foldBroadcast(ins: InferredValue[], outDims: number[], f: (xs: number[]) => number): number[] | undefined {
  if (ins.some((v) => v.value === undefined) || numel(outDims) > FOLD_LIMIT) return undefined;
  const os = strides(outDims);
  const res: number[] = [];
  for (let k = 0; k < numel(outDims); k++) {
    const xs = ins.map((v) => {
      const off = outDims.length - v.dims.length;
      const st = strides(v.dims);
      let idx = 0;
      for (let d = 0; d < v.dims.length; d++) {
        const coord = Math.floor(k / os[d + off]!) % outDims[d + off]!;
        idx += (v.dims[d] === 1 ? 0 : coord) * st[d]!;
      }
      return v.value![idx]!;
    });
    res.push(f(xs));
  }
  return res;
}

export type Infer = (node: Node, ins: (InferredValue | undefined)[]) => (InferredValue | undefined)[];

const same: Infer = (_n, [x]) => (x ? [{ dtype: x.dtype, dims: [...x.dims] }] : []);
const isInt = (t: ValueType) => t === 'int64' || t === 'int32';

function binary(f: (a: number, b: number, int: boolean) => number, outType?: ValueType): Infer {
  return (node, ins) => {
    const xs = ins.filter((v): v is InferredValue => v !== undefined);
    if (xs.length !== ins.length || xs.length === 0) return [];
    const dims = xs.slice(1).reduce((acc, v) => broadcastShapes(acc, v.dims, `${node.opType} '${node.name}'`), xs[0]!.dims);
    const dtype = outType ?? xs[0]!.dtype;
    const int = isInt(xs[0]!.dtype);
    const value = foldBroadcast(xs, dims, (v) => v.slice(1).reduce((acc, b) => f(acc, b, int), v[0]!));
    return [{ dtype, dims, ...(value ? { value } : {}) }];
  };
}

function reduceAxes(node: Node, ins: (InferredValue | undefined)[], rank: number): number[] | undefined {
  const fromInput = node.inputs[1] ? ins[1]?.value : undefined;
  if (node.inputs[1] && fromInput === undefined) return undefined;
  const axes = fromInput ?? intsAttr(node, 'axes', []);
  if (axes.length === 0) return intAttr(node, 'noop_with_empty_axes', 0) ? [] : [...Array(rank).keys()];
  return axes.map((a) => normAxis(a, rank));
}

const reduce: Infer = (node, ins) => {
  const x = ins[0];
  if (!x) return [];
  const axes = reduceAxes(node, ins, x.dims.length);
  if (!axes) return [];
  const keep = intAttr(node, 'keepdims', 1) === 1;
  const dims = x.dims.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
  return [{ dtype: x.dtype, dims }];
};

function windowed(node: Node, x: InferredValue, channels: number, kernel?: number[]): number[] {
  const sp = x.dims.slice(2);
  const w = windowAttrs(node, sp, kernel);
  const r = sp.length;
  return [x.dims[0]!, channels, ...sp.map((s, i) => windowOut(s, w.kernelShape[i]!, w.strides[i]!, w.dilations[i]!, w.pads[i]!, w.pads[i + r]!, w.ceilMode))];
}

function sliceParams(node: Node, ins: (InferredValue | undefined)[], dims: number[]) {
  const starts = ins[1]?.value, ends = ins[2]?.value;
  if (!starts || !ends) return undefined;
  const axes = node.inputs[3] ? ins[3]?.value : starts.map((_, i) => i);
  const steps = node.inputs[4] ? ins[4]?.value : starts.map(() => 1);
  if (!axes || !steps) return undefined;
  const out = axes.map((a, i) => {
    const axis = normAxis(a, dims.length);
    const d = dims[axis]!;
    const step = steps[i]!;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const start = step > 0 ? clamp(starts[i]!, 0, d) : clamp(starts[i]!, -1, d - 1);
    const end = step > 0 ? clamp(ends[i]!, 0, d) : clamp(ends[i]!, -1, d - 1);
    const len = Math.max(0, Math.ceil((end - start) / step));
    return { axis, start, end, step, len };
  });
  return out;
}

export const SHAPE_TABLE: Record<string, Infer> = {
  Constant: (node) => {
    const a = node.attrs;
    if (a.value?.type === 'tensor') { const t = a.value.value; const v = tensorValue(t); return [{ dtype: t.dtype, dims: [...t.dims], ...(v ? { value: v } : {}) }]; }
    if (a.value_float) return [{ dtype: 'float32', dims: [], value: [a.value_float.value as number] }];
    if (a.value_int) return [{ dtype: 'int64', dims: [], value: [a.value_int.value as number] }];
    if (a.value_ints) { const v = a.value_ints.value as number[]; return [{ dtype: 'int64', dims: [v.length], value: [...v] }]; }
    if (a.value_floats) { const v = a.value_floats.value as number[]; return [{ dtype: 'float32', dims: [v.length], value: [...v] }]; }
    return [];
  },
  Shape: (node, [x]) => {
    if (!x) return [];
    const r = x.dims.length;
    const s = normAxis(intAttr(node, 'start', 0), r), e = node.attrs.end ? normAxis(intAttr(node, 'end', r), r) : r;
    const v = x.dims.slice(Math.max(0, s), Math.min(r, e));
    return [{ dtype: 'int64', dims: [v.length], value: v }];
  },
  Size: (_n, [x]) => (x ? [{ dtype: 'int64', dims: [], value: [numel(x.dims)] }] : []),
  ConstantOfShape: (node, [s]) => {
    if (!s?.value) return [];
    const t = node.attrs.value?.type === 'tensor' ? node.attrs.value.value : undefined;
    const fill = t ? Number(t.data[0]) : 0;
    const dims = s.value;
    return [{ dtype: t?.dtype ?? 'float32', dims, ...(numel(dims) <= FOLD_LIMIT ? { value: Array(numel(dims)).fill(fill) } : {}) }];
  },
  Identity: same, Relu: same, Sigmoid: same, Tanh: same, Exp: same, Log: same, Sqrt: same, Neg: same, Erf: same, Abs: same,
  Reciprocal: same, Softplus: same, Softmax: same, LogSoftmax: same, Clip: same, Floor: same, Ceil: same, Sign: same, LeakyRelu: same, Elu: same,
  HardSigmoid: same, HardSwish: same, Round: same, Selu: same, InstanceNormalization: same,
  PRelu: (_n, [x]) => (x ? [{ dtype: x.dtype, dims: [...x.dims] }] : []),
  Not: (_n, [x]) => (x ? [{ dtype: 'bool', dims: [...x.dims] }] : []),
  Dropout: (_n, [x]) => (x ? [{ dtype: x.dtype, dims: [...x.dims] }, { dtype: 'bool', dims: [...x.dims] }] : []),
  Cast: (node, [x]) => {
    if (!x) return [];
    const dtype = ONNX_TO_DTYPE[intAttr(node, 'to', 1)] ?? 'float32';
    const value = x.value && (isInt(dtype) ? x.value.map(Math.trunc) : x.value);
    return [{ dtype, dims: [...x.dims], ...(value ? { value } : {}) }];
  },
  Add: binary((a, b) => a + b), Sub: binary((a, b) => a - b), Mul: binary((a, b) => a * b),
  Div: binary((a, b, int) => (int ? Math.trunc(a / b) : a / b)), Pow: binary((a, b) => a ** b),
  Max: binary((a, b) => Math.max(a, b)), Min: binary((a, b) => Math.min(a, b)), Sum: binary((a, b) => a + b),
  Mean: (n, ins) => binary((a, b) => a + b)(n, ins).map((v) => v && { dtype: v.dtype, dims: v.dims }),
  Equal: binary((a, b) => Number(a === b), 'bool'), Greater: binary((a, b) => Number(a > b), 'bool'), Less: binary((a, b) => Number(a < b), 'bool'),
  GreaterOrEqual: binary((a, b) => Number(a >= b), 'bool'), LessOrEqual: binary((a, b) => Number(a <= b), 'bool'),
  And: binary((a, b) => Number(a && b), 'bool'), Or: binary((a, b) => Number(a || b), 'bool'),
  Where: (node, [c, a, b]) => {
    if (!c || !a || !b) return [];
    const dims = broadcastShapes(broadcastShapes(c.dims, a.dims, node.name), b.dims, node.name);
    const value = foldBroadcast([c, a, b], dims, ([cv, av, bv]) => (cv ? av! : bv!));
    return [{ dtype: a.dtype, dims, ...(value ? { value } : {}) }];
  },
  Gather: (node, [x, idx]) => {
    if (!x || !idx) return [];
    const axis = normAxis(intAttr(node, 'axis', 0), x.dims.length);
    const dims = [...x.dims.slice(0, axis), ...idx.dims, ...x.dims.slice(axis + 1)];
    let value: number[] | undefined;
    if (x.value && idx.value && x.dims.length === 1) value = idx.value.map((i) => x.value![i < 0 ? i + x.dims[0]! : i]!);
    return [{ dtype: x.dtype, dims, ...(value ? { value } : {}) }];
  },
  Unsqueeze: (node, [x, ax]) => {
    if (!x) return [];
    const axes = node.inputs[1] ? ax?.value : intsAttr(node, 'axes', []);
    if (!axes) return [];
    const r = x.dims.length + axes.length;
    const norm = axes.map((a) => normAxis(a, r));
    const dims: number[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) dims.push(norm.includes(i) ? 1 : x.dims[j++]!);
    return [{ dtype: x.dtype, dims, ...(x.value ? { value: x.value } : {}) }];
  },
  Squeeze: (node, [x, ax]) => {
    if (!x) return [];
    const axes = node.inputs[1] ? ax?.value : node.attrs.axes ? intsAttr(node, 'axes', []) : x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
    if (!axes) return [];
    const norm = axes.map((a) => normAxis(a, x.dims.length));
    return [{ dtype: x.dtype, dims: x.dims.filter((_, i) => !norm.includes(i)), ...(x.value ? { value: x.value } : {}) }];
  },
  Concat: (node, ins) => {
    if (ins.some((v) => !v)) return [];
    const xs = ins as InferredValue[];
    const axis = normAxis(intAttr(node, 'axis', 0), xs[0]!.dims.length);
    const dims = [...xs[0]!.dims];
    dims[axis] = xs.reduce((s, v) => s + v.dims[axis]!, 0);
    const value = xs.every((v) => v.value) && dims.length === 1 ? xs.flatMap((v) => v.value!) : undefined;
    return [{ dtype: xs[0]!.dtype, dims, ...(value ? { value } : {}) }];
  },
  Slice: (node, ins) => {
    const x = ins[0];
    if (!x) return [];
    const p = sliceParams(node, ins, x.dims);
    if (!p) return [];
    const dims = [...x.dims];
    for (const s of p) dims[s.axis] = s.len;
    let value: number[] | undefined;
    if (x.value && x.dims.length === 1) { const s = p[0]!; value = Array.from({ length: s.len }, (_, i) => x.value![s.start + i * s.step]!); }
    return [{ dtype: x.dtype, dims, ...(value ? { value } : {}) }];
  },
  Reshape: (node, [x, s]) => {
    if (!x || !s?.value) return [];
    const allowzero = intAttr(node, 'allowzero', 0) === 1;
    const dims = s.value.map((d, i) => (d === 0 && !allowzero ? x.dims[i]! : d));
    const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = dims.map((d) => (d === -1 ? numel(x.dims) / known : d));
    return [{ dtype: x.dtype, dims: out, ...(x.value ? { value: x.value } : {}) }];
  },
  Flatten: (node, [x]) => {
    if (!x) return [];
    const axis = normAxis(intAttr(node, 'axis', 1), x.dims.length);
    return [{ dtype: x.dtype, dims: [numel(x.dims.slice(0, axis)), numel(x.dims.slice(axis))] }];
  },
  Expand: (node, [x, s]) => (x && s?.value ? [{ dtype: x.dtype, dims: broadcastShapes(x.dims, s.value, node.name) }] : []),
  Tile: (_n, [x, r]) => (x && r?.value ? [{ dtype: x.dtype, dims: x.dims.map((d, i) => d * r.value![i]!) }] : []),
  Transpose: (node, [x]) => {
    if (!x) return [];
    const perm = intsAttr(node, 'perm', [...x.dims.keys()].reverse());
    return [{ dtype: x.dtype, dims: perm.map((p) => x.dims[p]!) }];
  },
  Split: (node, ins) => {
    const x = ins[0];
    if (!x) return [];
    const axis = normAxis(intAttr(node, 'axis', 0), x.dims.length);
    const n = node.outputs.length;
    const split = node.inputs[1] ? ins[1]?.value : node.attrs.split ? intsAttr(node, 'split', []) : Array(n).fill(Math.ceil(x.dims[axis]! / n));
    if (!split) return [];
    if (!node.inputs[1] && !node.attrs.split) split[n - 1] = x.dims[axis]! - split[0]! * (n - 1);
    return split.map((len) => { const dims = [...x.dims]; dims[axis] = len; return { dtype: x.dtype, dims }; });
  },
  Range: (_n, [s, l, d]) => {
    if (!s?.value || !l?.value || !d?.value) return [];
    const len = Math.max(0, Math.ceil((l.value[0]! - s.value[0]!) / d.value[0]!));
    return [{ dtype: s.dtype, dims: [len], ...(len <= FOLD_LIMIT ? { value: Array.from({ length: len }, (_, i) => s.value![0]! + i * d.value![0]!) } : {}) }];
  },
  ReduceSum: reduce, ReduceMean: reduce, ReduceMax: reduce, ReduceMin: reduce, ReduceProd: reduce, ReduceL2: reduce, ReduceSumSquare: reduce, ReduceLogSumExp: reduce,
  ArgMax: (node, [x]) => {
    if (!x) return [];
    const axis = normAxis(intAttr(node, 'axis', 0), x.dims.length);
    const keep = intAttr(node, 'keepdims', 1) === 1;
    return [{ dtype: 'int64', dims: x.dims.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d])) }];
  },
  MatMul: (node, [a, b]) => {
    if (!a || !b) return [];
    const ad = a.dims.length === 1 ? [1, a.dims[0]!] : a.dims;
    const bd = b.dims.length === 1 ? [b.dims[0]!, 1] : b.dims;
    const batch = broadcastShapes(ad.slice(0, -2), bd.slice(0, -2), `MatMul '${node.name}'`);
    const dims = [...batch, ...(a.dims.length === 1 ? [] : [ad[ad.length - 2]!]), ...(b.dims.length === 1 ? [] : [bd[bd.length - 1]!])];
    return [{ dtype: a.dtype, dims }];
  },
  Gemm: (node, [a, b]) => {
    if (!a || !b) return [];
    const m = intAttr(node, 'transA', 0) ? a.dims[1]! : a.dims[0]!;
    const n = intAttr(node, 'transB', 0) ? b.dims[0]! : b.dims[1]!;
    return [{ dtype: a.dtype, dims: [m, n] }];
  },
  Conv: (node, [x, w]) => (x && w ? [{ dtype: x.dtype, dims: windowed(node, x, w.dims[0]!, w.dims.slice(2)) }] : []),
  ConvTranspose: (node, [x, w]) => {
    if (!x || !w) return [];
    const sp = x.dims.slice(2);
    const a = windowAttrs(node, sp, w.dims.slice(2));
    const r = sp.length;
    const op = intsAttr(node, 'output_padding', Array(r).fill(0));
    const os = node.attrs.output_shape ? intsAttr(node, 'output_shape', []) : undefined;
    const out = sp.map((s, i) => os?.[i] ?? a.strides[i]! * (s - 1) + op[i]! + (a.kernelShape[i]! - 1) * a.dilations[i]! + 1 - a.pads[i]! - a.pads[i + r]!);
    return [{ dtype: x.dtype, dims: [x.dims[0]!, w.dims[1]! * a.group, ...out] }];
  },
  MaxPool: (node, [x]) => (x ? [{ dtype: x.dtype, dims: windowed(node, x, x.dims[1]!) }, { dtype: 'int64', dims: windowed(node, x, x.dims[1]!) }] : []),
  AveragePool: (node, [x]) => (x ? [{ dtype: x.dtype, dims: windowed(node, x, x.dims[1]!) }] : []),
  GlobalAveragePool: (_n, [x]) => (x ? [{ dtype: x.dtype, dims: x.dims.map((d, i) => (i < 2 ? d : 1)) }] : []),
  GlobalMaxPool: (_n, [x]) => (x ? [{ dtype: x.dtype, dims: x.dims.map((d, i) => (i < 2 ? d : 1)) }] : []),
  Pad: (_n, [x, p]) => {
    if (!x || !p?.value) return [];
    const r = x.dims.length;
    return [{ dtype: x.dtype, dims: x.dims.map((d, i) => d + p.value![i]! + p.value![i + r]!) }];
  },
  BatchNormalization: same,
  LayerNormalization: (node, [x]) => {
    if (!x) return [];
    const axis = normAxis(intAttr(node, 'axis', -1), x.dims.length);
    const stat = x.dims.map((d, i) => (i < axis ? d : 1));
    return [{ dtype: x.dtype, dims: [...x.dims] }, { dtype: 'float32', dims: stat }, { dtype: 'float32', dims: stat }];
  },
  ScatterND: same, ScatterElements: same,
  GatherElements: (_n, [x, i]) => (x && i ? [{ dtype: x.dtype, dims: [...i.dims] }] : []),
};

/** Ops shape inference understands (others leave their outputs unknown). */
export const SHAPE_OPS: ReadonlySet<string> = new Set(Object.keys(SHAPE_TABLE));
