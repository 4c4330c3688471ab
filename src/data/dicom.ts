import { createRequire } from 'node:module';
import type * as DcmjsImaging from 'dcmjs-imaging';
import { MedclassError } from '../errors.js';
import { DEFLATED_LE, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, dcmjs, parseDicom, pixelDataExtent, walkFragments, type DicomElements } from './dicom-parse.js';
import { decodeRleFrame } from './dicom-rle.js';
import { checkPixelLimit, resolveGuard } from './image-guard.js';
import type { ImageGuardConfig, ImageGuardOptions } from './options.js';
import type { DecodedImage } from './types.js';

/** How a DICOM image was windowed to 8 bits (numbers only: no tag that could identify a patient). */
export interface DicomWindow {
  readonly center: number;
  readonly width: number;
  /** `file`: the first WindowCenter/WindowWidth of the file; `min-max`: the frame's (or Smallest/LargestImagePixelValue's) range after rescale. */
  readonly source: 'file' | 'min-max';
}

/** A decoded DICOM image: the first frame as HWC uint8, plus how many frames the file holds and the window used. */
export interface DicomImageData extends DecodedImage {
  readonly frames: number;
  readonly window?: DicomWindow;
}

const NATIVE = new Set([IMPLICIT_LE, EXPLICIT_LE, DEFLATED_LE, EXPLICIT_BE]);
const RLE = '1.2.840.10008.1.2.5';
const require = createRequire(import.meta.url);
let imagingLib: typeof DcmjsImaging | undefined;
let codecsReady: Promise<void> | undefined;

/** dcmjs-imaging (CommonJS, sharing dcmjs with the parser), its logger silenced; loaded on first use. */
function imaging(): typeof DcmjsImaging {
  if (!imagingLib) {
    dcmjs();
    imagingLib = require('dcmjs-imaging') as typeof DcmjsImaging;
    imagingLib.log.setLevel('silent');
  }
  return imagingLib;
}

/** The transfer syntaxes dcmjs-imaging decodes (native ones in JavaScript, compressed ones in its WebAssembly codecs). */
export function dicomTransferSyntaxes(): string[] {
  return Object.values(imaging().constants.TransferSyntax);
}

/** Loads the WebAssembly codecs (RLE, JPEG, JPEG-LS, JPEG 2000, HTJ2K, JPEG XL) once, on the first compressed file. */
function codecs(): Promise<void> {
  codecsReady ??= imaging().NativePixelDecoder.initializeAsync({ logNativeDecodersMessages: false });
  return codecsReady;
}

const num = (v: unknown): number | undefined => {
  const x = Array.isArray(v) ? v[0] : v;
  const n = typeof x === 'string' ? Number(x) : x;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};

function bufferBytes(v: unknown): number {
  if (!Array.isArray(v)) return v instanceof ArrayBuffer ? v.byteLength : ArrayBuffer.isView(v) ? v.byteLength : 0;
  return v.reduce((a: number, x) => a + bufferBytes(x), 0);
}

/**
 * Throws MC_DATA_DICOM_* when the file has no image, a syntax dcmjs-imaging lacks, or pixel data that is cut short,
 * and MC_DATA_TOO_MANY_PIXELS when Rows × Columns exceed the pixel limit (checked before any pixel is decoded).
 */
function checkPixels(bytes: Uint8Array, ts: string, el: DicomElements, file: string, guard: ImageGuardConfig): { frames: number } {
  const rows = num(el.Rows);
  const cols = num(el.Columns);
  if (el.PixelData === undefined || !rows || !cols) {
    throw new MedclassError('MC_DATA_DICOM_NO_IMAGE', `${file}: DICOM file holds no image (${el.PixelData === undefined ? 'no Pixel Data element' : 'no Rows/Columns'})`,
      { file, hint: 'move non-image DICOM objects (RT plans, reports, …) out of the dataset; it is skipped meanwhile' });
  }
  checkPixelLimit(cols, rows, file, guard);
  if (!dicomTransferSyntaxes().includes(ts)) {
    throw new MedclassError('MC_DATA_DICOM_UNSUPPORTED', `${file}: transfer syntax ${ts} is not supported by dcmjs-imaging`,
      { file, hint: 'convert to explicit VR little endian (dcmconv +te, gdcmconv --raw); it is skipped meanwhile' });
  }
  const frames = Math.max(1, Math.trunc(num(el.NumberOfFrames) ?? 1));
  const truncated = (what: string) => new MedclassError('MC_DATA_DICOM_TRUNCATED', `${file}: DICOM pixel data is truncated (${what})`,
    { file, hint: 'copy or export the file again; it is skipped meanwhile' });
  const extent = ts === DEFLATED_LE ? undefined : pixelDataExtent(bytes, ts);
  if (NATIVE.has(ts)) {
    const spp = num(el.SamplesPerPixel) ?? 1;
    const bits = num(el.BitsAllocated) ?? 16;
    const need = frames * Math.ceil((rows * cols * spp * bits) / 8);
    // dcmjs pads a value cut short by the end of the file, so the file's own bytes are counted.
    const have = extent ? Math.min(extent.length, bytes.length - extent.offset) : bufferBytes(el.PixelData);
    if (have < need) throw truncated(`${have} bytes, ${rows}×${cols}×${spp} samples × ${bits} bits × ${frames} frame(s) need ${need}`);
  } else if (extent) {
    const walk = walkFragments(bytes, extent.offset);
    if ('error' in walk) throw truncated(walk.error);
    if (walk.items < 2) throw truncated('no fragment after the offset table');
  }
  return { frames };
}

