import { describe, expect, it } from 'vitest';
import {
  accuracyFromConfusion, averageScores, balancedAccuracyFromConfusion, brierScore, classificationReport, cohenKappaFromConfusion, confusionMatrix,
  logLoss, mccFromConfusion, normalizeConfusionRows, perClassScores, type EvalEvent,
} from '../../src/eval/index.js';

// Reference values: scikit-learn 1.2.1 (Debian python3-sklearn), e.g.
//   yo=[0,1,2,3,4,2,1,0,3,4,4,2]; po=[0,2,2,3,3,1,1,0,4,4,2,2]; cohen_kappa_score(yo, po, weights='quadratic')
const yo = Int32Array.from([0, 1, 2, 3, 4, 2, 1, 0, 3, 4, 4, 2]);
const po = Int32Array.from([0, 2, 2, 3, 3, 1, 1, 0, 4, 4, 2, 2]);
const cm = confusionMatrix(yo, po, 5);

describe('confusion-matrix metrics match scikit-learn 1.2.1', () => {
  it('kappa (plain, linear, quadratic), MCC and balanced accuracy', () => {
    expect(cohenKappaFromConfusion(cm, 5)).toBeCloseTo(0.4736842105263158, 12);
    expect(cohenKappaFromConfusion(cm, 5, 'quadratic')).toBeCloseTo(0.8181818181818181, 12);
    expect(cohenKappaFromConfusion(cm, 5, 'linear')).toBeCloseTo(0.6727272727272727, 12);
    expect(mccFromConfusion(cm, 5)).toBeCloseTo(0.4778948196482323, 12);
    expect(balancedAccuracyFromConfusion(cm, 5)).toBeCloseTo(0.6, 12);
    expect(accuracyFromConfusion(cm, 5)).toBeCloseTo(7 / 12, 12);
  });

  it('per-class precision, recall, F1 and their macro/weighted means', () => {
    const pc = perClassScores(cm, 5);
    expect([...pc.precision]).toEqual([1, 0.5, 0.5, 0.5, 0.5]);
    [1.0, 0.5, 0.6666666666666666, 0.5, 0.3333333333333333].forEach((r, k) => expect(pc.recall[k]).toBeCloseTo(r, 12));
    [1.0, 0.5, 0.5714285714285715, 0.5, 0.4].forEach((f, k) => expect(pc.f1[k]).toBeCloseTo(f, 12));
    const avg = averageScores(pc.f1, pc.support);
    expect(avg.macro).toBeCloseTo(0.5942857142857143, 12);
    expect(avg.weighted).toBeCloseTo(0.5761904761904763, 12);
  });

  it('specificity and NPV are TN/(TN+FP) and TN/(TN+FN), hand-derived', () => {
    const pc = perClassScores(cm, 5);
    // class 4: TP 1, FN 2 (4→3, 4→2), FP 1 (3→4), TN 12 − 4 = 8
    expect(pc.specificity[4]).toBeCloseTo(8 / 9, 12);
    expect(pc.npv[4]).toBeCloseTo(8 / 10, 12);
  });

  it('balanced accuracy leaves out classes absent from y_true, as scikit-learn (0.5)', () => {
    const c = confusionMatrix(Int32Array.from([0, 0, 1, 1]), Int32Array.from([0, 1, 1, 2]), 3);
    expect(balancedAccuracyFromConfusion(c, 3)).toBe(0.5);
  });

  it('precision of a never-predicted class is 0 with an MC_EVAL_UNDEFINED_METRIC warning', () => {
    const events: EvalEvent[] = [];
    const c = confusionMatrix(Int32Array.from([0, 1, 1]), Int32Array.from([0, 0, 0]), 2);
    const pc = perClassScores(c, 2, (e) => events.push(e));
    expect(pc.precision[1]).toBe(0);
    expect(pc.f1[1]).toBe(0);
    expect(events.map((e) => e.metric)).toContain('precision[class 1]');
    expect(events.every((e) => e.code === 'MC_EVAL_UNDEFINED_METRIC')).toBe(true);
  });

  it('MCC is 0 when every prediction is one class (constant marginal)', () => {
    const c = confusionMatrix(Int32Array.from([0, 1, 1, 0]), Int32Array.from([1, 1, 1, 1]), 2);
    expect(mccFromConfusion(c, 2)).toBe(0);
  });

  it('row-normalised confusion matrix divides each row by its support', () => {
    const n = normalizeConfusionRows(cm, 5);
    expect(n[2 * 5 + 2]).toBeCloseTo(2 / 3, 12);
    expect(n[2 * 5 + 1]).toBeCloseTo(1 / 3, 12);
  });

  it('sample weights equal repeated rows', () => {
    const w = Float64Array.from([2, 0, 1, 1, 3, 1, 1, 0, 1, 1, 2, 1]);
    const yRep: number[] = [];
    const pRep: number[] = [];
    w.forEach((m, i) => { for (let j = 0; j < m; j++) { yRep.push(yo[i]!); pRep.push(po[i]!); } });
    const a = confusionMatrix(yo, po, 5, w);
    const b = confusionMatrix(Int32Array.from(yRep), Int32Array.from(pRep), 5);
    expect([...a]).toEqual([...b]);
  });
});

describe('probabilistic scores', () => {
  it('log loss clips zeros with float64 eps and renormalises, as log_loss 1.2.1 (0.43277776043749144)', () => {
    const y = Int32Array.from([0, 1, 2, 2, 1, 0, 2, 1]);
    const p = Float64Array.from([0.7, 0.3, 0, 0.2, 0.8, 0, 0, 0, 1, 0.1, 0.2, 0.7, 0.5, 0.5, 0, 1, 0, 0, 0.3, 0.3, 0.4, 0, 0.4, 0.6]);
    expect(logLoss(y, p, 3)).toBeCloseTo(0.43277776043749144, 12);
  });

  it('Brier: binary is mean (p1 − y)², multi-class sums over classes (hand-derived)', () => {
    const y = Int32Array.from([1, 0]);
    const p = Float64Array.from([0.2, 0.8, 0.6, 0.4]);
    expect(brierScore(y, p, 2)).toBeCloseTo((0.04 + 0.16) / 2, 12);
    expect(brierScore(y, p, 2, undefined, true)).toBeCloseTo((0.08 + 0.32) / 2, 12);
  });
});

describe('classification report', () => {
  it('reproduces sklearn.metrics.classification_report 1.2.1 character for character', () => {
    const expected = '              precision    recall  f1-score   support\n\n           0       1.00      1.00      1.00         2\n           1       0.50      0.50      0.50         2\n           2       0.50      0.67      0.57         3\n           3       0.50      0.50      0.50         2\n           4       0.50      0.33      0.40         3\n\n    accuracy                           0.58        12\n   macro avg       0.60      0.60      0.59        12\nweighted avg       0.58      0.58      0.58        12\n';
    expect(classificationReport(perClassScores(cm, 5), accuracyFromConfusion(cm, 5))).toBe(expected);
  });
});
