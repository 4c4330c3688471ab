import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dataset, assignSplits, encodeTabular, openSource, type TabularEncoder } from '../../src/data/index.js';
import { Rng, Session, f32, loadCheckpoint, loadModel, saveModel, type Graph } from '../../src/engine/index.js';
import { TABULAR_INPUT, createModel } from '../../src/models/index.js';
import { writeReport } from '../../src/report/index.js';
import { RunModel, buildRunIndex, evaluateRunDir, explainImages, findSimilar, gradCamExamples, openExplainer, predictImages, runTraining, type RunSummary } from '../../src/pipeline/index.js';
import { buildServer } from '../../src/serve/index.js';
import { openRunDir } from '../../src/run/index.js';
import { loadWeights } from '../../src/train/index.js';
import { expectAllClose } from '../helpers/all-close.js';
import { runCli } from '../helpers/cli.js';
import { HAM_CSV_OPTIONS, HAM_SEED, HAM_SPLIT, trainHamFusion, writeHam300 } from './ham-fusion-helpers.js';
import { readRunPredictions, removeTempDir } from './predict-helpers.js';

// A short real fusion run on 300 HAM10000 images (ham-fusion-helpers.ts): 32 px, 2 epochs.
const csvOptions = HAM_CSV_OPTIONS;
const split = HAM_SPLIT;
const SEED = HAM_SEED;

let out: string;
let csvPath: string;
let summary: RunSummary;
let runDir: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'medclass-fusion-'));
  csvPath = writeHam300(out);
  summary = await trainHamFusion(out, csvPath);
  runDir = summary.runDir;
});

afterAll(() => { if (out) removeTempDir(out); });

