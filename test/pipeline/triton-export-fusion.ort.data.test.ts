// Serving a fusion (image + tabular) run: the Triton export's raw-input graph and the KServe v2 route take `tab`
// beside the image and give predict's probabilities; RGB with 'half' normalisation (HAM10000, ham-fusion-helpers.ts).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource, type MetaValue } from '../../src/data/index.js';
import { Session, loadModel, saveModel } from '../../src/engine/index.js';
import { RunModel, buildServingGraph, exportTriton, predictImages } from '../../src/pipeline/index.js';
import { buildServer } from '../../src/serve/index.js';
import { HAM_CSV_OPTIONS, trainHamFusion, writeHam300 } from './ham-fusion-helpers.js';
import { removeTempDir } from './predict-helpers.js';

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe('serving a fusion run (HAM10000, 300 images)', () => {
  let out = '';
  let runDir = '';
  let model: RunModel;
  const cases: { png: string; rgb: Uint8Array; meta: Record<string, string | number | null> }[] = [];
  let expected: number[] = [];

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'medclass-triton-fusion-'));
    const csvPath = writeHam300(out);
    runDir = (await trainHamFusion(out, csvPath)).runDir;
    const src = openSource(csvPath, { csv: HAM_CSV_OPTIONS });
    for (const i of [0, 45, 130]) {
      const img = await src.items[i]!.load();
      // pre-resized to the model size (32 px, squash) by sharp: predict and the raw-input graph read the same pixels
      const rgb = new Uint8Array(await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels } }).removeAlpha().resize(32, 32, { fit: 'fill' }).raw().toBuffer());
      const png = join(out, `case-${i}.png`);
      writeFileSync(png, await sharp(Buffer.from(rgb), { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer());
      const m = src.items[i]!.meta!;
      const v = (x: MetaValue | undefined) => (x === undefined || typeof x === 'boolean' ? null : x);
      cases.push({ png, rgb, meta: { age: v(m.age), sex: v(m.sex), localization: v(m.localization) } });
    }
    for (const c of cases) {
      const [p] = await predictImages(runDir, [c.png], { meta: c.meta, threads: 1 });
      if (p!.error) throw new Error(p!.error.message);
      expected.push(...Object.values(p!.probabilities));
    }
    model = await RunModel.open(runDir, { threads: 1 });
  }, 180_000);

  afterAll(async () => {
    await model?.dispose();
    if (out) removeTempDir(out);
  });

  it('the raw-input Triton graph takes image uint8 [N,32,32,3] and tab [N,F], and gives predict\'s probabilities (1e-5)', async () => {
    const r = await exportTriton(runDir, join(out, 'repo'), { rawInput: true });
    const f = model.tabular!.features.length;
    expect(r.inputs.map((v) => [v.name, v.dtype, v.dims.slice(1)])).toEqual([['image', 'uint8', [32, 32, 3]], ['tab', 'float32', [f]]]);
    expect(r.config).toContain(`name: "tab"\n    data_type: TYPE_FP32\n    dims: [ ${f} ]`);
    expect(r.files).toContain('tabular.json');
    const s = await Session.create(new Uint8Array(readFileSync(join(r.modelDir, '1', 'model.onnx'))), { threads: 1 });
    try {
      const n = cases.length;
      const tab = model.encodeMeta(cases.map((c) => c.meta));
      const image = new Uint8Array(cases.flatMap((c) => Array.from(c.rgb)));
      const y = await s.run({ image: { dtype: 'uint8', dims: [n, 32, 32, 3], data: image }, tab: { dtype: 'float32', dims: [n, f], data: tab } }, ['probabilities']);
      const dp = maxAbs(y.probabilities!.data as Float32Array, expected);
      process.stderr.write(`[triton] fusion raw-input export vs predict: max |Δp| = ${dp.toExponential(2)}\n`);
      expect(dp).toBeLessThanOrEqual(1e-5);
    } finally {
      await s.dispose();
    }
  });

  it('with flip TTA the tabular rows are repeated for the mirrored half (= RunModel.logits with tta)', async () => {
    const s = await Session.create(saveModel(buildServingGraph(loadModel(join(runDir, 'model.onnx')), model.preprocess, { rawInput: true, temperature: model.temperature, tta: true })), { threads: 1 });
    try {
      const n = cases.length;
      const tab = model.encodeMeta(cases.map((c) => c.meta));
      const image = new Uint8Array(cases.flatMap((c) => Array.from(c.rgb)));
      const x = new Float32Array(n * 3 * 1024);
      cases.forEach((c, k) => c.rgb.forEach((v, p) => { x[k * 3072 + (p % 3) * 1024 + Math.floor(p / 3)] = (v / 255 - 0.5) / 0.5; }));
      const y = await s.run({ image: { dtype: 'uint8', dims: [n, 32, 32, 3], data: image }, tab: { dtype: 'float32', dims: [n, tab.length / n], data: tab } }, ['logits']);
      const want = await model.logits(x, n, { tta: true, tab });
      expect(maxAbs(y.logits!.data as Float32Array, want)).toBeLessThanOrEqual(1e-5);
    } finally {
      await s.dispose();
    }
  });

  it('KServe v2: the metadata lists tab, and x + tab give predict\'s probabilities (1e-5)', async () => {
    const app = buildServer(runDir, { threads: 1 });
    try {
      const f = model.tabular!.features.length;
      const meta = (await app.inject({ url: '/v2/models/fusion' })).json() as { inputs: unknown[] };
      expect(meta.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 3, 32, 32] }, { name: 'tab', datatype: 'FP32', shape: [-1, f] }]);
      const n = cases.length;
      // the client's preprocessing for 'half' on RGB: (v/255 − 0.5)/0.5, HWC → CHW
      const x: number[] = [];
      for (const c of cases) for (let ch = 0; ch < 3; ch++) for (let p = 0; p < 1024; p++) x.push((c.rgb[3 * p + ch]! / 255 - 0.5) / 0.5);
      const tab = Array.from(model.encodeMeta(cases.map((c) => c.meta)));
      const r = await app.inject({ method: 'POST', url: '/v2/models/fusion/infer', payload: {
        inputs: [{ name: 'x', shape: [n, 3, 32, 32], datatype: 'FP32', data: x }, { name: 'tab', shape: [n, f], datatype: 'FP32', data: tab }],
        outputs: [{ name: 'probabilities' }],
      } });
      expect(r.statusCode, r.body).toBe(200);
      const p = (r.json() as { outputs: { data: number[] }[] }).outputs[0]!.data;
      expect(maxAbs(p, expected)).toBeLessThanOrEqual(1e-5);
      const missing = await app.inject({ method: 'POST', url: '/v2/models/fusion/infer', payload: { inputs: [{ name: 'x', shape: [n, 3, 32, 32], datatype: 'FP32', data: x }] } });
      expect([missing.statusCode, missing.json()]).toEqual([400, { error: expect.stringMatching(/input 'tab' is missing/) }]);
    } finally {
      await app.close();
    }
  });
});
