import sharp from 'sharp';
import { MedclassError } from '../errors.js';
import type { Tensor } from '../engine/index.js';
import { decodeBmp } from './bmp.js';
import { decodeDicom } from './dicom.js';
import { sniffDicom } from './dicom-parse.js';
import { checkImageHeader, checkMinSide, readBmpHeader, readSharpHeader, resolveGuard } from './image-guard.js';
import { PreprocessOptions, type ImageGuardOptions, type PreprocessConfig } from './options.js';
import { placement, resamplePlane, toPlanes } from './resample.js';
import type { DecodedImage } from './types.js';

export type ImageFormat = 'jpeg' | 'png' | 'tiff' | 'bmp' | 'gif' | 'webp' | 'dicom';

/**
 * The format by magic bytes (extensions are not trusted), or undefined when the bytes are no known image. DICOM comes
 * first (`DICM` at 128 or 0, or a bare dataset): its preamble may itself hold a TIFF header (dual-format files).
 */
export function sniffFormat(b: Uint8Array): ImageFormat | undefined {
  if (sniffDicom(b)) return 'dicom';
  const at = (i: number, ...xs: number[]) => xs.every((x, k) => b[i + k] === x);
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (at(0, 0x42, 0x4d) && b.length >= 26) return 'bmp';
  if (at(0, 0x47, 0x49, 0x46, 0x38)) return 'gif';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  return undefined;
}

/** Checks the bytes before decoding: empty → MC_DATA_EMPTY_FILE, unknown magic → MC_DATA_NOT_AN_IMAGE (no byte quoted). */
function checkBytes(bytes: Uint8Array, file: string): ImageFormat {
  if (bytes.length === 0) throw new MedclassError('MC_DATA_EMPTY_FILE', `${file}: file is empty (0 bytes)`, { file });
  const format = sniffFormat(bytes);
  if (!format) {
    // The message never quotes the file's bytes: a manifest may name a file outside the dataset (--allow-outside-paths).
    throw new MedclassError('MC_DATA_NOT_AN_IMAGE',
      `${file}: not an image (${bytes.length} bytes; no JPEG, PNG, TIFF, BMP, GIF, WebP or DICOM signature)`,
      { file, hint: 'move non-image files out of the dataset folder' });
  }
  return format;
}

function unreadable(file: string, format: string, cause: unknown): MedclassError {
  const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new MedclassError('MC_DATA_UNREADABLE_IMAGE', `${file}: ${format} could not be decoded (${why})`, { file, cause, hint: 're-export the file; it is skipped meanwhile' });
}

/** Whether the image is grey according to its header (JPEG SOF component count, PNG colour type); else undefined. */
function greyFromHeader(b: Uint8Array, format: ImageFormat): boolean | undefined {
  if (format === 'png') {
    if (b.length < 26 || b[24] === 16) return undefined; // 16-bit: let sharp describe it
    return b[25] === 0 || b[25] === 4;
  }
  if (format !== 'jpeg') return undefined;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xff) { i++; continue; }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    // SOF0–SOF15 except DHT (C4), JPG (C8), DAC (CC): byte 9 after the marker is the number of components
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return b[i + 9] === 1;
    if (marker === 0xda) return undefined;
    i += 2 + len;
  }
  return undefined;
}

/**
 * Decodes encoded bytes (format sniffed from content) to HWC uint8 pixels at the image's own size, EXIF orientation
 * applied. The guard (`image-guard.ts`, defaults 40 Mpx and 8 px per side) runs first: the pixel limit and the frame
 * count from the header (DICOM: Rows × Columns) before any pixel is decoded, then the minimum side. Rejects with a
 * MedclassError naming `file`: MC_DATA_EMPTY_FILE, MC_DATA_NOT_AN_IMAGE, MC_DATA_TOO_MANY_PIXELS, MC_DATA_MULTI_FRAME,
 * MC_DATA_IMAGE_TOO_SMALL, MC_DATA_UNREADABLE_IMAGE or an MC_DATA_DICOM_* code.
 */
