import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Dataset, auditSource, decodeBytes, openSource, preprocessImage, readBmpHeader, readSharpHeader } from '../../src/data/index.js';
import { isMedclassError } from '../../src/errors.js';

const solid = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 90, g: 30, b: 200 } } });
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => (isMedclassError(e) ? { code: e.code, message: e.message, file: e.file } : { code: String(e), message: '', file: '' }));

/** A 24-bit BMP header (BITMAPINFOHEADER) declaring w×h with no pixel data after it. */
function bmpHeaderOnly(w: number, h: number): Uint8Array {
  const b = new Uint8Array(54);
  const v = new DataView(b.buffer);
  b[0] = 0x42; b[1] = 0x4d;
  v.setUint32(2, 54, true); v.setUint32(10, 54, true); v.setUint32(14, 40, true);
  v.setInt32(18, w, true); v.setInt32(22, -h, true); v.setUint16(26, 1, true); v.setUint16(28, 24, true);
  return b;
}

/** Row-major HWC pixels rotated 90° clockwise (what EXIF orientation 6 asks a viewer to do). */
function rotate90cw(px: Uint8Array, w: number, h: number, c: number): Uint8Array {
  const out = new Uint8Array(px.length); // new width h, new height w
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(x * h + (h - 1 - y)) * c + k] = px[(y * w + x) * c + k]!;
  return out;
}

