import { describe, expect, it } from 'vitest';
import {
  chooseAugment, chooseClassWeights, chooseMonitor, chooseScratchShape, chooseSplit, epochsWithin, expectedTrainCount,
  maxSizeForMemory, parseBudget, scaleEpochSeconds, sizeCandidates, targetEpochs, trainingSeconds,
} from '../src/pipeline/recipe.js';
import type { DataStats } from '../src/pipeline/recipe.js';
import { scratchConfig, backboneConfig } from '../src/pipeline/recipe-config.js';
import { RunConfig } from '../src/run/index.js';
import { hasColour } from '../src/pipeline/recipe-stats.js';

const stats = (o: Partial<DataStats> = {}): DataStats => ({
  classes: ['a', 'b'], sourceSplits: { train: 1000, val: 100, test: 200 }, trainCounts: [500, 500], grouped: 0, medianSide: 28, colour: false, ...o,
});
const target = { source: 'x.npz', name: 'r', out: '/tmp/o', seed: 0, threads: 1 };

describe('parseBudget', () => {
  it.each([['15m', 900], ['90s', 90], ['1h', 3600], ['1m30s', 90], ['45', 45], ['0.5m', 30]])('%s → %d s', (t, s) => expect(parseBudget(t)).toBe(s));
  it.each(['', 'm', '15x', '-3m', '0s'])('refuses %j', (t) => expect(() => parseBudget(t)).toThrow(/--budget/));
});

describe('split, weights, monitor', () => {
  it('keeps a full split, carves val from train when only train/test exist, else stratifies', () => {
    expect(chooseSplit(stats())).toEqual({ mode: 'keep' });
    expect(chooseSplit(stats({ sourceSplits: { train: 5216, val: 0, test: 624 } }))).toEqual({ mode: 'merge-train-val', valFraction: 0.15 });
    expect(chooseSplit(stats({ sourceSplits: { train: 0, val: 0, test: 0 } }))).toEqual({ mode: 'stratified' });
    expect(expectedTrainCount(stats({ sourceSplits: { train: 5216, val: 0, test: 624 } }))).toBe(4434); // as the Kermany example's 4,434
    expect(expectedTrainCount(stats({ sourceSplits: { train: 0, val: 0, test: 0 }, trainCounts: [114, 25] }))).toBe(97);
  });
  it('class weights from 1.5× imbalance; AUC for binary or strongly imbalanced sets, accuracy for balanced multi-class', () => {
    expect(chooseClassWeights(stats({ trainCounts: [500, 500] }))).toBe('none');
    expect(chooseClassWeights(stats({ trainCounts: [1214, 3494] }))).toBe('auto');
    expect(chooseClassWeights(stats({ trainCounts: [486, 128, 206, 194, 66] }))).toBe('auto'); // RetinaMNIST, 7.4×
    expect(chooseClassWeights(stats({ trainCounts: [115, 6705, 500] }))).toBe('sqrt'); // HAM10000-like, 58×
    expect(chooseMonitor(stats())).toBe('auc');
    expect(chooseMonitor(stats({ classes: ['a', 'b', 'c', 'd'], trainCounts: [500, 520, 480, 600] }))).toBe('accuracy');
    expect(chooseMonitor(stats({ classes: ['0', '1', '2', '3', '4'], trainCounts: [486, 128, 206, 194, 66] }))).toBe('auc');
  });
  it('no flips on grey images unless asked (laterality); colour images flip both ways', () => {
    expect(chooseAugment(stats(), 'auto', false)).toMatchObject({ hflip: false, vflip: false });
    expect(chooseAugment(stats(), 'h', false)).toMatchObject({ hflip: true, vflip: false });
    expect(chooseAugment(stats({ colour: true }), 'auto', false)).toMatchObject({ hflip: true, vflip: true });
    expect(chooseAugment(stats({ colour: true }), 'none', true)).toMatchObject({ hflip: false, vflip: false });
  });
});

