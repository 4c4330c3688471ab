import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MedclassError } from '../errors.js';
import { exactKnn, exactKnnOrt, type Neighbors } from './knn.js';
import { l2Normalize } from './vectors.js';

/** One indexed case: its dataset id (relative, as the data layer names it) and class name. */
export interface IndexItem {
  id: string;
  label: string;
}

/** What `index/items.json` holds besides the items (no absolute paths). */
export interface IndexManifest {
  format: 'medclass-embedding-index';
  version: 1;
  metric: 'cosine';
  /** graph value the embeddings were read from */
  embedding: string;
  count: number;
  dim: number;
  classes: string[];
  /** SHA-256 of the model.onnx the embeddings came from (a retrained model makes the index stale) */
  modelSha256: string;
  /** split the cases come from */
  split: string;
  items: IndexItem[];
}

/** A similar case found by `EmbeddingIndex.search`. */
export interface SimilarCase {
  /** row in the index */
  index: number;
  id: string;
  label: string;
  /** cosine similarity in [−1, 1] */
  similarity: number;
}

const FORMAT = 'medclass-embedding-index';
/** File names inside a run directory. */
export const INDEX_FILES = { dir: 'index', vectors: 'index/embeddings.f32', items: 'index/items.json' } as const;

/**
 * An embedding index: ids, labels and L2-normalised float32 embeddings `[n, dim]` of cases (a run's training split),
 * searched by exact cosine k-NN. Saved as `index/embeddings.f32` (raw little-endian float32, row-major) and
 * `index/items.json` (`IndexManifest`).
 *
 * @example
 * const index = EmbeddingIndex.fromEmbeddings(items, emb, 128, classes, { embedding: 'embedding', modelSha256, split: 'train' });
 * index.similar(query, 1, 5)[0]; // the five most similar cases of the first query
 */
export class EmbeddingIndex {
  /** labels as class indices into `classes` */
  readonly labels: Int32Array;

  private constructor(readonly manifest: Omit<IndexManifest, 'items'>, readonly items: readonly IndexItem[], readonly vectors: Float32Array) {
    const pos = new Map(manifest.classes.map((c, i) => [c, i]));
    this.labels = Int32Array.from(items, (it) => {
      const k = pos.get(it.label);
      if (k === undefined) throw new MedclassError('MC_RETRIEVAL_BAD_INDEX', `item ${it.id}: label '${it.label}' is not one of [${manifest.classes.join(', ')}]`, { file: INDEX_FILES.items });
      return k;
    });
  }

