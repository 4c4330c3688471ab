import type { Rng } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import { stratifiedBootstrap } from './bootstrap.js';
import { accuracyFromConfusion, confusionMatrix, perClassScores } from './confusion.js';
import { HeadlineEvaluator } from './headline.js';
import type { Interval } from './types.js';

/** Averages of a classification report: unweighted over all classes (macro) and weighted by support. */
export interface ReportAverage { precision: number; recall: number; f1: number }

/**
 * A subgroup's classification report, as `sklearn.metrics.classification_report(y, pred, labels=range(K),
 * output_dict=True, zero_division=0)`: per class (index order) precision, recall, F1 and support at the argmax
 * decision, then accuracy and the macro and weighted averages.
 */
export interface SubgroupClassificationReport {
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  accuracy: number;
  macro_avg: ReportAverage;
  weighted_avg: ReportAverage;
}

/** The classification report of rows with true classes `labels` and predicted classes `pred` (`SubgroupClassificationReport`). */
export function subgroupClassificationReport(labels: Int32Array, pred: Int32Array, classes: number): SubgroupClassificationReport {
  const cm = confusionMatrix(labels, pred, classes);
  const pc = perClassScores(cm, classes);
  const n = pc.support.reduce((a, b) => a + b, 0);
  const avg = (v: Float64Array, w?: Float64Array) => (w ? (n > 0 ? v.reduce((a, x, k) => a + x * w[k]!, 0) / n : 0) : v.reduce((a, x) => a + x, 0) / classes);
  return {
    precision: Array.from(pc.precision), recall: Array.from(pc.recall), f1: Array.from(pc.f1), support: Array.from(pc.support),
    accuracy: accuracyFromConfusion(cm, classes),
    macro_avg: { precision: avg(pc.precision), recall: avg(pc.recall), f1: avg(pc.f1) },
    weighted_avg: { precision: avg(pc.precision, pc.support), recall: avg(pc.recall, pc.support), f1: avg(pc.f1, pc.support) },
  };
}

/** Metrics of one subgroup (rows sharing a metadata value) beside the overall figure. */
export interface SubgroupRow {
  column: string;
  value: string;
  n: number;
  /** rows per true class in the group */
  support: number[];
  /** the group has fewer rows than `minGroupSize`, or lacks a class: read its figures with care */
  small: boolean;
  missing_classes: number[];
  metrics: Record<string, { value: number; ci: Interval | null; gap: number }>;
  /** precision / recall / F1 / support per class and their averages in the group (`subgroupClassificationReport`) */
  classification_report: SubgroupClassificationReport;
}

/** Which headline keys a subgroup table shows: discrimination, balance and, for binary, sensitivity/specificity. */
export function subgroupMetricKeys(classes: number, bins = 15): string[] {
  return classes === 2
    ? ['accuracy', 'balanced_accuracy', 'roc_auc', 'per_class[1].recall', 'per_class[1].specificity', `ece_${bins}`]
    : ['accuracy', 'balanced_accuracy', 'macro_f1', 'roc_auc_ovr_macro', `ece_${bins}`];
}

/**
 * Metrics per value of a metadata column (e.g. sex, age band, site) with stratified-bootstrap CIs and the
 * gap to the overall figure (group − overall). Groups below `minGroupSize` rows or missing a class are flagged.
 * `values[i]` is row i's value; `overall` holds the whole split's figures.
 */
export function subgroupMetrics(
  column: string, values: readonly string[], labels: Int32Array, probs: Float64Array, classes: number, overall: Record<string, number>,
  opts: { bootstrap: number; ciLevel: number; minGroupSize: number; bins: number }, rng: Rng,
): SubgroupRow[] {
  if (values.length !== labels.length) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', `subgroup column ${column}: ${values.length} values for ${labels.length} rows`);
  const keys = subgroupMetricKeys(classes, opts.bins);
  const groups = new Map<string, number[]>();
  values.forEach((v, i) => {
    if (!groups.has(v)) groups.set(v, []);
    groups.get(v)!.push(i);
  });
  const rows: SubgroupRow[] = [];
  // Values in order of their first number when they have one (age bands <30, 30–49, 50–69, ≥70), then by name.
  const firstNumber = (v: string) => Number(/\d+(\.\d+)?/.exec(v)?.[0] ?? Infinity);
  const order = (a: string, b: string) => (firstNumber(a) - firstNumber(b)) || a.localeCompare(b);
  for (const [value, idx] of [...groups].sort((a, b) => order(a[0], b[0]))) {
    const y = Int32Array.from(idx, (i) => labels[i]!);
    const p = new Float64Array(idx.length * classes);
    idx.forEach((i, j) => p.set(probs.subarray(i * classes, (i + 1) * classes), j * classes));
    const support = new Array<number>(classes).fill(0);
    y.forEach((c) => support[c]!++);
    const missing = support.flatMap((s, k) => (s === 0 ? [k] : []));
    const ev = new HeadlineEvaluator(y, p, classes, opts.bins);
    const point = ev.compute();
    const boot = opts.bootstrap > 0 ? stratifiedBootstrap(y, classes, (w) => ev.compute(w), opts.bootstrap, opts.ciLevel, rng.fork(`subgroup:${column}=${value}`)) : undefined;
    rows.push({
      column, value, n: idx.length, support, missing_classes: missing,
      small: idx.length < opts.minGroupSize || missing.length > 0,
      metrics: Object.fromEntries(keys.map((k) => [k, { value: point[k]!, ci: boot?.intervals[k] ?? null, gap: point[k]! - overall[k]! }])),
      classification_report: subgroupClassificationReport(y, ev.pred, classes),
    });
  }
  return rows;
}
