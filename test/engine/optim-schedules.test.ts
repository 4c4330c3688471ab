import { describe, expect, it } from 'vitest';
import { PlateauOptions, ScheduleOptions } from '../../src/engine/options.js';
import { createOptimizer } from '../../src/engine/optim/create.js';
import { ReduceLrOnPlateau } from '../../src/engine/optim/plateau.js';
import { cosineSchedule, makeSchedule, oneCycleSchedule, stepSchedule } from '../../src/engine/optim/schedules.js';

// Expected values are torch's documented closed forms evaluated by hand.
describe('schedules', () => {
  it('cosine with linear warmup: LinearLR(start 0, 2 iters) then CosineAnnealingLR(T_max 8, eta_min)', () => {
    const s = cosineSchedule({ totalSteps: 10, warmupSteps: 2 });
    expect([0, 1, 2].map(s)).toEqual([0, 0.5, 1]);
    expect(s(6)).toBeCloseTo(0.5, 12); // (1 + cos(π·4/8))/2
    expect(s(4)).toBeCloseTo((1 + Math.SQRT1_2) / 2, 12);
    expect(s(10)).toBeCloseTo(0, 12);
    const m = cosineSchedule({ totalSteps: 10, warmupSteps: 2, minFactor: 0.1, warmupStartFactor: 0.2 });
    expect(m(1)).toBeCloseTo(0.6, 12);
    expect(m(6)).toBeCloseTo(0.55, 12);
    expect(m(12)).toBeCloseTo(0.1, 12); // clamps past the end
  });

  it('step decay: gamma^floor(step / stepSize) (StepLR)', () => {
    const s = stepSchedule({ stepSize: 3, gamma: 0.5 });
    expect([0, 2, 3, 5, 6, 9].map(s)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.125]);
  });

  it('one-cycle: OneCycleLR cos anneal from max/25 to max at pct·total − 1, then to max/25/1e4 at total − 1', () => {
    const s = oneCycleSchedule({ totalSteps: 10 });
    expect(s(0)).toBeCloseTo(0.04, 12);
    expect(s(1)).toBeCloseTo(0.52, 12); // 1 + (0.04 − 1)/2·(cos(π/2) + 1)
    expect(s(2)).toBeCloseTo(1, 12);
    const min = 0.04 / 1e4;
    expect(s(5)).toBeCloseTo(min + ((1 - min) / 2) * (Math.cos((3 * Math.PI) / 7) + 1), 12);
    expect(s(9)).toBeCloseTo(min, 12);
    const three = oneCycleSchedule({ totalSteps: 10, threePhase: true }); // ends: 2, 4, 9
    expect(three(4)).toBeCloseTo(0.04, 12);
    expect(three(3)).toBeCloseTo(0.52, 12);
  });

  it('makeSchedule builds from options and asks for totalSteps when needed', () => {
    expect(makeSchedule(ScheduleOptions.parse({ name: 'constant' }))(123)).toBe(1);
    expect(() => makeSchedule(ScheduleOptions.parse({ name: 'cosine' }))).toThrow(/totalSteps/);
    expect(makeSchedule(ScheduleOptions.parse({ name: 'onecycle' }), 10)(0)).toBeCloseTo(0.04, 12);
  });
});

describe('ReduceLrOnPlateau', () => {
  it('reduces after more than `patience` bad epochs, honours threshold (rel), cooldown and minLr', () => {
    const opt = createOptimizer({ name: 'sgd', lr: 1 });
    const pl = new ReduceLrOnPlateau(PlateauOptions.parse({ patience: 1, cooldown: 1, factor: 0.5, minLr: 0.2, threshold: 0.1 }));
    const lrs: number[] = [];
    // 10 best; 9.5 is not < 10·0.9 → bad; 9.5 bad → 2 bad > 1 → reduce to 0.5, cooldown 1
    for (const m of [10, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5]) { pl.step(m, opt); lrs.push(opt.groups[0]!.lr); }
    // epoch 4: cooldown consumes → bad reset; 5: bad 1; 6: bad 2 → 0.25; 7: cooldown; 8: 1; 9: 2 → max(0.125, 0.2)
    expect(lrs).toEqual([1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]);
    expect(opt.groups[0]!.initialLr).toBeCloseTo(0.2, 12);
  });

  it('mode max counts increases as improvements', () => {
    const opt = createOptimizer({ name: 'sgd', lr: 1 });
    const pl = new ReduceLrOnPlateau(PlateauOptions.parse({ mode: 'max', patience: 0 }));
    expect(pl.step(0.5, opt)).toBe(false);
    expect(pl.step(0.6, opt)).toBe(false);
    expect(pl.step(0.6, opt)).toBe(true);
    expect(opt.groups[0]!.lr).toBeCloseTo(0.1, 12);
  });
});

describe('oneCycleSchedule on very short runs', () => {
  it('gives finite multipliers when the warm-up is shorter than one step (5 steps, pctStart 0.2)', () => {
    const s = oneCycleSchedule({ totalSteps: 5, pctStart: 0.2 });
    const v = [0, 1, 2, 3, 4].map(s);
    expect(v.every(Number.isFinite)).toBe(true);
    expect(v[0]).toBe(1); // peak at once, then cosine down
    expect(v[4]).toBeCloseTo(1 / 25 / 1e4, 12);
  });
});
