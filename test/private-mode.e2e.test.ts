// serve --private in Chromium: the page classifies and explains with onnxruntime-web; no request carries the image.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preprocessImage } from '../src/data/index.js';
import { GradCam } from '../src/explain/index.js';
import { buildRunIndex, findSimilar, predictImages } from '../src/pipeline/index.js';
import { buildServer } from '../src/serve/index.js';
import { expectAllClose } from './helpers/all-close.js';
import { PAGE_TIMEOUT, launchChromium, watchProblems } from './helpers/browser.js';
import { removeTempDir } from './pipeline/predict-helpers.js';
import { listenLocal, trainServeRun, writePhantomPngs } from './serve/serve-helpers.js';

interface Sent { method: string; url: string; bodyBytes: number }
interface PrivateState {
  timing: { start: number; modelReady?: number; firstPrediction?: number };
  last?: { done?: boolean; error?: string; file?: string; x: number[]; probabilities: number[]; cam: number[]; explained: number; predictMs: number;
    decision?: { label: string; positive: boolean; threshold: number | null }; conformalSet?: string[]; similar: { label: string; similarity: number }[] | null };
  initError?: string;
}
interface PageGlobals { medclassPrivate?: PrivateState }

let run: { runDir: string; out: string; cleanup: () => void };
let images: string[];
let app: FastifyInstance;
let base: string;
let browser: Browser;

beforeAll(async () => {
  run = await trainServeRun('private');
  await buildRunIndex(run.runDir, { threads: 1, bootstrap: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'medclass-private-'));
  images = await writePhantomPngs(dir, [3, 8]);
  app = buildServer(run.runDir, { private: true, threads: 1, operatingPoint: 'youden' });
  base = await listenLocal(app);
  browser = await launchChromium();
  return () => removeTempDir(dir);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  run?.cleanup();
});

/** Opens the page with a request log, chooses `file` and returns what the page computed. */
async function analyseInPage(page: Page, file: string, sent: Sent[]): Promise<PrivateState> {
  page.on('request', (r) => sent.push({ method: r.method(), url: r.url(), bodyBytes: r.postDataBuffer()?.length ?? 0 }));
  const t0 = Date.now();
  await page.goto(base);
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).medclassPrivate?.timing.modelReady !== undefined
    || (globalThis as unknown as PageGlobals).medclassPrivate?.initError !== undefined, undefined, { timeout: PAGE_TIMEOUT });
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).medclassPrivate?.last?.done === true, undefined, { timeout: PAGE_TIMEOUT });
  const state = await page.evaluate(() => (globalThis as unknown as PageGlobals).medclassPrivate!);
  if (state.initError || state.last?.error) throw new Error(`the page failed: ${state.initError ?? state.last?.error}`);
  process.stderr.write(`private mode: page open → model ready ${state.timing.modelReady!.toFixed(0)} ms, first prediction ${state.timing.firstPrediction!.toFixed(0)} ms after navigation (${state.last!.predictMs.toFixed(0)} ms for the image itself; ${Date.now() - t0} ms wall in the test)\n`);
  return state;
}

