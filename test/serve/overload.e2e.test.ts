// Serving under overload: dynamic batching gives each image the numbers of its own unbatched run, and a full admission
// queue refuses with 503 MC_SERVE_BUSY + Retry-After before reading the body, while /api/health and /api/model answer.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomSource } from '../../src/data/index.js';
import { RunModel, decodeInputs, predictImages } from '../../src/pipeline/index.js';
import { DynamicBatcher } from '../../src/serve/batcher.js';
import { SerialQueue } from '../../src/serve/resources.js';
import { buildServer } from '../../src/serve/index.js';
import { servingModelName } from '../../src/pipeline/serving-graph.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';
import { SERVE_SOURCE, listenLocal, trainServeRun, writePhantomPngs } from './serve-helpers.js';

interface Result { probabilities: Record<string, number> }

describe('medclass serve under overload', () => {
  let out = '';
  let runDir = '';
  let cleanup = () => {};
  let pngs: string[] = [];

  beforeAll(async () => {
    ({ runDir, cleanup } = await trainServeRun('serve-overload'));
    out = mkdtempSync(join(tmpdir(), 'medclass-overload-'));
    const test = phantomSource(SERVE_SOURCE).items.flatMap((it, i) => (it.split === 'test' ? [i] : [])).slice(0, 7);
    pngs = await writePhantomPngs(out, test);
  }, 180_000);

  afterAll(() => {
    cleanup();
    if (out) removeTempDir(out);
  });

  it('DynamicBatcher: 5 concurrent jobs (1-2 images) run as one session run; logits equal each image run alone to 1e-6', async () => {
    const model = await RunModel.open(runDir, { threads: 1 });
    try {
      const { x } = await decodeInputs(pngs, model.preprocessOptions, 2);
      const per = x.length / pngs.length;
      const k = model.classes.length;
      const alone = await Promise.all(pngs.map((_, i) => model.logits(x.slice(i * per, (i + 1) * per), 1, { tta: false })));
      const b = new DynamicBatcher(model, new SerialQueue(8), 16, 1000);
      const sizes = [1, 2, 1, 2, 1];
      let s = 0;
      const jobs = sizes.map((n) => { const j = b.logits(x.slice(s * per, (s + n) * per), n, { tta: false }); s += n; return j; });
      const got = await Promise.all(jobs);
      expect(b.stats).toEqual({ runs: 1, images: 7 });
      s = 0;
      sizes.forEach((n, j) => {
        expect(got[j]!.length).toBe(n * k);
        for (let i = 0; i < n; i++) {
          for (let c = 0; c < k; c++) expect(Math.abs(got[j]![i * k + c]! - alone[s + i]![c]!)).toBeLessThan(1e-6);
        }
        s += n;
      });
      // maxBatch 3: the same jobs take several runs of at most 3 images
      const small = new DynamicBatcher(model, new SerialQueue(8), 3, 1000);
      s = 0;
      await Promise.all(sizes.map((n) => { const j = small.logits(x.slice(s * per, (s + n) * per), n, { tta: false }); s += n; return j; }));
      expect(small.stats.images).toBe(7);
      expect(small.stats.runs).toBeGreaterThanOrEqual(3);
    } finally {
      await model.dispose();
    }
  }, 60_000);

  it('concurrent HTTP predictions, batched, give the probabilities of unbatched predictImages to 1e-6', async () => {
    const ref = await predictImages(runDir, pngs, { threads: 1 });
    const app = buildServer(runDir, { threads: 1, maxBatch: 8, maxDelayMs: 20 });
    try {
      const url = await listenLocal(app);
      const replies = await Promise.all(pngs.map(async (f) => {
        const r = await fetch(`${url}/api/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images: [{ data: readFileSync(f).toString('base64') }] }) });
        expect(r.status).toBe(200);
        return ((await r.json()) as { results: Result[] }).results[0]!;
      }));
      replies.forEach((r, i) => {
        for (const [c, p] of Object.entries((ref[i] as Result).probabilities)) expect(Math.abs(r.probabilities[c]! - p)).toBeLessThan(1e-6);
      });
    } finally {
      await app.close();
    }
  }, 60_000);

  it('a full admission queue answers 503 MC_SERVE_BUSY + Retry-After without reading the body; health and model answer meanwhile', async () => {
    const app = buildServer(runDir, { threads: 1, maxQueue: 1 });
    let slow: Socket | undefined;
    try {
      const url = await listenLocal(app);
      const port = Number(new URL(url).port);
      const png = readFileSync(pngs[0]!);
      // One admitted request that is still sending its body holds the only admission slot.
      slow = await new Promise<Socket>((resolve, reject) => { const c = connect(port, '127.0.0.1', () => resolve(c)); c.on('error', reject); });
      const chunks: Buffer[] = [];
      slow.on('data', (d: Buffer) => chunks.push(d));
      const ended = new Promise<void>((resolve) => slow!.on('end', () => resolve()));
      const admitted = new Promise<void>((resolve) => app.server.once('request', () => setTimeout(resolve, 50)));
      slow.write(`POST /api/predict HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: image/png\r\ncontent-length: ${png.length}\r\nconnection: close\r\n\r\n`);
      slow.write(png.subarray(0, 10));
      await admitted;

      // Not valid JSON: parsed, it would answer 400; refused before parsing, it answers 503.
      const busy = await fetch(`${url}/api/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"images": [not json' });
      expect(busy.status).toBe(503);
      expect(Number(busy.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await busy.json()).toEqual({ statusCode: 503, code: 'MC_SERVE_BUSY', error: 'Service Unavailable', message: expect.stringContaining('maxQueue 1') });
      const explain = await fetch(`${url}/api/explain`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
      expect(explain.status).toBe(503);
      // KServe v2 inference shares the queue (refused before its body is parsed, as above)
      const kserve = await fetch(`${url}/v2/models/${servingModelName(runDir)}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs": [not json' });
      expect(kserve.status).toBe(503);
      expect(Number(kserve.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

      const t0 = performance.now();
      const health = await fetch(`${url}/api/health`);
      const model = await fetch(`${url}/api/model`);
      expect(health.status).toBe(200);
      expect(model.status).toBe(200);
      expect(performance.now() - t0).toBeLessThan(1000);

      // The held request finishes normally; its slot is free again afterwards.
      slow.write(png.subarray(10));
      await ended;
      expect(Buffer.concat(chunks).toString('utf8')).toMatch(/^HTTP\/1\.1 200 /);
      const after = await fetch(`${url}/api/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
      expect(after.status).toBe(200);
    } finally {
      slow?.destroy();
      await app.close();
    }
  }, 60_000);

  it.runIf(process.platform === 'linux')('the inference worker and its onnxruntime threads run at niceness +inferenceNice, the HTTP thread at the process\'s', async () => {
    const niceOf = () => new Map(readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return [Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])] as const;
    }));
    const base = niceOf().get(process.pid)!;
    const before = new Set(niceOf().keys());
    const app = buildServer(runDir, { threads: 2, inferenceNice: 3 });
    try {
      const url = await listenLocal(app);
      const r = await fetch(`${url}/api/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images: [{ data: readFileSync(pngs[0]!).toString('base64') }] }) });
      expect(r.status).toBe(200);
      const now = niceOf();
      const lowered = [...now].filter(([tid, n]) => !before.has(tid) && n === Math.min(19, base + 3));
      // the worker's own thread and the intra-op pool thread it created (2 threads = the caller + 1)
      expect(lowered.length).toBeGreaterThanOrEqual(2);
      expect(now.get(process.pid)).toBe(base);
    } finally {
      await app.close();
    }
  }, 60_000);
});
