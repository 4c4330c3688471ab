import { describe, expect, it } from 'vitest';
import {
  binLabels, binValue, checkTabularEncoder, encodeTabular, fitTabularEncoder, occlusionRows, withBinnedColumns, type MetaValue,
} from '../../src/data/index.js';
import { MedclassError } from '../../src/errors.js';

type Row = Record<string, MetaValue>;
const train: Row[] = [
  { age: 20, sex: 'male', site: 'back' },
  { age: 40, sex: 'female', site: 'face' },
  { age: 60, sex: 'female', site: 'back' },
  { age: null, sex: 'male', site: 'back' }, // missing age: left out of the mean/sd
];
// Val/test rows with values never seen in training: they must not move the fitted statistics or vocabulary.
const heldOut: Row[] = [{ age: 90, sex: 'unknown', site: 'scalp' }];

describe('tabular encoder', () => {
  const enc = fitTabularEncoder(train, { numeric: ['age'], categorical: ['sex', 'site'] });

  it('fits on the rows it is given only: mean and population sd of the present ages, sorted train vocabularies', () => {
    // ages 20, 40, 60 → mean 40, population sd √((400 + 0 + 400)/3) (sklearn StandardScaler, ddof 0)
    expect(enc.numeric).toEqual([{ column: 'age', mean: 40, sd: Math.sqrt(800 / 3) }]);
    expect(enc.categorical).toEqual([{ column: 'sex', values: ['female', 'male'] }, { column: 'site', values: ['back', 'face'] }]);
    expect(enc.features).toEqual(['age', 'age:missing', 'sex=female', 'sex=male', 'sex:other', 'site=back', 'site=face', 'site:other']);
    expect(fitTabularEncoder([...train, ...heldOut], { numeric: ['age'], categorical: ['sex'] }).numeric[0]!.mean).toBe(52.5);
  });

  it('encodes standardised numbers, a missing indicator (value 0) and one-hot categories', () => {
    const x = encodeTabular(enc, [train[0]!, train[3]!]);
    const sd = Math.sqrt(800 / 3);
    expect(Array.from(x.subarray(0, 8))).toEqual(Array.from(Float32Array.from([(20 - 40) / sd, 0, 0, 1, 0, 1, 0, 0])));
    expect(Array.from(x.subarray(8, 16))).toEqual([0, 1, 0, 1, 0, 1, 0, 0]);
  });

  it('sends a category unseen in training, an absent value and an empty string to the other/unknown slot', () => {
    const x = encodeTabular(enc, [heldOut[0]!, { age: '', sex: null }, {}]);
    expect(Array.from(x.subarray(0, 8))).toEqual(Array.from(Float32Array.from([(90 - 40) / Math.sqrt(800 / 3), 0, 0, 0, 1, 0, 0, 1])));
    expect(Array.from(x.subarray(8, 16))).toEqual([0, 1, 0, 0, 1, 0, 0, 1]);
    expect(Array.from(x.subarray(16, 24))).toEqual([0, 1, 0, 0, 1, 0, 0, 1]);
    // a number given as text (CLI --meta) parses; a non-number is missing
    expect(Array.from(encodeTabular(enc, [{ age: '60', sex: 'male', site: 'face' }, { age: 'n/a', sex: 'male', site: 'face' }]).filter((_, i) => i % 8 < 2)))
      .toEqual(Array.from(Float32Array.from([20 / Math.sqrt(800 / 3), 0, 0, 1])));
  });

  it('with requireColumns, a row without a column key is MC_DATA_MISSING_META naming the column', () => {
    const run = () => encodeTabular(enc, [{ age: 50, sex: 'male' }], { requireColumns: true, rowName: () => 'lesion.jpg' });
    expect(run).toThrow(MedclassError);
    expect(run).toThrow(/lesion\.jpg: the model needs tabular value 'site'/);
    try { run(); } catch (e) { expect((e as MedclassError).code).toBe('MC_DATA_MISSING_META'); }
    // an empty value is given (missing on purpose), so it passes
    expect(() => encodeTabular(enc, [{ age: '', sex: 'male', site: '' }], { requireColumns: true })).not.toThrow();
  });

  it('a column no training row has is an error naming it and the columns there are', () => {
    expect(() => fitTabularEncoder(train, { numeric: ['weight'] })).toThrow(/'weight' is in no training item's metadata \(columns: age, sex, site\)/);
  });

  it('round-trips through JSON and rejects a malformed tabular.json', () => {
    expect(checkTabularEncoder(JSON.parse(JSON.stringify(enc)))).toEqual(enc);
    expect(() => checkTabularEncoder({ ...enc, features: ['age'] })).toThrow(/MC_DATA_BAD_TABULAR|not a medclass tabular encoder/);
  });

  it('an empty training vocabulary still has its other slot; a constant column gets sd 1', () => {
    const e = fitTabularEncoder([{ a: 5, c: null }, { a: 5, c: null }], { numeric: ['a'], categorical: ['c'] });
    expect(e.numeric[0]).toEqual({ column: 'a', mean: 5, sd: 1 });
    expect(Array.from(encodeTabular(e, [{ a: 7, c: 'x' }]))).toEqual([2, 0, 1]);
  });
});

describe('occlusion rows for tabular attribution', () => {
  const enc = fitTabularEncoder(train, { numeric: ['age'], categorical: ['sex', 'site'] });
  const sd = Math.sqrt(800 / 3);

  it('gives the full row, one row per column with that column missing, and the all-missing row (encoded by hand)', () => {
    const { columns, rows } = occlusionRows(enc, { age: 60, sex: 'female', site: 'face', extra: 'dropped' });
    expect(columns).toEqual([
      { column: 'age', value: 60, missing: false }, { column: 'sex', value: 'female', missing: false }, { column: 'site', value: 'face', missing: false },
    ]);
    const x = Array.from(encodeTabular(enc, rows, { requireColumns: true }));
    const f = (v: number[]) => Array.from(Float32Array.from(v));
    // features: age, age:missing, sex=female, sex=male, sex:other, site=back, site=face, site:other
    expect(x).toEqual([
      ...f([20 / sd, 0, 1, 0, 0, 0, 1, 0]), // full
      0, 1, 1, 0, 0, 0, 1, 0, //                age missing: 0 and the indicator 1
      ...f([20 / sd, 0, 0, 0, 1, 0, 1, 0]), // sex missing: the other/unknown slot
      ...f([20 / sd, 0, 1, 0, 0, 0, 0, 1]), // site missing
      0, 1, 0, 0, 1, 0, 0, 1, //                image only
    ]);
  });

  it('marks values already encoded as missing (empty, absent, not a number, an unseen category): their occluded row is the full row', () => {
    const { columns, rows } = occlusionRows(enc, { age: 'n/a', sex: 'unknown' });
    expect(columns.map((c) => [c.column, c.value, c.missing])).toEqual([['age', 'n/a', true], ['sex', 'unknown', true], ['site', null, true]]);
    const x = encodeTabular(enc, rows);
    for (let r = 1; r < rows.length; r++) expect(Array.from(x.subarray(r * 8, r * 8 + 8))).toEqual(Array.from(x.subarray(0, 8)));
  });
});

describe('binned metadata columns', () => {
  const spec = { name: 'age_band', from: 'age', edges: [30, 50, 70] };

  it('labels integer edges <30, 30–49, 50–69, ≥70 and puts each value in lower ≤ v < upper', () => {
    expect(binLabels([30, 50, 70])).toEqual(['<30', '30–49', '50–69', '≥70']);
    expect([0, 29.9, 30, 49, 50, 69.5, 70, 85].map((v) => binValue(spec, v))).toEqual(['<30', '<30', '30–49', '30–49', '50–69', '50–69', '≥70', '≥70']);
    expect(binLabels([0.5, 1])).toEqual(['<0.5', '[0.5, 1)', '≥1']);
  });

  it('rows without a number get the missing label; given labels replace the defaults', () => {
    expect([null, undefined, '', 'abc'].map((v) => binValue(spec, v))).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    expect(binValue({ ...spec, labels: ['young', 'mid', 'older', 'old'], missing: '?' }, null)).toBe('?');
    expect(binValue({ ...spec, labels: ['young', 'mid', 'older', 'old'] }, 55)).toBe('older');
    expect(withBinnedColumns({ age: 45, sex: 'male' }, [spec])).toEqual({ age: 45, sex: 'male', age_band: '30–49' });
  });

  it('edges that do not ascend, or labels that do not number edges + 1, are MC_DATA_BAD_TABULAR', () => {
    expect(() => binValue({ ...spec, edges: [50, 30] }, 1)).toThrow(/edges must ascend/);
    expect(() => binValue({ ...spec, labels: ['a', 'b'] }, 1)).toThrow(/labels number edges \+ 1 \(4\), got 2/);
  });
});
