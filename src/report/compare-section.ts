import { fmt, headlineRows } from './headline.js';
import { table, type Cell } from './html-parts.js';
import { reportBins, type RunReportData } from './run-data.js';
import { fig, type ReportContext, type ReportSection } from './sections.js';
import { PALETTE, esc, linePlot } from './svg.js';

/** Runs shown side by side: the report's own run first; `sameData` false marks a run on other data (allowed on request). */
export interface CompareInput { runs: { data: RunReportData; sameData: boolean }[] }

/** Test ROC curves of the compared runs in one plot (binary runs only). */
export function compareRocPlot(c: CompareInput): string | undefined {
  const runs = c.runs.filter((r) => r.data.test.roc_curve);
  if (runs.length < 2) return undefined;
  return linePlot({
    title: `ROC curves of ${runs.length} runs (test)`, xLabel: 'false positive rate (1 − specificity)', yLabel: 'true positive rate (sensitivity)',
    x: [0, 1], y: [0, 1], diagonal: 'chance', legend: 'below', width: 360, height: 320,
    series: runs.map((r, i) => ({ name: `${r.data.name} (AUC ${fmt(r.data.test.roc_auc, 3)})`, color: PALETTE[i % PALETTE.length]!, points: r.data.test.roc_curve!.fpr.map((f, j) => [f, r.data.test.roc_curve!.tpr[j]!] as const) })),
    description: 'test ROC curves of the compared runs',
  });
}

/** The "Comparison" section: headline test metrics (with CIs) of each run side by side, settings, and their ROC curves. */
export function compareSection(ctx: Pick<ReportContext, 'compare'>): ReportSection | undefined {
  const c = ctx.compare;
  if (!c || c.runs.length < 2) return undefined;
  const heads = c.runs.map((r) => headlineRows(r.data.test, reportBins(r.data)));
  const keys = [...new Set(heads.flatMap((h) => h.map((row) => row.key)))];
  const rows: Cell[][] = keys.map((k) => {
    const label = heads.flatMap((h) => h).find((row) => row.key === k)!.label;
    return [label, ...heads.map((h) => {
      const row = h.find((x) => x.key === k);
      return row ? { html: `${esc(fmt(row.value))}${row.ci ? `<br><span class="ci">${esc(`${fmt(row.ci[0], 3)}–${fmt(row.ci[1], 3)}`)}</span>` : ''}` } : '—';
    })];
  });
  const setting = (r: RunReportData) => [r.model ? `${r.model.arch}${r.model.backbone ? ` on ${r.model.backbone}` : ''}` : '—', r.fit?.epochs !== undefined ? String(r.fit.epochs) : '—', r.seed ?? '—', r.test.n_test, r.fingerprint ?? '—'];
  const settings = ['model', 'epochs', 'seed', 'test n', 'data fingerprint'].map((name, i): Cell[] => [name, ...c.runs.map((r) => String(setting(r.data)[i]))]);
  const head = ['test metric', ...c.runs.map((r, i) => `${r.data.name}${i === 0 ? ' (this run)' : ''}${r.sameData ? '' : ' ⚠ other data'}`)];
  const svg = compareRocPlot(c);
  const other = c.runs.filter((r) => !r.sameData).map((r) => r.data.name);
  const warn = other.length ? `<p class="flag">${esc(`${other.join(', ')} ran on other data (another data fingerprint): their metrics are not on the same test images and differences between the columns mean little. Shown because --allow-different-data was given.`)}</p>` : '';
  return {
    id: 'compare', figures: fig('compare', 'roc', svg),
    html: `<h2>Comparison</h2>${warn}<div class="plots"><div>${table(head, [...rows, ...settings])}<p class="note">Value, 95% CI below where the run bootstrapped it. Overlapping CIs do not show runs equal, nor do separate ones prove a difference: a paired test on the same test images would.</p></div>${svg ? `<figure>${svg}<figcaption>Test ROC curves of the runs compared.</figcaption></figure>` : ''}</div>`,
  };
}
