import { MedclassError } from '../errors.js';

/** The labels (class indices) of the images of one split that loaded, e.g. an `ImageSet`. */
export interface LoadedLabels {
  readonly labels: ArrayLike<number>;
}

/** Fewest train images per class (one to fit, one more so a class is not a single memorised point). */
export const MIN_TRAIN_PER_CLASS = 2;
/** Fewest val images per class: with none, the monitored val metrics (AUC, per-class recall) are NaN. */
export const MIN_VAL_PER_CLASS = 1;

/** Images per class index `[0, k)` in `labels`; labels outside the range are ignored. */
export function countByClass(labels: ArrayLike<number>, k: number): number[] {
  const n = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (c >= 0 && c < k) n[c]!++;
  }
  return n;
}

const list = (xs: string[]) => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

/**
 * Stops degenerate data before a model is built, from the images that actually loaded: MC_DATA_ONE_CLASS when fewer
 * than two classes have train images; MC_DATA_TOO_FEW_PER_CLASS when a class has fewer than 2 train or fewer than
 * 1 val images, since its val AUC and recall would be NaN (early stopping and best-epoch choice would then monitor
 * NaN) and the temperature fitted on val would mean nothing. Each message is one sentence naming the classes and counts.
 *
 * @example
 * checkTrainable(['normal', 'pneumonia'], { train, val }); // throws MC_DATA_TOO_FEW_PER_CLASS when pneumonia has 1 train image
 */
export function checkTrainable(classes: readonly string[], splits: { train: LoadedLabels; val: LoadedLabels }): void {
  const k = classes.length;
  const train = countByClass(splits.train.labels, k);
  const val = countByClass(splits.val.labels, k);
  const withTrain = classes.filter((_, c) => train[c]! > 0);
  if (k < 2 || withTrain.length < 2) {
    const what = k < 2 ? `the data has one class ('${classes[0] ?? ''}')` : `only class '${withTrain[0] ?? classes[0]}' has train images (of ${k} classes)`;
    throw new MedclassError('MC_DATA_ONE_CLASS', `${what}; a classifier needs train images of at least two classes`,
      { hint: 'check the class folders or label column, and that the images of the other classes load (data audit)' });
  }
  const few = classes.flatMap((name, c) => (train[c]! < MIN_TRAIN_PER_CLASS || val[c]! < MIN_VAL_PER_CLASS ? [`'${name}' (${train[c]} train, ${val[c]} val)`] : []));
  if (few.length > 0) {
    throw new MedclassError('MC_DATA_TOO_FEW_PER_CLASS',
      `class${few.length > 1 ? 'es' : ''} ${list(few)} ${few.length > 1 ? 'have' : 'has'} too few images: each class needs at least ${MIN_TRAIN_PER_CLASS} train and ${MIN_VAL_PER_CLASS} val image, or its val metrics (AUC, recall) are NaN`,
      { hint: 'add images of that class, re-split (data.split), or leave the class out' });
  }
}
