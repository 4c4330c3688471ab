import type { DecodedImage } from './types.js';

/**
 * HWC uint8 pixels → `channels` float planes (0–255) at the source size. Alpha is flattened onto black
 * (colour × alpha/255). RGB → grey uses ITU-R 601-2 luma (0.299, 0.587, 0.114) in PIL's `convert('L')` integer
 * form, `(19595·R + 38470·G + 7471·B + 2¹⁵) >> 16`, so grey levels are whole (exact in a float32 serving graph too);
 * grey → RGB repeats the plane.
 */
export function toPlanes(img: DecodedImage, channels: 1 | 3): Float32Array[] {
  const { width: w, height: h, channels: c, data } = img;
  const n = w * h;
  const hasAlpha = c === 2 || c === 4;
  const colour = hasAlpha ? c - 1 : c;
  if (channels === 1 && colour === 3) { // luma straight from HWC, alpha applied on the way
    const g = new Float32Array(n);
    for (let i = 0, p = 0; i < n; i++, p += c) {
      const a = hasAlpha ? data[p + 3]! / 255 : 1;
      g[i] = ((19595 * data[p]! + 38470 * data[p + 1]! + 7471 * data[p + 2]! + 0x8000) >> 16) * a;
    }
    return [g];
  }
  const src: Float32Array[] = Array.from({ length: colour }, () => new Float32Array(n));
  for (let k = 0; k < colour; k++) {
    const plane = src[k]!;
    if (hasAlpha) for (let i = 0, p = k; i < n; i++, p += c) plane[i] = data[p]! * (data[p - k + c - 1]! / 255);
    else for (let i = 0, p = k; i < n; i++, p += c) plane[i] = data[p]!;
  }
  return channels === 3 && colour === 1 ? [src[0]!, src[0]!, src[0]!] : src;
}

/** Per output index along one axis: the source indices it covers and their coverage weights (summing to 1). */
function areaWeights(n: number, tn: number): { start: Int32Array; count: Int32Array; w: Float32Array; stride: number } {
  const scale = n / tn;
  const stride = Math.ceil(scale) + 1;
  const start = new Int32Array(tn);
  const count = new Int32Array(tn);
  const w = new Float32Array(tn * stride);
  for (let t = 0; t < tn; t++) {
    const x0 = t * scale;
    const x1 = x0 + scale;
    const first = Math.floor(x0);
    start[t] = first;
    let k = 0;
    for (let x = first; x < Math.ceil(x1) && x < n; x++, k++) w[t * stride + k] = (Math.min(x + 1, x1) - Math.max(x, x0)) / scale;
    count[t] = k;
  }
  return { start, count, w, stride };
}

/**
 * Area-average resample (box filter with fractional coverage, like OpenCV INTER_AREA) for shrinking; separable,
 * rows first, with per-axis weights computed once.
 */
export function resampleArea(g: Float32Array, w: number, h: number, tw: number, th: number): Float32Array {
  const wx = areaWeights(w, tw);
  const wy = areaWeights(h, th);
  const mid = new Float32Array(tw * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let t = 0; t < tw; t++) {
      let sum = 0;
      const s0 = row + wx.start[t]!;
      const o = t * wx.stride;
      for (let k = 0; k < wx.count[t]!; k++) sum += g[s0 + k]! * wx.w[o + k]!;
      mid[y * tw + t] = sum;
    }
  }
  const out = new Float32Array(tw * th);
  for (let t = 0; t < th; t++) {
    const o = t * wy.stride;
    const y0 = wy.start[t]!;
    for (let k = 0; k < wy.count[t]!; k++) {
      const wk = wy.w[o + k]!;
      const src = (y0 + k) * tw;
      const dst = t * tw;
      for (let x = 0; x < tw; x++) out[dst + x]! += mid[src + x]! * wk;
    }
  }
  return out;
}

/** Bilinear resample with half-pixel centres (align_corners = false), edges clamped; used when enlarging. */
export function resampleBilinear(g: Float32Array, w: number, h: number, tw: number, th: number): Float32Array {
  const out = new Float32Array(tw * th);
  const sx = w / tw;
  const sy = h / th;
  for (let ty = 0; ty < th; ty++) {
    const fy = Math.min(Math.max((ty + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const dy = fy - y0;
    for (let tx = 0; tx < tw; tx++) {
      const fx = Math.min(Math.max((tx + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const dx = fx - x0;
      const top = g[y0 * w + x0]! * (1 - dx) + g[y0 * w + x1]! * dx;
      const bot = g[y1 * w + x0]! * (1 - dx) + g[y1 * w + x1]! * dx;
      out[ty * tw + tx] = top * (1 - dy) + bot * dy;
    }
  }
  return out;
}

/** Resizes a plane: area averaging when both sides shrink (or stay), bilinear otherwise; same size is a copy. */
export function resamplePlane(g: Float32Array, w: number, h: number, tw: number, th: number): Float32Array {
  if (tw === w && th === h) return g;
  return tw <= w && th <= h ? resampleArea(g, w, h, tw, th) : resampleBilinear(g, w, h, tw, th);
}

/** Where an image of `w`×`h` lands in a `size`×`size` canvas: squash fills it, letterbox keeps the aspect ratio centred. */
export function placement(w: number, h: number, size: number, fit: 'letterbox' | 'squash'): { x: number; y: number; w: number; h: number } {
  if (fit === 'squash') return { x: 0, y: 0, w: size, h: size };
  const s = Math.min(size / w, size / h);
  const nw = Math.max(1, Math.min(size, Math.round(w * s)));
  const nh = Math.max(1, Math.min(size, Math.round(h * s)));
  return { x: Math.floor((size - nw) / 2), y: Math.floor((size - nh) / 2), w: nw, h: nh };
}
