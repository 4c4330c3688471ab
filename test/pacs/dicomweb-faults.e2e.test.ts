// Faults between medclass and a real Orthanc, injected by a small HTTP proxy on 127.0.0.1: one WADO-RS reply is a
// 500, one never comes (client timeout), one is a multipart whose only part is not DICOM, and one instance (an RT
// plan) has no pixel data. Each is reported per instance with its code; the other instances are stored.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DicomWebClient, buildMultipart, parseDicom } from '../../src/data/index.js';
import { dicomwebPredict } from '../../src/pacs/index.js';
import { startOrthanc, type OrthancServer } from '../helpers/orthanc.js';
import { trainTinyRun } from '../pipeline/predict-helpers.js';

const SAMPLES = new URL('../../../shared/data/dicom-samples/', import.meta.url).pathname;
const CXR = ['NORMAL/cxr_normal_01.dcm', 'NORMAL/cxr_normal_02.dcm', 'NORMAL/cxr_normal_03.dcm', 'PNEUMONIA/cxr_pneumonia_01.dcm', 'PNEUMONIA/cxr_pneumonia_02.dcm', 'PNEUMONIA/cxr_pneumonia_03.dcm']
  .map((f) => `${SAMPLES}cxr-with-fictitious-phi/${f}`);
const RTPLAN = `${SAMPLES}pydicom-test-files/rtplan.dcm`;

type Fault = '500' | 'hang' | 'not-dicom';

describe('dicomweb predict under faults', () => {
  let orthanc: OrthancServer;
  let proxy: Server;
  let proxyUrl = '';
  let runDir = '';
  let cleanup = () => {};
  const faults = new Map<string, Fault>(); // SOP Instance UID → fault on its WADO-RS retrieve
  const work = mkdtempSync(join(tmpdir(), 'mc-dwfault-'));
  const sops: string[] = [];

  beforeAll(async () => {
    [orthanc, { runDir, cleanup }] = await Promise.all([startOrthanc(), trainTinyRun('faults')]);
    const target = new URL(orthanc.url);
    proxy = createServer((req, res) => {
      const sop = /\/instances\/([0-9.]+)$/.exec(req.url ?? '')?.[1];
      const fault = sop ? faults.get(sop) : undefined;
      if (fault === '500') { res.writeHead(500).end('boom'); return; }
      if (fault === 'hang') return; // never answers; the client times out
      if (fault === 'not-dicom') {
        const m = buildMultipart([new Uint8Array(Buffer.from('this is not DICOM'))], 'text/plain');
        res.writeHead(200, { 'content-type': m.contentType }).end(Buffer.from(m.body));
        return;
      }
      const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const a = proxy.address();
    proxyUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/dicom-web`;
    const client = new DicomWebClient({ url: orthanc.dicomWebUrl });
    const files = [...CXR, RTPLAN].map((f) => new Uint8Array(readFileSync(f)));
    sops.push(...files.map((b, i) => String(parseDicom(b, `file ${i}`, true).elements.SOPInstanceUID)));
    const stored = await client.store(files);
    expect([stored.failed, new Set(stored.stored)]).toEqual([[], new Set(sops)]);
  }, 180_000);
  afterAll(async () => {
    proxy?.closeAllConnections();
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    await orthanc?.stop();
    cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('reports a 500, a timeout, a non-DICOM part and an instance without pixels per instance; the others are stored', async () => {
    faults.set(sops[0]!, '500').set(sops[1]!, 'hang').set(sops[2]!, 'not-dicom');
    const client = new DicomWebClient({ url: proxyUrl, timeoutMs: 1500 });
    const s = await dicomwebPredict(client, runDir, join(work, 'state.json'), { threads: 1, batchSize: 4 });
    expect(s.found).toBe(7);
    expect(s.stored.map((x) => x.sopInstanceUid).sort()).toEqual(sops.slice(3, 6).sort());
    const bySop = new Map(s.failed.map((f) => [f.sopInstanceUid, f]));
    expect(bySop.get(sops[0]!)).toMatchObject({ code: 'MC_DATA_DICOMWEB_HTTP', message: expect.stringMatching(/HTTP 500/) });
    expect(bySop.get(sops[1]!)).toMatchObject({ code: 'MC_DATA_DICOMWEB_HTTP', message: expect.stringMatching(/no reply within 1500 ms/) });
    expect(bySop.get(sops[2]!)).toMatchObject({ code: 'MC_DATA_DICOMWEB_BAD_REPLY' });
    expect(bySop.get(sops[6]!)).toMatchObject({ code: 'MC_DATA_DICOM_NO_IMAGE' });
    for (const f of s.failed) expect(f.message, 'messages carry no UIDs').not.toMatch(/\d+\.\d+\.\d+\.\d+\.\d+/);
  });

  it('once the faults are gone, the next run stores the three that failed in transit and skips the rest', async () => {
    faults.clear();
    const s = await dicomwebPredict(new DicomWebClient({ url: proxyUrl, timeoutMs: 5000 }), runDir, join(work, 'state.json'), { threads: 1 });
    expect([s.found, s.skipped]).toEqual([7, 3]);
    expect(s.stored.map((x) => x.sopInstanceUid).sort()).toEqual(sops.slice(0, 3).sort());
    expect(s.failed.map((f) => f.code)).toEqual(['MC_DATA_DICOM_NO_IMAGE']);
  });
});
