import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateRunDir } from '../../src/pipeline/index.js';
import { expectAllClose } from '../helpers/all-close.js';
import { TINY_SOURCE, readRunPredictions, removeTempDir, trainTinyRun } from './predict-helpers.js';

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

/** ROC AUC by Mann–Whitney: P(score of a positive > score of a negative) + ½ P(tie). */
function mannWhitneyAuc(labels: number[], scores: number[]): number {
  let wins = 0;
  let pairs = 0;
  labels.forEach((yi, i) => labels.forEach((yj, j) => {
    if (yi !== 1 || yj !== 0) return;
    pairs++;
    wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
  }));
  return wins / pairs;
}

describe('evaluateRunDir', () => {
  let trained = '';
  let cleanup = () => undefined as void;
  const copies: string[] = [];
  const copy = () => {
    const d = join(mkdtempSync(join(tmpdir(), 'medclass-eval-')), 'run');
    cpSync(trained, d, { recursive: true });
    copies.push(dirname(d));
    return d;
  };

  beforeAll(async () => {
    ({ runDir: trained, cleanup } = await trainTinyRun('evaluate', { bootstrap: 200 }));
  }, 180_000);
  afterAll(() => {
    for (const d of copies) removeTempDir(d);
    cleanup();
  });

  it('from predictions.csv with the run\'s seed reproduces the run\'s metrics.json and calibration.json byte for byte', async () => {
    const dir = copy();
    const before = readFileSync(join(dir, 'metrics.json'), 'utf8');
    const cal = readFileSync(join(dir, 'calibration.json'), 'utf8');
    const res = await evaluateRunDir(dir);
    expect(res.evaluatedOn).toBe('predictions.csv');
    // predictions.csv keeps 9 significant digits of the float32 logits, read back as exactly those floats
    expect(readFileSync(join(dir, 'metrics.json'), 'utf8')).toBe(before);
    expect(readFileSync(join(dir, 'calibration.json'), 'utf8')).toBe(cal);
    const after = readJson(join(dir, 'metrics.json'));
    expect(after.classes).toEqual(['normal', 'lesion']);
    expect(after.params).toEqual(res.params);
    expect(after.evaluated_on).toBe(TINY_SOURCE);
    expect(readJson(join(dir, 'calibration.json')).temperature).toBe(after.test.temperature);
  });

  it('options given to eval (--bootstrap, --alpha) change metrics.json and are recorded as params', async () => {
    const dir = copy();
    const res = await evaluateRunDir(dir, { bootstrap: 30, alpha: 0.2 });
    const m = readJson(join(dir, 'metrics.json'));
    expect(m.params).toMatchObject({ bootstrap: 30, alpha: 0.2, targetSensitivity: 0.9 });
    expect(m.test.ci.n_resamples).toBe(30);
    expect(Object.keys(m.test).filter((k) => k.startsWith('conformal_'))).toEqual(['conformal_lac_alpha_0.2', 'conformal_aps_alpha_0.2']);
    expect(res.metrics.temperature).toBe(m.test.temperature);
  });

  it('agrees with accuracy and Mann–Whitney AUC computed directly from predictions.csv', async () => {
    const dir = copy();
    const res = await evaluateRunDir(dir, { bootstrap: 0 });
    const rows = readRunPredictions(dir).filter((r) => r.split === 'test');
    const labels = rows.map((r) => r.label);
    const margin = rows.map((r) => r.logits[1]! - r.logits[0]!);
    expect(res.metrics.accuracy).toBeCloseTo(rows.filter((r) => (r.logits[1]! > r.logits[0]! ? 1 : 0) === r.label).length / rows.length, 12);
    expect(res.metrics.roc_auc).toBeCloseTo(mannWhitneyAuc(labels, margin), 12);
    expect(res.metrics.ci).toBeNull();
  });

  it('with --data re-runs model.onnx on the same val/test split, keeps metadata columns and reports subgroups', async () => {
    const dir = copy();
    const old = readRunPredictions(dir);
    const res = await evaluateRunDir(dir, { data: TINY_SOURCE, subgroups: ['lesion'], bootstrap: 50, threads: 1, loadChunk: 7 }); // splits run in chunks of 7
    expect(res.counts).toEqual({ val: old.filter((r) => r.split === 'val').length, test: old.filter((r) => r.split === 'test').length });
    const header = readFileSync(join(dir, 'predictions.csv'), 'utf8').split('\n')[0];
    expect(header).toBe('split,id,label,logit_0,logit_1,label_name,pred_name,cal_prob_0,cal_prob_1,lesion,cx,cy,radius');
    const now = readRunPredictions(dir);
    expect(now.map((r) => r.id)).toEqual(old.map((r) => r.id));
    expectAllClose(Float64Array.from(now.flatMap((r) => r.logits)), Float64Array.from(old.flatMap((r) => r.logits)), { rtol: 1e-5, atol: 1e-6, label: 'logits' });
    const groups = res.metrics.subgroups.filter((g) => g.column === 'lesion');
    expect(groups.map((g) => g.value).sort()).toEqual(['false', 'true']);
    expect(groups.reduce((s, g) => s + g.n, 0)).toBe(res.metrics.n_test);
    const m = readJson(join(dir, 'metrics.json'));
    expect(m.evaluated_on).toBe(TINY_SOURCE);
    expect(JSON.stringify(m)).not.toContain(tmpdir());
  });

  it('throws MC_TRAIN_BAD_RUN_DIR when predictions.csv is missing, naming --data as the way out', async () => {
    const dir = copy();
    rmSync(join(dir, 'predictions.csv'));
    await expect(evaluateRunDir(dir)).rejects.toMatchObject({ code: 'MC_TRAIN_BAD_RUN_DIR', hint: expect.stringContaining('--data') });
  });
});
