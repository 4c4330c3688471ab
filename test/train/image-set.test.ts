import { describe, expect, it } from 'vitest';
import { Dataset, PreprocessOptions, normalizationTable, openSource } from '../../src/data/index.js';
import { gatherRows, rowRange, subsetImages, type ImageSet } from '../../src/train/index.js';

const BREAST = new URL('../../../shared/data/breastmnist/BreastMNIST.npz', import.meta.url).pathname;

describe('ImageSet held as bytes', () => {
  it('reads the same float32 rows as the float batch loader, a quarter of the memory', async () => {
    const ds = new Dataset(openSource(BREAST), { cacheTensors: false });
    const pre = PreprocessOptions.parse({ size: 32, channels: 3, normalize: 'imagenet' }); // 28 → 32 px, grey → RGB
    const idx = ds.indicesOf('val').slice(0, 10);
    const floats = await ds.loadBatch(idx, pre);
    const b = await ds.loadBytes(idx, pre);
    expect(b.dims).toEqual(floats.x.dims);
    expect(b.indices).toEqual(floats.indices);
    expect([...b.labels]).toEqual([...floats.labels]);
    const set: ImageSet = { bytes: { data: b.bytes, table: normalizationTable('imagenet', 3) }, dims: b.dims, labels: b.labels, indices: b.indices };
    expect(b.bytes.byteLength * 4).toBe(floats.x.data.byteLength);
    expect(rowRange(set, 0, 10)).toEqual(floats.x.data);
    const per = 3 * 32 * 32;
    const picked = gatherRows(set, [7, 2], new Float32Array(2 * per));
    expect(picked.subarray(0, per)).toEqual(floats.x.data.subarray(7 * per, 8 * per));
    expect(picked.subarray(per)).toEqual(floats.x.data.subarray(2 * per, 3 * per));
    const sub = subsetImages(set, [7, 2]);
    expect(sub.bytes?.data.length).toBe(2 * per);
    expect(sub.indices).toEqual([b.indices[7], b.indices[2]]);
    expect(rowRange(sub, 0, 2)).toEqual(picked);
  });
});
