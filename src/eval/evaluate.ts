import type { Rng } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import { stratifiedBootstrap } from './bootstrap.js';
import { calibrationSummary, fitTemperature } from './calibration.js';
import { splitConformal, type ConformalEvaluation, type ConformalMethod } from './conformal.js';
import { HeadlineEvaluator, headlineMetricInfo } from './headline.js';
import { operatingPoint, type OperatingPoint } from './operating-points.js';
import { EvalOptions, type EvalOptionsInput } from './options.js';
import { column, softmax } from './probabilities.js';
import { oneVsRest } from './ranking.js';
import { brierScore, logLoss } from './scores.js';
import { computeSplitMetrics, type SplitMetrics } from './split-metrics.js';
import { subgroupMetrics, type SubgroupRow } from './subgroups.js';
import type { OnEvalEvent } from './types.js';

/** Scores of one split: labels [N], scores [N, K] (logits, or probabilities when `scoreKind` is 'prob'), metadata columns. */
export interface SplitScores {
  labels: Int32Array;
  scores: Float64Array;
  meta?: Record<string, string[]>;
}

/** What an evaluation needs: the test split, optionally the validation split used for calibration and thresholds. */
export interface EvaluationInput {
  classes: number;
  scoreKind: 'logit' | 'prob';
  val?: SplitScores;
  test: SplitScores;
}

/** The whole evaluation, as written to `metrics.json`: test metrics at the top level (keys of `reference.json`), `val` beside. */
export type MetricsReport = SplitMetrics & {
  disclaimer: string;
  classes: number;
  class_names: string[];
  n_test: number;
  n_val: number;
  score_kind: 'logit' | 'prob';
  ci: { level: number; n_resamples: number; method: string; intervals: Record<string, [number, number]> } | null;
  zero_r: { majority_class: number; fitted_on: 'val' | 'test'; metrics: Record<string, number> };
  temperature: number | null;
  calibration: Record<string, unknown> | null;
  operating_points: Record<string, OperatingPoint[]> | null;
  subgroups: SubgroupRow[];
  val: SplitMetrics | null;
  [conformal: `conformal_${string}`]: ConformalEvaluation;
};

/** The disclaimer every report carries. */
export const DISCLAIMER = 'research software, not a diagnostic device';

/** Logits from scores: probabilities become log-probabilities (softmax of them gives them back). */
function asLogits(scores: Float64Array, kind: 'logit' | 'prob'): Float64Array {
  return kind === 'logit' ? scores : scores.map((p) => Math.log(Math.max(p, 1e-300)));
}

function asProbs(scores: Float64Array, classes: number, kind: 'logit' | 'prob'): Float64Array {
  return kind === 'logit' ? softmax(scores, classes) : scores;
}

/**
 * Evaluates predictions: every metric on test with stratified-bootstrap CIs, the ZeroR baseline, and, when
 * validation rows exist, temperature scaling fitted on them (ECE/MCE/log loss/Brier before and after),
 * split-conformal LAC and APS sets calibrated on them, and operating points chosen on them and applied to test.
 * Bootstrap draws come from `rng.fork('bootstrap')` (same seed → same CIs).
 */
