import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const FIXTURES = new URL('../../../shared/fixtures/metrics/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'medclass-metrics-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = runCli;

describe('medclass metrics (spawned CLI)', () => {
  it('--json matches reference.json of multiclass_7_small and the table shows CIs and the disclaimer', async () => {
    const jsonFile = join(tmp, 'm7.json');
    const r = await cli(['metrics', join(FIXTURES, 'multiclass_7_small/predictions.csv'), '--json', jsonFile, '--bootstrap', '200', '--seed', '3']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('research software, not a diagnostic device');
    expect(r.stdout).toMatch(/accuracy\s+0\.553 \[0\.\d{3}, 0\.\d{3}\]/);
    expect(r.stdout).toContain('temperature T = 0.6706');
    const json = JSON.parse(readFileSync(jsonFile, 'utf8'));
    const ref = JSON.parse(readFileSync(join(FIXTURES, 'multiclass_7_small/reference.json'), 'utf8'));
    for (const key of ['accuracy', 'balanced_accuracy', 'macro_f1', 'mcc', 'quadratic_kappa', 'roc_auc_ovr_macro', 'brier_multiclass', 'log_loss', 'ece_15', 'ece_15_after_temperature']) {
      expect(Math.abs(json[key] - ref[key]), key).toBeLessThan(1e-6);
    }
    expect(json.confusion_matrix).toEqual(ref.confusion_matrix);
    expect(json['conformal_lac_alpha_0.1'].coverage).toBe(ref['conformal_lac_alpha_0.1'].coverage);
    expect(json['conformal_lac_alpha_0.1'].mean_set_size).toBe(ref['conformal_lac_alpha_0.1'].mean_set_size);
    expect(json.seed).toBe(3);
    expect(json.ci.n_resamples).toBe(200);

    // --compare on two runs' metrics.json
    mkdirSync(join(tmp, 'runA'));
    mkdirSync(join(tmp, 'runB'));
    writeFileSync(join(tmp, 'runA/metrics.json'), JSON.stringify(json));
    writeFileSync(join(tmp, 'runB/metrics.json'), JSON.stringify({ ...json, accuracy: 0.6 }));
    const c = await cli(['metrics', '--compare', join(tmp, 'runA/metrics.json'), join(tmp, 'runB/metrics.json'), '--csv', join(tmp, 'cmp.csv'), '--md', join(tmp, 'cmp.md')]);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain('| runB |');
    expect(readFileSync(join(tmp, 'cmp.csv'), 'utf8').split('\n')[0]).toMatch(/^run,n_test,accuracy,accuracy_ci_low,accuracy_ci_high,/);
    expect(readFileSync(join(tmp, 'cmp.md'), 'utf8')).toContain('| **0.600 [');
    // a training run directory's metrics.json nests the test metrics under `test`
    mkdirSync(join(tmp, 'runC'));
    writeFileSync(join(tmp, 'runC/metrics.json'), JSON.stringify({ disclaimer: 'x', classes: ['a', 'b'], test: { ...json, accuracy: 0.7 }, val: null }));
    const d = await cli(['metrics', '--compare', join(tmp, 'runA/metrics.json'), join(tmp, 'runC/metrics.json')]);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/\| runC \| \d+ \| \**0\.700 \[/);
  });

  it('a malformed file exits non-zero with MC_EVAL_BAD_PREDICTIONS naming line and column', async () => {
    const bad = join(tmp, 'bad.csv');
    writeFileSync(bad, 'split,label,logit_0,logit_1\nval,0,1,2\ntest,1,0.5,oops\n');
    const r = await cli(['metrics', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MC_EVAL_BAD_PREDICTIONS');
    expect(r.stderr).toContain('line 3, column logit_1: expected a finite number, found "oops"');
  });

  it('an invalid option is MC_CLI_BAD_OPTION', async () => {
    const r = await cli(['metrics', join(FIXTURES, 'multiclass_7_small/predictions.csv'), '--alpha', '1.5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MC_CLI_BAD_OPTION');
    expect(r.stderr).toContain('alpha');
  });
});
