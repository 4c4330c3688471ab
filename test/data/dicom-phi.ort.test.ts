// No DICOM identifier reaches medclass's outputs: the fictitious PatientName/PatientID/BirthDate/InstitutionName
// (and referring physician, accession number, study date, study/series/instance UIDs) of the 40 chest X-ray DICOMs
// are searched, byte for byte, in the audit JSON and events, and in every file of a run trained on them (2 epochs at
// 32 px) with every allowed DICOM tag opted in as metadata (data.dicomMeta) and subgroups over one of them.
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSource, openSource, parseDicom, withDicomMeta, DicomMetaOptions, DICOM_META_TAGS } from '../../src/data/index.js';
import { evaluateRunDir, runTraining, type RunSummary } from '../../src/pipeline/index.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';

const CXR = new URL('../../../shared/data/dicom-samples/cxr-with-fictitious-phi/', import.meta.url).pathname;
const PHI_TAGS = [
  'PatientName', 'PatientID', 'PatientBirthDate', 'InstitutionName', 'ReferringPhysicianName', 'AccessionNumber',
  'StudyDate', 'StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID',
];

/** The identifying values of every file, as strings (person names as `FAMILY^GIVEN` and `FAMILY GIVEN`). */
function phiValues(): { tag: string; value: string }[] {
  const out = new Map<string, string>();
  for (const cls of ['NORMAL', 'PNEUMONIA']) {
    for (const f of readdirSync(join(CXR, cls))) {
      const { elements } = parseDicom(new Uint8Array(readFileSync(join(CXR, cls, f))), f, true);
      for (const tag of PHI_TAGS) {
        const raw = elements[tag];
        const v = Array.isArray(raw) ? raw[0] : raw;
        const s = typeof v === 'object' && v !== null ? String((v as { Alphabetic?: string }).Alphabetic ?? '') : String(v ?? '');
        if (!s.trim()) continue;
        out.set(s.trim(), tag);
        if (s.includes('^')) out.set(s.replace(/\^/g, ' ').trim(), tag);
      }
    }
  }
  return [...out].map(([value, tag]) => ({ tag, value }));
}

/** Values found in `text` (a file read as latin1, or JSON). */
const leaks = (text: string, values: { tag: string; value: string }[]) => values.filter((v) => text.includes(v.value));

function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesBelow(join(dir, n)) : [join(dir, n)]));
}

