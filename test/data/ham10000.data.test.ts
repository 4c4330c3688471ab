import { describe, expect, it } from 'vitest';
import { assignSplits, auditSource, groupLeaks, kFold, openSource } from '../../src/data/index.js';
import { Rng } from '../../src/engine/index.js';

const HAM = new URL('../../../shared/data/ham10000/', import.meta.url).pathname;
const mapping = { pathCol: 'image_id', labelCol: 'dx', groupCol: 'lesion_id', pathTemplate: 'images/{}.jpg' };

describe('HAM10000 through its metadata CSV', () => {
  const src = openSource(`${HAM}HAM10000_metadata.csv`, { csv: mapping });

  it('lists 10,015 images in 7 classes with the published counts, lesion_id as group, the rest as metadata', () => {
    expect(src.kind).toBe('csv');
    expect(src.items).toHaveLength(10015);
    const counts = Object.fromEntries(src.classes.map((c) => [c, src.items.filter((i) => i.label === c).length]));
    expect(counts).toEqual({ akiec: 327, bcc: 514, bkl: 1099, df: 115, mel: 1113, nv: 6705, vasc: 142 });
    expect(new Set(src.items.map((i) => i.group)).size).toBe(7470);
    expect(src.items[0]).toMatchObject({ id: 'images/ISIC_0027419.jpg', group: 'HAM_0000118', meta: { dx_type: 'histo', age: 80, sex: 'male', localization: 'scalp' } });
    expect(src.items.filter((i) => i.meta!.age === null)).toHaveLength(57);
  });

  it('a lesion_id group split puts no lesion in two splits (and a naive split would)', () => {
    const s = assignSplits(src.items, { mode: 'stratified', fractions: [0.7, 0.15, 0.15], seed: 2 });
    expect(groupLeaks(src.items, s)).toEqual([]);
    const frac = s.filter((x) => x === 'test').length / s.length;
    expect(frac).toBeGreaterThan(0.13);
    expect(frac).toBeLessThan(0.17);
    for (const c of src.classes) expect(src.items.some((it, i) => it.label === c && s[i] === 'test')).toBe(true);
    const naive = assignSplits(src.items, { mode: 'stratified', seed: 2, byGroup: false });
    expect(groupLeaks(src.items, naive).length).toBeGreaterThan(100);
    const folds = kFold(src.items, 5, new Rng(0).fork('kfold'));
    expect(groupLeaks(src.items, src.items.map((_, i) => (['train', 'val', 'test', 'train', 'val'] as const)[folds.get(i)!]))).toHaveLength(0);
  });

  it('images decode; the two known byte-identical pairs are found as exact duplicates of one lesion each', async () => {
    const ids = ['ISIC_0024366', 'ISIC_0029861', 'ISIC_0024777', 'ISIC_0029938', 'ISIC_0024306', 'ISIC_0024307'];
    const subset = { ...src, items: src.items.filter((i) => ids.some((id) => i.id.includes(id))) };
    const r = await auditSource(subset);
    expect(r.readable).toBe(6);
    expect(r.sizes).toEqual([{ width: 200, height: 150, channels: 3, count: 6 }]);
    const groups = r.duplicates.exact_groups.map((g) => g.members.map((m) => m.path).sort());
    expect(groups.sort()).toEqual([['images/ISIC_0024366.jpg', 'images/ISIC_0029861.jpg'], ['images/ISIC_0024777.jpg', 'images/ISIC_0029938.jpg']]);
  });

  it('the shared manifest.csv (path,label) loads with the default mapping', () => {
    const m = openSource(`${HAM}manifest.csv`);
    expect(m.items).toHaveLength(10015);
    expect(m.items[0]!.meta).toMatchObject({ width: 200, height: 150 });
  });
});
