import { describe, expect, it } from 'vitest';
import { oneCycleSchedule } from '../../src/engine/index.js';
import { ShrinkableSchedule, replanEpochs } from '../../src/train/index.js';

describe('replanEpochs', () => {
  it('keeps the plan when it fits, else the epochs that fit, never fewer than done', () => {
    expect(replanEpochs({ planned: 19, done: 1, secondsLeft: 800, epochSeconds: 40 })).toBe(19);
    expect(replanEpochs({ planned: 19, done: 1, secondsLeft: 700, epochSeconds: 118 })).toBe(6); // 1 + ⌊700/118⌋
    expect(replanEpochs({ planned: 19, done: 4, secondsLeft: 50, epochSeconds: 118 })).toBe(4);
    expect(replanEpochs({ planned: 19, done: 4, secondsLeft: -3, epochSeconds: 118 })).toBe(4);
  });
});

describe('ShrinkableSchedule', () => {
  const total = 100;
  const base = oneCycleSchedule({ totalSteps: total, pctStart: 0.2 });

  it('is the base schedule until shortened', () => {
    const s = new ShrinkableSchedule(base, total);
    for (const step of [0, 10, 19, 50, 99]) expect(s.at(step)).toBe(base(step));
  });

  it('after shorten(from, T) keeps steps before from, maps from…T−1 linearly onto from…99 and ends at the base end', () => {
    const s = new ShrinkableSchedule(base, total);
    s.shorten(10, 40);
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
    const s = new ShrinkableSchedule(base, total);
    s.shorten(10, 40);
    const mid = s.at(25);
    s.shorten(30, 60); // longer: no-op
    expect(s.totalSteps).toBe(40);
    s.shorten(20, 30);
    expect(s.at(15)).toBeCloseTo(base(10 + (5 * 89) / 29), 12);
    expect(s.at(20)).toBeCloseTo(base(10 + (10 * 89) / 29), 12);
    expect(s.at(29)).toBeCloseTo(base(99), 15);
    expect(s.at(25)).not.toBeCloseTo(mid, 6);
  });

  it('one step left jumps to the end value', () => {
    const s = new ShrinkableSchedule(base, total);
    s.shorten(30, 31);
    expect(s.at(30)).toBeCloseTo(base(99), 15);
    expect(s.at(29)).toBe(base(29));
  });
});
