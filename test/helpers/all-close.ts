/** Options for `expectAllClose`: elementwise |a − e| ≤ atol + rtol·|e| (NumPy's allclose). */
export interface AllCloseOptions {
  rtol?: number;
  atol?: number;
  /** Names the tensor in the failure message. */
  label?: string;
  /** Dims used to print the worst index as a multi-index. */
  dims?: readonly number[];
}

function multiIndex(i: number, dims: readonly number[] | undefined): string {
  if (!dims || dims.length === 0) return `${i}`;
  const idx: number[] = [];
  let rem = i;
  for (let d = dims.length - 1; d >= 0; d--) { idx.unshift(rem % dims[d]!); rem = Math.floor(rem / dims[d]!); }
  return `[${idx.join(',')}]`;
}

/**
 * Throws, naming the label, shape, worst index and both values, unless `actual` and `expected` agree elementwise
 * within `atol + rtol·|expected|` (defaults rtol 1e-5, atol 1e-6).
 */
export function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: AllCloseOptions = {}): void {
  const { rtol = 1e-5, atol = 1e-6, label = 'tensor', dims } = opts;
  const shape = dims ? `[${dims.join(',')}]` : `(${expected.length})`;
  if (actual.length !== expected.length) throw new Error(`${label} ${shape}: expected ${expected.length} values, got ${actual.length}`);
  let worst = -1, worstExcess = 0, bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (excess > 0 || Number.isNaN(a) !== Number.isNaN(e)) {
      bad++;
      if (worst < 0 || excess > worstExcess || Number.isNaN(a)) { worst = i; worstExcess = excess; }
    }
  }
  if (bad > 0) {
    const a = actual[worst]!, e = expected[worst]!;
    throw new Error(`${label} ${shape}: ${bad} of ${expected.length} values differ (rtol ${rtol}, atol ${atol}); worst at ${multiIndex(worst, dims)}: actual ${a}, expected ${e} (|diff| ${Math.abs(a - e).toExponential(3)})`);
  }
}

/** max|a − e| / max|e|: the fixtures' error measure (0 when both are all zero). */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let err = 0, ref = 0;
  for (let i = 0; i < expected.length; i++) { err = Math.max(err, Math.abs(actual[i]! - expected[i]!)); ref = Math.max(ref, Math.abs(expected[i]!)); }
  return ref === 0 ? err : err / ref;
}
