// predict at an operating point: the decisions on the test images give exactly the test counts of the report's table.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomSource } from '../src/data/index.js';
import { predictImages, resolveOperatingPoint, runTraining, type ImagePrediction } from '../src/pipeline/index.js';
import { openRunDir } from '../src/run/index.js';
import { buildServer } from '../src/serve/index.js';
import { PAGE_TIMEOUT, launchChromium, watchProblems } from './helpers/browser.js';
import { runCli } from './helpers/cli.js';
import { readRunPredictions, removeTempDir } from './pipeline/predict-helpers.js';

const SOURCE = 'phantom:n=160,size=32';
let out: string;
let runDir: string;
let files: { file: string; label: number }[];

/** Test-split counts of `predict`'s decisions against the truth (positive = the second class). */
function counts(preds: readonly ImagePrediction[], labels: readonly number[]) {
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  preds.forEach((p, i) => {
    if (p.error || !p.decision) throw new Error(`${p.file}: no decision`);
    const truth = labels[i] === 1;
    if (p.decision.positive) truth ? c.tp++ : c.fp++;
    else truth ? c.fn++ : c.tn++;
  });
  return c;
}

const tablePoint = (criterion: string) => {
  const m = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
  const p = m.test.operating_points['1'].find((q: { criterion: string }) => q.criterion === criterion);
  if (!p) throw new Error(`metrics.json has no ${criterion}`);
  return p as { threshold: number; test: { tp: number; fp: number; tn: number; fn: number; sensitivity: number; specificity: number } };
};

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'medclass-op-'));
  const s = await runTraining({
    name: 'op', out, seed: 3, threads: 1,
    data: { source: SOURCE, preprocess: { size: 32, channels: 1 } },
    fit: { epochs: 3, batchSize: 16 },
    eval: { bootstrap: 0, operatingPoint: 'sensitivity:0.95' },
  });
  runDir = s.runDir;
  const src = phantomSource(SOURCE);
  const byId = new Map(src.items.map((it) => [it.id, it]));
  files = await Promise.all(readRunPredictions(runDir).filter((r) => r.split === 'test').map(async (r, i) => {
    const img = await byId.get(r.id)!.load();
    const file = join(out, `test-${i}.png`);
    writeFileSync(file, await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 1 } }).png().toBuffer());
    return { file, label: r.label };
  }));
}, 120_000);

afterAll(() => { if (out) removeTempDir(out); });

