import { MedclassError } from '../errors.js';

/** One run's metrics, as read from its `metrics.json` (an `evaluatePredictions` report). */
export interface ComparisonEntry {
  name: string;
  report: Record<string, unknown>;
}

/** A column of the comparison: a metric key of `metrics.json` and whether higher is better. */
export interface ComparisonColumn {
  key: string;
  higherIsBetter: boolean;
}

/** One cell: the value, its CI when the report has one, and whether it is the best of its column. */
export interface ComparisonCell {
  value: number | null;
  low: number | null;
  high: number | null;
  best: boolean;
}

/** Runs × metrics, in the order given. */
export interface ComparisonTable {
  columns: ComparisonColumn[];
  rows: { name: string; n_test: number | null; cells: ComparisonCell[] }[];
}

/** Metrics compared by default, each declaring its direction; a key missing from every report is left out. */
export const DEFAULT_COMPARISON_COLUMNS: readonly ComparisonColumn[] = [
  { key: 'accuracy', higherIsBetter: true },
  { key: 'balanced_accuracy', higherIsBetter: true },
  { key: 'macro_f1', higherIsBetter: true },
  { key: 'mcc', higherIsBetter: true },
  { key: 'quadratic_kappa', higherIsBetter: true },
  { key: 'roc_auc', higherIsBetter: true },
  { key: 'roc_auc_ovr_macro', higherIsBetter: true },
  { key: 'average_precision', higherIsBetter: true },
  { key: 'log_loss', higherIsBetter: false },
  { key: 'brier', higherIsBetter: false },
  { key: 'brier_multiclass', higherIsBetter: false },
  { key: 'ece_15', higherIsBetter: false },
  { key: 'ece_15_after_temperature', higherIsBetter: false },
];

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Puts several runs' metrics side by side (the seeds' k-NN vs MLP, CNN vs ViT, phase 1 vs phase 2 tables), with
 * bootstrap CIs where the reports have them and the best value per column marked by each metric's direction.
 */
export function compareReports(entries: readonly ComparisonEntry[], columns: readonly ComparisonColumn[] = DEFAULT_COMPARISON_COLUMNS): ComparisonTable {
  if (entries.length === 0) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', 'no metrics to compare', { hint: 'pass one metrics.json per run' });
  const used = columns.filter((c) => entries.some((e) => num(e.report[c.key]) !== null));
  const rows = entries.map((e) => {
    const intervals = ((e.report.ci as { intervals?: Record<string, [number, number]> } | null)?.intervals) ?? {};
    return {
      name: e.name,
      n_test: num(e.report.n_test),
      cells: used.map((c): ComparisonCell => ({ value: num(e.report[c.key]), low: num(intervals[c.key]?.[0]), high: num(intervals[c.key]?.[1]), best: false })),
    };
  });
  used.forEach((c, j) => {
    const values = rows.map((r) => r.cells[j]!.value).filter((v): v is number => v !== null);
    if (values.length < 2) return;
    const best = c.higherIsBetter ? Math.max(...values) : Math.min(...values);
    for (const r of rows) if (r.cells[j]!.value === best) r.cells[j]!.best = true;
  });
  return { columns: used, rows };
}

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** The comparison as CSV: run, n_test, then per metric its value and CI bounds (empty when absent). */
export function comparisonToCsv(table: ComparisonTable): string {
  const header = ['run', 'n_test', ...table.columns.flatMap((c) => [c.key, `${c.key}_ci_low`, `${c.key}_ci_high`])];
  const lines = table.rows.map((r) => [csvField(r.name), r.n_test ?? '', ...r.cells.flatMap((c) => [c.value ?? '', c.low ?? '', c.high ?? ''])].join(','));
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

/** The comparison as a Markdown table: `value [low, high]` per cell, the best of each column in bold. */
export function comparisonToMarkdown(table: ComparisonTable, digits = 3): string {
  const f = (v: number) => v.toFixed(digits);
  const head = `| run | n | ${table.columns.map((c) => `${c.key} ${c.higherIsBetter ? '↑' : '↓'}`).join(' | ')} |`;
  const sep = `| --- | ---: | ${table.columns.map(() => '---:').join(' | ')} |`;
  const rows = table.rows.map((r) => `| ${r.name.replace(/\|/g, '\\|')} | ${r.n_test ?? ''} | ${r.cells.map((c) => {
    if (c.value === null) return '–';
    const text = `${f(c.value)}${c.low !== null && c.high !== null ? ` [${f(c.low)}, ${f(c.high)}]` : ''}`;
    return c.best ? `**${text}**` : text;
  }).join(' | ')} |`);
  return `${[head, sep, ...rows].join('\n')}\n`;
}
