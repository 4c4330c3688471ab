import { readFileSync } from 'node:fs';
import pkg from 'onnx-proto';
import { MedclassError } from '../../errors.js';
import type { DType, Tensor } from '../tensor.js';
import { numel } from '../tensor.js';
import type { Attr, Dim, Graph, Node, ValueInfo } from './types.js';

const { onnx } = pkg;

/** ONNX TensorProto.DataType codes for the dtypes medclass moves (plus DOUBLE for float64 test graphs). */
const DTYPE_CODE: Record<DType | 'float64', number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float64: 11 };
const CODE_DTYPE = new Map<number, DType | 'float64'>(Object.entries(DTYPE_CODE).map(([k, v]) => [v, k as DType]));

/** ONNX AttributeProto.AttributeType codes. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** The ONNX TensorProto data-type code for `dtype` (1 = float32, 7 = int64, 11 = double, …). */
export function onnxTypeCode(dtype: DType | 'float64'): number {
  return DTYPE_CODE[dtype];
}

function toNum(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

function toBig(v: number | { toString(): string }): bigint {
  return typeof v === 'number' ? BigInt(v) : BigInt(v.toString());
}

function bad(message: string, file?: string): MedclassError {
  return new MedclassError('MC_ENGINE_BAD_MODEL', message, { file });
}

/** Copies `raw` into a fresh, aligned typed array of `ctor`. */
function fromRaw<T>(raw: Uint8Array, ctor: { new (buf: ArrayBuffer): T; BYTES_PER_ELEMENT: number }): T {
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return new ctor(copy.buffer);
}

function decodeTensor(t: pkg.onnx.ITensorProto, file?: string): Tensor {
  const dims = (t.dims ?? []).map(toNum);
  const dtype = CODE_DTYPE.get(t.dataType ?? 0);
  const name = t.name ?? '';
  if (dtype === undefined) throw bad(`tensor '${name}': unsupported ONNX data type ${t.dataType}`, file);
  if (t.dataLocation === 1) throw bad(`tensor '${name}': external data is not supported`, file);
  const raw = t.rawData && t.rawData.byteLength > 0 ? t.rawData : undefined;
  const n = numel(dims);
  let data: Tensor['data'] | Float64Array;
  switch (dtype) {
    case 'float32': data = raw ? fromRaw(raw, Float32Array) : Float32Array.from(t.floatData ?? []); break;
    case 'float64': data = raw ? fromRaw(raw, Float64Array) : Float64Array.from(t.doubleData ?? []); break;
    case 'int64': data = raw ? fromRaw(raw, BigInt64Array) : BigInt64Array.from((t.int64Data ?? []).map(toBig)); break;
    case 'int32': data = raw ? fromRaw(raw, Int32Array) : Int32Array.from(t.int32Data ?? []); break;
    case 'uint8': case 'bool': data = raw ? Uint8Array.from(raw) : Uint8Array.from(t.int32Data ?? []); break;
    case 'int8': data = raw ? fromRaw(raw, Int8Array) : Int8Array.from(t.int32Data ?? []); break;
  }
  if (data.length !== n) throw bad(`tensor '${name}': expected ${n} values for dims [${dims.join(',')}], found ${data.length}`, file);
  return { dtype, dims, data } as Tensor;
}

function encodeTensor(name: string, t: Tensor): pkg.onnx.ITensorProto {
  const d = t.data;
  const raw = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return { name, dims: [...t.dims], dataType: DTYPE_CODE[t.dtype as DType | 'float64'], rawData: raw };
}

function decodeAttr(a: pkg.onnx.IAttributeProto, file?: string): Attr | undefined {
  const dec = (b: Uint8Array | null | undefined) => new TextDecoder().decode(b ?? new Uint8Array());
  switch (a.type) {
    case ATTR.FLOAT: return { type: 'float', value: a.f ?? 0 };
    case ATTR.INT: return { type: 'int', value: toNum(a.i) };
    case ATTR.STRING: return { type: 'string', value: dec(a.s) };
    case ATTR.TENSOR: return { type: 'tensor', value: decodeTensor(a.t ?? {}, file) };
    case ATTR.FLOATS: return { type: 'floats', value: [...(a.floats ?? [])] };
    case ATTR.INTS: return { type: 'ints', value: (a.ints ?? []).map(toNum) };
    case ATTR.STRINGS: return { type: 'strings', value: (a.strings ?? []).map(dec) };
    default: return undefined;
  }
}

function encodeAttr(name: string, a: Attr): pkg.onnx.IAttributeProto {
  const enc = (s: string) => new TextEncoder().encode(s);
  switch (a.type) {
    case 'float': return { name, type: ATTR.FLOAT, f: a.value };
    case 'int': return { name, type: ATTR.INT, i: a.value };
    case 'string': return { name, type: ATTR.STRING, s: enc(a.value) };
    case 'tensor': return { name, type: ATTR.TENSOR, t: encodeTensor('', a.value) };
    case 'floats': return { name, type: ATTR.FLOATS, floats: [...a.value] };
    case 'ints': return { name, type: ATTR.INTS, ints: [...a.value] };
    case 'strings': return { name, type: ATTR.STRINGS, strings: a.value.map(enc) };
  }
}

function decodeValueInfo(v: pkg.onnx.IValueInfoProto): ValueInfo | undefined {
  const tt = v.type?.tensorType;
  const dtype = CODE_DTYPE.get(tt?.elemType ?? 0);
  if (!tt || dtype === undefined) return undefined;
  const dims: Dim[] = (tt.shape?.dim ?? []).map((d, i) =>
    d.dimValue !== null && d.dimValue !== undefined && toNum(d.dimValue) > 0 ? toNum(d.dimValue) : d.dimParam || `?${i}`);
  return { name: v.name ?? '', dtype: dtype as DType, dims };
}

function encodeValueInfo(v: ValueInfo): pkg.onnx.IValueInfoProto {
  const dim = v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: DTYPE_CODE[v.dtype as DType | 'float64'], shape: { dim } } } };
}

