// fusion compare on 300 HAM10000 images (CC BY-NC 4.0, read from ../shared, never copied): 32 px, 2 epochs per
// image run, so it checks the plumbing and the numbers' invariants, not accuracy.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateRunDir, runFusionCompare, writeRunReport, type FusionCompareSummary } from '../../src/pipeline/index.js';
import { openRunDir } from '../../src/run/index.js';
import { HAM_CSV_OPTIONS, HAM_SEED, HAM_SPLIT, writeHam300 } from './ham-fusion-helpers.js';

let out: string;
let csv: string;
let s: FusionCompareSummary;
const shapOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'shap.json'), 'utf8')) as { players: string[]; rows: { id: string; predicted: number; logits: number[]; baseLogits: number[]; values: number[][] }[]; maxEfficiencyError: number };

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'fusion-compare-'));
  csv = writeHam300(out);
  s = await runFusionCompare({
    name: 'ham300', out, seed: HAM_SEED, threads: 1,
    data: {
      source: csv, csv: HAM_CSV_OPTIONS, split: HAM_SPLIT, preprocess: { size: 32, channels: 3, normalize: 'half' },
      tabular: { numeric: ['age'], categorical: ['sex', 'localization'] }, binned: [{ name: 'age_band', from: 'age', edges: [30, 50, 70] }],
    },
    model: { arch: 'compact-cnn', width: 0.5, dropout: 0.1 },
    fit: { epochs: 2, batchSize: 32, lr: 0.003, classWeights: 'auto', monitor: 'balanced_accuracy' },
    eval: { bootstrap: 20, subgroups: ['sex', 'age_band'] },
  }, { bootstrap: 50, tabularEpochs: 8, shapRows: 12 });
});
afterAll(() => { if (out) rmSync(out, { recursive: true, force: true }); });

describe('medclass fusion compare (HAM10000 subset)', () => {
  it('puts ZeroR, tabular-only, image-only, early and late fusion side by side on the same test rows', () => {
    const names = s.comparison.rows.map((r) => r.name);
    expect(names).toEqual(['ZeroR', 'tabular-only', 'image-only', 'early fusion', 'late fusion (weighted)', 'late fusion (stacking)']);
    const z = s.comparison.rows[0]!;
    expect(z.auc).toBe(0.5); // constant scores
    expect(z.balanced_accuracy).toBeCloseTo(1 / 7, 12);
    for (const r of s.comparison.rows) {
      expect(r.n).toBe(s.comparison.rows[0]!.n);
      expect(r.auc_ci[0]).toBeLessThanOrEqual(r.auc + 1e-12);
      expect(r.auc_ci[1]).toBeGreaterThanOrEqual(r.auc - 1e-12);
    }
    const d = s.comparison.differences.find((x) => x.a === 'early fusion' && x.b === 'image-only')!;
    expect(d.diff).toBeCloseTo(s.comparison.rows[3]!.auc - s.comparison.rows[2]!.auc, 12);
    expect(d.ci[0]).toBeLessThanOrEqual(d.ci[1]);
    const table = readFileSync(join(s.dir, 'comparison.csv'), 'utf8').trim().split('\n');
    expect(table).toHaveLength(7);
    expect(readFileSync(join(s.dir, 'comparison.md'), 'utf8')).toContain('| late fusion (stacking) − early fusion |');
    // one split for all: the same fingerprint in every trained run
    const fp = ['image', 'tabular', 'early', 'lateWeighted'].map((k) => openRunDir(s.runs[k as 'image']).manifest.data!.fingerprint);
    expect(new Set(fp).size).toBe(1);
  });

  it('writes a late-fusion run whose model.onnx reproduces its predictions when evaluated on the data like any run', async () => {
    for (const dir of [s.runs.lateWeighted, s.runs.lateStacking]) {
      const stored = openRunDir(dir).metrics()!.test as unknown as Record<string, number>;
      const again = await evaluateRunDir(dir, { data: csv, csv: HAM_CSV_OPTIONS, threads: 1 });
      const m = again.metrics as unknown as Record<string, number>;
      expect(again.counts.test).toBe(stored.n_test);
      expect(Math.abs(m.roc_auc_ovr_macro! - stored.roc_auc_ovr_macro!)).toBeLessThan(1e-6);
      expect(m.balanced_accuracy).toBe(stored.balanced_accuracy);
    }
  });

  it('gives exact SHAP values that sum to logit − baseline logit and match the run predictions; late = (1 − w)·tabular', () => {
    const tab = shapOf(s.runs.tabular);
    expect(tab.players).toEqual(['age', 'sex', 'localization']);
    expect(tab.maxEfficiencyError).toBeLessThan(1e-5);
    for (const r of tab.rows.slice(0, 5)) {
      const k = r.predicted;
      expect(Math.abs(r.values[k]!.reduce((a, v) => a + v, 0) - (r.logits[k]! - r.baseLogits[k]!))).toBeLessThan(1e-5);
    }
    // the tabular-mlp logits (fed zero images) are the run's own test logits
    const p = openRunDir(s.runs.tabular).predictions();
    const i = p.meta.id!.indexOf(tab.rows[0]!.id);
    expect(p.split[i]).toBe('test');
    tab.rows[0]!.logits.forEach((v, k) => expect(Math.abs(v - p.scores[i * p.classes + k]!)).toBeLessThan(1e-5));
    // the weighted late fusion is w·image + (1 − w)·tabular: the image branch does not move with the tabular players
    const late = shapOf(s.runs.lateWeighted);
    const w = s.imageWeight;
    const byId = new Map(tab.rows.map((r) => [r.id, r]));
    expect(late.rows.length).toBe(12);
    for (const r of late.rows) {
      const t = byId.get(r.id)!;
      r.values.forEach((phi, k) => phi.forEach((v, m) => expect(Math.abs(v - (1 - w) * t.values[k]![m]!)).toBeLessThan(2e-5)));
    }
    expect(shapOf(s.runs.early).maxEfficiencyError).toBeLessThan(1e-5);
  });

  it('shows the global importance plot in the tabular run\'s report', () => {
    const html = readFileSync(join(s.runs.tabular, 'report.html'), 'utf8');
    expect(html).toContain('Tabular SHAP values');
    expect(html).toContain('mean absolute SHAP value per tabular column');
    expect(existsSync(join(s.runs.image, 'report.html'))).toBe(true);
    expect(readFileSync(join(s.runs.image, 'report.html'), 'utf8')).not.toContain('Tabular SHAP values');
    expect(readFileSync(join(s.runs.early, 'report.html'), 'utf8')).toContain('Subgroup classification reports (test)');
    const card = (k: 'tabular' | 'early' | 'lateWeighted') => readFileSync(join(s.runs[k], 'model-card.md'), 'utf8');
    expect(card('tabular')).toContain('Tabular input (tabular only)');
    expect(card('early')).toContain('Tabular input (early fusion)');
    expect(card('lateWeighted')).toContain('Tabular input (late fusion)');
  });

  it('medclass report (writeRunReport) adds the SHAP section to a run with tabular input by itself', async () => {
    const r = await writeRunReport(s.runs.lateStacking, { gradCam: false, threads: 1 });
    expect(r.sections).toContain('shap');
    expect(existsSync(join(s.runs.lateStacking, 'figures', 'shap-importance.svg'))).toBe(true);
  });
});
