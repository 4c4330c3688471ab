import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { evaluatePredictions, readPredictionsCsv, selectSplit } from '../../src/eval/index.js';
import { fmt, readRunData, renderReportHtml } from '../../src/report/index.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';
import { xmlProblems } from './xml-check.js';

const FIX = new URL('../../../shared/fixtures/metrics/multiclass_5/', import.meta.url).pathname;

describe('report of a 5-class evaluation (scikit-learn fixture multiclass_5)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medclass-report-mc-'));
  afterAll(() => removeTempDir(dir));
  const t = readPredictionsCsv(join(FIX, 'predictions.csv'));
  const report = evaluatePredictions({ classes: 5, scoreKind: 'logit', val: selectSplit(t, 'val'), test: selectSplit(t, 'test')! }, { bootstrap: 0 }, new Rng(0));
  const { val, ...test } = report;
  // A run directory with metrics.json only: no summary.json, history.csv or preprocess.json.
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ classes: report.class_names, test, val }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
  const ref = JSON.parse(readFileSync(join(FIX, 'reference.json'), 'utf8'));
  const html = renderReportHtml(readRunData(dir));

  it('draws one one-vs-rest ROC and PR curve per class with the scikit-learn AUCs in the legend', () => {
    const roc = html.slice(html.indexOf('ROC curves (test, one-vs-rest)'), html.indexOf('Precision–recall (test'));
    expect(roc.match(/<polyline /g)).toHaveLength(5);
    (ref.per_class_auc as number[]).forEach((auc, k) => expect(roc).toContain(`${k} (AUC ${fmt(auc, 3)})`));
    const pr = html.slice(html.indexOf('Precision–recall (test'));
    expect(pr.slice(0, pr.indexOf('</svg>')).match(/<polyline /g)).toHaveLength(5);
  });

  it('shows the reference confusion matrix as a 5×5 heat map and the reference headline values', () => {
    const cm = html.slice(html.indexOf('Confusion matrix (test'), html.indexOf('ROC curves'));
    expect(cm.match(/<rect /g)).toHaveLength(25);
    for (const row of ref.confusion_matrix as number[][]) for (const v of row) expect(cm).toContain(`font-weight="600">${v}</text>`);
    for (const k of ['accuracy', 'balanced_accuracy', 'macro_f1', 'mcc', 'roc_auc_ovr_macro', 'log_loss', 'ece_15']) expect(html, k).toContain(`<td>${fmt(ref[k])}</td>`);
    expect(html).toContain(`Temperature T = ${fmt(ref.temperature, 4)}`);
  });

  it('without summary.json and history.csv leaves out the training section, still well-formed', () => {
    expect(html).not.toContain('<h2>Training</h2>');
    expect(html).toContain('CIs need --bootstrap');
    for (const s of html.match(/<svg[\s\S]*?<\/svg>/g) ?? []) expect(xmlProblems(s)).toEqual([]);
  });
});
