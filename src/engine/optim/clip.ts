/**
 * Scales gradients in place so their global L2 norm is at most `maxNorm`, as torch.nn.utils.clip_grad_norm_
 * (norm_type 2): coefficient maxNorm / (norm + 1e-6), clamped to 1. Returns the norm before clipping.
 */
export function clipGradNorm(grads: Iterable<Float32Array>, maxNorm: number): number {
  const list = [...grads];
  let sq = 0;
  for (const g of list) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  const norm = Math.sqrt(sq);
  const coef = Math.min(maxNorm / (norm + 1e-6), 1);
  if (coef < 1) for (const g of list) for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
  return norm;
}
