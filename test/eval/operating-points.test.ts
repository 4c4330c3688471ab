import { describe, expect, it } from 'vitest';
import { chooseThreshold, operatingPoint, statsAtThreshold } from '../../src/eval/index.js';

// Hand-derived: 4 positives at 0.9, 0.8, 0.6, 0.3 and 4 negatives at 0.7, 0.4, 0.2, 0.1.
const isPos = Uint8Array.from([1, 1, 1, 1, 0, 0, 0, 0]);
const s = Float64Array.from([0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.1]);

describe('operating points', () => {
  it('target sensitivity: the highest threshold reaching it', () => {
    expect(chooseThreshold(isPos, s, { kind: 'sensitivity', target: 0.75 })).toBe(0.6);
    expect(chooseThreshold(isPos, s, { kind: 'sensitivity', target: 1 })).toBe(0.3);
  });
  it('target specificity: the lowest threshold keeping it', () => {
    expect(chooseThreshold(isPos, s, { kind: 'specificity', target: 0.75 })).toBe(0.6);
    expect(chooseThreshold(isPos, s, { kind: 'specificity', target: 1 })).toBe(0.8);
  });
  it("Youden's J picks the threshold maximising sens + spec − 1 (0.8 and 0.6 both give J = 0.5; the higher wins)", () => {
    expect(chooseThreshold(isPos, s, { kind: 'youden' })).toBe(0.8);
  });
  it('stats at a threshold: score ≥ t is positive', () => {
    expect(statsAtThreshold(isPos, s, 0.6)).toEqual({ threshold: 0.6, tp: 3, fp: 1, tn: 3, fn: 1, sensitivity: 0.75, specificity: 0.75, ppv: 0.75, npv: 0.75 });
  });
  it('the threshold chosen on val is applied unchanged to test', () => {
    const test = { isPositive: Uint8Array.from([1, 1, 0, 0]), scores: Float64Array.from([0.65, 0.5, 0.62, 0.1]) };
    const op = operatingPoint({ isPositive: isPos, scores: s }, test, { kind: 'sensitivity', target: 0.75 });
    expect(op.threshold).toBe(0.6);
    expect(op.test).toMatchObject({ tp: 1, fn: 1, fp: 1, tn: 1 });
    expect(op.criterion).toBe('sensitivity_0.75');
  });
});
