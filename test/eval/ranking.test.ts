import { describe, expect, it } from 'vitest';
import { averagePrecisionScore, precisionRecallCurve, rocAucScore, rocCurve, type EvalEvent } from '../../src/eval/index.js';

// scikit-learn 1.2.1: y=[0,0,1,1,0,1,1,0,1,0]; s=[0.1,0.4,0.35,0.8,0.4,0.4,0.9,0.2,0.35,0.05] (ties at 0.4 and 0.35)
const y = Uint8Array.from([0, 0, 1, 1, 0, 1, 1, 0, 1, 0]);
const s = Float64Array.from([0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.9, 0.2, 0.35, 0.05]);
const w = Float64Array.from([1, 2, 0, 1, 3, 1, 0, 2, 1, 1]);

describe('ranking metrics match scikit-learn 1.2.1, ties included', () => {
  it('roc_auc_score 0.8 and average_precision_score 0.8057142857142856', () => {
    expect(rocAucScore(y, s)).toBeCloseTo(0.8, 12);
    expect(averagePrecisionScore(y, s)).toBeCloseTo(0.8057142857142856, 12);
  });

  it('with sample_weight (zero weights dropped): 0.7222222222222222 and 0.5535714285714286', () => {
    expect(rocAucScore(y, s, w)).toBeCloseTo(0.7222222222222222, 12);
    expect(averagePrecisionScore(y, s, w)).toBeCloseTo(0.5535714285714286, 12);
  });

  it('roc_curve drops collinear points and starts at threshold max + 1', () => {
    const r = rocCurve(y, s);
    expect([...r.fpr]).toEqual([0.0, 0.0, 0.0, 0.4, 0.4, 1.0]);
    expect([...r.tpr]).toEqual([0.0, 0.2, 0.4, 0.6, 1.0, 1.0]);
    [1.9, 0.9, 0.8, 0.4, 0.35, 0.05].forEach((t, i) => expect(r.thresholds[i]).toBeCloseTo(t, 12));
  });

  it('precision_recall_curve', () => {
    const r = precisionRecallCurve(y, s);
    [0.5, 0.5555555555555556, 0.625, 0.7142857142857143, 0.6, 1.0, 1.0, 1.0].forEach((p, i) => expect(r.precision[i]).toBeCloseTo(p, 12));
    expect([...r.recall]).toEqual([1.0, 1.0, 1.0, 1.0, 0.6, 0.4, 0.2, 0.0]);
    expect([...r.thresholds]).toEqual([0.05, 0.1, 0.2, 0.35, 0.4, 0.8, 0.9]);
  });

  it('constant scores give AUC 0.5 (all tied)', () => {
    expect(rocAucScore(y, new Float64Array(10).fill(0.3))).toBe(0.5);
  });

  it('one class only: AUC and AP are NaN with an MC_EVAL_UNDEFINED_METRIC warning, no throw', () => {
    const events: EvalEvent[] = [];
    expect(rocAucScore(new Uint8Array(4).fill(1), Float64Array.from([0.1, 0.2, 0.3, 0.4]), undefined, (e) => events.push(e))).toBeNaN();
    expect(averagePrecisionScore(new Uint8Array(4), Float64Array.from([0.1, 0.2, 0.3, 0.4]), undefined, (e) => events.push(e))).toBeNaN();
    expect(events.map((e) => [e.code, e.metric])).toEqual([['MC_EVAL_UNDEFINED_METRIC', 'roc_auc'], ['MC_EVAL_UNDEFINED_METRIC', 'average_precision']]);
  });

  it('AUC equals the Mann–Whitney probability P(s+ > s−) + ½ P(tie), hand-derived', () => {
    let u = 0;
    let pairs = 0;
    for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) if (y[i] && !y[j]) {
      pairs++;
      u += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
    expect(rocAucScore(y, s)).toBeCloseTo(u / pairs, 14);
  });
});
