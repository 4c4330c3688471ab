// DICOM decoding against references from outside medclass: pydicom's test files (the same MR image in six transfer
// syntaxes, CT_small with and without its file meta), the chest X-ray DICOMs' source JPEGs decoded by sharp and put
// through the DICOM PS3.3 C.11.2.1.2 window written out here, and byte-level variants of one file.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMedclassError } from '../../src/errors.js';
import { decodeBytes, decodeDicom, openSource, parseDicom, sniffFormat, type DecodedImage } from '../../src/data/index.js';
import sharp from 'sharp';

const ROOT = new URL('../../../shared/data/', import.meta.url).pathname;
const PYD = `${ROOT}dicom-samples/pydicom-test-files/`;
const CXR = `${ROOT}dicom-samples/cxr-with-fictitious-phi/`;
const JPEGS = `${ROOT}chest-xray-pneumonia-224/dataset/test/`;

const bytes = (path: string) => new Uint8Array(readFileSync(path));
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e) => (isMedclassError(e) ? e.code : String(e)));
const maxDiff = (a: Uint8Array, b: ArrayLike<number>) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/** DICOM PS3.3 C.11.2.1.2.1 linear VOI to 8 bits, unrounded (the decoder truncates; tests allow 1 grey level). */
function voi(x: number, c: number, w: number): number {
  if (x <= c - 0.5 - (w - 1) / 2) return 0;
  if (x > c - 0.5 + (w - 1) / 2) return 255;
  return ((x - (c - 0.5)) / (w - 1) + 0.5) * 255;
}
/** The window a reader takes from the values' min–max (integer ends), as when a file carries none. */
function minMax(v: ArrayLike<number>): { c: number; w: number } {
  let lo = Infinity; let hi = -Infinity;
  for (let i = 0; i < v.length; i++) { lo = Math.min(lo, v[i]!); hi = Math.max(hi, v[i]!); }
  lo = Math.trunc(lo); hi = Math.trunc(hi);
  return { c: (hi + lo) / 2, w: Math.max(1, hi - lo) };
}

