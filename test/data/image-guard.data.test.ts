import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeBytes, decodeDicom, parseDicom } from '../../src/data/index.js';
import { isMedclassError } from '../../src/errors.js';

// The image guard on real DICOM files (pydicom's test files in ../shared): the pixel limit from Rows × Columns,
// checked before the pixel data is decoded, and the minimum side after decoding.
const PYD = new URL('../../../shared/data/dicom-samples/pydicom-test-files/', import.meta.url).pathname;
const bytes = (name: string) => new Uint8Array(readFileSync(`${PYD}${name}`));
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => (isMedclassError(e) ? `${e.code}: ${e.message}` : String(e)));

/** MR_small.dcm (explicit VR little endian) with Rows and Columns (US) rewritten; its pixel data stay 64×64. */
function withRowsColumns(rows: number, cols: number): Uint8Array {
  const b = Buffer.from(bytes('MR_small.dcm'));
  const us = (el: number) => b.indexOf(Buffer.from([0x28, 0, el, 0, 0x55, 0x53, 2, 0]));
  b.writeUInt16LE(rows, us(0x10) + 8);
  b.writeUInt16LE(cols, us(0x11) + 8);
  return new Uint8Array(b);
}

describe('image guard on DICOM', () => {
  it('refuses Rows × Columns above the pixel limit before decoding pixel data (MC_DATA_TOO_MANY_PIXELS, not MC_DATA_DICOM_TRUNCATED)', async () => {
    const forged = withRowsColumns(40000, 40000);
    expect(parseDicom(forged, 'forged.dcm').elements.Rows).toBe(40000);
    expect(await failure(decodeBytes(forged, 'forged.dcm'))).toBe('MC_DATA_TOO_MANY_PIXELS: forged.dcm: 40000×40000 px (1600.0 Mpx) is more than the pixel limit of 40.0 Mpx (40000000 px); it was not decoded');
    // under the limit the same forgery is what it is: truncated pixel data
    expect(await failure(decodeBytes(withRowsColumns(100, 100), 'forged.dcm'))).toMatch(/^MC_DATA_DICOM_TRUNCATED: /);
    expect(await failure(decodeBytes(bytes('CT_small.dcm'), 'CT_small.dcm', { maxPixels: 10_000 }))).toBe('MC_DATA_TOO_MANY_PIXELS: CT_small.dcm: 128×128 px (0.0 Mpx) is more than the pixel limit of 0.0 Mpx (10000 px); it was not decoded');
    expect((await decodeBytes(bytes('CT_small.dcm'), 'CT_small.dcm')).width).toBe(128);
  });

  it('a 3×3 DICOM is too small through decodeBytes (MC_DATA_IMAGE_TOO_SMALL); decodeDicom itself still decodes it', async () => {
    expect(await failure(decodeBytes(bytes('SC_rgb_small_odd.dcm'), 'odd.dcm'))).toBe('MC_DATA_IMAGE_TOO_SMALL: odd.dcm: 3×3 px is smaller than the minimum of 8 px per side');
    expect((await decodeDicom(bytes('SC_rgb_small_odd.dcm'), 'odd.dcm')).width).toBe(3);
  });

  it('multi-frame DICOM keeps its first-frame rule (frames counted, not refused)', async () => {
    const img = await decodeBytes(bytes('SC_rgb_rle_2frame.dcm'), 'two.dcm') as Awaited<ReturnType<typeof decodeDicom>>;
    expect([img.width, img.height, img.frames]).toEqual([100, 100, 2]);
  });
});
