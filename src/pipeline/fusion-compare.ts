import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Rng } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import { writeReport } from '../report/index.js';
import { RunConfig, configDifferences, openRunDir, toJson, writeAtomic, type RunConfigInput } from '../run/index.js';
import { compareFusionModels, fusionComparisonCsv, fusionComparisonMarkdown, type CompareModel, type FusionComparison } from './fusion-compare-stats.js';
import { runLateFusion } from './late-fusion.js';
import { runTraining, type RunEvent } from './run.js';
import { shapTabularRun, type TabularShap } from './tabular-attribution.js';

/** Options of `runFusionCompare` (`medclass fusion compare`); the recipe of the image models comes from the config. */
export const FusionCompareOptions = z.strictObject({
  out: z.string().optional().describe('folder of the runs and tables (default <out>/<name>-compare)'),
  bootstrap: z.number().int().min(1).default(1000).describe('paired bootstrap resamples of the test rows'),
  level: z.number().gt(0).lt(1).default(0.95).describe('confidence level of the intervals'),
  tabularEpochs: z.number().int().positive().default(30).describe('epochs of the tabular-only MLP'),
  tabularLr: z.number().positive().default(0.01).describe('peak learning rate of the tabular-only MLP'),
  stackingL2: z.number().min(0).default(0.01).describe('L2 penalty of the stacking combiner'),
  shapRows: z.number().int().min(1).default(300).describe('test rows explained by exact SHAP in runs that read the image (tabular-only: all)'),
  force: z.boolean().default(false).describe('replace runs already in the folder'),
  reuse: z.boolean().default(false).describe('keep a finished run already in the folder whose config is the one it would get (the late-fusion runs are always refitted)'),
});
export type FusionCompareOptionsInput = z.input<typeof FusionCompareOptions>;

/** What `runFusionCompare` produced: the comparison, the run directories, the table files and SHAP checks. */
export interface FusionCompareSummary {
  dir: string;
  runs: Record<'image' | 'tabular' | 'early' | 'lateWeighted' | 'lateStacking', string>;
  comparison: FusionComparison;
  files: string[];
  /** per run with tabular input: columns, global mean |SHAP| and the worst efficiency error */
  shap: Record<string, Pick<TabularShap, 'players' | 'global' | 'maxEfficiencyError' | 'n'>>;
  imageWeight: number;
  wallSeconds: number;
}

