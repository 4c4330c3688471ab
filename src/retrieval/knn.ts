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

/**
 * Exact cosine k-NN by brute force: every query row `[m, d]` against every item row `[n, d]` (both L2-normalised, so
 * the dot product is the cosine similarity). Ties keep the lower item index first. With `excludeSelf` (queries are
 * the items themselves) query i never returns item i — leave-one-out. Cost m·n·d multiply-adds; 50k items × 128 dims
 * is a few ms per query.
 *
 * @example
 * const nn = exactKnn(index.vectors, index.size, q, 1, index.dim, 5); // nn.indices[0] is the closest training case
 */
export function exactKnn(items: Float32Array, n: number, queries: Float32Array, m: number, d: number, k: number, opts: { excludeSelf?: boolean } = {}): Neighbors {
  if (items.length !== n * d) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `items: expected [${n},${d}] (${n * d} values), got ${items.length}`);
  if (queries.length !== m * d) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `queries: expected [${m},${d}] (${m * d} values), got ${queries.length}`);
  if (opts.excludeSelf && m !== n) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `excludeSelf needs the items as queries: ${m} queries, ${n} items`);
  const indices = new Int32Array(m * k).fill(-1);
  const similarities = new Float64Array(m * k).fill(NaN);
  const count = new Int32Array(m);
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
      for (let b = 0; b < qn; b++) {
        const q = q0 + b;
        if (opts.excludeSelf && q === i) continue;
        const s = dots[b]!;
        const base = q * k;
        const c = count[q]!;
        if (c === k && !(s > similarities[base + k - 1]!)) continue;
        // insert after every entry ≥ s (earlier items win ties)
        let pos = c < k ? c : k - 1;
        while (pos > 0 && similarities[base + pos - 1]! < s) {
          similarities[base + pos] = similarities[base + pos - 1]!;
          indices[base + pos] = indices[base + pos - 1]!;
          pos--;
        }
        similarities[base + pos] = s;
        indices[base + pos] = i;
        if (c < k) count[q] = c + 1;
      }
    }
  }
  return { m, k, indices, similarities };
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
