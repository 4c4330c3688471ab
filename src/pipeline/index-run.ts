import { z } from 'zod';
import { Rng, concatArrays } from '../engine/index.js';
import { CsvOptions, Dataset, PreprocessOptions, type DataEvent, type SplitName, encodeTabular } from '../data/index.js';
import { DISCLAIMER, argmaxRows, evaluatePredictions, formatPredictionsCsv, type EvalEvent, type MetricsReport, type SplitScores } from '../eval/index.js';
import {
  EmbeddingIndex, Embedder, INDEX_FILES, KnnCvOptions, KnnHeadOptions, UmapOptions, exactKnnOrt, knnCrossValidate, knnVote, mapNeighborAccuracy, takeRows, umap2d,
  type KnnCvResult,
} from '../retrieval/index.js';
import { MedclassError } from '../errors.js';
import { dataFingerprint, filesBelow, openRunDir, runEvalOptions, toJson } from '../run/index.js';
import { openRunSource, runSplits } from './run-source.js';
import { forEachChunk, loadChunkOption } from './split-chunks.js';
import { writeIndexExtras } from './index-extras.js';

/** Options of `buildRunIndex` (`medclass index --run DIR`); unset ones come from the run's run.json. */
export const IndexRunOptions = z.strictObject({
  data: z.string().optional().describe("data source (default: the run's, as run.json names it); split as run.json records"),
  csv: CsvOptions.optional().describe('CSV column mapping when --data is a manifest'),
  embedding: z.string().default('embedding').describe('graph value [N,D] read as the embedding'),
  knn: KnnHeadOptions.extend({
    k: z.union([z.number().int().min(1), z.literal('auto')]).default('auto').describe("training cases that vote for each image, or 'auto': chosen by cross-validation on the training embeddings (knnCv)"),
  }).default({ k: 'auto', weights: 'distance' }).describe('the k-NN classifier head evaluated on val/test'),
  knnCv: KnnCvOptions.default(KnnCvOptions.parse({})).describe("grid, folds and score of the cross-validated choice of k (knn.k = 'auto')"),
  umap: UmapOptions.default(UmapOptions.parse({})).describe('the 2-D map of the training embeddings'),
  mapK: z.number().int().min(1).default(5).describe('k of the leave-one-out neighbour accuracy that scores the map'),
  bootstrap: z.number().int().min(0).optional().describe('bootstrap resamples for the k-NN head CIs (default: as the run)'),
  seed: z.number().int().optional().describe("seed of UMAP, the map sample and the bootstrap (default: the run's seed)"),
  batchSize: z.number().int().min(1).default(64).describe('images per onnxruntime call'),
  loadChunk: loadChunkOption('images decoded and embedded at a time: memory holds one chunk of float images, not a whole split'),
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads (0 = all cores)'),
});
export type IndexRunOptionsInput = z.input<typeof IndexRunOptions>;

/** Events of an index build: image loading progress, skipped files, metric warnings, and stage changes. */
export type IndexRunEvent = DataEvent | EvalEvent | { type: 'stage'; stage: 'load' | 'embed' | 'knn' | 'umap' | 'done' } | { type: 'data-mismatch'; message: string };

/** Headline figures of one classifier head on one split. */
export interface HeadFigures { roc_auc: number; accuracy: number; balanced_accuracy: number; n: number }

/** What `buildRunIndex` returns (the files under `index/` are written too). */
export interface RunIndexSummary {
  count: number;
  dim: number;
  classes: string[];
  /** k-NN head vs the model's own head (metrics.json), val and test */
  heads: { knn: { val: HeadFigures | null; test: HeadFigures }; model: { val: HeadFigures | null; test: HeadFigures | null } };
  /** the k-NN head used: its k (given, or chosen by `cv`) and vote weights */
  knn: { k: number; weights: 'distance' | 'uniform'; cv?: KnnCvResult };
  /** leave-one-out `mapK`-NN accuracy of the mapped training cases: in 2-D and in the embedding space (cosine) */
  map: { n: number; neighborAccuracy2d: number; neighborAccuracyEmbedding: number; majorityShare: number };
  /** false when the data (ids, labels, splits) differ from what the run was trained on */
  fingerprintMatches: boolean | null;
  skipped: { file: string; code: string; reason: string }[];
  files: string[];
}

