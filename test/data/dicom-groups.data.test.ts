// DICOM folders are grouped by PatientID so splits keep a patient's images together: the 40 chest X-rays of
// dicom-samples/cxr-with-fictitious-phi (one fictitious patient each) are copied with PatientIDs rewritten through
// dcmjs so that 10 patients have 4 images each, across both classes; the expected groups are the IDs written here.
import { createHash, createHmac } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_KEY_ENV, assignSplits, auditSource, groupLeaks, openSource, patientGroupId, setPatientGroupKey, withDicomPatientGroups } from '../../src/data/index.js';
import { runSplits } from '../../src/pipeline/run-source.js';
import { RunConfig, createRunDir } from '../../src/run/index.js';
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

  it('a run re-reading its DICOM folder with files it never saw puts each new file in its patient\'s recorded split', async () => {
    const folder = join(root, 'dicom');
    const src = await withDicomPatientGroups(openSource(folder));
    // the run saw patients 0–7's first image per class only (each has two per class), split by patient: 0–4 train, 5–6 val, 7 test
    const splitOfPatient = (p: number) => (p <= 4 ? 'train' : p <= 6 ? 'val' : 'test');
    const recorded = { train: [] as string[], val: [] as string[], test: [] as string[] };
    const seen = new Map<string, number>();
    for (const it of src.items) {
      const p = patientOf.get(it.id);
      if (p === undefined) continue;
      const k = Number(p.slice(4));
      const n = seen.get(`${k}/${it.label}`) ?? 0;
      seen.set(`${k}/${it.label}`, n + 1);
      if (k <= 7 && n < 1) recorded[splitOfPatient(k)].push(it.id);
    }
    const dir = join(root, 'run');
    const cfg = RunConfig.parse({ name: 'dicom-run', data: { source: folder, split: { mode: 'stratified', fractions: [0.6, 0.2, 0.2] } }, fit: { epochs: 1 } });
    const { run } = createRunDir(dir, cfg);
    run.update({ splits: recorded });
    const r = await runSplits(run, openSource(folder)); // ungrouped, as the commands open it
    expect(r.recorded).toBe(16);
    expect(r.unknown).toBe(src.items.length - 16);
    let checked = 0;
    src.items.forEach((it, i) => {
      const p = patientOf.get(it.id);
      if (p !== undefined && Number(p.slice(4)) <= 7) { checked++; expect(r.splits[i], it.id).toBe(splitOfPatient(Number(p.slice(4)))); }
    });
    expect(checked).toBe(32); // 16 recorded, 16 the run never saw
    expect(groupLeaks(src.items, r.splits)).toEqual([]); // patients 8 and 9 (never seen) are split whole, too
  });

  it('data split on the DICOM folder names the groups it used and leaks no patient', async () => {
    const r = await runCli(['data', 'split', join(root, 'dicom'), '--mode', 'stratified', '--seed', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('groups (from DICOM PatientID, digested; --no-by-group ignores them): 10; groups in more than one split: 0');
    expect(r.stdout + r.stderr).not.toContain('PAT-');
  }, 120_000);

  it('ids are keyed: no unkeyed digest of the ID, a set key gives its HMAC, and the key changes no split', async () => {
    try {
      setPatientGroupKey(undefined);
      const id = patientGroupId('1234567');
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      expect(patientGroupId('1234567')).toBe(id); // one key per process
      // what a dictionary attack on a short numeric MRN would try
      for (const pre of ['medclass-group\u0000', '']) expect(createHash('sha256').update(`${pre}1234567`).digest('hex')).not.toContain(id);
      const keyA = 'a1'.repeat(32), keyB = '5c'.repeat(16);
      setPatientGroupKey(keyA);
      const a = await withDicomPatientGroups(openSource(join(root, 'dicom')));
      const expected = (patient: string) => createHmac('sha256', Buffer.from(keyA, 'hex')).update(`medclass-group\u0000${patient}`).digest('hex').slice(0, 16);
      for (const it of a.items.filter((x) => x.id.endsWith('.dcm'))) expect(it.group).toBe(expected(patientOf.get(it.id)!));
      setPatientGroupKey(keyB);
      const b = await withDicomPatientGroups(openSource(join(root, 'dicom')));
      expect(b.items.find((x) => x.id.endsWith('.dcm'))!.group).not.toBe(a.items.find((x) => x.id.endsWith('.dcm'))!.group);
      const split = (src: typeof a) => assignSplits(src.items, { mode: 'stratified', fractions: [0.6, 0.2, 0.2], seed: 4 });
      expect(split(b)).toEqual(split(a));
      expect(() => setPatientGroupKey('abc')).toThrow(expect.objectContaining({ code: 'MC_DATA_BAD_GROUP_KEY' }));
    } finally {
      setPatientGroupKey(undefined);
    }
  });

  it('the CLI takes the key from MEDCLASS_GROUP_KEY: a malformed one is MC_DATA_BAD_GROUP_KEY naming the variable', async () => {
    const saved = process.env[GROUP_KEY_ENV];
    process.env[GROUP_KEY_ENV] = 'abc'; // inherited by the child process
    try {
      const r = await runCli(['data', 'split', join(root, 'dicom'), '--mode', 'stratified', '--seed', '2']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('MC_DATA_BAD_GROUP_KEY');
      expect(r.stderr).toContain(GROUP_KEY_ENV);
    } finally {
      if (saved === undefined) delete process.env[GROUP_KEY_ENV]; else process.env[GROUP_KEY_ENV] = saved;
    }
  }, 120_000);
});
