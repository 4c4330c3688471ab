import { formatPredictionsCsv } from '../eval/index.js';

/** One row of a run's predictions.csv: split, item id, label index, the model's logits and the metadata columns. */
export interface RunPredictionRow {
  split: string;
  id: string;
  label: number;
  logits: ArrayLike<number>;
  meta?: Readonly<Record<string, string>>;
}

/**
 * A run's predictions.csv (the format `medclass metrics` reads): split, id, label, logit_0..k-1 (9 significant
 * digits: the float32 logits round-trip exactly), then `metaCols` (subgroup columns, so `eval --run` reproduces the
 * subgroup tables). Written by training, `eval --data` and k-fold through `formatPredictionsCsv`.
 */
export function predictionsCsv(rows: readonly RunPredictionRow[], k: number, metaCols: readonly string[] = []): string {
  return formatPredictionsCsv(rows.map((r) => ({ split: r.split, id: r.id, label: r.label, scores: r.logits, ...(r.meta ? { meta: r.meta } : {}) })), k, { metaCols, ids: true, precision: 'float32' });
}
