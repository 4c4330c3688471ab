import { Rng } from '../engine/index.js';
import { argmaxRows, column, oneVsRest, percentileSorted, rocCurve, rowsByClass, selectSplit, softmax, stratifiedResampleWeights } from '../eval/index.js';
import type { RunDir } from '../run/index.js';

/** The test rows of predictions.csv with calibrated probabilities (softmax(logits / T), T from calibration.json). */
export interface TestPredictions {
  classes: number;
  labels: Int32Array;
  /** row-major [N, classes] calibrated probabilities */
  probs: Float64Array;
  predicted: Int32Array;
  /** item ids (predictions.csv `id`), when the file has them */
  ids?: string[];
  temperature: number | null;
}

/** Reads the test split of a run's predictions.csv and calibrates it; undefined when the run has no predictions. */
export function readTestPredictions(run: RunDir): TestPredictions | undefined {
  if (!run.has('predictions.csv')) return undefined;
  const table = run.predictions();
  const test = selectSplit(table, 'test');
  if (!test || test.labels.length === 0) return undefined;
  const T = run.calibration()?.temperature ?? null;
  const K = table.classes;
  const probs = table.scoreKind === 'logit' ? softmax(test.scores, K, T ?? 1) : Float64Array.from(test.scores);
  return { classes: K, labels: test.labels, probs, predicted: argmaxRows(probs, K), ...(test.meta.id ? { ids: test.meta.id } : {}), temperature: T };
}

/** A pointwise bootstrap band of a ROC curve: TPR percentiles on a fixed FPR grid. */
export interface RocBand { fpr: number[]; lo: number[]; hi: number[]; level: number; resamples: number }

/** Linear interpolation of a step-free ROC (sorted by fpr) at `x`, taking the highest TPR at a repeated FPR. */
function tprAt(fpr: Float64Array, tpr: Float64Array, x: number): number {
  let j = 0;
  while (j + 1 < fpr.length && fpr[j + 1]! <= x) j++;
  if (fpr[j] === x || j + 1 >= fpr.length) return tpr[j]!;
  const u = (x - fpr[j]!) / (fpr[j + 1]! - fpr[j]!);
  return tpr[j]! + u * (tpr[j + 1]! - tpr[j]!);
}

/**
 * Bootstrap bands of the one-vs-rest ROC curve of each class in `positives` (binary: class 1): `resamples`
 * stratified resamples of the test rows (class counts kept, as the metric CIs), TPR interpolated on 51 FPR values,
 * the (1 − level)/2 and (1 + level)/2 percentiles per FPR.
 */
export function rocBands(p: TestPredictions, positives: readonly number[], resamples: number, seed: number, level = 0.95): Map<number, RocBand> {
  const out = new Map<number, RocBand>();
  const grid = Array.from({ length: 51 }, (_, i) => i / 50);
  const rng = new Rng(seed).fork('report-roc-band');
  const strata = rowsByClass(p.labels, p.classes);
  const weights = Array.from({ length: resamples }, () => stratifiedResampleWeights(strata, p.labels.length, rng));
  for (const k of positives) {
    const isPos = oneVsRest(p.labels, k);
    if (!isPos.some((v) => v === 1) || isPos.every((v) => v === 1)) continue;
    const scores = column(p.probs, p.classes, k);
    const perGrid = grid.map(() => [] as number[]);
    for (const w of weights) {
      const c = rocCurve(isPos, scores, w, false);
      grid.forEach((x, g) => perGrid[g]!.push(tprAt(c.fpr, c.tpr, x)));
    }
    const q = (g: number[], t: number) => percentileSorted(g.filter(Number.isFinite).sort((a, b) => a - b), t);
    out.set(k, { fpr: grid, lo: perGrid.map((g) => q(g, (1 - level) / 2)), hi: perGrid.map((g) => q(g, (1 + level) / 2)), level, resamples });
  }
  return out;
}

/** Test rows per bin of calibrated top-class probability, correct and wrong apart (`bins` equal bins over [1/K, 1]). */
export function confidenceHistogram(p: TestPredictions, bins = 10): { edges: number[]; correct: number[]; wrong: number[] } {
  const lo = 1 / p.classes;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + ((1 - lo) * i) / bins);
  const correct = new Array<number>(bins).fill(0);
  const wrong = new Array<number>(bins).fill(0);
  for (let i = 0; i < p.labels.length; i++) {
    const conf = p.probs[i * p.classes + p.predicted[i]!]!;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((conf - lo) / (1 - lo)) * bins)));
    (p.predicted[i] === p.labels[i] ? correct : wrong)[b]! += 1;
  }
  return { edges, correct, wrong };
}
