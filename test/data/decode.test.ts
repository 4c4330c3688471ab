import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeBytes, normalizationStats, normalizationTable, preprocessBytes, preprocessImage, sniffFormat } from '../../src/data/index.js';
import { placement, resampleArea, resampleBilinear, toPlanes } from '../../src/data/resample.js';
import { isMedclassError } from '../../src/errors.js';

/** A hand-written 24-bit bottom-up BMP (rows padded to 4 bytes), pixels given top row first as [r,g,b]. */
function bmp24(w: number, h: number, px: (x: number, y: number) => [number, number, number]): Uint8Array {
  const stride = Math.ceil((w * 3) / 4) * 4;
  const buf = new Uint8Array(54 + stride * h);
  const v = new DataView(buf.buffer);
  buf[0] = 0x42; buf[1] = 0x4d;
  v.setUint32(2, buf.length, true); v.setUint32(10, 54, true); v.setUint32(14, 40, true);
  v.setInt32(18, w, true); v.setInt32(22, h, true); v.setUint16(26, 1, true); v.setUint16(28, 24, true);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const [r, g, b] = px(x, y);
    const o = 54 + (h - 1 - y) * stride + x * 3;
    buf[o] = b; buf[o + 1] = g; buf[o + 2] = r;
  }
  return buf;
}

const solid = (w: number, h: number, channels: 1 | 3 | 4, value: number[]) =>
  sharp({ create: { width: w, height: h, channels: channels === 1 ? 3 : channels, background: channels === 4 ? { r: value[0]!, g: value[1]!, b: value[2]!, alpha: value[3]! / 255 } : { r: value[0]!, g: value[1] ?? value[0]!, b: value[2] ?? value[0]! } } });

