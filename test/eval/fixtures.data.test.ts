import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { evaluatePredictions, parsePredictionsCsv, readPredictionsCsv, selectSplit, type EvalEvent } from '../../src/eval/index.js';

const FIXTURES = new URL('../../../shared/fixtures/metrics/', import.meta.url);
const CASES = ['binary_imbalanced', 'multiclass_5', 'multiclass_7_small'];

/** Tolerance per reference key: fixtures README (1e-6 absolute, temperature 1e-3, conformal coverage and set size exact). */
function tolerance(path: string): number {
  if (path === 'temperature') return 1e-3;
  if (/^conformal_.*\.(coverage|mean_set_size)$/.test(path)) return 0;
  if (/\.(count|support)$|^(classes|n_test|n_val|roc_points)$|^confusion_matrix/.test(path)) return 0;
  return 1e-6;
}

/** Walks every leaf of `expected` and checks the same path in `actual`; returns the leaves checked. */
function compareAll(actual: unknown, expected: unknown, path: string, failures: string[]): number {
  if (expected === null) {
    if (actual !== null) failures.push(`${path}: expected null, found ${JSON.stringify(actual)}`);
    return 1;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      failures.push(`${path}: expected array of ${expected.length}, found ${JSON.stringify(actual)?.slice(0, 80)}`);
      return 1;
    }
    return expected.reduce((n: number, e, i) => n + compareAll(actual[i], e, `${path}[${i}]`, failures), 0);
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || actual === null) {
      failures.push(`${path}: expected an object, found ${JSON.stringify(actual)}`);
      return 1;
    }
    return Object.entries(expected).reduce((n, [k, e]) => n + compareAll((actual as Record<string, unknown>)[k], e, path ? `${path}.${k}` : k, failures), 0);
  }
  const tol = tolerance(path);
  if (typeof actual !== 'number' || !(Math.abs(actual - (expected as number)) <= tol)) {
    failures.push(`${path}: expected ${expected} (±${tol}), found ${actual}`);
  }
  return 1;
}

describe('evaluatePredictions matches scikit-learn 1.2.1 on ../shared/fixtures/metrics', () => {
  for (const name of CASES) {
    it(`${name}: every value of reference.json`, () => {
      const reference = JSON.parse(readFileSync(new URL(`${name}/reference.json`, FIXTURES), 'utf8'));
      const table = readPredictionsCsv(new URL(`${name}/predictions.csv`, FIXTURES).pathname, `${name}/predictions.csv`);
      const events: EvalEvent[] = [];
      const report = evaluatePredictions(
        { classes: table.classes, scoreKind: table.scoreKind, val: selectSplit(table, 'val'), test: selectSplit(table, 'test')! },
        { bootstrap: 200 }, new Rng(0), (e) => events.push(e),
      );
      // Through JSON, as `medclass metrics --json` writes it.
      const json = JSON.parse(JSON.stringify(report));
      const failures: string[] = [];
      const checked = compareAll(json, reference, '', failures);
      expect(failures).toEqual([]);
      expect(checked).toBeGreaterThan(60);
      expect(events).toEqual([]);
    });
  }
});

describe('binary_imbalanced: CIs, calibration and conformal claims of issue 5', () => {
  const table = readPredictionsCsv(new URL('binary_imbalanced/predictions.csv', FIXTURES).pathname);
  const input = { classes: table.classes, scoreKind: table.scoreKind, val: selectSplit(table, 'val'), test: selectSplit(table, 'test')! };

  it('the 95 % CI of AUC (1000 stratified resamples) contains the point estimate, is 0.02–0.04 wide and is reproducible', () => {
    const a = evaluatePredictions(input, { bootstrap: 1000 }, new Rng(0));
    const b = evaluatePredictions(input, { bootstrap: 1000 }, new Rng(0));
    const c = evaluatePredictions(input, { bootstrap: 1000 }, new Rng(1));
    const [lo, hi] = a.ci!.intervals.roc_auc!;
    expect(lo).toBeLessThan(a.roc_auc!);
    expect(hi).toBeGreaterThan(a.roc_auc!);
    expect(hi - lo).toBeGreaterThan(0.02);
    expect(hi - lo).toBeLessThan(0.04);
    expect(b.ci).toEqual(a.ci);
    expect(c.ci!.intervals.roc_auc).not.toEqual(a.ci!.intervals.roc_auc);
    for (const [key, [l, h]] of Object.entries(a.ci!.intervals)) expect(l, key).toBeLessThanOrEqual(h);
  });

  it('ECE falls from 0.0448 to 0.0170 after temperature scaling; LAC sets at α = 0.1 cover ≥ 0.90 of test rows', () => {
    const r = evaluatePredictions(input, { bootstrap: 0, mondrian: true }, new Rng(0)) as unknown as Record<string, number & Record<string, number>>;
    expect(r.ece_15).toBeCloseTo(0.0448, 4);
    expect(r.ece_15_after_temperature).toBeCloseTo(0.0170, 4);
    expect(r['conformal_lac_alpha_0.1']!.coverage).toBeGreaterThanOrEqual(0.9);
    expect(r['conformal_lac_mondrian_alpha_0.1']!.coverage).toBeGreaterThanOrEqual(0.9);
    expect(r['conformal_aps_alpha_0.1']!.coverage).toBeGreaterThanOrEqual(0.9);
  });

  it('ZeroR predicts the majority class: accuracy = test share of class 0, balanced accuracy 0.5, AUC 0.5', () => {
    const r = evaluatePredictions(input, { bootstrap: 0 }, new Rng(0));
    expect(r.zero_r.majority_class).toBe(0);
    expect(r.zero_r.metrics.accuracy).toBeCloseTo(756 / 1000, 12);
    expect(r.zero_r.metrics.balanced_accuracy).toBe(0.5);
    expect(r.zero_r.metrics.roc_auc).toBe(0.5);
  });

  it('prob_* columns give the same metrics as logit_* (softmax applied by the reader of the file)', () => {
    const probs = table.scores.slice();
    for (let i = 0; i < table.labels.length; i++) {
      const z0 = table.scores[2 * i]!;
      const z1 = table.scores[2 * i + 1]!;
      const p1 = 1 / (1 + Math.exp(z0 - z1));
      probs[2 * i] = 1 - p1;
      probs[2 * i + 1] = p1;
    }
    const csv = ['split,label,prob_0,prob_1', ...Array.from(table.labels, (y, i) => `${table.split[i]},${y},${probs[2 * i]},${probs[2 * i + 1]}`)].join('\n');
    const t2 = parsePredictionsCsv(csv, 'probs.csv');
    expect(t2.scoreKind).toBe('prob');
    const r = evaluatePredictions({ classes: 2, scoreKind: 'prob', val: selectSplit(t2, 'val'), test: selectSplit(t2, 'test')! }, { bootstrap: 0 }, new Rng(0));
    const ref = JSON.parse(readFileSync(new URL('binary_imbalanced/reference.json', FIXTURES), 'utf8'));
    expect(r.roc_auc).toBeCloseTo(ref.roc_auc, 9);
    expect(r.log_loss).toBeCloseTo(ref.log_loss, 9);
    expect(r.temperature).toBeCloseTo(ref.temperature, 3);
    expect((r as unknown as Record<string, number>).ece_15_after_temperature).toBeCloseTo(ref.ece_15_after_temperature, 6);
  });
});
