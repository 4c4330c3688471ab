import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSource, Dataset, openSource, type DataEvent } from '../../src/data/index.js';
import { isMedclassError } from '../../src/errors.js';

let root: string;
const rgb = (v: number) => sharp({ create: { width: 20, height: 12, channels: 3, background: { r: v, g: 255 - v, b: 40 } } });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'medclass-folder-'));
  const put = (rel: string, b: Uint8Array | string) => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), b);
  };
  // good images: JPEG, PNG named .jpg, TIFF, grey, RGBA, names with spaces and parentheses
  put('bad-input/Training/cat/a (1).jpg', await rgb(10).jpeg().toBuffer());
  put('bad-input/Training/cat/png named.jpg', await rgb(60).png().toBuffer());
  put('bad-input/Training/cat/c.tif', await rgb(110).tiff().toBuffer());
  put('bad-input/Training/dog/grey.png', await rgb(160).greyscale().toColourspace('b-w').png().toBuffer());
  put('bad-input/Training/dog/alpha.png', await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } } }).png().toBuffer());
  put('bad-input/Testing/dog/d.jpeg', await rgb(210).jpeg().toBuffer());
  put('bad-input/Testing/cat/copy of a.png', await sharp(await rgb(160).greyscale().toColourspace('b-w').png().toBuffer()).png().toBuffer());
  // bad files
  const jpg = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 9, g: 99, b: 199 } } }).jpeg().toBuffer();
  put('bad-input/Training/cat/empty.jpg', new Uint8Array(0));
  put('bad-input/Training/cat/truncated.jpg', jpg.subarray(0, jpg.length >> 1));
  put('bad-input/Training/dog/text.png', 'this is text, not a PNG\n');
  put('bad-input/Testing/dog/notes.pdf', '%PDF-1.4 not an image at all');
  put('bad-input/Training/cat/.DS_Store', 'hidden: ignored');
  // a <class>/* folder and a mixed (invalid) one
  put('flat/yes/1.png', await rgb(1).png().toBuffer());
  put('flat/no/2.png', await rgb(2).png().toBuffer());
  put('mixed/train/x/1.png', await rgb(1).png().toBuffer());
  put('mixed/stuff/x/1.png', await rgb(1).png().toBuffer());
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('image folders', () => {
  it('reads <split>/<class>/* with Training/Testing mapped to train/test and hidden files ignored', () => {
    const s = openSource(join(root, 'bad-input'));
    expect(s.kind).toBe('folder');
    expect(s.classes).toEqual(['cat', 'dog']);
    expect(s.items.length).toBe(11);
    expect(s.items.find((i) => i.id === 'Testing/dog/d.jpeg')).toMatchObject({ split: 'test', label: 'dog', labelIndex: 1 });
    expect(s.items.filter((i) => i.split === 'train').length).toBe(8);
  });

  it('reads <class>/* without splits and rejects a folder mixing split and non-split folders', () => {
    const s = openSource(join(root, 'flat'));
    expect(s.classes).toEqual(['no', 'yes']);
    expect(s.items.map((i) => [i.id, i.split])).toEqual([['no/2.png', undefined], ['yes/1.png', undefined]]);
    expect(() => openSource(join(root, 'mixed'))).toThrow(/mixes split folders/);
    try { openSource(join(root, 'mixed')); } catch (e) { expect(isMedclassError(e, 'MC_DATA_BAD_SOURCE')).toBe(true); }
  });

  it('audit reports each bad file by path with code and reason, loads the rest, and finds the cross-split duplicate', async () => {
    const events: DataEvent[] = [];
    const r = await auditSource(openSource(join(root, 'bad-input')), {}, (e) => events.push(e));
    expect(r.readable).toBe(7);
    expect(r.unreadable.map((u) => [u.path, u.code])).toEqual([
      ['Testing/dog/notes.pdf', 'MC_DATA_NOT_AN_IMAGE'],
      ['Training/cat/empty.jpg', 'MC_DATA_EMPTY_FILE'],
      ['Training/cat/truncated.jpg', 'MC_DATA_UNREADABLE_IMAGE'],
      ['Training/dog/text.png', 'MC_DATA_NOT_AN_IMAGE'],
    ]);
    for (const u of r.unreadable) expect(u.reason).toContain(u.path);
    expect(r.unreadable[2]!.reason).toMatch(/premature end|truncat/i);
    expect(events.filter((e) => e.type === 'item-skipped').length).toBe(4);
    expect(events.at(-1)).toMatchObject({ type: 'progress', done: 11, total: 11 });
    expect(r.splits.train).toMatchObject({ count: 5, classes: { cat: 3, dog: 2 } });
    expect(r.splits.test).toMatchObject({ count: 2, classes: { cat: 1, dog: 1 } });
    expect(r.sizes.map((s) => s.channels).sort()).toEqual([1, 3, 4]);
    // grey.png (train/dog) and "copy of a.png" (test/cat) decode to the same pixels: cross-split and label conflict
    expect(r.duplicates.cross_split).toHaveLength(1);
    expect(r.duplicates.cross_split[0]!.members.map((m) => m.path).sort()).toEqual(['Testing/cat/copy of a.png', 'Training/dog/grey.png']);
    expect(r.duplicates.label_conflicts[0]!.labels).toEqual(['cat', 'dog']);
  });

  it('Dataset.loadBatch skips bad files, reports them, and caches tensors', async () => {
    const ds = new Dataset(openSource(join(root, 'bad-input')));
    const skipped: string[] = [];
    const all = ds.items.map((_, i) => i);
    const b = await ds.loadBatch(all, { size: 16, channels: 3, normalize: 'half' }, { onEvent: (e) => e.type === 'item-skipped' && skipped.push(e.file) });
    expect(b.x.dims).toEqual([7, 3, 16, 16]);
    expect(b.skipped.map((s) => s.code).sort()).toEqual(['MC_DATA_EMPTY_FILE', 'MC_DATA_NOT_AN_IMAGE', 'MC_DATA_NOT_AN_IMAGE', 'MC_DATA_UNREADABLE_IMAGE']);
    expect(skipped).toHaveLength(4);
    expect([...b.labels]).toEqual(b.indices.map((i) => ds.items[i]!.labelIndex));
    const again = await ds.loadBatch(b.indices, { size: 16, channels: 3, normalize: 'half' });
    expect(again.x.data).toEqual(b.x.data);
    expect(ds.indicesOf('test').length).toBe(3);
  });
});
