import { basename } from 'node:path';
import { z } from 'zod';
import { Rng } from '../engine/index.js';
import { resolveClassWeights } from '../train/index.js';
import { DISCLAIMER, evaluateRun, type MetricsReport, type PredictionTable } from '../eval/index.js';
import { MedclassError } from '../errors.js';
import {
  RunConfig, calibrationJson, createRunDir, metricParams, metricsJson, openRunDir, predictionsCsv, runEvalOptions, sourceName, toJson, type RunDir,
} from '../run/index.js';
import { combineLogits, fitStacking, fitWeightedAverage, type LateCombiner } from './late-fusion-fit.js';
import { lateFusionGraph } from './late-fusion-graph.js';

/** Options of `runLateFusion` (`medclass fusion late`). */
export const LateFusionOptions = z.strictObject({
  method: z.enum(['weighted', 'stacking']).default('weighted')
    .describe("'weighted': w·image + (1 − w)·tabular logits, w on a grid in [0, 1] by val NLL; 'stacking': multinomial logistic regression on both logit vectors, fitted on val"),
  steps: z.number().int().min(1).default(50).describe('weighted: grid steps of the image weight in [0, 1]'),
  l2: z.number().min(0).default(0.01).describe('stacking: L2 penalty (l2/2)·‖W‖² on the mean val NLL'),
  classWeights: z.enum(['image-run', 'auto', 'none']).default('image-run')
    .describe("class weights of the val NLL the combiner minimises: 'auto' = N/(K·n_c) on val, 'none', or 'image-run' = as the image run's fit.classWeights (so the arg-max keeps the members' class balance)"),
  force: z.boolean().default(false).describe('replace an existing run in the output directory'),
});
export type LateFusionOptionsInput = z.input<typeof LateFusionOptions>;

/** What `runLateFusion` wrote and fitted. */
export interface LateFusionSummary {
  runDir: string;
  combiner: LateCombiner;
  metrics: MetricsReport;
  members: { image: string; tabular: string };
}

/** The val or test rows of a predictions table, keyed by id, with the split's label and logits. */
function rowsOf(t: PredictionTable, split: 'val' | 'test', file: string): { ids: string[]; labels: number[]; logits: Float64Array; meta: Record<string, string[]> } {
  if (t.scoreKind !== 'logit') throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${file}: predictions.csv holds probabilities; late fusion combines logits`, { file: 'predictions.csv' });
  const ids = t.meta.id;
  if (!ids) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${file}: predictions.csv has no id column`, { file: 'predictions.csv' });
  const idx = t.split.flatMap((s, i) => (s === split ? [i] : []));
  const k = t.classes;
  const logits = new Float64Array(idx.length * k);
  idx.forEach((i, j) => logits.set(t.scores.subarray(i * k, (i + 1) * k), j * k));
  const meta = Object.fromEntries(Object.entries(t.meta).filter(([c]) => c !== 'id').map(([c, v]) => [c, idx.map((i) => v[i]!)]));
  return { ids: idx.map((i) => ids[i]!), labels: idx.map((i) => t.labels[i]!), logits, meta };
}

/** The tabular run's rows in the image run's row order; every id must be in both, with the same label. */
function aligned(img: ReturnType<typeof rowsOf>, tab: ReturnType<typeof rowsOf>, k: number, split: string): Float64Array {
  const at = new Map(tab.ids.map((id, i) => [id, i]));
  if (tab.ids.length !== img.ids.length) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `late fusion: ${split} has ${img.ids.length} rows in the image run and ${tab.ids.length} in the tabular run`, { hint: 'train both runs on the same data, split and seed' });
  const out = new Float64Array(img.logits.length);
  img.ids.forEach((id, j) => {
    const i = at.get(id);
    if (i === undefined || tab.labels[i] !== img.labels[j]) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `late fusion: ${split} item ${sourceName(id)} is ${i === undefined ? 'missing from the tabular run' : 'labelled differently in the two runs'}`, { hint: 'train both runs on the same data, split and seed' });
    out.set(tab.logits.subarray(i * k, (i + 1) * k), j * k);
  });
  return out;
}