describe('pydicom test files', () => {
  it('MR_small in explicit LE, implicit LE, big endian, RLE, JPEG-LS lossless and JPEG 2000 lossless decode to identical pixels', async () => {
    const ref = await decodeDicom(bytes(`${PYD}MR_small.dcm`), 'MR_small.dcm');
    expect([ref.width, ref.height, ref.channels, ref.frames]).toEqual([64, 64, 1, 1]);
    for (const v of ['implicit', 'bigendian', 'RLE', 'jpeg_ls_lossless', 'jp2klossless']) {
      const img = await decodeDicom(bytes(`${PYD}MR_small_${v}.dcm`), v);
      expect(maxDiff(img.data, ref.data), v).toBe(0);
    }
  });

  it('MR_small: the file window (centre 600, width 1600) applied to the stored 16-bit values, by the formula', async () => {
    const b = bytes(`${PYD}MR_small.dcm`);
    const { elements } = parseDicom(b, 'MR_small.dcm');
    expect([elements.WindowCenter, elements.WindowWidth].map(Number)).toEqual([600, 1600]);
    const raw = new Int16Array((elements.PixelData as ArrayBuffer[])[0]!); // PixelRepresentation 1
    const img = await decodeDicom(b, 'MR_small.dcm');
    expect(img.window).toEqual({ center: 600, width: 1600, source: 'file' });
    expect(maxDiff(img.data, Array.from(raw, (x) => voi(x, 600, 1600)))).toBeLessThanOrEqual(1);
  });

  it('CT_small: signed 16-bit, rescale to HU, no window in the file → min–max of the HU values', async () => {
    const b = bytes(`${PYD}CT_small.dcm`);
    const { elements } = parseDicom(b, 'CT_small.dcm');
    const slope = Number(elements.RescaleSlope); const intercept = Number(elements.RescaleIntercept);
    expect(elements.PixelRepresentation).toBe(1);
    const hu = Array.from(new Int16Array((elements.PixelData as ArrayBuffer[])[0]!), (x) => x * slope + intercept);
    const { c, w } = minMax(hu);
    const img = await decodeDicom(b, 'CT_small.dcm');
    expect(img.window).toEqual({ center: c, width: w, source: 'min-max' });
    expect(maxDiff(img.data, hu.map((x) => voi(x, c, w)))).toBeLessThanOrEqual(1);
  });

  it('no_meta.dcm (no preamble, no file meta; one stray leading byte) decodes as CT_small, its source', async () => {
    const b = bytes(`${PYD}no_meta.dcm`);
    expect(sniffFormat(b)).toBe('dicom');
    const a = await decodeBytes(b, 'no_meta.dcm');
    const ct = await decodeBytes(bytes(`${PYD}CT_small.dcm`), 'CT_small.dcm');
    expect(maxDiff(a.data, ct.data)).toBe(0);
  });

  it('a Part 10 file with its preamble stripped (DICM at 0) decodes like the original', async () => {
    const b = bytes(`${PYD}MR_small.dcm`);
    expect(sniffFormat(b)).toBe('dicom'); // its preamble starts with a TIFF header: DICOM is sniffed first
    const a = await decodeBytes(b.subarray(128), 'x.dcm');
    expect(maxDiff(a.data, (await decodeBytes(b, 'MR_small.dcm')).data)).toBe(0);
  });

  // pydicom's SC_rgb images: ten 10-row bands, sampled at column 50 of rows 5, 15, …, 95 (pydicom's RLE and JPEG tests).
  const BANDS = [[255, 0, 0], [255, 128, 128], [0, 255, 0], [128, 255, 128], [0, 0, 255], [128, 128, 255], [0, 0, 0], [64, 64, 64], [192, 192, 192], [255, 255, 255]];
  const bands = (img: DecodedImage) => BANDS.map((_, k) => [...img.data.subarray(((10 * k + 5) * img.width + 50) * 3, ((10 * k + 5) * img.width + 50) * 3 + 3)]);

  it('RGB: RLE and RLE two-frame (first frame) give pydicom\'s reference bands exactly, JPEG baseline (YBR_FULL, lossy) within 5 as in pydicom\'s own expected values (e.g. 0/255/5); 3×3 odd size = its raw bytes', async () => {
    const rle = await decodeDicom(bytes(`${PYD}SC_rgb_rle.dcm`), 'rle');
    const two = await decodeDicom(bytes(`${PYD}SC_rgb_rle_2frame.dcm`), 'rle2');
    expect([rle.channels, rle.frames, two.frames]).toEqual([3, 1, 2]);
    expect(bands(rle)).toEqual(BANDS);
    expect(bands(two)).toEqual(BANDS);
    const jpg = await decodeDicom(bytes(`${PYD}SC_rgb_jpeg_dcmtk.dcm`), 'jpeg');
    expect(maxDiff(Uint8Array.from(bands(jpg).flat()), BANDS.flat())).toBeLessThanOrEqual(5);
    const b = bytes(`${PYD}SC_rgb_small_odd.dcm`);
    const odd = await decodeDicom(b, 'odd');
    const { elements } = parseDicom(b, 'odd');
    expect([odd.width, odd.height, odd.channels, elements.PlanarConfiguration]).toEqual([3, 3, 3, 0]);
    expect([...odd.data]).toEqual([...new Uint8Array((elements.PixelData as ArrayBuffer[])[0]!).subarray(0, 27)]);
  });

  it('12-bit JPEG extended (lossy) and JPEG 2000 (lossy) files of the same NM image decode to 256×1024 and correlate > 0.9 (both lossy: 0.956 measured)', async () => {
    const a = await decodeDicom(bytes(`${PYD}JPEG-lossy.dcm`), 'jpeg');
    const b = await decodeDicom(bytes(`${PYD}JPEG2000.dcm`), 'j2k');
    expect([a.width, a.height, a.channels, b.width, b.height]).toEqual([256, 1024, 1, 256, 1024]);
    const mean = (x: Uint8Array) => x.reduce((s, v) => s + v, 0) / x.length;
    const ma = mean(a.data); const mb = mean(b.data);
    let sab = 0; let saa = 0; let sbb = 0;
    a.data.forEach((v, i) => { const da = v - ma; const db = b.data[i]! - mb; sab += da * db; saa += da * da; sbb += db * db; });
    expect(sab / Math.sqrt(saa * sbb)).toBeGreaterThan(0.9);
  });

  it('coded errors naming the file, never fatal: truncated, no image, unknown transfer syntax, cut fragments', async () => {
    const err = async (b: Uint8Array, file: string) => decodeBytes(b, file).then(() => undefined, (e: unknown) => e);
    const t = await err(bytes(`${PYD}MR_truncated.dcm`), 'MR_truncated.dcm');
    expect(isMedclassError(t, 'MC_DATA_DICOM_TRUNCATED') && t.file).toBe('MR_truncated.dcm');
    expect(String((t as Error).message)).toMatch(/8130 bytes.*need 8192/);
    const p = await err(bytes(`${PYD}rtplan.dcm`), 'rtplan.dcm');
    expect(isMedclassError(p, 'MC_DATA_DICOM_NO_IMAGE') && p.file).toBe('rtplan.dcm');
    // Explicit LE → an unknown (same-length) transfer syntax UID in the file meta.
    const mr = bytes(`${PYD}MR_small.dcm`);
    const uid = new TextEncoder().encode('1.2.840.10008.1.2.1\0');
    const at = Buffer.from(mr).indexOf(Buffer.from(uid));
    const odd = mr.slice(); odd.set(new TextEncoder().encode('1.2.840.10008.1.2.9\0'), at);
    const u = await err(odd, 'odd.dcm');
    expect(isMedclassError(u, 'MC_DATA_DICOM_UNSUPPORTED') && (u as Error).message).toMatch(/1\.2\.840\.10008\.1\.2\.9/);
    const rle = bytes(`${PYD}MR_small_RLE.dcm`);
    expect(await code(decodeBytes(rle.subarray(0, rle.length >> 1), 'cut.dcm'))).toBe('MC_DATA_DICOM_TRUNCATED');
    expect(await code(decodeBytes(bytes(`${PYD}rtplan.dcm`).subarray(0, 200), 'cut.dcm'))).not.toBe('ok');
  });
});

