import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { adjustSharpness, applyAugment, augmentBatch, drawAugment, mixupBatch, zoomRange, type AugmentDraw, type AugmentSpec } from '../../src/train/augment.js';

const NONE: AugmentDraw = { hflip: false, vflip: false, angle: 0, tx: 0, ty: 0, scale: 1, brightness: 0, contrast: 1 };
const img = Float32Array.from({ length: 12 }, (_, i) => i); // [1,3,4]: rows 0..3, 4..7, 8..11

describe('augmentation', () => {
  it('identity draw leaves the image unchanged', () => {
    const out = new Float32Array(12);
    applyAugment(img, out, 1, 3, 4, NONE);
    expect([...out]).toEqual([...img]);
  });

  it('horizontal flip mirrors each row', () => {
    const out = new Float32Array(12);
    applyAugment(img, out, 1, 3, 4, { ...NONE, hflip: true });
    expect([...out]).toEqual([3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8]);
  });

  it('rotation by 180° equals both flips', () => {
    const a = new Float32Array(12);
    const b = new Float32Array(12);
    applyAugment(img, a, 1, 3, 4, { ...NONE, angle: Math.PI });
    applyAugment(img, b, 1, 3, 4, { ...NONE, hflip: true, vflip: true });
    for (let i = 0; i < 12; i++) expect(a[i]).toBeCloseTo(b[i]!, 4);
  });

  it('integer translation shifts pixels by whole columns (edge-padded)', () => {
    const out = new Float32Array(12);
    applyAugment(img, out, 1, 3, 4, { ...NONE, tx: 0.25 });
    expect([...out.subarray(0, 4)]).toEqual([0, 0, 1, 2]);
  });

  it('contrast 1 and brightness b adds b; contrast keeps the mean', () => {
    const out = new Float32Array(12);
    applyAugment(img, out, 1, 3, 4, { ...NONE, contrast: 2 });
    const mean = out.reduce((s, v) => s + v, 0) / 12;
    expect(mean).toBeCloseTo(5.5, 5);
    expect(out[0]).toBeCloseTo(-5.5, 5);
  });

  it('scale 2 zooms in: the output samples the central half of the image', () => {
    const ramp = Float32Array.from({ length: 9 }, (_, i) => i % 9); // [1,1,9]: x = 0..8
    const out = new Float32Array(9);
    applyAugment(ramp, out, 1, 1, 9, { ...NONE, scale: 2 });
    for (let x = 0; x < 9; x++) expect(out[x]).toBeCloseTo(4 + (x - 4) / 2, 5);
  });

  it('zoom as a number is symmetric, as a pair is a scale range, [1,1] never zooms', () => {
    expect(zoomRange(0.2)).toEqual([0.8, 1.2]);
    expect(zoomRange(0)).toBeUndefined();
    expect(zoomRange([1, 1])).toBeUndefined();
    const spec: AugmentSpec = { hflip: false, vflip: false, rotate: 0, translate: 0, zoom: [1.1, 1.4], brightness: 0, contrast: 0 };
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const { scale } = drawAugment(spec, rng);
      expect(scale).toBeGreaterThanOrEqual(1.1);
      expect(scale).toBeLessThanOrEqual(1.4);
    }
  });

  it('aspect 4 widens by 2 and squashes by 2: x samples the central half, y twice the range (edge-clamped)', () => {
    const rampX = Float32Array.from({ length: 9 }, (_, i) => i); // [1,1,9]: x = 0..8
    const out = new Float32Array(9);
    applyAugment(rampX, out, 1, 1, 9, { ...NONE, aspect: 4 });
    for (let x = 0; x < 9; x++) expect(out[x]).toBeCloseTo(4 + (x - 4) / 2, 5);
    const rampY = Float32Array.from({ length: 9 }, (_, i) => i); // [1,9,1]: y = 0..8
    applyAugment(rampY, out, 1, 9, 1, { ...NONE, aspect: 4 });
    for (let y = 0; y < 9; y++) expect(out[y]).toBeCloseTo(Math.min(8, Math.max(0, 4 + (y - 4) * 2)), 5);
  });

  it('aspect draws are log-uniform in [min, max] and an unset aspect keeps the random stream', () => {
    const spec: AugmentSpec = { hflip: true, vflip: false, rotate: 5, translate: 0.1, zoom: 0.1, brightness: 0.1, contrast: 0.1, aspect: [0.5, 2] };
    const rng = new Rng(11);
    let below = 0;
    for (let i = 0; i < 2000; i++) {
      const { aspect } = drawAugment(spec, rng);
      expect(aspect).toBeGreaterThanOrEqual(0.5);
      expect(aspect).toBeLessThanOrEqual(2);
      if (aspect! < 1) below++;
    }
    expect(below / 2000).toBeGreaterThan(0.45); // log-uniform: half below 1 (uniform would give a third)
    expect(below / 2000).toBeLessThan(0.55);
    const a = new Rng(4); const b = new Rng(4);
    const { aspect: _unused, ...without } = spec;
    for (let i = 0; i < 20; i++) expect(drawAugment({ ...without, aspect: [1, 1] }, a)).toEqual(drawAugment(without, b));
  });

  it('sharpness 0 on an impulse gives the 2-D Gaussian of σ = 1 px (5×5 taps); 2 gives 2·image − blur; 1 is identity', () => {
    const impulse = () => { const a = new Float32Array(81); a[40] = 1; return a; }; // 9×9, centre pixel
    const z = [-2, -1, 0, 1, 2].reduce((acc, x) => acc + Math.exp(-(x * x) / 2), 0);
    const gauss = (dx: number, dy: number) => (Math.abs(dx) > 2 || Math.abs(dy) > 2 ? 0 : Math.exp(-(dx * dx + dy * dy) / 2) / (z * z));
    const blurred = impulse();
    adjustSharpness(blurred, 1, 9, 9, 0);
    const sharpened = impulse();
    adjustSharpness(sharpened, 1, 9, 9, 2);
    for (let y = 0; y < 9; y++) {
      for (let x = 0; x < 9; x++) {
        expect(blurred[y * 9 + x]).toBeCloseTo(gauss(x - 4, y - 4), 6);
        expect(sharpened[y * 9 + x]).toBeCloseTo(2 * (x === 4 && y === 4 ? 1 : 0) - gauss(x - 4, y - 4), 6);
      }
    }
    const same = impulse();
    applyAugment(impulse(), same, 1, 9, 9, { ...NONE, sharpness: 1 });
    expect([...same]).toEqual([...impulse()]);
    const flat = new Float32Array(2 * 16).fill(0.3); // two channels, edges clamp: a constant stays constant
    adjustSharpness(flat, 2, 4, 4, 0);
    for (const v of flat) expect(v).toBeCloseTo(0.3, 6);
  });

  it('sharpness draws lie in [1 − s, 1 + s] and an unset sharpness keeps the random stream', () => {
    const spec: AugmentSpec = { hflip: true, vflip: false, rotate: 5, translate: 0.1, zoom: 0.1, brightness: 0.1, contrast: 0.1, sharpness: 0.4 };
    const rng = new Rng(12);
    for (let i = 0; i < 200; i++) {
      const { sharpness } = drawAugment(spec, rng);
      expect(sharpness).toBeGreaterThanOrEqual(0.6);
      expect(sharpness).toBeLessThanOrEqual(1.4);
    }
    const a = new Rng(4); const b = new Rng(4);
    const { sharpness: _unused, ...without } = spec;
    for (let i = 0; i < 20; i++) expect(drawAugment({ ...without, sharpness: 0 }, a)).toEqual(drawAugment(without, b));
  });

  it('random erasing blanks one in-bounds rectangle of 2–33 % of the area to 0; erase 0 keeps the random stream', () => {
    const spec: AugmentSpec = { hflip: false, vflip: false, rotate: 0, translate: 0, zoom: 0, brightness: 0, contrast: 0, erase: 1 };
    const rng = new Rng(5);
    for (let i = 0; i < 50; i++) {
      const x = new Float32Array(2 * 32 * 32).fill(1);
      augmentBatch(x, [1, 2, 32, 32], spec, rng);
      const zeros = x.filter((v) => v === 0).length / 2;
      expect(zeros / 1024).toBeGreaterThan(0.01);
      expect(zeros / 1024).toBeLessThan(0.36);
      // both channels blank the same pixels; the blanked pixels form one rectangle
      const plane0 = [...x.subarray(0, 1024)].map((v) => v === 0);
      expect(plane0).toEqual([...x.subarray(1024)].map((v) => v === 0));
      const rows = new Set<number>(); const cols = new Set<number>();
      plane0.forEach((z, k) => { if (z) { rows.add(Math.floor(k / 32)); cols.add(k % 32); } });
      expect(rows.size * cols.size).toBe(zeros);
    }
    const base: AugmentSpec = { ...spec, rotate: 10, erase: 0 };
    const a = new Rng(7); const b = new Rng(7);
    const { erase: _omit, ...noErase } = base;
    for (let i = 0; i < 20; i++) expect(drawAugment(base, a)).toEqual(drawAugment(noErase, b));
  });

  it('augmentBatch is reproducible by seed', () => {
    const spec: AugmentSpec = { hflip: true, vflip: false, rotate: 10, translate: 0.1, zoom: 0.1, brightness: 0.1, contrast: 0.1 };
    const x1 = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i));
    const x2 = x1.slice();
    augmentBatch(x1, [2, 1, 8, 8], spec, new Rng(9));
    augmentBatch(x2, [2, 1, 8, 8], spec, new Rng(9));
    expect([...x1]).toEqual([...x2]);
  });

  it('mixup targets are convex combinations summing to 1', () => {
    const x = Float32Array.from({ length: 4 * 3 }, (_, i) => i);
    const t = mixupBatch(x, [4, 3], Int32Array.from([0, 1, 2, 1]), 3, 0.4, new Rng(1));
    for (let i = 0; i < 4; i++) expect(t[i * 3]! + t[i * 3 + 1]! + t[i * 3 + 2]!).toBeCloseTo(1, 6);
  });
});