describe('format sniffing and decoding', () => {
  it('recognises formats by magic bytes, not by name', async () => {
    const png = await solid(4, 4, 3, [10, 20, 30]).png().toBuffer();
    const jpg = await solid(4, 4, 3, [10, 20, 30]).jpeg().toBuffer();
    const tif = await solid(4, 4, 3, [10, 20, 30]).tiff().toBuffer();
    expect([sniffFormat(png), sniffFormat(jpg), sniffFormat(tif), sniffFormat(bmp24(2, 2, () => [0, 0, 0]))]).toEqual(['png', 'jpeg', 'tiff', 'bmp']);
    expect(sniffFormat(new TextEncoder().encode('hello, not an image'))).toBeUndefined();
  });

  it('decodes a hand-written BMP exactly (bottom-up rows, BGR order, row padding)', async () => {
    const img = await decodeBytes(bmp24(3, 2, (x, y) => [x * 50, y * 100, 7]), 'a.bmp', { minSide: 1 });
    expect([img.width, img.height, img.channels]).toEqual([3, 2, 3]);
    expect([...img.data]).toEqual([0, 0, 7, 50, 0, 7, 100, 0, 7, 0, 100, 7, 50, 100, 7, 100, 100, 7]);
  });

  it('decodes PNG pixels losslessly and keeps grey as 1 channel and RGBA as 4', async () => {
    const grey = await sharp(Buffer.from([0, 64, 128, 255]), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const g = await decodeBytes(grey, 'g.png', { minSide: 1 });
    expect([g.channels, ...g.data]).toEqual([1, 0, 64, 128, 255]);
    const rgba = await decodeBytes(await solid(2, 2, 4, [255, 0, 0, 128]).png().toBuffer(), 'a.png', { minSide: 1 });
    expect(rgba.channels).toBe(4);
  });

  it('classifies bad bytes: empty, not an image, truncated', async () => {
    const codes = async (b: Uint8Array) => decodeBytes(b, 'x').then(() => 'ok', (e) => (isMedclassError(e) ? e.code : String(e)));
    const jpg = await solid(64, 64, 3, [90, 30, 200]).jpeg().toBuffer();
    expect(await codes(new Uint8Array(0))).toBe('MC_DATA_EMPTY_FILE');
    expect(await codes(new TextEncoder().encode('just text\n'))).toBe('MC_DATA_NOT_AN_IMAGE');
    expect(await codes(jpg.subarray(0, jpg.length >> 1))).toBe('MC_DATA_UNREADABLE_IMAGE');
  });
});

describe('preprocessImage', () => {
  const grey = (w: number, h: number, v: number) => ({ width: w, height: h, channels: 1 as const, data: new Uint8Array(w * h).fill(v) });

  it('applies the normalisation presets: none → x/255, half → (x-0.5)/0.5, imagenet → per-channel (x-mean)/std', async () => {
    const img = { width: 2, height: 2, channels: 3 as const, data: Uint8Array.from([255, 0, 51, 255, 0, 51, 255, 0, 51, 255, 0, 51]) };
    const none = await preprocessImage(img, { size: 2, channels: 3, normalize: 'none' }, 'x');
    expect(none.dims).toEqual([3, 2, 2]);
    expect([...none.data.filter((_, i) => i % 4 === 0)].map((v) => +v.toFixed(6))).toEqual([1, 0, 0.2]);
    const half = await preprocessImage(img, { size: 2, channels: 3, normalize: 'half' }, 'x');
    expect([...half.data.filter((_, i) => i % 4 === 0)].map((v) => +v.toFixed(5))).toEqual([1, -1, -0.6]);
    const inet = await preprocessImage(img, { size: 2, channels: 3, normalize: 'imagenet' }, 'x');
    const { mean, std } = normalizationStats('imagenet', 3);
    [1, 0, 0.2].forEach((x, c) => expect(inet.data[c * 4]).toBeCloseTo((x - mean[c]!) / std[c]!, 5));
  });

  it('squash stretches, letterbox keeps the aspect ratio and pads with black', async () => {
    const wide = grey(8, 4, 200);
    const sq = await preprocessImage(wide, { size: 8, channels: 1, fit: 'squash' }, 'x');
    expect(Math.min(...sq.data)).toBeCloseTo(200 / 255, 2);
    const lb = await preprocessImage(wide, { size: 8, channels: 1, fit: 'letterbox' }, 'x');
    const row = (r: number) => [...lb.data.subarray(r * 8, r * 8 + 8)];
    expect(row(0).every((v) => v === 0)).toBe(true); // top two rows are padding
    expect(row(1).every((v) => v === 0)).toBe(true);
    expect(row(4).every((v) => Math.abs(v - 200 / 255) < 0.01)).toBe(true);
    expect(row(7).every((v) => v === 0)).toBe(true);
  });

  it('converts grey to RGB and RGB to grey, from bytes in one pipeline, and flattens alpha onto black', async () => {
    const g2rgb = await preprocessImage(grey(4, 4, 100), { size: 4, channels: 3 }, 'x');
    expect(g2rgb.dims).toEqual([3, 4, 4]);
    expect(Math.max(...g2rgb.data.map((v) => Math.abs(v - 100 / 255)))).toBeLessThan(0.01);
    const rgbPng = await solid(9, 9, 3, [200, 200, 200]).png().toBuffer(); // ≥ 8 px: the image guard's minimum side
    const rgb2g = await preprocessImage(rgbPng, { size: 3, channels: 1 }, 'x.png');
    expect(rgb2g.dims).toEqual([1, 3, 3]);
    expect(Math.abs(rgb2g.data[4]! - 200 / 255)).toBeLessThan(0.01);
    const half = await solid(8, 8, 4, [255, 255, 255, 255]).png().toBuffer();
    const transparent = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0 } } }).png().toBuffer();
    expect((await preprocessImage(half, { size: 4, channels: 1 }, 'o.png')).data[0]).toBeCloseTo(1, 2);
    expect((await preprocessImage(transparent, { size: 4, channels: 1 }, 't.png')).data[0]).toBeCloseTo(0, 2);
  });

  it('writes into a caller buffer at an offset (batch loading)', async () => {
    const buf = new Float32Array(2 * 16).fill(-9);
    await preprocessImage(grey(4, 4, 255), { size: 4 }, 'x', buf, 16);
    expect(buf[15]).toBe(-9);
    expect(buf[16]).toBeCloseTo(1, 6);
  });

  it('resizes to bytes rounded to the nearest level; the float tensor is exactly the table of those bytes', async () => {
    const o = { size: 2, channels: 1 as const, fit: 'squash' as const, normalize: 'half' as const };
    const dot = { width: 1, height: 1, channels: 1 as const, data: Uint8Array.from([31]) }; // enlarged: all 31
    expect([...(await preprocessBytes(dot, o, 'd'))]).toEqual([31, 31, 31, 31]);
    // 3 → 2 area averaging of rows [0, 31, 90]: (0 + 15.5) / 1.5 = 10.33 → 10 and (15.5 + 90) / 1.5 = 70.33 → 70
    const wide = { width: 3, height: 3, channels: 1 as const, data: Uint8Array.from([0, 31, 90, 0, 31, 90, 0, 31, 90]) };
    const bytes = await preprocessBytes(wide, o, 'w');
    expect([...bytes]).toEqual([10, 70, 10, 70]);
    const table = normalizationTable('half', 1);
    expect(table[10]).toBe(Math.fround((10 / 255 - 0.5) / 0.5));
    const x = (await preprocessImage(wide, o, 'w')).data;
    expect([...x]).toEqual([...bytes].map((b) => table[b]));
    // letterbox padding is byte 0; RGB tables are per channel (ImageNet mean/std)
    const boxed = await preprocessBytes(wide, { ...o, size: 4, fit: 'letterbox' }, 'w');
    expect(boxed.length).toBe(16);
    const inet = normalizationTable('imagenet', 3);
    const { mean, std } = normalizationStats('imagenet', 3);
    [0, 1, 2].forEach((c) => expect(inet[c * 256 + 255]).toBeCloseTo((1 - mean[c]!) / std[c]!, 5));
  });
});

