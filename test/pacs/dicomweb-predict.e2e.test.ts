// The PACS round trip on a real Orthanc (basic auth on): the 40 fictitious-PHI chest X-rays are uploaded by STOW-RS,
// `medclass dicomweb predict` (spawned CLI, credentials from the environment) stores one SR per instance, and the SRs,
// fetched through Orthanc's own REST API and parsed by dcmjs, are checked against `medclass predict` on the same files.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DicomWebClient, deidentifyDicom } from '../../src/data/index.js';
import { BIN } from '../helpers/cli.js';
import { startOrthanc, type OrthancServer } from '../helpers/orthanc.js';
import { trainTinyRun } from '../pipeline/predict-helpers.js';

const CXR = new URL('../../../shared/data/dicom-samples/cxr-with-fictitious-phi/', import.meta.url).pathname;
const FILES = ['NORMAL', 'PNEUMONIA'].flatMap((d) => readdirSync(join(CXR, d)).filter((f) => f.endsWith('.dcm')).map((f) => join(CXR, d, f))).sort();
const USER = 'medclass';
const PASSWORD = `pw-${randomBytes(9).toString('hex')}`;
const require = createRequire(import.meta.url);
const dcmjs = require('dcmjs');
dcmjs.log.setLevel('silent');

const naturalize = (b: Uint8Array) => {
  const d = dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(d.dict) as Record<string, any>;
};
const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MEDCLASS_DICOMWEB_'))) as Record<string, string>;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...base, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 }, (e, stdout, stderr) => {
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('dicomweb predict round trip on Orthanc', () => {
  let orthanc: OrthancServer;
  let runDir = '';
  let cleanup = () => {};
  const work = mkdtempSync(join(tmpdir(), 'mc-dicomweb-'));
  const state = join(work, 'state.json');
  const outputs: string[] = [];
  const creds = { MEDCLASS_DICOMWEB_USER: USER, MEDCLASS_DICOMWEB_PASSWORD: PASSWORD };
  const sopOf = new Map<string, string>(); // source SOP Instance UID → file
  beforeAll(async () => {
    [orthanc, { runDir, cleanup }] = await Promise.all([startOrthanc({ users: { [USER]: PASSWORD } }), trainTinyRun('dicomweb')]);
    for (const f of FILES) sopOf.set(naturalize(new Uint8Array(readFileSync(f))).SOPInstanceUID, f);
  }, 180_000);
  afterAll(async () => {
    await orthanc?.stop();
    cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  const orthancGet = async (path: string) => {
    const r = await fetch(`${orthanc.url}${path}`, { headers: { authorization: basic } });
    expect(r.status, path).toBe(200);
    return r;
  };
  const srs = async () => {
    const rows = await (await orthancGet('/dicom-web/instances?Modality=SR')).json() as Record<string, { Value: string[] }>[];
    return rows.map((r) => r['00080018']!.Value[0]!);
  };

  it('STOW-RS uploads the 40 files', async () => {
    expect(FILES).toHaveLength(40);
    const client = new DicomWebClient({ url: orthanc.dicomWebUrl, auth: { user: USER, password: PASSWORD } });
    const r = await client.store(FILES.map((f) => new Uint8Array(readFileSync(f))));
    expect(r.failed).toEqual([]);
    expect(new Set(r.stored)).toEqual(new Set(sopOf.keys()));
  });

  it('stores 40 SRs, each referencing its source and carrying the probabilities of medclass predict (1e-6)', async () => {
    const t0 = performance.now();
    const r = await cli(['dicomweb', 'predict', '--url', orthanc.dicomWebUrl, '--run', runDir, '--state', state, '--threads', '1', '--json'], creds);
    const wall = (performance.now() - t0) / 1000;
    outputs.push(r.stdout, r.stderr);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect([summary.found, summary.skipped, summary.stored.length, summary.failed.length]).toEqual([40, 0, 40, 0]);

    const predJson = join(work, 'predict.json');
    const p = await cli(['predict', '--run', runDir, '--threads', '1', '--json', predJson, ...FILES], {});
    expect(p.code, p.stderr).toBe(0);
    const ref = new Map((JSON.parse(readFileSync(predJson, 'utf8')).predictions as { file: string; probabilities: Record<string, number> }[]).map((x) => [x.file, x.probabilities]));

    const fingerprint = createHash('sha256').update(readFileSync(join(runDir, 'model.onnx'))).digest('hex');
    const uids = await srs();
    expect(uids).toHaveLength(40);
    let maxDiff = 0;
    const referenced = new Set<string>();
    for (const uid of uids) {
      const [{ ID }] = await (await fetch(`${orthanc.url}/tools/lookup`, { method: 'POST', headers: { authorization: basic }, body: uid })).json() as { ID: string }[];
      const bytes = new Uint8Array(await (await orthancGet(`/instances/${ID}/file`)).arrayBuffer());
      expect(Buffer.from(bytes).indexOf(PASSWORD)).toBe(-1);
      const sr = naturalize(bytes);
      expect(sr.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.88.33');
      const items = sr.ContentSequence as Record<string, any>[];
      const image = items.find((i) => i.ValueType === 'IMAGE')!;
      const src = image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID as string;
      const file = sopOf.get(src)!;
      expect(file, 'the SR references one of the uploaded instances').toBeDefined();
      referenced.add(src);
      expect(sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID).toBe(src);
      const source = naturalize(new Uint8Array(readFileSync(file)));
      expect([sr.StudyInstanceUID, sr.PatientID]).toEqual([source.StudyInstanceUID, source.PatientID]);
      const text = (meaning: string) => items.find((i) => i.ConceptNameCodeSequence[0].CodeMeaning === meaning)?.TextValue;
      expect(text('Comment')).toMatch(/research use only/i);
      expect(text('Run fingerprint (model.onnx SHA-256)')).toBe(fingerprint);
      expect(text('Algorithm Name')).toBe('dicomweb');
      const expected = ref.get(file)!;
      const best = Object.entries(expected).sort((a, b) => b[1] - a[1])[0]![0];
      expect([text('Finding'), text('Decision')]).toEqual([best, best]);
      const nums = items.filter((i) => i.ValueType === 'NUM');
      expect(nums).toHaveLength(Object.keys(expected).length);
      for (const n of nums) {
        const cls = (n.ConceptNameCodeSequence[0].CodeMeaning as string).replace(/^Probability of /, '');
        const mv = n.MeasuredValueSequence[0];
        maxDiff = Math.max(maxDiff, Math.abs(mv.FloatingPointValue - expected[cls]!), Math.abs(Number(mv.NumericValue) - expected[cls]!));
      }
    }
    expect(referenced.size).toBe(40);
    expect(maxDiff).toBeLessThanOrEqual(1e-6);
    process.stderr.write(`dicomweb predict: 40 SRs, max |Δp| ${maxDiff.toExponential(2)}, wall ${wall.toFixed(1)} s (CLI start, QIDO, 40 × WADO, predict, STOW)\n`);
  });

  it('a second run stores none', async () => {
    const r = await cli(['dicomweb', 'predict', '--url', orthanc.dicomWebUrl, '--run', runDir, '--state', state, '--threads', '1', '--json'], creds);
    outputs.push(r.stdout, r.stderr);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect([s.found, s.skipped, s.stored.length]).toEqual([40, 40, 0]);
    expect(await srs()).toHaveLength(40);
  });

  it('without or with wrong credentials: a clear MC_DATA_DICOMWEB_AUTH error, nothing stored', async () => {
    for (const env of [{}, { MEDCLASS_DICOMWEB_USER: USER, MEDCLASS_DICOMWEB_PASSWORD: 'wrong' }] as Record<string, string>[]) {
      const r = await cli(['dicomweb', 'predict', '--url', orthanc.dicomWebUrl, '--run', runDir, '--state', join(work, 'other-state.json')], env);
      outputs.push(r.stdout, r.stderr);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^MC_DATA_DICOMWEB_AUTH: QIDO-RS search at http:\/\/127\.0\.0\.1:\d+\/dicom-web: HTTP 401/m);
      expect(r.stderr).toMatch(/MEDCLASS_DICOMWEB_USER/);
    }
    expect(existsSync(join(work, 'other-state.json'))).toBe(false);
  });

  it('de-identified copies are accepted by STOW-RS and come back with the same pixels', async () => {
    const client = new DicomWebClient({ url: orthanc.dicomWebUrl, auth: { user: USER, password: PASSWORD } });
    const key = new Uint8Array(32).fill(42);
    const deid = FILES.map((f) => deidentifyDicom(new Uint8Array(readFileSync(f)), f, key));
    const r = await client.store(deid.map((d) => d.bytes));
    expect([r.stored.length, r.failed.length]).toEqual([40, 0]);
    const back = await client.retrieveInstance({ studyInstanceUid: deid[0]!.studyInstanceUid, seriesInstanceUid: naturalize(deid[0]!.bytes).SeriesInstanceUID, sopInstanceUid: deid[0]!.sopInstanceUid });
    expect(Buffer.from(naturalize(back).PixelData[0]).equals(Buffer.from(naturalize(new Uint8Array(readFileSync(FILES[0]!))).PixelData[0]))).toBe(true);
  });

  it('the password appears in no output, state file or run-directory file (nor in Orthanc\'s log)', () => {
    const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
    const texts = [...outputs, readFileSync(state, 'latin1'), ...files(runDir).map((f) => readFileSync(f, 'latin1')), orthanc.logs()];
    expect(texts.filter((t) => t.includes(PASSWORD))).toEqual([]);
    expect(readFileSync(state, 'utf8')).not.toMatch(/1\.2\.826\./); // hashed entries, no UIDs
  });
});
