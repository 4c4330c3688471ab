// Selective-prediction metrics and the entropy / mutual-information decomposition against an independent reference:
// scikit-learn's roc_auc_score and numpy/scipy run by /usr/bin/python3 on the same seeded inputs (ties included).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/engine/index.js';
import { aurc, certaintyOrder, errorDetectionAuroc, predictiveUncertainty, selectiveAccuracy, selectiveMetrics, softmax } from '../src/eval/index.js';

const REFERENCE = String.raw`
import json, sys
import numpy as np
from scipy.stats import entropy
from sklearn.metrics import roc_auc_score
d = json.load(sys.stdin)
u = np.array(d['u']); correct = np.array(d['correct']); n = len(u)
order = np.argsort(u, kind='stable')
acc = {str(c): float(correct[order[:max(1, int(np.floor(c * n + 0.5)))]].mean()) for c in d['coverages']}
risk = np.cumsum(1 - correct[order]) / np.arange(1, n + 1)
p = np.array(d['probs']).reshape(d['S'], d['N'], d['K'])
mean = p.mean(axis=0)
H = entropy(mean, axis=1)
EH = entropy(p, axis=2).mean(axis=0)
print(json.dumps({'auroc': roc_auc_score(1 - correct, u), 'acc': acc, 'aurc': float(risk.mean()), 'H': H.tolist(), 'MI': (H - EH).tolist()}))
`;

function reference(input: object): { auroc: number; acc: Record<string, number>; aurc: number; H: number[]; MI: number[] } {
  const r = spawnSync('/usr/bin/python3', ['-c', REFERENCE], { input: JSON.stringify(input), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('selective prediction', () => {
  it('error-detection AUROC, accuracy at coverage, AURC, entropy and mutual information match scikit-learn / numpy', () => {
    const rng = new Rng(11);
    const n = 157;
    const S = 5;
    const K = 3;
    // uncertainty rounded to 0.05 so ties exist; errors more likely where uncertainty is high
    const u = Float64Array.from({ length: n }, () => Math.round(rng.uniform() * 20) / 20);
    const correct = Uint8Array.from(u, (v) => (rng.uniform() < 0.95 - 0.6 * v ? 1 : 0));
    const logits = Float64Array.from({ length: S * n * K }, () => rng.normal() * 2);
    const probs = softmax(logits, K);
    const coverages = [0.9, 0.8, 0.5, 0.01];
    const ref = reference({ u: [...u], correct: [...correct], coverages, probs: [...probs], S, N: n, K });
    expect(errorDetectionAuroc(u, correct)).toBeCloseTo(ref.auroc, 12);
    for (const c of coverages) expect(selectiveAccuracy(u, correct, c)).toBeCloseTo(ref.acc[String(c)]!, 12);
    expect(aurc(u, correct)).toBeCloseTo(ref.aurc, 12);
    const pu = predictiveUncertainty(probs, S, n, K);
    for (let i = 0; i < n; i++) {
      expect(pu.entropy[i]).toBeCloseTo(ref.H[i]!, 12);
      expect(pu.mutualInformation[i]).toBeCloseTo(ref.MI[i]!, 12);
    }
  });

  it('orders ties by row index, keeps at least one row, and is NaN-safe on degenerate inputs', () => {
    expect([...certaintyOrder(Float64Array.from([0.3, 0.1, 0.3, 0.1]))]).toEqual([1, 3, 0, 2]);
    const u = Float64Array.from([0.1, 0.2, 0.9, 0.8]);
    const correct = Uint8Array.from([1, 1, 0, 1]);
    expect(selectiveAccuracy(u, correct, 0.5)).toBe(1); // the two most certain rows
    expect(selectiveAccuracy(u, correct, 0.75)).toBe(1); // round(3) rows: 0.1, 0.2, 0.8
    expect(selectiveAccuracy(u, correct, 0)).toBe(1); // at least one row
    expect(errorDetectionAuroc(u, correct)).toBe(1);
    const events: string[] = [];
    expect(errorDetectionAuroc(u, Uint8Array.from([1, 1, 1, 1]), undefined, (e) => events.push(e.code))).toBeNaN();
    expect(events).toEqual(['MC_EVAL_UNDEFINED_METRIC']);
    // identical samples: no disagreement, mutual information 0
    const same = predictiveUncertainty(Float64Array.from([0.7, 0.3, 0.7, 0.3]), 2, 1, 2);
    expect(same.mutualInformation[0]).toBeCloseTo(0, 15);
    expect(same.entropy[0]).toBeCloseTo(-(0.7 * Math.log(0.7) + 0.3 * Math.log(0.3)), 15);
  });

  it('selectiveMetrics reports every score with bootstrap CIs around the point figures, reproducibly', () => {
    const rng = new Rng(3);
    const n = 200;
    const labels = Int32Array.from({ length: n }, () => rng.int(0, 2));
    const probs = softmax(Float64Array.from({ length: n * 2 }, (_, i) => (i % 2 === labels[i >> 1]! ? 1.2 : 0) + rng.normal()), 2);
    const u = Float64Array.from({ length: n }, (_, i) => 1 - Math.max(probs[2 * i]!, probs[2 * i + 1]!));
    const a = selectiveMetrics(labels, probs, 2, { one_minus_max_probability: u }, new Rng(5), { bootstrap: 100 });
    const b = selectiveMetrics(labels, probs, 2, { one_minus_max_probability: u }, new Rng(5), { bootstrap: 100 });
    expect(a).toEqual(b);
    const f = a.scores.one_minus_max_probability!;
    expect(f.ci?.error_detection_auroc?.low).toBeLessThanOrEqual(f.error_detection_auroc);
    expect(f.ci?.error_detection_auroc?.high).toBeGreaterThanOrEqual(f.error_detection_auroc);
    expect(f.accuracy_at_coverage['0.8']).toBeGreaterThanOrEqual(a.accuracy);
    expect(a.errors).toBe(Math.round(n * (1 - a.accuracy)));
  });
});
