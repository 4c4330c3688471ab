/**
 * Row-wise L2 normalisation of `x` `[n, d]` into a new Float32Array (norms summed in float64). A zero row stays
 * zero, so its cosine similarity to everything is 0.
 */
export function l2Normalize(x: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * d; j < (i + 1) * d; j++) s += x[j]! * x[j]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = i * d; j < (i + 1) * d; j++) out[j] = x[j]! * inv;
  }
  return out;
}

/** Rows `rows` of `x` `[n, d]` as a new `[rows.length, d]` array. */
export function takeRows(x: Float32Array, d: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(x.subarray(r * d, (r + 1) * d), i * d));
  return out;
}
