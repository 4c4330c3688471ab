import type { DecodedImage } from './types.js';

/**
 * HWC uint8 pixels → `channels` float planes (0–255) at the source size. Alpha is flattened onto black
 * (colour × alpha/255). RGB → grey uses ITU-R 601-2 luma (0.299, 0.587, 0.114), as PIL's `convert('L')`;
 * grey → RGB repeats the plane.
 */
export function toPlanes(img: DecodedImage, channels: 1 | 3): Float32Array[] {
  const { width: w, height: h, channels: c, data } = img;
  const n = w * h;
  const hasAlpha = c === 2 || c === 4;
  const colour = hasAlpha ? c - 1 : c;
  const src: Float32Array[] = Array.from({ length: colour }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const a = hasAlpha ? data[i * c + c - 1]! / 255 : 1;
    for (let k = 0; k < colour; k++) src[k]![i] = data[i * c + k]! * a;
  }
  if (colour === channels) return src;
  if (channels === 3) return [src[0]!, src[0]!, src[0]!];
  const g = new Float32Array(n);
  const [r, gg, b] = src as [Float32Array, Float32Array, Float32Array];
  for (let i = 0; i < n; i++) g[i] = 0.299 * r[i]! + 0.587 * gg[i]! + 0.114 * b[i]!;
  return [g];
}

/** Area-average resample (box filter with fractional coverage, like OpenCV INTER_AREA) for shrinking. */
export function resampleArea(g: Float32Array, w: number, h: number, tw: number, th: number): Float32Array {
  const out = new Float32Array(tw * th);
  const sx = w / tw;
  const sy = h / th;
  for (let ty = 0; ty < th; ty++) {
    const y0 = ty * sy;
    const y1 = y0 + sy;
    for (let tx = 0; tx < tw; tx++) {
      const x0 = tx * sx;
      const x1 = x0 + sx;
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.ceil(y1) && y < h; y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.ceil(x1) && x < w; x++) {
          sum += g[y * w + x]! * wy * (Math.min(x + 1, x1) - Math.max(x, x0));
        }
      }
      out[ty * tw + tx] = sum / (sx * sy);
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
