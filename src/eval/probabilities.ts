/**
 * Row-wise softmax of logits [N, K] divided by a temperature, in float64 with the max subtracted
 * (as scipy.special.softmax). Returns probabilities [N, K].
 */
export function softmax(logits: Float64Array, classes: number, temperature = 1): Float64Array {
  const n = logits.length / classes;
  const out = new Float64Array(logits.length);
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    let m = -Infinity;
    for (let k = 0; k < classes; k++) m = Math.max(m, logits[o + k]! / temperature);
    let s = 0;
    for (let k = 0; k < classes; k++) {
      const e = Math.exp(logits[o + k]! / temperature - m);
      out[o + k] = e;
      s += e;
    }
    for (let k = 0; k < classes; k++) out[o + k]! /= s;
  }
  return out;
}

/** Index of the largest value per row of a [N, K] matrix (first index on ties, as numpy.argmax). */
export function argmaxRows(scores: Float64Array, classes: number): Int32Array {
  const n = scores.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    let best = 0;
    for (let k = 1; k < classes; k++) if (scores[o + k]! > scores[o + best]!) best = k;
    out[i] = best;
  }
  return out;
}

/** Column `k` of a row-major [N, K] matrix as a new Float64Array [N]. */
export function column(matrix: Float64Array, classes: number, k: number): Float64Array {
  const n = matrix.length / classes;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = matrix[i * classes + k]!;
  return out;
}
