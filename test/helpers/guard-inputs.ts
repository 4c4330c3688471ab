// Bad inputs for the input-guard tests (a 16000×16000 PNG, a 1×1 PNG, an EXIF-rotated JPEG and its upright copy)
// and a spawned CLI measured by /usr/bin/time -v (peak RSS, wall time).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { BIN } from './cli.js';

/** A valid grey 16000×16000 PNG (256 Mpx; about 250 KB, since it is one flat colour); takes about 3 s to make. */
export async function hugePng(): Promise<Buffer> {
  return sharp({ create: { width: 16000, height: 16000, channels: 3, background: { r: 40, g: 40, b: 40 } }, limitInputPixels: false })
    .toColourspace('b-w').png({ compressionLevel: 9 }).toBuffer();
}

/** A 1×1 px RGB PNG. */
export function dotPng(): Promise<Buffer> {
  return sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer();
}

/** Row-major HWC pixels rotated 90° clockwise (what EXIF orientation 6 asks a viewer to do): w×h → h×w. */
export function rotate90cw(px: Uint8Array, w: number, h: number, c: number): Uint8Array {
  const out = new Uint8Array(px.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(x * h + (h - 1 - y)) * c + k] = px[(y * w + x) * c + k]!;
  return out;
}

/**
 * From a real JPEG: `rotated` — its pixels turned 90° counter-clockwise, stored as JPEG with EXIF orientation 6 (so a
 * viewer shows it upright again); `upright` — the JPEG's stored pixels (decoded without orientation) turned 90°
 * clockwise in JavaScript, as a lossless PNG; `stored` — those stored pixels as a PNG without any orientation.
 */
export async function exifPair(jpegPath: string): Promise<{ rotated: Buffer; upright: Buffer; stored: Buffer; width: number; height: number }> {
  const src = readFileSync(jpegPath);
  const rotated = await sharp(src).rotate(270).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer();
  const { data, info } = await sharp(rotated).raw().toBuffer({ resolveWithObject: true }); // sharp applies no orientation unless asked
  const c = info.channels as 1 | 3;
  const up = rotate90cw(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height, c);
  const upright = await sharp(up, { raw: { width: info.height, height: info.width, channels: c } }).png().toBuffer();
  const stored = await sharp(data, { raw: { width: info.width, height: info.height, channels: c } }).png().toBuffer();
  return { rotated, upright, stored, width: info.height, height: info.width };
}

/** `medclass <args>` under `/usr/bin/time -v`: exit code, output (time's report removed), peak RSS in MB and wall seconds. */
export function timedCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string; maxRssMb: number; wallS: number }> {
  return new Promise((resolve) => {
    execFile('/usr/bin/time', ['-v', process.execPath, BIN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const at = stderr.lastIndexOf('\tCommand being timed:');
      const report = at >= 0 ? stderr.slice(at) : '';
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(report);
      const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(report);
      const wallS = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
      const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
      resolve({ code, stdout, stderr: at >= 0 ? stderr.slice(0, at).replace(/Command exited with non-zero status \d+\n$/, '') : stderr, maxRssMb: rss ? Number(rss[1]) / 1024 : NaN, wallS });
    });
  });
}