describe('size, width and epochs from the budget', () => {
  it('small images keep their size and vary the width; large ones choose among 128…32 px', () => {
    expect(new Set(sizeCandidates(28).map((c) => c.size))).toEqual(new Set([28]));
    expect(sizeCandidates(224)[0]).toEqual({ size: 192, width: 1.5 });
    expect(sizeCandidates(224, maxSizeForMemory(10015, 3))[0]!.size).toBe(96); // HAM10000 in RGB: 1.5 GB of tensors at most
    expect(sizeCandidates(150).map((c) => c.size)).toContain(64);
    expect(sizeCandidates(150)).toContainEqual({ size: 96, width: 0.5 });
    expect(sizeCandidates(50).every((c) => c.size <= 50)).toBe(true);
  });
  it('more epochs for smaller sets, bounded 10–60', () => {
    expect(targetEpochs(1000)).toBe(40);
    expect(targetEpochs(100)).toBe(60);
    expect(targetEpochs(100_000)).toBe(10);
    expect(targetEpochs(546)).toBeGreaterThan(targetEpochs(4708));
  });
  it('epoch cost scales with pixels and width; the training time shrinks with overheads', () => {
    expect(scaleEpochSeconds(1, { size: 64, width: 1 }, { size: 32, width: 1 })).toBeCloseTo(0.25);
    expect(scaleEpochSeconds(1, { size: 28, width: 1 }, { size: 28, width: 2 })).toBeCloseTo(2 ** 1.5);
    expect(trainingSeconds(900, { load: 30, evaluate: 20, probe: 10 })).toBeCloseTo(0.9 * 840);
    expect(trainingSeconds(10, { load: 30, evaluate: 20, probe: 10 })).toBe(0);
    expect(epochsWithin(100, 7)).toBe(14);
    expect(epochsWithin(1, 7)).toBe(1);
  });
  it('a large budget buys the widest net at full epochs; a small one the cheapest net with what fits', () => {
    const cost = (c: { size: number; width: number }) => scaleEpochSeconds(2, { size: 28, width: 1 }, c);
    const big = chooseScratchShape(28, 4708, 3600, cost);
    expect(big).toMatchObject({ size: 28, width: 2 });
    expect(big.epochs).toBeGreaterThanOrEqual(targetEpochs(4708));
    const small = chooseScratchShape(28, 4708, 10, cost);
    expect(small).toMatchObject({ size: 28, width: 0.5 });
    expect(small.epochs).toBeLessThan(targetEpochs(4708));
    const mid = chooseScratchShape(28, 4708, 80, cost); // width 2 (5.7 s/epoch) gives 14 < 18 epochs, width 1.5 (3.7 s) 21
    expect(mid.width).toBe(1.5);
    const large = chooseScratchShape(224, 2100, 600, (c) => scaleEpochSeconds(20, { size: 64, width: 1 }, c));
    expect(large).toMatchObject({ size: 192, width: 0.5 }); // 192 px at width 1 (48²·2.4/64² × 20 s = 27 s) would give 22 < 28 epochs in 600 s
    expect(large.epochs).toBeGreaterThanOrEqual(28);
    // HAM10000-like: a 15-epoch budget that 32 px at width 0.5 fits only 2× over buys 96 px at width 0.5 (its stem is strided)
    const ham = chooseScratchShape(150, 7010, 770, (c) => scaleEpochSeconds(22.6, { size: 32, width: 0.5 }, c), maxSizeForMemory(10015, 3));
    expect(ham).toMatchObject({ size: 96, width: 0.5 });
  });
});

describe('configs', () => {
  it('from-scratch and backbone recipes are valid, complete run configs', () => {
    const s = stats({ classes: ['a', 'b', 'c', 'd'], trainCounts: [500, 500, 550, 550], medianSide: 256 });
    const c = RunConfig.parse(scratchConfig(target, s, { budgetSeconds: 900, flip: 'auto' }, { size: 96, width: 1, epochs: 30 }, 3e-3, 2100));
    expect(c.model).toMatchObject({ arch: 'compact-resnet', width: 1 });
    expect(c.fit).toMatchObject({ epochs: 30, classWeights: 'none', monitor: 'accuracy', patience: 12, minEpochs: 9, tta: false, ema: 0.998 });
    expect(c.data.preprocess).toMatchObject({ size: 96, channels: 1 });
    const b = RunConfig.parse(backboneConfig(target, s, { budgetSeconds: 900, flip: 'h', backbone: 'm.onnx' }, { passes: 4, headEpochs: 10, tuneEpochs: 10, tuneTrainable: 'last:40', headLr: 0.003, tuneLr: 0.0005 }));
    expect(b.fit.phases.map((p) => p.trainable)).toEqual(['head', 'last:40']);
    expect(b.fit).toMatchObject({ cacheTrunk: true, cacheAugmentPasses: 4, tta: true });
    expect(b.data.preprocess.size).toBe(224);
  });
});

describe('hasColour', () => {
  const img = (channels: 1 | 3, f: (p: number) => [number, number, number]) => {
    const n = 32 * 32;
    const data = new Uint8Array(n * channels);
    for (let p = 0; p < n; p++) { const v = f(p); for (let c = 0; c < channels; c++) data[p * channels + c] = v[c]!; }
    return { width: 32, height: 32, channels, data };
  };
  it('grey saved as RGB (with JPEG-like ±5 noise) is not colour; a tinted photo is; one channel never is', () => {
    expect(hasColour(img(3, (p) => [p % 200, (p % 200) + 5, (p % 200) - 3 + 3]))).toBe(false);
    expect(hasColour(img(3, (p) => [150, 90 + (p % 7), 60]))).toBe(true);
    expect(hasColour(img(1, () => [10, 200, 30]))).toBe(false);
  });
});
