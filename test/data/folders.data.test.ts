import { describe, expect, it } from 'vitest';
import { auditSource, Dataset, openSource } from '../../src/data/index.js';

const DATA = new URL('../../../shared/data/', import.meta.url).pathname;

describe('shared image folders', () => {
  it('chest X-ray folder: train 1,341/3,875, test 234/390 by listing', () => {
    const s = openSource(`${DATA}chest-xray-pneumonia-224/dataset`);
    expect(s.classes).toEqual(['NORMAL', 'PNEUMONIA']);
    const n = (split: string, label: string) => s.items.filter((i) => i.split === split && i.label === label).length;
    expect([n('train', 'NORMAL'), n('train', 'PNEUMONIA'), n('test', 'NORMAL'), n('test', 'PNEUMONIA')]).toEqual([1341, 3875, 234, 390]);
  });

  it('chest X-ray folder, full audit: 30 within-split exact duplicate groups (32 extra copies), none across splits', async () => {
    const r = await auditSource(openSource(`${DATA}chest-xray-pneumonia-224/dataset`));
    expect(r.readable).toBe(5840);
    expect(r.unreadable).toEqual([]);
    expect(r.duplicates.exact_groups).toHaveLength(30);
    expect(r.duplicates.exact_extra_copies).toBe(32);
    expect(r.duplicates.cross_split).toEqual([]);
    expect(r.duplicates.label_conflicts).toEqual([]);
    expect(r.duplicates.near.cross_split).toEqual([]); // shared README: no near (dHash) duplicates across train/test
    expect(r.sizes).toEqual([{ width: 224, height: 224, channels: 3, count: 5840 }]);
  }, 90_000);

  it('brain MRI yes/no (mixed formats, sizes, spaces in names): all 139 load', async () => {
    const s = openSource(`${DATA}brain-tumor-mri-yes-no/brain_tumor_dataset`);
    expect(s.items).toHaveLength(139);
    expect(s.items.some((i) => i.id.includes(' '))).toBe(true);
    const r = await auditSource(s);
    expect(r.readable).toBe(139);
    expect(r.splits.all!.classes).toEqual({ no: 25, yes: 114 });
    expect(r.sizes.length).toBeGreaterThan(10);
    expect(r.duplicates.exact_groups).toHaveLength(8); // shared README: 8 exact-duplicate groups, all within a class
    expect(r.duplicates.label_conflicts).toEqual([]);
    // the dataset's top folder (a lone wrapper folder beside manifest.csv) opens the same 139 images
    const top = openSource(`${DATA}brain-tumor-mri-yes-no`);
    expect(top.classes).toEqual(['no', 'yes']);
    expect(top.items.map((i) => i.id)).toEqual(s.items.map((i) => `brain_tumor_dataset/${i.id}`));
    const ds = new Dataset(s);
    const b = await ds.loadBatch(s.items.map((_, i) => i), { size: 32, channels: 1, fit: 'letterbox' });
    expect(b.skipped).toEqual([]);
    expect(b.x.dims).toEqual([139, 1, 32, 32]);
  });
});
