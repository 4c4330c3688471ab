import { fmt, headlineRows, perClassRows } from './headline.js';
import { ciCell, figure, table, type Cell } from './html-parts.js';
import { modelCard, modelCardHtml } from './model-card.js';
import { confidencePlot, conformalPlot, confusionPlot, historyPlots, prPlot, reliabilityPlot, rocPlot } from './plots.js';
import { rocBands } from './predictions.js';
import { conformalOf, reportBins, type RunReportData } from './run-data.js';
import { fig, type ReportContext, type ReportSection } from './sections.js';
import { esc } from './svg.js';

// The built-in sections of report.html; each returns its HTML and its plots (written as figures/<id>-<plot>.svg/.png).

/** "Data": images per split and class, source, fingerprint, input, model, best epoch. */
export function dataSection({ data: d }: ReportContext): ReportSection {
  const m = d.test;
  const valSupport = d.val?.per_class.map((c) => c.support);
  const rows: (string | number)[][] = [['images', d.counts.train ?? '—', d.counts.val, d.counts.test]];
  const cc = d.classCounts;
  m.per_class.forEach((c, k) => rows.push([`  ${c.name}`, cc?.train?.[k] ?? '—', cc?.val?.[k] ?? valSupport?.[k] ?? '—', cc?.test?.[k] ?? c.support]));
  const kv: (string | number)[][] = [
    ['data source', d.source ?? 'not recorded'], ['data fingerprint', d.fingerprint ?? '—'], ['metrics computed on', d.evaluatedOn],
    ['unreadable files skipped', d.skipped],
    ...(d.preprocess ? [['input', `${d.preprocess.size}×${d.preprocess.size} px, ${d.preprocess.channels === 1 ? 'grey' : 'RGB'}, ${d.preprocess.fit}, normalise ${d.preprocess.normalize}`]] : []),
    ...(d.preprocess?.tabularColumns ? [['tabular input', `${d.preprocess.tabularColumns.join(', ')} → ${d.preprocess.tabularFeatures} features (${d.tabularUse ?? 'early fusion'}; encoder fitted on train, tabular.json)`]] : []),
    ...(d.model ? [['model', `${d.model.arch}${d.model.backbone ? ` on ${d.model.backbone}` : ''}`]] : []),
    ...(d.bestEpoch ? [['best epoch', `phase ${d.bestEpoch.phase + 1}, epoch ${d.bestEpoch.epoch} (${d.monitor} ${fmt(d.bestEpoch.score)})`]] : []),
    ...(d.status ? [['status', `${d.status}${d.wallSeconds !== undefined ? `, ${d.wallSeconds.toFixed(0)} s` : ''}`]] : []),
    ...(d.seed !== undefined ? [['seed', d.seed]] : []),
  ];
  const note = cc?.train ? 'Readable images per split and class, as the run split them (run.json).' : 'Per-class counts of val and test from the evaluation; train per class needs the data source (medclass report reads it when it can).';
  return { id: 'data', html: `<h2>Data</h2><div class="plots"><div>${table(['split', 'train', 'val', 'test'], rows)}<p class="note">${esc(note)}</p></div><div>${table([], kv, 'kv')}</div></div>` };
}

/** "Training": loss and monitored score per epoch. */
export function trainingSection({ data: d }: ReportContext): ReportSection | undefined {
  const curves = historyPlots(d);
  if (!curves.length) return undefined;
  return {
    id: 'training', figures: [...fig('training', 'loss', curves[0]), ...fig('training', 'score', curves[1])],
    html: `<h2>Training</h2><div class="plots">${figure(curves[0], 'Mean loss per epoch; val loss on the validation split.')}${figure(curves[1], 'The validation score that picked the best checkpoint.')}</div>`,
  };
}

/** "Test metrics": headline metrics with CIs and ZeroR. */
export function metricsSection({ data: d }: ReportContext): ReportSection {
  const m = d.test;
  const level = m.ci ? `${Math.round(m.ci.level * 100)}% CI` : 'CI';
  const rows = headlineRows(m, reportBins(d)).map((r) => [r.label, fmt(r.value), ciCell(r.ci), r.n, fmt(r.zeroR), r.higherIsBetter ? 'higher' : 'lower']);
  const note = m.ci ? `${m.ci.method}, ${m.ci.n_resamples} resamples of the ${m.n_test} test images (class counts kept).` : 'No bootstrap was run (CIs need --bootstrap > 0); n is given instead.';
  return { id: 'metrics', html: `<h2>Test metrics</h2>${table(['metric', 'value', level, 'n', 'ZeroR', 'better'], rows)}<p class="note">${esc(note)} ZeroR always predicts class “${esc(m.class_names[m.zero_r.majority_class] ?? '')}”, the majority of ${esc(m.zero_r.fitted_on)}, with its class frequencies as probabilities.</p>` };
}

