import { esc } from './svg.js';

/** What the "Tabular SHAP values" section shows: a run's exact Shapley values (the pipeline's `shapTabularRun`). */
export interface ShapReportInput {
  classes: readonly string[];
  players: readonly string[];
  baseline: { kind: 'train-mean'; n: number };
  /** test rows explained */
  n: number;
  /** mean |φ| per player of the predicted class's logit */
  global: readonly number[];
  /** mean |φ| of class k's logit per player `[K][M]` */
  perClass: readonly (readonly number[])[];
  maxEfficiencyError: number;
  /** one example prediction: its φ of the predicted class, logit and baseline logit */
  rows?: readonly { predicted: number; logits: readonly number[]; baseLogits: readonly number[]; values: readonly (readonly number[])[] }[];
}

const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '—');

/**
 * The global importance bar plot: one horizontal bar per tabular column, its mean |SHAP| of the predicted class's
 * logit over the explained test rows, largest first (standalone SVG, no scripts).
 */
export function shapBarPlot(s: ShapReportInput): string {
  const order = s.players.map((_, i) => i).sort((a, b) => s.global[b]! - s.global[a]!);
  const left = 120;
  const width = 460;
  const barH = 22;
  const top = 30;
  const h = top + order.length * (barH + 8) + 24;
  const max = Math.max(...s.global.filter(Number.isFinite), 1e-12);
  const plotW = width - left - 60;
  const bars = order.map((i, r) => {
    const y = top + r * (barH + 8);
    const w = (s.global[i]! / max) * plotW;
    return `<text x="${left - 8}" y="${y + barH / 2 + 4}" text-anchor="end" font-size="12">${esc(s.players[i]!)}</text>`
      + `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="#2563eb"/>`
      + `<text x="${(left + w + 6).toFixed(1)}" y="${y + barH / 2 + 4}" font-size="11" fill="#374151">${esc(f(s.global[i]!))}</text>`;
  });
  const axisY = top + order.length * (barH + 8);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" font-family="system-ui,sans-serif" role="img" aria-label="mean absolute SHAP value per tabular column">`
    + `<rect width="${width}" height="${h}" fill="#fff"/><text x="8" y="18" font-size="12.5" font-weight="600">Mean |SHAP| per column (logit of the predicted class)</text>`
    + bars.join('')
    + `<line x1="${left}" y1="${axisY}" x2="${left + plotW}" y2="${axisY}" stroke="#9ca3af"/>`
    + `<text x="${left}" y="${axisY + 16}" font-size="11" fill="#4b5563">0</text><text x="${left + plotW}" y="${axisY + 16}" font-size="11" text-anchor="end" fill="#4b5563">${esc(f(max))} logit</text>`
    + `</svg>`;
}

/**
 * The "Tabular SHAP values" section of report.html: the global mean |SHAP| bar plot, mean |φ| per class, one
 * prediction's values with the efficiency check (Σφ = logit − baseline logit), and how they were computed.
 */
export function shapSection(s: ShapReportInput | undefined): string {
  if (!s) return '';
  const per = `<table><thead><tr><th>class</th>${s.players.map((p) => `<th>${esc(p)}</th>`).join('')}</tr></thead><tbody>${s.perClass.map((r, k) => `<tr><td>${esc(s.classes[k] ?? String(k))}</td>${r.map((v) => `<td>${esc(f(v))}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
  const ex = s.rows?.[0];
  const example = ex ? (() => {
    const k = ex.predicted;
    const phi = ex.values[k]!;
    const sum = phi.reduce((a, v) => a + v, 0);
    return `<h3>One prediction</h3><table><thead><tr><th>column</th><th>φ (logit of “${esc(s.classes[k] ?? '')}”)</th></tr></thead><tbody>${phi.map((v, i) => `<tr><td>${esc(s.players[i]!)}</td><td>${esc(f(v, 4))}</td></tr>`).join('')}<tr><td>Σφ</td><td>${esc(f(sum, 6))}</td></tr><tr><td>logit − baseline logit</td><td>${esc(f(ex.logits[k]! - ex.baseLogits[k]!, 6))}</td></tr></tbody></table>`;
  })() : '';
  return `<h2>Tabular SHAP values (test)</h2><div class="plots"><figure>${shapBarPlot(s)}<figcaption>${esc(`Mean |φ| over ${s.n} test rows, for the logit of each row's predicted class.`)}</figcaption></figure><div class="side"><h3>Mean |φ| per class (that class's logit)</h3>${per}${example}</div></div>`
    + `<p class="note">${esc(`Exact Shapley values: every one of the 2^${s.players.length} coalitions of the ${s.players.length} tabular columns is evaluated per prediction (one player per original column: all one-hot parts of a categorical column, and a numeric value with its missing flag, move together). An absent column takes its value from the baseline, the mean encoded row of the ${s.baseline.n} train items (interventional SHAP with one reference input; for a nonlinear model the baseline's output is not the mean output). The values of a prediction sum to its logit minus the baseline's logit (largest deviation here ${s.maxEfficiencyError.toExponential(1)}). Any image input is held fixed. Attribution describes the model, not causes in the patient.`)}</p>`;
}

/**
 * The report section builder (a `SectionBuilder` of `REPORT_SECTIONS`): reads its input from `ctx.extras.shap`
 * (the pipeline's `shapTabularRun`), gives the section and its bar plot as the figure `shap-importance`.
 */
export function shapReportSection(ctx: { extras?: Record<string, unknown> }): { id: string; html: string; figures: { name: string; svg: string }[] } | undefined {
  const s = ctx.extras?.shap as ShapReportInput | undefined;
  if (!s) return undefined;
  return { id: 'shap', html: shapSection(s), figures: [{ name: 'shap-importance', svg: shapBarPlot(s) }] };
}
