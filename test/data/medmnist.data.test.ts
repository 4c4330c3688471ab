import { describe, expect, it } from 'vitest';
import { auditSource, Dataset, openSource } from '../../src/data/index.js';

const DATA = new URL('../../../shared/data/', import.meta.url).pathname;

describe('MedMNIST npz sources (full audits, in memory)', () => {
  it('PneumoniaMNIST: official counts and the 8 train/val cross-split duplicates', async () => {
    const r = await auditSource(openSource(`${DATA}pneumoniamnist/reconstructed_full/pneumoniamnist.npz`));
    expect(r.classes).toEqual(['normal', 'pneumonia']);
    expect(r.splits.train).toMatchObject({ count: 4708, classes: { normal: 1214, pneumonia: 3494 } });
    expect(r.splits.val).toMatchObject({ count: 524, classes: { normal: 135, pneumonia: 389 } });
    expect(r.splits.test).toMatchObject({ count: 624, classes: { normal: 234, pneumonia: 390 } });
    expect(r.sizes).toEqual([{ width: 28, height: 28, channels: 1, count: 5856 }]);
    const d = r.duplicates;
    expect(d.cross_split).toHaveLength(8);
    for (const g of d.cross_split) expect(g.splits).toEqual(['train', 'val']);
    // shared README: 8 train/val + 18 extra train copies + 3 extra test copies = 29 extra copies
    expect(d.exact_extra_copies).toBe(29);
    expect(d.label_conflicts).toEqual([]);
    expect(d.cross_split[0]!.members[0]!.path).toMatch(/^(train|val)\/\d+$/);
  });

  it('BreastMNIST ((N,) labels, deflate): counts and the train/test duplicate with conflicting labels', async () => {
    const r = await auditSource(openSource(`${DATA}breastmnist/BreastMNIST.npz`));
    expect([r.splits.train!.count, r.splits.val!.count, r.splits.test!.count]).toEqual([546, 78, 156]);
    expect(r.splits.train!.classes).toEqual({ malignant: 147, 'normal, benign': 399 });
    expect(r.duplicates.label_conflicts).toHaveLength(1);
    expect(r.duplicates.cross_split).toHaveLength(1);
    const members = r.duplicates.label_conflicts[0]!.members.map((m) => `${m.path}:${m.label}`).sort();
    expect(members).toEqual(['test/76:normal, benign', 'train/115:malignant']); // as the shared README states
    expect(r.duplicates.label_conflicts[0]!.members.map((m) => m.index!).sort((a, b) => a - b)).toEqual([76, 115]);
  });

  it('RetinaMNIST (RGB (N,28,28,3)): counts per split and grade, no exact duplicates', async () => {
    const src = openSource(`${DATA}retinamnist/retinamnist.npz`);
    const r = await auditSource(src);
    expect([r.splits.train!.count, r.splits.val!.count, r.splits.test!.count]).toEqual([1080, 120, 400]);
    expect(r.splits.train!.classes).toEqual({ 0: 486, 1: 128, 2: 206, 3: 194, 4: 66 });
    expect(r.splits.test!.classes).toEqual({ 0: 174, 1: 46, 2: 92, 3: 68, 4: 20 });
    expect(r.sizes).toEqual([{ width: 28, height: 28, channels: 3, count: 1600 }]);
    expect(r.duplicates.exact_groups).toEqual([]);
    const ds = new Dataset(src);
    const b = await ds.loadBatch(ds.indicesOf('val').slice(0, 4), { size: 28, channels: 3, normalize: 'none' });
    const img = await src.items[ds.indicesOf('val')[0]!]!.load();
    // CHW tensor = HWC pixels / 255 (no resize at 28): pixel (row 3, col 5), channel 2
    expect(b.x.data[2 * 784 + 3 * 28 + 5]).toBeCloseTo(img.data[(3 * 28 + 5) * 3 + 2]! / 255, 6);
  });

  it('the deflated Kaggle variant (388 train normals) reads with the same code', () => {
    const s = openSource(`${DATA}pneumoniamnist/kaggle_variant_varun19424/pneumoniamnist.npz`);
    expect(s.items.filter((i) => i.split === 'train' && i.label === 'normal')).toHaveLength(388);
  });
});
