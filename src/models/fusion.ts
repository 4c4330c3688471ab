import type { LayerBuilder, Sym } from '../engine/index.js';

/** Name of the tabular graph input of a fusion model: `tab` [N,F] float32, encoded as the run's `tabular.json` says. */
export const TABULAR_INPUT = 'tab';

/**
 * Early fusion (feature-level): declares the graph input `tab` [N,F] and concatenates it to the image embedding [N,D] → [N,D+F]
 * (tap `fused`), which the classifier head then reads (dropout, linear or MLP). With F = 0 the embedding comes back
 * unchanged and the network has its one image input. Concat's gradient is a Slice of dY per input, so the image
 * trunk and the head train jointly on both inputs.
 *
 * @example
 * h = fuseTabular(b, b.tap(pooled, 'embedding'), 21);   // [N,128] ⊕ [N,21] → [N,149]
 * return b.linear(b.dropout(h, 0.2, 'drop'), 'fc', { out: 7 });
 */
export function fuseTabular(b: LayerBuilder, embedding: Sym, features: number): Sym {
  if (features <= 0) return embedding;
  const tab = b.input(TABULAR_INPUT, ['N', features]);
  return b.tap(b.concat([embedding, tab], 1), 'fused');
}