/** "Calibration": reliability diagram and before/after temperature figures. */
export function calibrationSection({ data: d }: ReportContext): ReportSection {
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
  const svg = reliabilityPlot(d);
  return { id: 'calibration', figures: fig('calibration', 'reliability', svg), html: `<h2>Calibration</h2><div class="plots">${figure(svg, 'Bins with test images only; marker area grows with the number of images in the bin.')}<div class="side"><p>${esc(t)}</p>${table(['test (n=' + m.n_test + ')', 'before', 'after T'], rows)}</div></div>` };
}

/** "Conformal prediction sets": coverage per method, a flag where test coverage falls below 1 − α, set sizes. */
export function conformalSection({ data: d }: ReportContext): ReportSection {
  const m = d.test;
  const entries = conformalOf(d);
  if (!entries.length) return { id: 'conformal', html: `<h2>Conformal prediction sets</h2><p class="note">Not computed (needs validation rows).</p>` };
  const short = entries.filter(({ alpha, evaluation: c }) => c.coverage < 1 - alpha);
  const rows = entries.map(({ name, alpha, evaluation: c }): Cell[] => {
    const q = Array.isArray(c.qhat) ? c.qhat.map((v) => fmt(v, 4)).join(' / ') : fmt(c.qhat, 4);
    const cov = `${fmt(c.coverage, 3)} (${Math.round(c.coverage * c.n_test)}/${c.n_test})`;
    return [name, fmt(1 - alpha, 2), q, Array.isArray(c.n_calibration) ? c.n_calibration.join('/') : c.n_calibration,
      c.coverage < 1 - alpha ? { html: `<span class="small">⚠ ${esc(cov)} below target</span>` } : cov, fmt(c.mean_set_size, 3), c.set_size_histogram[0] ?? 0,
      c.coverage_per_class.map((v, i) => `${m.class_names[i]}: ${fmt(v, 2)}`).join(', ')];
  });
  const flag = short.map(({ name, alpha, evaluation: c }) => {
    const sd = Math.sqrt((alpha * (1 - alpha)) / Math.max(1, c.n_test));
    return `<p class="flag" role="alert">⚠ Coverage shortfall: ${esc(name)} covered ${esc(fmt(c.coverage, 3))} of the ${esc(c.n_test)} test images, below the target 1 − α = ${esc(fmt(1 - alpha, 2))} (by ${esc(fmt((1 - alpha - c.coverage) / sd, 1))} binomial standard errors of ${esc(fmt(sd, 3))}). The guarantee holds on average over exchangeable calibration and test data: a shortfall this size suggests the test images differ from the validation images (a shift), or too few calibration images.</p>`;
  }).join('');
  const svg = conformalPlot(d);
  return { id: 'conformal', figures: fig('conformal', 'set-sizes', svg), html: `<h2>Conformal prediction sets</h2>${flag}<div class="plots"><div>${table(['method', 'target coverage', 'q̂', 'n calib', 'test coverage', 'mean set size', 'empty sets', 'coverage per class'], rows)}
<p class="note">Split conformal: q̂ calibrated on the validation images with temperature-scaled probabilities; a class enters the set when its score is within q̂ (LAC: 1 − p). Coverage is guaranteed on average over exchangeable data, not per image or per class.</p></div>${figure(svg, 'Images per set size on test.')}</div>` };
}

/** "Per class": one-vs-rest metrics with CIs. */
export function perClassSection({ data: d }: ReportContext): ReportSection {
  const pcs = perClassRows(d.test);
  const head = ['class', 'support', ...pcs[0]!.cells.map((c) => c.label)];
  const rows = pcs.map((p) => [p.name, p.support, ...p.cells.map((c): Cell => ({ html: `${esc(fmt(c.value))}${c.ci ? `<br><span class="ci">${esc(fmt(c.ci[0], 3))}–${esc(fmt(c.ci[1], 3))}</span>` : ''}` }))]);
  return { id: 'per-class', html: `<h2>Per class (test, one-vs-rest)</h2>${table(head, rows)}<p class="note">Value, 95% CI below. Recall is sensitivity; precision is PPV at the argmax decision.</p>` };
}