/** SHA-256 of a run's model.onnx (`MC_TRAIN_BAD_RUN_DIR` when missing). */
export function modelSha256(runDir: string): string {
  return openRunDir(runDir).modelSha256();
}

const figures = (m: any): HeadFigures | null => (m ? { roc_auc: m.roc_auc, accuracy: m.accuracy, balanced_accuracy: m.balanced_accuracy, n: m.n ?? NaN } : null);

/** Up to `max` rows, stratified by label (each class keeps its share), drawn from `rng`; all rows, in order, when n ≤ max. */
function stratifiedSample(labels: Int32Array, classes: number, max: number, rng: Rng): number[] {
  const n = labels.length;
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let c = 0; c < classes; c++) {
    const rows = Array.from(labels.keys()).filter((i) => labels[i] === c);
    const take = Math.round((rows.length / n) * max);
    const perm = rng.fork(`class${c}`).permutation(rows.length);
    out.push(...perm.slice(0, take).map((p) => rows[p]!));
  }
  return out.sort((a, b) => a - b);
}

/**
 * Builds the similar-case index of a trained run: embeds its training split with model.onnx (the `embedding`
 * value), saves `index/embeddings.f32` + `index/items.json`, evaluates a k-NN head (cosine, distance-weighted votes)
 * on val and test with the eval layer (`index/knn-metrics.json` in metrics.json's layout; `index/knn-predictions.csv`
 * with probabilities that round-trip exactly), and lays the training embeddings out with UMAP (`index/umap.json`).
 * The data are re-read from the run's source and split as run.json records (items it never saw: as its config says).
 *
 * @example
 * const s = await buildRunIndex('runs/pneumonia', { knn: { k: 10 } });
 * s.heads.knn.test.roc_auc; // vs s.heads.model.test.roc_auc
 */
