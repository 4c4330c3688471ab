// The complete report of a tiny trained and indexed run: every section, figures/, the export zip, --compare, a
// full-page Chromium screenshot (kept in runs/report-screenshots/, gitignored).
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/data/index.js';
import { buildRunIndex, exportZip, loadComparison, runTraining, splitClassCounts, writeRunReport, type RunReport } from '../../src/pipeline/index.js';
import { readRunData, renderReport } from '../../src/report/index.js';
import { openRunDir } from '../../src/run/index.js';
import { PAGE_TIMEOUT, launchChromium, watchProblems } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { TINY_SOURCE, removeTempDir, trainTinyRun } from '../pipeline/predict-helpers.js';
import { xmlProblems } from './xml-check.js';

const SHOTS = new URL('../../runs/report-screenshots/', import.meta.url).pathname;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('the complete report of a trained, indexed run', () => {
  let runDir = '';
  let cleanup = () => undefined as void;
  let report: RunReport;
  let html = '';
  beforeAll(async () => {
    ({ runDir, cleanup } = await trainTinyRun('complete', { bootstrap: 100, epochs: 3 }));
    await buildRunIndex(runDir, { threads: 1, knn: { k: 5 } } as never);
    report = await writeRunReport(runDir, { perCell: 2, generatedAt: '2026-01-01T00:00:00Z' });
    html = readFileSync(join(runDir, 'report.html'), 'utf8');
  }, 300_000);
  afterAll(() => cleanup());

  it('has every section, each once, in page order', () => {
    const ids = ['data', 'training', 'metrics', 'errors', 'operating-points', 'per-class', 'gradcam', 'similar', 'embedding', 'calibration', 'conformal', 'model-card', 'all-metrics'];
    for (const id of ids) expect(report.sections, id).toContain(id);
    const order = ids.map((id) => html.indexOf(`<section id="${id}">`));
    expect(order.every((p) => p > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    for (const h of ['<h2>Grad-CAM gallery</h2>', '<h2>Similar cases</h2>', '<h2>Embedding map and similar-case retrieval</h2>', '<h2>Conformal prediction sets</h2>']) expect(html).toContain(h);
  });

  it('writes every inline plot as figures/<section>-<plot>.svg (the same SVG) and .png', async () => {
    const names = report.figures.map((f) => f.name).sort();
    expect(names).toEqual(['calibration-reliability', 'conformal-set-sizes', 'embedding-umap', 'errors-confidence', 'errors-confusion', 'errors-pr', 'errors-roc', 'gradcam-gallery', 'training-loss', 'training-score']);
    const manifest = openRunDir(runDir).manifest;
    for (const f of report.figures) {
      const svg = readFileSync(join(runDir, f.svg), 'utf8').replace(/^<\?xml[^>]*>\n/, '').trimEnd();
      expect(html, f.name).toContain(svg); // the report's inline plot, byte for byte
      expect(xmlProblems(svg), f.name).toEqual([]);
      const meta = await sharp(readFileSync(join(runDir, f.png))).metadata();
      expect([meta.format, meta.width, meta.height], f.name).toEqual(['png', f.width, f.height]);
      expect(manifest.files.map((r) => r.path), f.name).toContain(f.png); // recorded with its sha256 in run.json
    }
  });

  it('gallery: TP, FP, FN and TN rows of up to N (here 2) cases, most confident first, and a colour bar', () => {
    const gallery = html.slice(html.indexOf('<section id="gradcam">'), html.indexOf('<section id="similar">'));
    for (const cell of ['TP: lesion, predicted lesion', 'FP: normal, predicted lesion', 'FN: lesion, predicted normal', 'TN: normal, predicted normal']) expect(gallery).toContain(cell);
    const counts = [...gallery.matchAll(/font-size="11.5">(?:TP|FP|FN|TN)[^<]*\((\d+)\)<\/text>/g)].map((m) => Number(m[1]));
    expect(counts).toHaveLength(4);
    for (const c of counts) expect(c).toBeLessThanOrEqual(2);
    expect(gallery.match(/<image /g)).toHaveLength(report.gradCamExamples);
    expect(report.gradCamExamples).toBe(counts.reduce((a, b) => a + b, 0));
    expect(gallery).toContain('<linearGradient id="inferno"');
    expect(gallery).toContain('Grad-CAM, normalised per image');
  });

  it('per-class counts for every split, train included, match the data source', () => {
    const run = openRunDir(runDir);
    const source = openSource(TINY_SOURCE);
    const byId = new Map<string, string>();
    for (const s of ['train', 'val', 'test'] as const) for (const id of run.manifest.splits![s]) byId.set(id, s);
    const counts = splitClassCounts(source, source.items.map((it) => byId.get(it.id)!));
    const data = html.slice(html.indexOf('<section id="data">'), html.indexOf('<section id="training">'));
    source.classes.forEach((c, k) => expect(data).toContain(`<td>  ${c}</td><td>${counts.train![k]}</td><td>${counts.val![k]}</td><td>${counts.test![k]}</td>`));
    expect(counts.train!.reduce((a, b) => a + b, 0)).toBe(run.manifest.data!.counts.train);
  });

  it('ROC has a bootstrap band and the operating points; the confidence histogram counts every test image', () => {
    const roc = report.figures.find((f) => f.name === 'errors-roc')!;
    const svg = readFileSync(join(runDir, roc.svg), 'utf8');
    expect(svg).toMatch(/<polygon points="[^"]+" fill="#0072B2" fill-opacity="0.18"/);
    expect(svg).toContain('95% bootstrap band (100 resamples)');
    const m = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
    const ops = m.test.operating_points['1'] as { criterion: string }[];
    expect(svg.match(/<path d="M[^"]+Z" fill="#111827"/g)).toHaveLength(ops.length);
    for (const p of ops) expect(svg).toContain(`<title>${p.criterion.replace(/_/g, ' ')}</title>`);
    const conf = readFileSync(join(runDir, 'figures/errors-confidence.svg'), 'utf8');
    const bars = [...conf.matchAll(/<title>(correct|misclassified) [\d.]+: (\d+)<\/title>/g)];
    expect(bars.reduce((a, b) => a + Number(b[2]), 0)).toBe(m.test.n_test);
    const wrong = bars.filter((b) => b[1] === 'misclassified').reduce((a, b) => a + Number(b[2]), 0);
    expect(wrong).toBe(m.test.n_test - m.test.confusion_matrix[0][0] - m.test.confusion_matrix[1][1]);
  });

  it('UMAP shows the test cases and crosses the model\'s errors; similar cases show thumbnails from the index', () => {
    const m = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
    const umap = readFileSync(join(runDir, 'figures/embedding-umap.svg'), 'utf8');
    expect(umap).toContain(`test case, ring in its true class&#39;s colour (n=${m.test.n_test})`);
    const errors = m.test.n_test - m.test.confusion_matrix[0][0] - m.test.confusion_matrix[1][1];
    expect(umap).toContain(`misclassified by the model (n=${errors})`);
    expect((umap.match(/<path d="M[\d.]+ [\d.]+l7 7m0 -7l-7 7"\/>/g) ?? []).length).toBe(errors);
    const similar = html.slice(html.indexOf('<section id="similar">'), html.indexOf('<section id="embedding">'));
    const thumbs = similar.match(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+"/g) ?? [];
    expect(thumbs).toHaveLength(4 * (1 + 5)); // 2 test cases per class, each with its 5 most similar training cases
  });

  it('flags a conformal coverage below 1 − α (and only then)', () => {
    const d = readRunData(runDir);
    const real = renderReport({ data: d }).html;
    const lac = (d.test as any)['conformal_lac_alpha_0.1'];
    expect(real.includes('⚠ Coverage shortfall: LAC α=0.1')).toBe(lac.coverage < 0.9);
    (d.test as any)['conformal_lac_alpha_0.1'] = { ...lac, coverage: 0.859 };
    const flagged = renderReport({ data: d }).html;
    expect(flagged).toContain('⚠ Coverage shortfall: LAC α=0.1 covered 0.859');
    expect(flagged).toContain('<span class="small">⚠ 0.859');
  });

  it('export --zip: every file the manifest lists unzips to its sha256, and the same run gives the same bytes', () => {
    const out = mkdtempSync(join(tmpdir(), 'medclass-zip-'));
    try {
      const z = exportZip(runDir, join(out, 'a.zip'));
      const entries = unzipSync(new Uint8Array(readFileSync(join(out, 'a.zip'))));
      const manifest = JSON.parse(new TextDecoder().decode(entries['manifest.json']!));
      expect(manifest).toEqual(JSON.parse(JSON.stringify(z.manifest)));
      expect(Object.keys(entries).sort()).toEqual([...manifest.files.map((f: { path: string }) => f.path), 'manifest.json'].sort());
      for (const f of manifest.files) {
        expect(sha(entries[f.path]!), f.path).toBe(f.sha256);
        expect(entries[f.path]!.length, f.path).toBe(f.bytes);
        expect(sha(readFileSync(join(runDir, f.path))), f.path).toBe(f.sha256); // the run's own file
      }
      for (const f of ['model.onnx', 'preprocess.json', 'calibration.json', 'metrics.json', 'predictions.csv', 'report.html', 'model-card.md', 'figures/errors-roc.svg', 'figures/errors-roc.png']) expect(entries[f], f).toBeDefined();
      expect(z.missing).toEqual([]);
      exportZip(runDir, join(out, 'b.zip'));
      expect(sha(readFileSync(join(out, 'b.zip')))).toBe(sha(readFileSync(join(out, 'a.zip'))));
    } finally {
      removeTempDir(out);
    }
  });

  it('report --compare: a run on the same data sits side by side; other data is refused unless --allow-different-data', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'medclass-compare-'));
    try {
      const twin = join(parent, 'twin');
      cpSync(runDir, twin, { recursive: true });
      const same = loadComparison(runDir, [twin]);
      expect(same.runs.map((r) => r.sameData)).toEqual([true, true]);
      const other = await runTraining({ name: 'other', out: parent, seed: 1, threads: 1, data: { source: 'phantom:n=80,size=32,seed=5', preprocess: { size: 32, channels: 1 } }, fit: { epochs: 1, batchSize: 16 }, eval: { bootstrap: 0 } });
      const refused = await runCli(['report', '--run', runDir, '--compare', other.runDir, '--no-gradcam']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^MC_RUN_DIFFERENT_DATA: /m);
      const allowed = await runCli(['report', '--run', runDir, '--compare', twin, other.runDir, '--allow-different-data', '--no-gradcam']);
      expect(allowed.code, allowed.stderr).toBe(0);
      const page = readFileSync(join(runDir, 'report.html'), 'utf8');
      const section = page.slice(page.indexOf('<section id="compare">'), page.indexOf('<section id="model-card">'));
      expect(section).toContain('<th>complete (this run)</th><th>twin</th><th>other ⚠ other data</th>');
      expect(section).toContain('ran on other data');
    } finally {
      removeTempDir(parent);
      await writeRunReport(runDir, { perCell: 2, generatedAt: '2026-01-01T00:00:00Z' }); // back to the full report for the screenshot
    }
  });

  it('renders in Chromium without console problems; full-page screenshot kept in runs/report-screenshots/', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems = watchProblems(page);
      await page.goto(`file://${join(runDir, 'report.html')}`, { timeout: PAGE_TIMEOUT });
      mkdirSync(SHOTS, { recursive: true });
      const shot = await page.screenshot({ fullPage: true, timeout: PAGE_TIMEOUT });
      writeFileSync(join(SHOTS, 'report-tiny-run-full-page.png'), shot);
      const meta = await sharp(shot).metadata();
      expect(meta.width).toBe(1280);
      expect(meta.height).toBeGreaterThan(5000); // every section, top to bottom
      const heights = await page.evaluate(() => (globalThis as unknown as { document: { body: { scrollHeight: number } } }).document.body.scrollHeight);
      expect(meta.height).toBeGreaterThanOrEqual(heights);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
