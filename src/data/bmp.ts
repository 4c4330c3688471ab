import { MedclassError } from '../errors.js';
import type { DecodedImage } from './types.js';

/**
 * Decodes a Windows BMP (the prebuilt libvips in sharp has no BMP loader): BITMAPINFOHEADER or later,
 * 1/4/8-bit palette, 24-bit BGR, 32-bit BGRX/BGRA (BI_RGB or BI_BITFIELDS), bottom-up or top-down rows.
 * Palette images whose palette is grey decode to 1 channel, everything else to 3.
 */
export function decodeBmp(buf: Uint8Array, file: string): DecodedImage {
  const bad = (why: string) => new MedclassError('MC_DATA_UNREADABLE_IMAGE', `${file}: BMP ${why}`, { file });
  if (buf.length < 54 || buf[0] !== 0x42 || buf[1] !== 0x4d) throw bad('header is missing or short');
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dataOffset = v.getUint32(10, true);
  const headerSize = v.getUint32(14, true);
  if (headerSize < 40) throw bad(`header size ${headerSize} (OS/2 bitmaps are not supported)`);
  const width = v.getInt32(18, true);
  const rawHeight = v.getInt32(22, true);
  const bpp = v.getUint16(28, true);
  const compression = v.getUint32(30, true);
  const height = Math.abs(rawHeight);
  const topDown = rawHeight < 0;
  if (width <= 0 || height === 0 || width * height > 1 << 28) throw bad(`size ${width}x${rawHeight} is invalid`);
  if (!(compression === 0 || (compression === 3 && (bpp === 32 || bpp === 16)))) throw bad(`compression ${compression} is not supported`);
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + stride * height > buf.length) throw bad(`is truncated: ${buf.length} bytes, pixel data needs ${dataOffset + stride * height}`);

  let palette: Uint8Array | undefined;
  let grey = false;
  if (bpp <= 8) {
    const nColours = v.getUint32(46, true) || 1 << bpp;
    const palStart = 14 + headerSize;
    palette = buf.subarray(palStart, palStart + nColours * 4);
    grey = true;
    for (let i = 0; i + 3 < palette.length; i += 4) if (palette[i] !== palette[i + 1] || palette[i] !== palette[i + 2]) grey = false;
  } else if (bpp !== 24 && bpp !== 32) {
    throw bad(`${bpp} bits per pixel is not supported`);
  }
  const channels = grey ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (palette) {
        const bitPos = x * bpp;
        const byte = buf[row + (bitPos >> 3)]!;
        const idx = bpp === 8 ? byte : (byte >> (8 - bpp - (bitPos & 7))) & ((1 << bpp) - 1);
        const p = idx * 4;
        if (grey) out[o] = palette[p] ?? 0;
        else {
          out[o] = palette[p + 2] ?? 0;
          out[o + 1] = palette[p + 1] ?? 0;
          out[o + 2] = palette[p] ?? 0;
        }
      } else {
        const p = row + x * (bpp >> 3);
        out[o] = buf[p + 2]!;
        out[o + 1] = buf[p + 1]!;
        out[o + 2] = buf[p]!;
      }
    }
  }
  return { width, height, channels, data: out };
}
