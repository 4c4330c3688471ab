// Training from a PACS: the 40 chest X-rays uploaded to a real Orthanc, labelled by a CSV of SOP or Study Instance
// UIDs, fetched into a local cache (resumable) and trained on: the same metrics.json as the same files from the folder.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DicomWebClient, fetchDicomWebDataset, parseDicom } from '../../src/data/index.js';
import { runTraining } from '../../src/pipeline/index.js';
import { startOrthanc, type OrthancServer } from '../helpers/orthanc.js';

const CXR = new URL('../../../shared/data/dicom-samples/cxr-with-fictitious-phi/', import.meta.url).pathname.replace(/\/$/, '');
const FILES = ['NORMAL', 'PNEUMONIA'].flatMap((d) => readdirSync(join(CXR, d)).filter((f) => f.endsWith('.dcm')).map((f) => `${d}/${f}`)).sort();

describe('dicomweb fetch: a labelled dataset from Orthanc', () => {
  let orthanc: OrthancServer;
  let client: DicomWebClient;
  const work = mkdtempSync(join(tmpdir(), 'mc-dwfetch-'));
  const cache = join(work, 'pacs', basename(CXR)); // same folder name as the source, so metrics.json names it alike
  const csv = join(work, 'labels.csv');
  beforeAll(async () => {
    orthanc = await startOrthanc();
    client = new DicomWebClient({ url: orthanc.dicomWebUrl });
    const bytes = FILES.map((f) => new Uint8Array(readFileSync(join(CXR, f))));
    expect((await client.store(bytes)).failed).toEqual([]);
    // NORMAL rows by SOP Instance UID, PNEUMONIA rows by Study Instance UID (one instance per study here)
    const rows = FILES.map((f, i) => {
      const el = parseDicom(bytes[i]!, f, true).elements;
      const [label, name] = f.split('/') as [string, string];
      return label === 'NORMAL' ? `,${el.SOPInstanceUID},${label},${name}` : `${el.StudyInstanceUID},,${label},${name}`;
    });
    writeFileSync(csv, `study,sop,label,name\n${rows.join('\n')}\n`);
  }, 120_000);
  afterAll(async () => {
    await orthanc?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('caches the 40 instances byte for byte as <label>/<name>, and resumes', async () => {
    const s = await fetchDicomWebDataset(client, csv, cache);
    expect([s.rows, s.instances, s.fetched, s.cached, s.failed]).toEqual([40, 40, 40, 0, []]);
    for (const f of FILES) expect(readFileSync(join(cache, f)).equals(readFileSync(join(CXR, f))), f).toBe(true);
    rmSync(join(cache, FILES[3]!));
    const again = await fetchDicomWebDataset(client, csv, cache);
    expect([again.fetched, again.cached]).toEqual([1, 39]);
    const manifest = readFileSync(join(cache, 'manifest.csv'), 'utf8').trim().split('\n');
    expect(manifest).toHaveLength(41);
    expect(manifest.slice(1).every((l) => /^[A-Z]+\/cxr_\w+\.dcm,[A-Z]+,,[0-9a-f]{16}$/.test(l))).toBe(true);
    expect(manifest.join('\n')).not.toMatch(/MRN\d+/); // the group is a digest, not the PatientID
  });

  it('trains to the same metrics.json as the same files from the folder (same seed)', async () => {
    const train = (source: string, out: string) => runTraining({
      name: 'pacs', out, seed: 5, threads: 1, data: { source, preprocess: { size: 32, channels: 1 } }, fit: { epochs: 2, batchSize: 16 }, eval: { bootstrap: 20 },
    });
    const a = await train(CXR, join(work, 'runs-folder'));
    const b = await train(cache, join(work, 'runs-pacs'));
    const metrics = (d: string) => readFileSync(join(d, 'metrics.json'), 'utf8');
    expect(metrics(b.runDir)).toBe(metrics(a.runDir));
    expect(JSON.parse(metrics(a.runDir)).test).toBeDefined();
  });

  it('a CSV without a label column is refused', async () => {
    const bad = join(work, 'bad.csv');
    writeFileSync(bad, 'sop\n1.2.3\n');
    await expect(fetchDicomWebDataset(client, bad, join(work, 'x'))).rejects.toMatchObject({ code: 'MC_DATA_BAD_CSV' });
  });
});
