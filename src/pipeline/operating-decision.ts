import {
  chooseThreshold, column, oneVsRest, operatingPointName, parseOperatingPoint, selectSplit, softmax, statsAtThreshold, type OperatingPoint,
} from '../eval/index.js';
import type { MetricsFile, RunDir } from '../run/index.js';
import { MedclassError } from '../errors.js';

/** Sensitivity and specificity of a split at the operating point's threshold (null when the split had no rows of a class). */
export interface OperatingRates { sensitivity: number | null; specificity: number | null }

/**
 * A two-class run's operating point, resolved: the threshold on the calibrated probability of the positive class
 * (the second class, as in the report) chosen on val, with the val and test rates it gives.
 */
export interface ResolvedOperatingPoint {
  /** as given: `sensitivity:0.95`, `specificity:0.9`, `youden` */
  spec: string;
  /** the name in metrics.json's operating_points (`sensitivity_0.95`) */
  criterion: string;
  positiveClass: string;
  negativeClass: string;
  /** predict positive when the calibrated probability of `positiveClass` is ≥ this (+∞: never) */
  threshold: number;
  /** where the threshold came from: the report's table, or chosen now on predictions.csv's val rows the same way */
  source: 'metrics.json' | 'predictions.csv';
  val: OperatingRates;
  test: OperatingRates | null;
}

/** The decision of one image at an operating point. */
export interface OperatingDecision {
  operatingPoint: string;
  /** the class decided: `positiveClass` when its calibrated probability reaches the threshold, else the other class */
  label: string;
  positive: boolean;
  positiveClass: string;
  /** calibrated probability of the positive class (temperature of calibration.json, whatever `calibrate` says) */
  probability: number;
  threshold: number;
}

const rates = (s: { sensitivity: number | null; specificity: number | null }): OperatingRates => ({
  sensitivity: typeof s.sensitivity === 'number' && Number.isFinite(s.sensitivity) ? s.sensitivity : null,
  specificity: typeof s.specificity === 'number' && Number.isFinite(s.specificity) ? s.specificity : null,
});

/**
 * Resolves `spec` for a two-class run: the report's operating point of that name when metrics.json has it (the
 * threshold chosen on val at training), else the same choice (`chooseThreshold` on the val rows' probabilities
 * calibrated by `temperature`) made now on predictions.csv. `MC_EVAL_NO_OPERATING_POINT` for other runs.
 */
export function resolveOperatingPoint(run: RunDir, spec: string, classes: readonly string[], temperature: number | null, metrics: MetricsFile | undefined): ResolvedOperatingPoint {
  const criterion = parseOperatingPoint(spec);
  if (!criterion) throw new MedclassError('MC_CLI_BAD_OPTION', `operating point '${spec}': expected sensitivity:<target>, specificity:<target> (target in (0, 1]) or youden`, { hint: 'e.g. --operating-point sensitivity:0.95' });
  if (classes.length !== 2) {
    throw new MedclassError('MC_EVAL_NO_OPERATING_POINT', `operating point '${spec}': this run has ${classes.length} classes; operating points are for two-class runs`, { hint: 'drop --operating-point (the arg-max label is given)' });
  }
  const name = operatingPointName(criterion);
  const head = { spec, criterion: name, positiveClass: classes[1]!, negativeClass: classes[0]! };
  const ops = (metrics?.test as { operating_points?: Record<string, OperatingPoint[]> | null } | undefined)?.operating_points?.['1'];
  const stored = ops?.find((p) => p.criterion === name);
  if (stored) {
    // JSON has no ∞: a null threshold is the +∞ of "no threshold reaches the target specificity".
    const threshold = stored.threshold === null ? Infinity : stored.threshold;
    return { ...head, threshold, source: 'metrics.json', val: rates(stored.val), test: rates(stored.test) };
  }
  const table = run.predictions();
  const val = selectSplit(table, 'val');
  if (!val || val.labels.length === 0) {
    throw new MedclassError('MC_EVAL_NO_OPERATING_POINT', `operating point '${spec}': predictions.csv has no val rows to choose the threshold on`, { file: 'predictions.csv', hint: 'train with a val split' });
  }
  const probs = (scores: Float64Array) => {
    const p = table.scoreKind === 'logit' ? softmax(scores, 2, temperature ?? 1) : scores;
    return column(p, 2, 1);
  };
  const valPos = oneVsRest(val.labels, 1);
  const threshold = chooseThreshold(valPos, probs(val.scores), criterion);
  if (Number.isNaN(threshold)) {
    throw new MedclassError('MC_EVAL_NO_OPERATING_POINT', `operating point '${spec}': the val rows of predictions.csv hold only one class`, { file: 'predictions.csv' });
  }
  const test = selectSplit(table, 'test');
  return {
    ...head, threshold, source: 'predictions.csv', val: rates(statsAtThreshold(valPos, probs(val.scores), threshold)),
    test: test && test.labels.length ? rates(statsAtThreshold(oneVsRest(test.labels, 1), probs(test.scores), threshold)) : null,
  };
}

/** The decision at `op` for calibrated class probabilities `p` `[2]` of one image. */
export function decideAt(op: ResolvedOperatingPoint, p: ArrayLike<number>): OperatingDecision {
  const probability = p[1]!;
  const positive = probability >= op.threshold;
  return { operatingPoint: op.spec, label: positive ? op.positiveClass : op.negativeClass, positive, positiveClass: op.positiveClass, probability, threshold: op.threshold };
}
