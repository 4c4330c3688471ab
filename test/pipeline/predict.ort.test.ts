import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phantomSource } from '../../src/data/index.js';
import { RunModel, predictImages, type ImagePrediction } from '../../src/pipeline/index.js';
import { expectAllClose } from '../helpers/all-close.js';
import { TINY_SOURCE, readRunPredictions, removeTempDir, trainTinyRun } from './predict-helpers.js';

type Ok = Extract<ImagePrediction, { label: string }>;
const softmaxT = (z: number[], t: number) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp((v - m) / t));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('predictImages on a trained run', () => {
  let runDir = '';
  let cleanup = () => undefined as void;
  let dir = '';
  const expected: { file: string; logits: number[] }[] = [];

  beforeAll(async () => {
    ({ runDir, cleanup } = await trainTinyRun('predict'));
    dir = mkdtempSync(join(tmpdir(), 'medclass-predict-'));
    // The test rows of predictions.csv, re-encoded losslessly as PNG files (8-bit grey, the phantom's own pixels).
    const src = phantomSource(TINY_SOURCE);
    const rows = readRunPredictions(runDir).filter((r) => r.split === 'test');
    for (const r of rows) {
      const item = src.items.find((it) => it.id === r.id)!;
      const img = await item.load();
      const file = join(dir, `${r.id.replace('/', '-')}.png`);
      writeFileSync(file, await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels } }).png().toBuffer());
      expected.push({ file, logits: r.logits });
    }
    writeFileSync(join(dir, 'empty.png'), new Uint8Array(0));
    writeFileSync(join(dir, 'notes.png'), 'this is not an image');
  }, 180_000);
  afterAll(() => {
    removeTempDir(dir);
    cleanup();
  });

  it('gives the logits of predictions.csv for the same images read back from PNG files', async () => {
    const res = await predictImages(runDir, expected.map((e) => e.file), { threads: 1 });
    expect(res).toHaveLength(expected.length);
    const got = res.map((r) => (r as Ok).logits).flat();
    // predictions.csv keeps 8 significant digits.
    expectAllClose(Float64Array.from(got), Float64Array.from(expected.flatMap((e) => e.logits)), { rtol: 1e-5, atol: 1e-6, label: 'logits' });
  });

  it('softmaxes logits / T with the temperature of calibration.json and names the argmax class', async () => {
    const T = JSON.parse(readFileSync(join(runDir, 'calibration.json'), 'utf8')).temperature as number;
    const [cal] = (await predictImages(runDir, [expected[0]!.file], { threads: 1 })) as Ok[];
    const [raw] = (await predictImages(runDir, [expected[0]!.file], { threads: 1, calibrate: false })) as Ok[];
    expect(cal!.calibrated).toBe(true);
    expect(raw!.calibrated).toBe(false);
    const classes = ['normal', 'lesion'];
    expectAllClose(Float64Array.from(classes.map((c) => cal!.probabilities[c]!)), Float64Array.from(softmaxT(cal!.logits, T)), { rtol: 1e-12, label: 'calibrated p' });
    expectAllClose(Float64Array.from(classes.map((c) => raw!.probabilities[c]!)), Float64Array.from(softmaxT(raw!.logits, 1)), { rtol: 1e-12, label: 'raw p' });
    expect(cal!.label).toBe(classes[cal!.logits[1]! > cal!.logits[0]! ? 1 : 0]);
  });

  it('builds LAC sets from the q̂ in metrics.json: a class is in the set when 1 − p ≤ q̂', async () => {
    const metrics = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
    const q = metrics.test['conformal_lac_alpha_0.1'].qhat as number | null;
    const res = (await predictImages(runDir, expected.map((e) => e.file), { threads: 1 })) as Ok[];
    for (const r of res) {
      expect(r.conformalLevel).toBeCloseTo(0.9, 12);
      expect(r.conformalSet).toEqual(Object.keys(r.probabilities).filter((c) => q === null || 1 - r.probabilities[c]! <= q));
    }
    // The sets reproduce the coverage metrics.json reports for these same test rows.
    const truth = readRunPredictions(runDir).filter((r) => r.split === 'test').map((r) => ['normal', 'lesion'][r.label]!);
    const coverage = res.filter((r, i) => r.conformalSet!.includes(truth[i]!)).length / res.length;
    expect(coverage).toBeCloseTo(metrics.test['conformal_lac_alpha_0.1'].coverage, 10);
    const none = (await predictImages(runDir, [expected[0]!.file], { conformal: 'none', threads: 1 })) as Ok[];
    expect(none[0]!.conformalSet).toBeUndefined();
  });

  it('reports unreadable, empty and missing files per file and still predicts the good ones', async () => {
    const res = await predictImages(runDir, [join(dir, 'notes.png'), expected[0]!.file, join(dir, 'empty.png'), join(dir, 'nope.png'), { name: 'upload.bin', bytes: new Uint8Array([1, 2, 3]) }], { threads: 1 });
    expect(res.map((r) => r.error?.code)).toEqual(['MC_DATA_NOT_AN_IMAGE', undefined, 'MC_DATA_EMPTY_FILE', 'MC_DATA_MISSING_FILE', 'MC_DATA_NOT_AN_IMAGE']);
    expect(res[0]!.error!.message).toContain('notes.png');
    expect((res[1] as Ok).label).toMatch(/^(normal|lesion)$/);
  });

  it('throws MC_TRAIN_BAD_RUN_DIR for a folder that is not a run', async () => {
    await expect(RunModel.open(dir)).rejects.toMatchObject({ code: 'MC_TRAIN_BAD_RUN_DIR' });
  });

});
