import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource, type TabularEncoder } from '../../src/data/index.js';
import { Session, loadModel, saveModel } from '../../src/engine/index.js';
import { RunModel, decodeInputs, predictImages, type TabularAttribution } from '../../src/pipeline/index.js';
import { buildServer } from '../../src/serve/index.js';
import { expectAllClose } from '../helpers/all-close.js';
import { runCli } from '../helpers/cli.js';
import { HAM_CSV_OPTIONS, trainHamFusion, writeHam300 } from './ham-fusion-helpers.js';
import { readRunPredictions, removeTempDir } from './predict-helpers.js';

// Occlusion attribution of a fusion model's tabular values (300 HAM10000 images, 32 px, 2 epochs: ham-fusion-helpers.ts),
// checked against model.onnx run directly on rows encoded by hand from tabular.json.

type Meta = Record<string, string | number | null>;
let out = '';
let runDir = '';
let file = '';
let meta: Meta;
let enc: TabularEncoder;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'medclass-tabattr-'));
  const csvPath = writeHam300(out);
  runDir = (await trainHamFusion(out, csvPath)).runDir;
  enc = JSON.parse(readFileSync(join(runDir, 'tabular.json'), 'utf8')) as TabularEncoder;
  // a test item whose age, sex and localization are all known to the encoder
  const items = new Map(openSource(csvPath, { csv: HAM_CSV_OPTIONS }).items.map((it) => [it.id, it]));
  const item = readRunPredictions(runDir).filter((r) => r.split === 'test').map((r) => items.get(r.id)!)
    .find((it) => typeof it.meta!.age === 'number' && enc.categorical.every((c) => c.values.includes(String(it.meta![c.column]))))!;
  file = join(out, item.id);
  meta = { age: item.meta!.age as number, sex: String(item.meta!.sex), localization: String(item.meta!.localization) };
});

afterAll(() => { if (out) removeTempDir(out); });

/** The row as the encoder's spec says, written out here: (v − mean)/sd and a missing flag; one-hot plus other slot. */
function handEncode(m: Meta, missing: readonly string[]): number[] {
  const row: number[] = [];
  for (const n of enc.numeric) {
    const v = m[n.column];
    if (missing.includes(n.column) || v === null || v === '') row.push(0, 1);
    else row.push((Number(v) - n.mean) / n.sd, 0);
  }
  for (const c of enc.categorical) {
    const slot = missing.includes(c.column) ? -1 : c.values.indexOf(String(m[c.column]));
    row.push(...c.values.map((_, k) => (k === slot ? 1 : 0)), slot < 0 ? 1 : 0);
  }
  return row;
}

/** Class `t`'s logit and temperature-scaled probability from model.onnx run directly, one row per tabular row. */
async function direct(dir: string, x: Float32Array, rows: number[][], t: number): Promise<{ logit: number[]; prob: number[] }> {
  const pre = JSON.parse(readFileSync(join(dir, 'preprocess.json'), 'utf8'));
  const T = JSON.parse(readFileSync(join(dir, 'calibration.json'), 'utf8')).temperature as number;
  const s = await Session.create(new Uint8Array(readFileSync(join(dir, 'model.onnx'))), { threads: 1 });
  try {
    const logit: number[] = [];
    const prob: number[] = [];
    for (const row of rows) {
      const r = await s.run({ x: { dtype: 'float32', dims: [1, pre.channels, pre.size, pre.size], data: x }, tab: { dtype: 'float32', dims: [1, row.length], data: Float32Array.from(row) } }, [pre.output]);
      const l = Array.from(r[pre.output]!.data as Float32Array);
      const e = l.map((v) => Math.exp((v - Math.max(...l)) / T));
      logit.push(l[t]!);
      prob.push(e[t]! / e.reduce((a, b) => a + b, 0));
    }
    return { logit, prob };
  } finally {
    await s.dispose();
  }
}

async function attribution(dir: string, m: Meta): Promise<TabularAttribution> {
  const [p] = await predictImages(dir, [file], { meta: m, attribute: true, threads: 1 });
  if (p!.error || !p!.tabularAttribution) throw new Error('no attribution');
  expect(p!.tabularAttribution.className).toBe(p!.label); // the predicted class is the one explained
  return p!.tabularAttribution;
}

async function imageTensor(dir: string): Promise<Float32Array> {
  const model = await RunModel.open(dir, { threads: 1 });
  try {
    return (await decodeInputs([file], model.preprocessOptions, 1)).x;
  } finally {
    await model.dispose();
  }
}