/** "Operating points": thresholds chosen on val, applied to test. */
export function operatingSection({ data: d }: ReportContext): ReportSection | undefined {
  const ops = d.test.operating_points;
  if (!ops) return undefined;
  const rows = Object.entries(ops).flatMap(([k, pts]) => pts.map((p) => [d.test.class_names[Number(k)] ?? k, p.criterion.replace('_', ' '), fmt(p.threshold),
    fmt(p.test.sensitivity, 3), fmt(p.test.specificity, 3), fmt(p.test.ppv, 3), fmt(p.test.npv, 3), `${p.test.tp}/${p.test.fp}/${p.test.tn}/${p.test.fn}`]));
  return { id: 'operating-points', html: `<h3>Operating points</h3>${table(['positive class', 'criterion (on val)', 'threshold', 'test sensitivity', 'test specificity', 'test PPV', 'test NPV', 'TP/FP/TN/FN'], rows)}<p class="note">Thresholds on calibrated probabilities, chosen on validation and applied unchanged to test; marked as diamonds on the ROC curve.</p>` };
}

/** "Subgroups": metrics per metadata value with CIs and gaps. */
export function subgroupSection({ data: d }: ReportContext): ReportSection | undefined {
  const g = d.test.subgroups;
  if (!g.length) return undefined;
  const keys = Object.keys(g[0]!.metrics);
  // The CI and gap go on a second, smaller line so five metrics fit the page width.
  const rows = g.map((s) => [s.column, `${s.value}${s.small ? ' *' : ''}`, s.n, ...keys.map((k) => {
    const v = s.metrics[k]!;
    return { html: `${esc(fmt(v.value, 3))}<br><span class="ci">${v.ci ? esc(`[${fmt(v.ci.low, 3)}, ${fmt(v.ci.high, 3)}] `) : ''}${esc(`(${v.gap >= 0 ? '+' : ''}${fmt(v.gap, 3)})`)}</span>` };
  })]);
  return { id: 'subgroups', html: `<h2>Subgroups (test)</h2>${table(['column', 'value', 'n', ...keys], rows)}<p class="note">Value, then [95% CI] (gap to overall). * = small group or a class missing: read with care.</p>` };
}

/** "All metrics": every scalar metric of metrics.json, test and validation side by side (4 decimals). */
export function appendixSection({ data: d }: ReportContext): ReportSection {
  const scalars = (o: object | null) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
  const t = scalars(d.test);
  const v = scalars(d.val);
  const keys = [...new Set([...Object.keys(t), ...Object.keys(v)])];
  const f = (x: number) => (Number.isInteger(x) ? String(x) : fmt(x));
  return { id: 'all-metrics', html: `<h2>All metrics</h2>${table(['key (metrics.json)', 'test', 'val'], keys.map((k) => [k, k in t ? f(t[k]!) : '—', k in v ? f(v[k]!) : '—']))}` };
}

/** "Errors and discrimination": confusion matrix, ROC (bootstrap band, operating points), PR, confidence histogram. */
export function errorsSection(ctx: ReportContext): ReportSection {
  const d = ctx.data;
  const p = ctx.predictions;
  const resamples = Math.min(500, d.test.ci?.n_resamples ?? d.params?.bootstrap ?? 200);
  const positives = d.test.classes === 2 ? [1] : Array.from({ length: d.test.classes }, (_, k) => k);
  const bands = p && resamples > 0 ? rocBands(p, positives, resamples, d.seed ?? 0) : undefined;
  const [cm, roc, pr] = [confusionPlot(d), rocPlot(d, bands), prPlot(d)];
  const conf = p ? confidencePlot(p, d.test.class_names) : undefined;
  return {
    id: 'errors', figures: [...fig('errors', 'confusion', cm), ...fig('errors', 'roc', roc), ...fig('errors', 'pr', pr), ...fig('errors', 'confidence', conf)],
    html: `<h2>Errors and discrimination</h2><div class="plots">${figure(cm, 'Count and row percentage; rows are true classes.')}${figure(roc, `ROC from the predicted probabilities on test${bands?.size ? `; the band is a pointwise ${resamples}-resample stratified bootstrap of the true positive rate` : ''}; diamonds are the operating points.`)}${figure(pr, 'Precision–recall as steps (average precision = area under the steps).')}${figure(conf, 'Calibrated probability of the predicted class on test: how often the model is sure, and whether its sure answers are right.')}</div>`,
  };
}

/** "Model card": the card as HTML (model-card.md holds the same text). */
export function modelCardSection({ data: d }: ReportContext): ReportSection {
  return { id: 'model-card', html: `<h2>Model card</h2><div class="card">${modelCardHtml(modelCard(d))}</div>` };
}
