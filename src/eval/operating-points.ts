import { binaryClfCurve } from './ranking.js';

/** What chooses the threshold on validation. */
export type OperatingCriterion = { kind: 'sensitivity'; target: number } | { kind: 'specificity'; target: number } | { kind: 'youden' };

/** Confusion counts and rates at one threshold (predict positive when score ≥ threshold). */
export interface ThresholdStats {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  sensitivity: number;
  specificity: number;
  ppv: number;
  npv: number;
}

/** Counts and rates of `score ≥ threshold` against the truth; a 0/0 rate is NaN. */
export function statsAtThreshold(isPositive: Uint8Array, scores: Float64Array, threshold: number): ThresholdStats {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (isPositive[i]) predicted ? tp++ : fn++;
    else predicted ? fp++ : tn++;
  }
  const r = (a: number, b: number) => (a + b > 0 ? a / (a + b) : NaN);
  return { threshold, tp, fp, tn, fn, sensitivity: r(tp, fn), specificity: r(tn, fp), ppv: r(tp, fp), npv: r(tn, fn) };
}

/**
 * The threshold chosen on validation scores: for a target sensitivity the highest threshold whose
 * sensitivity reaches it; for a target specificity the lowest threshold whose specificity reaches it
 * (+∞ when none does); for Youden's J the threshold maximising sensitivity + specificity − 1
 * (Youden 1950; the highest such threshold on ties). Needs both classes in the validation rows.
 */
export function chooseThreshold(isPositive: Uint8Array, scores: Float64Array, criterion: OperatingCriterion): number {
  const c = binaryClfCurve(isPositive, scores);
  const m = c.fps.length;
  const P = c.tps[m - 1] ?? 0;
  const N = c.fps[m - 1] ?? 0;
  if (!(P > 0) || !(N > 0)) return NaN;
  if (criterion.kind === 'sensitivity') {
    for (let i = 0; i < m; i++) if (c.tps[i]! / P >= criterion.target) return c.thresholds[i]!;
    return c.thresholds[m - 1]!;
  }
  if (criterion.kind === 'specificity') {
    let best = Infinity;
    for (let i = 0; i < m; i++) if (1 - c.fps[i]! / N >= criterion.target) best = c.thresholds[i]!;
    return best;
  }
  let best = Infinity;
  let bestJ = 0;
  for (let i = 0; i < m; i++) {
    const j = c.tps[i]! / P - c.fps[i]! / N;
    if (j > bestJ) {
      bestJ = j;
      best = c.thresholds[i]!;
    }
  }
  return best;
}

/** An operating point: chosen on validation, reported on validation and on test. */
export interface OperatingPoint {
  criterion: string;
  threshold: number;
  val: ThresholdStats;
  test: ThresholdStats;
}

/**
 * Chooses a threshold on validation by `criterion` and applies it, unchanged, to test, so the test
 * figures are an honest estimate of the deployed operating point.
 */
export function operatingPoint(val: { isPositive: Uint8Array; scores: Float64Array }, test: { isPositive: Uint8Array; scores: Float64Array }, criterion: OperatingCriterion): OperatingPoint {
  const threshold = chooseThreshold(val.isPositive, val.scores, criterion);
  const name = operatingPointName(criterion);
  return { criterion: name, threshold, val: statsAtThreshold(val.isPositive, val.scores, threshold), test: statsAtThreshold(test.isPositive, test.scores, threshold) };
}

/** The config/CLI spelling of an operating point: `sensitivity:0.95`, `specificity:0.9` or `youden`. */
export const OPERATING_POINT_PATTERN = /^(?:(sensitivity|specificity):(0(?:\.\d+)?|1(?:\.0+)?|\.\d+)|youden)$/;

/** Parses `sensitivity:0.95` / `specificity:0.9` / `youden` into a criterion; undefined when the text is none of them (or a target is 0). */
export function parseOperatingPoint(spec: string): OperatingCriterion | undefined {
  const m = OPERATING_POINT_PATTERN.exec(spec.trim());
  if (!m) return undefined;
  if (!m[1]) return { kind: 'youden' };
  const target = Number(m[2]);
  return target > 0 && target <= 1 ? { kind: m[1] as 'sensitivity' | 'specificity', target } : undefined;
}

/** The `criterion` name an operating point carries in metrics.json (`sensitivity_0.95`, `specificity_0.9`, `youden_j`). */
export function operatingPointName(c: OperatingCriterion): string {
  return c.kind === 'youden' ? 'youden_j' : `${c.kind}_${c.target}`;
}
