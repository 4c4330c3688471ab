import type { SubgroupRow } from '../eval/index.js';
import { esc } from './svg.js';

const f = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—');

/**
 * The "Subgroup classification reports (test)" section: for each subgroup column (sex, age band, site, …) one table,
 * a row per value and a cell per class with precision / recall / F1 and the support (as
 * `sklearn.metrics.classification_report` per group, zero division → 0), then accuracy and macro F1.
 */
export function subgroupReportSection(ctx: { data: { test: { subgroups: readonly SubgroupRow[]; class_names: readonly string[] } } }): { id: string; html: string } | undefined {
  const rows = ctx.data.test.subgroups.filter((r) => r.classification_report);
  if (!rows.length) return undefined;
  const names = ctx.data.test.class_names;
  const columns = [...new Set(rows.map((r) => r.column))];
  const tables = columns.map((c) => {
    const body = rows.filter((r) => r.column === c).map((r) => {
      const cr = r.classification_report;
      const cells = names.map((_, k) => `<td>${cr.support[k] ? `${esc(`${f(cr.precision[k]!)}/${f(cr.recall[k]!)}/${f(cr.f1[k]!)}`)}<br><span class="ci">n=${cr.support[k]}</span>` : '<span class="ci">n=0</span>'}</td>`);
      return `<tr><td>${esc(r.value)}${r.small ? ' *' : ''}</td><td>${r.n}</td>${cells.join('')}<td>${esc(f(cr.accuracy))}</td><td>${esc(f(cr.macro_avg.f1))}</td></tr>`;
    });
    return `<h3>${esc(c)}</h3><table><thead><tr><th>value</th><th>n</th>${names.map((n) => `<th>${esc(n)}</th>`).join('')}<th>accuracy</th><th>macro F1</th></tr></thead><tbody>${body.join('')}</tbody></table>`;
  });
  return {
    id: 'subgroup-reports',
    html: `<h2>Subgroup classification reports (test)</h2>${tables.join('')}<p class="note">Each class cell: precision/recall/F1 at the arg-max decision, support below (a class with no true rows in the group shows n=0; a class never predicted has precision 0). * = small group or a class missing. metrics.json: <code>test.subgroups[].classification_report</code>.</p>`,
  };
}
