import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../engine/index.js';
import { assignSplits, kFold, type DatasetSource, type SplitName } from '../data/index.js';
import { MedclassError } from '../errors.js';
import { RunConfig, eceKey, metricParams, openRunDir, runEvalOptions, splitOptionsOf, splitSeed, toJson, writeAtomic, type RunConfigInput } from '../run/index.js';
import { runTraining, type RunOptions, type RunSummary } from './run.js';

/** Metrics summarised over folds. */
export interface KFoldSummary {
  folds: number;
  runDirs: string[];
  /** Per metric: value per fold, mean and sample standard deviation. */
  metrics: Record<string, { values: number[]; mean: number; sd: number }>;
  /** a fold was stopped (Ctrl-C): `resume` finishes the k-fold run */
  interrupted: boolean;
}

const HEADLINE = ['accuracy', 'balanced_accuracy', 'roc_auc', 'roc_auc_ovr_macro', 'macro_f1', 'mcc', 'quadratic_kappa', 'log_loss', 'brier'];

/** The test metrics of a finished fold directory (k-fold `resume` skips it), or undefined when it is not done. */
function finishedFold(dir: string): Record<string, unknown> | undefined {
  if (!existsSync(join(dir, 'run.json'))) return undefined;
  const run = openRunDir(dir);
  return run.manifest.status === 'done' ? run.metrics()?.test as unknown as Record<string, unknown> : undefined;
}

/** The splits of fold `f` (0-based) of `k` as `runKFold` trains it: test kept, fold f of train+val is val, the rest train. */
export function kFoldSplits(cfg: RunConfig, k: number, f: number): (source: DatasetSource) => SplitName[] {
  return (source) => {
    const base = assignSplits(source.items, splitOptionsOf(cfg));
    const pool = base.flatMap((s, i) => (s === 'test' ? [] : [i]));
    const fold = kFold(source.items, k, new Rng(splitSeed(cfg)).fork('kfold'), { byGroup: cfg.data.split.byGroup, subset: pool });
    return base.map((s, i) => (s === 'test' ? 'test' : fold.get(i) === f ? 'val' : 'train'));
  };
}

/**
 * Stratified (group-aware when items have groups) k-fold cross-validation on train+val: fold f is the validation
 * split of run f, the other folds its training split; the test split is never touched for training and each fold's
 * model is evaluated on it. Folds come from `Rng(seed).fork('kfold')`. Writes `<out>/<name>/fold-<f>/` run
 * directories — each run.json records its fold (`fold: {index, k}`) and the split of every item, so `eval --data`
 * on a fold evaluates on that fold — and `<out>/<name>/kfold.json` with per-fold metrics and mean ± sd. An existing
 * k-fold folder is refused (`MC_RUN_EXISTS`) unless `force` (every fold retrained) or `resume` (finished folds kept).
 */
export async function runKFold(input: RunConfigInput, k: number, opts: Omit<RunOptions, 'splits' | 'runDir' | 'fold'> = {}): Promise<KFoldSummary> {
  const cfg = RunConfig.parse(input);
  const root = join(cfg.out, cfg.name);
  const existing = existsSync(root) ? readdirSync(root).filter((f) => f === 'kfold.json' || /^fold-\d+$/.test(f)) : [];
  if (existing.length && !opts.force && !opts.resume) {
    throw new MedclassError('MC_RUN_EXISTS', `${root} already holds a k-fold run (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''})`, { hint: 'pass --resume to finish it, --force to retrain every fold, or choose another --name' });
  }
  const runs: { runDir: string; status: RunSummary['status']; test?: Record<string, unknown> }[] = [];
  for (let f = 0; f < k; f++) {
    const runDir = join(root, `fold-${f + 1}`);
    const done = opts.resume ? finishedFold(runDir) : undefined;
    if (done) {
      opts.onEvent?.({ type: 'stage', stage: `fold ${f + 1}/${k}`, detail: 'finished before; kept' });
      runs.push({ runDir, status: 'done', test: done });
      continue;
    }
    opts.onEvent?.({ type: 'stage', stage: `fold ${f + 1}/${k}` });
    const splits = kFoldSplits(cfg, k, f);
    const resume = opts.resume === true && existsSync(join(runDir, 'run.json'));
    const s = await runTraining(cfg, { ...opts, resume, force: opts.force === true || (opts.resume === true && !resume), runDir, splits, fold: { index: f + 1, k } });
    runs.push({ runDir, status: s.status, ...(s.metrics ? { test: s.metrics as unknown as Record<string, unknown> } : {}) });
    if (s.status === 'interrupted') break;
  }
  const metrics: KFoldSummary['metrics'] = {};
  for (const key of [...HEADLINE, eceKey(metricParams(runEvalOptions(cfg.eval, [])))]) {
    const values = runs.map((r) => r.test?.[key]).filter((v): v is number => typeof v === 'number');
    if (values.length !== runs.length || values.length === 0) continue;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
    metrics[key] = { values, mean, sd };
  }
  const summary: KFoldSummary = { folds: runs.length, runDirs: runs.map((r) => r.runDir), metrics, interrupted: runs.some((r) => r.status === 'interrupted') };
  writeAtomic(join(root, 'kfold.json'), toJson({ ...summary, seed: cfg.seed, note: 'test split untouched by training; each fold evaluated on it' }));
  return summary;
}
