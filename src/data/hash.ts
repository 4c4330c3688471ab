import { createHash } from 'node:crypto';
import { resampleArea } from './resample.js';
import type { DecodedImage } from './types.js';

/**
 * Drops channels that carry no information, so storage choices do not hide a duplicate: an opaque alpha channel
 * is removed, and RGB with R = G = B everywhere becomes grey.
 */
export function canonicalPixels(img: DecodedImage): DecodedImage {
  const { width, height, data } = img;
  let c = img.channels;
  let px = data;
  const n = width * height;
  if (c === 4 || c === 2) {
    let opaque = true;
    for (let i = c - 1; i < px.length; i += c) if (px[i] !== 255) { opaque = false; break; }
    if (!opaque) return img;
    const keep = c - 1;
    const out = new Uint8Array(n * keep);
    for (let i = 0; i < n; i++) for (let k = 0; k < keep; k++) out[i * keep + k] = px[i * c + k]!;
    px = out;
    c = keep as 1 | 3;
  }
  if (c === 3) {
    let grey = true;
    for (let i = 0; i < px.length; i += 3) if (px[i] !== px[i + 1] || px[i] !== px[i + 2]) { grey = false; break; }
    if (grey) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = px[i * 3]!;
      return { width, height, channels: 1, data: out };
    }
  }
  return { width, height, channels: c, data: px };
}

/** SHA-1 of the decoded pixels (canonical channels) with their geometry: equal iff the images look identical. */
export function pixelHash(img: DecodedImage): string {
  const c = canonicalPixels(img);
  return createHash('sha1').update(`${c.width}x${c.height}x${c.channels};`).update(c.data).digest('hex');
}

/** Mean of the colour channels (alpha ignored) as a float grey image. */
function toGrey(img: DecodedImage): Float32Array {
  const { width: w, height: h, channels: c, data } = img;
  const colour = c >= 3 ? 3 : 1;
  const g = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    let s = 0;
    for (let k = 0; k < colour; k++) s += data[i * c + k]!;
    g[i] = s / colour;
  }
  return g;
}

/**
 * Difference hash (dHash, Krawetz 2013) with `n`×`n` bits (default 16 → 256 bits): grey, area-resampled to
 * (n+1)×n, bit (r,c) = pixel(r,c) < pixel(r,c+1). Returned as n²/32 words (n² must be a multiple of 32).
 * Why 256 and not the classic 64 bits: X-rays share their coarse layout, so at 64 bits the 5,840 chest X-rays give
 * 362,794 pairs within 4 bits; at 256 bits their nearest distinct pair is 12 bits apart, PneumoniaMNIST's 17.
 */
export function dHash(img: DecodedImage, n = 16): Uint32Array {
  if ((n * n) % 32 !== 0) throw new RangeError(`dHash: n*n must be a multiple of 32, got n=${n}`);
  const small = resampleArea(toGrey(img), img.width, img.height, n + 1, n);
  const words = new Uint32Array((n * n) / 32);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (small[r * (n + 1) + c]! < small[r * (n + 1) + c + 1]!) {
        const bit = r * n + c;
        words[bit >> 5] = (words[bit >> 5]! | (1 << (bit & 31))) >>> 0;
      }
    }
  }
  return words;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Hamming distance between two equal-length hashes; stops counting once it exceeds `limit`. */
export function hamming(a: Uint32Array, b: Uint32Array, limit = Infinity): number {
  let d = 0;
  for (let k = 0; k < a.length; k++) {
    d += popcount32((a[k]! ^ b[k]!) >>> 0);
    if (d > limit) return d;
  }
  return d;
}

/** Hex form of a hash (high word first). */
export function hashHex(h: Uint32Array): string {
  return [...h].reverse().map((w) => w.toString(16).padStart(8, '0')).join('');
}
