import { describe, expect, it } from 'vitest';
import { monitorFor } from '../src/pipeline/index.js';
import { RunConfig } from '../src/run/index.js';
import { MedclassError } from '../src/errors.js';

// Reference values from scikit-learn 1.2 (Debian): average_precision_score(np.eye(3)[y], p, average='macro'),
// recall_score(y, p.argmax(1), average=None) and, for specificity, recall_score(y != c, p.argmax(1) != c).
const Y = Int32Array.from([0, 1, 2, 1, 0, 2, 2, 1]);
const P = Float64Array.from([0.7, 0.2, 0.1, 0.2, 0.5, 0.3, 0.1, 0.3, 0.6, 0.5, 0.4, 0.1, 0.3, 0.3, 0.4, 0.2, 0.2, 0.6, 0.1, 0.6, 0.3, 0.2, 0.7, 0.1]);
const CLASSES = ['normal', 'benign', 'malignant'];

describe('validation monitors', () => {
  it('average_precision matches scikit-learn (binary: positive class; multi-class: macro one-vs-rest)', () => {
    const yb = Int32Array.from([0, 1, 1, 0, 1, 0]);
    const pb = Float64Array.from([0.1, 0.8, 0.4, 0.35, 0.7, 0.6].flatMap((v) => [1 - v, v]));
    const ap = monitorFor('average_precision');
    expect(ap.name).toBe('val_average_precision');
    expect(ap.higherIsBetter).toBe(true);
    expect(ap.score(yb, pb, 2)).toBeCloseTo(0.9166666666666665, 12);
    expect(ap.score(Y, P, 3)).toBeCloseTo(0.8351851851851851, 12);
  });

  it('sensitivity:<class> and specificity:<class> match scikit-learn recall at arg-max decisions', () => {
    const sens = [0.5, 2 / 3, 2 / 3];
    const spec = [0.8333333333333334, 0.8, 0.8];
    CLASSES.forEach((c, i) => {
      const s = monitorFor(`sensitivity:${c}`, CLASSES);
      expect(s.name).toBe(`val_sensitivity:${c}`);
      expect(s.higherIsBetter).toBe(true);
      expect(s.score(Y, P, 3)).toBeCloseTo(sens[i]!, 12);
      expect(monitorFor(`specificity:${c}`, CLASSES).score(Y, P, 3)).toBeCloseTo(spec[i]!, 12);
    });
  });

  it('a class with no validation rows gives NaN (never an improvement), not a throw', () => {
    expect(monitorFor('sensitivity:malignant', CLASSES).score(Int32Array.from([0, 1]), Float64Array.from([1, 0, 0, 0, 1, 0]), 3)).toBeNaN();
  });

  it('a per-class monitor naming no class of the data is MC_TRAIN_BAD_CONFIG with the classes and a suggestion', () => {
    let err: unknown;
    try { monitorFor('sensitivity:Malignant ', CLASSES); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(MedclassError);
    expect((err as MedclassError).code).toBe('MC_TRAIN_BAD_CONFIG');
    expect((err as MedclassError).message).toContain('[normal, benign, malignant]');
    expect((err as MedclassError).hint).toContain('sensitivity:malignant');
  });

  it('the run config accepts the new monitors and rejects malformed ones naming fit.monitor', () => {
    for (const m of ['average_precision', 'sensitivity:PNEUMONIA', 'specificity:malignant', 'auc']) {
      expect(RunConfig.parse({ data: { source: 'phantom:' }, fit: { monitor: m } }).fit.monitor).toBe(m);
    }
    for (const m of ['sensitivity:', 'recall:x', 'AUC']) {
      const r = RunConfig.safeParse({ data: { source: 'phantom:' }, fit: { monitor: m } });
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.path.join('.')).toBe('fit.monitor');
    }
  });
});
