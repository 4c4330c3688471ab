import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRunIndex } from '../src/pipeline/index.js';
import { removeTempDir, trainTinyRun } from './pipeline/predict-helpers.js';
import { runCli } from './helpers/cli.js';

/** Splits one CSV line (no quoted commas in these rows except the run name, which is quoted when it has one). */
const fields = (line: string) => line.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"')).slice(0, -1);

describe('medclass compare: k-NN vs model heads from run directories', () => {
  let runDir: string;
  let cleanup: () => void;
  let out: string;
  beforeAll(async () => {
    ({ runDir, cleanup } = await trainTinyRun('cmp', { bootstrap: 40 }));
    await buildRunIndex(runDir, { threads: 1, umap: { nEpochs: 20 } });
    out = mkdtempSync(join(tmpdir(), 'medclass-compare-'));
  }, 240_000);
  afterAll(() => { cleanup?.(); if (out) removeTempDir(out); });

  it('writes compare.csv and compare.md: the k-NN row (k chosen by CV) and the model row carry the runs\' test metrics and CIs', async () => {
    const r = await runCli(['compare', runDir, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const csv = readFileSync(join(out, 'compare.csv'), 'utf8').trim().split('\n');
    const head = fields(csv[0]!);
    expect(head.slice(0, 5)).toEqual(['run', 'n_test', 'roc_auc', 'roc_auc_ci_low', 'roc_auc_ci_high']);
    expect(csv).toHaveLength(3);
    const knnFile = JSON.parse(readFileSync(join(runDir, 'index/knn-metrics.json'), 'utf8'));
    const metrics = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
    const [knnRow, modelRow] = [fields(csv[1]!), fields(csv[2]!)];
    const col = (row: string[], key: string) => Number(row[head.indexOf(key)]);
    const k = knnFile.head.k as number;
    expect(knnFile.head.kSelection.bestK).toBe(k);
    expect(knnRow[0]).toBe(`cmp: k-NN on cmp's embeddings, k = ${k} (5-fold CV on roc_auc), distance votes`);
    expect(modelRow[0]).toBe('cmp: compact-cnn trained end to end');
    for (const [row, rep] of [[knnRow, knnFile.test], [modelRow, metrics.test]] as const) {
      expect(col(row, 'n_test')).toBe(rep.n_test);
      for (const key of ['roc_auc', 'accuracy', 'balanced_accuracy', 'log_loss']) {
        expect(col(row, key)).toBe(rep[key]);
        expect(col(row, `${key}_ci_low`)).toBe(rep.ci.intervals[key][0]);
        expect(col(row, `${key}_ci_high`)).toBe(rep.ci.intervals[key][1]);
      }
    }
    const md = readFileSync(join(out, 'compare.md'), 'utf8');
    expect(md).toContain('| run | n | roc_auc ↑ |');
    expect(md).toContain(`k = ${k} (5-fold CV on roc_auc)`);
    expect(md).toContain(`${metrics.test.roc_auc.toFixed(4)} [${metrics.test.ci.intervals.roc_auc[0].toFixed(4)}, ${metrics.test.ci.intervals.roc_auc[1].toFixed(4)}]`);
    expect(r.stdout).toMatch(/research software, not a diagnostic device/i);
  }, 60_000);

  it('is listed in medclass --help on one line', async () => {
    const r = await runCli(['--help']);
    const lines = r.stdout.split('\n');
    const i = lines.findIndex((l) => /^  compare\b/.test(l));
    expect(i).toBeGreaterThan(0);
    expect(lines[i + 1] ?? '').toMatch(/^ {2}\S|^$/);
  }, 60_000);

  it('--no-knn leaves the k-NN rows out; a folder that is no run directory fails with a code', async () => {
    const r = await runCli(['compare', runDir, '--no-knn']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('k-NN');
    expect(r.stdout).toContain('compact-cnn trained end to end');
    const bad = await runCli(['compare', out]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/MC_TRAIN_BAD_RUN_DIR|MC_RUN_/);
  }, 60_000);
});
