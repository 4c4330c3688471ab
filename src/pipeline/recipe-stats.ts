import type { DatasetSource, DecodedImage } from '../data/index.js';
import { Rng } from '../engine/index.js';
import type { DataStats } from './recipe.js';

/** True when an RGB(A) image has pixels whose channels differ by more than 8 levels (a grey scan saved as RGB is not colour). */
export function hasColour(img: DecodedImage): boolean {
  if (img.channels < 3) return false;
  const c = img.channels;
  let differ = 0;
  const n = img.width * img.height;
  const step = Math.max(1, Math.floor(n / 4096));
  for (let p = 0; p < n; p += step) {
    const r = img.data[p * c]!, g = img.data[p * c + 1]!, b = img.data[p * c + 2]!;
    if (Math.abs(r - g) > 8 || Math.abs(g - b) > 8 || Math.abs(r - b) > 8) differ++;
  }
  return differ > 0.01 * (n / step);
}

/** Median of a list of numbers. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/**
 * Reads the statistics a recipe is chosen from: split and class counts from the item list (no pixels), and image
 * size and colour (most sampled images in colour) from `sample` seeded-random non-test images (unreadable ones skipped). Test items count only in
 * `sourceSplits`, never in the class counts.
 */
export async function dataStats(source: DatasetSource, opts: { sample?: number; seed?: number } = {}): Promise<DataStats> {
  const sourceSplits = { train: 0, val: 0, test: 0 };
  for (const it of source.items) if (it.split) sourceSplits[it.split]++;
  const haveTrain = sourceSplits.train > 0;
  const trainCounts = source.classes.map(() => 0);
  for (const it of source.items) if (haveTrain ? it.split === 'train' : it.split !== 'test') trainCounts[it.labelIndex]!++;
  const rng = new Rng(opts.seed ?? 0).fork('recipe-sample');
  const n = opts.sample ?? 24;
  const pool = source.items.map((it, i) => (it.split === 'test' ? -1 : i)).filter((i) => i >= 0); // sizes from train/val only
  const picked = rng.permutation(pool.length).slice(0, n).map((j) => pool[j]!);
  const sides: number[] = [];
  let colourful = 0;
  for (const i of picked) {
    try {
      const img = await source.items[i]!.load();
      sides.push(Math.min(img.width, img.height));
      if (hasColour(img)) colourful++;
    } catch { /* an unreadable file is reported by the run's loader; the sample just skips it */ }
  }
  return {
    classes: [...source.classes], sourceSplits, trainCounts, grouped: source.items.filter((it) => it.group !== undefined).length,
    medianSide: Math.round(median(sides)) || 64, colour: colourful > sides.length / 2, // a few tinted scans do not make a colour modality
  };
}
