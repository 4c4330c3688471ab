// `medclass data audit` on DICOM: the 40 chest X-ray DICOMs (folder = label) and single .dcm files, spawned.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';

const DICOM = new URL('../../../shared/data/dicom-samples/', import.meta.url).pathname;
const CXR = `${DICOM}cxr-with-fictitious-phi`;

describe('medclass data audit on DICOM', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'medclass-dicom-cli-'));
  afterAll(() => removeTempDir(tmp));

  it('the CXR folder: 40 readable, NORMAL 20 / PNEUMONIA 20, 224×224 grey, no exact or near duplicates between the variants', async () => {
    const json = join(tmp, 'audit.json');
    const r = await runCli(['data', 'audit', CXR, '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('40 items, 40 readable');
    const a = JSON.parse(readFileSync(json, 'utf8'));
    expect([a.total_items, a.readable, a.splits.all.classes]).toEqual([40, 40, { NORMAL: 20, PNEUMONIA: 20 }]);
    expect(a.sizes).toEqual([{ width: 224, height: 224, channels: 1, count: 40 }]);
    expect([a.duplicates.exact_groups, a.duplicates.near.pair_count, a.unreadable]).toEqual([[], 0, []]);
    expect(r.stdout + r.stderr + readFileSync(json, 'utf8')).not.toMatch(/DOE\^JANE|MRN100000|Fictional General Hospital/);
  });

  it('single files: an RGB two-frame RLE file is readable, an RT plan is reported with its code', async () => {
    const ok = await runCli(['data', 'audit', `${DICOM}pydicom-test-files/SC_rgb_rle_2frame.dcm`]);
    expect(ok.stdout).toContain('1 items, 1 readable');
    expect(ok.stdout).toContain('100x100x3');
    const bad = await runCli(['data', 'audit', `${DICOM}pydicom-test-files/rtplan.dcm`]);
    expect(bad.stdout).toMatch(/rtplan\.dcm\s+MC_DATA_DICOM_NO_IMAGE/);
  });
});
