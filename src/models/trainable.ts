import type { Network } from '../engine/index.js';
import { MedclassError } from '../errors.js';

/**
 * Parameter names to train for a phase: `'all'`, `'head'` (the classifier only, trunk frozen), or `'last:N'`
 * (the head plus the last N weight layers of the trunk). Weight layers are counted in topological order: each
 * layer with a ≥ 2-D weight (a conv or linear) starts one, and the layers after it that only have vectors
 * (batch-norm, layer-norm) belong to it. For an imported backbone (BN folded) the weight layers are its Conv nodes.
 */
export function selectTrainable(net: Pick<Network, 'params' | 'layers' | 'head' | 'shapes'>, spec: string): string[] {
  if (spec === 'all') return [...net.params.keys()];
  if (spec === 'head') return [...net.head];
  const m = /^last:(\d+)$/.exec(spec);
  if (!m) {
    throw new MedclassError('MC_MODELS_BAD_CONFIG', `trainable '${spec}' is not 'all', 'head' or 'last:N'`, { hint: "e.g. 'last:4'" });
  }
  const head = new Set(net.head);
  const units: string[][] = [];
  for (const layer of net.layers) {
    if (layer.params.every((p) => head.has(p))) continue;
    const starts = layer.params.some((p) => (net.shapes.get(p)?.length ?? 0) >= 2);
    if (starts || units.length === 0) units.push([...layer.params]);
    else units.at(-1)!.push(...layer.params);
  }
  const n = Number(m[1]);
  return [...units.slice(Math.max(0, units.length - n)).flat(), ...net.head];
}
