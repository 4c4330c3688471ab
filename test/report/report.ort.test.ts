import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { gradCamExamples } from '../../src/pipeline/index.js';
import { fmt, writeReport, type GradCamExample } from '../../src/report/index.js';
import { removeTempDir, trainTinyRun } from '../pipeline/predict-helpers.js';
import { xmlProblems } from './xml-check.js';

describe('writeReport on a tiny trained run', () => {
  let runDir = '';
  let cleanup = () => undefined as void;
  let html = '';
  let card = '';
  let metrics: any;
  let examples: GradCamExample[] = [];

  beforeAll(async () => {
    ({ runDir, cleanup } = await trainTinyRun('report', { bootstrap: 100, epochs: 3 }));
    const gradCam = await gradCamExamples(runDir);
    examples = gradCam.examples;
    writeReport(runDir, { generatedAt: '2026-01-01T00:00:00Z', gradCam });
    html = readFileSync(join(runDir, 'report.html'), 'utf8');
    card = readFileSync(join(runDir, 'model-card.md'), 'utf8');
    metrics = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
  }, 180_000);
  afterAll(() => cleanup());

  it('carries the disclaimer banner, the data counts and the training curves of history.csv', () => {
    expect(html).toContain('Research software, not a diagnostic device');
    expect(html).toMatch(/<div class="banner"[^>]*>Research software, not a diagnostic device/);
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
    expect(html).toContain(`<td>images</td><td>${summary.data.counts.train}</td><td>${summary.data.counts.val}</td><td>${summary.data.counts.test}</td>`);
    expect(html).toContain('Loss per epoch');
    const epochs = readFileSync(join(runDir, 'history.csv'), 'utf8').trim().split('\n').length - 1;
    expect(epochs).toBe(3);
    // one marker per epoch on each of train loss, val loss and val score, plus the best-epoch marker
    const curves = html.slice(html.indexOf('<h2>Training</h2>'), html.indexOf('<h2>Test metrics</h2>'));
    expect(curves.match(/<circle /g)).toHaveLength(3 * epochs + 1);
  });

  it('shows every scalar metric of metrics.json (test and val), every headline CI bound and n', () => {
    const scalars = (o: Record<string, unknown>) => Object.entries(o).filter(([, v]) => typeof v === 'number') as [string, number][];
    const show = (v: number) => (Number.isInteger(v) ? String(v) : fmt(v));
    const appendix = html.slice(html.indexOf('<h2>All metrics</h2>'));
    for (const [k, v] of scalars(metrics.test)) expect(appendix, k).toContain(`<td>${k}</td><td>${show(v)}</td>`);
    for (const [k, v] of scalars(metrics.val)) expect(appendix, `val ${k}`).toMatch(new RegExp(`<td>${k.replace(/[.]/g, '\\.')}</td><td>[^<]*</td><td>${show(v).replace('.', '\\.')}</td>`));
    const table = html.slice(html.indexOf('<h2>Test metrics</h2>'), html.indexOf('<h2>Errors'));
    for (const key of ['accuracy', 'balanced_accuracy', 'roc_auc', 'average_precision', 'log_loss', 'brier', 'ece_15', 'mcc']) {
      const [lo, hi] = metrics.test.ci.intervals[key] as [number, number];
      expect(table, key).toContain(`<td>${fmt(metrics.test[key])}</td><td>${fmt(lo)} – ${fmt(hi)}</td><td>${metrics.test.n_test}</td>`);
    }
    const perClass = html.slice(html.indexOf('<h2>Per class'), html.indexOf('<h2>Calibration'));
    for (const c of metrics.test.per_class) for (const k of ['precision', 'recall', 'specificity', 'npv', 'f1', 'auc']) expect(perClass, `${c.name} ${k}`).toContain(fmt(c[k]));
    const cm = metrics.test.confusion_matrix as number[][];
    for (const row of cm) for (const v of row) expect(html).toContain(`font-weight="600">${v}</text>`);
    const lac = metrics.test['conformal_lac_alpha_0.1'];
    expect(html).toContain(`${fmt(lac.coverage, 3)} (${Math.round(lac.coverage * lac.n_test)}/${lac.n_test})`);
    expect(html).toContain(`Temperature T = ${fmt(metrics.test.temperature, 4)}`);
  });

  it('is self-contained: well-formed inline SVG (ROC, PR, reliability, confusion, curves, set sizes), no scripts, no external assets', () => {
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs.length).toBe(9); // curves 2, confusion, ROC, PR, confidence, Grad-CAM gallery, reliability, set sizes
    for (const s of svgs) expect(xmlProblems(s)).toEqual([]);
    expect(xmlProblems(html.replace(/<!DOCTYPE html>/, '').replace(/<meta[^>]*>/g, '').replace(/<br>/g, '<br/>'))).toEqual([]);
    for (const title of ['ROC curve (test', 'Precision–recall (test', 'Reliability diagram (test', 'Confusion matrix (test', 'Conformal set sizes']) expect(html).toContain(title);
    // the only images: Grad-CAM overlays as data: PNG URIs inside the gallery SVG (the colour bar is an SVG gradient)
    const imgs = html.match(/<image [^>]*href="data:image\/png;base64,[A-Za-z0-9+/=]+"/g) ?? [];
    expect(imgs).toHaveLength(examples.length);
    expect(html.replace(/href="data:image\/png;base64,[A-Za-z0-9+/=]+"/g, '').replace(/url\(#inferno\)/g, '')).not.toMatch(/<script|<link|<img|<iframe|src=|href=|@import|url\(/i);
    expect(html.match(/https?:\/\/[^"\s<]+/g)?.filter((u) => u !== 'http://www.w3.org/2000/svg') ?? []).toEqual([]);
  });

  it('shows Grad-CAM examples: two test images per class (correct and misclassified first), as decodable PNGs', async () => {
    expect(html).toContain('<h2>Grad-CAM gallery</h2>');
    expect(examples).toHaveLength(4);
    expect(examples.map((e) => e.trueLabel)).toEqual(['normal', 'normal', 'lesion', 'lesion']);
    for (const k of [0, 2]) if (examples[k]!.predicted !== examples[k + 1]!.predicted) expect(examples[k]!.predicted).toBe(examples[k]!.trueLabel);
    for (const e of examples) {
      expect(e.explained).toBe(e.predicted);
      expect(html).toContain(`true ${e.trueLabel} · pred ${e.predicted} (p = ${e.probability.toFixed(3)})`);
      const m = await sharp(Buffer.from(e.png)).metadata();
      expect([m.format, m.width, m.height]).toEqual(['png', 2 * 160 + 4, 160]);
    }
  });

  it('contains no absolute paths (run directory, temp folder, data source folders)', () => {
    for (const text of [html, card]) {
      expect(text).not.toContain(runDir);
      expect(text).not.toContain(tmpdir());
      expect(text).not.toContain(process.cwd());
      expect(text).not.toMatch(/(?:^|[\s(>"'])\/(?:tmp|home|work|root|Users|var)\//m);
    }
  });

  it('writes model-card.md: disclaimer, intended use, data, metrics with CIs, limitations, no PHI', () => {
    expect(card).toMatch(/^# Model card: report\n/);
    expect(card).toContain('**Research software, not a diagnostic device.**');
    for (const h of ['## Model details', '## Intended use', '## Data', '## Metrics (test split)', '## Limitations', '## Privacy']) expect(card).toContain(h);
    const [lo, hi] = metrics.test.ci.intervals.roc_auc as [number, number];
    expect(card).toContain(`ROC AUC: ${fmt(metrics.test.roc_auc, 3)} (95% CI ${fmt(lo, 3)}–${fmt(hi, 3)}), n=${metrics.test.n_test}.`);
    expect(card).toContain('Source: phantom:n=120,size=32');
    expect(card).toContain('No protected health information');
    expect(card).not.toMatch(/phantom\/\d{5}/);
    expect(html).not.toMatch(/phantom\/\d{5}/);
  });

  it('fails with MC_TRAIN_BAD_RUN_DIR when metrics.json is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'medclass-report-'));
    const copy = join(dir, 'run');
    cpSync(runDir, copy, { recursive: true });
    rmSync(join(copy, 'metrics.json'));
    expect(() => writeReport(copy)).toThrow(expect.objectContaining({ code: 'MC_TRAIN_BAD_RUN_DIR' }));
    expect(existsSync(join(copy, 'report.html'))).toBe(true); // the copy's old report stays untouched
    removeTempDir(dirname(copy));
  });
});
