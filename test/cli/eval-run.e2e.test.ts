import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'medclass-evalrun-'));
const config = join(dir, 'ts.yaml');
writeFileSync(config, `
seed: 3
threads: 1
data:
  source: "phantom:n=120,size=32"
  preprocess: { size: 32, channels: 1 }
fit: { epochs: 2, batchSize: 16 }
eval: { bootstrap: 50, targetSensitivity: 0.5, alpha: 0.2 }
`);
const train = (...extra: string[]) => runCli(['train', '--config', config, '--out', dir, '--name', 'ts', '-q', '--no-report', ...extra]);
const bytes = (f: string) => readFileSync(join(dir, 'ts', f));

describe('medclass eval --run reproduces the run (spawned CLI)', () => {
  beforeAll(async () => {
    const r = await train();
    expect(r.code, r.stderr).toBe(0);
  }, 180_000);
  afterAll(() => removeTempDir(dir));

  it('a run trained with eval.targetSensitivity 0.5 and alpha 0.2: eval --run rewrites metrics.json byte for byte', async () => {
    const before = bytes('metrics.json');
    const cal = bytes('calibration.json');
    const m = JSON.parse(before.toString());
    expect(m.params).toMatchObject({ targetSensitivity: 0.5, alpha: 0.2, bootstrap: 50, bins: 15 });
    expect(m.test.operating_points['1'][0].criterion).toBe('sensitivity_0.5');
    expect(Object.keys(m.test)).toContain('conformal_lac_alpha_0.2');
    const r = await runCli(['eval', '--run', join(dir, 'ts')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('LAC α=0.2');
    expect(bytes('metrics.json').equals(before)).toBe(true);
    expect(bytes('calibration.json').equals(cal)).toBe(true);
    const run = JSON.parse(bytes('run.json').toString());
    expect(run.files.find((f: { path: string }) => f.path === 'metrics.json').bytes).toBe(before.length);
  }, 120_000);

  it('train twice into the same name refuses with MC_RUN_EXISTS; --force leaves no stale report, model card, explain/ or index/', async () => {
    const rep = await runCli(['report', '--run', join(dir, 'ts'), '--no-gradcam']);
    expect(rep.code, rep.stderr).toBe(0);
    mkdirSync(join(dir, 'ts', 'explain'), { recursive: true });
    writeFileSync(join(dir, 'ts', 'explain', 'old.png'), 'stale');
    const model = bytes('model.onnx');
    const again = await train();
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^MC_RUN_EXISTS: .*ts already holds a run/m);
    expect(again.stderr).toContain('--force');
    expect(bytes('model.onnx').equals(model)).toBe(true); // untouched
    const forced = await train('--force', '--seed', '4');
    expect(forced.code, forced.stderr).toBe(0);
    for (const f of ['report.html', 'model-card.md', 'explain']) expect(existsSync(join(dir, 'ts', f)), f).toBe(false);
    const run = JSON.parse(bytes('run.json').toString());
    expect(run.seed).toBe(4);
    expect(run.files.map((f: { path: string }) => f.path)).not.toContain('report.html');
  }, 180_000);

  it('a run directory of an older medclass (summary.json, no run.json) is MC_RUN_OLD_FORMAT', async () => {
    const old = join(dir, 'old');
    mkdirSync(old);
    for (const f of ['summary.json', 'metrics.json', 'predictions.csv', 'preprocess.json']) writeFileSync(join(old, f), f.endsWith('.json') ? '{}' : 'split,label\n');
    const r = await runCli(['eval', '--run', old]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MC_RUN_OLD_FORMAT');
    expect(r.stderr).toContain('older medclass');
  }, 60_000);
});
