import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const DATA = new URL('../../../shared/data/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'medclass-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args);

describe('medclass data audit / split (spawned CLI)', () => {
  it('audits BreastMNIST: table on stdout, full JSON with the documented keys', async () => {
    const json = join(tmp, 'breast.json');
    const r = await cli('data', 'audit', `${DATA}breastmnist/BreastMNIST.npz`, '--json', json);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/train\s+546\s+147\s+399/);
    expect(r.stdout).toContain('label conflicts: 1');
    expect(r.stdout).toContain('train/115 [train, malignant]');
    const a = JSON.parse(readFileSync(json, 'utf8'));
    expect(a.splits.test.count).toBe(156);
    expect(a.splits.val.classes.malignant).toBe(21);
    expect(a.unreadable).toEqual([]);
    expect(Array.isArray(a.duplicates.exact_groups)).toBe(true);
    expect(a.duplicates.cross_split[0].members).toHaveLength(2);
    expect(a.duplicates.label_conflicts[0].labels).toEqual(['malignant', 'normal, benign']);
  }, 180_000);

  it('audits the built-in phantoms by spec (the data behind npm start)', async () => {
    const r = await cli('data', 'audit', 'phantom:n=60,size=32,seed=1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/train\s+42\s+21\s+21/);
    expect(r.stdout).toContain('unreadable: 0');
  }, 180_000);

  it('a wrong CSV column mapping fails with a coded error naming the column', async () => {
    const r = await cli('data', 'audit', `${DATA}ham10000/HAM10000_metadata.csv`, '--path-col', 'image_id', '--label-col', 'diagnosis');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("MC_DATA_BAD_CSV: HAM10000_metadata.csv: no label column 'diagnosis'");
    expect(r.stderr).toContain('lesion_id, image_id, dx');
  }, 180_000);

  it('data split on HAM10000 by lesion_id: no lesion in two splits, CSV written', async () => {
    const csv = join(tmp, 'ham-split.csv');
    const r = await cli('data', 'split', `${DATA}ham10000/HAM10000_metadata.csv`, '--path-col', 'image_id', '--label-col', 'dx',
      '--group-col', 'lesion_id', '--path-template', 'images/{}.jpg', '--mode', 'stratified', '--seed', '3', '--out', csv);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('groups: 7470; groups in more than one split: 0');
    const rows = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(10015);
    const splitOf = new Map<string, Set<string>>();
    for (const [, , group, split] of rows) splitOf.set(group!, (splitOf.get(group!) ?? new Set()).add(split!));
    expect([...splitOf.values()].filter((s) => s.size > 1)).toEqual([]);
  }, 180_000);

  it("data split on HAM10000 without --group-col detects lesion_id and says so; --group-col '' splits image by image", async () => {
    const base = ['data', 'split', `${DATA}ham10000/HAM10000_metadata.csv`, '--path-col', 'image_id', '--label-col', 'dx',
      '--path-template', 'images/{}.jpg', '--mode', 'stratified', '--seed', '3'];
    const detected = await cli(...base);
    expect(detected.code).toBe(0);
    expect(detected.stdout).toContain("groups (from column 'lesion_id', detected as a patient/lesion id; --no-by-group ignores them): 7470; groups in more than one split: 0");
    const off = await cli(...base, '--group-col', '');
    expect(off.code).toBe(0);
    expect(off.stdout).toContain('groups: none in this source');
  }, 180_000);
});