export async function buildRunIndex(runDir: string, options: IndexRunOptionsInput = {}, onEvent?: (e: IndexRunEvent) => void): Promise<RunIndexSummary> {
  const o = IndexRunOptions.parse(options);
  const run = openRunDir(runDir);
  const cfg = run.config;
  const pre = run.preprocess();
  const tabular = run.tabular(pre);
  const preprocess = PreprocessOptions.parse({ size: pre.size, channels: pre.channels, fit: pre.fit, normalize: pre.normalize });
  const classes = pre.classes;
  const k = classes.length;
  const spec = o.data ?? cfg.data.source;
  const source = openRunSource(spec, cfg.data, o.csv);
  if (source.classes.join(',') !== classes.join(',')) {
    throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `classes [${source.classes.join(',')}] of the data differ from the run's [${classes.join(',')}]`, { hint: 'index with data of the same class names in the same order' });
  }
  const seed = o.seed ?? cfg.seed;
  const { splits } = await runSplits(run, source);
  const trained = run.manifest.data?.fingerprint;
  const fingerprintMatches = trained ? dataFingerprint(source.items, splits) === trained : null;
  if (fingerprintMatches === false) onEvent?.({ type: 'data-mismatch', message: 'the data (ids, labels or splits) differ from those the run was trained on; the index and k-NN figures describe the data given' });

  const sha = run.modelSha256();
  const embedder = await Embedder.create(run.modelBytes(), { input: pre.input, output: pre.output, embedding: o.embedding, threads: o.threads });
  const ds = new Dataset(source, { splits, cacheTensors: false });
  const skipped: RunIndexSummary['skipped'] = [];
  const sample = [preprocess.channels, preprocess.size, preprocess.size];
  const embed = async (which: SplitName) => {
    const r = await forEachChunk(ds, ds.indicesOf(which), preprocess, o.loadChunk, `embed ${which}`, async (b) => {
      // Fusion runs: the model also takes each item's encoded metadata (the embedding itself is the image's).
      const tab = tabular ? encodeTabular(tabular, b.indices.map((i) => source.items[i]!.meta), { requireColumns: true, rowName: (i) => source.items[b.indices[i]!]!.id }) : undefined;
      return embedder.run(b.x.data, b.labels.length, sample, o.batchSize, tab && pre.tabularInput ? { [pre.tabularInput]: tab } : {});
    }, onEvent);
    skipped.push(...r.skipped);
    return {
      embeddings: concatArrays(r.outputs.map((e) => e.embeddings), Float32Array), dim: r.outputs[0]?.dim ?? 0, labels: r.labels,
      ids: r.indices.map((i) => source.items[i]!.id), groups: r.indices.map((i) => source.items[i]!.group),
    };
  };
  let train, val, test;
  try {
    onEvent?.({ type: 'stage', stage: 'embed' });
    train = await embed('train');
    val = await embed('val');
    test = await embed('test');
  } finally {
    await embedder.dispose();
  }
  if (train.labels.length < 3) throw new MedclassError('MC_RETRIEVAL_TOO_FEW', `the training split has ${train.labels.length} readable cases; at least 3 are needed`);
  const index = EmbeddingIndex.fromEmbeddings(train.ids.map((id, i) => ({ id, label: classes[train.labels[i]!]! })), train.embeddings, train.dim, classes, { embedding: o.embedding, modelSha256: sha, split: 'train' });
  index.save(runDir);
  run.record(filesBelow(run, 'index'));

  onEvent?.({ type: 'stage', stage: 'knn' });
  const threads = o.threads || undefined;
  // k = 'auto': stratified (patient-grouped when the data have groups) k-fold grid search on the training embeddings
  const grouped = train.groups.some((g) => g !== undefined);
  const cv = o.knn.k === 'auto'
    ? await knnCrossValidate(index.vectors, index.size, index.dim, index.labels, k, o.knnCv, new Rng(seed).fork('knn-cv'), { weights: o.knn.weights, threads, ...(grouped ? { groups: train.groups } : {}) })
    : undefined;
  const knn = { k: cv ? cv.bestK : (o.knn.k as number), weights: o.knn.weights };
  const headScores = async (s: typeof val): Promise<SplitScores> => ({
    labels: s.labels, scores: knnVote(await index.searchMany(s.embeddings, s.labels.length, knn.k, { threads }), index.labels, k, knn), meta: { id: s.ids },
  });
  const knnVal = val.labels.length ? await headScores(val) : undefined;
  if (test.labels.length === 0) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', 'the data have no readable test cases to evaluate the k-NN head on', { hint: 'the source needs a test split' });
  const knnTest = await headScores(test);
  const eo = { ...runEvalOptions(cfg.eval, classes, o.bootstrap !== undefined ? { bootstrap: o.bootstrap } : {}), subgroups: [] };
  const metrics: MetricsReport = evaluatePredictions({ classes: k, scoreKind: 'prob', ...(knnVal ? { val: knnVal } : {}), test: knnTest }, eo, new Rng(seed).fork('eval'), onEvent);
  const { val: valMetrics, ...testMetrics } = metrics;
  run.writeFile('index/knn-metrics.json', toJson({ disclaimer: DISCLAIMER, classes, head: { kind: 'knn', metric: 'cosine', ...knn, index: INDEX_FILES.items, ...(cv ? { kSelection: { ...cv, grouped } } : {}) }, seed, test: testMetrics, val: valMetrics }));
  const rows = [...(knnVal ? [['val', knnVal] as const] : []), ['test', knnTest] as const];
  run.writeFile('index/knn-predictions.csv', formatPredictionsCsv(rows.flatMap(([split, sc]) => Array.from(sc.labels, (label, i) => ({
    split, id: sc.meta!.id![i]!, label, scores: sc.scores.subarray(i * k, (i + 1) * k),
  }))), k, { scoreKind: 'prob', precision: 'float64', ids: true }));

  onEvent?.({ type: 'stage', stage: 'umap' });
  const root = new Rng(seed).fork('retrieval');
  const picked = stratifiedSample(index.labels, k, o.umap.maxPoints, root.fork('map-sample'));
  const vecs = takeRows(index.vectors, index.dim, picked);
  const labels = Int32Array.from(picked, (i) => index.labels[i]!);
  const graphK = Math.min(Math.max(o.umap.nNeighbors, o.mapK + 1), picked.length);
  const graph = await exactKnnOrt(vecs, picked.length, vecs, picked.length, index.dim, graphK, { threads });
  const xy = umap2d(vecs, picked.length, index.dim, root, o.umap, graph);
  // leave-one-out in the embedding: the k nearest other cases (the graph's rows hold each case itself among them)
  const loo = { m: graph.m, k: graphK - 1, indices: new Int32Array(graph.m * (graphK - 1)), similarities: new Float64Array(graph.m * (graphK - 1)) };
  for (let i = 0; i < graph.m; i++) {
    let r = 0;
    for (let j = 0; j < graphK && r < graphK - 1; j++) {
      if (graph.indices[i * graphK + j] === i) continue;
      loo.indices[i * loo.k + r] = graph.indices[i * graphK + j]!;
      loo.similarities[i * loo.k + r++] = graph.similarities[i * graphK + j]!;
    }
  }
  const embAcc = mean(argmaxRows(knnVote(loo, labels, k, { k: o.mapK, weights: 'uniform' }), k).map((p, i) => (p === labels[i] ? 1 : 0)));
  const map = {
    n: picked.length,
    neighborAccuracy2d: mapNeighborAccuracy(xy, labels, k, o.mapK),
    neighborAccuracyEmbedding: embAcc,
    majorityShare: Math.max(...classes.map((_, c) => labels.filter((y) => y === c).length)) / picked.length,
  };
  run.writeFile('index/umap.json', toJson({
    disclaimer: DISCLAIMER, method: 'umap (umap-js 1.4.0) on exact cosine k-NN', seed, options: o.umap, classes,
    sampled: picked.length < index.size, count: index.size,
    neighbor_accuracy: { k: o.mapK, map_2d: map.neighborAccuracy2d, embedding: map.neighborAccuracyEmbedding, majority_share: map.majorityShare },
    ids: picked.map((i) => index.items[i]!.id),
    labels: Array.from(labels),
    x: Array.from(xy.filter((_, j) => j % 2 === 0), (v) => Number(v.toPrecision(6))),
    y: Array.from(xy.filter((_, j) => j % 2 === 1), (v) => Number(v.toPrecision(6))),
  }));

  await writeIndexExtras({ run, source, ds, preprocess, index, classes, test, picked, xy, ...(threads ? { threads } : {}) }); // thumbnails, test cases in the map, similar-case examples for the report
  const model = run.metrics() as { val?: any; test?: any } | undefined;
  onEvent?.({ type: 'stage', stage: 'done' });
  return {
    count: index.size, dim: index.dim, classes,
    heads: {
      knn: { val: figures(valMetrics ? { ...valMetrics, n: knnVal?.labels.length } : null), test: figures({ ...testMetrics, n: knnTest.labels.length })! },
      model: { val: figures(model?.val ? { ...model.val, n: model.val.n ?? val.labels.length } : null), test: figures(model?.test ? { ...model.test, n: model.test.n_test } : null) },
    },
    knn: { ...knn, ...(cv ? { cv } : {}) }, map, fingerprintMatches, skipped,
    files: [INDEX_FILES.vectors, INDEX_FILES.items, 'index/knn-metrics.json', 'index/knn-predictions.csv', 'index/umap.json'],
  };
}

function mean(a: Int32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return a.length ? s / a.length : NaN;
}
