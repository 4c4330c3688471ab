import type { Network } from '../engine/index.js';

/** Copies of every parameter and buffer of `net`. */
export function copyWeights(net: Network): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const [n, d] of [...net.params, ...net.buffers]) m.set(n, d.slice());
  return m;
}

/** Writes saved weights back into `net` in place. */
export function loadWeights(net: Network, weights: ReadonlyMap<string, Float32Array>): void {
  for (const [n, d] of weights) (net.params.get(n) ?? net.buffers.get(n))?.set(d);
}
