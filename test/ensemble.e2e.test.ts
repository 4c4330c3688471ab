// Deep ensembles: 3 compact CNNs (2 epochs, seeds 1–3) on a small PneumoniaMNIST subset, combined by `medclass
// ensemble` into one run directory whose model.onnx must give the mean of the members' own probabilities; served
// on 127.0.0.1 (port 0), /api/predict shows the same uncertainty as predict.
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session, f32 } from '../src/engine/index.js';
import { predictiveUncertainty, softmax } from '../src/eval/index.js';
import { buildEnsemble, evaluateRunDir, predictImages, predictWith, type DerivedRunSummary } from '../src/pipeline/index.js';
import { openRunDir, readUncertainty } from '../src/run/index.js';
import { writeReport } from '../src/report/index.js';
import { ServeOptions, buildServer } from '../src/serve/index.js';
import { openResources } from '../src/serve/resources.js';
import { listenLocal } from './serve/serve-helpers.js';
import { CHROMIUM, PAGE_TIMEOUT, launchChromium, watchProblems } from './helpers/browser.js';
import { pneumoniaSubset, trainSubsetRun } from './ensemble-helpers.js';
import { removeTempDir } from './pipeline/predict-helpers.js';

let tmp: string;
let data: string;
let out: string;
let members: string[];
let ens: DerivedRunSummary;
const TEST_IMAGES = 16;

/** The files of the first `n` test rows of a run's predictions.csv. */
function testBatch(run: string, n: number): { files: string[] } {
  const t = openRunDir(run).predictions();
  const ids = t.meta.id!.filter((_, i) => t.split[i] === 'test').slice(0, n);
  return { files: ids.map((id) => join(data, id)) };
}

beforeAll(async () => {
  tmp = await pneumoniaSubset();
  data = join(tmp, 'data');
  out = join(tmp, 'runs');
  members = [];
  for (const seed of [1, 2, 3]) members.push((await trainSubsetRun(data, out, `m${seed}`, seed)).runDir);
  ens = await buildEnsemble(members, join(out, 'ens'), { threads: 1, bootstrap: 50 });
}, 180_000);
afterAll(() => removeTempDir(tmp));