/** The first RLE frame decoded by medclass (see dicom-rle.ts) as a one-frame explicit little-endian dataset. */
function rleToNative(el: DicomElements, frames: number, file: string): { el: DicomElements; syntax: string } {
  const parts = (Array.isArray(el.PixelData) ? el.PixelData : [el.PixelData]).map((b) => new Uint8Array(b as ArrayBuffer));
  // dcmjs gives one buffer per frame; a single frame split over fragments is joined.
  const frame = frames > 1 || parts.length === 1 ? parts[0]! : Uint8Array.from(parts.flatMap((b) => [...b]));
  try {
    const native = decodeRleFrame(frame, num(el.Rows)!, num(el.Columns)!, num(el.SamplesPerPixel) ?? 1, num(el.BitsAllocated) ?? 8);
    return { el: { ...el, PixelData: [native.buffer], NumberOfFrames: 1, PlanarConfiguration: 0 }, syntax: EXPLICIT_LE };
  } catch (cause) {
    throw new MedclassError('MC_DATA_UNREADABLE_IMAGE', `${file}: DICOM RLE pixels could not be decoded (${(cause as Error).message})`, { file, cause, hint: 're-export the file; it is skipped meanwhile' });
  }
}

/**
 * Decodes DICOM bytes (Part 10 with or without preamble, or a bare dataset without file meta) to HWC uint8 with
 * dcmjs (parsing) and dcmjs-imaging (pixel data, compressed syntaxes via its WebAssembly codecs, and the grey-scale
 * pipeline): modality rescale (RescaleSlope/Intercept), VOI window — the file's first WindowCenter/WindowWidth with
 * its VOILUTFunction (DICOM PS3.3 C.11.2.1.2: `((x − (c − 0.5)) / (w − 1) + 0.5) · 255` clipped), else
 * Smallest/LargestImagePixelValue, else the frame's min–max after rescale —, MONOCHROME1 inverted so that bright is
 * always dense/high, signed and 8/12/16-bit samples by BitsStored/PixelRepresentation. Grey images give 1 channel,
 * colour ones (RGB, YBR, palette) 3. Multi-frame files give their first frame (`frames` says how many there are).
 * Rows × Columns above `guard.maxPixels` (default 40 Mpx) reject with MC_DATA_TOO_MANY_PIXELS before pixel decoding.
 * Rejects with MC_DATA_DICOM_NO_IMAGE, MC_DATA_DICOM_TRUNCATED, MC_DATA_DICOM_UNSUPPORTED or MC_DATA_UNREADABLE_IMAGE
 * naming `file`; no tag value appears in any message.
 */
export async function decodeDicom(bytes: Uint8Array, file: string, guard?: ImageGuardOptions): Promise<DicomImageData> {
  const { transferSyntax: ts, elements } = parseDicom(bytes, file);
  const { frames } = checkPixels(bytes, ts, elements, file, resolveGuard(guard));
  const grey = /^MONOCHROME[12]$/.test(String(elements.PhotometricInterpretation ?? 'MONOCHROME2').trim());
  const { el, syntax } = ts === RLE ? rleToNative(elements, frames, file) : { el: elements, syntax: ts };
  if (!NATIVE.has(syntax)) await codecs();
  let r: ReturnType<DcmjsImaging.DicomImage['render']>;
  try {
    r = new (imaging().DicomImage)(el, syntax).render({ frame: 0 });
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.split('\n')[0]!.slice(0, 160) : 'render failed';
    if (/unsupported|not supported/i.test(why)) {
      throw new MedclassError('MC_DATA_DICOM_UNSUPPORTED', `${file}: DICOM pixel format is not supported (${why})`, { file, cause, hint: 'it is skipped' });
    }
    throw new MedclassError('MC_DATA_UNREADABLE_IMAGE', `${file}: DICOM pixels could not be decoded (${ts}: ${why})`, { file, cause, hint: 're-export the file; it is skipped meanwhile' });
  }
  const rgba = new Uint8Array(r.pixels);
  const n = r.width * r.height;
  if (rgba.length < 4 * n) throw new MedclassError('MC_DATA_UNREADABLE_IMAGE', `${file}: DICOM decoder returned ${rgba.length} bytes for ${r.width}×${r.height} RGBA`, { file });
  const channels = grey ? 1 : 3;
  const data = new Uint8Array(n * channels);
  if (grey) for (let i = 0; i < n; i++) data[i] = rgba[4 * i]!;
  else for (let i = 0; i < n; i++) { data[3 * i] = rgba[4 * i]!; data[3 * i + 1] = rgba[4 * i + 1]!; data[3 * i + 2] = rgba[4 * i + 2]!; }
  const wl = r.windowLevel;
  const fromFile = num(elements.WindowCenter) !== undefined && (num(elements.WindowWidth) ?? 0) > 0;
  const window = wl && grey ? { center: wl.getLevel(), width: wl.getWindow(), source: fromFile ? 'file' as const : 'min-max' as const } : undefined;
  return { width: r.width, height: r.height, channels, data, frames, ...(window ? { window } : {}) };
}