/** The manifest of the chest X-ray DICOMs: path, label, variant, source JPEG. */
const manifest = readFileSync(`${CXR}manifest.csv`, 'utf8').trim().split('\n').slice(1).map((l) => {
  const [path, label, variant, source] = l.split(',');
  return { path: path!, label: label!, variant: variant!, source: source! };
});

/** The expected 8-bit image of a variant from its source JPEG (values v = round(jpeg·4095/255), per the README). */
function expected(jpeg: Uint8Array, variant: string): number[] {
  const v = Array.from(jpeg, (j) => Math.round((j * 4095) / 255));
  if (variant === 'mono2') { const { c, w } = minMax(v); return v.map((x) => voi(x, c, w)); }
  if (variant === 'mono1') { const s = v.map((x) => 4095 - x); const { c, w } = minMax(s); return s.map((x) => 255 - voi(x, c, w)); }
  // rescaled: stored = (v + 100) / 0.5, which the files clip at 4095 (12 bits stored), then slope 0.5, intercept −100
  // and the file's window (centre 1947, width 4095).
  return v.map((x) => voi(0.5 * Math.min(4095, 2 * (x + 100)) - 100, 1947, 4095));
}

describe('chest X-ray DICOMs (fictitious PHI) against their source JPEGs', () => {
  it('40 files, 20 per class, each within 1 grey level of its JPEG through the DICOM pipeline (mono2, mono1, rescaled)', async () => {
    const src = openSource(CXR);
    expect(src.classes).toEqual(['NORMAL', 'PNEUMONIA']);
    expect(src.items.filter((i) => i.id.endsWith('.dcm'))).toHaveLength(40);
    expect(manifest).toHaveLength(40);
    const worst: Record<string, number> = {};
    for (const m of manifest) {
      const item = src.items.find((i) => i.id === m.path)!;
      expect(item.label).toBe(m.label);
      const img = await item.load();
      const { data: jpeg, info } = await sharp(`${JPEGS}${m.label}/${m.source}`).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
      expect([img.width, img.height, img.channels]).toEqual([info.width, info.height, 1]);
      const d = maxDiff(img.data, expected(new Uint8Array(jpeg), m.variant));
      worst[m.variant] = Math.max(worst[m.variant] ?? 0, d);
    }
    expect(Object.keys(worst).sort()).toEqual(['mono1', 'mono2', 'rescaled']);
    for (const d of Object.values(worst)) expect(d).toBeLessThanOrEqual(1);
  });

  it('byte-level variants of one mono2 file: MONOCHROME1 (4095 − v) within 1 grey level, rescaled (2(v+100), slope 0.5, intercept −100) identical', async () => {
    const m = manifest.find((x) => x.variant === 'mono2')!;
    const orig = bytes(`${CXR}${m.path}`);
    const base = await decodeBytes(orig, m.path) as DecodedImage;
    const buf = Buffer.from(orig);
    const px = buf.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57])); // (7FE0,0010) OW
    const n = buf.readUInt32LE(px + 8) / 2;
    const values = Array.from({ length: n }, (_, i) => buf.readUInt16LE(px + 12 + 2 * i));

    const mono1 = Buffer.from(buf);
    mono1.write('MONOCHROME1', buf.indexOf('MONOCHROME2'), 'latin1');
    values.forEach((v, i) => mono1.writeUInt16LE(4095 - v, px + 12 + 2 * i));
    const a = await decodeBytes(new Uint8Array(mono1), 'mono1.dcm');
    expect(maxDiff(a.data, base.data)).toBeLessThanOrEqual(1); // the window's half-level offset is not symmetric under inversion

    // BitsStored 16 / HighBit 15 (2(v+100) needs 14 bits), RescaleIntercept and RescaleSlope inserted before the pixel data.
    const head = Buffer.from(buf.subarray(0, px));
    head.writeUInt16LE(16, head.indexOf(Buffer.from([0x28, 0, 0x01, 0x01, 0x55, 0x53, 2, 0])) + 8);
    head.writeUInt16LE(15, head.indexOf(Buffer.from([0x28, 0, 0x02, 0x01, 0x55, 0x53, 2, 0])) + 8);
    const ds = (el: number, s: string) => Buffer.concat([Buffer.from([0x28, 0, el & 0xff, el >> 8, 0x44, 0x53, s.length, 0]), Buffer.from(s, 'latin1')]);
    const pixels = Buffer.from(buf.subarray(px));
    values.forEach((v, i) => pixels.writeUInt16LE(2 * (v + 100), 12 + 2 * i));
    const resc = Buffer.concat([head, ds(0x1052, '-100'), ds(0x1053, '0.5 '), pixels]);
    const r = await decodeBytes(new Uint8Array(resc), 'rescaled.dcm');
    expect(maxDiff(r.data, base.data)).toBe(0);
  });
});
