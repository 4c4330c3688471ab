import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { evaluatePredictions, readPredictionsCsv, selectSplit, type EvalEvent } from '../../src/eval/index.js';

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
