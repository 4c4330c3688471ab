import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { Dataset, phantomSource } from '../../src/data/index.js';
import { EvalOptions, evaluatePredictions, readPredictionsCsv, selectSplit } from '../../src/eval/index.js';
import { EmbeddingIndex, Embedder, exactKnnOrt, mapNeighborAccuracy, umap2d } from '../../src/retrieval/index.js';
import { RunModel, buildRunIndex, findSimilar, predictImages, runTraining, toJson, type RunIndexSummary } from '../../src/pipeline/index.js';
import { removeTempDir } from './predict-helpers.js';

// A compact CNN trained 6 epochs on 400 lesion phantoms at 32 px (seed 3: test AUC ≈ 0.99, as the explain test);
// a map of a model that has not learnt says nothing.
const SOURCE = 'phantom:n=400,size=32';
const SEED = 3;

/** k-NN head probabilities written independently of src/retrieval: float64 cosine, full sort, scikit-learn's 1/d votes. */
function referenceKnnProbs(train: number[][], trainLabels: Int32Array, queries: number[][], k: number, classes: number): number[][] {
  const unit = (v: number[]) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
  const T = train.map(unit);
  return queries.map((q0) => {
    const q = unit(q0);
    const all = T.map((v, i) => ({ i, d: Math.max(0, 1 - v.reduce((a, x, j) => a + x * q[j]!, 0)) }));
    all.sort((a, b) => a.d - b.d || a.i - b.i);
    const top = all.slice(0, k);
    const exact = top.some((e) => e.d === 0);
    const votes = new Array<number>(classes).fill(0);
    for (const e of top) votes[trainLabels[e.i]!]! += exact ? (e.d === 0 ? 1 : 0) : 1 / e.d;
    const s = votes.reduce((a, b) => a + b, 0);
    return votes.map((v) => v / s);
  });
}

