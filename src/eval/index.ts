// Public surface of the eval layer: named re-exports only.
export type { EvalEvent, OnEvalEvent, ProbPredictions, LogitPredictions, SampleWeight, Interval, MetricInfo } from './types.js';
export { EvalOptions } from './options.js';
export type { EvalOptionsInput } from './options.js';
export { softmax, argmaxRows, column } from './probabilities.js';
export {
  confusionMatrix, normalizeConfusionRows, classCounts, perClassScores, accuracyFromConfusion, balancedAccuracyFromConfusion,
  averageScores, mccFromConfusion, cohenKappaFromConfusion,
} from './confusion.js';
export type { ClassCounts, PerClassScores } from './confusion.js';
export { descendingOrder, binaryClfCurve, rocCurve, rocAucScore, precisionRecallCurve, averagePrecisionScore, oneVsRest } from './ranking.js';
export type { ClfCurve, RocCurve, PrCurve } from './ranking.js';
export { macroOneVsRest } from './macro-ranking.js';
export { logLoss, brierScore } from './scores.js';
export { calibrationSummary, fitTemperature } from './calibration.js';
export type { ReliabilityBin, CalibrationSummary, TemperatureFit } from './calibration.js';
export { conformalQuantile, conformalScore, trueClassScores, calibrateConformal, predictionSets, evaluateSets, splitConformal } from './conformal.js';
export type { ConformalMethod, ConformalCalibration, ConformalEvaluation } from './conformal.js';
export { percentileSorted, stratifiedResampleWeights, rowsByClass, stratifiedBootstrap } from './bootstrap.js';
export type { BootstrapResult } from './bootstrap.js';
export { HeadlineEvaluator, headlineMetricInfo, PER_CLASS_METRICS } from './headline.js';
export { OPERATING_POINT_PATTERN, statsAtThreshold, chooseThreshold, operatingPoint, operatingPointName, parseOperatingPoint } from './operating-points.js';
export type { OperatingCriterion, ThresholdStats, OperatingPoint } from './operating-points.js';
export { classificationReport } from './classification-report.js';
export { computeSplitMetrics } from './split-metrics.js';
export type { SplitMetrics, PerClassRow } from './split-metrics.js';
export { subgroupClassificationReport, subgroupMetrics, subgroupMetricKeys } from './subgroups.js';
export type { ReportAverage, SubgroupClassificationReport, SubgroupRow } from './subgroups.js';
export { formatPredictionsCsv, parsePredictionsCsv, readPredictionsCsv, selectSplit } from './predictions-csv.js';
export type { PredictionRow, PredictionTable, PredictionSplit } from './predictions-csv.js';
export { evaluatePredictions, evaluateRun, DISCLAIMER } from './evaluate.js';
export type { SplitScores, EvaluationInput, MetricsReport } from './evaluate.js';
export { compareReports, comparisonToCsv, comparisonToMarkdown, DEFAULT_COMPARISON_COLUMNS } from './compare.js';
export type { ComparisonEntry, ComparisonColumn, ComparisonCell, ComparisonTable } from './compare.js';
export { predictionsToCsv, calibrationArtifact } from './run-artifacts.js';
export type { CalibrationArtifact } from './run-artifacts.js';
export { predictiveUncertainty, entropyRows, oneMinusMaxProbability, certaintyOrder, errorDetectionAuroc, selectiveAccuracy, aurc, selectiveMetrics } from './selective.js';
export type { PredictiveUncertainty, SelectiveFigures, SelectiveReport, SelectiveOptions } from './selective.js';
