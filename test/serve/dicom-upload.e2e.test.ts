// DICOM uploads through medclass serve (/api/predict over HTTP on 127.0.0.1) against `medclass predict` (spawned) on
// the same files from ../shared. (That the DICOM pixels are right is test/data/dicom.data.test.ts's job, against the
// source JPEGs and pydicom's files; here the two entry points must agree to the last bit.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/serve/index.js';
import { runCli } from '../helpers/cli.js';
import { listenLocal, trainServeRun } from './serve-helpers.js';

const DATA = new URL('../../../shared/data/', import.meta.url).pathname;
const CXR = `${DATA}dicom-samples/cxr-with-fictitious-phi/`;
const PYD = `${DATA}dicom-samples/pydicom-test-files/`;

/** One file per chest X-ray variant (manifest.csv): MONOCHROME2, MONOCHROME1 stored inverted, rescaled + VOI window. */
const CXR_FILES = ['NORMAL/cxr_normal_00.dcm', 'NORMAL/cxr_normal_02.dcm', 'NORMAL/cxr_normal_03.dcm'];
/** pydicom's test files in other encodings: CT 16-bit signed with rescale, MR in JPEG 2000 lossless, RGB RLE. */
const PYD_FILES = ['CT_small.dcm', 'MR_small_jp2klossless.dcm', 'SC_rgb_rle.dcm'];
/** The fictitious identifiers in the chest X-ray files: a reply must carry none of them. */
const PHI = /DOE\^JANE|SMITH\^ALEX|GARCIA\^MARIA|HOUSE\^GREGORY|MRN\d{6}|ACC70\d\d|Fictional General Hospital/;

type Probabilities = Record<string, number>;

describe('DICOM through medclass serve and medclass predict', () => {
  let runDir = '';
  let cleanup = () => {};
  let app: FastifyInstance;
  let url = '';
  const files = [...CXR_FILES.map((p) => `${CXR}${p}`), ...PYD_FILES.map((f) => `${PYD}${f}`)];
  const cli = new Map<string, Probabilities>();

  beforeAll(async () => {
    let out: string;
    ({ runDir, out, cleanup } = await trainServeRun('serve-dicom'));
    app = buildServer(runDir, { threads: 1 });
    url = await listenLocal(app);
    const json = join(out, 'predict.json'); // a file after --json: without one, --json would take the first image as its file
    const r = await runCli(['predict', '--run', runDir, '--threads', '1', '--json', json, ...files]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const p of JSON.parse(readFileSync(json, 'utf8')).predictions as { file: string; probabilities: Probabilities }[]) cli.set(p.file, p.probabilities);
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    cleanup();
  });

  const postRaw = (bytes: Buffer, type = 'application/octet-stream') => fetch(`${url}/api/predict`, { method: 'POST', headers: { 'content-type': type }, body: bytes });

  it('a raw DICOM body answers the probabilities medclass predict prints for the same file, for every encoding', async () => {
    expect(cli.size).toBe(files.length);
    // the phantom model is far from sure on these images, but its small probabilities tell every file apart
    expect(new Set(files.map((f) => cli.get(f)!.normal)).size).toBe(files.length);
    for (const f of files) {
      const r = await postRaw(readFileSync(f));
      const text = await r.text();
      expect(r.status, `${f}: ${text}`).toBe(200);
      expect(text).not.toMatch(PHI);
      const [got] = JSON.parse(text).results as { probabilities: Probabilities }[];
      expect(got!.probabilities, f).toEqual(cli.get(f));
    }
  });

  it('a body sent as application/dicom (the DICOM media type) is read like octet-stream', async () => {
    const f = files[0]!;
    const r = await postRaw(readFileSync(f), 'application/dicom');
    const text = await r.text();
    expect(r.status, text).toBe(200);
    expect((JSON.parse(text).results as { probabilities: Probabilities }[])[0]!.probabilities).toEqual(cli.get(f));
  });

  it('a JSON batch of DICOMs answers per item; a DICOM without an image is that item\'s MC_DATA_DICOM_NO_IMAGE', async () => {
    const batch = [`${CXR}${CXR_FILES[1]}`, `${PYD}rtplan.dcm`, `${PYD}CT_small.dcm`];
    const images = batch.map((f, i) => ({ name: `study ${i}.dcm`, data: readFileSync(f).toString('base64') }));
    const r = await fetch(`${url}/api/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images }) });
    const text = await r.text();
    expect(r.status, text).toBe(200);
    expect(text).not.toMatch(PHI);
    const { results } = JSON.parse(text);
    expect(results.map((x: { name: string }) => x.name)).toEqual(images.map((im) => im.name));
    expect(results[0].probabilities).toEqual(cli.get(batch[0]!));
    expect(results[1]).toMatchObject({ index: 1, error: { code: 'MC_DATA_DICOM_NO_IMAGE' } });
    expect(results[2].probabilities).toEqual(cli.get(batch[2]!));
    const alone = await postRaw(readFileSync(`${PYD}rtplan.dcm`));
    expect([alone.status, ((await alone.json()) as { code: string }).code]).toEqual([400, 'MC_SERVE_BAD_IMAGE']);
  });
});
