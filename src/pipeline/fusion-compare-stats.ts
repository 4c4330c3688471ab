import type { Rng } from '../engine/index.js';
import { HeadlineEvaluator, percentileSorted, rowsByClass, softmax, stratifiedResampleWeights } from '../eval/index.js';

/** One model's test logits for the comparison (rows in the same order for every model). */
export interface CompareModel {
  name: string;
  /** `[N, K]` logits (ZeroR: log class frequencies of train) */
  logits: Float64Array;
}

/** A model's test figures: point value and percentile CI of balanced accuracy and macro (OvR) ROC AUC. */
export interface CompareRow {
  name: string;
  n: number;
  balanced_accuracy: number;
  balanced_accuracy_ci: [number, number];
  auc: number;
  auc_ci: [number, number];
}

/** A paired bootstrap of an AUC difference `a − b` on the same resampled test rows. */
export interface AucDifference {
  a: string;
  b: string;
  diff: number;
  ci: [number, number];
  /** two-sided bootstrap p: 2·min(P*(Δ ≤ 0), P*(Δ ≥ 0)), capped at 1 */
  p: number;
}

/** Everything `compareFusionModels` reports, with the bootstrap's parameters as data. */
export interface FusionComparison {
  rows: CompareRow[];
  differences: AucDifference[];
  bootstrap: { n: number; level: number; method: 'paired stratified bootstrap, percentile'; auc_key: string };
}

/**
 * Test balanced accuracy and macro ROC AUC (one-vs-rest; the ROC AUC for two classes) of several models on the same
 * rows, with percentile CIs and paired differences of AUC from ONE stratified bootstrap: resample b draws the same
 * rows for every model, so a difference's CI reflects the models' correlation (paired bootstrap). Probabilities are
 * softmax(logits) (T = 1). `pairs` name the differences `a − b`.
 */
export function compareFusionModels(models: readonly CompareModel[], labels: Int32Array, classes: number, pairs: readonly [string, string][], opts: { bootstrap: number; level: number }, rng: Rng): FusionComparison {
  const key = classes === 2 ? 'roc_auc' : 'roc_auc_ovr_macro';
  const evs = models.map((m) => new HeadlineEvaluator(labels, softmax(m.logits, classes), classes));
  const point = evs.map((e) => e.compute());
  const byClass = rowsByClass(labels, classes);
  const ba: number[][] = models.map(() => []);
  const auc: number[][] = models.map(() => []);
  for (let b = 0; b < opts.bootstrap; b++) {
    const w = stratifiedResampleWeights(byClass, labels.length, rng);
    evs.forEach((e, i) => {
      const r = e.compute(w);
      ba[i]!.push(r.balanced_accuracy!);
      auc[i]!.push(r[key]!);
    });
  }
  const tail = (1 - opts.level) / 2;
  const ci = (vs: number[]): [number, number] => {
    const s = Float64Array.from(vs.filter((v) => !Number.isNaN(v))).sort();
    return [percentileSorted(s, tail), percentileSorted(s, 1 - tail)];
  };
  const rows = models.map((m, i) => ({
    name: m.name, n: labels.length, balanced_accuracy: point[i]!.balanced_accuracy!, balanced_accuracy_ci: ci(ba[i]!), auc: point[i]![key]!, auc_ci: ci(auc[i]!),
  }));
  const at = (name: string) => {
    const i = models.findIndex((m) => m.name === name);
    if (i < 0) throw new Error(`compareFusionModels: no model named ${name}`); // a caller's bug, not a user error
    return i;
  };
  const differences = pairs.map(([a, b]) => {
    const i = at(a);
    const j = at(b);
    const d = auc[i]!.map((v, t) => v - auc[j]![t]!).filter((v) => !Number.isNaN(v));
    const le = d.filter((v) => v <= 0).length / d.length;
    const ge = d.filter((v) => v >= 0).length / d.length;
    return { a, b, diff: point[i]![key]! - point[j]![key]!, ci: ci(d), p: Math.min(1, 2 * Math.min(le, ge)) };
  });
  return { rows, differences, bootstrap: { n: opts.bootstrap, level: opts.level, method: 'paired stratified bootstrap, percentile', auc_key: key } };
}

const f = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : '');

/** The comparison as two CSV tables: `models.csv` (one row per model) and `auc-differences.csv` (one row per pair). */
export function fusionComparisonCsv(c: FusionComparison): { models: string; differences: string } {
  const models = ['model,n_test,balanced_accuracy,balanced_accuracy_ci_low,balanced_accuracy_ci_high,macro_auc,macro_auc_ci_low,macro_auc_ci_high',
    ...c.rows.map((r) => [r.name, r.n, f(r.balanced_accuracy, 6), f(r.balanced_accuracy_ci[0], 6), f(r.balanced_accuracy_ci[1], 6), f(r.auc, 6), f(r.auc_ci[0], 6), f(r.auc_ci[1], 6)].join(','))];
  const diffs = ['a,b,auc_a_minus_b,ci_low,ci_high,p_two_sided',
    ...c.differences.map((d) => [d.a, d.b, f(d.diff, 6), f(d.ci[0], 6), f(d.ci[1], 6), f(d.p, 4)].join(','))];
  return { models: `${models.join('\n')}\n`, differences: `${diffs.join('\n')}\n` };
}

/** The comparison as Markdown: the models table (value [CI]) and the paired AUC differences. */
export function fusionComparisonMarkdown(c: FusionComparison): string {
  const pct = Math.round(c.bootstrap.level * 100);
  const models = [`| model | n test | balanced accuracy [${pct}% CI] | macro AUC [${pct}% CI] |`, '| --- | ---: | ---: | ---: |',
    ...c.rows.map((r) => `| ${r.name} | ${r.n} | ${f(r.balanced_accuracy)} [${f(r.balanced_accuracy_ci[0])}, ${f(r.balanced_accuracy_ci[1])}] | ${f(r.auc)} [${f(r.auc_ci[0])}, ${f(r.auc_ci[1])}] |`)];
  const diffs = [`| AUC difference | Δ | ${pct}% CI | p (two-sided) |`, '| --- | ---: | ---: | ---: |',
    ...c.differences.map((d) => `| ${d.a} − ${d.b} | ${d.diff >= 0 ? '+' : ''}${f(d.diff)} | [${f(d.ci[0])}, ${f(d.ci[1])}] | ${f(d.p, 3)} |`)];
  const note = `${c.bootstrap.method}, ${c.bootstrap.n} resamples of the test rows (class counts kept), the same resamples for every model; AUC = ${c.bootstrap.auc_key}, from softmax(logits).`;
  return `${models.join('\n')}\n\n${diffs.join('\n')}\n\n${note}\n`;
}
