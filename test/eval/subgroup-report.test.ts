import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { argmaxRows, subgroupMetrics } from '../../src/eval/index.js';
import { subgroupReportSection } from '../../src/report/subgroup-report-section.js';

// 4 classes, 3 sexes (one group lacks class 3 and is never predicted class 2: zero divisions), seeded probabilities.
const rng = new Rng(5);
const K = 4;
const n = 180;
const sex = Array.from({ length: n }, (_, i) => ['female', 'male', 'unknown'][i % 3]!);
const labels = Int32Array.from({ length: n }, (_, i) => (sex[i] === 'unknown' ? rng.int(0, 3) : rng.int(0, K)));
const probs = new Float64Array(n * K);
for (let i = 0; i < n; i++) {
  const z = Array.from({ length: K }, (_, k) => (k === labels[i] ? 1.0 : 0) + rng.normal() - (sex[i] === 'unknown' && k === 2 ? 9 : 0));
  const e = z.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  e.forEach((v, k) => { probs[i * K + k] = v / s; });
}

describe('per-subgroup classification reports', () => {
  it('match sklearn classification_report(labels=range(K), zero_division=0) in every group', () => {
    const rows = subgroupMetrics('sex', sex, labels, probs, K, {}, { bootstrap: 0, ciLevel: 0.95, minGroupSize: 10, bins: 15 }, new Rng(1));
    expect(rows.map((r) => r.value)).toEqual(['female', 'male', 'unknown']);
    const pred = argmaxRows(probs, K);
    const py = `
import json, sys
from sklearn.metrics import classification_report
d = json.load(sys.stdin)
out = {}
for g in sorted(set(d['g'])):
    idx = [i for i, v in enumerate(d['g']) if v == g]
    out[g] = classification_report([d['y'][i] for i in idx], [d['p'][i] for i in idx], labels=list(range(d['K'])), output_dict=True, zero_division=0)
print(json.dumps(out))`;
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify({ y: Array.from(labels), p: Array.from(pred), g: sex, K }), encoding: 'utf8' })) as Record<string, Record<string, any>>;
    for (const r of rows) {
      const want = ref[r.value]!;
      const got = r.classification_report;
      for (let k = 0; k < K; k++) {
        expect(got.precision[k]).toBeCloseTo(want[String(k)].precision, 12);
        expect(got.recall[k]).toBeCloseTo(want[String(k)].recall, 12);
        expect(got.f1[k]).toBeCloseTo(want[String(k)]['f1-score'], 12);
        expect(got.support[k]).toBe(want[String(k)].support);
      }
      expect(got.macro_avg.f1).toBeCloseTo(want['macro avg']['f1-score'], 12);
      expect(got.weighted_avg.precision).toBeCloseTo(want['weighted avg'].precision, 12);
      const acc = want.accuracy ?? want['micro avg']?.recall; // sklearn gives micro avg when labels ⊋ the present ones
      expect(got.accuracy).toBeCloseTo(acc, 12);
    }
    const unknown = rows.find((r) => r.value === 'unknown')!;
    expect(unknown.classification_report.support[3]).toBe(0);
    expect(unknown.classification_report.precision[2]).toBe(0); // never predicted: zero division → 0
  });

  it('renders one table per subgroup column in the report, a cell per class with P / R / F1 and support', () => {
    const rows = subgroupMetrics('sex', sex, labels, probs, K, {}, { bootstrap: 0, ciLevel: 0.95, minGroupSize: 10, bins: 15 }, new Rng(1));
    const s = subgroupReportSection({ data: { test: { subgroups: rows, class_names: ['akiec', 'bcc', 'bkl', 'df'] } } })!;
    expect(s.id).toBe('subgroup-reports');
    expect(s.html.match(/<h3>/g)).toHaveLength(1);
    const f = rows[0]!.classification_report;
    expect(s.html).toContain(`${f.precision[0]!.toFixed(2)}/${f.recall[0]!.toFixed(2)}/${f.f1[0]!.toFixed(2)}`);
    expect(s.html).toContain('<span class="ci">n=0</span>'); // class df in the unknown group
    expect(subgroupReportSection({ data: { test: { subgroups: [], class_names: [] } } })).toBeUndefined();
  });
});
