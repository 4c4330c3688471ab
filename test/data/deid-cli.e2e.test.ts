// `medclass dicom deid` as a user runs it: key from MEDCLASS_DEID_KEY, output named by the new UIDs, the mapping
// file only when asked (mode 0600, with a warning on stderr), the same key giving the same output names.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDicom } from '../../src/data/index.js';
import { BIN } from '../helpers/cli.js';

const CXR = new URL('../../../shared/data/dicom-samples/cxr-with-fictitious-phi/', import.meta.url).pathname;
const KEY = 'ab'.repeat(32);
const work = mkdtempSync(join(tmpdir(), 'mc-deidcli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (args: string[], env: Record<string, string | undefined>) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
  execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' }, (e, stdout, stderr) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout, stderr }));
});
const tree = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? tree(join(dir, f)).map((g) => `${f}/${g}`) : [f])).sort();

describe('medclass dicom deid', () => {
  it('writes <study>/<sop>.dcm files, the mapping only on request with a warning, and the same names for the same key', async () => {
    const map = join(work, 'mapping.json');
    const a = await cli(['dicom', 'deid', CXR, join(work, 'a'), '--keep-mapping', map], { MEDCLASS_DEID_KEY: KEY });
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^40 file\(s\) de-identified .* files\/s\); key: MEDCLASS_DEID_KEY/m);
    expect(a.stderr).toMatch(/^warning: .*mapping\.json maps the de-identified files back to patients/m);
    expect(statSync(map).mode & 0o777).toBe(0o600);
    const files = tree(join(work, 'a'));
    expect(files).toHaveLength(40);
    const mapping = JSON.parse(readFileSync(map, 'utf8')) as { uids: Record<string, string>; patients: Record<string, unknown> };
    expect(Object.keys(mapping.patients)).toHaveLength(40);
    for (const f of files) {
      const [study, sop] = f.replace(/\.dcm$/, '').split('/');
      const el = parseDicom(new Uint8Array(readFileSync(join(work, 'a', f))), f, true).elements;
      expect([el.StudyInstanceUID, el.SOPInstanceUID]).toEqual([study, sop]);
      expect(Object.values(mapping.uids)).toContain(sop);
    }
    const b = await cli(['dicom', 'deid', CXR, join(work, 'b')], { MEDCLASS_DEID_KEY: KEY });
    expect(b.code).toBe(0);
    expect(b.stderr).not.toMatch(/warning/);
    expect(tree(join(work, 'b'))).toEqual(files);
    const c = await cli(['dicom', 'deid', CXR, join(work, 'c')], { MEDCLASS_DEID_KEY: undefined });
    expect(c.stdout).toMatch(/key: random \(this run only\)/);
    expect(tree(join(work, 'c'))).not.toEqual(files);
  });

  it('refuses a short key and an output folder inside the input', async () => {
    const short = await cli(['dicom', 'deid', CXR, join(work, 'd')], { MEDCLASS_DEID_KEY: 'abcd' });
    expect([short.code, short.stderr]).toEqual([1, expect.stringMatching(/^MC_CLI_BAD_OPTION: MEDCLASS_DEID_KEY: expected at least 32 hex digits/m)]);
    const inside = await cli(['dicom', 'deid', work, join(work, 'inside')], { MEDCLASS_DEID_KEY: KEY });
    expect(inside.stderr).toMatch(/^MC_DATA_DEID_FAILED: the output folder lies inside the input folder/m);
  });
});
