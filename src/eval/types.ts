/** Events the eval layer reports instead of logging (STYLE.md: library code reports via `onEvent`). */
export type EvalEvent = {
  type: 'warning';
  code: 'MC_EVAL_UNDEFINED_METRIC';
  /** The metric that is undefined, e.g. `roc_auc` or `precision[class 3]`. */
  metric: string;
  message: string;
};

/** Callback receiving eval events; optional everywhere, silent by default. */
export type OnEvalEvent = (event: EvalEvent) => void;

/** Class probabilities of one split: `probs` is row-major [N, classes], each row summing to 1. */
export interface ProbPredictions {
  readonly labels: Int32Array;
  readonly probs: Float64Array;
  readonly classes: number;
}

/** Raw scores of one split: `logits` is row-major [N, classes] (pre-softmax). */
export interface LogitPredictions {
  readonly labels: Int32Array;
  readonly logits: Float64Array;
  readonly classes: number;
}

/** Optional per-row weights, as scikit-learn's `sample_weight`; bootstrap multiplicities use it. */
export type SampleWeight = Float64Array | undefined;

/** A lower/upper pair of a confidence interval (percentile bootstrap). */
export interface Interval {
  readonly low: number;
  readonly high: number;
}

/** How a metric is ranked: STYLE.md asks each metric to declare whether higher is better. */
export interface MetricInfo {
  readonly key: string;
  readonly label: string;
  readonly higherIsBetter: boolean;
}
