import { describe, expect, it } from 'vitest';
import { Rng } from '../src/engine/index.js';
import { knnCrossValidate } from '../src/retrieval/index.js';
import { l2Normalize } from '../src/retrieval/index.js';
import { expectAllClose } from './helpers/all-close.js';

// The data and folds below, fed to scikit-learn 1.2 (Debian):
//   GridSearchCV(KNeighborsClassifier(metric='cosine', weights='distance', algorithm='brute'),
//                {'n_neighbors': [1, 3, 5, 7, 9, 15]}, cv=PredefinedSplit(i % 5), scoring=...).fit(X, y)
// gave these cv_results_ (mean_test_score, and split<j>_test_score for k = 5) and best_params_ {'n_neighbors': 15}.
const SKLEARN = {
  roc_auc: { mean: [0.6856204906204907, 0.7585660173160174, 0.7998268398268398, 0.814577922077922, 0.8360028860028861, 0.8446320346320346], k5: [0.9818181818181818, 0.7142857142857142, 0.8541666666666666, 0.8125, 0.6363636363636365] },
  balanced_accuracy: { mean: [0.6856204906204907, 0.740108225108225, 0.7325324675324675, 0.7375324675324675, 0.7375324675324675, 0.7425324675324676], k5: [0.9545454545454546, 0.7619047619047619, 0.75, 0.5416666666666667, 0.6545454545454545] },
};
const GRID = [1, 3, 5, 7, 9, 15];

/** The shader hash frac(sin(12.9898·i + 78.233·k)·43758.5453), also used to generate the scikit-learn reference. */
const h = (i: number, k: number) => { const v = Math.sin(i * 12.9898 + k * 78.233) * 43758.5453; return v - Math.floor(v); };
const n = 80, d = 4;
const labels = Int32Array.from({ length: n }, (_, i) => (h(i, 9) < 0.35 ? 1 : 0));
const raw = Float32Array.from({ length: n * d }, (_, j) => {
  const i = Math.floor(j / d), c = j % d, y = labels[i]!;
  return [h(i, 0) - 0.5 + 0.45 * y, h(i, 1) - 0.5, h(i, 2) - 0.5 - 0.3 * y, h(i, 3) - 0.5][c]!;
});
const vectors = l2Normalize(raw, n, d);

describe('k-NN grid search by cross-validation', () => {
  for (const scoring of ['roc_auc', 'balanced_accuracy'] as const) {
    it(`${scoring}: per-k mean scores, fold scores and the chosen k match scikit-learn's GridSearchCV`, async () => {
      expect(labels.reduce((a, b) => a + b, 0)).toBe(25);
      const cv = await knnCrossValidate(vectors, n, d, labels, 2, { grid: GRID, folds: 5, scoring }, new Rng(0), { foldOf: Array.from({ length: n }, (_, i) => i % 5), threads: 1 });
      expect(cv.scores.map((s) => s.k)).toEqual(GRID);
      expectAllClose(cv.scores.map((s) => s.mean), SKLEARN[scoring].mean, { rtol: 1e-9, atol: 1e-12, label: `${scoring} mean per k` });
      expectAllClose(cv.scores[2]!.folds, SKLEARN[scoring].k5, { rtol: 1e-9, atol: 1e-12, label: `${scoring} k=5 folds` });
      expect(cv.bestK).toBe(15);
      expect(cv.foldSizes).toEqual([16, 16, 16, 16, 16]);
    });
  }

  it('seeded stratified folds: the same seed gives the same scores, each fold keeps the class shares, ties go to the smaller k', async () => {
    const a = await knnCrossValidate(vectors, n, d, labels, 2, { grid: [31, 5, 5, 1] }, new Rng(3), { threads: 1 });
    const b = await knnCrossValidate(vectors, n, d, labels, 2, { grid: [31, 5, 5, 1] }, new Rng(3), { threads: 1 });
    expect(a).toEqual(b);
    expect(a.scores.map((s) => s.k)).toEqual([1, 5, 31]);
    expect(a.foldSizes.reduce((x, y) => x + y, 0)).toBe(n);
    for (const size of a.foldSizes) expect(size).toBe(16);
    // identical rows: every k scores the same, so the smallest k wins
    const same = await knnCrossValidate(l2Normalize(new Float32Array(20 * 2).fill(1), 20, 2), 20, 2, Int32Array.from({ length: 20 }, (_, i) => i % 2), 2, { grid: [3, 1], scoring: 'accuracy' }, new Rng(0));
    expect(same.bestK).toBe(1);
  });

  it('refuses fewer than two cases per fold with MC_RETRIEVAL_TOO_FEW', async () => {
    await expect(knnCrossValidate(vectors.subarray(0, 9 * d), 9, d, labels.subarray(0, 9), 2, {}, new Rng(0))).rejects.toThrow(/at least 10 training cases/);
  });
});
