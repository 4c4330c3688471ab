import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSource, openSource } from '../../src/data/index.js';
import { isMedclassError } from '../../src/errors.js';

// A manifest in <tmp>/deep/data/ whose rows point inside, up to /etc/passwd (../ as often as it takes) and to an
// absolute path elsewhere.
let root: string;
let data: string;
let climb: string; // '../../../../etc/passwd' from <tmp>/medclass-csvpaths-…/deep/data when tmpdir() is /tmp
const PASSWD = readFileSync('/etc/passwd', 'utf8');
const caught = (f: () => unknown) => {
  try {
    f();
    return undefined;
  } catch (e) {
    return isMedclassError(e) ? e : undefined;
  }
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'medclass-csvpaths-'));
  data = join(root, 'deep', 'data');
  mkdirSync(join(data, 'img'), { recursive: true });
  for (const [i, v] of [20, 200].entries()) await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: v, g: v, b: v } } }).png().toFile(join(data, 'img', `p${i}.png`));
  await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toFile(join(root, 'outside.png'));
  writeFileSync(join(data, 'inside.csv'), `path,label\nimg/p0.png,a\n./img/p1.png,b\n${join(data, 'img', 'p0.png')},a\nimg/../img/p1.png,b\n`);
  climb = `${'../'.repeat(data.split('/').length - 1)}etc/passwd`;
  writeFileSync(join(data, 'passwd.csv'), `path,label\nimg/p0.png,a\n${climb},b\n`);
  writeFileSync(join(data, 'absolute.csv'), `path,label\nimg/p0.png,a\nimg/p1.png,b\n${join(root, 'outside.png')},b\n`);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('CSV manifest paths stay inside the manifest folder', () => {
  it('accepts relative, ./ and absolute paths that resolve inside the folder', () => {
    expect(openSource(join(data, 'inside.csv')).items.map((i) => i.id)).toEqual(['img/p0.png', 'img/p1.png', 'img/p0.png', 'img/../img/p1.png']);
  });

  it('refuses ../…/etc/passwd with MC_DATA_OUTSIDE_ROOT naming the manifest line, before any file is opened, echoing none of its bytes', () => {
    const e = caught(() => openSource(join(data, 'passwd.csv')));
    expect(e?.code).toBe('MC_DATA_OUTSIDE_ROOT');
    expect(e?.message).toBe(`passwd.csv: line 3: path '${climb}' leads outside the manifest's folder; the file was not opened`);
    expect(e?.hint).toContain('--allow-outside-paths');
    const firstLine = PASSWD.split('\n')[0]!;
    expect(e!.message).not.toContain(firstLine.slice(0, 4));
  });

  it('refuses an absolute path outside the folder, and a pathTemplate that climbs out of it', () => {
    expect(caught(() => openSource(join(data, 'absolute.csv')))?.message).toMatch(/^absolute\.csv: line 4: path '.*outside\.png' leads outside/);
    writeFileSync(join(data, 'template.csv'), 'id,label\np0,a\np1,b\n');
    const e = caught(() => openSource(join(data, 'template.csv'), { csv: { pathCol: 'id', pathTemplate: '../../{}.png' } }));
    expect(e?.message).toBe("template.csv: line 2: id 'p0' (through pathTemplate) leads outside the manifest's folder; the file was not opened");
  });

  it('with allowOutsidePaths the rows open; /etc/passwd is then an unreadable item whose error quotes none of its bytes', async () => {
    const s = openSource(join(data, 'passwd.csv'), { csv: { allowOutsidePaths: true } });
    expect(s.items.map((i) => i.id)).toEqual(['img/p0.png', climb]);
    const r = await auditSource(s);
    expect(r.readable).toBe(1);
    expect(r.unreadable).toHaveLength(1);
    const u = r.unreadable[0]!;
    expect([u.path, u.code]).toEqual([climb, 'MC_DATA_NOT_AN_IMAGE']);
    expect(u.reason).toBe(`${climb}: not an image (${Buffer.byteLength(PASSWD)} bytes; no JPEG, PNG, TIFF, BMP, GIF, WebP or DICOM signature)`);
    const hex = [...Buffer.from(PASSWD).subarray(0, 4)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    expect(u.reason).not.toContain(hex);
    expect(u.reason).not.toContain(PASSWD.slice(0, 4));
    expect(openSource(join(data, 'absolute.csv'), { csv: { allowOutsidePaths: true } }).items).toHaveLength(3);
  });
});
