// data.split.seed: on a re-split source the run seed draws the split unless data.split.seed holds it, so seeds of
// one config can be ensembled (buildEnsemble checks the members' data fingerprints: ids, labels and splits).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SplitOptions, assignSplits, openSource } from '../../src/data/index.js';
import { buildEnsemble, runTraining } from '../../src/pipeline/index.js';
import { RunConfig, openRunDir, splitSeed, type RunConfigInput } from '../../src/run/index.js';
import { removeTempDir } from './predict-helpers.js';

const SOURCE = 'phantom:n=90,size=16,seed=4';
const out = mkdtempSync(join(tmpdir(), 'medclass-split-seed-'));
const config = (name: string, seed: number, split: NonNullable<RunConfigInput['data']['split']>): RunConfigInput => ({
  name, out, seed, threads: 1,
  data: { source: SOURCE, preprocess: { size: 16, channels: 1, normalize: 'half' }, split },
  model: { arch: 'compact-cnn', width: 0.25 },
  fit: { epochs: 1, batchSize: 16, lr: 0.004 },
  eval: { bootstrap: 10 },
});
const dir = (name: string) => join(out, name);
const splitsOf = (name: string) => openRunDir(dir(name)).manifest.splits;

describe('data.split.seed', () => {
  beforeAll(async () => {
    await runTraining(config('held-0', 0, { mode: 'stratified', seed: 7 }));
    await runTraining(config('held-1', 1, { mode: 'stratified', seed: 7 }));
    await runTraining(config('free-1', 1, { mode: 'stratified' }));
  }, 180_000);
  afterAll(() => removeTempDir(out));

  it('defaults to the run seed; when set, it alone draws the split', async () => {
    expect(splitSeed(RunConfig.parse(config('a', 3, { mode: 'stratified' })))).toBe(3);
    expect(splitSeed(RunConfig.parse(config('a', 3, { mode: 'stratified', seed: 7 })))).toBe(7);
    const items = (await openSource(SOURCE)).items;
    const want = assignSplits(items, SplitOptions.parse({ mode: 'stratified', seed: 7 }));
    const ids = (s: string) => items.filter((_, i) => want[i] === s).map((it) => it.id).sort();
    for (const name of ['held-0', 'held-1']) {
      const got = splitsOf(name)!;
      expect([...got.val!].sort()).toEqual(ids('val'));
      expect([...got.test!].sort()).toEqual(ids('test'));
    }
    expect(splitsOf('free-1')).not.toEqual(splitsOf('held-1')); // seed 1 without data.split.seed re-splits
  });

  it('runs of two seeds with one split seed ensemble; without it buildEnsemble refuses them', async () => {
    await expect(buildEnsemble([dir('held-0'), dir('free-1')], dir('bad'))).rejects.toMatchObject({ code: 'MC_RUN_ENSEMBLE_MISMATCH' });
    await buildEnsemble([dir('held-0'), dir('held-1')], dir('ens'));
    expect(openRunDir(dir('ens')).manifest.derived?.members.map((m) => m.seed)).toEqual([0, 1]);
  });
});
