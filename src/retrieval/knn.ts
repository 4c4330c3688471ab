import { Session, attr, type Graph } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import type { KnnHeadOptionsInput } from './options.js';
import { KnnHeadOptions } from './options.js';

/** The k nearest items of each query, most similar first: row-major `[m, k]`; −1 / NaN pad rows with fewer than k items. */
export interface Neighbors {
  m: number;
  k: number;
  indices: Int32Array;
  /** cosine similarities (dot products of L2-normalised rows, summed in float64) */
  similarities: Float64Array;
}

const BLOCK = 8;

/** Running top-k lists of m queries (similarity descending; on ties the item seen first stays first). */
class TopK {
  readonly indices: Int32Array;
  readonly similarities: Float64Array;
  private readonly count: Int32Array;

  constructor(readonly m: number, readonly k: number) {
    this.indices = new Int32Array(m * k).fill(-1);
    this.similarities = new Float64Array(m * k).fill(NaN);
    this.count = new Int32Array(m);
  }

  offer(q: number, i: number, s: number): void {
    const { k, similarities: sim, indices: idx } = this;
    const base = q * k;
    const c = this.count[q]!;
    if (c === k && !(s > sim[base + k - 1]!)) return;
    let pos = c < k ? c : k - 1;
    while (pos > 0 && sim[base + pos - 1]! < s) {
      sim[base + pos] = sim[base + pos - 1]!;
      idx[base + pos] = idx[base + pos - 1]!;
      pos--;
    }
    sim[base + pos] = s;
    idx[base + pos] = i;
    if (c < k) this.count[q] = c + 1;
  }

  result(): Neighbors {
    return { m: this.m, k: this.k, indices: this.indices, similarities: this.similarities };
  }
}

function checkShapes(items: Float32Array, n: number, queries: Float32Array, m: number, d: number, excludeSelf: boolean | undefined): void {
  if (items.length !== n * d) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `items: expected [${n},${d}] (${n * d} values), got ${items.length}`);
  if (queries.length !== m * d) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `queries: expected [${m},${d}] (${m * d} values), got ${queries.length}`);
  if (excludeSelf && m !== n) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `excludeSelf needs the items as queries: ${m} queries, ${n} items`);
}

/**
 * Exact cosine k-NN by brute force: every query row `[m, d]` against every item row `[n, d]` (both L2-normalised, so
 * the dot product is the cosine similarity), summed in float64 in JavaScript. Ties keep the lower item index first.
 * With `excludeSelf` (queries are the items themselves) query i never returns item i — leave-one-out. Cost m·n·d
 * multiply-adds (≈ 20 ms per query against 50k × 128 on one busy core); `exactKnnOrt` is the fast path for many queries.
 *
 * @example
 * const nn = exactKnn(index.vectors, index.size, q, 1, index.dim, 5); // nn.indices[0] is the closest training case
 */
export function exactKnn(items: Float32Array, n: number, queries: Float32Array, m: number, d: number, k: number, opts: { excludeSelf?: boolean } = {}): Neighbors {
  checkShapes(items, n, queries, m, d, opts.excludeSelf);
  const top = new TopK(m, k);
  const dots = new Float64Array(BLOCK);
  for (let q0 = 0; q0 < m; q0 += BLOCK) {
    const qn = Math.min(BLOCK, m - q0);
    for (let i = 0; i < n; i++) {
      const io = i * d;
      for (let b = 0; b < qn; b++) {
        const qo = (q0 + b) * d;
        let s = 0;
        for (let j = 0; j < d; j++) s += items[io + j]! * queries[qo + j]!;
        dots[b] = s;
      }
      for (let b = 0; b < qn; b++) if (!(opts.excludeSelf && q0 + b === i)) top.offer(q0 + b, i, dots[b]!);
    }
  }
  return top.result();
}

/**
 * `exactKnn` with the similarities from one onnxruntime `Gemm` (queries × itemsᵀ, float32) per chunk of `chunk`
 * queries, then the same top-k scan: exact up to float32 rounding of the similarities (≈ 1e-7), for bulk queries
 * (a k-NN head over a test split, the k-NN graph of a map).
 */
export async function exactKnnOrt(items: Float32Array, n: number, queries: Float32Array, m: number, d: number, k: number, opts: { excludeSelf?: boolean; threads?: number; chunk?: number } = {}): Promise<Neighbors> {
  checkShapes(items, n, queries, m, d, opts.excludeSelf);
  const top = new TopK(m, k);
  if (m === 0 || n === 0) return top.result();
  const graph: Graph = {
    name: 'cosine-similarities', opset: 17, initializers: new Map(), valueInfo: new Map(),
    inputs: [{ name: 'q', dtype: 'float32', dims: ['M', d] }, { name: 'items', dtype: 'float32', dims: ['N', d] }],
    outputs: [{ name: 'sims', dtype: 'float32', dims: ['M', 'N'] }],
    nodes: [{ opType: 'Gemm', name: 'sims', domain: '', inputs: ['q', 'items'], outputs: ['sims'], attrs: { transB: attr.int(1) } }],
  };
  const session = await Session.create(graph, opts.threads ? { threads: opts.threads } : {});
  try {
    const itemsT = { dtype: 'float32' as const, dims: [n, d], data: items };
    const chunk = opts.chunk ?? Math.max(1, Math.min(1024, Math.floor(16_000_000 / n)));
    for (let q0 = 0; q0 < m; q0 += chunk) {
      const qn = Math.min(chunk, m - q0);
      const r = await session.run({ q: { dtype: 'float32', dims: [qn, d], data: queries.slice(q0 * d, (q0 + qn) * d) }, items: itemsT }, ['sims']);
      const sims = r.sims!.data as Float32Array;
      for (let b = 0; b < qn; b++) {
        const q = q0 + b;
        const row = b * n;
        for (let i = 0; i < n; i++) if (!(opts.excludeSelf && q === i)) top.offer(q, i, sims[row + i]!);
      }
    }
  } finally {
    await session.dispose();
  }
  return top.result();
}

/**
 * k-NN classifier probabilities `[m, classes]` from neighbours (the first `k` of each row) and the items' labels:
 * votes weighted 1/(1 − cosine similarity) (`weights: 'distance'`; a neighbour at distance 0 takes every vote, as
 * scikit-learn's `KNeighborsClassifier(metric='cosine', weights='distance').predict_proba`) or 1 each (`'uniform'`),
 * normalised to sum to 1.
 */
export function knnVote(nn: Neighbors, labels: Int32Array, classes: number, options: KnnHeadOptionsInput = {}): Float64Array {
  const o = KnnHeadOptions.parse(options);
  const k = Math.min(o.k, nn.k);
  const out = new Float64Array(nn.m * classes);
  for (let q = 0; q < nn.m; q++) {
    const base = q * nn.k;
    const row = out.subarray(q * classes, (q + 1) * classes);
    let exact = false;
    if (o.weights === 'distance') {
      for (let r = 0; r < k; r++) if (nn.indices[base + r]! >= 0 && 1 - nn.similarities[base + r]! <= 0) exact = true;
    }
    for (let r = 0; r < k; r++) {
      const i = nn.indices[base + r]!;
      if (i < 0) continue;
      const dist = Math.max(0, 1 - nn.similarities[base + r]!);
      const w = o.weights === 'uniform' ? 1 : exact ? (dist === 0 ? 1 : 0) : 1 / dist;
      row[labels[i]!] = row[labels[i]!]! + w;
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += row[c]!;
    for (let c = 0; c < classes; c++) row[c] = sum > 0 ? row[c]! / sum : 1 / classes;
  }
  return out;
}
