import { describe, expect, it } from 'vitest';
import { checkTrainable, countByClass } from '../../src/data/index.js';
import { isMedclassError } from '../../src/errors.js';

const set = (...labels: number[]) => ({ labels: Int32Array.from(labels) });
const outcome = (classes: string[], train: number[], val: number[]) => {
  try {
    checkTrainable(classes, { train: set(...train), val: set(...val) });
    return 'ok';
  } catch (e) {
    return isMedclassError(e) ? `${e.code}: ${e.message}` : String(e);
  }
};

describe('checkTrainable: degenerate data stops before training with a code and one sentence', () => {
  const cases: [string, string[], number[], number[], string][] = [
    ['two classes, 2 train + 1 val each', ['a', 'b'], [0, 0, 1, 1], [0, 1], 'ok'],
    ['one class in the data', ['only'], [0, 0, 0], [0],
      "MC_DATA_ONE_CLASS: the data has one class ('only'); a classifier needs train images of at least two classes"],
    ['two classes, only one with train images', ['a', 'b'], [0, 0, 0], [0, 1],
      "MC_DATA_ONE_CLASS: only class 'a' has train images (of 2 classes); a classifier needs train images of at least two classes"],
    ['a class with one train image', ['normal', 'rare'], [0, 0, 0, 1], [0, 1],
      "MC_DATA_TOO_FEW_PER_CLASS: class 'rare' (1 train, 1 val) has too few images: each class needs at least 2 train and 1 val image, or its val metrics (AUC, recall) are NaN"],
    ['a class with no val image (its val AUC would be NaN)', ['a', 'b', 'c'], [0, 0, 1, 1, 2, 2], [0, 1],
      "MC_DATA_TOO_FEW_PER_CLASS: class 'c' (2 train, 0 val) has too few images: each class needs at least 2 train and 1 val image, or its val metrics (AUC, recall) are NaN"],
    ['two classes short at once', ['a', 'b', 'c'], [0, 1, 2, 2], [2],
      "MC_DATA_TOO_FEW_PER_CLASS: classes 'a' (1 train, 0 val) and 'b' (1 train, 0 val) have too few images: each class needs at least 2 train and 1 val image, or its val metrics (AUC, recall) are NaN"],
  ];
  for (const [name, classes, train, val, expected] of cases) {
    it(name, () => expect(outcome(classes, train, val)).toBe(expected));
  }

  it('counts labels per class index and ignores labels outside [0, k)', () => {
    expect(countByClass(Int32Array.from([0, 2, 2, 5, -1]), 3)).toEqual([1, 0, 2]);
  });
});
