import { basename } from 'node:path';
import { DISCLAIMER, compareReports, comparisonToCsv, comparisonToMarkdown, type ComparisonColumn, type ComparisonTable } from '../eval/index.js';
import { MedclassError } from '../errors.js';
import { openRunDir } from '../run/index.js';

/** Test metrics compared by `compareRuns` (each with its direction); a key no row has is left out. */
export const HEAD_COMPARISON_COLUMNS: readonly ComparisonColumn[] = [
  { key: 'roc_auc', higherIsBetter: true },
  { key: 'roc_auc_ovr_macro', higherIsBetter: true },
  { key: 'average_precision', higherIsBetter: true },
  { key: 'accuracy', higherIsBetter: true },
  { key: 'balanced_accuracy', higherIsBetter: true },
  { key: 'macro_f1', higherIsBetter: true },
  { key: 'log_loss', higherIsBetter: false },
  { key: 'brier', higherIsBetter: false },
  { key: 'ece_15', higherIsBetter: false },
];

/** One row of the comparison: which run, which head, and how it was made. */
export interface ComparedHead {
  name: string;
  runDir: string;
  head: 'knn' | 'model';
  /** e.g. 'k-NN, k = 15 (5-fold CV), distance votes', 'MLP head [512,128] on frozen backbone', 'fine-tuned: head → last:10' */
  description: string;
}

/** What `compareRuns` returns: the rows, the table, and the table as CSV and Markdown. */
export interface RunComparison {
  heads: ComparedHead[];
  table: ComparisonTable;
  csv: string;
  markdown: string;
}

function describeModel(cfg: ReturnType<typeof openRunDir>['config']): string {
  const f = cfg.fit;
  const extras = [
    ...(f.loss.kind === 'focal' ? [`focal loss γ = ${f.loss.gamma}`] : []), ...(f.cutmix > 0 ? [`CutMix α = ${f.cutmix}`] : []), ...(f.mixup > 0 ? [`MixUp α = ${f.mixup}`] : []),
  ];
  return extras.length ? `${describeNet(cfg)} (${extras.join(', ')})` : describeNet(cfg);
}

function describeNet(cfg: ReturnType<typeof openRunDir>['config']): string {
  const m = cfg.model;
  const head = typeof m.head === 'object' ? `MLP head [${([] as number[]).concat(m.head.hidden).join(',')}]` : m.head === 'mlp' ? 'MLP head [256]' : 'linear head';
  if (m.arch !== 'backbone') return `${m.arch} trained end to end`;
  const phases = cfg.fit.phases.map((p) => p.trainable);
  const trunk = basename(m.backbone ?? 'backbone').replace(/\.onnx$/, '');
  if (phases.length > 0 && phases.every((t) => t === 'head')) return `${head} on the frozen ${trunk}`;
  return `${head}, fine-tuned ${trunk}: ${phases.length ? phases.join(' → ') : 'all'}`;
}

/**
 * Puts the test metrics (with their bootstrap CIs) of several run directories side by side: each run's own head
 * (metrics.json) and, when `medclass index` was run on it, its k-NN head (index/knn-metrics.json), e.g. the seed-000
 * table of k-NN on embeddings vs an MLP head vs a fine-tuned network. Rows keep the order of `runDirs`.
 *
 * @example
 * const c = compareRuns(['runs/kermany-mlp', 'runs/kermany-ft']); // k-NN + MLP rows, then the fine-tuned row
 * writeFileSync('compare.md', c.markdown);
 */
export function compareRuns(runDirs: readonly string[], opts: { knn?: boolean } = {}): RunComparison {
  if (runDirs.length === 0) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', 'no run directories to compare', { hint: 'medclass compare RUN_DIR [RUN_DIR...]' });
  const heads: ComparedHead[] = [];
  const entries: { name: string; report: Record<string, unknown> }[] = [];
  for (const dir of runDirs) {
    const run = openRunDir(dir);
    const name = run.config.name;
    const knn = opts.knn === false ? undefined : run.indexJson('knn-metrics.json');
    if (knn?.test) {
      const h = knn.head ?? {};
      const sel = h.kSelection ? ` (${h.kSelection.folds}-fold CV on ${h.kSelection.scoring})` : ' (fixed)';
      const description = `k-NN on ${name}'s embeddings, k = ${h.k}${sel}, ${h.weights ?? 'distance'} votes`;
      heads.push({ name: `${name}: k-NN`, runDir: dir, head: 'knn', description });
      entries.push({ name: `${name}: ${description}`, report: knn.test as Record<string, unknown> });
    }
    const metrics = run.metrics();
    if (!metrics) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${dir}: no metrics.json (the run did not finish)`, { file: 'metrics.json', hint: 'train the run to the end, or medclass eval --run DIR' });
    const description = describeModel(run.config);
    heads.push({ name: `${name}: model`, runDir: dir, head: 'model', description });
    entries.push({ name: `${name}: ${description}`, report: metrics.test as unknown as Record<string, unknown> });
  }
  const table = compareReports(entries, HEAD_COMPARISON_COLUMNS);
  const markdown = `${comparisonToMarkdown(table, 4)}\nTest split, value [bootstrap CI at the runs' eval level, 95% by default]; best of each column in bold. ${DISCLAIMER}.\n`;
  return { heads, table, csv: comparisonToCsv(table), markdown };
}
