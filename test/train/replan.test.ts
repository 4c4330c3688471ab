import { describe, expect, it } from 'vitest';
import { oneCycleSchedule } from '../../src/engine/index.js';
import { ResizableSchedule, replanEpochs } from '../../src/train/index.js';

describe('replanEpochs', () => {
  it('keeps the plan (max) when it fits, else the epochs that fit, never fewer than done', () => {
    expect(replanEpochs({ max: 19, done: 1, secondsLeft: 800, epochSeconds: 40 })).toBe(19);
    expect(replanEpochs({ max: 19, done: 1, secondsLeft: 700, epochSeconds: 118 })).toBe(6); // 1 + ⌊700/118⌋
    expect(replanEpochs({ max: 19, done: 4, secondsLeft: 50, epochSeconds: 118 })).toBe(4);
    expect(replanEpochs({ max: 19, done: 4, secondsLeft: -3, epochSeconds: 118 })).toBe(4);
  });

  it('with the current plan: shrinks when it does not fit, grows only by ≥ max(2, 10 %) and then keeps one epoch spare', () => {
    const at = (planned: number, secondsLeft: number) => replanEpochs({ max: 40, done: 5, secondsLeft, epochSeconds: 10, planned });
    expect(at(20, 140)).toBe(19); // 5 + 14 fit: shrink at once
    expect(at(20, 150)).toBe(20); // 20 fit exactly: keep
    expect(at(20, 160)).toBe(20); // 21 fit: growing by 0 (one spare) is below the step
    expect(at(20, 170)).toBe(20); // 22 fit → 21: +1 < 2
    expect(at(20, 180)).toBe(22); // 23 fit → 22: +2 ≥ max(2, 2)
    expect(at(30, 280)).toBe(30); // 33 fit → 32: +2 < 10 % of 30
    expect(at(30, 290)).toBe(33); // 34 fit → 33: +3 ≥ 3
    expect(at(30, 900)).toBe(40); // capped at max
    expect(replanEpochs({ max: 40, done: 5, secondsLeft: 900, epochSeconds: 10, planned: 5 })).toBe(5); // its schedule is over: no growth
    expect(replanEpochs({ max: 40, done: 4, secondsLeft: 900, epochSeconds: 10, planned: 5 })).toBe(40); // one epoch before: the rest is stretched
  });
});

describe('ResizableSchedule', () => {
  const total = 100;
  const base = oneCycleSchedule({ totalSteps: total, pctStart: 0.2 });

  it('is the base schedule until shortened', () => {
    const s = new ResizableSchedule(base, total);
    for (const step of [0, 10, 19, 50, 99]) expect(s.at(step)).toBe(base(step));
  });

  it('after shorten(from, T) keeps steps before from, maps from…T−1 linearly onto from…99 and ends at the base end', () => {
    const s = new ResizableSchedule(base, total);
    s.resize(10, 40);
    for (let step = 0; step < 10; step++) expect(s.at(step)).toBe(base(step));
    // independent of the warp: step 10 + j of the new schedule is base step 10 + j·(99 − 10)/(39 − 10)
    for (const j of [0, 5, 13, 29]) expect(s.at(10 + j)).toBeCloseTo(base(10 + (j * 89) / 29), 12);
    expect(s.at(39)).toBeCloseTo(base(99), 15); // 1/(25·1e4): annealed
    expect(s.totalSteps).toBe(40);
    // peak (base step 19) is still reached inside the compressed warm-up
    const peak = Math.max(...Array.from({ length: 40 }, (_, i) => s.at(i)));
    expect(peak).toBeGreaterThan(0.95);
  });

  it('composes two shortenings and ignores a longer one', () => {
    const s = new ResizableSchedule(base, total);
    s.resize(10, 40);
    const mid = s.at(25);
    s.resize(45, 60); // from past the end: no-op
    expect(s.totalSteps).toBe(40);
    s.resize(20, 30);
    expect(s.at(15)).toBeCloseTo(base(10 + (5 * 89) / 29), 12);
    expect(s.at(20)).toBeCloseTo(base(10 + (10 * 89) / 29), 12);
    expect(s.at(29)).toBeCloseTo(base(99), 15);
    expect(s.at(25)).not.toBeCloseTo(mid, 6);
  });

  it('stretches: resize(from, T > total) maps from…T−1 onto from…99', () => {
    const s = new ResizableSchedule(base, total);
    s.resize(50, 150);
    expect(s.at(49)).toBe(base(49));
    for (const j of [0, 33, 99]) expect(s.at(50 + j)).toBeCloseTo(base(50 + (j * 49) / 99), 12);
    expect(s.at(149)).toBeCloseTo(base(99), 15);
    expect(s.totalSteps).toBe(150);
  });

  it('one step left jumps to the end value', () => {
    const s = new ResizableSchedule(base, total);
    s.resize(30, 31);
    expect(s.at(30)).toBeCloseTo(base(99), 15);
    expect(s.at(29)).toBe(base(29));
  });
});
