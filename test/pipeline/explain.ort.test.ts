import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dataset, phantomSource } from '../../src/data/index.js';
import { camClassifier } from '../../src/explain/index.js';
import { explainImages, explainTensors, openExplainer, predictImages, runTraining, type ImageExplanation } from '../../src/pipeline/index.js';
import { expectAllClose } from '../helpers/all-close.js';
import { removeTempDir } from './predict-helpers.js';

// A compact CNN trained 6 epochs on 400 lesion phantoms at 32 px (about 7 s on an idle core; test AUC ≈ 0.99 with
// seed 3). Three epochs leave it near chance (AUC ≈ 0.63), and a map of a model that has not learnt says nothing.
const SOURCE = 'phantom:n=400,size=32';
type Ok = Extract<ImageExplanation, { label: string }>;

describe('Grad-CAM on a trained phantom run', () => {
  let out = '';
  let runDir = '';
  let dir = '';
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'medclass-explain-'));
    dir = mkdtempSync(join(tmpdir(), 'medclass-explain-img-'));
    ({ runDir } = await runTraining({
      name: 'explain', out, seed: 3, threads: 1,
      data: { source: SOURCE, preprocess: { size: 32, channels: 1 } },
      fit: { epochs: 6, batchSize: 16 },
      eval: { bootstrap: 0 },
    }));
  }, 180_000);
  afterAll(() => { removeTempDir(out); removeTempDir(dir); });

  it('puts the peak of the lesion-class map inside the blob on most test lesion images', async () => {
    const src = phantomSource(SOURCE);
    const ds = new Dataset(src, { cacheTensors: false });
    const ex = await openExplainer(runDir, { threads: 1 });
    try {
      const idx = ds.indicesOf('test').filter((i) => src.items[i]!.label === 'lesion');
      const b = await ds.loadBatch(idx, ex.model.preprocessOptions);
      const res = await explainTensors(ex, b.x.data, idx.length, src.classes.indexOf('lesion'));
      let inside = 0;
      let near = 0;
      res.forEach((r, j) => {
        const m = src.items[b.indices[j]!]!.meta as { cx: number; cy: number; radius: number };
        // pixel (x, y) covers [x, x+1); the blob's centre is in continuous pixel coordinates
        const d = Math.hypot(r.peak.x + 0.5 - m.cx, r.peak.y + 0.5 - m.cy);
        if (d <= m.radius) inside++;
        if (d <= m.radius + 2) near++; // half a cell of the 8×8 feature map
      });
      // Measured: 23/30 inside the blob (radius 1.5–3.5 px, i.e. 1–4 % of the 32×32 image), 28/30 within radius + 2 px.
      expect(res).toHaveLength(30);
      expect(inside / res.length).toBeGreaterThanOrEqual(0.5);
      expect(near / res.length).toBeGreaterThanOrEqual(0.75);
    } finally {
      await ex.dispose();
    }
  });

  it('agrees with plain CAM on the trained GAP → linear compact CNN', async () => {
    const ex = await openExplainer(runDir, { threads: 1 });
    try {
      const clf = camClassifier(new Uint8Array(readFileSync(join(runDir, 'model.onnx'))));
      const src = phantomSource(SOURCE);
      const b = await new Dataset(src, { cacheTensors: false }).loadBatch([1, 3], ex.model.preprocessOptions);
      const [r] = await ex.gradCam.explain(b.x.data, 2, 1);
      const [c, h, w] = ex.gradCam.spec.featureDims as [number, number, number];
      expectAllClose(r!.weights, Array.from(clf.weight.subarray(c, 2 * c), (v) => v / (h * w)), { rtol: 1e-4, atol: 1e-7, label: 'alpha vs W[lesion]/(h·w)' });
    } finally {
      await ex.dispose();
    }
  });

  it('writes one overlay PNG per readable file and reports label and probability as predict does', async () => {
    const src = phantomSource(SOURCE);
    const files: string[] = [];
    for (const i of [1, 2, 5]) {
      const img = await src.items[i]!.load();
      const file = join(dir, `case-${i}.png`);
      writeFileSync(file, await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 1 } }).png().toBuffer());
      files.push(file);
    }
    writeFileSync(join(dir, 'broken.png'), 'not an image');
    const outDir = join(dir, 'overlays');
    const res = await explainImages(runDir, [...files, join(dir, 'broken.png')], { out: outDir, threads: 1 });
    const pred = await predictImages(runDir, files, { threads: 1 });
    expect(res[3]).toMatchObject({ error: { code: 'MC_DATA_NOT_AN_IMAGE' } });
    for (let i = 0; i < 3; i++) {
      const r = res[i] as Ok;
      const p = pred[i] as Extract<typeof pred[number], { label: string }>;
      expect(r.label).toBe(p.label);
      expect(r.explained).toBe(p.label);
      expect(r.probability).toBeCloseTo(p.probabilities[p.label]!, 5);
      expect(basename(r.png!)).toBe(`case-${[1, 2, 5][i]}.gradcam.png`);
      const meta = await sharp(readFileSync(r.png!)).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 2 * 256 + 4, 256, 3]);
    }
    const forced = await explainImages(runDir, [files[0]!], { out: outDir, className: 'normal', threads: 1 });
    expect((forced[0] as Ok).explained).toBe('normal');
    await expect(explainImages(runDir, files, { className: 'tumour' })).rejects.toMatchObject({ code: 'MC_EXPLAIN_BAD_TARGET' });
    expect(existsSync(join(runDir, 'explain'))).toBe(false);
  });
});
