import { macroOneVsRest, rocAucScore, averagePrecisionScore, argmaxRows, confusionMatrix, balancedAccuracyFromConfusion, accuracyFromConfusion } from '../eval/index.js';
import { MedclassError } from '../errors.js';
import type { Monitor } from '../train/index.js';

/** Mean over classes (one-vs-rest; the positive class alone for two) of a ranking metric, skipping undefined ones. */
function macroRanking(score: typeof rocAucScore) {
  return (labels: Int32Array, probs: Float64Array, k: number): number => macroOneVsRest((y, p) => score(y, p), labels, probs, k);
}

/** Recall of class `c` (sensitivity) or of "not c" (specificity) at arg-max decisions; NaN when that side is empty. */
function classRate(c: number, kind: 'sensitivity' | 'specificity') {
  return (labels: Int32Array, probs: Float64Array, k: number): number => {
    const pred = argmaxRows(probs, k);
    let hit = 0;
    let n = 0;
    for (let i = 0; i < labels.length; i++) {
      const isC = labels[i] === c;
      if (kind === 'sensitivity' ? !isC : isC) continue;
      n++;
      if ((pred[i] === c) === isC) hit++;
    }
    return n ? hit / n : NaN;
  };
}

function nearest(name: string, options: readonly string[]): string[] {
  const low = name.toLowerCase();
  return options.filter((o) => o.toLowerCase() === low || o.toLowerCase().startsWith(low.slice(0, 3)));
}

/**
 * Validation monitors for early stopping and the best checkpoint, computed with the eval layer's metrics: `auc`
 * (scikit-learn `roc_auc_score`, macro one-vs-rest above two classes), `average_precision` (`average_precision_score`,
 * likewise), `accuracy`, `balanced_accuracy`, `loss` (mean cross-entropy), and `sensitivity:<class>` /
 * `specificity:<class>` (one-vs-rest recall of that class / of the other classes at arg-max decisions). A per-class
 * monitor naming no class of `classes` is `MC_TRAIN_BAD_CONFIG`.
 *
 * @example
 * monitorFor('sensitivity:malignant', ['benign', 'malignant']).name; // 'val_sensitivity:malignant'
 */
export function monitorFor(name: string, classes: readonly string[] = []): Monitor {
  const perClass = /^(sensitivity|specificity):(.+)$/.exec(name);
  if (perClass) {
    const [, kind, cls] = perClass as unknown as [string, 'sensitivity' | 'specificity', string];
    const c = classes.indexOf(cls);
    if (c < 0) {
      const close = nearest(cls, classes);
      throw new MedclassError('MC_TRAIN_BAD_CONFIG', `fit.monitor: class '${cls}' is not one of the data's classes [${classes.join(', ')}]`, {
        hint: close.length ? `did you mean ${kind}:${close[0]}?` : `name a class, e.g. ${kind}:${classes[classes.length - 1] ?? '<class>'}`,
      });
    }
    return { name: `val_${kind}:${cls}`, higherIsBetter: true, score: classRate(c, kind) };
  }
  switch (name) {
    case 'auc':
      return { name: 'val_auc', higherIsBetter: true, score: macroRanking(rocAucScore) };
    case 'average_precision':
      return { name: 'val_average_precision', higherIsBetter: true, score: macroRanking(averagePrecisionScore) };
    case 'balanced_accuracy':
      return { name: 'val_balanced_accuracy', higherIsBetter: true, score: (y, p, k) => balancedAccuracyFromConfusion(confusionMatrix(y, argmaxRows(p, k), k), k) };
    case 'accuracy':
      return { name: 'val_accuracy', higherIsBetter: true, score: (y, p, k) => accuracyFromConfusion(confusionMatrix(y, argmaxRows(p, k), k), k) };
    case 'loss':
      return {
        name: 'val_loss', higherIsBetter: false,
        score: (y, p, k) => { let s = 0; for (let i = 0; i < y.length; i++) s -= Math.log(Math.max(p[i * k + y[i]!]!, 1e-15)); return s / y.length; },
      };
    default:
      throw new MedclassError('MC_TRAIN_BAD_CONFIG', `fit.monitor: unknown monitor '${name}'`, { hint: 'auc, loss, balanced_accuracy, accuracy, average_precision, sensitivity:<class> or specificity:<class>' });
  }
}
