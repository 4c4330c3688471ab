import { formatPredictionsCsv, softmax } from '../eval/index.js';

/** One row of a run's predictions.csv: split, item id, label index, the model's logits and the metadata columns. */
export interface RunPredictionRow {
  split: string;
  id: string;
  label: number;
  logits: ArrayLike<number>;
  meta?: Readonly<Record<string, string>>;
}

/** What the readable columns of predictions.csv need: the class names (index order) and the temperature fitted on val. */
export interface NamedColumns {
  classes: readonly string[];
  /** temperature of calibration.json (null: none was fitted, the probabilities are the plain softmax) */
  temperature: number | null;
}

/** Names of the readable columns predictions.csv carries after the logits, for `k` classes. */
export function namedColumns(k: number): string[] {
  return ['label_name', 'pred_name', ...Array.from({ length: k }, (_, c) => `cal_prob_${c}`)];
}

/**
 * A run's predictions.csv (the format `medclass metrics` reads): split, id, label, logit_0..k-1 (9 significant
 * digits: the float32 logits round-trip exactly); with `named`, then label_name (the label's class name), pred_name
 * (the class of highest calibrated probability) and cal_prob_0..k-1 (softmax of logits / T, shortest round-trip
 * float64, so pandas/scikit-learn read the values the report used); then `metaCols` (subgroup columns, so
 * `eval --run` reproduces the subgroup tables). Written by training, `eval --data` and k-fold through
 * `formatPredictionsCsv`.
 */
export function predictionsCsv(rows: readonly RunPredictionRow[], k: number, metaCols: readonly string[] = [], named?: NamedColumns): string {
  const extra = named ? namedColumns(k) : [];
  const withNames = rows.map((r) => {
    if (!named) return r.meta;
    const p = softmax(Float64Array.from(r.logits), k, named.temperature ?? 1);
    let best = 0;
    for (let c = 1; c < k; c++) if (p[c]! > p[best]!) best = c;
    const cols: Record<string, string> = { label_name: named.classes[r.label] ?? '', pred_name: named.classes[best] ?? '' };
    p.forEach((v, c) => { cols[`cal_prob_${c}`] = String(v); });
    return { ...cols, ...(r.meta ?? {}) };
  });
  return formatPredictionsCsv(rows.map((r, i) => ({ split: r.split, id: r.id, label: r.label, scores: r.logits, ...(withNames[i] ? { meta: withNames[i] } : {}) })), k, { metaCols: [...extra, ...metaCols], ids: true, precision: 'float32' });
}
