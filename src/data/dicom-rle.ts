/**
 * DICOM RLE Lossless (PS3.5 Annex G) decoding of one frame to native little-endian, sample-interleaved pixel data.
 * medclass decodes RLE itself: dcmjs-imaging 0.2.5 returns colour RLE frames plane-by-plane but renders them as
 * interleaved (pydicom's SC_rgb_rle.dcm came out with its colour bands shuffled), while grey RLE was right.
 */

/** PackBits-decodes `src` into `dst` from 0; returns how many bytes were written (at most dst.length). */
function unpackBits(src: Uint8Array, dst: Uint8Array): number {
  let i = 0;
  let o = 0;
  while (i < src.length && o < dst.length) {
    const n = (src[i++]! << 24) >> 24; // signed header byte
    if (n >= 0) {
      const end = Math.min(i + n + 1, src.length);
      while (i < end && o < dst.length) dst[o++] = src[i++]!;
    } else if (n !== -128) {
      if (i >= src.length) break;
      const v = src[i++]!;
      for (let k = 0; k < 1 - n && o < dst.length; k++) dst[o++] = v;
    }
  }
  return o;
}

/**
 * Decodes one RLE frame (its 64-byte header of segment offsets, then one PackBits segment per byte of each sample,
 * most significant byte first) to `rows·cols·spp·bytes` native little-endian bytes, samples interleaved
 * (PlanarConfiguration 0). Throws a plain Error with the reason when segments are missing or short.
 */
export function decodeRleFrame(frame: Uint8Array, rows: number, cols: number, spp: number, bitsAllocated: number): Uint8Array {
  const bps = Math.ceil(bitsAllocated / 8);
  const n = rows * cols;
  if (frame.length < 64) throw new Error(`RLE frame has ${frame.length} bytes, less than its 64-byte header`);
  const v = new DataView(frame.buffer, frame.byteOffset, frame.length);
  const segments = v.getUint32(0, true);
  if (segments !== spp * bps) throw new Error(`RLE frame has ${segments} segments, ${spp} samples × ${bps} bytes need ${spp * bps}`);
  const offsets = Array.from({ length: segments }, (_, k) => v.getUint32(4 + 4 * k, true));
  const out = new Uint8Array(n * spp * bps);
  const seg = new Uint8Array(n);
  for (let k = 0; k < segments; k++) {
    const start = offsets[k]!;
    const end = k + 1 < segments ? offsets[k + 1]! : frame.length;
    if (start < 64 || end > frame.length || end < start) throw new Error(`RLE segment ${k} lies outside the frame`);
    const got = unpackBits(frame.subarray(start, end), seg);
    if (got < n) throw new Error(`RLE segment ${k} decodes to ${got} bytes, ${n} expected`);
    const s = Math.floor(k / bps);
    const byte = bps - 1 - (k % bps); // segment order is MSB first; little-endian output puts the MSB last
    for (let p = 0, at = s * bps + byte; p < n; p++, at += spp * bps) out[at] = seg[p]!;
  }
  return out;
}