describe('deep ensemble run directory', () => {
  it("model.onnx gives the mean of the members' probabilities (to 1e-6), and entropy / mutual information of them", async () => {
    const pre = openRunDir(members[0]!).preprocess();
    expect(pre.normalize).toBe('half');
    // member and ensemble sessions on the same decoded inputs: predict's decoding, then each model.onnx alone
    const { files } = testBatch(members[0]!, TEST_IMAGES);
    const decoded = await predictImages(join(out, 'ens'), files, { calibrate: false, conformal: 'none', threads: 1 });
    const { decodeInputs, RunModel } = await import('../src/pipeline/index.js');
    const model = await RunModel.open(members[0]!, { threads: 1 });
    const { x, ok } = await decodeInputs(files, model.preprocessOptions, 4);
    await model.dispose();
    expect(ok.length).toBe(TEST_IMAGES);
    const k = 2;
    const probs = new Float64Array(members.length * TEST_IMAGES * k);
    for (const [m, dir] of members.entries()) {
      const s = await Session.create(new Uint8Array(readFileSync(join(dir, 'model.onnx'))), { threads: 1 });
      const r = await s.run({ x: f32(x, [TEST_IMAGES, 1, 28, 28]) });
      probs.set(softmax(Float64Array.from(r.logits!.data as Float32Array), k), m * TEST_IMAGES * k);
      await s.dispose();
    }
    const ref = predictiveUncertainty(probs, members.length, TEST_IMAGES, k);
    const s = await Session.create(new Uint8Array(readFileSync(join(out, 'ens', 'model.onnx'))), { threads: 1 });
    const r = await s.run({ x: f32(x, [TEST_IMAGES, 1, 28, 28]) });
    await s.dispose();
    const mean = softmax(Float64Array.from(r.logits!.data as Float32Array), k);
    let worst = 0;
    for (let i = 0; i < mean.length; i++) worst = Math.max(worst, Math.abs(mean[i]! - ref.mean[i]!));
    expect(worst).toBeLessThan(1e-6);
    expect(r.sample_logits!.dims).toEqual([3, TEST_IMAGES, k]);
    for (let i = 0; i < TEST_IMAGES; i++) {
      expect(r.entropy!.data[i]).toBeCloseTo(ref.entropy[i]!, 5);
      expect(r.mutual_information!.data[i]).toBeCloseTo(ref.mutualInformation[i]!, 5);
    }
    expect(Math.max(...ref.mutualInformation)).toBeGreaterThan(1e-4); // members disagree somewhere
    // predict shows the same uncertainty per image
    for (const [i, p] of decoded.entries()) {
      if (p.error) throw new Error(p.error.message);
      expect(p.uncertainty?.method).toBe('ensemble');
      expect(p.uncertainty?.samples).toBe(3);
      expect(p.uncertainty!.entropy).toBeCloseTo(ref.entropy[i]!, 5);
      expect(p.uncertainty!.mutualInformation).toBeCloseTo(ref.mutualInformation[i]!, 5);
      expect(p.probabilities.pneumonia).toBeCloseTo(ref.mean[i * k + 1]!, 6);
    }
  });

  it('serves like any run: /api/model names the method, /api/predict adds entropy and mutual information', async () => {
    const { files } = testBatch(members[0]!, 2);
    const [p] = await predictImages(join(out, 'ens'), files.slice(0, 1), { threads: 1 });
    const app = buildServer(join(out, 'ens'), { threads: 1 });
    try {
      const url = await listenLocal(app);
      const model = await (await fetch(`${url}/api/model`)).json() as { uncertainty: unknown };
      expect(model.uncertainty).toEqual({ method: 'ensemble', samples: 3 });
      const res = await fetch(`${url}/api/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: readFileSync(files[0]!) });
      expect(res.status).toBe(200);
      const body = await res.json() as { results: { uncertainty?: { entropy: number; mutualInformation: number; samples: number } }[] };
      if (!p || p.error) throw new Error('predict failed');
      expect(body.results[0]!.uncertainty).toEqual(p.uncertainty);
    } finally {
      await app.close();
    }
  });

  it(`the web app (in ${CHROMIUM}) shows the method and each prediction's entropy and mutual information`, async () => {
    const { files } = testBatch(members[0]!, 1);
    const [p] = await predictImages(join(out, 'ens'), files, { threads: 1 });
    if (!p || p.error || !p.uncertainty) throw new Error('predict failed');
    const app = buildServer(join(out, 'ens'), { threads: 1 });
    const browser = await launchChromium();
    try {
      const url = await listenLocal(app);
      const page = await browser.newPage();
      const problems = watchProblems(page);
      await page.goto(`${url}/`);
      await expect.poll(() => page.textContent('#model-uncertainty'), { timeout: PAGE_TIMEOUT }).toBe('deep ensemble of 3 runs');
      await page.setInputFiles('#file', files[0]!);
      const want = `Uncertainty over 3 ensemble members: predictive entropy ${p.uncertainty.entropy.toFixed(3)} nats (max ${Math.log(2).toFixed(3)}), ` +
        `mutual information ${p.uncertainty.mutualInformation.toFixed(3)} nats (disagreement between members).`;
      await page.locator('#uncertainty').filter({ hasText: want }).waitFor({ timeout: PAGE_TIMEOUT });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      await app.close();
    }
  }, 120_000);

  it("the server's uncertainty runs happen in its inference worker, not on the event loop's session", async () => {
    const { files } = testBatch(members[0]!, 2);
    const [p] = await predictImages(join(out, 'ens'), files.slice(0, 1), { threads: 1 });
    const res = await openResources(join(out, 'ens'), ServeOptions.parse({ threads: 1 }));
    try {
      const mainThread = res.explainer.model;
      Object.defineProperty(mainThread, 'withUncertainty', { value: () => { throw new Error('ran on the main thread'); } });
      const [q] = await predictWith(res.batcher.batchedModel(), files.slice(0, 1), { threads: 1 });
      if (!p || p.error || !q || q.error) throw new Error('predict failed');
      expect(q.uncertainty).toEqual(p.uncertainty);
      expect(q.probabilities).toEqual(p.probabilities);
    } finally {
      await res.close();
    }
  });

  it('is a run directory: run.json names the members, eval --run reproduces metrics.json, uncertainty.json has the selective figures', async () => {
    const run = openRunDir(join(out, 'ens'));
    expect(run.manifest.status).toBe('done');
    expect(run.manifest.derived?.kind).toBe('ensemble');
    expect(run.manifest.derived?.members.map((m) => m.seed)).toEqual([1, 2, 3]);
    expect(run.manifest.splits).toEqual(openRunDir(members[0]!).manifest.splits);
    const before = readFileSync(run.path('metrics.json'), 'utf8');
    await evaluateRunDir(run.dir);
    expect(readFileSync(run.path('metrics.json'), 'utf8')).toBe(before);
    const header = readFileSync(run.path('predictions.csv'), 'utf8').split('\n')[0]!;
    expect(header.split(',')).toEqual(expect.arrayContaining(['entropy', 'mutual_information']));
    const u = readUncertainty(run)!;
    expect(u.method).toBe('ensemble');
    const test = u.test as { n: number; scores: Record<string, { error_detection_auroc: number; accuracy_at_coverage: Record<string, number> }> };
    expect(test.n).toBe(80);
    expect(Object.keys(test.scores)).toEqual(['entropy', 'mutual_information', 'one_minus_max_probability']);
    expect(test.scores.entropy!.accuracy_at_coverage['0.9']).toBeGreaterThan(0);
    expect((u.baseline as { name: string }).name).toBe('m1');
    expect(ens.evaluation.counts).toEqual({ val: 60, test: 80 });
    const rep = writeReport(run.dir, { figures: false });
    expect(rep.sections).toContain('uncertainty');
    const html = readFileSync(run.path('report.html'), 'utf8');
    expect(html).toContain('Uncertainty (deep ensemble of 3 runs)');
    expect(html).toContain('mutual information (BALD)');
    expect(html).toContain('single: m1');
  });

  it('refuses members of other data, the same run twice, and an ensemble as a member (MC_RUN_ENSEMBLE_MISMATCH)', async () => {
    const other = join(out, 'other');
    cpSync(members[1]!, other, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(other, 'run.json'), 'utf8'));
    manifest.data.fingerprint = `0${manifest.data.fingerprint.slice(1)}`;
    writeFileSync(join(other, 'run.json'), JSON.stringify(manifest));
    await expect(buildEnsemble([members[0]!, other], join(out, 'bad'))).rejects.toMatchObject({ code: 'MC_RUN_ENSEMBLE_MISMATCH', message: expect.stringContaining('fingerprint') });
    await expect(buildEnsemble([members[0]!, members[0]!], join(out, 'bad'))).rejects.toMatchObject({ code: 'MC_RUN_ENSEMBLE_MISMATCH', message: expect.stringContaining('twice') });
    await expect(buildEnsemble([members[0]!, join(out, 'ens')], join(out, 'bad'))).rejects.toMatchObject({ code: 'MC_RUN_ENSEMBLE_MISMATCH', message: expect.stringContaining('ensemble') });
    rmSync(other, { recursive: true, force: true });
  });
});
