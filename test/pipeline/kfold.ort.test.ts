import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SplitOptions, assignSplits, openSource } from '../../src/data/index.js';
import { fitTemperature, parsePredictionsCsv, selectSplit } from '../../src/eval/index.js';
import { evaluateRunDir, runKFold, type KFoldSummary } from '../../src/pipeline/index.js';
import { removeTempDir } from './predict-helpers.js';

const SOURCE = 'phantom:n=150,size=16,seed=2';
const out = mkdtempSync(join(tmpdir(), 'medclass-kfold-'));
const config = {
  name: 'cv', out, seed: 5, threads: 1,
  data: { source: SOURCE, preprocess: { size: 16, channels: 1 as const, normalize: 'half' as const } },
  model: { arch: 'compact-cnn', width: 0.25 },
  fit: { epochs: 2, batchSize: 16, lr: 0.004 },
  eval: { bootstrap: 20 },
};
const read = (f: string) => readFileSync(join(out, 'cv', f), 'utf8');
const manifest = (fold: number) => JSON.parse(read(`fold-${fold}/run.json`));

describe('k-fold end to end (3 folds, phantoms at 16 px)', () => {
  let summary: KFoldSummary;
  beforeAll(async () => {
    summary = await runKFold(config, 3);
  }, 240_000);
  afterAll(() => removeTempDir(out));

  it('writes three fold run directories whose run.json record the fold and the split of every item: val folds partition train+val, test is shared', () => {
    expect(summary.folds).toBe(3);
    const kf = JSON.parse(read('kfold.json'));
    expect(kf.metrics.roc_auc.values).toHaveLength(3);
    expect(kf.metrics.ece_15.values).toHaveLength(3);
    const ms = [1, 2, 3].map(manifest);
    ms.forEach((m, f) => expect(m.fold).toEqual({ index: f + 1, k: 3 }));
    const pool = new Set([...ms[0].splits.train, ...ms[0].splits.val]);
    const vals = ms.flatMap((m) => m.splits.val as string[]);
    expect(new Set(vals).size).toBe(vals.length); // disjoint
    expect(new Set(vals)).toEqual(pool);
    for (const m of ms) expect(m.splits.test).toEqual(ms[0].splits.test);
    expect(new Set(ms.map((m) => m.data.fingerprint)).size).toBe(3);
  });

  it('a second k-fold into the same folder refuses with MC_RUN_EXISTS', async () => {
    await expect(runKFold(config, 3)).rejects.toMatchObject({ code: 'MC_RUN_EXISTS' });
  });

  it('eval --run on a fold directory reproduces its metrics.json byte for byte', async () => {
    const before = read('fold-2/metrics.json');
    await evaluateRunDir(join(out, 'cv', 'fold-2'));
    expect(read('fold-2/metrics.json')).toBe(before);
  });

  it('eval --data on a fold directory evaluates on that fold (metrics.json byte-identical): temperature fitted on exactly its val rows', async () => {
    const m = manifest(2);
    const before = read('fold-2/metrics.json');
    const oldPredictions = parsePredictionsCsv(read('fold-2/predictions.csv'));
    const res = await evaluateRunDir(join(out, 'cv', 'fold-2'), { data: SOURCE, threads: 1 });
    // training scored val/test with the session of model.onnx that eval --data uses: the same bytes again
    expect(read('fold-2/metrics.json')).toBe(before);
    expect(res.splits).toEqual({ recorded: 150, unknown: 0 });
    const t = parsePredictionsCsv(read('fold-2/predictions.csv'));
    const val = selectSplit(t, 'val')!;
    // the rows evaluated as val are the fold's own val items, in source order …
    expect(val.meta.id).toEqual(m.splits.val);
    expect(res.counts.val).toBe(m.splits.val.length);
    // … not the val split the config alone would give (what eval --data used before run.json recorded folds)
    const source = openSource(SOURCE);
    const byConfig = assignSplits(source.items, SplitOptions.parse({ ...m.config.data.split, seed: m.config.seed }));
    const configVal = source.items.filter((_, i) => byConfig[i] === 'val').map((it) => it.id);
    expect(configVal.filter((id) => m.splits.train.includes(id)).length).toBeGreaterThan(0);
    // the temperature is the one fitted independently, by the eval layer, on exactly those rows' logits
    const direct = fitTemperature(val.labels, Float64Array.from(val.scores, Math.fround), 2).temperature;
    expect(res.metrics.temperature).toBe(direct);
    expect(JSON.parse(read('fold-2/calibration.json')).temperature).toBe(direct);
    // the re-run logits are the ones training wrote
    expect(Array.from(selectSplit(oldPredictions, 'val')!.scores)).toEqual(Array.from(val.scores));
  });
});