export async function decodeBytes(bytes: Uint8Array, file: string, guard?: ImageGuardOptions): Promise<DecodedImage> {
  const g = resolveGuard(guard);
  const format = checkBytes(bytes, file);
  if (format === 'bmp') {
    const h = readBmpHeader(bytes);
    if (h) checkImageHeader(h, file, 'BMP', g);
    return decodeBmp(bytes, file);
  }
  if (format === 'dicom') {
    const img = await decodeDicom(bytes, file, g);
    checkMinSide(img.width, img.height, file, g);
    return img;
  }
  let header: Awaited<ReturnType<typeof readSharpHeader>>;
  try {
    header = await readSharpHeader(bytes);
  } catch (cause) {
    throw unreadable(file, format, cause);
  }
  checkImageHeader(header, file, format.toUpperCase(), g);
  try {
    // limitInputPixels repeats the header check inside libvips; autoOrient applies the EXIF orientation.
    let pipeline = sharp(bytes, { failOn: 'warning', limitInputPixels: g.maxPixels, autoOrient: true });
    // sharp outputs sRGB unless told otherwise: keep grey (and grey+alpha) images grey. JPEG and PNG headers say
    // so directly; other formats go by sharp's metadata.
    let grey = greyFromHeader(bytes, format);
    let sixteen = false;
    if (grey === undefined) {
      grey = header.channels <= 2;
      sixteen = header.sixteenBit;
    }
    if (grey) pipeline = pipeline.toColourspace(sixteen ? 'grey16' : 'b-w');
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    const channels = info.channels as DecodedImage['channels'];
    const n = info.width * info.height * channels;
    let px: Uint8Array;
    if (data.length === n * 2) { // 16-bit samples: keep the high byte
      const wide = new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
      px = new Uint8Array(n);
      for (let i = 0; i < n; i++) px[i] = wide[i]! >> 8;
    } else px = new Uint8Array(data.buffer, data.byteOffset, data.length);
    return { width: info.width, height: info.height, channels, data: px };
  } catch (cause) {
    throw unreadable(file, format, cause);
  }
}

const STATS = {
  imagenet: { 1: { mean: [0.449], std: [0.226] }, 3: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
  half: { 1: { mean: [0.5], std: [0.5] }, 3: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } },
  none: { 1: { mean: [0], std: [1] }, 3: { mean: [0, 0, 0], std: [1, 1, 1] } },
} as const;

/** Mean and std (per channel, on the [0,1] scale) that a normalisation preset applies. */
export function normalizationStats(preset: PreprocessConfig['normalize'], channels: 1 | 3): { mean: readonly number[]; std: readonly number[] } {
  return STATS[preset][channels];
}

/**
 * Per channel, the float32 value of each byte 0–255 under a normalisation preset: `(b/255 − mean) / std`, computed as
 * `preprocessImage` always has, so rows expanded from bytes equal its output bit for bit. `[C·256]`.
 */
export function normalizationTable(preset: PreprocessConfig['normalize'], channels: 1 | 3): Float32Array {
  const { mean, std } = STATS[preset][channels];
  const t = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    const m = mean[c]!, s = 1 / std[c]!;
    for (let b = 0; b < 256; b++) t[c * 256 + b] = (b / 255 - m) * s;
  }
  return t;
}

/**
 * Decodes (when given bytes; sharp, format sniffed from content) and resizes an image to `[C,H,W]` bytes: alpha
 * flattened onto black, grey↔RGB converted (RGB→grey by ITU-R 601-2 luma), squashed or letterboxed (black padding)
 * to `size`×`size` by area averaging when shrinking and bilinear interpolation when enlarging, each value rounded
 * to the nearest level (as PIL's resize writes 8-bit images). The resize runs in JavaScript: after a sharp decode it
 * is about twice as fast as a sharp resize pipeline for 224→64 px on this machine, and its arithmetic is exactly
 * specified. A training run holds its images in this form (a quarter of float32's memory).
 */
export async function preprocessBytes(input: Uint8Array | DecodedImage, options: PreprocessOptions, file: string): Promise<Uint8Array> {
  const o = PreprocessOptions.parse(options);
  const { size, channels } = o;
  const img = input instanceof Uint8Array ? await decodeBytes(input, file) : input;
  const planes = toPlanes(img, channels);
  const at = placement(img.width, img.height, size, o.fit);
  const plane = size * size;
  const dst = new Uint8Array(channels * plane); // letterbox padding: black (0)
  for (let c = 0; c < channels; c++) {
    const small = resamplePlane(planes[c]!, img.width, img.height, at.w, at.h);
    for (let y = 0; y < at.h; y++) {
      const row = c * plane + (at.y + y) * size + at.x;
      for (let x = 0; x < at.w; x++) dst[row + x] = Math.min(255, Math.max(0, Math.round(small[y * at.w + x]!)));
    }
  }
  return dst;
}

/**
 * `preprocessBytes`, then normalised by the preset (`normalizationTable`) into a float32 `[C,H,W]` tensor: the input
 * of every model, in training, evaluation and serving alike. `out`/`offset` let a batch loader write straight into its
 * `[N,C,H,W]` buffer.
 */
export async function preprocessImage(
  input: Uint8Array | DecodedImage, options: PreprocessOptions, file: string,
  out?: Float32Array, offset = 0,
): Promise<Tensor<'float32'>> {
  const o = PreprocessOptions.parse(options);
  const { size, channels } = o;
  const bytes = await preprocessBytes(input, o, file);
  const table = normalizationTable(o.normalize, channels);
  const plane = size * size;
  const dst = out ?? new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) dst[offset + c * plane + i] = table[c * 256 + bytes[c * plane + i]!]!;
  }
  return { dtype: 'float32', dims: [channels, size, size], data: out ? dst.subarray(offset, offset + channels * plane) : dst };
}
