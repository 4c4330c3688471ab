import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainTinyRun } from '../pipeline/predict-helpers.js';
import { runCli } from '../helpers/cli.js';


const cli = (...args: string[]) => runCli(args);

describe('medclass eval --run (spawned CLI)', () => {
  let runDir = '';
  let cleanup = () => undefined as void;
  beforeAll(async () => {
    ({ runDir, cleanup } = await trainTinyRun('cli-eval'));
  }, 180_000);
  afterAll(() => cleanup());

  it('prints the headline table with 95% CIs and n, and rewrites metrics.json with the requested resamples', async () => {
    const r = await cli('eval', '--run', runDir, '--bootstrap', '120');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/test metric\s+value\s+95% CI\s+n\s+ZeroR/);
    const m = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
    expect(m.test.ci.n_resamples).toBe(120);
    const [lo, hi] = m.test.ci.intervals.roc_auc as [number, number];
    expect(r.stdout).toContain(`ROC AUC`);
    expect(r.stdout).toContain(`${lo.toFixed(4)}–${hi.toFixed(4)}`);
    expect(r.stdout).toMatch(new RegExp(`ROC AUC\\s+${m.test.roc_auc.toFixed(4)}`));
    expect(r.stdout).toContain(`  ${m.test.n_test}  `);
    expect(r.stdout).toContain('Research software, not a diagnostic device.');
  }, 180_000);

  it('--data re-runs the model with --subgroups; a bad option is MC_CLI_BAD_OPTION', async () => {
    const r = await cli('eval', '--run', runDir, '--data', 'phantom:n=120,size=32', '--subgroups', 'lesion', '--bootstrap', '50', '--threads', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('evaluated on phantom:n=120,size=32');
    expect(r.stdout).toMatch(/lesion\s+false/);
    const bad = await cli('eval', '--run', runDir, '--alpha', '2');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('MC_CLI_BAD_OPTION');
  }, 180_000);
});
