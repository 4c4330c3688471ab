// Public surface of the pipeline layer (whole jobs: train → evaluate → run directory): named re-exports only.
export { DataConfig, ModelConfig, RunConfig } from './config.js';
export type { RunConfigInput } from './config.js';
export { monitorFor } from './monitors.js';
export { runTraining, readSummary } from './run.js';
export type { RunEvent, RunOptions, RunSummary } from './run.js';
export { dataFingerprint, historyCsv, predictionsCsv, toJson, writeAtomic } from './run-files.js';
export { versions } from './versions.js';
export { runKFold } from './kfold.js';
export type { KFoldSummary } from './kfold.js';
export { PredictOptions, RunModel, predictImages, predictWith } from './predict.js';
export type { ImageInput, ImagePrediction, PredictOptionsInput, RunPreprocess } from './predict.js';
export { EvaluateRunOptions, evaluateRunDir } from './evaluate-run.js';
export type { EvaluateRunEvent, EvaluateRunOptionsInput, RunEvaluation } from './evaluate-run.js';
export { ExplainOptions, explainImages, explainTensors, openExplainer, targetIndex } from './explain.js';
export type { ExplainOptionsInput, ImageExplanation, RunExplainer, TensorExplanation } from './explain.js';
export { gradCamExamples } from './explain-examples.js';
export type { GradCamExamplesOptions } from './explain-examples.js';