describe('image guard: limits read from the header, before any pixel is decoded', () => {
  it('refuses more pixels than maxPixels with MC_DATA_TOO_MANY_PIXELS naming the file, the size found and the limit', async () => {
    const png = await solid(300, 200).png().toBuffer();
    const f = await failure(decodeBytes(png, 'scans/big.png', { maxPixels: 50_000 }));
    expect(f).toMatchObject({ code: 'MC_DATA_TOO_MANY_PIXELS', file: 'scans/big.png' });
    expect(f!.message).toBe('scans/big.png: 300×200 px (0.1 Mpx) is more than the pixel limit of 0.1 Mpx (50000 px); it was not decoded');
    expect((await decodeBytes(png, 'ok.png', { maxPixels: 60_000 })).width).toBe(300); // at the limit's right side it decodes
  });

  it('reads the size from the header of JPEG, PNG, TIFF, WebP and BMP without decoding (a BMP with no pixel data at all)', async () => {
    for (const fmt of ['jpeg', 'png', 'tiff', 'webp'] as const) {
      const h = await readSharpHeader(await solid(40, 24)[fmt]().toBuffer());
      expect([fmt, h.width, h.height, h.pages]).toEqual([fmt, 40, 24, 1]);
    }
    expect(readBmpHeader(bmpHeaderOnly(30000, 20000))).toEqual({ width: 30000, height: 20000, pages: 1 });
    // 600 Mpx declared, 54 bytes long: the guard answers before decodeBmp would report the missing pixels
    expect(await failure(decodeBytes(bmpHeaderOnly(30000, 20000), 'huge.bmp'))).toMatchObject({ code: 'MC_DATA_TOO_MANY_PIXELS' });
    expect(await failure(decodeBytes(bmpHeaderOnly(30, 20), 'short.bmp'))).toMatchObject({ code: 'MC_DATA_UNREADABLE_IMAGE' });
  });

  it('refuses a side shorter than minSide (default 8 px) with MC_DATA_IMAGE_TOO_SMALL; 8×8 passes', async () => {
    const f = await failure(decodeBytes(await solid(1, 1).png().toBuffer(), 'dot.png'));
    expect(f).toEqual({ code: 'MC_DATA_IMAGE_TOO_SMALL', file: 'dot.png', message: 'dot.png: 1×1 px is smaller than the minimum of 8 px per side' });
    expect(await failure(decodeBytes(await solid(200, 7).jpeg().toBuffer(), 'strip.jpg'))).toMatchObject({ code: 'MC_DATA_IMAGE_TOO_SMALL' });
    expect((await decodeBytes(await solid(8, 8).png().toBuffer(), 'eight.png')).width).toBe(8);
    expect((await decodeBytes(await solid(1, 1).png().toBuffer(), 'dot.png', { minSide: 1 })).width).toBe(1);
    // preprocessImage on bytes goes through the same guard
    expect(await failure(preprocessImage(await solid(3, 3).png().toBuffer(), { size: 32 }, 'tiny.png'))).toMatchObject({ code: 'MC_DATA_IMAGE_TOO_SMALL' });
  });

  it('refuses animated / multi-page images with MC_DATA_MULTI_FRAME (frames found vs 1 expected)', async () => {
    // three 16×16 frames of different grey (identical frames would be merged by the GIF encoder)
    const frames = Uint8Array.from({ length: 16 * 48 * 3 }, (_, i) => Math.floor(i / (16 * 16 * 3)) * 100);
    for (const fmt of ['gif', 'webp', 'tiff'] as const) {
      const multi = await sharp(frames, { raw: { width: 16, height: 48, channels: 3, pageHeight: 16 } })[fmt]().toBuffer();
      expect((await readSharpHeader(multi)).pages).toBe(3);
      const f = await failure(decodeBytes(multi, `cine.${fmt}`));
      expect(f).toMatchObject({ code: 'MC_DATA_MULTI_FRAME', message: `cine.${fmt}: ${fmt.toUpperCase()} holds 3 frames/pages; medclass takes single-frame images (expected 1)` });
    }
    const still = await solid(16, 16).gif().toBuffer();
    expect((await decodeBytes(still, 'still.gif')).height).toBe(16);
  });

  it('applies the EXIF orientation: orientation 6 gives the stored pixels rotated 90° clockwise', async () => {
    const w = 24;
    const h = 10;
    const raw = Uint8Array.from({ length: w * h * 3 }, (_, i) => ((i % (w * 3)) * 10 + Math.floor(i / (w * 3)) * 3) % 256);
    const stored = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(stored).metadata()).orientation).toBe(6);
    const img = await decodeBytes(stored, 'rotated.png');
    expect([img.width, img.height, img.channels]).toEqual([h, w, 3]);
    expect([...img.data]).toEqual([...rotate90cw(raw, w, h, 3)]);
    const plain = await decodeBytes(await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer(), 'upright.png');
    expect([plain.width, plain.height]).toEqual([w, h]);
  });

  it("never quotes a file's bytes: 'not an image' names the file and its length only", async () => {
    const secret = new TextEncoder().encode('root:x:0:0:root:/root:/bin/bash\n');
    const f = await failure(decodeBytes(secret, 'notes.txt'));
    expect(f).toMatchObject({ code: 'MC_DATA_NOT_AN_IMAGE', message: 'notes.txt: not an image (32 bytes; no JPEG, PNG, TIFF, BMP, GIF, WebP or DICOM signature)' });
    expect(f!.message).not.toMatch(/root|72 6f/);
  });

  it("in a folder a refused image is reported and skipped, never fatal; the source's guard reaches audit and batch loading", async () => {
    const root = mkdtempSync(join(tmpdir(), 'medclass-guard-folder-'));
    try {
      for (const cls of ['a', 'b']) {
        mkdirSync(join(root, cls));
        for (let i = 0; i < 3; i++) await solid(16, 16).png().toFile(join(root, cls, `${i}.png`));
      }
      await solid(40, 40).png().toFile(join(root, 'b', 'big.png'));
      await solid(2, 2).png().toFile(join(root, 'a', 'dot.png'));
      const src = openSource(root, { guard: { maxPixels: 1000 } });
      const audit = await auditSource(src);
      expect(audit.readable).toBe(6);
      expect(audit.unreadable.map((u) => [u.path, u.code])).toEqual([['a/dot.png', 'MC_DATA_IMAGE_TOO_SMALL'], ['b/big.png', 'MC_DATA_TOO_MANY_PIXELS']]);
      const events: string[] = [];
      const batch = await new Dataset(src).loadBatch(src.items.map((_, i) => i), { size: 8 }, { onEvent: (e) => { if (e.type === 'item-skipped') events.push(`${e.file} ${e.code}`); } });
      expect(batch.x.dims).toEqual([6, 1, 8, 8]);
      expect(batch.skipped.map((k) => k.code).sort()).toEqual(['MC_DATA_IMAGE_TOO_SMALL', 'MC_DATA_TOO_MANY_PIXELS']);
      expect(events.sort()).toEqual(['a/dot.png MC_DATA_IMAGE_TOO_SMALL', 'b/big.png MC_DATA_TOO_MANY_PIXELS']);
      // without the source's own guard, the defaults (40 Mpx) let the 40×40 image through
      expect((await auditSource(openSource(root))).unreadable.map((u) => u.path)).toEqual(['a/dot.png']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