/** The test rows of a run in the image run's id order: labels and logits `[N, K]`. */
function testLogits(dir: string, order?: readonly string[]): { ids: string[]; labels: Int32Array; logits: Float64Array; valLabels: Int32Array } {
  const t = openRunDir(dir).predictions();
  const k = t.classes;
  const ids = t.meta.id ?? [];
  const rows = t.split.flatMap((s, i) => (s === 'test' ? [i] : []));
  const at = new Map(rows.map((i) => [ids[i]!, i]));
  const want = order ?? rows.map((i) => ids[i]!);
  const logits = new Float64Array(want.length * k);
  const labels = new Int32Array(want.length);
  want.forEach((id, j) => {
    const i = at.get(id);
    if (i === undefined) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${dir}: test item ${j} of the image run is missing from its predictions.csv`, { file: 'predictions.csv' });
    logits.set(t.scores.subarray(i * k, (i + 1) * k), j * k);
    labels[j] = t.labels[i]!;
  });
  const valLabels = Int32Array.from(t.split.flatMap((s, i) => (s === 'val' ? [t.labels[i]!] : [])));
  return { ids: [...want], labels, logits, valLabels };
}

/**
 * Trains and compares, on ONE split (the config's data, split and seed), the models of an image + tabular task:
 * ZeroR (val class frequencies), tabular-only (`arch: tabular-mlp`), image-only (the config without `data.tabular`),
 * early fusion (the config itself: the encoded row concatenated to the embedding) and late fusion of the image-only
 * and tabular-only runs (weighted logit average and stacking, fitted on val). Writes `comparison.csv`,
 * `auc-differences.csv`, `comparison.md` and `comparison.json` (test balanced accuracy and macro AUC with paired
 * stratified-bootstrap CIs, paired AUC differences), exact SHAP values (`shap.json`) and `report.html` per run.
 */
export async function runFusionCompare(input: RunConfigInput, options: FusionCompareOptionsInput = {}, onEvent?: (e: RunEvent) => void): Promise<FusionCompareSummary> {
  const t0 = performance.now();
  const o = FusionCompareOptions.parse(options);
  const cfg = RunConfig.parse(input);
  const spec = cfg.data.tabular;
  if (!spec || spec.numeric.length + spec.categorical.length === 0) {
    throw new MedclassError('MC_TRAIN_BAD_CONFIG', 'fusion compare needs data.tabular (the metadata columns of the tabular and fusion models)', { hint: 'start from examples/ham10000-fusion.yaml' });
  }
  if (cfg.model.arch === 'tabular-mlp') throw new MedclassError('MC_TRAIN_BAD_CONFIG', "fusion compare: the config's model is the image network of the image-only and fusion runs, not tabular-mlp");
  const dir = o.out ?? join(cfg.out, `${cfg.name}-compare`);
  mkdirSync(dir, { recursive: true });
  const runs = {
    image: join(dir, 'image'), tabular: join(dir, 'tabular'), early: join(dir, 'early-fusion'),
    lateWeighted: join(dir, 'late-fusion-weighted'), lateStacking: join(dir, 'late-fusion-stacking'),
  };
  const { tabular: _t, ...imageData } = cfg.data;
  const base = { ...cfg, out: dir };
  const train = async (c: RunConfigInput, runDir: string, label: string): Promise<void> => {
    if (o.reuse && existsSync(join(runDir, 'run.json'))) {
      const prev = openRunDir(runDir).manifest;
      if (prev.status === 'done' && configDifferences(prev.config, RunConfig.parse(c)).length === 0) {
        onEvent?.({ type: 'stage', stage: 'fusion compare', detail: `${label}: reusing the finished run in ${runDir}` });
        return;
      }
    }
    onEvent?.({ type: 'stage', stage: 'fusion compare', detail: label });
    await runTraining(c, { runDir, force: o.force || o.reuse, ...(onEvent ? { onEvent } : {}) });
  };
  await train({ ...base, name: 'tabular', model: { ...cfg.model, arch: 'tabular-mlp', width: 1, dropout: 0.1 },
    fit: { ...cfg.fit, epochs: o.tabularEpochs, lr: o.tabularLr, augment: {}, tta: false, mixup: 0, phases: undefined } }, runs.tabular, 'tabular-only (tabular-mlp)');
  await train({ ...base, name: 'image', data: imageData }, runs.image, 'image only');
  await train({ ...base, name: 'early-fusion' }, runs.early, 'early fusion (concatenation before the head)');
  onEvent?.({ type: 'stage', stage: 'fusion compare', detail: 'late fusion (weighted, stacking; fitted on val)' });
  const weighted = await runLateFusion(runs.image, runs.tabular, runs.lateWeighted, { method: 'weighted', force: o.force || o.reuse });
  await runLateFusion(runs.image, runs.tabular, runs.lateStacking, { method: 'stacking', l2: o.stackingL2, force: o.force || o.reuse });

  const img = testLogits(runs.image);
  const k = img.logits.length / img.labels.length;
  const freq = new Float64Array(k).fill(0.5); // add-½ so no class has log 0
  img.valLabels.forEach((y) => { freq[y]! += 1; });
  const total = freq.reduce((a, b) => a + b, 0);
  const zeroR = Float64Array.from({ length: img.labels.length * k }, (_, t) => Math.log(freq[t % k]! / total));
  const models: CompareModel[] = [
    { name: 'ZeroR', logits: zeroR },
    { name: 'tabular-only', logits: testLogits(runs.tabular, img.ids).logits },
    { name: 'image-only', logits: img.logits },
    { name: 'early fusion', logits: testLogits(runs.early, img.ids).logits },
    { name: 'late fusion (weighted)', logits: testLogits(runs.lateWeighted, img.ids).logits },
    { name: 'late fusion (stacking)', logits: testLogits(runs.lateStacking, img.ids).logits },
  ];
  const pairs: [string, string][] = [
    ['tabular-only', 'ZeroR'], ['image-only', 'tabular-only'], ['early fusion', 'image-only'], ['late fusion (weighted)', 'image-only'],
    ['late fusion (stacking)', 'image-only'], ['late fusion (weighted)', 'early fusion'], ['late fusion (stacking)', 'early fusion'],
  ];
  onEvent?.({ type: 'stage', stage: 'fusion compare', detail: `paired bootstrap (${o.bootstrap} resamples)` });
  const comparison = compareFusionModels(models, img.labels, k, pairs, { bootstrap: o.bootstrap, level: o.level }, new Rng(cfg.seed).fork('fusion-compare'));
  const csv = fusionComparisonCsv(comparison);
  const files = ['comparison.csv', 'auc-differences.csv', 'comparison.md', 'comparison.json'];
  writeAtomic(join(dir, files[0]!), csv.models);
  writeAtomic(join(dir, files[1]!), csv.differences);
  writeAtomic(join(dir, files[2]!), `# Fusion comparison: ${cfg.name}\n\nSame data, split and seed (${cfg.seed}) for every model. Research software, not a diagnostic device.\n\n${fusionComparisonMarkdown(comparison)}`);
  writeAtomic(join(dir, files[3]!), toJson({ config: cfg.name, seed: cfg.seed, runs, ...comparison, late_fusion_image_weight: weighted.combiner.method === 'weighted' ? weighted.combiner.imageWeight : null }));

  const shap: FusionCompareSummary['shap'] = {};
  const generatedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (const [name, runDir] of Object.entries(runs)) {
    let s: TabularShap | undefined;
    if (name !== 'image') {
      onEvent?.({ type: 'stage', stage: 'fusion compare', detail: `exact SHAP: ${name}` });
      s = await shapTabularRun(runDir, { maxRows: o.shapRows, threads: cfg.threads });
      shap[name] = { players: s.players, global: s.global, maxEfficiencyError: s.maxEfficiencyError, n: s.n };
    }
    // the section's input goes under `extras.shap` (the report's hook for sections of other modules)
    writeReport(runDir, { generatedAt, ...(s ? { extras: { shap: s } } : {}) });
  }
  const imageWeight = weighted.combiner.method === 'weighted' ? weighted.combiner.imageWeight : NaN;
  return { dir, runs, comparison, files, shap, imageWeight, wallSeconds: (performance.now() - t0) / 1000 };
}
