import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomSource } from '../../src/data/index.js';
import { buildRunIndex, explainImages, findSimilar, predictImages } from '../../src/pipeline/index.js';
import { buildServer } from '../../src/serve/index.js';
import { CHROMIUM, PAGE_TIMEOUT, launchChromium, waitForLoadedImage, watchProblems } from '../helpers/browser.js';
import { BIN, runCli } from '../helpers/cli.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';
import { SERVE_SOURCE, listenLocal, trainServeRun, writePhantomPngs } from './serve-helpers.js';

const ERROR_KEYS = ['code', 'error', 'message', 'statusCode'];

/** The JSON of a reply, untyped (the shapes are what the tests check). */
const jsonOf = async (r: Response | Promise<Response>): Promise<any> => (await r).json();

const SCREENSHOT = join(tmpdir(), 'medclass-serve-web-app.png');

// One trained run (the costly part) serves both the REST API tests and the browser test.
describe('medclass serve on a trained phantom run', () => {
  let runDir = '';
  let cleanup = () => {};
  let imgDir = '';
  let files: string[] = [];
  let trainFile = '';
  let lesionPng = '';
  let app: FastifyInstance;
  let bare: FastifyInstance; // started before the index existed; small body limit; logging into `logLines`
  let url = '';
  let bareUrl = '';
  const logLines: string[] = [];

  const post = (base: string, path: string, body: string | Uint8Array, type = 'image/png') => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
  const json = (images: { name?: string; data: string }[]) => JSON.stringify({ images });

  beforeAll(async () => {
    ({ runDir, cleanup } = await trainServeRun('serve-api'));
    imgDir = mkdtempSync(join(tmpdir(), 'medclass-serve-img-'));
    const src = phantomSource(SERVE_SOURCE);
    const test = src.items.flatMap((it, i) => (it.split === 'test' ? [i] : [])).slice(0, 3);
    files = await writePhantomPngs(imgDir, test);
    [trainFile, lesionPng] = await writePhantomPngs(imgDir, [src.items.findIndex((it) => it.split === 'train'), src.items.findIndex((it) => it.split === 'test' && it.label === 'lesion')]);
    bare = buildServer(runDir, { threads: 1, bodyLimit: 4096, logger: true }, { stream: { write: (l: string) => logLines.push(l) } });
    bareUrl = await listenLocal(bare);
    await buildRunIndex(runDir, { threads: 1, bootstrap: 0, umap: { nEpochs: 50 } });
    app = buildServer(runDir, { threads: 1 });
    url = await listenLocal(app);
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await bare?.close();
    cleanup();
    if (imgDir) removeTempDir(imgDir);
  });


  describe('REST API over HTTP', () => {
    it('GET /api/health and /api/model describe the run: classes, input, temperature, test metrics with CIs', async () => {
      expect(await jsonOf(fetch(`${url}/api/health`))).toMatchObject({ status: 'ok', similar: true });
      const r = await fetch(`${url}/api/model`);
      expect(r.headers.get('cache-control')).toBe('no-store');
      const m = await jsonOf(r);
      const pre = JSON.parse(readFileSync(join(runDir, 'preprocess.json'), 'utf8'));
      const metrics = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8')).test;
      expect(m.classes).toEqual(pre.classes);
      expect(m.input).toEqual({ size: 32, channels: 1, fit: pre.fit, normalize: pre.normalize, dims: [1, 32, 32] });
      expect(m.calibration.temperature).toBe(JSON.parse(readFileSync(join(runDir, 'calibration.json'), 'utf8')).temperature);
      expect(m.conformal).toEqual({ method: 'lac', level: 0.9 });
      expect(m.disclaimer).toMatch(/not a diagnostic device/);
      const acc = m.metrics.rows.find((row: { key: string }) => row.key === 'accuracy');
      expect(acc.value).toBe(metrics.accuracy);
      expect(acc.ci).toEqual(metrics.ci.intervals.accuracy);
      expect(acc.ci[0]).toBeLessThanOrEqual(acc.value);
      expect(acc.ci[1]).toBeGreaterThanOrEqual(acc.value);
      expect(m.metrics.n).toBe(metrics.n_test);
      expect(m.similar.available).toBe(true);
      expect(JSON.stringify(m)).not.toContain(tmpdir()); // no paths
    });

    it('POST /api/predict with raw PNG bytes equals predictImages on the same file', async () => {
      const [want] = await predictImages(runDir, [files[0]!], { threads: 1 });
      if (want!.error) throw new Error('reference prediction failed');
      const r = await post(url, '/api/predict', readFileSync(files[0]!));
      expect(r.status).toBe(200);
      const { disclaimer, results } = await jsonOf(r);
      expect(disclaimer).toMatch(/not a diagnostic device/);
      expect(results).toEqual([{
        index: 0, label: want!.label, probability: want!.probabilities[want!.label], probabilities: want!.probabilities,
        calibrated: true, conformalSet: want!.conformalSet, conformalLevel: want!.conformalLevel,
      }]);
    });

    it('a JSON batch answers in order, echoes names, and reports a bad image per item', async () => {
      const want = await predictImages(runDir, files, { threads: 1 });
      const images = files.map((f, i) => ({ name: `case ${i}.png`, data: readFileSync(f).toString('base64') }));
      images.splice(1, 0, { name: 'broken.png', data: Buffer.from('not an image').toString('base64') });
      images[2]!.data = `data:image/png;base64,${images[2]!.data}`;
      const r = await post(url, '/api/predict', json(images), 'application/json');
      expect(r.status).toBe(200);
      const { results } = await jsonOf(r);
      expect(results.map((x: { name: string }) => x.name)).toEqual(images.map((im) => im.name));
      expect(results[1]).toMatchObject({ index: 1, error: { code: 'MC_DATA_NOT_AN_IMAGE' } });
      expect(results[1].error.message).not.toContain('broken'); // the server names uploads "image #i"
      [0, 2, 3].forEach((i, j) => expect(results[i].probabilities).toEqual((want[j] as { probabilities: unknown }).probabilities));
    });

    it('bad input answers {statusCode, code, error, message}: 400 bad image, 400 schema, 413, 415, 404', async () => {
      const cases: [Promise<Response>, number, string][] = [
        [post(url, '/api/predict', 'definitely not a PNG'), 400, 'MC_SERVE_BAD_IMAGE'],
        [post(url, '/api/predict', new Uint8Array(0), 'application/octet-stream'), 400, 'MC_SERVE_BAD_IMAGE'],
        [post(url, '/api/predict?calibrate=no', readFileSync(files[0]!)), 400, 'MC_SERVE_BAD_REQUEST'],
        [post(url, '/api/predict', json([]), 'application/json'), 400, 'MC_SERVE_BAD_REQUEST'],
        [post(url, '/api/predict', json([{ data: '%%%' }]), 'application/json'), 400, 'MC_SERVE_BAD_REQUEST'],
        [post(url, '/api/predict', '{"images": [', 'application/json'), 400, 'MC_SERVE_BAD_REQUEST'],
        [post(url, '/api/explain?class=fracture', readFileSync(files[0]!)), 400, 'MC_EXPLAIN_BAD_TARGET'],
        [post(bareUrl, '/api/predict', new Uint8Array(8192)), 413, 'MC_SERVE_TOO_LARGE'],
        [post(url, '/api/predict', 'hello', 'text/plain'), 415, 'MC_SERVE_UNSUPPORTED_MEDIA_TYPE'],
        [fetch(`${url}/api/nothing-here?x=1`), 404, 'MC_SERVE_NOT_FOUND'],
        [fetch(`${url}/api/predict`), 404, 'MC_SERVE_NOT_FOUND'],
        [fetch(`${url}/report`), 404, 'MC_SERVE_NO_REPORT'],
      ];
      for (const [p, status, code] of cases) {
        const r = await p;
        const body = await jsonOf(r);
        expect([r.status, body.code], JSON.stringify(body)).toEqual([status, code]);
        expect(Object.keys(body).sort()).toEqual(ERROR_KEYS);
        expect(body.statusCode).toBe(status);
        expect(r.headers.get('content-type')).toMatch(/^application\/json/);
        expect(JSON.stringify(body)).not.toMatch(/\bat .*\.ts:\d+|medclass-serve-/); // no stack, no path
      }
    });

    it('POST /api/explain returns the same overlay PNG and label as explainImages', async () => {
      const outDir = join(imgDir, 'explain');
      const [want] = await explainImages(runDir, [files[0]!], { out: outDir, threads: 1 });
      if (want!.error) throw new Error('reference explanation failed');
      const r = await post(url, '/api/explain', readFileSync(files[0]!));
      expect(r.status).toBe(200);
      const [got] = (await jsonOf(r)).results;
      expect(got).toMatchObject({ index: 0, label: want!.label, explained: want!.explained, peak: want!.peak });
      expect(got.probability).toBeCloseTo(want!.probability, 12);
      expect(got.overlay.startsWith('data:image/png;base64,')).toBe(true);
      const png = Buffer.from(got.overlay.slice('data:image/png;base64,'.length), 'base64');
      expect(png.equals(readFileSync(want!.png!))).toBe(true);
      expect((await sharp(png).metadata()).format).toBe('png');
      const other = want!.explained === 'lesion' ? 'normal' : 'lesion';
      const [forced] = (await jsonOf(post(url, `/api/explain?class=${other}`, readFileSync(files[0]!)))).results;
      expect(forced.explained).toBe(other);
    });

    it('POST /api/similar equals findSimilar; a training case finds itself; no case ids by default', async () => {
      const want = await findSimilar(runDir, [files[0]!, trainFile], { k: 3, threads: 1 });
      const images = [files[0]!, trainFile].map((f) => ({ data: readFileSync(f).toString('base64') }));
      const r = await post(url, '/api/similar?k=3', json(images), 'application/json');
      expect(r.status).toBe(200);
      const { results } = await jsonOf(r);
      results.forEach((got: { label: string; similar: { rank: number; label: string; similarity: number; id?: string }[] }, i: number) => {
        const w = want[i]!;
        if (w.error) throw new Error('reference look-up failed');
        expect(got.label).toBe(w.label);
        expect(got.similar).toEqual(w.similar.map((c, rank) => ({ rank: rank + 1, label: c.label, similarity: c.similarity })));
      });
      expect(results[1].similar[0].similarity).toBeGreaterThan(0.9999);
      expect((await jsonOf(post(url, '/api/similar?k=101', readFileSync(files[0]!)))).code).toBe('MC_SERVE_BAD_REQUEST');
    });

    it('without an index, /api/similar is 409 MC_SERVE_NO_INDEX telling to run medclass index; predict still works', async () => {
      const r = await post(bareUrl, '/api/similar', readFileSync(files[0]!));
      const body = await jsonOf(r);
      expect([r.status, body.code]).toEqual([409, 'MC_SERVE_NO_INDEX']);
      expect(body.message).toMatch(/medclass index --run/);
      expect((await jsonOf(fetch(`${bareUrl}/api/model`))).similar).toMatchObject({ available: false });
      expect((await post(bareUrl, '/api/predict', readFileSync(files[0]!))).status).toBe(200);
    });

    it('GET /report serves report.html once it exists; GET / is the web app with its banner and CSP', async () => {
      writeFileSync(join(runDir, 'report.html'), '<!doctype html><title>report</title><p>metrics</p>');
      const r = await fetch(`${url}/report`);
      expect([r.status, r.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
      expect(await r.text()).toContain('<p>metrics</p>');
      const page = await fetch(`${url}/`);
      const html = await page.text();
      expect(html).toContain('Research software, not a diagnostic device');
      expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/); // self-contained
      expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'sha256-/);
    });

    it('the request log names routes and statuses, never file names, image bytes or the run path', async () => {
      const data = readFileSync(files[0]!).toString('base64');
      await post(bareUrl, '/api/predict', json([{ name: 'patient-jane-doe.png', data }]), 'application/json');
      await post(bareUrl, '/api/predict?secret=jane', readFileSync(files[0]!));
      const log = logLines.join('');
      expect(log).toContain('"route":"/api/predict"');
      expect(log).toContain('"statusCode":200');
      for (const bad of ['jane', data.slice(0, 24), runDir, 'case-']) expect(log).not.toContain(bad);
    });
  });


  describe('medclass serve (spawned)', () => {
    it('listens, answers, and on SIGTERM closes and exits 0', async () => {
      const child = spawn(process.execPath, [BIN, 'serve', '--run', runDir, '--port', '0', '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        await expect.poll(() => /http:\/\/127\.0\.0\.1:\d+/.exec(stdout)?.[0], { timeout: 60_000, interval: 100 }).toBeTruthy();
        const base = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout)![0];
        expect(await jsonOf(fetch(`${base}/api/health`))).toMatchObject({ status: 'ok', similar: true });
        const [p] = (await jsonOf(post(base, '/api/predict', readFileSync(files[0]!)))).results;
        expect(p.label).toMatch(/^(normal|lesion)$/);
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited, stderr).toBe(0);
      expect(stdout).toContain('medclass serve: stopped');
      expect(stdout).toMatch(/not a diagnostic device/);
    });

    it('a folder that is not a run directory exits 1 with MC_TRAIN_BAD_RUN_DIR', async () => {
      const r = await runCli(['serve', '--run', imgDir, '--port', '0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^MC_TRAIN_BAD_RUN_DIR: preprocess.json is missing/m);
    });
  });

  describe(`web app in ${CHROMIUM} (fails, never skips, when that browser is missing)`, () => {
    let browser: Browser;
    beforeAll(async () => { browser = await launchChromium(); }, 60_000);
    afterAll(async () => { await browser?.close(); });

    it('an uploaded PNG shows the prediction, probability bars, the Grad-CAM overlay and similar cases under the banner', async () => {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
      const problems = watchProblems(page);
      await page.goto(`${url}/`);
      await expect.poll(() => page.textContent('#model-classes'), { timeout: PAGE_TIMEOUT }).toBe('normal, lesion');
      await expect.poll(() => page.locator('#metrics-body tr').count(), { timeout: PAGE_TIMEOUT }).toBeGreaterThan(5);

      await page.setInputFiles('#file', lesionPng);
      const [want] = await predictImages(runDir, [lesionPng], { threads: 1 });
      if (want!.error) throw new Error('reference prediction failed');
      const expected = `${want!.label} — ${(100 * want!.probabilities[want!.label]!).toFixed(1)} %`;
      await page.locator('#prediction').filter({ hasText: expected }).waitFor({ timeout: PAGE_TIMEOUT });
      expect(await page.textContent('#prediction')).toBe(expected);
      await waitForLoadedImage(page, '#overlay');
      await page.waitForSelector('#similar-table:not([hidden]) tbody tr', { timeout: PAGE_TIMEOUT });

      expect(await page.locator('.bar-row').count()).toBe(2);
      expect(await page.getAttribute('#overlay', 'src')).toMatch(/^data:image\/png;base64,/);
      expect(await page.locator('#similar-body tr').count()).toBe(5);
      const banner = page.locator('#disclaimer');
      expect(await banner.isVisible()).toBe(true);
      expect(await banner.textContent()).toContain('Research software, not a diagnostic device');
      expect(await page.textContent('#conformal')).toMatch(/^Calibrated probabilities .* 90 % conformal set: (\{|empty)/);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      const other = want!.label === 'lesion' ? 'normal' : 'lesion';
      const before = await page.getAttribute('#overlay', 'src');
      await page.selectOption('#explain-class', other);
      await page.locator('#overlay-note').filter({ hasText: `class ${other} ` }).waitFor({ timeout: PAGE_TIMEOUT });
      expect(await page.getAttribute('#overlay', 'src')).not.toBe(before);
      expect(problems).toEqual([]); // no CSP violation, no script error
    });

    it('a file that is not an image shows the coded error instead of a prediction', async () => {
      const page = await browser.newPage();
      await page.goto(`${url}/`);
      await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
      await page.waitForSelector('#predict-error:not([hidden])', { timeout: PAGE_TIMEOUT });
      expect(await page.textContent('#predict-error')).toMatch(/^MC_SERVE_BAD_IMAGE: MC_DATA_NOT_AN_IMAGE/);
      expect(await page.textContent('#prediction')).toBe('');
    });
  });
});
