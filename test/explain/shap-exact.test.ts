import { describe, expect, it } from 'vitest';
import { fitTabularEncoder, encodeTabular } from '../../src/data/index.js';
import { Rng } from '../../src/engine/index.js';
import { coalitionRows, exactShapley, meanAbsShap, meanRow, shapPlayers, shapleyFromCoalitions } from '../../src/explain/index.js';

// Synthetic metadata in HAM10000's shape: one numeric column (age, some missing) and two categorical ones.
const rng = new Rng(7);
const sites = ['back', 'face', 'trunk', 'scalp'];
const meta = Array.from({ length: 60 }, (_, i) => ({
  age: i % 9 === 0 ? null : 20 + rng.int(0, 60), sex: ['male', 'female', 'unknown'][rng.int(0, 3)]!, localization: sites[rng.int(0, 4)]!, site: i % 2 ? 'a' : 'b',
}));
const enc = fitTabularEncoder(meta, { numeric: ['age'], categorical: ['sex', 'localization', 'site'] });
const F = enc.features.length;
const rows = encodeTabular(enc, meta);
const base = meanRow(rows, F);
const players = shapPlayers(enc);
const M = players.length;
const K = 3;

/** A linear model logits = W x + b, evaluated in float64 and returned as float32 like a session's output. */
const W = Array.from({ length: K * F }, () => rng.normal());
const linear = async (x: Float32Array, n: number) => Float32Array.from({ length: n * K }, (_, t) => {
  const i = Math.floor(t / K); const k = t % K;
  let s = 0.5 * k;
  for (let j = 0; j < F; j++) s += W[k * F + j]! * x[i * F + j]!;
  return s;
});

/** A small tanh MLP (not additive, so players interact). */
const H = 5;
const W1 = Array.from({ length: H * F }, () => rng.normal());
const W2 = Array.from({ length: K * H }, () => rng.normal());
const mlp = (x: ArrayLike<number>): number[] => {
  const h = Array.from({ length: H }, (_, u) => Math.tanh(Array.from({ length: F }, (_, j) => W1[u * F + j]! * x[j]!).reduce((a, b) => a + b, 0)));
  return Array.from({ length: K }, (_, k) => h.reduce((a, v, u) => a + W2[k * H + u]! * v, 0));
};
const mlpBatch = async (x: Float32Array, n: number) => Float64Array.from({ length: n * K }, (_, t) => mlp(x.subarray(Math.floor(t / K) * F, Math.floor(t / K) * F + F))[t % K]!);

/** Reference by the other definition: the mean marginal contribution over all M! orderings of the players. */
function permutationShapley(x: ArrayLike<number>, model: (x: ArrayLike<number>) => number[]): number[][] {
  const perms: number[][] = [];
  const permute = (prefix: number[], rest: number[]) => {
    if (!rest.length) { perms.push(prefix); return; }
    rest.forEach((r, i) => permute([...prefix, r], [...rest.slice(0, i), ...rest.slice(i + 1)]));
  };
  permute([], players.map((_, i) => i));
  const phi = Array.from({ length: K }, () => new Array<number>(M).fill(0));
  for (const order of perms) {
    const cur = Float64Array.from(base);
    let prev = model(cur);
    for (const i of order) {
      for (let j = players[i]!.start; j < players[i]!.end; j++) cur[j] = x[j]!;
      const next = model(cur);
      for (let k = 0; k < K; k++) phi[k]![i]! += (next[k]! - prev[k]!) / perms.length;
      prev = next;
    }
  }
  return phi;
}

describe('exact Shapley values over encoded column groups', () => {
  it('makes one player per original column, covering every encoded feature once', () => {
    expect(players.map((p) => p.column)).toEqual(['age', 'sex', 'localization', 'site']);
    expect(players.map((p) => p.end - p.start)).toEqual([2, 4, 5, 3]);
    expect(players.at(-1)!.end).toBe(F);
    const c = coalitionRows(rows.subarray(0, F), base, players);
    expect(Array.from(c.subarray(0, F))).toEqual(Array.from(base));
    expect(Array.from(c.subarray((2 ** M - 1) * F))).toEqual(Array.from(rows.subarray(0, F)));
  });

  it('gives φ_i = Σ_{j∈i} w_j (x_j − E x_j) for a linear model (closed form) and sums to logit − baseline logit', async () => {
    const x = rows.subarray(0, 10 * F);
    const res = await exactShapley(linear, x, base, players, K);
    res.forEach((r, n) => {
      for (let k = 0; k < K; k++) {
        players.forEach((p, i) => {
          let want = 0;
          for (let j = p.start; j < p.end; j++) want += W[k * F + j]! * (x[n * F + j]! - base[j]!);
          expect(r.values[k * M + i]).toBeCloseTo(want, 4); // float32 logits: ~1e-5 absolute
        });
        const sum = players.reduce((a, _, i) => a + r.values[k * M + i]!, 0);
        expect(Math.abs(sum - (r.logits[k]! - r.baseLogits[k]!))).toBeLessThan(1e-5);
      }
    });
  });

  it('agrees with the all-orderings definition on an MLP whose players interact', async () => {
    const x = rows.subarray(F * 3, F * 8);
    const res = await exactShapley(mlpBatch, x, base, players, K);
    res.forEach((r, n) => {
      const ref = permutationShapley(x.subarray(n * F, (n + 1) * F), mlp);
      for (let k = 0; k < K; k++) for (let i = 0; i < M; i++) expect(Math.abs(r.values[k * M + i]! - ref[k]![i]!)).toBeLessThan(1e-9);
      const full = mlp(x.subarray(n * F, (n + 1) * F)); const b = mlp(base);
      for (let k = 0; k < K; k++) expect(Math.abs(r.values.subarray(k * M, (k + 1) * M).reduce((a, v) => a + v, 0) - (full[k]! - b[k]!))).toBeLessThan(1e-9);
    });
    const g = meanAbsShap(res, M, res.map(() => 0));
    expect(g[0]).toBeCloseTo(res.reduce((a, r) => a + Math.abs(r.values[0]!), 0) / res.length, 12);
  });

  it('gives a player outside every coalition difference φ = 0 (dummy) and refuses a wrong-length value table', () => {
    // v depends on player 0 only: v(S) = 3 when 0 ∈ S
    const v = Float64Array.from({ length: 8 }, (_, s) => (s & 1 ? 3 : 0));
    expect(Array.from(shapleyFromCoalitions(v, 3))).toEqual([3, 0, 0]);
    expect(() => shapleyFromCoalitions(new Float64Array(7), 3)).toThrow(/expected 8×1 values/);
    const many = Array.from({ length: 17 }, (_, i) => ({ column: `c${i}`, start: i, end: i + 1 }));
    expect(() => coalitionRows(new Float32Array(17), new Float32Array(17), many)).toThrow(expect.objectContaining({ code: 'MC_EXPLAIN_TOO_MANY_PLAYERS' }));
  });
});
