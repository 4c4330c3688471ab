import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSource, openSource } from '../../src/data/index.js';
import { parseCsv } from '../../src/data/csv.js';
import { isMedclassError } from '../../src/errors.js';

describe('CSV parsing', () => {
  it('handles quotes, doubled quotes, embedded newlines and delimiters, CRLF and a BOM', () => {
    const rows = parseCsv('\ufeffpath,label,note\r\n"a, b.png",x,"say ""hi"""\r\nc.png,y,"two\nlines"\n\n', 't.csv');
    expect(rows.map((r) => r.cells)).toEqual([['path', 'label', 'note'], ['a, b.png', 'x', 'say "hi"'], ['c.png', 'y', 'two\nlines']]);
    expect(rows.map((r) => r.line)).toEqual([1, 2, 3]);
  });
  it('rejects an unterminated quote with MC_DATA_BAD_CSV naming the line', () => {
    expect(() => parseCsv('a,b\n"x,y\n', 't.csv')).toThrow(/line 2: unterminated/);
  });
});

describe('CSV manifests', () => {
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'medclass-csv-'));
    mkdirSync(join(root, 'img'));
    for (const [i, v] of [10, 90, 170, 250].entries()) {
      await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: v, g: v, b: 0 } } }).png().toFile(join(root, 'img', `p${i}.png`));
    }
    writeFileSync(join(root, 'default.csv'), 'path,label,split,group,age\nimg/p0.png,a,train,P1,40\nimg/p1.png,b,Training,P1,\nimg/p2.png,a,test,P2,3.5\nimg/missing.png,b,val,P3,7\n');
    writeFileSync(join(root, 'mapped.csv'), 'id,dx,patient\np0,a,P1\np1,b,P2\np3,b,P2\n');
    writeFileSync(join(root, 'ids.csv'), 'path,label,Lesion ID,PatientID,age\nimg/p0.png,a,L1,P1,40\nimg/p1.png,b,L2,P1,41\nimg/p2.png,a,L3,P2,3\nimg/p3.png,b,L3,P2,3\n');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads path,label,split,group with the rest as typed metadata; a missing file is reported, not fatal', async () => {
    const s = openSource(join(root, 'default.csv'));
    expect(s.items.map((i) => [i.id, i.label, i.split, i.group, i.meta?.age])).toEqual([
      ['img/p0.png', 'a', 'train', 'P1', 40], ['img/p1.png', 'b', 'train', 'P1', null], ['img/p2.png', 'a', 'test', 'P2', 3.5], ['img/missing.png', 'b', 'val', 'P3', 7],
    ]);
    const r = await auditSource(s);
    expect(r.unreadable).toMatchObject([{ path: 'img/missing.png', code: 'MC_DATA_MISSING_FILE' }]);
    expect(r.readable).toBe(3);
  });

  it('maps columns with a path template (HAM10000 style)', async () => {
    const s = openSource(join(root, 'mapped.csv'), { csv: { pathCol: 'id', labelCol: 'dx', groupCol: 'patient', pathTemplate: 'img/{}.png' } });
    expect(s.items.map((i) => [i.id, i.group])).toEqual([['img/p0.png', 'P1'], ['img/p1.png', 'P2'], ['img/p3.png', 'P2']]);
    expect((await s.items[2]!.load()).width).toBe(8);
  });

  it('without a group column or mapping, takes a patient id column (before a lesion id) as the group and says it was detected', async () => {
    const s = openSource(join(root, 'ids.csv'));
    expect(s.groupColumn).toEqual({ name: 'PatientID', detected: true, from: 'csv' });
    expect(s.items.map((i) => [i.group, i.meta?.['Lesion ID']])).toEqual([['P1', 'L1'], ['P1', 'L2'], ['P2', 'L3'], ['P2', 'L3']]);
    expect((await auditSource(s)).groups).toMatchObject({ count: 2, without_group: 0, column: { name: 'PatientID', detected: true } });
    const named = openSource(join(root, 'ids.csv'), { csv: { groupCol: 'Lesion ID' } });
    expect(named.groupColumn).toEqual({ name: 'Lesion ID', detected: false, from: 'csv' });
    expect(new Set(named.items.map((i) => i.group)).size).toBe(3);
    const off = openSource(join(root, 'ids.csv'), { csv: { groupCol: '' } });
    expect(off.groupColumn).toBeUndefined();
    expect(off.items.every((i) => i.group === undefined && i.meta?.PatientID !== undefined)).toBe(true);
    expect(openSource(join(root, 'default.csv')).groupColumn).toEqual({ name: 'group', detected: false, from: 'csv' });
  });

  it('names the missing column and lists the header', () => {
    try {
      openSource(join(root, 'mapped.csv'));
      expect.unreachable();
    } catch (e) {
      expect(isMedclassError(e, 'MC_DATA_BAD_CSV')).toBe(true);
      expect((e as Error).message).toBe("mapped.csv: no path column 'path' (columns: id, dx, patient)");
    }
    expect(() => openSource(join(root, 'mapped.csv'), { csv: { pathCol: 'id', labelCol: 'dx', groupCol: 'nope' } })).toThrow(/no group column 'nope'/);
  });
});
