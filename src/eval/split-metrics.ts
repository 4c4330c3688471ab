import { calibrationSummary, type ReliabilityBin } from './calibration.js';
import { classificationReport } from './classification-report.js';
import { confusionMatrix, normalizeConfusionRows, perClassScores } from './confusion.js';
import { HeadlineEvaluator } from './headline.js';
import { column } from './probabilities.js';
import { averagePrecisionScore, oneVsRest, precisionRecallCurve, rocCurve } from './ranking.js';
import type { OnEvalEvent } from './types.js';

/** One class's row of the per-class table (key names as `../shared/fixtures/metrics/*\/reference.json`). */
export interface PerClassRow {
  class: number;
  name: string;
  precision: number;
  recall: number;
  specificity: number;
  npv: number;
  f1: number;
  support: number;
  auc: number;
  /** one-vs-rest average precision (multi-class only) */
  average_precision?: number;
}

/** Every metric of one split; keys follow `reference.json` (ece_15 etc. carry the bin count). */
export interface SplitMetrics {
  n: number;
  accuracy: number;
  balanced_accuracy: number;
  per_class: PerClassRow[];
  macro_f1: number;
  weighted_f1: number;
  mcc: number;
  cohen_kappa: number;
  quadratic_kappa: number;
  confusion_matrix: number[][];
  confusion_matrix_normalized: number[][];
  roc_auc?: number;
  average_precision?: number;
  roc_points?: number;
  roc_curve?: { fpr: number[]; tpr: number[]; thresholds: number[] };
  pr_curve?: { precision: number[]; recall: number[]; thresholds: number[] };
  roc_auc_ovr_macro?: number;
  /** one-vs-rest ROC and PR curves per class (multi-class only) */
  roc_curves_ovr?: { fpr: number[]; tpr: number[]; thresholds: number[] }[];
  pr_curves_ovr?: { precision: number[]; recall: number[]; thresholds: number[] }[];
  per_class_auc?: number[];
  brier?: number;
  brier_multiclass?: number;
  log_loss: number;
  classification_report: string;
  /** plus `ece_<bins>`, `mce_<bins>`, `reliability_bins_<bins>`, `confidence_histogram_<bins>` */
  [binned: `${'ece' | 'mce' | 'reliability_bins' | 'confidence_histogram'}_${number}`]: number | (ReliabilityBin | null)[] | number[];
}

function matrix(flat: Float64Array, K: number): number[][] {
  return Array.from({ length: K }, (_, r) => [...flat.subarray(r * K, r * K + K)]);
}

/**
 * All metrics of one split from labels and probabilities [N, K]: the headline metrics (as `HeadlineEvaluator`),
 * per-class table, confusion matrices, ROC/PR curves (binary), calibration bins and the classification report.
 * Undefined metrics are NaN with an `MC_EVAL_UNDEFINED_METRIC` event.
 */
export function computeSplitMetrics(labels: Int32Array, probs: Float64Array, classes: number, bins = 15, names?: readonly string[], onEvent?: OnEvalEvent): SplitMetrics {
  const K = classes;
  const ev = new HeadlineEvaluator(labels, probs, K, bins);
  const h = ev.compute(undefined, onEvent);
  const cm = confusionMatrix(labels, ev.pred, K);
  const pc = perClassScores(cm, K);
  const className = (k: number) => names?.[k] ?? String(k);
  const per_class = Array.from({ length: K }, (_, k): PerClassRow => ({
    class: k,
    name: className(k),
    precision: pc.precision[k]!,
    recall: pc.recall[k]!,
    specificity: pc.specificity[k]!,
    npv: pc.npv[k]!,
    f1: pc.f1[k]!,
    support: pc.support[k]!,
    auc: h[`per_class[${k}].auc`]!,
  }));
  const cal = calibrationSummary(labels, probs, K, bins);
  const out: SplitMetrics = {
    n: labels.length,
    accuracy: h.accuracy!,
    balanced_accuracy: h.balanced_accuracy!,
    per_class,
    macro_f1: h.macro_f1!,
    weighted_f1: h.weighted_f1!,
    mcc: h.mcc!,
    cohen_kappa: h.cohen_kappa!,
    quadratic_kappa: h.quadratic_kappa!,
    confusion_matrix: matrix(cm, K),
    confusion_matrix_normalized: matrix(normalizeConfusionRows(cm, K), K),
    log_loss: h.log_loss!,
    classification_report: classificationReport(pc, h.accuracy!, names),
  };
  if (K === 2) {
    const pos = oneVsRest(labels, 1);
    const p1 = column(probs, K, 1);
    const roc = rocCurve(pos, p1);
    const pr = precisionRecallCurve(pos, p1);
    Object.assign(out, {
      roc_auc: h.roc_auc,
      average_precision: h.average_precision,
      roc_points: roc.fpr.length,
      roc_curve: { fpr: [...roc.fpr], tpr: [...roc.tpr], thresholds: [...roc.thresholds] },
      pr_curve: { precision: [...pr.precision], recall: [...pr.recall], thresholds: [...pr.thresholds] },
      brier: h.brier,
    });
  } else {
    const curves = per_class.map((_, k) => {
      const pos = oneVsRest(labels, k);
      const pk = column(probs, K, k);
      const roc = rocCurve(pos, pk);
      const pr = precisionRecallCurve(pos, pk);
      return { roc: { fpr: [...roc.fpr], tpr: [...roc.tpr], thresholds: [...roc.thresholds] }, pr: { precision: [...pr.precision], recall: [...pr.recall], thresholds: [...pr.thresholds] }, ap: averagePrecisionScore(pos, pk) };
    });
    per_class.forEach((r, k) => (r.average_precision = curves[k]!.ap));
    Object.assign(out, {
      roc_auc_ovr_macro: h.roc_auc_ovr_macro, per_class_auc: per_class.map((r) => r.auc), brier_multiclass: h.brier_multiclass,
      roc_curves_ovr: curves.map((c) => c.roc), pr_curves_ovr: curves.map((c) => c.pr),
    });
  }
  out[`ece_${bins}`] = cal.ece;
  out[`mce_${bins}`] = cal.mce;
  out[`reliability_bins_${bins}`] = cal.bins;
  out[`confidence_histogram_${bins}`] = cal.histogram;
  return out;
}
