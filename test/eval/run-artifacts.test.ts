import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { calibrationArtifact, evaluateRun, parsePredictionsCsv, predictionsToCsv, selectSplit } from '../../src/eval/index.js';

describe('run artifacts', () => {
  const rng = new Rng(4);
  const split = (n: number) => {
    const labels = Int32Array.from({ length: n }, () => rng.int(0, 3));
    const scores = Float64Array.from({ length: n * 3 }, (_, j) => rng.normal() * 3 + (labels[Math.floor(j / 3)] === j % 3 ? 2 : 0));
    return { labels, scores, meta: { sex: Array.from({ length: n }, (_, i) => (i % 2 ? 'F' : 'M, unknown')) } };
  };
  const val = split(120);
  const test = split(90);

  it('predictions.csv round-trips exactly through the reader of `medclass metrics`', () => {
    const csv = predictionsToCsv([{ split: 'val', data: val }, { split: 'test', data: test }], 3);
    const t = parsePredictionsCsv(csv);
    const back = selectSplit(t, 'test')!;
    expect([...back.labels]).toEqual([...test.labels]);
    expect([...back.scores]).toEqual([...test.scores]);
    expect(back.meta.sex).toEqual(test.meta.sex);
  });

  it('evaluateRun gives metrics.json (test top level, val beside) and calibration.json with T from val', () => {
    const report = evaluateRun(val, test, 3, { bootstrap: 50 }, new Rng(0));
    expect(report.n_val).toBe(120);
    expect(report.val!.n).toBe(120);
    expect(report.n_test).toBe(90);
    const cal = calibrationArtifact(report);
    expect(cal.temperature).toBe(report.temperature);
    expect(cal.temperature).toBeGreaterThan(1); // logits were scaled ×3
    expect(cal.test.reliability_before).toHaveLength(15);
  });
});
