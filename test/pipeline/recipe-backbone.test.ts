import { describe, expect, it } from 'vitest';
import {
  MAX_HEAD_EPOCHS, MAX_TUNE_EPOCHS, MIN_TUNE_EPOCHS, backboneEvaluateSeconds, backboneMaxEpochs, backboneLadder, backbonePlanSeconds, chooseBackbonePlan, maxPassesForMemory, type BackboneCosts,
} from '../../src/pipeline/recipe-backbone.js';

// Costs of the shape probeBackbone reports: idle-machine MobileNetV2 figures (bench/README.md: last:40 step ≈ 0.85 s
// per batch of 32 at one thread, trunk pass ≈ 3 ms per image) and a loaded machine's (≈ 4× slower, load ≈ 12).
const idle: BackboneCosts = {
  trunkPerImage: 0.004, prefixPerImage: 0.002, headStepPerImage: 0.0003, headValPerImage: 0.0001, tuneStepPerImage: 0.028,
  tuneValPerImage: 0.008, phaseOpenSeconds: 6, tuneCacheBytesPerImage: 100352,
};
const loaded: BackboneCosts = {
  ...idle, trunkPerImage: 0.066, prefixPerImage: 0.036, headStepPerImage: 0.0017, headValPerImage: 0.0002, tuneStepPerImage: 0.17, tuneValPerImage: 0.085, phaseOpenSeconds: 19,
};

describe('backbonePlanSeconds', () => {
  it('adds phase opening, cache passes (val once, train per pass) and per-epoch steps over whole batches', () => {
    const n = { train: 100, val: 10 };
    const p = { passes: 2, headEpochs: 3, tuneEpochs: 4, tuneTrainable: 'last:40', headLr: 3e-3, tuneLr: 5e-4 };
    const c = { ...idle, phaseOpenSeconds: 1, trunkPerImage: 0.01, prefixPerImage: 0.001, headStepPerImage: 0.002, headValPerImage: 0.001, tuneStepPerImage: 0.1, tuneValPerImage: 0.01 };
    // 96 of the 100 train images make whole batches of 32; each epoch also pays 0.5 s of checkpoints.
    const head = 1 + (10 + 200) * 0.01 + 3 * (96 * 0.002 + 10 * 0.001 + 0.5);
    const tune = 1 + (10 + 200) * 0.001 + 4 * (96 * 0.1 + 10 * 0.01 + 0.5);
    const s = backbonePlanSeconds(p, n, c);
    expect(s.head).toBeCloseTo(head, 10);
    expect(s.tune).toBeCloseTo(tune, 10);
    expect(backbonePlanSeconds({ ...p, passes: 0 }, n, c).head).toBeCloseTo(backbonePlanSeconds({ ...p, passes: 1 }, n, c).head, 10);
    expect(backbonePlanSeconds({ ...p, tuneEpochs: 0 }, n, c).tune).toBe(0);
  });
});

describe('chooseBackbonePlan', () => {
  const cases: [string, BackboneCosts, number, number][] = [
    ['idle, 2,100 train', idle, 2100, 370], ['loaded, 2,100 train', loaded, 2100, 370], ['idle, 4,400 train', idle, 4400, 780],
    ['loaded, 600 train', loaded, 600, 100], ['idle, 120 train', idle, 120, 20],
  ];
  it.each(cases)('%s: the plan fits every training time from 60 s to 2 h, except the floor rung', (_, c, train, val) => {
    const n = { train, val };
    const floor = backbonePlanSeconds(backboneLadder(8)[0]!, n, c).total;
    for (let s = 60; s <= 7200; s *= 1.25) {
      const p = chooseBackbonePlan(n, s, c);
      if (s >= floor) expect(p.estimate).toBeLessThanOrEqual(s);
      expect(p.estimate).toBeCloseTo(backbonePlanSeconds(p, n, c).total, 10);
      expect(p.headSeconds).toBeLessThanOrEqual(p.estimate);
    }
  });
  it.each(cases)('%s: more time never gives fewer passes or epochs, and the time left is under one rung step', (_, c, train, val) => {
    const n = { train, val };
    let prev = chooseBackbonePlan(n, 30, c);
    for (let s = 37.5; s <= 7200; s *= 1.25) {
      const p = chooseBackbonePlan(n, s, c);
      expect(p.passes).toBeGreaterThanOrEqual(prev.passes);
      expect(p.headEpochs).toBeGreaterThanOrEqual(prev.headEpochs);
      expect(p.tuneEpochs).toBeGreaterThanOrEqual(prev.tuneEpochs);
      // budget well used: unless the ladder is at its top, one more tune epoch would not have fitted
      if (p.tuneEpochs < MAX_TUNE_EPOCHS && p.tuneEpochs > 0) {
        const ladder = backboneLadder(maxPassesForMemory(train, c));
        const next = ladder[ladder.findIndex((r) => r.tuneEpochs === p.tuneEpochs) + 1]!;
        expect(next.tuneEpochs).toBe(p.tuneEpochs + 1);
        expect(backbonePlanSeconds(next, n, c).total).toBeGreaterThan(s);
      }
      prev = p;
    }
  });
  it('on an idle machine a 15-minute run of ~2,100 images gets the example-sized plan; a loaded one less', () => {
    const n = { train: 2100, val: 450 };
    const idlePlan = chooseBackbonePlan(n, 700, idle);
    expect(idlePlan.tuneEpochs).toBeGreaterThanOrEqual(9);
    expect(idlePlan.passes).toBeGreaterThanOrEqual(4);
    expect(idlePlan.headEpochs).toBe(10);
    const loadedPlan = chooseBackbonePlan(n, 700, loaded);
    expect(loadedPlan.tuneEpochs).toBeLessThan(idlePlan.tuneEpochs);
    expect(loadedPlan.estimate).toBeLessThanOrEqual(700);
  });
  it('passes stay within the cache memory', () => {
    expect(maxPassesForMemory(2100, idle, 2.5e9)).toBe(8);
    expect(maxPassesForMemory(20000, idle, 2.5e9)).toBe(1);
    const p = chooseBackbonePlan({ train: 20000, val: 2000 }, 1e6, idle);
    expect(p.passes * 20000 * idle.tuneCacheBytesPerImage).toBeLessThanOrEqual(2.5e9);
  });
});

describe('backboneLadder', () => {
  it('plans a tune phase of at least MIN_TUNE_EPOCHS (so it can grow), and the last phase may grow to its cap', () => {
    const ladder = backboneLadder(8);
    const tuned = ladder.filter((r) => r.tuneEpochs > 0);
    expect(tuned[0]!.tuneEpochs).toBe(MIN_TUNE_EPOCHS);
    expect(MIN_TUNE_EPOCHS).toBeGreaterThanOrEqual(2);
    expect(tuned.at(-1)!.tuneEpochs).toBe(MAX_TUNE_EPOCHS);
    expect(backboneMaxEpochs(tuned[0]!)).toBe(MAX_TUNE_EPOCHS);
    expect(backboneMaxEpochs(ladder[0]!)).toBe(MAX_HEAD_EPOCHS);
    expect(Math.max(...ladder.map((r) => r.headEpochs))).toBe(MAX_HEAD_EPOCHS);
  });
});

describe('backboneEvaluateSeconds', () => {
  it('doubles the inference with flip TTA', () => {
    expect(backboneEvaluateSeconds(1000, idle, true) - 15).toBeCloseTo(2 * (backboneEvaluateSeconds(1000, idle, false) - 15), 10);
  });
});
