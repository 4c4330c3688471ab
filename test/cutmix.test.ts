import { describe, expect, it } from 'vitest';
import { Rng } from '../src/engine/index.js';
import { applyCutMix, cutmixBatch, drawCutMix } from '../src/train/index.js';
import { FitOptions } from '../src/train/index.js';

/** A batch where every pixel of image i holds the value i + 1 in every channel. */
function constantBatch(n: number, c: number, h: number, w: number): Float32Array {
  const x = new Float32Array(n * c * h * w);
  for (let i = 0; i < n; i++) x.fill(i + 1, i * c * h * w, (i + 1) * c * h * w);
  return x;
}

describe('CutMix', () => {
  it('the label weight of the partner equals the pasted area fraction, pixel for pixel, over many draws', () => {
    const [n, c, h, w] = [6, 2, 13, 17];
    const rng = new Rng(7);
    let seenPartial = 0;
    for (let t = 0; t < 50; t++) {
      const x = constantBatch(n, c, h, w);
      const labels = Int32Array.from([0, 1, 2, 0, 1, 2]);
      const d = drawCutMix(n, h, w, 1.0, rng);
      const targets = applyCutMix(x, [n, c, h, w], labels, 3, d);
      for (let i = 0; i < n; i++) {
        const j = d.perm[i]!;
        const img = x.subarray(i * c * h * w, (i + 1) * c * h * w);
        // pixels that came from the partner (its value), counted over all channels
        const pasted = j === i ? (d.x1 - d.x0) * (d.y1 - d.y0) * c : img.reduce((s, v) => s + (v === j + 1 ? 1 : 0), 0);
        const frac = pasted / (c * h * w);
        expect(1 - d.lam).toBeCloseTo(frac, 12);
        const row = targets.subarray(i * 3, (i + 1) * 3);
        expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
        if (labels[i] !== labels[j]) {
          expect(row[labels[j]!]).toBeCloseTo(frac, 6);
          expect(row[labels[i]!]).toBeCloseTo(1 - frac, 6);
        }
        // the pasted region is exactly the box, in every channel
        let wrong = 0;
        for (let ch = 0; ch < c; ch++) {
          for (let y = 0; y < h; y++) {
            for (let xx = 0; xx < w; xx++) {
              const inBox = y >= d.y0 && y < d.y1 && xx >= d.x0 && xx < d.x1;
              if (img[ch * h * w + y * w + xx] !== (inBox ? j + 1 : i + 1)) wrong++;
            }
          }
        }
        expect(wrong).toBe(0);
      }
      if (d.lam > 0 && d.lam < 1) seenPartial++;
    }
    expect(seenPartial).toBeGreaterThan(30);
  });

  it('is reproducible from the seed: the same seed gives the same images and targets, another seed differs', () => {
    const run = (seed: number) => {
      const x = constantBatch(8, 1, 28, 28);
      const t = cutmixBatch(x, [8, 1, 28, 28], Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]), 2, 1.0, new Rng(seed).fork('phase0/epoch0').fork('cutmix'));
      return { x, t };
    };
    const a = run(42), b = run(42), c = run(43);
    expect(Buffer.from(a.x.buffer).equals(Buffer.from(b.x.buffer))).toBe(true);
    expect(Array.from(a.t)).toEqual(Array.from(b.t));
    expect(Buffer.from(a.x.buffer).equals(Buffer.from(c.x.buffer))).toBe(false);
  });

  it('the mean pasted fraction follows Beta(α, α): E[1 − λ] ≈ 0.5 for α = 1 (before clipping shrinks it)', () => {
    const rng = new Rng(0);
    let s = 0;
    const T = 2000;
    for (let t = 0; t < T; t++) s += 1 - drawCutMix(2, 64, 64, 1.0, rng).lam;
    // clipping at the borders only removes area, so the mean is below 0.5 but well above 0.25
    expect(s / T).toBeLessThan(0.5);
    expect(s / T).toBeGreaterThan(0.25);
  });

  it('refuses [N,D] input with MC_TRAIN_BAD_CONFIG, and fit.cutmix defaults to off', () => {
    expect(() => cutmixBatch(new Float32Array(8), [2, 4], Int32Array.from([0, 1]), 2, 1, new Rng(0))).toThrow(/image-shaped/);
    expect(FitOptions.parse({}).cutmix).toBe(0);
    expect(FitOptions.parse({ loss: { kind: 'focal' } }).loss).toEqual({ kind: 'focal', gamma: 2 });
  });
});
