import { calibrationSummary } from './calibration.js';
import {
  accuracyFromConfusion, averageScores, balancedAccuracyFromConfusion, cohenKappaFromConfusion, confusionMatrix, mccFromConfusion, perClassScores,
} from './confusion.js';
import { argmaxRows, column } from './probabilities.js';
import { averagePrecisionScore, descendingOrder, oneVsRest, rocAucScore } from './ranking.js';
import { brierScore, logLoss } from './scores.js';
import type { MetricInfo, OnEvalEvent } from './types.js';

/** Headline metrics (those given a bootstrap CI), each declaring whether higher is better. */
export function headlineMetricInfo(classes: number, bins = 15): MetricInfo[] {
  const binary = classes === 2;
  return [
    { key: 'accuracy', label: 'accuracy', higherIsBetter: true },
    { key: 'balanced_accuracy', label: 'balanced accuracy', higherIsBetter: true },
    { key: 'macro_f1', label: 'macro F1', higherIsBetter: true },
    { key: 'weighted_f1', label: 'weighted F1', higherIsBetter: true },
    { key: 'mcc', label: 'MCC', higherIsBetter: true },
    { key: 'cohen_kappa', label: "Cohen's kappa", higherIsBetter: true },
    { key: 'quadratic_kappa', label: 'quadratic kappa', higherIsBetter: true },
    binary ? { key: 'roc_auc', label: 'ROC AUC', higherIsBetter: true } : { key: 'roc_auc_ovr_macro', label: 'ROC AUC (OvR macro)', higherIsBetter: true },
    ...(binary ? [{ key: 'average_precision', label: 'average precision', higherIsBetter: true }] : []),
    binary ? { key: 'brier', label: 'Brier (class 1)', higherIsBetter: false } : { key: 'brier_multiclass', label: 'Brier (multi-class)', higherIsBetter: false },
    { key: 'log_loss', label: 'log loss', higherIsBetter: false },
    { key: `ece_${bins}`, label: `ECE (${bins} bins)`, higherIsBetter: false },
  ];
}

/** Per-class metrics given a CI, keyed `per_class[k].<name>`. */
export const PER_CLASS_METRICS: readonly MetricInfo[] = [
  { key: 'precision', label: 'precision (PPV)', higherIsBetter: true },
  { key: 'recall', label: 'recall (sensitivity)', higherIsBetter: true },
  { key: 'specificity', label: 'specificity', higherIsBetter: true },
  { key: 'npv', label: 'NPV', higherIsBetter: true },
  { key: 'f1', label: 'F1', higherIsBetter: true },
  { key: 'auc', label: 'ROC AUC (one-vs-rest)', higherIsBetter: true },
];

/**
 * Evaluates every headline and per-class metric of one split (labels, probabilities [N, K]) under optional
 * sample weights; sorts and argmaxes once, so the bootstrap can call `compute(weights)` cheaply.
 */
export class HeadlineEvaluator {
  readonly pred: Int32Array;
  private readonly positives: Uint8Array[];
  private readonly scores: Float64Array[];
  private readonly orders: Int32Array[];

  constructor(readonly labels: Int32Array, readonly probs: Float64Array, readonly classes: number, readonly bins = 15) {
    this.pred = argmaxRows(probs, classes);
    this.positives = Array.from({ length: classes }, (_, k) => oneVsRest(labels, k));
    this.scores = Array.from({ length: classes }, (_, k) => column(probs, classes, k));
    this.orders = this.scores.map((s) => descendingOrder(s));
  }

  /** All headline metrics as a flat record (per-class ones as `per_class[k].name`). */
  compute(weights?: Float64Array, onEvent?: OnEvalEvent): Record<string, number> {
    const K = this.classes;
    const cm = confusionMatrix(this.labels, this.pred, K, weights);
    const pc = perClassScores(cm, K, onEvent);
    const f1 = averageScores(pc.f1, pc.support);
    const out: Record<string, number> = {
      accuracy: accuracyFromConfusion(cm, K),
      balanced_accuracy: balancedAccuracyFromConfusion(cm, K),
      macro_f1: f1.macro,
      weighted_f1: f1.weighted,
      mcc: mccFromConfusion(cm, K),
      cohen_kappa: cohenKappaFromConfusion(cm, K),
      quadratic_kappa: cohenKappaFromConfusion(cm, K, 'quadratic'),
    };
    const auc = this.scores.map((s, k) => rocAucScore(this.positives[k]!, s, weights, onEvent, this.orders[k], `roc_auc[class ${k}]`));
    if (K === 2) {
      out.roc_auc = auc[1]!;
      out.average_precision = averagePrecisionScore(this.positives[1]!, this.scores[1]!, weights, onEvent, this.orders[1]);
      out.brier = brierScore(this.labels, this.probs, K, weights);
    } else {
      const defined = auc.filter((a) => !Number.isNaN(a));
      out.roc_auc_ovr_macro = defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : NaN;
      out.brier_multiclass = brierScore(this.labels, this.probs, K, weights);
    }
    out.log_loss = logLoss(this.labels, this.probs, K, weights);
    out[`ece_${this.bins}`] = calibrationSummary(this.labels, this.probs, K, this.bins, weights).ece;
    for (let k = 0; k < K; k++) {
      out[`per_class[${k}].precision`] = pc.precision[k]!;
      out[`per_class[${k}].recall`] = pc.recall[k]!;
      out[`per_class[${k}].specificity`] = pc.specificity[k]!;
      out[`per_class[${k}].npv`] = pc.npv[k]!;
      out[`per_class[${k}].f1`] = pc.f1[k]!;
      out[`per_class[${k}].auc`] = auc[k]!;
    }
    return out;
  }
}
