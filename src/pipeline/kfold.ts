import { join } from 'node:path';
import { Rng } from '../engine/index.js';
import { assignSplits, kFold, type DatasetSource, type SplitName } from '../data/index.js';
import { RunConfig, type RunConfigInput } from './config.js';
import { runTraining, type RunOptions, type RunSummary } from './run.js';
import { toJson, writeAtomic } from './run-files.js';

/** Metrics summarised over folds. */
export interface KFoldSummary {
  folds: number;
  runDirs: string[];
  /** Per metric: value per fold, mean and sample standard deviation. */
  metrics: Record<string, { values: number[]; mean: number; sd: number }>;
}

const HEADLINE = ['accuracy', 'balanced_accuracy', 'roc_auc', 'roc_auc_ovr_macro', 'macro_f1', 'mcc', 'quadratic_kappa', 'log_loss', 'brier', 'ece_15'];

/**
 * Stratified (group-aware when items have groups) k-fold cross-validation on train+val: fold f is the validation
 * split of run f, the other folds its training split; the test split is never touched for training and each fold's
 * model is evaluated on it. Folds come from `Rng(seed).fork('kfold')`. Writes `<out>/<name>/fold-<f>/` run
 * directories and `<out>/<name>/kfold.json` with per-fold metrics and mean ± sd.
 */
export async function runKFold(input: RunConfigInput, k: number, opts: Omit<RunOptions, 'splits' | 'runDir'> = {}): Promise<KFoldSummary> {
  const cfg = RunConfig.parse(input);
  const root = join(cfg.out, cfg.name);
  const runs: RunSummary[] = [];
  for (let f = 0; f < k; f++) {
    opts.onEvent?.({ type: 'stage', stage: `fold ${f + 1}/${k}` });
    const splits = (source: DatasetSource): SplitName[] => {
      const base = assignSplits(source.items, { ...cfg.data.split, seed: cfg.seed });
      const pool = base.flatMap((s, i) => (s === 'test' ? [] : [i]));
      const fold = kFold(source.items, k, new Rng(cfg.seed).fork('kfold'), { byGroup: cfg.data.split.byGroup, subset: pool });
      return base.map((s, i) => (s === 'test' ? 'test' : fold.get(i) === f ? 'val' : 'train'));
    };
    const s = await runTraining(cfg, { ...opts, runDir: join(root, `fold-${f + 1}`), splits });
    runs.push(s);
    if (s.status === 'interrupted') break;
  }
  const metrics: KFoldSummary['metrics'] = {};
  for (const key of HEADLINE) {
    const values = runs.map((r) => (r.metrics as unknown as Record<string, unknown> | undefined)?.[key]).filter((v): v is number => typeof v === 'number');
    if (values.length !== runs.length || values.length === 0) continue;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
    metrics[key] = { values, mean, sd };
  }
  const summary: KFoldSummary = { folds: runs.length, runDirs: runs.map((r) => r.runDir), metrics };
  writeAtomic(join(root, 'kfold.json'), toJson({ ...summary, seed: cfg.seed, note: 'test split untouched by training; each fold evaluated on it' }));
  return summary;
}
