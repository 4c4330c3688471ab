import { UMAP } from 'umap-js';
import type { Rng } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import { exactKnn, type Neighbors } from './knn.js';
import { UmapOptions, type UmapOptionsInput } from './options.js';

/**
 * UMAP (McInnes, Healy & Melville 2018, arXiv:1802.03426) of L2-normalised rows `[n, d]` to 2-D, `[n, 2]` row-major.
 * The fuzzy graph is built from our exact cosine k-NN (distance 1 − similarity, each point its own first neighbour,
 * as umap-learn's), then umap-js 1.4.0 lays it out from a random start; every random draw comes from `rng`, so the
 * same seed gives the same map. Needs n ≥ 3 (`nNeighbors` is capped at n − 1). `neighbors` may pass that k-NN in,
 * precomputed (e.g. by `exactKnnOrt`, the rows as their own queries, at least `nNeighbors` per row).
 */
export function umap2d(vectors: Float32Array, n: number, d: number, rng: Rng, options: UmapOptionsInput = {}, neighbors?: Neighbors): Float32Array {
  const o = UmapOptions.parse(options);
  if (n < 3) throw new MedclassError('MC_RETRIEVAL_TOO_FEW', `UMAP needs at least 3 cases, got ${n}`, { hint: 'index a larger training split' });
  const k = Math.min(o.nNeighbors, n - 1);
  if (neighbors && (neighbors.m !== n || neighbors.k < k)) {
    throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `neighbors: expected ${n} rows of ≥ ${k}, got ${neighbors.m} rows of ${neighbors.k}`);
  }
  const nn = neighbors ?? exactKnn(vectors, n, vectors, n, d, k);
  const knnIndices: number[][] = [];
  const knnDistances: number[][] = [];
  for (let i = 0; i < n; i++) {
    const idx = Array.from(nn.indices.subarray(i * nn.k, i * nn.k + k));
    const dist = Array.from(nn.similarities.subarray(i * nn.k, i * nn.k + k), (s) => Math.max(0, 1 - s));
    // the point itself first, at distance 0 (an exact duplicate may have outranked it on a tie)
    const self = idx.indexOf(i);
    if (self > 0) {
      idx.splice(self, 1);
      dist.splice(self, 1);
      idx.unshift(i);
      dist.unshift(0);
    } else if (self === 0) dist[0] = 0;
    knnIndices.push(idx);
    knnDistances.push(dist);
  }
  const random = rng.fork('umap');
  const umap = new UMAP({ nComponents: 2, nNeighbors: k, minDist: o.minDist, spread: o.spread, nEpochs: o.nEpochs, random: () => random.uniform() });
  umap.setPrecomputedKNN(knnIndices, knnDistances);
  // umap-js only reads the rows' count once the k-NN is given
  const xy = umap.fit(Array.from({ length: n }, () => [] as number[]));
  const out = new Float32Array(n * 2);
  xy.forEach((p, i) => { out[2 * i] = p[0]!; out[2 * i + 1] = p[1]!; });
  return out;
}

/**
 * Leave-one-out k-NN accuracy of 2-D points `[n, 2]` (Euclidean, majority vote, ties to the lowest class index):
 * how well a map keeps the classes apart. Chance is about the majority-class share.
 */
export function mapNeighborAccuracy(xy: Float32Array, labels: Int32Array, classes: number, k = 5): number {
  const n = labels.length;
  if (n < 2) return NaN;
  const kk = Math.min(k, n - 1);
  let hits = 0;
  const bestD = new Float64Array(kk);
  const bestI = new Int32Array(kk);
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const dj = (xy[2 * i]! - xy[2 * j]!) ** 2 + (xy[2 * i + 1]! - xy[2 * j + 1]!) ** 2;
      if (c === kk && !(dj < bestD[kk - 1]!)) continue;
      let pos = c < kk ? c : kk - 1;
      while (pos > 0 && bestD[pos - 1]! > dj) {
        bestD[pos] = bestD[pos - 1]!;
        bestI[pos] = bestI[pos - 1]!;
        pos--;
      }
      bestD[pos] = dj;
      bestI[pos] = j;
      if (c < kk) c++;
    }
    const votes = new Int32Array(classes);
    for (let r = 0; r < c; r++) votes[labels[bestI[r]!]!]!++;
    let best = 0;
    for (let v = 1; v < classes; v++) if (votes[v]! > votes[best]!) best = v;
    if (best === labels[i]) hits++;
  }
  return hits / n;
}
