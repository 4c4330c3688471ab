// `dicomweb predict --grad-cam` on a real Orthanc: beside each SR, a Secondary Capture whose RGB pixels are the
// overlay `medclass explain` writes as PNG for the same file (decoded here by sharp), referencing the source.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DicomWebClient } from '../../src/data/index.js';
import { dicomwebPredict } from '../../src/pacs/index.js';
import { explainImages } from '../../src/pipeline/index.js';
import { startOrthanc, type OrthancServer } from '../helpers/orthanc.js';
import { trainTinyRun } from '../pipeline/predict-helpers.js';

const CXR = new URL('../../../shared/data/dicom-samples/cxr-with-fictitious-phi/', import.meta.url).pathname;
const FILES = [`${CXR}NORMAL/cxr_normal_06.dcm`, `${CXR}PNEUMONIA/cxr_pneumonia_06.dcm`];
const require = createRequire(import.meta.url);
const dcmjs = require('dcmjs');
dcmjs.log.setLevel('silent');
const naturalize = (b: Uint8Array) => dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)).dict);

describe('dicomweb predict --grad-cam', () => {
  let orthanc: OrthancServer;
  let runDir = '';
  let cleanup = () => {};
  const work = mkdtempSync(join(tmpdir(), 'mc-dwcam-'));
  beforeAll(async () => {
    [orthanc, { runDir, cleanup }] = await Promise.all([startOrthanc(), trainTinyRun('gradcam')]);
  }, 180_000);
  afterAll(async () => {
    await orthanc?.stop();
    cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('stores an SR and a Grad-CAM Secondary Capture per instance, the SC pixels equal to the explain overlay', async () => {
    const client = new DicomWebClient({ url: orthanc.dicomWebUrl });
    await client.store(FILES.map((f) => new Uint8Array(readFileSync(f))));
    const s = await dicomwebPredict(client, runDir, join(work, 'state.json'), { threads: 1, gradCam: true });
    expect(s.failed).toEqual([]);
    expect(s.stored).toHaveLength(2);
    const overlays = await explainImages(runDir, FILES, { out: join(work, 'explain'), threads: 1 });
    for (const [i, f] of FILES.entries()) {
      const src = naturalize(new Uint8Array(readFileSync(f)));
      const r = s.stored.find((x) => x.sopInstanceUid === src.SOPInstanceUID)!;
      expect(r.scInstanceUid).toMatch(/^2\.25\.\d+$/);
      const [{ ID }] = await (await fetch(`${orthanc.url}/tools/lookup`, { method: 'POST', body: r.scInstanceUid })).json() as { ID: string }[];
      const sc = naturalize(new Uint8Array(await (await fetch(`${orthanc.url}/instances/${ID}/file`)).arrayBuffer()));
      expect([sc.SOPClassUID, sc.StudyInstanceUID, sc.PhotometricInterpretation, sc.SamplesPerPixel, sc.BurnedInAnnotation]).toEqual(['1.2.840.10008.5.1.4.1.1.7', src.StudyInstanceUID, 'RGB', 3, 'NO']);
      expect(sc.SourceImageSequence[0].ReferencedSOPInstanceUID).toBe(src.SOPInstanceUID);
      const o = overlays[i]!;
      if (o.error) throw new Error(o.error.message);
      const { data, info } = await sharp(readFileSync(o.png!)).raw().toBuffer({ resolveWithObject: true });
      expect([sc.Rows, sc.Columns]).toEqual([info.height, info.width]);
      const rgb = Buffer.alloc(info.width * info.height * 3);
      for (let p = 0; p < info.width * info.height; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = data[p * info.channels + c]!;
      expect(Buffer.from(sc.PixelData[0]).subarray(0, rgb.length).equals(rgb)).toBe(true);
    }
  });
});