describe('resampling arithmetic', () => {
  it('area averaging of 4x4 → 2x2 gives the 2x2 block means; 3 → 2 weighs the shared pixel half', () => {
    const g = Float32Array.from([1, 3, 5, 7, 1, 3, 5, 7, 0, 0, 8, 8, 0, 0, 8, 8]);
    expect([...resampleArea(g, 4, 4, 2, 2)]).toEqual([2, 6, 0, 8]);
    expect([...resampleArea(Float32Array.from([0, 30, 90]), 3, 1, 2, 1)].map((v) => +v.toFixed(4))).toEqual([10, 70]);
  });

  it('bilinear enlarging matches PyTorch interpolate(align_corners=False): [0,100] → [0,25,75,100]', () => {
    expect([...resampleBilinear(Float32Array.from([0, 100]), 2, 1, 4, 1)]).toEqual([0, 25, 75, 100]);
  });

  it('RGB → grey uses ITU-R 601-2 luma like PIL convert("L"); letterbox placement centres the image', () => {
    // pixels and the grey levels Debian's PIL gives for them: np.asarray(Image.fromarray(a).convert('L'))
    const rgb = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 200, 33], [128, 128, 129], [1, 2, 3], [250, 251, 252], [77, 3, 199]];
    const [g] = toPlanes({ width: rgb.length, height: 1, channels: 3, data: Uint8Array.from(rgb.flat()) }, 1);
    expect([...g!]).toEqual([76, 150, 29, 124, 128, 2, 251, 47]);
    expect(placement(200, 150, 64, 'letterbox')).toEqual({ x: 0, y: 8, w: 64, h: 48 });
    expect(placement(200, 150, 64, 'squash')).toEqual({ x: 0, y: 0, w: 64, h: 64 });
  });
});
