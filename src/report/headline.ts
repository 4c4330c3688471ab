import { headlineMetricInfo, PER_CLASS_METRICS, type MetricsReport } from '../eval/index.js';

/** One row of the headline table: a test metric, its 95% CI (when bootstrapped) and n. */
export interface HeadlineRow {
  key: string;
  label: string;
  value: number;
  ci?: [number, number];
  n: number;
  higherIsBetter: boolean;
  /** ZeroR (majority class) baseline value */
  zeroR?: number;
}

/** The number of reliability bins of a bare metrics report (its `ece_<bins>` key); a run's metrics.json says it in `params.bins`. */
export function binsOf(m: MetricsReport | Record<string, unknown>): number {
  return Number(Object.keys(m).find((k) => /^ece_\d+$/.test(k))?.slice(4) ?? 15);
}

/** A metric value for tables: 4 decimals, 'n/a' when undefined (NaN or null, as JSON writes NaN). */
export function fmt(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || Number.isNaN(v) ? 'n/a' : Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

/** Headline test metrics with CIs, in `headlineMetricInfo` order, plus ECE after temperature scaling when fitted; `bins` as metrics.json `params.bins`. */
export function headlineRows(m: MetricsReport, bins = binsOf(m)): HeadlineRow[] {
  const r = m as unknown as Record<string, number | null>;
  const ci = m.ci?.intervals ?? {};
  const rows: HeadlineRow[] = headlineMetricInfo(m.classes, bins).map((info) => ({
    key: info.key, label: info.label, value: r[info.key] ?? NaN, n: m.n_test, higherIsBetter: info.higherIsBetter,
    ...(ci[info.key] ? { ci: ci[info.key]! } : {}), ...(m.zero_r?.metrics[info.key] !== undefined ? { zeroR: m.zero_r.metrics[info.key]! } : {}),
  }));
  const after = r[`ece_${bins}_after_temperature`];
  if (typeof after === 'number') rows.push({ key: `ece_${bins}_after_temperature`, label: `ECE (${bins} bins) after temperature`, value: after, n: m.n_test, higherIsBetter: false });
  return rows;
}

/** Per-class rows: class name, support, and each per-class metric with its CI. */
export function perClassRows(m: MetricsReport): { name: string; support: number; cells: { key: string; label: string; value: number; ci?: [number, number] }[] }[] {
  const ci = m.ci?.intervals ?? {};
  return m.per_class.map((c) => ({
    name: c.name, support: c.support,
    cells: [...PER_CLASS_METRICS, ...(c.average_precision !== undefined ? [{ key: 'average_precision', label: 'average precision (OvR)', higherIsBetter: true }] : [])].map((info) => {
      const key = `per_class[${c.class}].${info.key}`;
      return { key: info.key, label: info.label, value: (c as unknown as Record<string, number>)[info.key] ?? NaN, ...(ci[key] ? { ci: ci[key]! } : {}) };
    }),
  }));
}
