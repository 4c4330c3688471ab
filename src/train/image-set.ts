import { MedclassError } from '../errors.js';

/** Preprocessed images held in memory: `x` is `[N,C,H,W]` float32, `labels` class indices, `ids` item ids. */
export interface ImageSet {
  readonly x: Float32Array;
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

/** Copies the rows `rows` of `set` into `out` (`rows.length × C·H·W`), returning `out`. */
export function gatherRows(set: ImageSet, rows: readonly number[], out: Float32Array): Float32Array {
  const per = set.dims[1] * set.dims[2] * set.dims[3];
  if (out.length < rows.length * per) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `gatherRows: buffer of ${out.length} for ${rows.length}×${per}`);
  rows.forEach((r, i) => out.set(set.x.subarray(r * per, (r + 1) * per), i * per));
  return out;
}

/** The rows `rows` of `set` as a new ImageSet. */
export function subsetImages(set: ImageSet, rows: readonly number[]): ImageSet {
  const per = set.dims[1] * set.dims[2] * set.dims[3];
  const x = gatherRows(set, rows, new Float32Array(rows.length * per));
  return {
    x,
    dims: [rows.length, set.dims[1], set.dims[2], set.dims[3]],
    labels: Int32Array.from(rows, (r) => set.labels[r]!),
    indices: rows.map((r) => set.indices[r]!),
    ...(set.tabular ? { tabular: { data: gatherTabular(set, rows)!, features: set.tabular.features } } : {}),
  };
}

/** Flips each image of a batch `[N,C,H,W]` horizontally, in place. */
export function hflipBatch(x: Float32Array, dims: readonly number[]): void {
  const [n, c, h, w] = dims as [number, number, number, number];
  for (let p = 0; p < n * c * h; p++) {
    const row = x.subarray(p * w, (p + 1) * w);
    row.reverse();
  }
}