function member(dir: string): { run: RunDir; table: PredictionTable } {
  const run = openRunDir(dir);
  if (run.manifest.status !== 'done') throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${dir}: the run is ${run.manifest.status}, not done`, { file: 'run.json' });
  return { run, table: run.predictions() };
}

/**
 * Prediction-level late fusion of two runs trained separately on the same split: an image-only run and a tabular
 * run (`arch: tabular-mlp`). Fits the combiner on the val logits only (weighted logit average or stacking), applies
 * it to val and test, and writes a run directory through the run layer like a trained one: `model.onnx` (both
 * networks and the combiner in one graph; inputs `x` and `tab`), `preprocess.json`, `tabular.json`,
 * `predictions.csv`, `metrics.json` (with temperature scaling, conformal sets and CIs as for any run),
 * `calibration.json`, `late-fusion.json` and run.json (the image run's config with the tabular columns, its splits
 * and fingerprint). The two runs must share the data fingerprint (ids, labels, splits).
 */
export async function runLateFusion(imageDir: string, tabularDir: string, outDir: string, options: LateFusionOptionsInput = {}): Promise<LateFusionSummary> {
  const t0 = performance.now();
  const o = LateFusionOptions.parse(options);
  const img = member(imageDir);
  const tab = member(tabularDir);
  const im = img.run.manifest;
  const tm = tab.run.manifest;
  if (!im.data || !tm.data || im.data.fingerprint !== tm.data.fingerprint) {
    throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `late fusion: ${basename(imageDir)} and ${basename(tabularDir)} were trained on different data or splits (fingerprints differ)`, { file: 'run.json', hint: 'train both on the same data.source, data.split and seed' });
  }
  const classes = im.classes ?? [];
  if (classes.join(',') !== (tm.classes ?? []).join(',')) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `late fusion: classes differ (${classes.join(',')} vs ${(tm.classes ?? []).join(',')})`);
  const k = classes.length;
  const iPre = img.run.preprocess();
  const tPre = tab.run.preprocess();
  const encoder = tab.run.tabular(tPre);
  if (!encoder || !tPre.tabularInput) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `late fusion: ${basename(tabularDir)} has no tabular input (tabular.json)`, { hint: 'pass a run trained with arch: tabular-mlp and data.tabular' });
  if (iPre.tabularInput) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `late fusion: ${basename(imageDir)} takes tabular input already (an early-fusion run); pass an image-only run`);

  const split = (s: 'val' | 'test') => {
    const a = rowsOf(img.table, s, imageDir);
    const b = aligned(a, rowsOf(tab.table, s, tabularDir), k, s);
    return { ...a, b };
  };
  const val = split('val');
  const test = split('test');
  const yVal = Int32Array.from(val.labels);
  // the combiner's val-NLL class weights, resolved over the val labels as training resolves them over train
  const cw = resolveClassWeights(o.classWeights === 'image-run' ? im.config.fit.classWeights : o.classWeights, yVal, k, 'late fusion: the image run\'s fit.classWeights');
  const combiner = o.method === 'weighted' ? fitWeightedAverage(val.logits, val.b, yVal, k, o.steps, cw) : fitStacking(val.logits, val.b, yVal, k, o.l2, 3000, cw);
  // float32, as model.onnx computes them (predictions.csv holds what the shipped model gives)
  const fused = (s: typeof val) => Float32Array.from(combineLogits(combiner, s.logits, s.b, k));
  const zVal = fused(val);
  const zTest = fused(test);

  const base = im.config;
  const cfg = RunConfig.parse({ ...base, name: basename(outDir.replace(/[\\/]+$/, '')), data: { ...base.data, tabular: tab.run.config.data.tabular } });
  const { run } = createRunDir(outDir, cfg, { force: o.force });
  run.update({ classes, data: im.data, ...(im.splits ? { splits: im.splits } : {}) });
  const eo = runEvalOptions(cfg.eval, classes);
  const groups = Object.keys(val.meta);
  const metrics = evaluateRun(
    { labels: yVal, scores: Float64Array.from(zVal), meta: val.meta },
    { labels: Int32Array.from(test.labels), scores: Float64Array.from(zTest), meta: test.meta },
    k, eo, new Rng(cfg.seed).fork('eval'),
  );
  const io = { input: iPre.input, tabularInput: tPre.tabularInput, output: iPre.output };
  run.writeFile('model.onnx', lateFusionGraph(img.run.modelBytes(), tab.run.modelBytes(), combiner, k, io));
  run.writeFile('preprocess.json', toJson({ ...iPre, tabularInput: tPre.tabularInput, tabularFeatures: tPre.tabularFeatures, tabularColumns: tPre.tabularColumns }));
  run.writeFile('tabular.json', toJson(encoder));
  run.writeFile('metrics.json', metricsJson(metrics, { classes, evaluatedOn: sourceName(cfg.data.source), seed: cfg.seed, params: metricParams(eo) }));
  run.writeFile('calibration.json', calibrationJson(metrics));
  const rows = (s: typeof val, z: Float32Array, name: 'val' | 'test') => s.ids.map((id, i) => ({
    split: name, id, label: s.labels[i]!, logits: z.subarray(i * k, (i + 1) * k), meta: Object.fromEntries(groups.map((c) => [c, s.meta[c]![i]!])),
  }));
  run.writeFile('predictions.csv', predictionsCsv([...rows(val, zVal, 'val'), ...rows(test, zTest, 'test')], k, groups));
  const members = { image: basename(imageDir), tabular: basename(tabularDir) };
  run.writeFile('late-fusion.json', toJson({
    disclaimer: DISCLAIMER, format: 'medclass-late-fusion-1', fitted_on: 'val', combiner, class_weights: cw ?? null,
    members: { image: { run: members.image, model_sha256: img.run.modelSha256() }, tabular: { run: members.tabular, model_sha256: tab.run.modelSha256() } },
  }));
  run.update({ status: 'done', outcome: { stopped: 'done', wallSeconds: (performance.now() - t0) / 1000 } });
  return { runDir: outDir, combiner, metrics, members };
}
