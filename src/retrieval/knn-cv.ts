import { z } from 'zod';
import type { Rng } from '../engine/index.js';
import { kFold } from '../data/index.js';
import { accuracyFromConfusion, argmaxRows, balancedAccuracyFromConfusion, confusionMatrix, macroOneVsRest, rocAucScore } from '../eval/index.js';
import { MedclassError } from '../errors.js';
import { exactKnnOrt, knnVote } from './knn.js';
import { takeRows } from './vectors.js';

/** The cross-validated grid search for the k-NN head's k (`medclass index --k auto`). */
export const KnnCvOptions = z.strictObject({
  grid: z.array(z.number().int().min(1)).min(1).default([1, 3, 5, 7, 9, 11, 15, 21, 31]).describe('candidate k values'),
  folds: z.number().int().min(2).default(5).describe('stratified folds of the training embeddings (group-aware when groups are given)'),
  scoring: z.enum(['roc_auc', 'balanced_accuracy', 'accuracy']).default('roc_auc')
    .describe('score per fold: roc_auc (macro one-vs-rest above 2 classes), balanced_accuracy or accuracy (arg-max)'),
});
export type KnnCvOptions = z.output<typeof KnnCvOptions>;
export type KnnCvOptionsInput = z.input<typeof KnnCvOptions>;

/** One k of the grid: its score on each fold, their mean and (n − 1) standard deviation. */
export interface KnnCvScore {
  k: number;
  folds: number[];
  mean: number;
  sd: number;
}

/** What the grid search found: every k's scores and the chosen k (best mean; ties go to the smaller k). */
export interface KnnCvResult {
  scoring: KnnCvOptions['scoring'];
  folds: number;
  weights: 'distance' | 'uniform';
  /** Training rows per fold (the held-out part). */
  foldSizes: number[];
  scores: KnnCvScore[];
  bestK: number;
}

function score(kind: KnnCvOptions['scoring'], labels: Int32Array, probs: Float64Array, classes: number): number {
  if (kind === 'roc_auc') return macroOneVsRest((y, p) => rocAucScore(y, p), labels, probs, classes);
  const cm = confusionMatrix(labels, argmaxRows(probs, classes), classes);
  return kind === 'accuracy' ? accuracyFromConfusion(cm, classes) : balancedAccuracyFromConfusion(cm, classes);
}

/**
 * Chooses k for a k-NN head by stratified `folds`-fold cross-validation on the training embeddings `[n, d]`
 * (L2-normalised rows, cosine similarity), as scikit-learn's `GridSearchCV(KNeighborsClassifier(metric='cosine'),
 * {'n_neighbors': grid}, cv=StratifiedKFold)`: for each fold the held-out rows query the other folds once for the
 * largest k, and every k of the grid votes from the first k of those neighbours. Folds come from `rng` (data's
 * `kFold`, whole groups per fold when `groups` are given; `foldOf` fixes them instead). k larger than a fold's training part is capped there.
 *
 * @example
 * const cv = await knnCrossValidate(index.vectors, index.size, index.dim, index.labels, 2, {}, rng.fork('knn-cv'));
 * cv.bestK; // e.g. 15
 */
export async function knnCrossValidate(
  vectors: Float32Array, n: number, d: number, labels: Int32Array, classes: number, options: KnnCvOptionsInput, rng: Rng,
  opts: { weights?: 'distance' | 'uniform'; groups?: readonly (string | undefined)[]; threads?: number; foldOf?: readonly number[] } = {},
): Promise<KnnCvResult> {
  const o = KnnCvOptions.parse(options);
  const weights = opts.weights ?? 'distance';
  if (n < o.folds * 2) throw new MedclassError('MC_RETRIEVAL_TOO_FEW', `k-NN cross-validation needs at least ${o.folds * 2} training cases for ${o.folds} folds, got ${n}`, { hint: 'use a fixed --k' });
  const items = Array.from(labels, (labelIndex, i) => ({ labelIndex, ...(opts.groups?.[i] !== undefined ? { group: opts.groups[i]! } : {}) }));
  const fold = opts.foldOf ? new Map(opts.foldOf.map((f, i) => [i, f])) : kFold(items, o.folds, rng, { byGroup: opts.groups !== undefined });
  const grid = [...new Set(o.grid)].sort((a, b) => a - b);
  const maxK = grid[grid.length - 1]!;
  const perK = grid.map(() => [] as number[]);
  const foldSizes: number[] = [];
  for (let f = 0; f < o.folds; f++) {
    const held = Array.from({ length: n }, (_, i) => i).filter((i) => fold.get(i) === f);
    const rest = Array.from({ length: n }, (_, i) => i).filter((i) => fold.get(i) !== f);
    foldSizes.push(held.length);
    const nn = await exactKnnOrt(takeRows(vectors, d, rest), rest.length, takeRows(vectors, d, held), held.length, d, Math.min(maxK, rest.length), opts.threads ? { threads: opts.threads } : {});
    const restLabels = Int32Array.from(rest, (i) => labels[i]!);
    const heldLabels = Int32Array.from(held, (i) => labels[i]!);
    grid.forEach((k, j) => perK[j]!.push(score(o.scoring, heldLabels, knnVote(nn, restLabels, classes, { k, weights }), classes)));
  }
  const scores = grid.map((k, j) => {
    const v = perK[j]!;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1));
    return { k, folds: v, mean, sd };
  });
  let best = scores[0]!;
  for (const s of scores) if (s.mean > best.mean || (!Number.isFinite(best.mean) && Number.isFinite(s.mean))) best = s;
  return { scoring: o.scoring, folds: o.folds, weights, foldSizes, scores, bestK: best.k };
}
