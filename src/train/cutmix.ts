import type { Rng } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import { sampleBeta } from './augment.js';

/** One batch's CutMix parameters: the partner of each row and the pasted box (rows y0..y1−1, columns x0..x1−1). */
export interface CutMixDraw {
  /** Row i receives the box from row `perm[i]`. */
  perm: readonly number[];
  y0: number;
  y1: number;
  x0: number;
  x1: number;
  /** Weight of each row's own label: 1 − (box area)/(H·W), after clipping the box to the image. */
  lam: number;
}

/**
 * Draws CutMix parameters for a batch of `n` images of `h`×`w` (Yun et al. 2019, "CutMix", Algorithm A1):
 * λ ~ Beta(α, α), a box of `w·√(1−λ)` × `h·√(1−λ)` around a uniform centre, clipped to the image; λ is then
 * recomputed from the clipped area so that the label weights equal the pixel shares exactly.
 */
export function drawCutMix(n: number, h: number, w: number, alpha: number, rng: Rng): CutMixDraw {
  const lam0 = sampleBeta(alpha, rng);
  const cut = Math.sqrt(1 - lam0);
  const cw = Math.floor(w * cut);
  const ch = Math.floor(h * cut);
  const cx = rng.int(0, w);
  const cy = rng.int(0, h);
  const x0 = Math.min(Math.max(cx - Math.floor(cw / 2), 0), w);
  const x1 = Math.min(Math.max(cx + Math.floor(cw / 2), 0), w);
  const y0 = Math.min(Math.max(cy - Math.floor(ch / 2), 0), h);
  const y1 = Math.min(Math.max(cy + Math.floor(ch / 2), 0), h);
  const perm = rng.permutation(n);
  return { perm, x0, x1, y0, y1, lam: 1 - ((x1 - x0) * (y1 - y0)) / (w * h) };
}

/**
 * Applies a `CutMixDraw` in place to `x` `[N,C,H,W]` (every channel of the box comes from the partner row) and
 * returns the soft targets `[N,K]`: λ on the row's own label, 1 − λ on its partner's.
 */
export function applyCutMix(x: Float32Array, dims: readonly number[], labels: Int32Array, numClasses: number, d: CutMixDraw): Float32Array {
  const [n, c, h, w] = dims as [number, number, number, number];
  const size = c * h * w;
  const src = x.slice();
  const targets = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const j = d.perm[i]!;
    for (let ch = 0; ch < c; ch++) {
      for (let y = d.y0; y < d.y1; y++) {
        const row = ch * h * w + y * w;
        for (let xx = d.x0; xx < d.x1; xx++) x[i * size + row + xx] = src[j * size + row + xx]!;
      }
    }
    targets[i * numClasses + labels[i]!]! += d.lam;
    targets[i * numClasses + labels[j]!]! += 1 - d.lam;
  }
  return targets;
}

/**
 * CutMix on one batch `[N,C,H,W]` in place, its draws from `rng`; returns soft targets `[N,K]` for a soft-label loss.
 * Needs image-shaped input (`MC_TRAIN_BAD_CONFIG` for `[N,D]`, e.g. a cached head phase's embeddings).
 *
 * @example
 * const targets = cutmixBatch(xBuf, [32, 1, 28, 28], labels, 2, 1.0, epochRng.fork('cutmix'));
 */
export function cutmixBatch(x: Float32Array, dims: readonly number[], labels: Int32Array, numClasses: number, alpha: number, rng: Rng): Float32Array {
  if (dims.length !== 4) {
    throw new MedclassError('MC_TRAIN_BAD_CONFIG', `fit.cutmix: needs image-shaped input [N,C,H,W], got [${dims.join(',')}]`, {
      hint: 'cached head phases train on [N,D] embeddings: use mixup there, or turn cacheTrunk off',
    });
  }
  return applyCutMix(x, dims, labels, numClasses, drawCutMix(dims[0]!, dims[2]!, dims[3]!, alpha, rng));
}