describe('occlusion attribution of the tabular input (fusion run on 300 HAM10000 images)', () => {
  it('Δ logit and Δ probability per column and image only = model.onnx on hand-encoded occluded rows (1e-5)', async () => {
    const a = await attribution(runDir, meta);
    const cols = enc.numeric.map((n) => n.column).concat(enc.categorical.map((c) => c.column));
    expect(a.columns.map((c) => [c.column, c.value, c.missing])).toEqual(cols.map((c) => [c, meta[c], false]));
    const rows = [handEncode(meta, []), ...cols.map((c) => handEncode(meta, [c])), handEncode(meta, cols)];
    const d = await direct(runDir, await imageTensor(runDir), rows, a.classIndex);
    expectAllClose([a.logit, a.probability], [d.logit[0]!, d.prob[0]!], { atol: 1e-5, label: 'full row' });
    expectAllClose(a.columns.map((c) => c.deltaLogit), cols.map((_, i) => d.logit[0]! - d.logit[i + 1]!), { atol: 1e-5, label: 'Δ logit' });
    expectAllClose(a.columns.map((c) => c.deltaProbability), cols.map((_, i) => d.prob[0]! - d.prob[i + 1]!), { atol: 1e-5, label: 'Δ probability' });
    const last = rows.length - 1;
    expectAllClose([a.imageOnly.logit, a.imageOnly.probability, a.imageOnly.deltaLogit, a.imageOnly.deltaProbability],
      [d.logit[last]!, d.prob[last]!, d.logit[0]! - d.logit[last]!, d.prob[0]! - d.prob[last]!], { atol: 1e-5, label: 'image only' });
    // the values matter to this model, so the zero cases below are not zero by accident
    expect(Math.max(...a.columns.map((c) => Math.abs(c.deltaLogit)))).toBeGreaterThan(1e-3);
  });

  it('a column whose head weights are zeroed in model.onnx gives Δ = 0; the others still move', async () => {
    const zeroed = join(out, 'zeroed');
    cpSync(runDir, zeroed, { recursive: true });
    const g = loadModel(readFileSync(join(runDir, 'model.onnx')));
    const W = g.initializers.get('fc.weight')!;
    const [k, width] = W.dims as [number, number];
    const d = width - enc.features.length; // image embedding columns come first, then tab
    const sexCols = enc.features.map((f, i) => (f.startsWith('sex=') || f === 'sex:other' ? d + i : -1)).filter((i) => i >= 0);
    expect(sexCols.length).toBe(enc.categorical[0]!.values.length + 1);
    const w = W.data as Float32Array;
    for (let r = 0; r < k; r++) for (const c of sexCols) w[r * width + c] = 0;
    writeFileSync(join(zeroed, 'model.onnx'), saveModel(g));
    const before = (await attribution(runDir, meta)).columns.find((c) => c.column === 'sex')!;
    expect(Math.abs(before.deltaLogit)).toBeGreaterThan(1e-4);
    const a = await attribution(zeroed, meta);
    const sex = a.columns.find((c) => c.column === 'sex')!;
    expect([sex.deltaLogit, sex.deltaProbability]).toEqual([0, 0]);
    expect(a.columns.filter((c) => c.column !== 'sex').some((c) => Math.abs(c.deltaLogit) > 1e-3)).toBe(true);
  });

  it('a value already missing (empty age, an unseen localization) gives Δ = 0 and is marked missing', async () => {
    const m = { ...meta, age: '', localization: 'nowhere' };
    const a = await attribution(runDir, m);
    const by = new Map(a.columns.map((c) => [c.column, c]));
    for (const c of ['age', 'localization']) {
      expect(by.get(c)!.missing).toBe(true);
      expect([by.get(c)!.deltaLogit, by.get(c)!.deltaProbability]).toEqual([0, 0]);
    }
    expect(by.get('sex')!.missing).toBe(false);
    // with every other value missing, the image-only row differs from the full row by sex alone
    expect(a.imageOnly.deltaLogit).toBeCloseTo(by.get('sex')!.deltaLogit, 5);
  });

  it('medclass predict --attribute prints the table and writes it in --json; the REST reply carries it unless ?attribute=false', async () => {
    const a = await attribution(runDir, meta);
    const json = join(out, 'attr.json');
    const cli = await runCli(['predict', '--run', runDir, file, '--meta', `age=${meta.age},sex=${meta.sex},localization=${meta.localization}`, '--attribute', '--threads', '1', '--json', json]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`tabular attribution for ${a.className}`);
    expect(cli.stdout).toMatch(/column\s+value\s+Δ logit\s+Δ probability/);
    expect(cli.stdout).toMatch(/\(image only\)\s+all missing/);
    const fromCli = JSON.parse(readFileSync(json, 'utf8')).predictions[0].tabularAttribution as TabularAttribution;
    expectAllClose(fromCli.columns.map((c) => c.deltaLogit), a.columns.map((c) => c.deltaLogit), { atol: 1e-5, label: 'CLI Δ logit' });
    const image = readFileSync(file).toString('base64');
    const app = buildServer(runDir, { threads: 1 });
    try {
      const r = await app.inject({ method: 'POST', url: '/api/predict', payload: { images: [{ data: image }], meta } });
      expect(r.statusCode).toBe(200);
      const served = r.json().results[0].tabularAttribution as TabularAttribution;
      // (the request's meta is checked by ajv with type coercion, so age arrives, and is echoed, as the text '80')
      expect(served.columns.map((c) => [c.column, String(c.value), c.missing])).toEqual(a.columns.map((c) => [c.column, String(c.value), c.missing]));
      expectAllClose([...served.columns.map((c) => c.deltaProbability), served.imageOnly.deltaProbability],
        [...a.columns.map((c) => c.deltaProbability), a.imageOnly.deltaProbability], { atol: 1e-6, label: 'served Δ probability' });
      const off = await app.inject({ method: 'POST', url: '/api/predict?attribute=false', payload: { images: [{ data: image }], meta } });
      expect(off.json().results[0].tabularAttribution).toBeUndefined();
      expect(off.json().results[0].probabilities).toEqual(r.json().results[0].probabilities);
    } finally {
      await app.close();
    }
  });
});
