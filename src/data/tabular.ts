import { z } from 'zod';
import { MedclassError } from '../errors.js';
import type { DatasetSource, MetaValue } from './types.js';

/** Which metadata columns become the tabular input `tab` [N,F] of a fusion model. */
export const TabularOptions = z.strictObject({
  numeric: z.array(z.string()).default([]).describe('numeric columns: standardised with the train mean/sd, plus a missing-indicator column (missing → 0)'),
  categorical: z.array(z.string()).default([]).describe('categorical columns: one-hot over the train values, plus an other/unknown slot'),
});
export type TabularOptions = z.output<typeof TabularOptions>;
export type TabularOptionsInput = z.input<typeof TabularOptions>;

/** A metadata column binned into labelled ranges (e.g. age → age band), for subgroup tables. */
export const BinnedColumn = z.strictObject({
  name: z.string().describe('name of the new metadata column, e.g. age_band'),
  from: z.string().describe('numeric metadata column to bin, e.g. age'),
  edges: z.array(z.number()).min(1).describe('ascending bin edges: [30, 50, 70] gives <30, 30–49, 50–69, ≥70 (a bin holds lower ≤ v < upper)'),
  labels: z.array(z.string()).optional().describe('one label per bin (edges + 1); default from the edges'),
  missing: z.string().default('unknown').describe('label of rows without a numeric value'),
});
export type BinnedColumn = z.output<typeof BinnedColumn>;
export type BinnedColumnInput = z.input<typeof BinnedColumn>;

/** A fitted tabular encoder, as saved in a run directory's `tabular.json`. */
export interface TabularEncoder {
  format: 'medclass-tabular-1';
  /** Per numeric column: train mean and population sd (1 when the train values are constant or absent). */
  numeric: { column: string; mean: number; sd: number }[];
  /** Per categorical column: the train values in sorted order (one-hot slots), then one other/unknown slot. */
  categorical: { column: string; values: string[] }[];
  /** Feature names in input order: `age`, `age:missing`, `sex=female`, …, `sex:other`. */
  features: string[];
}

type Meta = Readonly<Record<string, MetaValue>> | undefined;

const numberOf = (v: MetaValue | undefined): number | undefined => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
};

const textOf = (v: MetaValue | undefined): string | undefined => (v === null || v === undefined || v === '' ? undefined : String(v));

/**
 * Fits the encoder on training rows only: numeric columns get the mean and population standard deviation of their
 * present values (as scikit-learn's StandardScaler), categorical columns the sorted set of their values. A column
 * no training row carries is `MC_DATA_MISSING_META`.
 *
 * @example
 * const enc = fitTabularEncoder(trainItems.map((it) => it.meta), { numeric: ['age'], categorical: ['sex'] });
 * enc.features; // ['age', 'age:missing', 'sex=female', 'sex=male', 'sex:other']
 */
export function fitTabularEncoder(rows: readonly Meta[], options: TabularOptionsInput): TabularEncoder {
  const o = TabularOptions.parse(options);
  for (const column of [...o.numeric, ...o.categorical]) {
    if (!rows.some((m) => m !== undefined && column in m)) {
      const seen = [...new Set(rows.flatMap((m) => Object.keys(m ?? {})))];
      throw new MedclassError('MC_DATA_MISSING_META', `tabular column '${column}' is in no training item's metadata (columns: ${seen.join(', ') || 'none'})`, {
        hint: 'name CSV columns other than the path, label, split and group columns',
      });
    }
  }
  const numeric = o.numeric.map((column) => {
    const xs = rows.map((m) => numberOf(m?.[column])).filter((v): v is number => v !== undefined);
    const mean = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
    const sd = xs.length ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) : 0;
    return { column, mean, sd: sd > 0 ? sd : 1 };
  });
  const categorical = o.categorical.map((column) => {
    const values = [...new Set(rows.map((m) => textOf(m?.[column])).filter((v): v is string => v !== undefined))];
    return { column, values: values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
  });
  const features = [
    ...numeric.flatMap((n) => [n.column, `${n.column}:missing`]),
    ...categorical.flatMap((c) => [...c.values.map((v) => `${c.column}=${v}`), `${c.column}:other`]),
  ];
  return { format: 'medclass-tabular-1', numeric, categorical, features };
}

/** The encoder's metadata columns, numeric first. */
export function tabularColumns(enc: TabularEncoder): string[] {
  return [...enc.numeric.map((n) => n.column), ...enc.categorical.map((c) => c.column)];
}

/**
 * Encodes metadata rows into `[N, F]` float32 (F = `enc.features.length`): numeric → (v − mean)/sd and 0 in its
 * missing column, or 0 and 1 when the value is absent, empty or not a number; categorical → one-hot, a value not
 * seen in training (or absent) → the other/unknown slot. With `requireColumns`, a row whose metadata lacks a column
 * key altogether is `MC_DATA_MISSING_META` naming the column (for predict, where a forgotten value is a mistake).
 */
