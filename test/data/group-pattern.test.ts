import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource, SourceOptions, withGroupPattern } from '../../src/data/index.js';
import { isMedclassError } from '../../src/errors.js';
import { RunConfig } from '../../src/pipeline/index.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'medclass-groups-'));
  // listing never decodes, so the bytes need not be images
  for (const rel of ['a/person1_bacteria_1.png', 'a/person1_virus_7.png', 'a/person12_x.png', 'b/IM-0115-0001.png',
    'b/NORMAL2-IM-1427-0001.png', 'b/IM-0115-0001-0002.png', 'b/scan 3.png', 'b/sub/odd.png']) {
    mkdirSync(join(root, 'src', rel, '..'), { recursive: true });
    writeFileSync(join(root, 'src', rel), 'x');
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const groupsOf = (pattern: string) => Object.fromEntries(openSource(join(root, 'src'), { groupPattern: pattern }).items.map((i) => [i.id, i.group ?? null]));

describe('groupPattern: groups from file names', () => {
  it('takes the first capture group; unmatched files get no group and are counted', () => {
    const s = openSource(join(root, 'src'), { groupPattern: '^(person\\d+|(?:NORMAL2-)?IM-\\d+)' });
    expect(Object.fromEntries(s.items.map((i) => [i.id, i.group ?? null]))).toEqual({
      'a/person12_x.png': 'person12', 'a/person1_bacteria_1.png': 'person1', 'a/person1_virus_7.png': 'person1',
      'b/IM-0115-0001-0002.png': 'IM-0115', 'b/IM-0115-0001.png': 'IM-0115', 'b/NORMAL2-IM-1427-0001.png': 'NORMAL2-IM-1427',
      'b/scan 3.png': null, 'b/sub/odd.png': null,
    });
    expect(s.groupPattern).toEqual({ pattern: '^(person\\d+|(?:NORMAL2-)?IM-\\d+)', groups: 4, unmatched: 2 });
  });

  it('uses the whole match without a capture group, and only the file name (not the folder) is matched', () => {
    expect(groupsOf('^[a-z]+\\d*')['a/person1_virus_7.png']).toBe('person1');
    expect(groupsOf('^[a-z]+\\d*')['b/scan 3.png']).toBe('scan');
    expect(groupsOf('^sub')['b/sub/odd.png']).toBeNull();
    expect(groupsOf('(?:x)?')['b/scan 3.png']).toBeNull(); // an empty match is no group
  });

  it('replaces a group the source had, and an invalid pattern is a coded error (zod: an issue on the field)', () => {
    const base = openSource('phantom:n=20,size=16,seed=0');
    const withG = { ...base, items: base.items.map((i) => ({ ...i, group: 'old' })) };
    expect(withGroupPattern(withG, '^zzz').items.every((i) => i.group === undefined)).toBe(true);
    let err: unknown;
    try { withGroupPattern(base, '(person'); } catch (e) { err = e; }
    expect(isMedclassError(err) && err.code).toBe('MC_DATA_BAD_SOURCE');
    expect(SourceOptions.safeParse({ groupPattern: '(person' }).success).toBe(false);
    const cfg = RunConfig.safeParse({ data: { source: 'phantom:', groupPattern: '[' } });
    expect(cfg.success ? [] : cfg.error.issues.map((i) => i.path.join('.'))).toEqual(['data.groupPattern']);
  });
});
