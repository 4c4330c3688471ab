// MC-dropout: a 2-epoch compact CNN with dropout 0.3 on a small PneumoniaMNIST subset, turned by `medclass mc-dropout`
// into a run directory whose model.onnx runs T seeded passes with the dropout on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session, f32 } from '../src/engine/index.js';
import { predictiveUncertainty, softmax } from '../src/eval/index.js';
import { RunModel, buildMcDropout, decodeInputs } from '../src/pipeline/index.js';
import { openRunDir, readUncertainty } from '../src/run/index.js';
import { pneumoniaSubset, trainSubsetRun } from './ensemble-helpers.js';
import { removeTempDir } from './pipeline/predict-helpers.js';

let tmp: string;
let base: string;
let x: Float32Array;
const N = 12;
const k = 2;

const run = async (model: string, feeds: Float32Array) => {
  const s = await Session.create(new Uint8Array(readFileSync(model)), { threads: 1 });
  try {
    return await s.run({ x: f32(feeds, [N, 1, 28, 28]) });
  } finally {
    await s.dispose();
  }
};

beforeAll(async () => {
  tmp = await pneumoniaSubset({ train: 60, val: 20, test: 20 });
  base = (await trainSubsetRun(join(tmp, 'data'), join(tmp, 'runs'), 'base', 4)).runDir;
  const t = openRunDir(base).predictions();
  const files = t.meta.id!.filter((_, i) => t.split[i] === 'test').slice(0, N).map((id) => join(tmp, 'data', id));
  const m = await RunModel.open(base, { threads: 1 });
  ({ x } = await decodeInputs(files, m.preprocessOptions, 4));
  await m.dispose();
}, 120_000);
afterAll(() => removeTempDir(tmp));

describe('MC-dropout run directory', () => {
  it('is reproducible under a seed, its passes differ, and logits are the log of the mean pass probabilities', async () => {
    const a = await buildMcDropout(base, join(tmp, 'runs', 'mc-a'), { passes: 8, seed: 7, threads: 1, bootstrap: 20 });
    await buildMcDropout(base, join(tmp, 'runs', 'mc-b'), { passes: 8, seed: 7, threads: 1, bootstrap: 20 });
    await buildMcDropout(base, join(tmp, 'runs', 'mc-d'), { passes: 8, seed: 7, threads: 1, bootstrap: 0, loadChunk: 7 }); // 20 val + 20 test images in chunks of 7
    await buildMcDropout(base, join(tmp, 'runs', 'mc-c'), { passes: 8, seed: 8, threads: 1, bootstrap: 20 });
    const bytes = (d: string) => readFileSync(join(tmp, 'runs', d, 'model.onnx'));
    expect(bytes('mc-a').equals(bytes('mc-b'))).toBe(true);
    expect(bytes('mc-a').equals(bytes('mc-c'))).toBe(false);
    const csv = (d: string) => readFileSync(join(tmp, 'runs', d, 'predictions.csv'), 'utf8');
    expect(csv('mc-a')).toBe(csv('mc-b'));
    // decoding in chunks of 7 changes only the session's batch sizes: the same rows, equal to float32 rounding
    const rows = (d: string) => csv(d).trim().split('\n').map((l) => l.split(','));
    const [ra, rd] = [rows('mc-a'), rows('mc-d')];
    expect(rd.map((r) => r.slice(0, 3))).toEqual(ra.map((r) => r.slice(0, 3)));
    for (let i = 1; i < ra.length; i++) for (let j = 3; j < ra[i]!.length; j++) expect(Math.abs(Number(rd[i]![j]) - Number(ra[i]![j]))).toBeLessThan(1e-5);
    const r = await run(join(tmp, 'runs', 'mc-a', 'model.onnx'), x);
    expect(r.sample_logits!.dims).toEqual([8, N, k]);
    const samples = r.sample_logits!.data as Float32Array;
    const pass = (t: number) => samples.subarray(t * N * k, (t + 1) * N * k);
    let maxDiff = 0;
    for (let i = 0; i < N * k; i++) maxDiff = Math.max(maxDiff, Math.abs(pass(0)[i]! - pass(1)[i]!));
    expect(maxDiff).toBeGreaterThan(1e-3); // two passes, two masks
    const ref = predictiveUncertainty(softmax(Float64Array.from(samples), k), 8, N, k);
    const mean = softmax(Float64Array.from(r.logits!.data as Float32Array), k);
    for (let i = 0; i < N * k; i++) expect(Math.abs(mean[i]! - ref.mean[i]!)).toBeLessThan(1e-6);
    for (let i = 0; i < N; i++) expect(r.mutual_information!.data[i]).toBeCloseTo(ref.mutualInformation[i]!, 5);
    expect(a.uncertainty.test.scores.mutual_information).toBeDefined();
    const run0 = openRunDir(join(tmp, 'runs', 'mc-a'));
    expect(run0.manifest.derived).toMatchObject({ kind: 'mc-dropout', passes: 8, seed: 7, dropout: 0.3 });
    expect(readUncertainty(run0)?.samples).toBe(8);
  }, 120_000);

  it('averages to the deterministic model over many passes (inverted dropout before a linear classifier)', async () => {
    await buildMcDropout(base, join(tmp, 'runs', 'mc-many'), { passes: 400, seed: 1, threads: 1, bootstrap: 0 });
    const mc = await run(join(tmp, 'runs', 'mc-many', 'model.onnx'), x);
    const det = (await run(join(base, 'model.onnx'), x)).logits!.data as Float32Array;
    const samples = mc.sample_logits!.data as Float32Array;
    // E_mask[W(h ⊙ m) + b] = W h + b: the mean pass logit approaches the deterministic one (MC error ~ 1/√T)
    for (let i = 0; i < N * k; i++) {
      let s = 0;
      for (let t = 0; t < 400; t++) s += samples[t * N * k + i]!;
      expect(Math.abs(s / 400 - det[i]!)).toBeLessThan(0.1 + 0.1 * Math.abs(det[i]!));
    }
  }, 120_000);

  it('refuses a run trained without dropout (MC_RUN_NO_DROPOUT)', async () => {
    const plain = (await trainSubsetRun(join(tmp, 'data'), join(tmp, 'runs'), 'plain', 5, { dropout: 0 })).runDir;
    await expect(buildMcDropout(plain, join(tmp, 'runs', 'mc-plain'))).rejects.toMatchObject({ code: 'MC_RUN_NO_DROPOUT' });
  }, 120_000);
});
