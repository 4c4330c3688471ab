import { z } from 'zod';
import { PreprocessOptions } from '../data/index.js';
import { DISCLAIMER, EvalOptions, parseOperatingPoint, type ConformalCalibration, type ConformalMethod, type MetricsReport, type SplitMetrics } from '../eval/index.js';
import type { RunConfig } from './config.js';
import { toJson } from './files.js';
import { UncertaintyOutputs } from './uncertainty.js';

/** `preprocess.json`: how images become the model's input, the class names, and the graph's input/output names. */
export const PreprocessFile = PreprocessOptions.extend({
  classes: z.array(z.string()).min(2),
  input: z.string(),
  output: z.string(),
  inputDims: z.array(z.number().int()),
  disclaimer: z.string().optional(),
  /** Fusion runs: the tabular input's name (`tab`), its width F and the metadata columns it encodes (`tabular.json`). */
  tabularInput: z.string().optional(),
  tabularFeatures: z.number().int().optional(),
  tabularColumns: z.array(z.string()).optional(),
  /** Ensembles and MC-dropout runs: model.onnx's entropy, mutual-information and per-sample outputs. */
  uncertainty: UncertaintyOutputs.optional(),
});
export type RunPreprocess = z.output<typeof PreprocessFile>;

/** The parameters an evaluation was computed with, kept as data beside the metrics (metrics.json `params`). */
export const MetricParams = z.strictObject({
  alpha: z.number(), bootstrap: z.number().int(), ciLevel: z.number(), bins: z.number().int(),
  targetSensitivity: z.number(), targetSpecificity: z.number(), mondrian: z.boolean(), subgroups: z.array(z.string()), minGroupSize: z.number().int(),
});
export type MetricParams = z.output<typeof MetricParams>;

/** `metrics.json`: test metrics (keys of the scikit-learn references), val beside, and what they were computed on and with. */
export const MetricsFile = z.object({
  disclaimer: z.string(),
  classes: z.array(z.string()),
  evaluated_on: z.string(),
  seed: z.number().int(),
  params: MetricParams,
  test: z.record(z.string(), z.unknown()),
  val: z.record(z.string(), z.unknown()).nullable(),
});
/** A parsed metrics.json; `test` and `val` as written (JSON null where a metric was NaN). */
export type MetricsFile = Omit<z.output<typeof MetricsFile>, 'test' | 'val'> & { test: Omit<MetricsReport, 'val'>; val: SplitMetrics | null };

/** `calibration.json`: the temperature fitted on val (null without val rows) and the calibration summary. */
export const CalibrationFile = z.looseObject({ temperature: z.number().nullable() });
export type CalibrationFile = z.output<typeof CalibrationFile>;

/** What a re-evaluation may override over the run's own `eval` settings. */
export interface EvalOverrides { bootstrap?: number; alpha?: number; subgroups?: readonly string[] }

/**
 * The eval options of a run: its `eval` config (target sensitivity included; `operatingPoint`'s target replaces the
 * target of its kind, so the report's table holds the chosen point) under `overrides`, with the class names.
 */
export function runEvalOptions(evalCfg: RunConfig['eval'], classes: readonly string[], overrides: EvalOverrides = {}): EvalOptions {
  const point = evalCfg.operatingPoint ? parseOperatingPoint(evalCfg.operatingPoint) : undefined;
  return EvalOptions.parse({
    bootstrap: overrides.bootstrap ?? evalCfg.bootstrap, alpha: overrides.alpha ?? evalCfg.alpha,
    targetSensitivity: point?.kind === 'sensitivity' ? point.target : evalCfg.targetSensitivity,
    ...(point?.kind === 'specificity' ? { targetSpecificity: point.target } : {}),
    subgroups: overrides.subgroups?.length ? [...overrides.subgroups] : evalCfg.subgroups, classNames: [...classes],
  });
}

/** The `params` record of eval options (fixed key order, so equal options give equal bytes). */
export function metricParams(o: EvalOptions): MetricParams {
  return {
    alpha: o.alpha, bootstrap: o.bootstrap, ciLevel: o.ciLevel, bins: o.bins, targetSensitivity: o.targetSensitivity,
    targetSpecificity: o.targetSpecificity, mondrian: o.mondrian, subgroups: [...o.subgroups], minGroupSize: o.minGroupSize,
  };
}

/** The text of metrics.json for an evaluation report: what training and `eval --run` both write. */
export function metricsJson(report: MetricsReport, m: { classes: readonly string[]; evaluatedOn: string; seed: number; params: MetricParams }): string {
  const { val, ...test } = report;
  return toJson({ disclaimer: DISCLAIMER, classes: [...m.classes], evaluated_on: m.evaluatedOn, seed: m.seed, params: m.params, test, val });
}

/** The text of calibration.json for an evaluation report. */
export function calibrationJson(report: MetricsReport): string {
  return toJson({ temperature: report.temperature, ...(report.calibration ?? {}) });
}

/** The metrics.json key of a conformal evaluation, built from its parameters (never parsed back). */
export function conformalKey(params: Pick<MetricParams, 'alpha'>, method: ConformalMethod, mondrian = false): string {
  return `conformal_${method}${mondrian ? '_mondrian' : ''}_alpha_${params.alpha}`;
}

/** Every conformal evaluation of a metrics report, with its parameters: `{key, method, mondrian, alpha}`. */
export function conformalEntries(params: MetricParams): { key: string; method: ConformalMethod; mondrian: boolean; alpha: number }[] {
  const kinds: [ConformalMethod, boolean][] = [['lac', false], ['aps', false], ...(params.mondrian ? ([['lac', true], ['aps', true]] as [ConformalMethod, boolean][]) : [])];
  return kinds.map(([method, mondrian]) => ({ key: conformalKey(params, method, mondrian), method, mondrian, alpha: params.alpha }));
}

/** The metrics.json key of the expected calibration error, `ece_<bins>`. */
export function eceKey(params: Pick<MetricParams, 'bins'>): string {
  return `ece_${params.bins}`;
}

/** The marginal conformal calibration stored in metrics.json for `method`, if any (q̂ null: +∞ when n was too small for α). */
export function storedConformal(metrics: MetricsFile | undefined, method: ConformalMethod, classes: number): ConformalCalibration | undefined {
  if (!metrics) return undefined;
  const { alpha } = metrics.params;
  const entry = (metrics.test as unknown as Record<string, { n_calibration: number; qhat: number | null } | undefined>)[conformalKey(metrics.params, method)];
  if (!entry) return undefined;
  const n = Number(entry.n_calibration);
  let q = entry.qhat;
  if (q === null) {
    // JSON has no ∞ or NaN: null is ∞ when there were too few calibration rows for α, else an undefined q̂ (no sets).
    if (!(n === 0 || Math.ceil((n + 1) * (1 - alpha)) / n > 1)) return undefined;
    q = Infinity;
  }
  return { method, alpha, mondrian: false, qhat: new Float64Array(classes).fill(q), n: [n] };
}
