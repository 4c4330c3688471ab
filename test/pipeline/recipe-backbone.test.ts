import { describe, expect, it } from 'vitest';
import {
  MAX_HEAD_EPOCHS, MAX_TUNE_EPOCHS, MIN_DEEPER_EPOCHS, MIN_TUNE_EPOCHS, TUNE_DEPTHS, TUNE_TRAINABLE, backboneEvaluateSeconds, backboneMaxEpochs, backboneLadder,
  backbonePlanSeconds, chooseBackbonePlan, maxPassesForMemory, type BackboneCosts, type BackbonePlan,
} from '../../src/pipeline/recipe-backbone.js';

// Costs of the shape probeBackbone reports: idle-machine MobileNetV2 figures (bench/README.md: last:40 step ≈ 0.85 s
// per batch of 32 at one thread, trunk pass ≈ 3 ms per image) and a loaded machine's (≈ 4× slower, load ≈ 12). The
// shallower depths cost less per step and more per prefix pass (their prefix is most of the trunk), and cache less.
const idle: BackboneCosts = {
  trunkPerImage: 0.004, headStepPerImage: 0.0003, headValPerImage: 0.0001, phaseOpenSeconds: 6,
  tune: {
    'last:10': { prefixPerImage: 0.0037, tuneStepPerImage: 0.006, tuneValPerImage: 0.001, tuneCacheBytesPerImage: 31360 },
    'last:19': { prefixPerImage: 0.0032, tuneStepPerImage: 0.012, tuneValPerImage: 0.003, tuneCacheBytesPerImage: 75264 },
    'last:40': { prefixPerImage: 0.002, tuneStepPerImage: 0.028, tuneValPerImage: 0.008, tuneCacheBytesPerImage: 100352 },
  },
};
const scale = (c: BackboneCosts, k: number): BackboneCosts => ({
  trunkPerImage: c.trunkPerImage * k, headStepPerImage: c.headStepPerImage * k, headValPerImage: c.headValPerImage * k, phaseOpenSeconds: c.phaseOpenSeconds * 3,
  tune: Object.fromEntries(Object.entries(c.tune).map(([d, t]) => [d, { ...t, prefixPerImage: t.prefixPerImage * k, tuneStepPerImage: t.tuneStepPerImage * k, tuneValPerImage: t.tuneValPerImage * k }])),
});
const loaded = scale(idle, 6);
const l40 = (c: BackboneCosts) => c.tune['last:40']!;

describe('backbonePlanSeconds', () => {
  it('adds phase opening, cache passes (val once, train per pass) and per-epoch steps over whole batches', () => {
    const n = { train: 100, val: 10 };
    const p = { passes: 2, headEpochs: 3, tuneEpochs: 4, tuneTrainable: 'last:40', headLr: 3e-3, tuneLr: 5e-4 };
    const c: BackboneCosts = {
      phaseOpenSeconds: 1, trunkPerImage: 0.01, headStepPerImage: 0.002, headValPerImage: 0.001,
      tune: { 'last:40': { prefixPerImage: 0.001, tuneStepPerImage: 0.1, tuneValPerImage: 0.01, tuneCacheBytesPerImage: 1 } },
    };
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
    const floor = backbonePlanSeconds(backboneLadder(() => 8)[0]!, n, c).total;
    for (let s = 60; s <= 7200; s *= 1.25) {
      const p = chooseBackbonePlan(n, s, c);
      if (s >= floor) expect(p.estimate).toBeLessThanOrEqual(s);
      expect(p.estimate).toBeCloseTo(backbonePlanSeconds(p, n, c).total, 10);
      expect(p.headSeconds).toBeLessThanOrEqual(p.estimate);
    }
  });
  it.each(cases)('%s: more time never gives a less preferred rung, and no more preferred rung would have fitted', (_, c, train, val) => {
    const n = { train, val };
    const ladder = backboneLadder((d) => maxPassesForMemory(train, c.tune[d]!.tuneCacheBytesPerImage));
    const rank = (p: BackbonePlan) => ladder.findIndex((r) => r.passes === p.passes && r.headEpochs === p.headEpochs && r.tuneEpochs === p.tuneEpochs && r.tuneTrainable === p.tuneTrainable);
    let prev = rank(chooseBackbonePlan(n, 30, c));
    for (let s = 37.5; s <= 7200; s *= 1.25) {
      const p = chooseBackbonePlan(n, s, c);
      const r = rank(p);
      expect(r).toBeGreaterThanOrEqual(prev);
      for (const later of ladder.slice(r + 1)) expect(backbonePlanSeconds(later, n, c).total).toBeGreaterThan(s);
      prev = r;
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
  it('a large set on a budget too small for a last:40 epoch tunes a shallower depth, not the head alone', () => {
    // ~7,000 train images (HAM10000's split), 680 s: one last:40 epoch alone would take ~3.3 min idle, ~20 min loaded
    const n = { train: 7000, val: 1500 };
    const p = chooseBackbonePlan(n, 680, idle);
    expect(p.tuneTrainable).not.toBe('last:40');
    expect(p.tuneEpochs).toBeGreaterThanOrEqual(MIN_DEEPER_EPOCHS);
    const q = chooseBackbonePlan(n, 680, loaded);
    expect(q.estimate).toBeLessThanOrEqual(680);
  });
  it('when no tune fits, the head-only plan spends the time on augmented passes', () => {
    const n = { train: 7000, val: 1500 };
    const c = { ...loaded, tune: { 'last:40': { ...l40(loaded), tuneStepPerImage: 10 } } };
    const p = chooseBackbonePlan(n, 900, c);
    expect(p.tuneEpochs).toBe(0);
    expect(p.passes).toBeGreaterThanOrEqual(2);
    expect(p.estimate).toBeLessThanOrEqual(900);
    expect(chooseBackbonePlan(n, 1800, c).passes).toBeGreaterThan(p.passes);
  });
  it('passes stay within the cache memory of the chosen depth', () => {
    expect(maxPassesForMemory(2100, l40(idle).tuneCacheBytesPerImage, 2.5e9)).toBe(8);
    expect(maxPassesForMemory(20000, l40(idle).tuneCacheBytesPerImage, 2.5e9)).toBe(1);
    const p = chooseBackbonePlan({ train: 20000, val: 2000 }, 1e6, idle);
    expect(p.tuneTrainable).toBe('last:40');
    expect(p.passes * 20000 * l40(idle).tuneCacheBytesPerImage).toBeLessThanOrEqual(2.5e9);
  });
});

describe('backboneLadder', () => {
  it('plans a tune phase of at least MIN_TUNE_EPOCHS (so it can grow), and the last phase may grow to its cap', () => {
    const ladder = backboneLadder(() => 8);
    const tuned = ladder.filter((r) => r.tuneEpochs > 0);
    expect(tuned[0]!.tuneEpochs).toBe(MIN_TUNE_EPOCHS);
    expect(tuned[0]!.tuneTrainable).toBe(TUNE_DEPTHS[0]);
    for (const d of TUNE_DEPTHS.slice(1)) expect(tuned.find((r) => r.tuneTrainable === d)!.tuneEpochs).toBe(MIN_DEEPER_EPOCHS);
    expect(tuned.at(-1)!.tuneTrainable).toBe(TUNE_TRAINABLE);
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
