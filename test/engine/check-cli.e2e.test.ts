import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../src/engine/index.js';
import { runCli } from '../helpers/cli.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/autodiff/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'medclass-engine-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = runCli;

describe('medclass engine check (spawned CLI)', () => {
  it('passes mlp and bn_mlp, prints the errors and writes --json', async () => {
    const json = join(tmp, 'check.json');
    const r = await cli(['engine', 'check', join(FIXTURES, 'mlp'), join(FIXTURES, 'bn_mlp'), '--json', json, '--threads', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mlp\s+771\s+\S+\s+\S+\s+fc\d\.\w+/);
    expect(r.stdout).toContain('pass');
    const res = JSON.parse(readFileSync(json, 'utf8')) as { tolerance: number; results: { case: string; pass: boolean; maxGradRelError: number; sgdError: number; adamwError: number }[] };
    expect(res.tolerance).toBe(1e-4);
    expect(res.results.map((x) => x.case)).toEqual(['mlp', 'bn_mlp']);
    for (const x of res.results) {
      expect(x.pass).toBe(true);
      expect(x.maxGradRelError).toBeLessThan(1e-4);
      expect(x.sgdError).toBeLessThan(1e-4);
      expect(x.adamwError).toBeLessThan(1e-4);
    }
  });

  it('exits non-zero when the model differs from the reference (a perturbed bias)', async () => {
    const dir = join(tmp, 'perturbed');
    mkdirSync(dir);
    const g = loadModel(join(FIXTURES, 'mlp/model.onnx'));
    const b = g.initializers.get('fc2.bias')!.data as Float32Array;
    b[0] = b[0]! + 0.05;
    writeFileSync(join(dir, 'model.onnx'), saveModel(g));
    copyFileSync(join(FIXTURES, 'mlp/meta.json'), join(dir, 'meta.json'));
    symlinkSync(join(FIXTURES, 'mlp/reference.npz'), join(dir, 'reference.npz'));
    const r = await cli(['engine', 'check', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL');
  });

  it('names a directory without fixtures', async () => {
    const r = await cli(['engine', 'check', tmp + '/nope']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('MC_CLI_BAD_OPTION');
  });
});
