/** Element types the engine moves between JavaScript and onnxruntime. */
export type DType = 'float32' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';

/** Typed-array storage per dtype (bool is stored as Uint8Array, as onnxruntime does). */
export interface DataFor {
  float32: Float32Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
  int8: Int8Array;
  bool: Uint8Array;
}

/** A dense row-major tensor: typed-array data and readonly dims (images are NCHW). */
export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly dims: readonly number[];
  readonly data: DataFor[D];
}

/** Number of elements for `dims` (1 for a scalar). */
export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A float32 tensor; copies nothing when `data` is already a Float32Array. */
export function f32(data: Float32Array | readonly number[], dims: readonly number[]): Tensor<'float32'> {
  const arr = data instanceof Float32Array ? data : Float32Array.from(data);
  if (arr.length !== numel(dims)) throw new RangeError(`f32: ${arr.length} values do not fill dims [${dims.join(',')}]`);
  return { dtype: 'float32', dims: [...dims], data: arr };
}

/** An int64 tensor from numbers or bigints. */
export function i64(data: BigInt64Array | readonly (number | bigint)[], dims: readonly number[]): Tensor<'int64'> {
  const arr = data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v));
  if (arr.length !== numel(dims)) throw new RangeError(`i64: ${arr.length} values do not fill dims [${dims.join(',')}]`);
  return { dtype: 'int64', dims: [...dims], data: arr };
}

/** The arrays laid end to end in one new array of `Kind` (always a copy: parts may be views of data kept elsewhere). */
export function concatArrays<A extends Float32Array | Float64Array | Uint8Array>(parts: readonly ArrayLike<number>[], Kind: { new (n: number): A }): A {
  const out = new Kind(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