export function encodeTabular(enc: TabularEncoder, rows: readonly Meta[], opts: { requireColumns?: boolean; rowName?: (i: number) => string } = {}): Float32Array {
  const f = enc.features.length;
  const out = new Float32Array(rows.length * f);
  rows.forEach((m, i) => {
    if (opts.requireColumns) {
      const absent = tabularColumns(enc).filter((c) => m === undefined || !(c in m));
      if (absent.length > 0) {
        const who = opts.rowName?.(i) ?? `row ${i}`;
        throw new MedclassError('MC_DATA_MISSING_META', `${who}: the model needs tabular value${absent.length > 1 ? 's' : ''} ${absent.map((c) => `'${c}'`).join(', ')}`, {
          hint: `give every column (${tabularColumns(enc).join(', ')}), e.g. --meta ${tabularColumns(enc).map((c) => `${c}=…`).join(',')}; an empty value counts as missing`,
        });
      }
    }
    let j = i * f;
    for (const n of enc.numeric) {
      const v = numberOf(m?.[n.column]);
      out[j++] = v === undefined ? 0 : (v - n.mean) / n.sd;
      out[j++] = v === undefined ? 1 : 0;
    }
    for (const c of enc.categorical) {
      const v = textOf(m?.[c.column]);
      const k = v === undefined ? -1 : c.values.indexOf(v);
      out[j + (k < 0 ? c.values.length : k)] = 1;
      j += c.values.length + 1;
    }
  });
  return out;
}

/**
 * One column of an occlusion: the value given, and whether it is encoded as missing already (absent, empty, not a
 * number for a numeric column, a category not seen in training), so occluding it changes nothing.
 */
export interface OcclusionColumn {
  column: string;
  value: MetaValue;
  missing: boolean;
}

/**
 * The metadata rows of an occlusion attribution for one row `meta`: `rows[0]` is `meta` itself, `rows[1 + i]` the same
 * row with column i set to missing (`null`: numeric → 0 and 1 in its missing column, categorical → the other/unknown
 * slot, exactly as `encodeTabular` encodes an absent value), and the last row has every column missing (image only).
 * Keys other than the encoder's columns are dropped; a column absent from `meta` counts as missing.
 *
 * @example
 * occlusionRows(enc, { age: 60, sex: 'male' }).rows;
 * // [{age: 60, sex: 'male'}, {age: null, sex: 'male'}, {age: 60, sex: null}, {age: null, sex: null}]
 */
export function occlusionRows(enc: TabularEncoder, meta: Meta): { columns: OcclusionColumn[]; rows: Record<string, MetaValue>[] } {
  const names = tabularColumns(enc);
  const full: Record<string, MetaValue> = Object.fromEntries(names.map((c) => [c, meta?.[c] ?? null]));
  const columns = [
    ...enc.numeric.map((n) => ({ column: n.column, value: full[n.column]!, missing: numberOf(full[n.column]) === undefined })),
    ...enc.categorical.map((c) => {
      const v = textOf(full[c.column]);
      return { column: c.column, value: full[c.column]!, missing: v === undefined || !c.values.includes(v) };
    }),
  ];
  const rows = [full, ...names.map((c) => ({ ...full, [c]: null })), Object.fromEntries(names.map((c) => [c, null]))];
  return { columns, rows };
}

/** Checks a parsed `tabular.json`; throws `MC_DATA_BAD_TABULAR` naming what is wrong. */
export function checkTabularEncoder(x: unknown, file = 'tabular.json'): TabularEncoder {
  const e = x as TabularEncoder;
  const ok = e?.format === 'medclass-tabular-1' && Array.isArray(e.numeric) && Array.isArray(e.categorical) && Array.isArray(e.features)
    && e.numeric.every((n) => typeof n.column === 'string' && Number.isFinite(n.mean) && n.sd > 0)
    && e.categorical.every((c) => typeof c.column === 'string' && Array.isArray(c.values))
    && e.features.length === e.numeric.length * 2 + e.categorical.reduce((a, c) => a + c.values.length + 1, 0);
  if (!ok) throw new MedclassError('MC_DATA_BAD_TABULAR', `${file}: not a medclass tabular encoder (format medclass-tabular-1 with numeric, categorical, features)`, { file });
  return e;
}

/** Default labels of bins with these edges: `<30`, `30–49`, `50–69`, `≥70` for integer edges, `[a, b)` otherwise. */
export function binLabels(edges: readonly number[]): string[] {
  const ints = edges.every(Number.isInteger);
  const mid = edges.slice(1).map((hi, i) => (ints ? `${edges[i]}–${hi - 1}` : `[${edges[i]}, ${hi})`));
  return [`<${edges[0]}`, ...mid, `≥${edges.at(-1)}`];
}

/** The bin label of one value: edges ascending, a bin holds lower ≤ v < upper; no number → the `missing` label. */
export function binValue(spec: BinnedColumnInput, v: MetaValue | undefined): string {
  const s = BinnedColumn.parse(spec);
  const labels = s.labels ?? binLabels(s.edges);
  if (labels.length !== s.edges.length + 1 || s.edges.some((e, i) => i > 0 && e <= s.edges[i - 1]!)) {
    throw new MedclassError('MC_DATA_BAD_TABULAR', `binned column '${s.name}': edges must ascend and labels number edges + 1 (${s.edges.length + 1}), got ${labels.length}`);
  }
  const x = numberOf(v);
  if (x === undefined) return s.missing;
  let k = 0;
  while (k < s.edges.length && x >= s.edges[k]!) k++;
  return labels[k]!;
}

/** Metadata with the binned columns added (e.g. `age_band` from `age`); other keys are kept as they are. */
export function withBinnedColumns(meta: Meta, specs: readonly BinnedColumnInput[]): Record<string, MetaValue> {
  const out: Record<string, MetaValue> = { ...(meta ?? {}) };
  for (const s of specs) out[s.name] = binValue(s, meta?.[s.from]);
  return out;
}

/** A copy of `source` whose items carry the binned columns in `meta` (e.g. `age_band`); no specs → `source` itself. */
export function withBinnedSource(source: DatasetSource, specs: readonly BinnedColumnInput[]): DatasetSource {
  if (specs.length === 0) return source;
  return { ...source, items: source.items.map((it) => ({ ...it, meta: withBinnedColumns(it.meta, specs) })) };
}