  /** Builds an index from raw embeddings `[items.length, dim]` (normalised here; the input is not modified). */
  static fromEmbeddings(items: readonly IndexItem[], embeddings: Float32Array, dim: number, classes: readonly string[], meta: { embedding: string; modelSha256: string; split: string }): EmbeddingIndex {
    const n = items.length;
    if (embeddings.length !== n * dim) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `embeddings: expected [${n},${dim}] (${n * dim} values), got ${embeddings.length}`);
    const manifest: Omit<IndexManifest, 'items'> = { format: FORMAT, version: 1, metric: 'cosine', ...meta, count: n, dim, classes: [...classes] };
    return new EmbeddingIndex(manifest, items.map(({ id, label }) => ({ id, label })), l2Normalize(embeddings, n, dim));
  }

  /** Reads `index/` of a run directory; `MC_RETRIEVAL_NO_INDEX` when absent, `MC_RETRIEVAL_BAD_INDEX` when malformed. */
  static load(runDir: string): EmbeddingIndex {
    const itemsPath = join(runDir, INDEX_FILES.items);
    const vecPath = join(runDir, INDEX_FILES.vectors);
    if (!existsSync(itemsPath) || !existsSync(vecPath)) {
      throw new MedclassError('MC_RETRIEVAL_NO_INDEX', `${INDEX_FILES.items} or ${INDEX_FILES.vectors} is missing from the run directory`, { file: INDEX_FILES.dir, hint: 'build it with medclass index --run DIR' });
    }
    let m: IndexManifest;
    try {
      m = JSON.parse(readFileSync(itemsPath, 'utf8')) as IndexManifest;
    } catch (cause) {
      throw new MedclassError('MC_RETRIEVAL_BAD_INDEX', `${INDEX_FILES.items}: not valid JSON (${(cause as Error).message})`, { file: INDEX_FILES.items, cause });
    }
    if (m.format !== FORMAT || m.version !== 1 || !Array.isArray(m.items) || !Array.isArray(m.classes) || !(m.dim > 0) || m.items.length !== m.count) {
      throw new MedclassError('MC_RETRIEVAL_BAD_INDEX', `${INDEX_FILES.items}: expected a ${FORMAT} v1 manifest with count = items.length, got format ${String(m.format)} v${String(m.version)}, ${String(m.count)} vs ${Array.isArray(m.items) ? m.items.length : 'no'} items`, { file: INDEX_FILES.items, hint: 'rebuild it with medclass index --run DIR' });
    }
    const bytes = readFileSync(vecPath);
    if (bytes.byteLength !== m.count * m.dim * 4) {
      throw new MedclassError('MC_RETRIEVAL_BAD_INDEX', `${INDEX_FILES.vectors}: expected ${m.count}×${m.dim} float32 (${m.count * m.dim * 4} bytes), got ${bytes.byteLength} bytes`, { file: INDEX_FILES.vectors, hint: 'rebuild it with medclass index --run DIR' });
    }
    const vectors = new Float32Array(m.count * m.dim);
    new Uint8Array(vectors.buffer).set(bytes);
    const { items, ...manifest } = m;
    return new EmbeddingIndex(manifest, items, vectors);
  }

  get size(): number { return this.items.length; }
  get dim(): number { return this.manifest.dim; }
  get classes(): readonly string[] { return this.manifest.classes; }

  /** Writes `index/embeddings.f32` and `index/items.json` into `runDir` (each via a temp file and a rename). */
  save(runDir: string): void {
    mkdirSync(join(runDir, INDEX_FILES.dir), { recursive: true });
    const write = (rel: string, data: string | Uint8Array) => {
      const path = join(runDir, rel);
      const tmp = `${path}.tmp-${process.pid}`;
      writeFileSync(tmp, data);
      renameSync(tmp, path);
    };
    write(INDEX_FILES.vectors, new Uint8Array(this.vectors.buffer, this.vectors.byteOffset, this.vectors.byteLength));
    write(INDEX_FILES.items, `${JSON.stringify({ ...this.manifest, items: this.items }, null, 1)}\n`);
  }

  /** Exact cosine k-NN of raw (not necessarily normalised) query embeddings `[m, dim]` against the index. */
  search(queries: Float32Array, m: number, k: number, opts: { excludeSelf?: boolean } = {}): Neighbors {
    if (queries.length !== m * this.dim) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `queries: expected [${m},${this.dim}] (${m * this.dim} values), got ${queries.length}`, { hint: 'embed the queries with the model the index was built from' });
    return exactKnn(this.vectors, this.size, l2Normalize(queries, m, this.dim), m, this.dim, Math.min(k, this.size), opts);
  }

  /** `search` for many queries at once: similarities from onnxruntime (float32 Gemm), the same top-k. */
  async searchMany(queries: Float32Array, m: number, k: number, opts: { threads?: number } = {}): Promise<Neighbors> {
    if (queries.length !== m * this.dim) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `queries: expected [${m},${this.dim}] (${m * this.dim} values), got ${queries.length}`, { hint: 'embed the queries with the model the index was built from' });
    return exactKnnOrt(this.vectors, this.size, l2Normalize(queries, m, this.dim), m, this.dim, Math.min(k, this.size), opts);
  }

  /** `search` as case lists: per query, up to k `{index, id, label, similarity}`, most similar first. */
  similar(queries: Float32Array, m: number, k: number): SimilarCase[][] {
    return this.casesOf(this.search(queries, m, k));
  }

  /** Neighbours (of this index) as case lists, most similar first. */
  casesOf(nn: Neighbors): SimilarCase[][] {
    return Array.from({ length: nn.m }, (_, q) => {
      const out: SimilarCase[] = [];
      for (let r = 0; r < nn.k; r++) {
        const i = nn.indices[q * nn.k + r]!;
        if (i >= 0) out.push({ index: i, id: this.items[i]!.id, label: this.items[i]!.label, similarity: nn.similarities[q * nn.k + r]! });
      }
      return out;
    });
  }
}
