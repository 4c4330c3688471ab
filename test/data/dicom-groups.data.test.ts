// DICOM folders are grouped by PatientID so splits keep a patient's images together: the 40 chest X-rays of
// dicom-samples/cxr-with-fictitious-phi (one fictitious patient each) are copied with PatientIDs rewritten through
// dcmjs so that 10 patients have 4 images each, across both classes; the expected groups are the IDs written here.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignSplits, auditSource, groupLeaks, openSource, patientGroupId, withDicomPatientGroups } from '../../src/data/index.js';
import { runCli } from '../helpers/cli.js';

const CXR = new URL('../../../shared/data/dicom-samples/cxr-with-fictitious-phi/', import.meta.url).pathname;
const BRAIN = new URL('../../../shared/data/brain-tumor-mri-yes-no/brain_tumor_dataset/', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const dcmjs = require('dcmjs');
dcmjs.log.setLevel('silent');

let root: string;
const patientOf = new Map<string, string>(); // item id → the PatientID written into the copy

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'medclass-dicom-groups-'));
  for (const label of ['NORMAL', 'PNEUMONIA']) {
    mkdirSync(join(root, 'dicom', label), { recursive: true });
    readdirSync(join(CXR, label)).sort().forEach((f, i) => {
      const b = readFileSync(join(CXR, label, f));
      const d = dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
      const patient = `PAT-${i % 10}`; // image i of either class belongs to patient i mod 10
      d.dict['00100020'] = { vr: 'LO', Value: [patient] };
      writeFileSync(join(root, 'dicom', label, f), Buffer.from(d.write()));
      patientOf.set(`${label}/${f}`, patient);
    });
  }
  // a non-DICOM file among them keeps no group and does not stop the rest
  copyFileSync(join(BRAIN, 'yes', readdirSync(join(BRAIN, 'yes')).sort()[0]!), join(root, 'dicom', 'NORMAL', 'stray.jpg'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('DICOM folders grouped by PatientID', () => {
  it('every DICOM item gets the digest of the PatientID written into it; the ID itself is nowhere in the source', async () => {
    const src = await withDicomPatientGroups(openSource(join(root, 'dicom')));
    expect(src.groupColumn).toEqual({ name: 'PatientID', detected: true, from: 'dicom' });
    const dicom = src.items.filter((it) => it.id.endsWith('.dcm'));
    expect(dicom).toHaveLength(40);
    for (const it of dicom) expect(it.group).toBe(patientGroupId(patientOf.get(it.id)!));
    expect(new Set(dicom.map((it) => it.group)).size).toBe(10);
    expect(src.items.find((it) => it.id.endsWith('stray.jpg'))!.group).toBeUndefined();
    expect(JSON.stringify(src.items.map((it) => [it.id, it.group]))).not.toContain('PAT-');
    expect((await auditSource(src)).groups).toMatchObject({ count: 10, without_group: 1, column: { from: 'dicom' } });
  });

  it('a stratified split keeps each patient in one split; the same split ignoring groups does not', async () => {
    const src = await withDicomPatientGroups(openSource(join(root, 'dicom')));
    expect(groupLeaks(src.items, assignSplits(src.items, { mode: 'stratified', fractions: [0.6, 0.2, 0.2], seed: 1 }))).toEqual([]);
    expect(groupLeaks(src.items, assignSplits(src.items, { mode: 'stratified', fractions: [0.6, 0.2, 0.2], seed: 1, byGroup: false })).length).toBeGreaterThan(0);
  });

  it('sources whose groups are decided otherwise, and folders without DICOM, are returned as they are', async () => {
    const brain = openSource(BRAIN);
    expect(await withDicomPatientGroups(brain)).toBe(brain);
    const patterned = openSource(join(root, 'dicom'), { groupPattern: '^cxr_(normal|pneumonia)' });
    expect(await withDicomPatientGroups(patterned)).toBe(patterned);
  });

  it('data split on the DICOM folder names the groups it used and leaks no patient', async () => {
    const r = await runCli(['data', 'split', join(root, 'dicom'), '--mode', 'stratified', '--seed', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('groups (from DICOM PatientID, digested; --no-by-group ignores them): 10; groups in more than one split: 0');
    expect(r.stdout + r.stderr).not.toContain('PAT-');
  }, 120_000);
});