describe('similar-case retrieval on a trained phantom run', () => {
  let out = '';
  let imgDir = '';
  let runDir = '';
  let summary: RunIndexSummary;
  const src = phantomSource(SOURCE);
  const ds = new Dataset(src, { cacheTensors: false });
  const embedSplit = async (which: 'train' | 'val' | 'test') => {
    const model = await RunModel.open(runDir, { threads: 1 });
    const emb = await Embedder.create(new Uint8Array(readFileSync(join(runDir, 'model.onnx'))), { threads: 1 });
    try {
      const b = await ds.loadBatch(ds.indicesOf(which), model.preprocessOptions);
      const r = await emb.run(b.x.data, b.labels.length, [1, 32, 32]);
      const rows = Array.from({ length: b.labels.length }, (_, i) => Array.from(r.embeddings.subarray(i * r.dim, (i + 1) * r.dim)));
      return { rows, labels: b.labels, ids: b.indices.map((i) => src.items[i]!.id), dim: r.dim };
    } finally {
      await emb.dispose();
      await model.dispose();
    }
  };

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'medclass-retrieval-'));
    imgDir = mkdtempSync(join(tmpdir(), 'medclass-retrieval-img-'));
    ({ runDir } = await runTraining({
      name: 'retrieval', out, seed: SEED, threads: 1,
      data: { source: SOURCE, preprocess: { size: 32, channels: 1 } },
      fit: { epochs: 6, batchSize: 16 },
      eval: { bootstrap: 0 },
    }));
    summary = await buildRunIndex(runDir, { threads: 1, bootstrap: 30, umap: { nEpochs: 200 }, loadChunk: 100 }); // 280 train images in 3 chunks
  }, 180_000);
  afterAll(() => { removeTempDir(out); removeTempDir(imgDir); });

  it('indexes the training split: ids and labels as the data, vectors = normalised model embeddings', async () => {
    const index = EmbeddingIndex.load(runDir);
    const train = await embedSplit('train');
    expect(index.size).toBe(280);
    expect(index.items.map((it) => it.id)).toEqual(train.ids);
    expect(Array.from(index.labels)).toEqual(Array.from(train.labels));
    expect(JSON.stringify(index.manifest)).not.toContain(tmpdir()); // no absolute paths
    train.rows.forEach((r, i) => { // every row: the chunks (100 images each) join in order
      const n = Math.hypot(...r);
      r.forEach((x, j) => expect(index.vectors[i * index.dim + j]).toBeCloseTo(x / n, 6));
    });
  });

  it('exact k-NN of the test split equals an independent brute-force search', async () => {
    const index = EmbeddingIndex.load(runDir);
    const train = await embedSplit('train');
    const test = await embedSplit('test');
    const nn = index.search(Float32Array.from(test.rows.flat()), test.rows.length, 7);
    const unit = (v: number[]) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
    const T = train.rows.map((r) => unit(Array.from(Float32Array.from(unit(r)))));
    test.rows.forEach((q0, q) => {
      const qq = unit(q0);
      const ranked = T.map((v, i) => ({ i, s: v.reduce((a, x, j) => a + x * qq[j]!, 0) })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, 7);
      const got = Array.from(nn.indices.subarray(q * 7, q * 7 + 7));
      // equal up to near-ties (float32 storage): every returned similarity matches the reference rank's
      ranked.forEach((e, r) => expect(nn.similarities[q * 7 + r]).toBeCloseTo(e.s, 5));
      expect(got.filter((g, r) => g !== ranked[r]!.i).length).toBeLessThanOrEqual(1);
    });
  });

  it('a training image finds itself first (similarity ≈ 1); its label is the model prediction; bad files are reported per file', async () => {
    const ids = EmbeddingIndex.load(runDir).items.slice(0, 3).map((it) => it.id);
    const files = await Promise.all(ids.map(async (id, j) => {
      const img = await src.items.find((it) => it.id === id)!.load();
      const file = join(imgDir, `train${j}.png`);
      writeFileSync(file, await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 1 } }).png().toBuffer());
      return file;
    }));
    writeFileSync(join(imgDir, 'broken.png'), 'not an image');
    const res = await findSimilar(runDir, [...files, join(imgDir, 'broken.png'), join(imgDir, 'missing.png')], { k: 5, threads: 1 });
    const preds = await predictImages(runDir, files, { threads: 1 });
    res.slice(0, 3).forEach((r, j) => {
      if (r.error) throw new Error(r.error.message);
      expect(r.similar).toHaveLength(5);
      expect(r.similar[0]!.id).toBe(ids[j]);
      expect(r.similar[0]!.similarity).toBeGreaterThan(0.99999);
      expect(r.similar.map((c) => c.similarity)).toEqual([...r.similar.map((c) => c.similarity)].sort((a, b) => b - a));
      const p = preds[j]!;
      if (p.error) throw new Error(p.error.message);
      expect(r.label).toBe(p.label);
      expect(r.probability).toBeCloseTo(p.probabilities[p.label]!, 6);
    });
    expect(res[3]).toMatchObject({ error: { code: 'MC_DATA_NOT_AN_IMAGE' } });
    expect(res[4]).toMatchObject({ error: { code: 'MC_DATA_MISSING_FILE' } });
  });

  it('k-NN head: probabilities as an independent reference, metrics as the eval layer on them', async () => {
    const train = await embedSplit('train');
    const table = readPredictionsCsv(join(runDir, 'index/knn-predictions.csv'));
    expect(table.scoreKind).toBe('prob');
    for (const which of ['val', 'test'] as const) {
      const q = await embedSplit(which);
      const ref = referenceKnnProbs(train.rows, train.labels, q.rows, summary.knn.k, 2); // k chosen by the default --k auto
      const got = selectSplit(table, which)!;
      expect(Array.from(got.labels)).toEqual(Array.from(q.labels));
      // weights are 1/(1 − cos): the index's float32 cosines (≈1e-7 off the float64 reference) move a weight by
      // ≈1e-7/d, so a neighbour at d ≈ 0.01 shifts a probability by up to ~1e-5; a wrong k or weighting is ≫ 1e-4
      ref.flat().forEach((p, i) => expect(got.scores[i]).toBeCloseTo(p, 4));
    }
    const stored = JSON.parse(readFileSync(join(runDir, 'index/knn-metrics.json'), 'utf8'));
    const m = evaluatePredictions({ classes: 2, scoreKind: 'prob', val: selectSplit(table, 'val')!, test: selectSplit(table, 'test')! },
      EvalOptions.parse({ bootstrap: 30, alpha: 0.1, targetSensitivity: 0.9, classNames: ['normal', 'lesion'] }), new Rng(SEED).fork('eval'));
    const { val, ...test } = m;
    expect(stored.test).toEqual(JSON.parse(toJson(test)));
    expect(stored.val).toEqual(JSON.parse(toJson(val)));
    expect(summary.heads.knn.test.roc_auc).toBe(m.roc_auc);
    // measured: k-NN test AUC 0.975 / accuracy 0.90 vs the linear head's 0.993 / 0.87 (seed 3)
    expect(m.roc_auc).toBeGreaterThan(0.85);
  });

  it('UMAP: reproducible by seed and keeps the two phantom classes apart', async () => {
    const map = JSON.parse(readFileSync(join(runDir, 'index/umap.json'), 'utf8'));
    const index = EmbeddingIndex.load(runDir);
    expect(map.ids).toEqual(index.items.map((it) => it.id));
    expect(map.labels).toEqual(Array.from(index.labels));
    const graph = await exactKnnOrt(index.vectors, index.size, index.vectors, index.size, index.dim, 15, { threads: 1 });
    const again = umap2d(index.vectors, index.size, index.dim, new Rng(SEED).fork('retrieval'), { nEpochs: 200 }, graph);
    expect(Array.from(again.filter((_, j) => j % 2 === 0), (v) => Number(v.toPrecision(6)))).toEqual(map.x);
    // leave-one-out 5-NN accuracy of the 280 mapped training cases (chance ≈ 0.5); measured 0.97 in 2-D and in the embedding
    const acc = mapNeighborAccuracy(Float32Array.from(map.x.flatMap((x: number, i: number) => [x, map.y[i]])), index.labels, 2, 5);
    expect(acc).toBe(map.neighbor_accuracy.map_2d);
    expect(acc).toBeGreaterThanOrEqual(0.7);
  });

  it('a stale index (another model.onnx) is refused', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'medclass-retrieval-stale-'));
    try {
      cpSync(runDir, copy, { recursive: true });
      const items = JSON.parse(readFileSync(join(copy, 'index/items.json'), 'utf8'));
      writeFileSync(join(copy, 'index/items.json'), JSON.stringify({ ...items, modelSha256: '0'.repeat(64) }));
      copyFileSync(join(imgDir, 'train0.png'), join(copy, 'q.png'));
      await expect(findSimilar(copy, [join(copy, 'q.png')], { threads: 1 })).rejects.toMatchObject({ code: 'MC_RETRIEVAL_STALE_INDEX' });
    } finally {
      removeTempDir(copy);
    }
  });
});