describe('serve --private in Chromium', () => {
  it('predicts, explains and finds similar cases in the page, equal to the server-side pipeline, uploading nothing', async () => {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    const sent: Sent[] = [];
    const state = await analyseInPage(page, images[0]!, sent);
    expect(state.initError).toBeUndefined();
    expect(state.last!.error).toBeUndefined();

    // the network log: only GETs of this origin's static files, no body, nothing else
    expect(sent.length).toBeGreaterThan(3);
    for (const r of sent) {
      expect(r.method, r.url).toBe('GET');
      expect(r.bodyBytes, r.url).toBe(0);
      expect(r.url.startsWith(base), r.url).toBe(true);
      expect(new URL(r.url).pathname).toMatch(/^\/(|private\.js|ort\/[\w.-]+|model\/(manifest\.json|model\.onnx|cam\.onnx|similar\.f32))$/);
    }
    expect(sent.some((r) => r.url.endsWith('/model/cam.onnx'))).toBe(true);

    // preprocessing in the browser = preprocessImage on the server
    const bytes = new Uint8Array(readFileSync(images[0]!));
    const x = await preprocessImage(bytes, { size: 32, channels: 1 }, 'case');
    expectAllClose(Float64Array.from(state.last!.x), Float64Array.from(x.data), { rtol: 0, atol: 1e-7, label: 'preprocessed input' });

    // probabilities = medclass predict (calibrated), decision at the same operating point
    const [p] = await predictImages(run.runDir, [images[0]!], { threads: 1, operatingPoint: 'youden' });
    if (!p || p.error) throw new Error('predict failed');
    expectAllClose(Float64Array.from(state.last!.probabilities), Float64Array.from(Object.values(p.probabilities)), { rtol: 0, atol: 1e-4, label: 'probabilities' });
    expect(state.last!.decision?.label).toBe(p.decision!.label);
    expect(p.conformalSet).toBeDefined();
    expect(state.last!.conformalSet).toEqual(p.conformalSet);

    // Grad-CAM = the server's GradCam (engine gradients, onnxruntime-node), to 1e-3
    const gc = await GradCam.create(new Uint8Array(readFileSync(join(run.runDir, 'model.onnx'))), { threads: 1 });
    try {
      const [r] = await gc.explain(x.data, 1);
      expect(state.last!.explained).toBe(r!.classIndex);
      expectAllClose(Float64Array.from(state.last!.cam), Float64Array.from(r!.cam.data), { rtol: 0, atol: 1e-3, label: 'Grad-CAM map' });
      process.stderr.write(`private mode: max |Δ| Grad-CAM ${state.last!.cam.reduce((m, v, i) => Math.max(m, Math.abs(v - r!.cam.data[i]!)), 0).toExponential(2)}\n`);
    } finally {
      await gc.dispose();
    }

    // similar cases from the index's embeddings = medclass similar
    const [s] = await findSimilar(run.runDir, [images[0]!], { k: 5, threads: 1 });
    if (!s || s.error) throw new Error('similar failed');
    expect(state.last!.similar!.map((c) => c.label)).toEqual(s.similar.map((c) => c.label));
    expectAllClose(Float64Array.from(state.last!.similar!.map((c) => c.similarity)), Float64Array.from(s.similar.map((c) => c.similarity)), { rtol: 0, atol: 1e-4, label: 'similarities' });

    const maxDiff = (a: readonly number[], b: ArrayLike<number>) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    process.stderr.write(`private mode: max |Δ| probabilities ${maxDiff(state.last!.probabilities, Object.values(p.probabilities)).toExponential(2)}, input ${maxDiff(state.last!.x, x.data).toExponential(2)}\n`);
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);

  it('resizes like preprocessImage: area averaging when shrinking, bilinear when enlarging, RGB to grey by luma', async () => {
    const page = await browser.newPage();
    const sent: Sent[] = [];
    await analyseInPage(page, images[0]!, sent);
    const src = readFileSync(images[1]!);
    const variants = {
      'shrink-77x45.png': await sharp(src).resize(77, 45, { kernel: 'nearest' }).png().toBuffer(),
      'enlarge-20x27.png': await sharp(src).resize(20, 27).png().toBuffer(),
      'rgb-50x50.png': await sharp(src).resize(50, 50).tint({ r: 200, g: 120, b: 60 }).png().toBuffer(),
    };
    for (const [name, buffer] of Object.entries(variants)) {
      await page.setInputFiles('#file', { name, mimeType: 'image/png', buffer });
      await page.waitForFunction((n: string) => {
        const s = (globalThis as unknown as PageGlobals & { medclassPrivate?: { last?: { file?: string } } }).medclassPrivate;
        return s?.last?.done === true && s.last.file === n;
      }, name, { timeout: PAGE_TIMEOUT });
      const last = (await page.evaluate(() => (globalThis as unknown as PageGlobals).medclassPrivate!.last!));
      const x = await preprocessImage(new Uint8Array(buffer), { size: 32, channels: 1 }, name);
      expectAllClose(Float64Array.from(last.x), Float64Array.from(x.data), { rtol: 0, atol: 1e-6, label: `preprocessed ${name}` });
    }
    expect(sent.every((r) => r.method === 'GET' && r.bodyBytes === 0)).toBe(true);
    await page.close();
  }, 180_000);

  it('has no route that accepts an image, and ships onnxruntime-web itself under a CSP without string eval', async () => {
    const post = await fetch(`${base}/api/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: readFileSync(images[1]!) });
    expect(post.status).toBe(404);
    const page = await fetch(`${base}/`);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).not.toMatch(/'unsafe-eval'|'unsafe-inline'|https?:/);
    const wasm = await fetch(`${base}/ort/ort-wasm-simd-threaded.wasm`);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await wasm.arrayBuffer()).subarray(0, 4)).toEqual(new Uint8Array([0, 0x61, 0x73, 0x6d]));
    const manifest = await (await fetch(`${base}/model/manifest.json`)).json() as { similar: { ids?: unknown; labels: string[] } };
    expect(manifest.similar.ids).toBeUndefined(); // case ids only with --case-ids; never images
  });
});