describe('image + tabular fusion run on HAM10000 (300 images)', () => {
  it('exports a model.onnx with two inputs, x [N,3,32,32] and tab [N,F], F as tabular.json and preprocess.json say', () => {
    const g = loadModel(readFileSync(join(runDir, 'model.onnx')));
    const enc = JSON.parse(readFileSync(join(runDir, 'tabular.json'), 'utf8')) as TabularEncoder;
    const pre = JSON.parse(readFileSync(join(runDir, 'preprocess.json'), 'utf8'));
    const F = enc.features.length;
    expect(g.inputs.map((v) => [v.name, v.dims.slice(1)])).toEqual([['x', [3, 32, 32]], [TABULAR_INPUT, [F]]]);
    expect(pre).toMatchObject({ tabularInput: TABULAR_INPUT, tabularFeatures: F, tabularColumns: ['age', 'sex', 'localization'] });
  });

  it('run.json records the CSV column the groups came from', () => {
    expect(openRunDir(runDir).manifest.data?.groupColumn).toEqual({ name: 'lesion_id', detected: false, from: 'csv' });
  });

  it('fits the encoder on the train split only (age mean and vocabularies of the train rows, not of all rows)', () => {
    const enc = JSON.parse(readFileSync(join(runDir, 'tabular.json'), 'utf8')) as TabularEncoder;
    const src = openSource(csvPath, { csv: csvOptions });
    const s = assignSplits(src.items, { ...split, seed: SEED });
    const train = src.items.filter((_, i) => s[i] === 'train');
    const ages = (items: readonly (typeof train)[number][]) => items.map((it) => it.meta!.age).filter((a): a is number => typeof a === 'number');
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(summary.counts.train).toBe(train.length);
    expect(enc.numeric[0]!.mean).toBeCloseTo(mean(ages(train)), 9);
    expect(Math.abs(mean(ages(src.items)) - mean(ages(train)))).toBeGreaterThan(1e-6);
    const sites = (items: readonly (typeof train)[number][]) => [...new Set(items.map((it) => String(it.meta!.localization)))].sort();
    expect(enc.categorical[1]!.values).toEqual(sites(train));
  });

  it('model.onnx (inference graph) gives the logits of predictions.csv and of the eval graph built from best.ckpt', async () => {
    const src = openSource(csvPath, { csv: csvOptions });
    const s = assignSplits(src.items, { ...split, seed: SEED });
    const ds = new Dataset(src, { splits: s, cacheTensors: false });
    const model = await RunModel.open(runDir, { threads: 1 });
    try {
      const b = await ds.loadBatch(ds.indicesOf('test'), model.preprocessOptions);
      const n = b.labels.length;
      const tab = model.encodeMeta(b.indices.map((i) => src.items[i]!.meta));
      const onnx = await model.logits(b.x.data, n, { tab, tta: false });
      // the run's own evaluation (Predictor over the inference graph, weights fed as inputs) → predictions.csv
      const byId = new Map(readRunPredictions(runDir).filter((r) => r.split === 'test').map((r) => [r.id, r.logits]));
      const csv = b.indices.flatMap((i) => byId.get(src.items[i]!.id)!);
      expectAllClose(onnx, csv, { atol: 1e-5, rtol: 1e-4, label: 'model.onnx vs predictions.csv logits' });
      // the training graph's eval mode (decomposed batch-norm on running statistics) with the best checkpoint
      const ck = await loadCheckpoint(join(runDir, 'checkpoints', 'best.ckpt'));
      const net = createModel('compact-cnn', { inChannels: 3, numClasses: 7, inputSize: 32, width: 0.5, dropout: 0.1, tabularFeatures: tab.length / n, rng: new Rng(0) });
      loadWeights(net, new Map([...ck.params].map(([k, v]) => [k, v.data])));
      const ev = await Session.create(net.evalGraph(), { threads: 1 });
      try {
        const r = await ev.run({ x: { dtype: 'float32', dims: [n, 3, 32, 32], data: b.x.data }, [TABULAR_INPUT]: { dtype: 'float32', dims: [n, tab.length / n], data: tab } }, ['logits']);
        expectAllClose(onnx, r.logits!.data as Float32Array, { atol: 1e-4, rtol: 1e-4, label: 'model.onnx vs eval graph logits' });
      } finally {
        await ev.dispose();
      }
      // the tabular input matters: other metadata → other logits for the same images
      const other = encodeTabular(model.tabular!, b.indices.map(() => ({ age: 85, sex: 'female', localization: 'acral' })));
      const moved = await model.logits(b.x.data, n, { tab: other, tta: false });
      expect(Math.max(...Array.from(moved, (v, i) => Math.abs(v - onnx[i]!)))).toBeGreaterThan(1e-3);
    } finally {
      await model.dispose();
    }
  });

  it('predict takes --meta for a fusion run (same logits as predictions.csv) and names the missing columns otherwise', async () => {
    const src = openSource(csvPath, { csv: csvOptions });
    const row = readRunPredictions(runDir).find((r) => r.split === 'test')!;
    const item = src.items.find((it) => it.id === row.id)!;
    const meta = { age: item.meta!.age === null ? '' : String(item.meta!.age), sex: String(item.meta!.sex), localization: String(item.meta!.localization) };
    const [p] = await predictImages(runDir, [join(out, item.id)], { meta, threads: 1 });
    expect(p!.error).toBeUndefined();
    expectAllClose(p!.error ? [] : p!.logits, row.logits, { atol: 1e-5, rtol: 1e-4, label: 'predict logits' });
    await expect(predictImages(runDir, [join(out, item.id)], { threads: 1 })).rejects.toMatchObject({ code: 'MC_DATA_MISSING_META', message: expect.stringContaining("values 'age', 'sex', 'localization'") });
    await expect(predictImages(runDir, [join(out, item.id)], { meta: { age: 45, sex: 'male' }, threads: 1 })).rejects.toMatchObject({ code: 'MC_DATA_MISSING_META', message: expect.stringContaining("'localization'") });
    const cli = await runCli(['predict', '--run', runDir, join(out, item.id), '--meta', 'age=45,sex=male']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("MC_DATA_MISSING_META: predict: the model needs tabular value 'localization'");
    const ok = await runCli(['predict', '--run', runDir, join(out, item.id), '--meta', `age=${meta.age},sex=${meta.sex},localization=${meta.localization}`, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).predictions[0].label).toBe(p!.error ? '' : p!.label);
  });

  it('serve: POST /api/predict takes the values as JSON meta (same probabilities as predictImages) and answers 400 naming a missing column', async () => {
    const src = openSource(csvPath, { csv: csvOptions });
    const item = src.items.find((it) => it.id === readRunPredictions(runDir).find((r) => r.split === 'test')!.id)!;
    const meta = { age: item.meta!.age as number | null, sex: item.meta!.sex as string, localization: item.meta!.localization as string };
    const [p] = await predictImages(runDir, [join(out, item.id)], { meta, threads: 1 });
    const data = readFileSync(join(out, item.id)).toString('base64');
    const app = buildServer(runDir, { threads: 1 });
    try {
      const ok = await app.inject({ method: 'POST', url: '/api/predict', payload: { images: [{ data }], meta } });
      expect(ok.statusCode).toBe(200);
      const probs = ok.json().results[0].probabilities as Record<string, number>;
      expectAllClose(Object.values(probs), Object.values(p!.error ? {} : p!.probabilities), { atol: 1e-6, label: 'served probabilities' });
      const bad = await app.inject({ method: 'POST', url: '/api/predict', payload: { images: [{ data }], meta: { age: 45 } } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'MC_DATA_MISSING_META', message: expect.stringContaining("'sex', 'localization'") });
      const raw = await app.inject({ method: 'POST', url: '/api/predict', headers: { 'content-type': 'image/jpeg' }, payload: readFileSync(join(out, item.id)) });
      expect(raw.json()).toMatchObject({ statusCode: 400, code: 'MC_DATA_MISSING_META' });
    } finally {
      await app.close();
    }
  });

  it('Grad-CAM feeds tab too: α_c = W_fc[k,c]/(h·w) from the head\'s image columns, logits as RunModel\'s; explain names missing columns', async () => {
    const src = openSource(csvPath, { csv: csvOptions });
    const ds = new Dataset(src, { splits: assignSplits(src.items, { ...split, seed: SEED }), cacheTensors: false });
    const ex = await openExplainer(runDir, { threads: 1 });
    try {
      const b = await ds.loadBatch(ds.indicesOf('test').slice(0, 6), ex.model.preprocessOptions);
      const n = b.labels.length;
      const tab = ex.model.encodeMeta(b.indices.map((i) => src.items[i]!.meta));
      expect(ex.gradCam.spec.extraInputs).toEqual([{ name: TABULAR_INPUT, dims: [tab.length / n] }]);
      const res = await ex.gradCam.explain(b.x.data, n, -1, 16, { [TABULAR_INPUT]: tab });
      const logits = await ex.model.logits(b.x.data, n, { tab, tta: false });
      const W = loadModel(readFileSync(join(runDir, 'model.onnx'))).initializers.get('fc.weight')!;
      const [kk, cols] = W.dims as [number, number];
      const [c, h, w] = ex.gradCam.spec.featureDims as [number, number, number];
      expect(cols).toBe(c + tab.length / n);
      res.forEach((r, i) => {
        expectAllClose(r.logits, logits.subarray(i * kk, (i + 1) * kk), { atol: 1e-5, rtol: 1e-4, label: `Grad-CAM logits ${i}` });
        const row = (W.data as Float32Array).subarray(r.classIndex * cols, r.classIndex * cols + c);
        expectAllClose(r.weights, Array.from(row, (v) => v / (h * w)), { atol: 1e-6, rtol: 1e-3, label: `α of image ${i}` });
      });
    } finally {
      await ex.dispose();
    }
    const file = join(out, src.items[ds.indicesOf('test')[0]!]!.id);
    await expect(explainImages(runDir, [file], { threads: 1, out: join(out, 'explain') })).rejects.toMatchObject({ code: 'MC_DATA_MISSING_META' });
    const [e] = await explainImages(runDir, [file], { threads: 1, out: join(out, 'explain'), meta: { age: 50, sex: 'female', localization: 'back' } });
    expect(e!.error).toBeUndefined();
  });

  it('the similar-case index embeds with each item\'s metadata, and similar takes --meta (prediction as predict\'s)', async () => {
    const s = await buildRunIndex(runDir, { threads: 1, bootstrap: 0, umap: { nEpochs: 50 } });
    expect(s.count).toBe(summary.counts.train);
    expect(s.dim).toBe(64); // the image embedding (compact-cnn width 0.5: 64 channels), not the fused vector
    const src = openSource(csvPath, { csv: csvOptions });
    const row = readRunPredictions(runDir).find((r) => r.split === 'test')!;
    const item = src.items.find((it) => it.id === row.id)!;
    const meta = { age: item.meta!.age as number | null, sex: item.meta!.sex as string, localization: item.meta!.localization as string };
    const [p] = await predictImages(runDir, [join(out, item.id)], { meta, threads: 1 });
    const [r] = await findSimilar(runDir, [join(out, item.id)], { meta, k: 3, threads: 1 });
    expect(r!.error).toBeUndefined();
    expect(r!.error ? '' : r!.label).toBe(p!.error ? '-' : p!.label);
    expect(r!.error ? 0 : r!.similar.length).toBe(3);
    await expect(findSimilar(runDir, [join(out, item.id)], { threads: 1 })).rejects.toMatchObject({ code: 'MC_DATA_MISSING_META' });
  });

  it('reports test metrics per sex and per age band (binned from age) in metrics.json', () => {
    const m = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
    const rows = m.test.subgroups as { column: string; value: string; n: number }[];
    for (const col of ['sex', 'age_band']) expect(rows.filter((r) => r.column === col).reduce((a, r) => a + r.n, 0)).toBe(m.test.n_test);
    // age bands come in their natural order (by first number, then the rest), not <30, ≥70, 30–49, …
    const bands = ['<30', '30–49', '50–69', '≥70', 'unknown'];
    const seen = rows.filter((r) => r.column === 'age_band').map((r) => r.value);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen).toEqual(bands.filter((b) => seen.includes(b)));
  });

  it('the report names the tabular input, shows the subgroup table and Grad-CAM examples of the fusion model', async () => {
    const gradCam = await gradCamExamples(runDir, { threads: 1 });
    expect(gradCam.examples.length).toBeGreaterThan(0);
    const r = writeReport(runDir, { gradCam });
    const html = readFileSync(join(runDir, 'report.html'), 'utf8');
    expect(r.html).toBe('report.html');
    expect(html).toContain('tabular input');
    expect(html).toContain('age, sex, localization → ');
    expect(html).toContain('Subgroups (test)');
    expect(html).toContain('age_band');
    expect(readFileSync(join(runDir, 'model-card.md'), 'utf8')).toContain('Tabular input (early fusion): age, sex, localization');
  });

  it('medclass eval --run reproduces the subgroup tables from predictions.csv, and --data re-runs the fusion model (tab from the CSV)', async () => {
    const before = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
    const fromCsv = await evaluateRunDir(runDir);
    // predictions.csv holds 8 significant digits of the logits, so values agree to ~1e-6 (NaN is null in JSON)
    const flat = (rows: { column: string; value: string; n: number; metrics: Record<string, { value: number | null; ci: unknown }> }[]) =>
      rows.flatMap((g) => Object.entries(g.metrics).map(([k, m]) => [`${g.column}=${g.value} n=${g.n} ${k}`, m.value === null || Number.isNaN(m.value) ? -1 : m.value] as const));
    const a = flat(fromCsv.metrics.subgroups as never);
    const b = flat(before.test.subgroups);
    expect(a.map(([k]) => k)).toEqual(b.map(([k]) => k));
    expectAllClose(a.map(([, v]) => v), b.map(([, v]) => v), { atol: 1e-5, label: 'subgroup metrics from predictions.csv' });
    const fromData = await evaluateRunDir(runDir, { data: csvPath, csv: csvOptions, threads: 1 });
    expect(fromData.counts.test).toBe(before.test.n_test);
    expect(fromData.metrics.balanced_accuracy).toBeCloseTo(before.test.balanced_accuracy, 9);
    expect(fromData.metrics.subgroups.map((g) => [g.column, g.value, g.n])).toEqual(before.test.subgroups.map((g: { column: string; value: string; n: number }) => [g.column, g.value, g.n]));
  });
});

