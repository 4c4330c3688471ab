import sharp from 'sharp';
import type { Dataset, DatasetSource, PreprocessOptions } from '../data/index.js';
import { DISCLAIMER } from '../eval/index.js';
import { exactKnnOrt, l2Normalize, takeRows, type EmbeddingIndex } from '../retrieval/index.js';
import { toJson, type RunDir } from '../run/index.js';

/** Edge of the thumbnails stored in the index (px). */
export const THUMB_SIZE = 32;

/** Small PNGs (base64) of `n` preprocessed images `[n,C,H,W]`, each min–max scaled to 0–255 and resized to `size` px. */
export async function tensorThumbnails(x: Float32Array, n: number, sample: readonly number[], size = THUMB_SIZE): Promise<string[]> {
  const [c, h, w] = sample as [number, number, number];
  const plane = h * w;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const img = x.subarray(i * c * plane, (i + 1) * c * plane);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of img) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    const px = Buffer.alloc(c * plane);
    for (let p = 0; p < plane; p++) for (let ch = 0; ch < c; ch++) px[p * c + ch] = Math.round((img[ch * plane + p]! - lo) * scale);
    const png = await sharp(px, { raw: { width: w, height: h, channels: c as 1 | 3 } }).resize(size, size, { fit: 'fill', kernel: 'lanczos3' }).png().toBuffer();
    out.push(png.toString('base64'));
  }
  return out;
}

/** What `writeIndexExtras` needs from an index build. */
export interface IndexExtrasInput {
  run: RunDir;
  source: DatasetSource;
  ds: Dataset;
  preprocess: PreprocessOptions;
  index: EmbeddingIndex;
  classes: readonly string[];
  /** the test embeddings `[m, dim]` (raw), labels and ids */
  test: { embeddings: Float32Array; labels: Int32Array; ids: string[] };
  /** rows of the index that the UMAP map holds, and their 2-D positions `[picked.length, 2]` */
  picked: readonly number[];
  xy: Float32Array;
  threads?: number;
  /** test cases per class shown with their neighbours (default 2) and neighbours each (default 5) */
  examplesPerClass?: number;
  neighbors?: number;
}

/**
 * Writes what the report shows of the index: `index/thumbnails.json` (a small PNG of every indexed training case,
 * in index order), `index/umap-test.json` (test cases placed in the map at the similarity-weighted mean of their 10
 * nearest mapped training cases) and `index/similar-examples.json` (the first test cases of each class with their
 * most similar training cases). No paths; ids only in umap-test.json, to join with predictions.csv.
 */
export async function writeIndexExtras(e: IndexExtrasInput): Promise<string[]> {
  const sample: number[] = [Number(e.preprocess.channels), Number(e.preprocess.size), Number(e.preprocess.size)];
  const byId = new Map(e.source.items.map((it, i) => [it.id, i]));
  const thumbsOf = async (ids: readonly string[]) => {
    const all: string[] = [];
    for (let s = 0; s < ids.length; s += 256) {
      const want = ids.slice(s, s + 256).map((id) => byId.get(id)!);
      const b = await e.ds.loadBatch(want, e.preprocess, { concurrency: 4 });
      const got = new Map(b.indices.map((i, j) => [i, j]));
      const pngs = await tensorThumbnails(b.x.data, b.indices.length, sample);
      all.push(...want.map((i) => (got.has(i) ? pngs[got.get(i)!]! : '')));
    }
    return all;
  };
  const trainThumbs = await thumbsOf(e.index.items.map((it) => it.id));
  e.run.writeFile('index/thumbnails.json', toJson({ disclaimer: DISCLAIMER, size: THUMB_SIZE, channels: e.preprocess.channels, format: 'png-base64', scaling: 'min-max per image of the preprocessed input', items: e.index.items.map((it, i) => ({ label: it.label, png: trainThumbs[i] })) }));

  const m = e.test.labels.length;
  const d = e.index.dim;
  const kMap = Math.min(10, e.picked.length);
  const mapped = takeRows(e.index.vectors, d, e.picked);
  const nn = await exactKnnOrt(mapped, e.picked.length, l2Normalize(e.test.embeddings, m, d), m, d, kMap, e.threads ? { threads: e.threads } : {});
  const tx: number[] = [];
  const ty: number[] = [];
  for (let q = 0; q < m; q++) {
    let [sx, sy, sw] = [0, 0, 0];
    for (let r = 0; r < nn.k; r++) {
      const j = nn.indices[q * nn.k + r]!;
      if (j < 0) continue;
      const w = 1 / Math.max(1e-6, 1 - nn.similarities[q * nn.k + r]!);
      sx += w * e.xy[2 * j]!; sy += w * e.xy[2 * j + 1]!; sw += w;
    }
    tx.push(Number((sx / sw).toPrecision(6)));
    ty.push(Number((sy / sw).toPrecision(6)));
  }
  e.run.writeFile('index/umap-test.json', toJson({ disclaimer: DISCLAIMER, method: `similarity-weighted mean (1/(1 − cos)) of the ${kMap} nearest mapped training cases`, ids: e.test.ids, labels: Array.from(e.test.labels), x: tx, y: ty }));

  const per = e.examplesPerClass ?? 2;
  const chosen = e.classes.flatMap((_, c) => Array.from(e.test.labels.keys()).filter((i) => e.test.labels[i] === c).slice(0, per));
  const queries = new Float32Array(chosen.length * d);
  chosen.forEach((q, j) => queries.set(e.test.embeddings.subarray(q * d, (q + 1) * d), j * d));
  const k = Math.min(e.neighbors ?? 5, e.index.size);
  const sim = chosen.length ? await e.index.searchMany(queries, chosen.length, k, e.threads ? { threads: e.threads } : {}) : undefined;
  const queryThumbs = await thumbsOf(chosen.map((q) => e.test.ids[q]!));
  e.run.writeFile('index/similar-examples.json', toJson({
    disclaimer: DISCLAIMER, k, thumbnails: 'index/thumbnails.json',
    examples: chosen.map((q, j) => ({
      label: e.classes[e.test.labels[q]!], png: queryThumbs[j],
      neighbors: Array.from({ length: sim!.k }, (_, r) => ({ index: sim!.indices[j * sim!.k + r]!, similarity: Number(sim!.similarities[j * sim!.k + r]!.toFixed(6)) })).filter((n) => n.index >= 0),
    })),
  }));
  return ['index/thumbnails.json', 'index/umap-test.json', 'index/similar-examples.json'];
}
