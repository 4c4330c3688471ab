import { describe, expect, it } from 'vitest';
import { isMedclassError } from '../../src/errors.js';
import { parsePredictionsCsv, selectSplit } from '../../src/eval/index.js';

function errorOf(text: string): string {
  try {
    parsePredictionsCsv(text, 'p.csv');
  } catch (e) {
    expect(isMedclassError(e, 'MC_EVAL_BAD_PREDICTIONS')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected MC_EVAL_BAD_PREDICTIONS');
}

describe('predictions CSV reader', () => {
  it('reads split, label, logits and metadata columns (quoted fields too)', () => {
    const t = parsePredictionsCsv('split,label,logit_0,logit_1,sex,site\nval,0,1.5,-1,F,"a,b"\ntest,1,0,2,M,c\r\n', 'p.csv');
    expect(t.classes).toBe(2);
    expect(t.scoreKind).toBe('logit');
    expect([...t.labels]).toEqual([0, 1]);
    expect(t.meta).toEqual({ sex: ['F', 'M'], site: ['a,b', 'c'] });
    expect([...selectSplit(t, 'test')!.scores]).toEqual([0, 2]);
    expect(selectSplit(t, 'val')!.meta.site).toEqual(['a,b']);
  });

  it('without a split column every row is test', () => {
    const t = parsePredictionsCsv('label,prob_0,prob_1\n0,0.7,0.3\n1,0.2,0.8\n');
    expect(t.split).toEqual(['test', 'test']);
    expect(selectSplit(t, 'val')).toBeUndefined();
  });

  it.each([
    ['split,label,logit_0,logit_1\nval,0,1.0,abc\n', 'line 2, column logit_1: expected a finite number, found "abc"'],
    ['split,label,logit_0,logit_1\nval,0,1,2\ntest,2,1,2\n', 'line 3, column label: expected an integer class index in 0..1, found "2"'],
    ['split,label,logit_0,logit_1\nval,0,1,2\ntrain,1,1,2\n', 'line 3, column split: expected "val" or "test", found "train"'],
    ['split,label,logit_0,logit_1\nval,0,1\n', 'line 2: expected 4 fields as in the header, found 3'],
    ['split,logit_0,logit_1\nval,1,2\n', 'line 1: no "label" column'],
    ['split,label,logit_0,logit_2\nval,0,1,2\n', 'line 1, column logit_1: missing'],
    ['split,label,prob_0,prob_1\ntest,0,0.7,0.7\n', 'line 2, column prob_0..prob_1: probabilities sum to 1.4'],
    ['split,label,prob_0,prob_1\ntest,0,1.2,-0.2\n', 'line 2, column prob_0: expected a probability in [0, 1]'],
    ['', 'line 1: file is empty'],
  ])('malformed input names the line and column: %j', (text, message) => {
    expect(errorOf(text)).toContain(`p.csv: ${message}`);
  });
});
