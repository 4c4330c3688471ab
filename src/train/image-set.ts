import { MedclassError } from '../errors.js';

/**
 * Images as preprocessed bytes (`[N,C,H,W]` uint8) with the float32 value of each byte per channel (`table`,
 * `[C·256]`, the data layer's `normalizationTable`): a quarter of the memory of float32 rows, expanded as rows are read.
 */
export interface ImageBytes {
  readonly data: Uint8Array;
  readonly table: Float32Array;
}

/**
 * Rows held in memory with their labels: images (`bytes`, as a run loads them) or float32 rows `x` (cached trunk
 * activations, random probe images), `[N,C,H,W]` either way. Read rows through `gatherRows` / `rowRange`.
 */
export type ImageSet = ImageSetBase & ({ readonly x: Float32Array; readonly bytes?: undefined } | { readonly bytes: ImageBytes; readonly x?: undefined });

interface ImageSetBase {
  /** `[N, C, H, W]` */
  readonly dims: readonly [number, number, number, number];
  readonly labels: Int32Array;
  /** Dataset item index of each row (for predictions.csv and subgroups). */
  readonly indices: readonly number[];
  /** Fusion models: the encoded tabular row of each image, `[N, F]` float32, fed as the graph input `tab`. */
  readonly tabular?: { readonly data: Float32Array; readonly features: number };
}

/** Copies the tabular rows `rows` of `set` into `out` (`rows.length × F`), returning `out`; undefined without tabular data. */
export function gatherTabular(set: ImageSet, rows: readonly number[], out?: Float32Array): Float32Array | undefined {
  const t = set.tabular;
  if (!t) return undefined;
  const f = t.features;
  const buf = out ?? new Float32Array(rows.length * f);
  rows.forEach((r, i) => buf.set(t.data.subarray(r * f, (r + 1) * f), i * f));
  return buf;
}

/** Copies the rows `rows` of `set` into `out` (`rows.length × C·H·W`) as float32, returning `out`. */
export function gatherRows(set: ImageSet, rows: readonly number[], out: Float32Array): Float32Array {
  const per = set.dims[1] * set.dims[2] * set.dims[3];
  if (out.length < rows.length * per) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `gatherRows: buffer of ${out.length} for ${rows.length}×${per}`);
  if (set.x) {
    rows.forEach((r, i) => out.set(set.x.subarray(r * per, (r + 1) * per), i * per));
    return out;
  }
  const { data, table } = set.bytes;
  const plane = set.dims[2] * set.dims[3];
  rows.forEach((r, i) => {
    for (let c = 0; c < set.dims[1]; c++) {
      const src = r * per + c * plane, dst = i * per + c * plane, t = c * 256;
      for (let p = 0; p < plane; p++) out[dst + p] = table[t + data[src + p]!]!;
    }
  });
  return out;
}

/** Rows `start … start + count − 1` of `set` as a new float32 array (`count × C·H·W`). */
export function rowRange(set: ImageSet, start: number, count: number): Float32Array {
  const per = set.dims[1] * set.dims[2] * set.dims[3];
  return gatherRows(set, Array.from({ length: count }, (_, i) => start + i), new Float32Array(count * per));
}

/** The rows `rows` of `set` as a new ImageSet, held as `set` holds them (bytes or float32). */
export function subsetImages(set: ImageSet, rows: readonly number[]): ImageSet {
  const per = set.dims[1] * set.dims[2] * set.dims[3];
  const held = set.x
    ? { x: gatherRows(set, rows, new Float32Array(rows.length * per)) }
    : { bytes: { data: subsetBytes(set.bytes.data, rows, per), table: set.bytes.table } };
  return {
    ...held,
    dims: [rows.length, set.dims[1], set.dims[2], set.dims[3]],
    labels: Int32Array.from(rows, (r) => set.labels[r]!),
    indices: rows.map((r) => set.indices[r]!),
    ...(set.tabular ? { tabular: { data: gatherTabular(set, rows)!, features: set.tabular.features } } : {}),
  };
}

function subsetBytes(data: Uint8Array, rows: readonly number[], per: number): Uint8Array {
  const out = new Uint8Array(rows.length * per);
  rows.forEach((r, i) => out.set(data.subarray(r * per, (r + 1) * per), i * per));
  return out;
}

/** Flips each image of a batch `[N,C,H,W]` horizontally, in place. */
export function hflipBatch(x: Float32Array, dims: readonly number[]): void {
  const [n, c, h, w] = dims as [number, number, number, number];
  for (let p = 0; p < n * c * h; p++) {
    const row = x.subarray(p * w, (p + 1) * w);
    row.reverse();
  }
}