export function evaluatePredictions(input: EvaluationInput, options: EvalOptionsInput, rng: Rng, onEvent?: OnEvalEvent): MetricsReport {
  const o = EvalOptions.parse(options);
  const K = input.classes;
  const { test, val } = input;
  if (test.labels.length === 0) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', 'no test rows to evaluate', { hint: 'the split column must contain "test" rows' });
  const names = o.classNames ?? Array.from({ length: K }, (_, k) => String(k));
  const testProbs = asProbs(test.scores, K, input.scoreKind);
  const split = computeSplitMetrics(test.labels, testProbs, K, o.bins, names, onEvent);

  const ev = new HeadlineEvaluator(test.labels, testProbs, K, o.bins);
  const overall = ev.compute();
  let ci: MetricsReport['ci'] = null;
  if (o.bootstrap > 0) {
    const b = stratifiedBootstrap(test.labels, K, (w) => ev.compute(w), o.bootstrap, o.ciLevel, rng.fork('bootstrap'));
    ci = { level: b.level, n_resamples: b.n, method: b.method, intervals: Object.fromEntries(Object.entries(b.intervals).map(([k, v]) => [k, [v.low, v.high]])) };
  }

  // ZeroR: always predict the majority class of the fitting split, with its class frequencies as probabilities.
  const fitLabels = val?.labels ?? test.labels;
  const prior = new Float64Array(K);
  fitLabels.forEach((y) => prior[y]!++);
  const majority = prior.indexOf(Math.max(...prior));
  prior.forEach((c, k) => (prior[k] = c / fitLabels.length));
  const priorProbs = new Float64Array(test.labels.length * K);
  for (let i = 0; i < test.labels.length; i++) priorProbs.set(prior, i * K);
  const zr = new HeadlineEvaluator(test.labels, priorProbs, K, o.bins).compute();
  const zero_r = { majority_class: majority, fitted_on: val ? ('val' as const) : ('test' as const), metrics: Object.fromEntries(headlineMetricInfo(K, o.bins).map((m) => [m.key, zr[m.key]!])) };

  const report = {
    disclaimer: DISCLAIMER, classes: K, class_names: names, n_test: test.labels.length, n_val: val?.labels.length ?? 0, score_kind: input.scoreKind,
    ...split, ci, zero_r, temperature: null, calibration: null, operating_points: null, subgroups: [], val: null,
  } as unknown as MetricsReport;

  if (val && val.labels.length > 0) {
    const valLogits = asLogits(val.scores, input.scoreKind);
    const testLogits = asLogits(test.scores, input.scoreKind);
    const fit = fitTemperature(val.labels, valLogits, K);
    const T = fit.temperature;
    const valCal = softmax(valLogits, K, T);
    const testCal = softmax(testLogits, K, T);
    const after = calibrationSummary(test.labels, testCal, K, o.bins);
    const before = calibrationSummary(test.labels, testProbs, K, o.bins);
    report.temperature = T;
    const r = report as unknown as Record<string, unknown>;
    r[`ece_${o.bins}_after_temperature`] = after.ece;
    r[`mce_${o.bins}_after_temperature`] = after.mce;
    r.log_loss_after_temperature = logLoss(test.labels, testCal, K);
    r[K === 2 ? 'brier_after_temperature' : 'brier_multiclass_after_temperature'] = brierScore(test.labels, testCal, K);
    r[`reliability_bins_${o.bins}_after_temperature`] = after.bins;
    r[`confidence_histogram_${o.bins}_after_temperature`] = after.histogram;
    report.calibration = {
      method: 'temperature scaling (NLL on val)', temperature: T, val_nll_before: fit.nllBefore, val_nll_after: fit.nllAfter,
      bins: o.bins, test_before: { ece: before.ece, mce: before.mce, log_loss: split.log_loss }, test_after: { ece: after.ece, mce: after.mce, log_loss: r.log_loss_after_temperature },
    };
    const methods: [ConformalMethod, boolean][] = [['lac', false], ['aps', false], ...(o.mondrian ? ([['lac', true], ['aps', true]] as [ConformalMethod, boolean][]) : [])];
    for (const [method, mondrian] of methods) {
      report[`conformal_${method}${mondrian ? '_mondrian' : ''}_alpha_${o.alpha}`] = splitConformal(
        { labels: val.labels, probs: valCal }, { labels: test.labels, probs: testCal }, K, o.alpha, method, mondrian, onEvent);
    }
    const positives = K === 2 ? [1] : Array.from({ length: K }, (_, k) => k);
    report.operating_points = Object.fromEntries(positives.map((k) => {
      const v = { isPositive: oneVsRest(val.labels, k), scores: column(valCal, K, k) };
      const t = { isPositive: oneVsRest(test.labels, k), scores: column(testCal, K, k) };
      return [String(k), [
        operatingPoint(v, t, { kind: 'sensitivity', target: o.targetSensitivity }),
        operatingPoint(v, t, { kind: 'specificity', target: o.targetSpecificity }),
        operatingPoint(v, t, { kind: 'youden' }),
      ]];
    }));
    report.val = computeSplitMetrics(val.labels, asProbs(val.scores, K, input.scoreKind), K, o.bins, names);
  }

  for (const col of o.subgroups) {
    const values = test.meta?.[col];
    if (!values) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', `subgroup column "${col}" is not in the predictions (metadata columns: ${Object.keys(test.meta ?? {}).join(', ') || 'none'})`);
    report.subgroups.push(...subgroupMetrics(col, values, test.labels, testProbs, K, overall,
      { bootstrap: o.bootstrap, ciLevel: o.ciLevel, minGroupSize: o.minGroupSize, bins: o.bins }, rng));
  }
  return report;
}

/**
 * The evaluation of a trained run: validation and test labels with logits [N, K] → the `metrics.json` object
 * (test metrics at the top level, `val` beside). Used by `medclass eval --run DIR`.
 */
export function evaluateRun(val: SplitScores, test: SplitScores, classes: number, options: EvalOptionsInput, rng: Rng, onEvent?: OnEvalEvent): MetricsReport {
  return evaluatePredictions({ classes, scoreKind: 'logit', val, test }, options, rng, onEvent);
}
