import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { compareReports, comparisonToCsv, comparisonToMarkdown, computeSplitMetrics, evaluatePredictions, softmax } from '../../src/eval/index.js';
import { isMedclassError } from '../../src/errors.js';

function synthetic(n: number, K: number, seed: number) {
  const rng = new Rng(seed);
  const labels = new Int32Array(n);
  const logits = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.int(0, K);
    for (let k = 0; k < K; k++) logits[i * K + k] = rng.normal() + (k === labels[i] ? 1.5 : 0);
  }
  return { labels, logits };
}

describe('subgroups', () => {
  const test = synthetic(400, 2, 5);
  const site = Array.from({ length: 400 }, (_, i) => (i < 12 ? 'tiny' : i % 2 ? 'A' : 'B'));
  const report = evaluatePredictions({ classes: 2, scoreKind: 'logit', test: { labels: test.labels, scores: test.logits, meta: { site } } }, { bootstrap: 200, subgroups: ['site'] }, new Rng(0));

  it('reports each value with n, CI and the gap to the overall figure; values equal metrics on the subset', () => {
    expect(report.subgroups.map((g) => [g.value, g.n])).toEqual([['A', 194], ['B', 194], ['tiny', 12]]);
    const a = report.subgroups[0]!;
    const idx = site.flatMap((s, i) => (s === 'A' ? [i] : []));
    const probs = softmax(test.logits, 2);
    const sub = computeSplitMetrics(Int32Array.from(idx, (i) => test.labels[i]!), Float64Array.from(idx.flatMap((i) => [probs[2 * i]!, probs[2 * i + 1]!])), 2);
    expect(a.metrics.roc_auc!.value).toBeCloseTo(sub.roc_auc!, 12);
    expect(a.metrics.roc_auc!.gap).toBeCloseTo(sub.roc_auc! - report.roc_auc!, 12);
    expect(a.metrics.accuracy!.ci!.low).toBeLessThanOrEqual(a.metrics.accuracy!.value);
    expect(a.metrics.accuracy!.ci!.high).toBeGreaterThanOrEqual(a.metrics.accuracy!.value);
    expect(a.small).toBe(false);
    expect(report.subgroups[2]!.small).toBe(true);
  });

  it('an unknown subgroup column is a coded error naming the available columns', () => {
    try {
      evaluatePredictions({ classes: 2, scoreKind: 'logit', test: { labels: test.labels, scores: test.logits, meta: { site } } }, { bootstrap: 0, subgroups: ['sex'] }, new Rng(0));
      expect.unreachable();
    } catch (e) {
      expect(isMedclassError(e, 'MC_EVAL_BAD_PREDICTIONS')).toBe(true);
      expect((e as Error).message).toContain('"sex" is not in the predictions (metadata columns: site)');
    }
  });
});

describe('model comparison', () => {
  const a = { accuracy: 0.8, log_loss: 0.5, n_test: 100, ci: { intervals: { accuracy: [0.72, 0.87] } } };
  const b = { accuracy: 0.85, log_loss: 0.6, n_test: 100, ci: null };
  const t = compareReports([{ name: 'knn', report: a }, { name: 'mlp', report: b }]);

  it('keeps only metrics some run reports and marks the best by each metric direction', () => {
    expect(t.columns.map((c) => c.key)).toEqual(['accuracy', 'log_loss']);
    expect(t.rows[1]!.cells[0]!.best).toBe(true); // higher accuracy
    expect(t.rows[0]!.cells[1]!.best).toBe(true); // lower log loss
  });

  it('renders CSV and Markdown with CIs', () => {
    expect(comparisonToCsv(t)).toBe('run,n_test,accuracy,accuracy_ci_low,accuracy_ci_high,log_loss,log_loss_ci_low,log_loss_ci_high\nknn,100,0.8,0.72,0.87,0.5,,\nmlp,100,0.85,,,0.6,,\n');
    expect(comparisonToMarkdown(t)).toBe('| run | n | accuracy ↑ | log_loss ↓ |\n| --- | ---: | ---: | ---: |\n| knn | 100 | 0.800 [0.720, 0.870] | **0.500** |\n| mlp | 100 | **0.850** | 0.600 |\n');
  });
});

describe('degenerate inputs', () => {
  it('test rows of one class only: AUC is NaN (null in JSON) with a warning, no CI for it, the rest still computed', () => {
    const events: string[] = [];
    const labels = Int32Array.from([1, 1, 1, 1, 1, 1]);
    const scores = Float64Array.from([0, 1, 0, 2, 1, 0, 0, 3, 1, 1, 2, 0]);
    const r = evaluatePredictions({ classes: 2, scoreKind: 'logit', test: { labels, scores } }, { bootstrap: 20 }, new Rng(0), (e) => events.push(e.metric));
    expect(r.roc_auc).toBeNaN();
    expect(JSON.parse(JSON.stringify(r)).roc_auc).toBeNull();
    expect(events).toContain('roc_auc[class 1]');
    expect(r.ci!.intervals.roc_auc).toBeUndefined();
    expect(r.accuracy).toBeCloseTo(3 / 6, 12); // argmax: 1, 1, 0, 1, 0 (tie → first), 0
    expect(r.ci!.intervals.accuracy).toBeDefined();
  });
});
