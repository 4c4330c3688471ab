import { resampleBilinear } from '../data/index.js';

/** A single-channel map `[h,w]` in row-major order. */
export interface Map2d {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * Grad-CAM channel weights α_c = mean over h,w of dScore/dA_c (Selvaraju et al. 2017, eq. 1; pytorch-grad-cam's
 * `GradCAM.get_cam_weights`), for one image's gradient `[C,h,w]`.
 */
export function gradCamWeights(grad: Float32Array, c: number, hw: number): Float64Array {
  const alpha = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = ch * hw; i < (ch + 1) * hw; i++) s += grad[i]!;
    alpha[ch] = s / hw;
  }
  return alpha;
}

/**
 * Σ_c w_c A_c for one image's feature map `A` `[C,h,w]` (weights as long as C), then ReLU unless `relu` is false:
 * Grad-CAM with α_c, plain CAM with the classifier row W[k].
 */
export function weightedMap(a: Float32Array, weights: ArrayLike<number>, h: number, w: number, relu = true): Map2d {
  const hw = h * w;
  const out = new Float64Array(hw);
  for (let ch = 0; ch < weights.length; ch++) {
    const wc = weights[ch]!;
    if (wc === 0) continue;
    const base = ch * hw;
    for (let i = 0; i < hw; i++) out[i] += wc * a[base + i]!;
  }
  const data = new Float32Array(hw);
  for (let i = 0; i < hw; i++) data[i] = relu ? Math.max(0, out[i]!) : out[i]!;
  return { width: w, height: h, data };
}

/** Bilinear resize with half-pixel centres (align_corners = false, edges clamped), as cv2.resize / torch interpolate. */
export function upsampleBilinear(m: Map2d, width: number, height: number): Map2d {
  return { width, height, data: resampleBilinear(m.data, m.width, m.height, width, height) };
}

/** (m − min) / (max − min), so the map spans [0,1]; a constant map becomes all zeros (nothing to show). */
export function normalizeMap(m: Map2d): Map2d {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of m.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi - lo;
  const data = new Float32Array(m.data.length);
  if (span > 0 && Number.isFinite(span)) for (let i = 0; i < data.length; i++) data[i] = (m.data[i]! - lo) / span;
  return { ...m, data };
}

/** Position of the largest value (first in row-major order on ties), in pixel coordinates of the map. */
export function mapPeak(m: Map2d): { x: number; y: number; value: number } {
  let best = 0;
  for (let i = 1; i < m.data.length; i++) if (m.data[i]! > m.data[best]!) best = i;
  return { x: best % m.width, y: Math.floor(best / m.width), value: m.data[best]! };
}
