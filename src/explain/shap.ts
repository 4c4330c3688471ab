import type { TabularEncoder } from '../data/index.js';
import { MedclassError } from '../errors.js';

/** One Shapley player: an original tabular column and the encoded features `[start, end)` that belong to it. */
export interface ShapPlayer {
  column: string;
  start: number;
  end: number;
}

/** Exact enumeration is refused above this many players (2^M model evaluations per prediction). */
export const MAX_EXACT_PLAYERS = 16;

/**
 * The players of a tabular encoder, one per original column in input order: a numeric column owns its value and
 * its missing indicator, a categorical column all its one-hot slots and its other/unknown slot (so `localization`
 * is one player, never 15).
 *
 * @example
 * shapPlayers(enc); // [{column: 'age', start: 0, end: 2}, {column: 'sex', start: 2, end: 6}, …]
 */
export function shapPlayers(enc: TabularEncoder): ShapPlayer[] {
  const out: ShapPlayer[] = [];
  let j = 0;
  for (const n of enc.numeric) { out.push({ column: n.column, start: j, end: j + 2 }); j += 2; }
  for (const c of enc.categorical) { out.push({ column: c.column, start: j, end: j + c.values.length + 1 }); j += c.values.length + 1; }
  return out;
}

/** The mean encoded row `[F]` of `rows` `[N, F]` (the train-set reference input of the Shapley values). */
export function meanRow(rows: Float32Array, features: number): Float32Array {
  const n = rows.length / features;
  if (!(n >= 1) || !Number.isInteger(n)) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `meanRow: ${rows.length} values are not N ≥ 1 rows of ${features} features`);
  const acc = new Float64Array(features);
  for (let i = 0; i < n; i++) for (let f = 0; f < features; f++) acc[f]! += rows[i * features + f]!;
  return Float32Array.from(acc, (v) => v / n);
}

/**
 * The 2^M coalition inputs of one row `x` `[F]`: row s (a bitmask over the M players) takes the features of every
 * player whose bit is set from `x`, the others from `baseline`. Row 0 is the baseline, row 2^M − 1 is `x` itself.
 */
export function coalitionRows(x: ArrayLike<number>, baseline: ArrayLike<number>, players: readonly ShapPlayer[]): Float32Array {
  const f = baseline.length;
  const m = players.length;
  if (m > MAX_EXACT_PLAYERS) throw new MedclassError('MC_EXPLAIN_TOO_MANY_PLAYERS', `exact Shapley values over ${m} players need 2^${m} evaluations per row; at most ${MAX_EXACT_PLAYERS} players`);
  if (x.length !== f) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `coalitionRows: x has ${x.length} features, baseline ${f}`);
  const out = new Float32Array((1 << m) * f);
  for (let s = 0; s < 1 << m; s++) {
    const row = out.subarray(s * f, (s + 1) * f);
    for (let j = 0; j < f; j++) row[j] = baseline[j]!;
    players.forEach((p, i) => {
      if (s & (1 << i)) for (let j = p.start; j < p.end; j++) row[j] = x[j]!;
    });
  }
  return out;
}

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

/**
 * Exact Shapley values (Shapley 1953) from the values `v[s]` of all 2^M coalitions s (bitmask over M players):
 * φ_i = Σ_{S ∌ i} |S|!(M−|S|−1)!/M! · (v(S ∪ {i}) − v(S)). They sum to v(all) − v(∅) (efficiency).
 * `v` may hold K values per coalition (`stride` K, e.g. one logit per class); the result is `[K, M]`.
 */
export function shapleyFromCoalitions(v: ArrayLike<number>, players: number, stride = 1): Float64Array {
  const size = 1 << players;
  if (v.length !== size * stride) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `shapleyFromCoalitions: expected ${size}×${stride} values, got ${v.length}`);
  const weight = Array.from({ length: players }, (_, s) => (factorial(s) * factorial(players - s - 1)) / factorial(players));
  const bits = (s: number) => { let c = 0; for (let t = s; t; t &= t - 1) c++; return c; };
  const phi = new Float64Array(stride * players);
  for (let s = 0; s < size; s++) {
    const w = weight[bits(s)];
    for (let i = 0; i < players; i++) {
      if (s & (1 << i)) continue;
      const t = s | (1 << i);
      for (let k = 0; k < stride; k++) phi[k * players + i]! += w! * (v[t * stride + k]! - v[s * stride + k]!);
    }
  }
  return phi;
}

/** Shapley values of one prediction: per class k and player i, `values[k·M + i]`, with the logits they explain. */
export interface RowShapley {
  /** φ `[K, M]` (class-major) of the logits */
  values: Float64Array;
  /** the logits of the row itself `[K]` */
  logits: Float64Array;
  /** the logits of the baseline (reference) input `[K]`: Σ_i φ_{k,i} = logits[k] − baseLogits[k] */
  baseLogits: Float64Array;
}

/**
 * Exact Shapley values of a model's logits over tabular players, for each row of `x` `[N, F]` against one
 * `baseline` `[F]` (interventional, single reference): `f(rows, n)` returns logits `[n, K]` for `n` encoded rows
 * (a model whose other inputs, e.g. the image, are held fixed for row `r`). 2^M evaluations per row.
 *
 * @example
 * const [r] = await exactShapley((rows, n) => model(rows, n), x, meanRow(trainRows, F), shapPlayers(enc), 7);
 * r.values; // [7·M], Σ over players = r.logits[k] − r.baseLogits[k]
 */
export async function exactShapley(
  f: (rows: Float32Array, n: number, row: number) => Promise<ArrayLike<number>>, x: Float32Array, baseline: Float32Array, players: readonly ShapPlayer[], classes: number,
): Promise<RowShapley[]> {
  const feats = baseline.length;
  const n = x.length / feats;
  const m = players.length;
  const size = 1 << m;
  const out: RowShapley[] = [];
  for (let r = 0; r < n; r++) {
    const rows = coalitionRows(x.subarray(r * feats, (r + 1) * feats), baseline, players);
    const v = await f(rows, size, r);
    if (v.length !== size * classes) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `exactShapley: the model gave ${v.length} logits for ${size} rows × ${classes} classes`);
    out.push({
      values: shapleyFromCoalitions(v, m, classes),
      logits: Float64Array.from({ length: classes }, (_, k) => v[(size - 1) * classes + k]!),
      baseLogits: Float64Array.from({ length: classes }, (_, k) => v[k]!),
    });
  }
  return out;
}

/** Global importance: the mean |φ| of each player over rows, for the class `target[r]` of each row (e.g. its prediction). */
export function meanAbsShap(rows: readonly RowShapley[], players: number, target: readonly number[]): Float64Array {
  const acc = new Float64Array(players);
  rows.forEach((r, j) => {
    for (let i = 0; i < players; i++) acc[i]! += Math.abs(r.values[target[j]! * players + i]!);
  });
  return acc.map((v) => (rows.length ? v / rows.length : NaN));
}
