import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { combineLogits, fitStacking, fitWeightedAverage, meanNll } from '../../src/pipeline/late-fusion-fit.js';

// Two noisy "models" of 3 classes: the image logits see the class, the tabular ones a bit of it.
const rng = new Rng(11);
const n = 240;
const k = 3;
const labels = Int32Array.from({ length: n }, () => rng.int(0, k));
const a = Float64Array.from({ length: n * k }, (_, t) => (labels[Math.floor(t / k)] === t % k ? 1.2 : 0) + rng.normal());
const b = Float64Array.from({ length: n * k }, (_, t) => (labels[Math.floor(t / k)] === t % k ? 0.6 : 0) + 0.8 * rng.normal());

const softmaxRows = (z: ArrayLike<number>) => Array.from({ length: n }, (_, i) => {
  const r = Array.from({ length: k }, (_, c) => z[i * k + c]!);
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const s = e.reduce((p, q) => p + q, 0);
  return e.map((v) => v / s);
});

describe('late-fusion combiners fitted on validation', () => {
  it('stacking matches scikit-learn LogisticRegression (multinomial, C = 1/(l2·N)) in its probabilities', () => {
    const l2 = 0.01;
    const c = fitStacking(a, b, labels, k, l2, 20000);
    const ours = softmaxRows(combineLogits(c, a, b, k));
    const X = Array.from({ length: n }, (_, i) => [...Array.from(a.subarray(i * k, i * k + k)), ...Array.from(b.subarray(i * k, i * k + k))]);
    const py = `
import json, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
d = json.load(sys.stdin)
m = LogisticRegression(C=1.0 / (d['l2'] * len(d['y'])), multi_class='multinomial', solver='lbfgs', tol=1e-12, max_iter=100000)
m.fit(np.array(d['X']), np.array(d['y']))
print(json.dumps(m.predict_proba(np.array(d['X'])).tolist()))`;
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify({ X, y: Array.from(labels), l2 }), encoding: 'utf8' })) as number[][];
    let worst = 0;
    ours.forEach((r, i) => r.forEach((p, j) => { worst = Math.max(worst, Math.abs(p - ref[i]![j]!)); }));
    expect(worst).toBeLessThan(1e-4);
  });

  it('class-weighted stacking matches LogisticRegression(class_weight=…) too', () => {
    const l2 = 0.02;
    const cw = [0.5, 1.5, 2];
    const c = fitStacking(a, b, labels, k, l2, 20000, cw);
    const ours = softmaxRows(combineLogits(c, a, b, k));
    const X = Array.from({ length: n }, (_, i) => [...Array.from(a.subarray(i * k, i * k + k)), ...Array.from(b.subarray(i * k, i * k + k))]);
    const py = `
import json, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
d = json.load(sys.stdin)
m = LogisticRegression(C=1.0 / (d['l2'] * len(d['y'])), class_weight={i: w for i, w in enumerate(d['cw'])}, multi_class='multinomial', solver='lbfgs', tol=1e-12, max_iter=100000)
m.fit(np.array(d['X']), np.array(d['y']))
print(json.dumps(m.predict_proba(np.array(d['X'])).tolist()))`;
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify({ X, y: Array.from(labels), l2, cw }), encoding: 'utf8' })) as number[][];
    let worst = 0;
    ours.forEach((r, i) => r.forEach((p, j) => { worst = Math.max(worst, Math.abs(p - ref[i]![j]!)); }));
    expect(worst).toBeLessThan(1e-4);
  });

  it('the weighted average picks the grid weight of least val NLL, and w = 1 / 0 reproduce the image / tabular logits', () => {
    const c = fitWeightedAverage(a, b, labels, k, 20);
    if (c.method !== 'weighted') throw new Error('weighted expected');
    expect(c.gridNll).toHaveLength(21);
    expect(c.valNll).toBe(Math.min(...c.gridNll));
    expect(c.gridNll[20]).toBeCloseTo(meanNll(a, labels, k), 12);
    expect(c.gridNll[0]).toBeCloseTo(meanNll(b, labels, k), 12);
    expect(c.imageWeight).toBeGreaterThan(0); // both carry signal: neither endpoint is best
    expect(c.imageWeight).toBeLessThan(1);
  });
});
