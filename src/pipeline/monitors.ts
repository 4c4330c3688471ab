import { column, oneVsRest, rocAucScore, argmaxRows, confusionMatrix, balancedAccuracyFromConfusion, accuracyFromConfusion } from '../eval/index.js';
import type { Monitor } from '../train/index.js';

function auc(labels: Int32Array, probs: Float64Array, k: number): number {
  if (k === 2) return rocAucScore(oneVsRest(labels, 1), column(probs, 2, 1));
  let s = 0;
  let n = 0;
  for (let c = 0; c < k; c++) {
    const v = rocAucScore(oneVsRest(labels, c), column(probs, k, c));
    if (Number.isFinite(v)) { s += v; n++; }
  }
  return n ? s / n : NaN;
}

/** Validation monitors for early stopping and the best checkpoint, computed with the eval layer's metrics. */
export function monitorFor(name: 'auc' | 'loss' | 'balanced_accuracy' | 'accuracy'): Monitor {
  switch (name) {
    case 'auc':
      return { name: 'val_auc', higherIsBetter: true, score: auc };
    case 'balanced_accuracy':
      return { name: 'val_balanced_accuracy', higherIsBetter: true, score: (y, p, k) => balancedAccuracyFromConfusion(confusionMatrix(y, argmaxRows(p, k), k), k) };
    case 'accuracy':
      return { name: 'val_accuracy', higherIsBetter: true, score: (y, p, k) => accuracyFromConfusion(confusionMatrix(y, argmaxRows(p, k), k), k) };
    case 'loss':
      return {
        name: 'val_loss', higherIsBetter: false,
        score: (y, p, k) => { let s = 0; for (let i = 0; i < y.length; i++) s -= Math.log(Math.max(p[i * k + y[i]!]!, 1e-15)); return s / y.length; },
      };
  }
}
