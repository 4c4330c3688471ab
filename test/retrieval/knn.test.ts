import { mkdtempSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { EmbeddingIndex, exactKnn, knnVote, l2Normalize, mapNeighborAccuracy, umap2d, type Neighbors } from '../../src/retrieval/index.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';

/** Brute-force reference written independently: all cosine similarities in float64, sorted (desc, then index). */
function reference(items: number[][], queries: number[][], k: number, excludeSelf = false): { idx: number[][]; sim: number[][] } {
  const unit = (v: number[]) => { const n = Math.hypot(...v); return v.map((x) => (n > 0 ? x / n : 0)); };
  const I = items.map(unit);
  const idx: number[][] = [];
  const sim: number[][] = [];
  queries.map(unit).forEach((q, qi) => {
    const all = I.map((v, i) => ({ i, s: v.reduce((a, x, j) => a + x * q[j]!, 0) })).filter((e) => !(excludeSelf && e.i === qi));
    all.sort((a, b) => b.s - a.s || a.i - b.i);
    idx.push(all.slice(0, k).map((e) => e.i));
    sim.push(all.slice(0, k).map((e) => e.s));
  });
  return { idx, sim };
}

const rows = (rng: Rng, n: number, d: number) => Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
const flat = (r: number[][]) => Float32Array.from(r.flat());
const toF32 = (r: number[][]) => r.map((v) => Array.from(Float32Array.from(v)));

describe('exact cosine k-NN', () => {
  it('equals a brute-force sort of all similarities', () => {
    const rng = new Rng(7);
    const items = toF32(rows(rng, 300, 24));
    const queries = toF32(rows(rng, 37, 24));
    const nn = exactKnn(l2Normalize(flat(items), 300, 24), 300, l2Normalize(flat(queries), 37, 24), 37, 24, 9);
    const ref = reference(items, queries, 9);
    for (let q = 0; q < 37; q++) {
      expect(Array.from(nn.indices.subarray(q * 9, q * 9 + 9))).toEqual(ref.idx[q]);
      Array.from(nn.similarities.subarray(q * 9, q * 9 + 9)).forEach((s, r) => expect(s).toBeCloseTo(ref.sim[q]![r]!, 6));
    }
  });

  it('leaves each query out with excludeSelf, keeps the lower index on ties, pads when k > n', () => {
    const rng = new Rng(8);
    const items = toF32(rows(rng, 40, 5));
    const v = l2Normalize(flat(items), 40, 5);
    const nn = exactKnn(v, 40, v, 40, 5, 4, { excludeSelf: true });
    expect(Array.from({ length: 40 }, (_, q) => Array.from(nn.indices.subarray(q * 4, q * 4 + 4)))).toEqual(reference(items, items, 4, true).idx);
    // three identical rows: a tie in similarity goes to the earlier row
    const dup = l2Normalize(Float32Array.from([1, 0, 1, 0, 1, 0, 0, 1]), 4, 2);
    const t = exactKnn(dup, 4, Float32Array.from([1, 0]), 1, 2, 6);
    expect(Array.from(t.indices)).toEqual([0, 1, 2, 3, -1, -1]);
    expect(Array.from(t.similarities.subarray(0, 4))).toEqual([1, 1, 1, 0]);
  });

  it('a zero row stays zero (similarity 0 to everything)', () => {
    expect(Array.from(l2Normalize(Float32Array.from([0, 0, 3, 4]), 2, 2))).toEqual([0, 0, Math.fround(0.6), Math.fround(0.8)]);
  });
});

describe('k-NN head votes', () => {
  const nn = (sims: number[], idx: number[]): Neighbors => ({ m: 1, k: sims.length, indices: Int32Array.from(idx), similarities: Float64Array.from(sims) });
  const labels = Int32Array.from([0, 1, 1, 2]);

  it('weights 1/(1 − similarity), normalised (hand-derived)', () => {
    // distances 0.5, 0.75, 0.8 → weights 2, 4/3, 1.25 → class 0: 2, class 1: 4/3 + 1.25
    const p = knnVote(nn([0.5, 0.25, 0.2], [0, 1, 2]), labels, 3, { k: 3 });
    const tot = 2 + 4 / 3 + 1.25;
    expect(Array.from(p)).toEqual([2 / tot, (4 / 3 + 1.25) / tot, 0].map((x) => expect.closeTo(x, 12)));
  });

  it('an exact match takes every vote (scikit-learn weights="distance"); uniform counts heads; k caps the voters', () => {
    expect(Array.from(knnVote(nn([1, 0.9, 0.8], [3, 1, 2]), labels, 3, { k: 3 }))).toEqual([0, 0, 1]);
    expect(Array.from(knnVote(nn([0.5, 0.25, 0.2], [0, 1, 2]), labels, 3, { k: 3, weights: 'uniform' }))).toEqual([1 / 3, 2 / 3, 0]);
    expect(Array.from(knnVote(nn([0.5, 0.25, 0.2], [0, 1, 2]), labels, 3, { k: 1 }))).toEqual([1, 0, 0]);
  });
});

describe('EmbeddingIndex files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medclass-index-'));
  afterAll(() => removeTempDir(dir));

  it('round-trips ids, labels and normalised vectors; a truncated file is MC_RETRIEVAL_BAD_INDEX', () => {
    const rng = new Rng(1);
    const emb = flat(rows(rng, 6, 3));
    const items = ['a/1.png', 'a/2.png', 'b/1.png', 'b/2.png', 'c/1.png', 'c/2.png'].map((id, i) => ({ id, label: i % 2 ? 'lesion' : 'normal' }));
    const ix = EmbeddingIndex.fromEmbeddings(items, emb, 3, ['normal', 'lesion'], { embedding: 'embedding', modelSha256: 'x', split: 'train' });
    ix.save(dir);
    const back = EmbeddingIndex.load(dir);
    expect(back.items).toEqual(items);
    expect(Array.from(back.labels)).toEqual([0, 1, 0, 1, 0, 1]);
    expect(back.vectors).toEqual(l2Normalize(emb, 6, 3));
    const [first] = back.similar(emb.subarray(6, 9), 1, 2);
    expect(first![0]).toMatchObject({ index: 2, id: 'b/1.png', label: 'normal' });
    expect(first![0]!.similarity).toBeCloseTo(1, 6);
    truncateSync(join(dir, 'index/embeddings.f32'), 20);
    expect(() => EmbeddingIndex.load(dir)).toThrow(expect.objectContaining({ code: 'MC_RETRIEVAL_BAD_INDEX' }));
    expect(() => EmbeddingIndex.load(join(dir, 'nowhere'))).toThrow(expect.objectContaining({ code: 'MC_RETRIEVAL_NO_INDEX' }));
  });
});

describe('UMAP map', () => {
  // two Gaussian clusters in 16-D, centres 4 σ apart along one axis
  const rng = new Rng(5);
  const n = 120;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  const pts = Array.from({ length: n }, (_, i) => Array.from({ length: 16 }, (_, j) => rng.normal() + (j === 0 ? 4 * labels[i]! : 0) + 2));
  const v = l2Normalize(flat(pts), n, 16);

  it('is the same map for the same seed and another for another seed', () => {
    const a = umap2d(v, n, 16, new Rng(11), { nEpochs: 100 });
    expect(umap2d(v, n, 16, new Rng(11), { nEpochs: 100 })).toEqual(a);
    expect(umap2d(v, n, 16, new Rng(12), { nEpochs: 100 })).not.toEqual(a);
    expect(a.every(Number.isFinite)).toBe(true);
  });

  it('keeps separable clusters apart (leave-one-out 5-NN accuracy in 2-D)', () => {
    const xy = umap2d(v, n, 16, new Rng(11), { nEpochs: 200 });
    expect(mapNeighborAccuracy(xy, labels, 2, 5)).toBeGreaterThanOrEqual(0.9);
  });
});