describe('DICOM identifiers never reach medclass outputs', () => {
  const values = phiValues();
  let out = '';
  let summary: RunSummary;
  const events: unknown[] = [];

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'medclass-dicom-'));
    summary = await runTraining({
      name: 'cxr-dicom', out, seed: 5, threads: 1,
      data: { source: CXR, preprocess: { size: 32, channels: 1 }, dicomMeta: [...DICOM_META_TAGS] },
      fit: { epochs: 2, batchSize: 8 },
      eval: { bootstrap: 20, alpha: 0.1, subgroups: ['PhotometricInterpretation'] },
    }, { onEvent: (e) => events.push(e) });
  });
  afterAll(() => { if (out) removeTempDir(out); });

  it('the files do carry identifiers (40 patient IDs, names, birth dates, an institution)', () => {
    const by = (tag: string) => values.filter((v) => v.tag === tag).length;
    expect(by('PatientID')).toBe(40);
    expect(by('PatientName')).toBeGreaterThan(5);
    expect(by('PatientBirthDate')).toBeGreaterThan(5);
    expect(by('InstitutionName')).toBeGreaterThanOrEqual(1);
    expect(by('StudyDate')).toBeGreaterThanOrEqual(1);
    expect(by('SOPInstanceUID')).toBe(40);
    // the detector finds them where they are: in the DICOM file itself
    const raw = readFileSync(join(CXR, 'NORMAL', 'cxr_normal_00.dcm')).toString('latin1');
    expect(new Set(leaks(raw, values).map((v) => v.tag)).size).toBe(PHI_TAGS.length);
  });

  it('audit JSON and audit events hold none of them; ids are relative paths', async () => {
    const auditEvents: unknown[] = [];
    const report = await auditSource(openSource(CXR), {}, (e) => auditEvents.push(e));
    expect([report.total_items, report.readable, report.splits.all!.classes]).toEqual([40, 40, { NORMAL: 20, PNEUMONIA: 20 }]);
    const json = JSON.stringify(report) + JSON.stringify(auditEvents);
    expect(leaks(json, values)).toEqual([]);
    expect(json).not.toContain(CXR);
  });

  it('a run trained on them (2 epochs, 32 px): no file of the run dir and no event holds any identifier', () => {
    expect(summary.skipped).toEqual([]);
    const files = filesBelow(summary.runDir);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(leaks(readFileSync(f).toString('latin1'), values), f).toEqual([]);
    expect(leaks(JSON.stringify(events), values)).toEqual([]);
  });

  it('the opted-in tags do reach the run: config, and test subgroups by PhotometricInterpretation (10 MONOCHROME1 files)', () => {
    const s = JSON.parse(readFileSync(join(summary.runDir, 'summary.json'), 'utf8'));
    expect(s.config.data.dicomMeta).toEqual([...DICOM_META_TAGS]);
    const sub = JSON.parse(readFileSync(join(summary.runDir, 'metrics.json'), 'utf8')).test.subgroups;
    const text = JSON.stringify(sub);
    expect(text).toContain('PhotometricInterpretation');
    expect(text).toContain('MONOCHROME1');
    expect(text).toContain('MONOCHROME2');
  });

  it('medclass data audit --dicom-meta: counts per allowed tag, no identifier; an identifying tag is refused', async () => {
    const json = join(out, 'audit.json');
    const r = await runCli(['data', 'audit', CXR, '--dicom-meta', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Modality: DX ×40');
    expect(r.stdout).toContain('PhotometricInterpretation: MONOCHROME2 ×30, MONOCHROME1 ×10');
    const a = JSON.parse(readFileSync(json, 'utf8'));
    expect(Object.keys(a.meta)).toEqual([...DICOM_META_TAGS]);
    expect(a.meta.ViewPosition).toEqual({ AP: 40 });
    expect(leaks(r.stdout + r.stderr + readFileSync(json, 'utf8'), values)).toEqual([]);
    const bad = await runCli(['data', 'audit', CXR, '--dicom-meta', 'Modality,PatientID']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("MC_CLI_BAD_OPTION: --dicom-meta 'Modality,PatientID'");
    const badTrain = await runCli(['train', '--data', CXR, '--dicom-meta', 'PatientName', '--out', out]);
    expect([badTrain.code, badTrain.stderr.includes('MC_CLI_BAD_OPTION')]).toEqual([1, true]);
  }, 120_000);

  it('medclass eval --data re-reads the run\'s DICOM tags: subgroups by ViewPosition, predictions.csv with tag columns, no identifier', async () => {
    const r = await evaluateRunDir(summary.runDir, { data: CXR, subgroups: ['ViewPosition', 'PhotometricInterpretation'] });
    expect(JSON.stringify(r.metrics.subgroups)).toContain('"AP"');
    const csv = readFileSync(join(summary.runDir, 'predictions.csv'), 'utf8');
    expect(csv.split('\n')[0]).toContain('ViewPosition');
    for (const f of filesBelow(summary.runDir)) expect(leaks(readFileSync(f).toString('latin1'), values), f).toEqual([]);
  });

  it('meta is opt-in and limited to non-identifying tags', async () => {
    const src = openSource(CXR);
    expect(src.items.every((i) => i.meta === undefined)).toBe(true);
    expect(await withDicomMeta(src)).toBe(src);
    const m = await withDicomMeta(src, { tags: ['Modality', 'BodyPartExamined', 'ViewPosition'] });
    expect(m.items[0]!.meta).toEqual({ Modality: 'DX', BodyPartExamined: 'CHEST', ViewPosition: 'AP' });
    const all = await withDicomMeta(src, { tags: [...DICOM_META_TAGS] });
    expect(all.items.every((i) => Object.keys(i.meta ?? {}).join() === DICOM_META_TAGS.join())).toBe(true);
    expect(all.items[0]!.meta).toMatchObject({ Rows: 224, Columns: 224, BitsStored: 12, ImageLaterality: null });
    expect(leaks(JSON.stringify(m.items.map((i) => i.meta)), values)).toEqual([]);
    expect(DicomMetaOptions.safeParse({ tags: ['PatientName'] }).success).toBe(false);
  });
});
