import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { FusionCompareOptions, LateFusionOptions, runFusionCompare, runLateFusion } from '../../pipeline/index.js';
import { checkJsonTarget, out } from '../output.js';
import { runRenderer } from '../progress.js';
import { loadRunConfig } from './train.js';

const num = (v: string | undefined, name: string, int = true): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n))) throw new MedclassError('MC_CLI_BAD_OPTION', `--${name}: expected ${int ? 'an integer' : 'a number'}, got '${v}'`);
  return n;
};

/** `medclass fusion compare|late`: image + tabular model comparison on one split, and prediction-level late fusion. */
export function registerFusion(program: Command): void {
  const d = FusionCompareOptions.parse({});
  const dl = LateFusionOptions.parse({});
  const fusion = program.command('fusion').summary('image + tabular: ZeroR vs tabular vs image vs early vs late fusion').description('image + tabular models: compare ZeroR, tabular-only, image-only, early and late fusion on one split; late-fuse two runs. Research software, not a diagnostic device');
  fusion
    .command('compare')
    .description('train tabular-only (tabular-mlp), image-only and early-fusion runs from one config (its data, split and seed), late-fuse the image and tabular runs (weighted average and stacking, fitted on val), and write comparison.csv / comparison.md / auc-differences.csv: test balanced accuracy and macro AUC with bootstrap CIs beside ZeroR, paired bootstrap of the AUC differences; exact SHAP values and report.html per run')
    .requiredOption('--config <file>', 'YAML run config with data.tabular (e.g. examples/ham10000-fusion.yaml); its model is the image network')
    .option('--out <dir>', 'folder of the runs and tables (default <config out>/<name>-compare)')
    .option('--epochs <n>', 'epochs of the image-only and early-fusion runs (overrides fit.epochs)')
    .option('--size <px>', 'image side (overrides data.preprocess.size)')
    .option('--seed <n>', 'seed of the split, the training and the bootstrap (overrides seed)')
    .option('--threads <n>', 'onnxruntime threads (0 = all cores)')
    .option('--bootstrap <n>', `paired bootstrap resamples (default ${d.bootstrap})`)
    .option('--tabular-epochs <n>', `epochs of the tabular-only MLP (default ${d.tabularEpochs})`)
    .option('--shap-rows <n>', `test rows explained by exact SHAP in runs that read the image (default ${d.shapRows})`)
    .option('--force', 'replace runs already in the folder')
    .option('--reuse', 'keep finished runs already in the folder whose config matches (late fusion is refitted)')
    .option('--quiet', 'no progress output')
    .option('--json <file>', 'also write the comparison as JSON to this file')
    .action(async (o: { config: string; out?: string; epochs?: string; size?: string; seed?: string; threads?: string; bootstrap?: string; tabularEpochs?: string; shapRows?: string; force?: boolean; reuse?: boolean; quiet?: boolean; json?: string }) => {
      checkJsonTarget(o.json);
      const cfg = loadRunConfig({ config: o.config, ...(o.epochs ? { epochs: o.epochs } : {}), ...(o.size ? { size: o.size } : {}), ...(o.seed ? { seed: o.seed } : {}), ...(o.threads ? { threads: o.threads } : {}) });
      const bootstrap = num(o.bootstrap, 'bootstrap');
      const tabularEpochs = num(o.tabularEpochs, 'tabular-epochs');
      const shapRows = num(o.shapRows, 'shap-rows');
      const s = await runFusionCompare(cfg, {
        ...(o.out ? { out: o.out } : {}), ...(bootstrap !== undefined ? { bootstrap } : {}), ...(tabularEpochs !== undefined ? { tabularEpochs } : {}),
        ...(shapRows !== undefined ? { shapRows } : {}), force: o.force === true, reuse: o.reuse === true,
      }, runRenderer({ quiet: o.quiet === true }));
      if (o.json) writeFileSync(o.json, JSON.stringify({ ...s.comparison, runs: s.runs, shap: s.shap, imageWeight: s.imageWeight, wallSeconds: s.wallSeconds }, null, 2));
      const md = readFileSync(`${s.dir}/comparison.md`, 'utf8');
      const shap = Object.entries(s.shap).map(([run, v]) => `  ${run}: ${v.players.map((p, i) => `${p} ${v.global[i]!.toFixed(3)}`).join(', ')} (n=${v.n}; max |Σφ − Δlogit| ${v.maxEfficiencyError.toExponential(1)})`);
      out(`${md}\nlate fusion (weighted): image weight ${s.imageWeight.toFixed(2)} (fitted on val)\nglobal mean |SHAP| (logit of the predicted class):\n${shap.join('\n')}\nwrote ${s.files.join(', ')} in ${s.dir} (${s.wallSeconds.toFixed(0)} s)\nResearch software, not a diagnostic device.`);
      process.exitCode = 0;
    });
  fusion
    .command('late')
    .description('prediction-level late fusion of an image-only run and a tabular run (tabular-mlp) trained on the same split: the combiner is fitted on val, the result is a run directory (model.onnx with both networks, metrics.json, predictions.csv) that evaluates, reports, predicts and serves like any run')
    .requiredOption('--image <dir>', 'image-only run directory')
    .requiredOption('--tabular <dir>', 'tabular run directory (arch tabular-mlp; same data, split and preprocess as the image run)')
    .requiredOption('--out <dir>', 'run directory to write')
    .option('--method <m>', "'weighted' (logit average, image weight on a grid by val NLL) or 'stacking' (logistic regression on both logit vectors)", dl.method)
    .option('--class-weights <w>', "class weights of the val NLL: 'image-run' (the image run's fit.classWeights), 'auto' (N/(K·n_c) on val) or 'none'", dl.classWeights)
    .option('--force', 'replace a run already in --out')
    .action(async (o: { image: string; tabular: string; out: string; method: string; classWeights: string; force?: boolean }) => {
      if (o.method !== 'weighted' && o.method !== 'stacking') throw new MedclassError('MC_CLI_BAD_OPTION', `--method: expected weighted or stacking, got '${o.method}'`);
      if (!['image-run', 'auto', 'none'].includes(o.classWeights)) throw new MedclassError('MC_CLI_BAD_OPTION', `--class-weights: expected image-run, auto or none, got '${o.classWeights}'`);
      const s = await runLateFusion(o.image, o.tabular, o.out, { method: o.method, classWeights: o.classWeights as 'auto', force: o.force === true });
      const m = s.metrics as unknown as Record<string, number>;
      const c = s.combiner;
      const auc = m.roc_auc ?? m.roc_auc_ovr_macro;
      out(`${s.runDir}: late fusion (${c.method}${c.method === 'weighted' ? `, image weight ${c.imageWeight.toFixed(2)}` : `, l2 ${c.l2}`}; val NLL ${c.valNll.toFixed(4)})\ntest balanced accuracy ${m.balanced_accuracy!.toFixed(4)}, ROC AUC ${auc!.toFixed(4)}\nResearch software, not a diagnostic device.`);
      process.exitCode = 0;
    });
}