/**
 * Reads an ONNX model (bytes or a file path) into a medclass `Graph`: nodes, typed attributes, initializers as typed
 * arrays (raw_data or float_data/int64_data forms), graph inputs/outputs, value_info and opset imports.
 * Graph inputs that are also initializers (old exporters) are dropped from `inputs`.
 */
export function loadModel(source: Uint8Array | string): Graph {
  const file = typeof source === 'string' ? source : undefined;
  let model: pkg.onnx.ModelProto;
  try {
    const bytes = typeof source === 'string' ? readFileSync(source) : source;
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new MedclassError('MC_ENGINE_BAD_MODEL', `could not decode ONNX model${file ? ` '${file}'` : ''}: ${(e as Error).message}`, { file, cause: e });
  }
  const g = model.graph;
  if (!g) throw bad('ONNX model has no graph', file);
  const initializers = new Map<string, Tensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', decodeTensor(t, file));
  const nodes: Node[] = (g.node ?? []).map((n, i) => {
    const attrs: Record<string, Attr> = {};
    for (const a of n.attribute ?? []) {
      const v = decodeAttr(a, file);
      if (v) attrs[a.name ?? ''] = v;
      else throw bad(`node '${n.name}' (${n.opType}): attribute '${a.name}' has unsupported type ${a.type}`, file);
    }
    return { opType: n.opType ?? '', name: n.name || `node_${i}`, domain: n.domain ?? '', inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
  });
  const vis = (list: pkg.onnx.IValueInfoProto[] | null | undefined) =>
    (list ?? []).map(decodeValueInfo).filter((v): v is ValueInfo => v !== undefined);
  const valueInfo = new Map<string, ValueInfo>(vis(g.valueInfo).map((v) => [v.name, v]));
  let opset = 17;
  const extraOpsets: Record<string, number> = {};
  for (const o of model.opsetImport ?? []) {
    if (!o.domain || o.domain === 'ai.onnx') opset = toNum(o.version);
    else extraOpsets[o.domain] = toNum(o.version);
  }
  return {
    name: g.name || 'graph',
    nodes,
    inputs: vis(g.input).filter((v) => !initializers.has(v.name)),
    outputs: vis(g.output),
    initializers,
    valueInfo,
    opset,
    ...(Object.keys(extraOpsets).length > 0 ? { extraOpsets } : {}),
  };
}

/** Serialises a `Graph` to ONNX ModelProto bytes (IR version 8, initializers as raw_data). */
export function saveModel(graph: Graph): Uint8Array {
  const opsetImport = [{ domain: '', version: graph.opset }, ...Object.entries(graph.extraOpsets ?? {}).map(([domain, version]) => ({ domain, version }))];
  const model: pkg.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'medclass',
    opsetImport,
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        opType: n.opType, name: n.name, domain: n.domain, input: n.inputs, output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, a]) => encodeAttr(k, a)),
      })),
      initializer: [...graph.initializers].map(([name, t]) => encodeTensor(name, t)),
      input: graph.inputs.map(encodeValueInfo),
      output: graph.outputs.map(encodeValueInfo),
      valueInfo: [...graph.valueInfo.values()].map(encodeValueInfo),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
}
