import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { DISCLAIMER } from '../../eval/index.js';
import { IndexRunOptions, buildRunIndex, type HeadFigures, type IndexRunEvent, type RunIndexSummary } from '../../pipeline/index.js';
import { out, table } from '../output.js';
import { progressRenderer } from './data.js';

const f4 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(4));

/** The index build as text: the k-NN head beside the model's head (val/test AUC, accuracy, balanced accuracy), then the map's neighbour accuracy. */
export function formatIndexSummary(s: RunIndexSummary, knn: { k: number; weights: string }, mapK: number): string {
  const cv = s.knn?.cv;
  const cvLines = cv ? [
    `k by ${cv.folds}-fold cross-validation on the training embeddings (${cv.scoring}, mean ± sd over folds): chosen k = ${cv.bestK}`,
    table([['k', `cv ${cv.scoring}`, 'sd'], ...cv.scores.map((c) => [c.k === cv.bestK ? `${c.k} *` : c.k, f4(c.mean), f4(c.sd)])]),
  ] : [];
  const rows: (string | number)[][] = [['head', 'split', 'n', 'roc_auc', 'accuracy', 'balanced_accuracy']];
  const add = (head: string, split: string, h: HeadFigures | null) => { if (h) rows.push([head, split, h.n, f4(h.roc_auc), f4(h.accuracy), f4(h.balanced_accuracy)]); };
  add(`k-NN (k=${knn.k}, ${knn.weights})`, 'val', s.heads.knn.val);
  add(`k-NN (k=${knn.k}, ${knn.weights})`, 'test', s.heads.knn.test);
  add('model', 'val', s.heads.model.val);
  add('model', 'test', s.heads.model.test);
  return [
    `index: ${s.count} training cases × ${s.dim} dims (cosine)`,
    ...cvLines,
    table(rows),
    `map: UMAP of ${s.map.n} training cases; leave-one-out ${mapK}-NN accuracy ${f4(s.map.neighborAccuracy2d)} in 2-D, ${f4(s.map.neighborAccuracyEmbedding)} in the embedding (majority class ${f4(s.map.majorityShare)})`,
    `wrote ${s.files.join(', ')}`,
    ...(s.skipped.length ? [`skipped ${s.skipped.length} unreadable file(s): ${s.skipped.slice(0, 5).map((x) => `${x.file} (${x.code})`).join(', ')}${s.skipped.length > 5 ? ', …' : ''}`] : []),
    `${DISCLAIMER}.`,
  ].join('\n');
}

const num = (v: string) => Number(v);
const kOption = (v: string) => (v === 'auto' ? 'auto' : Number(v));

/** `medclass index --run DIR`: embedding index of the training split, k-NN head metrics, UMAP map. */
export function registerIndex(program: Command): void {
  program
    .command('index')
    .description(`Build a run's similar-case index: embed its training split with model.onnx, save index/ (embeddings, items), evaluate a k-NN head on val/test beside the model's own head, and map the embeddings to 2-D with UMAP (index/umap.json, shown by medclass report). ${DISCLAIMER}`)
    .requiredOption('--run <dir>', 'run directory written by medclass train')
    .option('--data <source>', IndexRunOptions.shape.data.description!)
    .option('--k <n>', "neighbours voting in the k-NN head, or 'auto' (default): chosen by stratified 5-fold cross-validation on the training embeddings over k ∈ 1,3,5,7,9,11,15,21,31", kOption)
    .option('--weights <w>', "k-NN votes: 'distance' (1/(1 − cosine), default) or 'uniform'")
    .option('--embedding <name>', IndexRunOptions.shape.embedding.description!)
    .option('--neighbors <n>', 'UMAP neighbours (default 15)', num)
    .option('--min-dist <d>', 'UMAP minimum distance (default 0.1)', num)
    .option('--max-points <n>', 'map at most this many training cases (default 5000)', num)
    .option('--bootstrap <n>', IndexRunOptions.shape.bootstrap.description!, num)
    .option('--seed <n>', IndexRunOptions.shape.seed.description!, num)
    .option('--threads <n>', IndexRunOptions.shape.threads.description!, num)
    .option('--json <file>', 'also write the summary as JSON')
    .action(async (o: { run: string; data?: string; k?: number | 'auto'; weights?: string; embedding?: string; neighbors?: number; minDist?: number; maxPoints?: number; bootstrap?: number; seed?: number; threads?: number; json?: string }) => {
      const def = <T extends object>(x: T) => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined));
      const parsed = IndexRunOptions.safeParse(def({
        data: o.data, embedding: o.embedding, bootstrap: o.bootstrap, seed: o.seed, threads: o.threads,
        knn: def({ k: o.k, weights: o.weights }), umap: def({ nNeighbors: o.neighbors, minDist: o.minDist, maxPoints: o.maxPoints }),
      }));
      if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `index: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`, { hint: 'medclass index --help' });
      const warned = new Set<string>();
      const progress = progressRenderer();
      const onEvent = (e: IndexRunEvent) => {
        if (e.type === 'progress') progress.onEvent(e);
        else if (e.type === 'data-mismatch') process.stderr.write(`warning: ${e.message}\n`);
        else if (e.type === 'warning' && !warned.has(e.message)) {
          warned.add(e.message);
          process.stderr.write(`warning ${e.code}: ${e.message}\n`);
        }
      };
      let s;
      try {
        s = await buildRunIndex(o.run, parsed.data, onEvent);
      } finally {
        progress.done();
      }
      out(formatIndexSummary(s, s.knn, parsed.data.mapK));
      if (o.json) writeFileSync(o.json, `${JSON.stringify({ disclaimer: DISCLAIMER, ...s }, null, 1)}\n`);
      process.exitCode = 0;
    });
}
