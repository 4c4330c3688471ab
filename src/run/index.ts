// Public surface of the run layer (the run directory: run.json, open/create, the file formats): named re-exports only.
export { DataConfig, ModelConfig, RunConfig, RunSplitOptions, closestKey, configDifferences, describeConfigIssues, splitOptionsOf, splitSeed } from './config.js';
export { RUN_CONFIG_YAML, runConfigYaml } from './config-yaml.js';
export type { RunConfigInput } from './config.js';
export { dataFingerprint, historyCsv, sha256File, sha256Of, sourceName, toJson, writeAtomic } from './files.js';
export { predictionsCsv } from './predictions.js';
export type { RunPredictionRow } from './predictions.js';
export { versions } from './versions.js';
export { RUN_MANIFEST, RUN_MANIFEST_VERSION, RunDataRecord, RunFileRecord, RunManifest, RunOutcome, RunSplits, splitById } from './manifest.js';
export {
  CalibrationFile, MetricParams, MetricsFile, PreprocessFile, calibrationJson, conformalEntries, conformalKey, eceKey, metricParams, metricsJson, runEvalOptions, storedConformal,
} from './artifacts.js';
export type { EvalOverrides, RunPreprocess } from './artifacts.js';
export { INT8_METRICS, INT8_MODEL, RUN_DIR_ENTRIES, RunDir, createRunDir, filesBelow, openRunDir } from './run-dir.js';
export type { CreateRunDirOptions } from './run-dir.js';
export { FIGURES_DIR, listFigures, runFileBytes, svgToPng, writeFigures } from './figures.js';
export type { FigureFile, WrittenFigure } from './figures.js';
export { DerivedRunRecord, UNCERTAINTY_FILE, UncertaintyFile, UncertaintyOutputs, readUncertainty, uncertaintyJson } from './uncertainty.js';
