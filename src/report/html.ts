import { fmt, headlineRows, perClassRows } from './headline.js';
import { modelCard, modelCardHtml } from './model-card.js';
import { conformalPlot, confusionPlot, historyPlots, prPlot, reliabilityPlot, rocPlot } from './plots.js';
import { gradCamSection, type GradCamReportInput } from './grad-cam-section.js';
import { embeddingMapSection, type EmbeddingMapInput } from './embedding-map-section.js';
import { conformalOf, reportBins, type RunReportData } from './run-data.js';
import { esc } from './svg.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;margin:0;background:#f9fafb}
main{max-width:1120px;margin:0 auto;padding:0 24px 40px}
.banner{background:#7f1d1d;color:#fff;padding:10px 24px;font-weight:600;text-align:center;letter-spacing:.02em}
h1{font-size:24px;margin:22px 0 4px}h2{font-size:18px;margin:30px 0 10px;padding-bottom:4px;border-bottom:2px solid #e5e7eb}
h3{font-size:15px;margin:16px 0 6px}.sub{color:#4b5563;margin:0 0 8px}
table{border-collapse:collapse;margin:6px 0 10px;background:#fff;font-variant-numeric:tabular-nums}
th,td{border:1px solid #e5e7eb;padding:4px 9px;text-align:right;white-space:nowrap}th{background:#f3f4f6;font-weight:600}
td:first-child,th:first-child{text-align:left}.note{color:#4b5563;font-size:12.5px;max-width:900px}
.plots{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}.plots figure{margin:0;background:#fff;border:1px solid #e5e7eb;padding:6px}
figcaption{font-size:12px;color:#4b5563;max-width:380px;padding:2px 4px}.kv td:first-child{color:#374151;font-weight:500}.kv td{text-align:left}.side{max-width:460px}
.ci{color:#6b7280;font-size:11.5px}.card{background:#fff;border:1px solid #e5e7eb;padding:4px 18px 10px}.small{color:#b45309}
footer{color:#6b7280;font-size:12px;margin-top:30px}code{background:#f3f4f6;padding:0 3px}
`;

const ciCell = (c?: [number, number]) => (c ? `${fmt(c[0])} – ${fmt(c[1])}` : '—');
type Cell = string | number | { html: string };
const cellHtml = (c: Cell) => (typeof c === 'object' ? c.html : esc(c));
const table = (head: string[], rows: Cell[][], cls = '') =>
  `<table${cls ? ` class="${cls}"` : ''}>${head.length ? `<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` : ''}<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${cellHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
const figure = (svg: string | undefined, caption: string) => (svg ? `<figure>${svg}<figcaption>${esc(caption)}</figcaption></figure>` : '');

function dataSection(d: RunReportData): string {
  const m = d.test;
  const valSupport = d.val?.per_class.map((c) => c.support);
  const rows: (string | number)[][] = [['images', d.counts.train ?? '—', d.counts.val, d.counts.test]];
  m.per_class.forEach((c, k) => rows.push([`  ${c.name}`, '—', valSupport?.[k] ?? '—', c.support]));
  const kv: (string | number)[][] = [
    ['data source', d.source ?? 'not recorded'], ['data fingerprint', d.fingerprint ?? '—'], ['metrics computed on', d.evaluatedOn],
    ['unreadable files skipped', d.skipped],
    ...(d.preprocess ? [['input', `${d.preprocess.size}×${d.preprocess.size} px, ${d.preprocess.channels === 1 ? 'grey' : 'RGB'}, ${d.preprocess.fit}, normalise ${d.preprocess.normalize}`]] : []),
    ...(d.preprocess?.tabularColumns ? [['tabular input', `${d.preprocess.tabularColumns.join(', ')} → ${d.preprocess.tabularFeatures} features (early fusion; encoder fitted on train, tabular.json)`]] : []),
    ...(d.model ? [['model', `${d.model.arch}${d.model.backbone ? ` on ${d.model.backbone}` : ''}`]] : []),
    ...(d.bestEpoch ? [['best epoch', `phase ${d.bestEpoch.phase + 1}, epoch ${d.bestEpoch.epoch} (${d.monitor} ${fmt(d.bestEpoch.score)})`]] : []),
    ...(d.status ? [['status', `${d.status}${d.wallSeconds !== undefined ? `, ${d.wallSeconds.toFixed(0)} s` : ''}`]] : []),
    ...(d.seed !== undefined ? [['seed', d.seed]] : []),
  ];
  return `<h2>Data</h2><div class="plots"><div>${table(['split', 'train', 'val', 'test'], rows)}<p class="note">Per-class counts of val and test from the evaluation; train per class is in the data audit.</p></div><div>${table([], kv, 'kv')}</div></div>`;
}

function metricsSection(d: RunReportData): string {
  const m = d.test;
  const level = m.ci ? `${Math.round(m.ci.level * 100)}% CI` : 'CI';
  const rows = headlineRows(m, reportBins(d)).map((r) => [r.label, fmt(r.value), ciCell(r.ci), r.n, fmt(r.zeroR), r.higherIsBetter ? 'higher' : 'lower']);
  const note = m.ci ? `${m.ci.method}, ${m.ci.n_resamples} resamples of the ${m.n_test} test images (class counts kept).` : 'No bootstrap was run (CIs need --bootstrap > 0); n is given instead.';
  return `<h2>Test metrics</h2>${table(['metric', 'value', level, 'n', 'ZeroR', 'better'], rows)}<p class="note">${esc(note)} ZeroR always predicts class “${esc(m.class_names[m.zero_r.majority_class] ?? '')}”, the majority of ${esc(m.zero_r.fitted_on)}, with its class frequencies as probabilities.</p>`;
}

function calibrationSection(d: RunReportData): string {
  const m = d.test;
  const r = m as unknown as Record<string, number>;
  const bins = reportBins(d);
  const cal = m.calibration as { val_nll_before?: number; val_nll_after?: number } | null;
  const brier = m.classes === 2 ? 'brier' : 'brier_multiclass';
  const rows: (string | number)[][] = [
    [`ECE (${bins} bins)`, fmt(r[`ece_${bins}`]), fmt(r[`ece_${bins}_after_temperature`])],
    [`MCE (${bins} bins)`, fmt(r[`mce_${bins}`]), fmt(r[`mce_${bins}_after_temperature`])],
    ['log loss', fmt(m.log_loss), fmt(r.log_loss_after_temperature)],
    [m.classes === 2 ? 'Brier (class 1)' : 'Brier (multi-class)', fmt(r[brier]), fmt(r[`${brier}_after_temperature`])],
    ...(cal ? [['validation NLL (fit)', fmt(cal.val_nll_before), fmt(cal.val_nll_after)]] : []),
  ];
  const t = m.temperature !== null ? `Temperature T = ${fmt(m.temperature, 4)}, fitted by NLL on the ${m.n_val} validation images; calibrated probabilities are softmax(logits / T).` : 'No validation rows: no temperature scaling.';
  return `<h2>Calibration</h2><div class="plots">${figure(reliabilityPlot(d), 'Bins with test images only; marker area grows with the number of images in the bin.')}<div class="side"><p>${esc(t)}</p>${table(['test (n=' + m.n_test + ')', 'before', 'after T'], rows)}</div></div>`;
}

function conformalSection(d: RunReportData): string {
  const m = d.test;
  const entries = conformalOf(d);
  if (!entries.length) return `<h2>Conformal prediction sets</h2><p class="note">Not computed (needs validation rows).</p>`;
  const rows = entries.map(({ name, alpha, evaluation: c }) => {
    const q = Array.isArray(c.qhat) ? c.qhat.map((v) => fmt(v, 4)).join(' / ') : fmt(c.qhat, 4);
    return [name, fmt(1 - alpha, 2), q, Array.isArray(c.n_calibration) ? c.n_calibration.join('/') : c.n_calibration,
      `${fmt(c.coverage, 3)} (${Math.round(c.coverage * c.n_test)}/${c.n_test})`, fmt(c.mean_set_size, 3), c.set_size_histogram[0] ?? 0,
      c.coverage_per_class.map((v, i) => `${m.class_names[i]}: ${fmt(v, 2)}`).join(', ')];
  });
  return `<h2>Conformal prediction sets</h2><div class="plots"><div>${table(['method', 'target coverage', 'q̂', 'n calib', 'test coverage', 'mean set size', 'empty sets', 'coverage per class'], rows)}
<p class="note">Split conformal: q̂ calibrated on the validation images with temperature-scaled probabilities; a class enters the set when its score is within q̂ (LAC: 1 − p). Coverage is guaranteed on average over exchangeable data, not per image or per class.</p></div>${figure(conformalPlot(d), 'Images per set size on test.')}</div>`;
}

function perClassSection(d: RunReportData): string {
  const pcs = perClassRows(d.test);
  const head = ['class', 'support', ...pcs[0]!.cells.map((c) => c.label)];
  const rows = pcs.map((p) => [p.name, p.support, ...p.cells.map((c): Cell => ({ html: `${esc(fmt(c.value))}${c.ci ? `<br><span class="ci">${esc(fmt(c.ci[0], 3))}–${esc(fmt(c.ci[1], 3))}</span>` : ''}` }))]);
  return `<h2>Per class (test, one-vs-rest)</h2>${table(head, rows)}<p class="note">Value, 95% CI below. Recall is sensitivity; precision is PPV at the argmax decision.</p>`;
}

function operatingSection(d: RunReportData): string {
  const ops = d.test.operating_points;
  if (!ops) return '';
  const rows = Object.entries(ops).flatMap(([k, pts]) => pts.map((p) => [d.test.class_names[Number(k)] ?? k, p.criterion.replace('_', ' '), fmt(p.threshold),
    fmt(p.test.sensitivity, 3), fmt(p.test.specificity, 3), fmt(p.test.ppv, 3), fmt(p.test.npv, 3), `${p.test.tp}/${p.test.fp}/${p.test.tn}/${p.test.fn}`]));
  return `<h3>Operating points</h3>${table(['positive class', 'criterion (on val)', 'threshold', 'test sensitivity', 'test specificity', 'test PPV', 'test NPV', 'TP/FP/TN/FN'], rows)}<p class="note">Thresholds on calibrated probabilities, chosen on validation and applied unchanged to test.</p>`;
}

function subgroupSection(d: RunReportData): string {
  const g = d.test.subgroups;
  if (!g.length) return '';
  const keys = Object.keys(g[0]!.metrics);
  // The CI and gap go on a second, smaller line so five metrics fit the page width.
  const rows = g.map((s) => [s.column, `${s.value}${s.small ? ' *' : ''}`, s.n, ...keys.map((k) => {
    const v = s.metrics[k]!;
    return { html: `${esc(fmt(v.value, 3))}<br><span class="ci">${v.ci ? esc(`[${fmt(v.ci.low, 3)}, ${fmt(v.ci.high, 3)}] `) : ''}${esc(`(${v.gap >= 0 ? '+' : ''}${fmt(v.gap, 3)})`)}</span>` };
  })]);
  return `<h2>Subgroups (test)</h2>${table(['column', 'value', 'n', ...keys], rows)}<p class="note">Value, then [95% CI] (gap to overall). * = small group or a class missing: read with care.</p>`;
}

/** Every scalar metric of metrics.json, test and validation side by side (4 decimals). */
function appendix(d: RunReportData): string {
  const scalars = (o: object | null) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
  const t = scalars(d.test);
  const v = scalars(d.val);
  const keys = [...new Set([...Object.keys(t), ...Object.keys(v)])];
  const f = (x: number) => (Number.isInteger(x) ? String(x) : fmt(x));
  return `<h2>All metrics</h2>${table(['key (metrics.json)', 'test', 'val'], keys.map((k) => [k, k in t ? f(t[k]!) : '—', k in v ? f(v[k]!) : '—']))}`;
}

/** The report as one self-contained HTML page (inline SVG, inline CSS, no scripts, no external assets). */
export function renderReportHtml(d: RunReportData, opts: { generatedAt?: string; gradCam?: GradCamReportInput; embeddingMap?: EmbeddingMapInput } = {}): string {
  const m = d.test;
  const card = modelCard(d);
  const curves = historyPlots(d);
  const body = [
    `<div class="banner" role="note">Research software, not a diagnostic device. Not for clinical decisions.</div><main>`,
    `<h1>medclass report: ${esc(d.name)}</h1><p class="sub">${esc(m.classes)} classes (${esc(m.class_names.join(', '))}) · test n=${esc(m.n_test)} · validation n=${esc(m.n_val)}</p>`,
    dataSection(d),
    curves.length ? `<h2>Training</h2><div class="plots">${figure(curves[0], 'Mean loss per epoch; val loss on the validation split.')}${figure(curves[1], 'The validation score that picked the best checkpoint.')}</div>` : '',
    metricsSection(d),
    `<h2>Errors and discrimination</h2><div class="plots">${figure(confusionPlot(d), 'Count and row percentage; rows are true classes.')}${figure(rocPlot(d), 'ROC from the predicted probabilities on test.')}${figure(prPlot(d), 'Precision–recall as steps (average precision = area under the steps).')}</div>`,
    operatingSection(d),
    perClassSection(d),
    gradCamSection(opts.gradCam),
    embeddingMapSection(opts.embeddingMap, m),
    calibrationSection(d),
    conformalSection(d),
    subgroupSection(d),
    `<h2>Model card</h2><div class="card">${modelCardHtml(card)}</div>`,
    appendix(d),
    `<footer>${opts.generatedAt ? `Generated ${esc(opts.generatedAt)} by medclass` : 'Generated by medclass'}${d.versions ? ` (${esc(Object.entries(d.versions).filter(([, v]) => v !== 'unknown').map(([k, v]) => `${k} ${v}`).join(', '))})` : ''}. Research software, not a diagnostic device.</footer></main>`,
  ];
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>medclass report: ${esc(d.name)}</title><style>${CSS}</style></head><body>\n${body.join('\n')}\n</body></html>\n`;
}
