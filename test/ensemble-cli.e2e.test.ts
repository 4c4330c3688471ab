// `medclass ensemble` and `medclass mc-dropout` as a user runs them: spawned CLI on two small PneumoniaMNIST runs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { pneumoniaSubset, trainSubsetRun } from './ensemble-helpers.js';
import { removeTempDir } from './pipeline/predict-helpers.js';

let tmp: string;
let runs: string[];

beforeAll(async () => {
  tmp = await pneumoniaSubset({ train: 40, val: 15, test: 20 });
  runs = [];
  for (const seed of [1, 2]) runs.push((await trainSubsetRun(join(tmp, 'data'), join(tmp, 'runs'), `r${seed}`, seed)).runDir);
}, 120_000);
afterAll(() => removeTempDir(tmp));

describe('medclass ensemble / mc-dropout (CLI)', () => {
  it('ensemble writes a run directory and prints the single model beside the ensemble; --json holds the figures', async () => {
    const out = join(tmp, 'runs', 'ens');
    const json = join(tmp, 'ens.json');
    const r = await runCli(['ensemble', ...runs, '--out', out, '--threads', '1', '--bootstrap', '20', '--json', json]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('deep ensemble of 2');
    expect(r.stdout).toMatch(/error-detection AUROC, mutual information\s+–\s+\d\.\d{4}/);
    expect(existsSync(join(out, 'model.onnx'))).toBe(true);
    const j = JSON.parse(readFileSync(json, 'utf8')) as { uncertainty: { test: { n: number } } };
    expect(j.uncertainty.test.n).toBe(40);
    const again = await runCli(['ensemble', ...runs, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('MC_RUN_EXISTS');
  }, 120_000);

  it('mc-dropout refuses a run without dropout with MC_RUN_NO_DROPOUT and its hint', async () => {
    const plain = (await trainSubsetRun(join(tmp, 'data'), join(tmp, 'runs'), 'plain', 3, { dropout: 0 })).runDir;
    const r = await runCli(['mc-dropout', plain, '--out', join(tmp, 'runs', 'mc'), '--passes', '5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MC_RUN_NO_DROPOUT');
    expect(r.stderr).toContain('hint: train with model.dropout > 0');
    const ok = await runCli(['mc-dropout', runs[0]!, '--out', join(tmp, 'runs', 'mc'), '--passes', '5', '--threads', '1', '--bootstrap', '0']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('MC-dropout, 5 passes');
  }, 120_000);
});