describe('image + tabular fusion on an imported backbone with cached-trunk training', () => {
  it('a cached head phase feeds tab from the original set: the same logits as the uncached phase', async () => {
    // A tiny "pretrained" backbone: Conv 3→4 (features) → GlobalAveragePool → Flatten (embedding).
    const rng = new Rng(9);
    const g: Graph = {
      name: 'tiny', opset: 17, valueInfo: new Map(), initializers: new Map([['w', f32(Float32Array.from({ length: 108 }, () => rng.uniform(-0.5, 0.5)), [4, 3, 3, 3])]]),
      inputs: [{ name: 'img', dtype: 'float32', dims: [1, 3, 8, 8] }], outputs: [{ name: 'embedding', dtype: 'float32', dims: [1, 4] }],
      nodes: [
        { opType: 'Conv', name: 'c', domain: '', inputs: ['img', 'w'], outputs: ['features'], attrs: { pads: { type: 'ints', value: [1, 1, 1, 1] } } },
        { opType: 'GlobalAveragePool', name: 'p', domain: '', inputs: ['features'], outputs: ['pooled'], attrs: {} },
        { opType: 'Flatten', name: 'f', domain: '', inputs: ['pooled'], outputs: ['embedding'], attrs: {} },
      ],
    };
    const backbone = join(out, 'tiny.onnx');
    writeFileSync(backbone, saveModel(g));
    const stages: string[] = [];
    const run = (cacheTrunk: boolean) => runTraining({
      name: `bb-${cacheTrunk}`, out, seed: SEED, threads: 1,
      data: { source: csvPath, csv: csvOptions, split, preprocess: { size: 8, channels: 3, normalize: 'half' }, tabular: { numeric: ['age'], categorical: ['sex', 'localization'] } },
      model: { arch: 'backbone', backbone, head: 'linear', dropout: 0 },
      fit: { batchSize: 32, classWeights: 'auto', cacheTrunk, phases: [{ epochs: 3, lr: 0.01, trainable: 'head' }] },
      eval: { bootstrap: 0 },
    }, { onEvent: (e) => { if (e.type === 'stage') stages.push(`${cacheTrunk}:${e.stage}`); } });
    const cached = await run(true);
    const plain = await run(false);
    expect(stages).toContain('true:cache'); // the head phase really ran on the cached trunk outputs
    expect(stages).not.toContain('false:cache');
    const logits = (s: RunSummary) => readRunPredictions(s.runDir).flatMap((r) => r.logits);
    expect(loadModel(readFileSync(join(cached.runDir, 'model.onnx'))).inputs.map((v) => v.name)).toEqual(['x', TABULAR_INPUT]);
    expectAllClose(logits(cached), logits(plain), { atol: 1e-4, rtol: 1e-4, label: 'cached vs uncached fusion logits' });
    expect(cached.metrics!.roc_auc_ovr_macro).toBeCloseTo(plain.metrics!.roc_auc_ovr_macro as number, 6);
  });
});
