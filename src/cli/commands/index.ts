import type { Command } from 'commander';
import { registerData } from './data.js';
import { registerDemo } from './demo.js';
import { registerEngine } from './engine.js';
import { registerMetrics } from './metrics.js';
import { registerTrain } from './train.js';
import { registerKFold } from './kfold.js';
import { registerPredict } from './predict.js';
import { registerEval } from './eval.js';
import { registerReport } from './report.js';
import { registerBench } from './bench.js';
import { registerExplain } from './explain.js';
import { registerIndex } from './index-run.js';
import { registerSimilar } from './similar.js';
import { registerServe } from './serve.js';
import { registerExport } from './export.js';
import { registerConfig } from './config.js';
import { registerDicom } from './dicom.js';
import { registerDicomWeb } from './dicomweb.js';
import { registerWorker } from './worker.js';
import { registerBatch } from './batch.js';
import { registerSweep } from './sweep.js';
import { registerFusion } from './fusion.js';
import { registerEnsemble } from './ensemble.js';

/** One line per command in `medclass --help`; each command's own `--help` has the long description. */
const SUMMARIES: Record<string, string> = {
  demo: 'run the whole pipeline on built-in lesion phantoms (no data needed)',
  data: 'audit a dataset, make seeded splits, fetch MedMNIST',
  config: 'check a run config (defaults filled in) or print the field reference',
  train: 'train from a YAML config, or from SOURCE alone within --budget',
  kfold: 'k-fold cross-validation on train+val (mean ± sd)',
  eval: 're-evaluate a run: metrics with CIs, calibration, conformal sets',
  metrics: 'evaluate a predictions CSV (metrics, CIs, calibration, conformal)',
  predict: 'classify images with a trained run (calibrated probabilities)',
  explain: 'Grad-CAM heat maps over images for a trained run',
  index: 'similar-case index of a run: k-NN head metrics, UMAP map',
  similar: 'the most similar training cases of images (needs index)',
  serve: 'REST API and web app for one run (predict, Grad-CAM, similar)',
  export: 'export a run: a zip bundle, an int8 model or a Triton repository',
  report: 'write report.html, model-card.md and figures/ for a run',
  engine: 'training-engine tools: check gradients against PyTorch fixtures',
  bench: 'time a training step or inference (img/s)',
  dicom: 'DICOM tools: de-identify files (PS3.15 Annex E Basic Profile)',
  dicomweb: 'classify instances on a PACS (DICOMweb) and store results back as DICOM SR',
  batch: 'predict many inputs into one CSV, in-process or on queue workers',
  worker: 'take batch jobs from a Redis queue (BullMQ) until stopped',
  sweep: 'k-fold × seeds × grid of a config, as jobs on queue workers',
  ensemble: 'deep ensemble of runs as one run directory (entropy, mutual information)',
  'mc-dropout': 'MC-dropout of a run as one run directory (T seeded passes)',
};

/** Adds every sub-command to the program; each command module exports one `register*` function. */
export function registerCommands(program: Command): void {
  registerDemo(program);
  registerEngine(program);
  registerData(program);
  registerMetrics(program);
  registerConfig(program);
  registerTrain(program);
  registerKFold(program);
  registerPredict(program);
  registerEval(program);
  registerReport(program);
  registerBench(program);
  registerExplain(program);
  registerIndex(program);
  registerSimilar(program);
  registerServe(program);
  registerExport(program);
  registerFusion(program);
  registerEnsemble(program);
  registerDicom(program);
  registerDicomWeb(program);
  registerBatch(program);
  registerWorker(program);
  registerSweep(program);
  for (const c of program.commands) {
    const line = SUMMARIES[c.name()];
    if (line) c.summary(line);
  }
  program.configureHelp({ helpWidth: 110 });
}