describe('operating points in predict', () => {
  it('run.json records eval.operatingPoint and the report table holds that point', () => {
    expect(openRunDir(runDir).config.eval.operatingPoint).toBe('sensitivity:0.95');
    expect(tablePoint('sensitivity_0.95').threshold).toBeGreaterThan(0);
  });

  it("decisions at the run's own point give the report's test tp/fp/tn/fn, sensitivity and specificity", async () => {
    const preds = await predictImages(runDir, files.map((f) => f.file), { threads: 1 });
    const c = counts(preds, files.map((f) => f.label));
    const t = tablePoint('sensitivity_0.95');
    expect(c).toEqual({ tp: t.test.tp, fp: t.test.fp, tn: t.test.tn, fn: t.test.fn });
    expect(c.tp / (c.tp + c.fn)).toBe(t.test.sensitivity);
    expect(c.tn / (c.tn + c.fp)).toBe(t.test.specificity);
    const first = preds[0]!;
    if (first.error) throw new Error('unreadable');
    expect(first.decision!.threshold).toBe(t.threshold);
  });

  it('--operating-point youden overrides it in the CLI, and matches the youden_j row', async () => {
    const json = join(out, 'youden.json');
    const r = await runCli(['predict', '--run', runDir, '--operating-point', 'youden', '--threads', '1', '--json', json, ...files.map((f) => f.file)]);
    expect(r.code, r.stderr).toBe(0);
    const preds = JSON.parse(readFileSync(json, 'utf8')).predictions as ImagePrediction[];
    const t = tablePoint('youden_j');
    expect(counts(preds, files.map((f) => f.label))).toEqual({ tp: t.test.tp, fp: t.test.fp, tn: t.test.tn, fn: t.test.fn });
    const table = await runCli(['predict', '--run', runDir, '--operating-point', 'youden', '--threads', '1', files[0]!.file]);
    expect(table.stdout).toMatch(/decision at youden/);
  });

  it('a point missing from metrics.json is chosen on predictions.csv the way the report chose its own', () => {
    const run = openRunDir(runDir);
    const cal = JSON.parse(readFileSync(join(runDir, 'calibration.json'), 'utf8'));
    const classes = run.preprocess().classes;
    const recomputed = resolveOperatingPoint(run, 'sensitivity:0.95', classes, cal.temperature, undefined);
    expect(recomputed.source).toBe('predictions.csv');
    expect(recomputed.threshold).toBe(tablePoint('sensitivity_0.95').threshold);
    expect(recomputed.test).toEqual({ sensitivity: tablePoint('sensitivity_0.95').test.sensitivity, specificity: tablePoint('sensitivity_0.95').test.specificity });
  });

  it('the API decides at the server\'s point (serve --operating-point), a request may ask for another, /api/model states it', async () => {
    const app = buildServer(runDir, { threads: 1, inferenceWorker: false, operatingPoint: 'youden' });
    try {
      const body = readFileSync(files[0]!.file);
      const ask = async (q = '') => (await app.inject({ method: 'POST', url: `/api/predict${q}`, headers: { 'content-type': 'image/png' }, payload: body })).json();
      const [expected] = await predictImages(runDir, [files[0]!.file], { threads: 1, operatingPoint: 'youden' });
      if (!expected || expected.error) throw new Error('predict failed');
      const r = await ask();
      expect(r.results[0].decision).toEqual({ ...expected.decision, threshold: expected.decision!.threshold });
      const other = await ask('?operatingPoint=sensitivity:0.95');
      expect(other.results[0].decision.threshold).toBe(tablePoint('sensitivity_0.95').threshold);
      expect((await ask('?operatingPoint=none')).results[0].decision).toBeUndefined();
      expect((await app.inject({ method: 'POST', url: '/api/predict?operatingPoint=sens', headers: { 'content-type': 'image/png' }, payload: body })).statusCode).toBe(400);
      const model = (await app.inject({ method: 'GET', url: '/api/model' })).json();
      expect(model.operatingPoint).toMatchObject({ spec: 'youden', criterion: 'youden_j', threshold: tablePoint('youden_j').threshold, source: 'metrics.json' });
    } finally {
      await app.close();
    }
  });

  it('the web app shows the decision at the server\'s point beside the arg-max label', async () => {
    const app = buildServer(runDir, { threads: 1, inferenceWorker: false, operatingPoint: 'youden' });
    const browser = await launchChromium();
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const a = app.server.address();
      if (!a || typeof a === 'string') throw new Error('no TCP address');
      const page = await browser.newPage();
      const problems = watchProblems(page);
      await page.goto(`http://127.0.0.1:${a.port}/`);
      await page.setInputFiles('#file', files[0]!.file);
      await page.waitForFunction(() => {
        const d = (globalThis as unknown as { document: { getElementById(id: string): { hidden: boolean; textContent: string } | null } }).document.getElementById('decision');
        return d !== null && !d.hidden && d.textContent.startsWith('At youden');
      }, undefined, { timeout: PAGE_TIMEOUT });
      const text = await page.textContent('#decision');
      const [p] = await predictImages(runDir, [files[0]!.file], { threads: 1, operatingPoint: 'youden' });
      if (!p || p.error) throw new Error('predict failed');
      expect(text).toContain(`At youden: ${p.decision!.label} (`);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      await app.close();
    }
  });

  it('a bad point is refused before any image is read', async () => {
    const r = await runCli(['predict', '--run', runDir, '--operating-point', 'sensitivity:2', files[0]!.file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/MC_CLI_BAD_OPTION: predict: --operating-point/);
  });
});
