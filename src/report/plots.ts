import type { ReliabilityBin } from '../eval/index.js';
import { fmt } from './headline.js';
import { confidenceHistogram, type RocBand, type TestPredictions } from './predictions.js';
import { conformalOf, reportBins, type RunReportData } from './run-data.js';
import { PALETTE, barChart, heatmap, linePlot, type Series } from './svg.js';

const finite = (xs: number[]) => xs.filter(Number.isFinite);
const span = (xs: number[], pad = 0.05): [number, number] => {
  const f = finite(xs);
  if (!f.length) return [0, 1];
  const lo = Math.min(...f);
  const hi = Math.max(...f);
  const d = (hi - lo || Math.abs(hi) || 1) * pad;
  return [lo - d, hi + d];
};

/** Training curves: train and val loss per epoch, and the monitored val score per epoch (phases run on). */
export function historyPlots(d: RunReportData): string[] {
  if (!d.history.length) return [];
  const xs = d.history.map((_, i) => i + 1);
  const loss: Series[] = [
    { name: 'train loss', points: d.history.map((h, i) => [xs[i]!, h.trainLoss]), markers: xs.map(() => 2.5) },
    { name: 'val loss', points: d.history.map((h, i) => [xs[i]!, h.valLoss]), markers: xs.map(() => 2.5) },
  ];
  const allLoss = d.history.flatMap((h) => [h.trainLoss, h.valLoss]);
  const [lo, hi] = span(allLoss);
  const score: Series[] = [{ name: `val ${d.monitor.replace(/^val_/, '')}`, points: d.history.map((h, i) => [xs[i]!, h.valScore]), color: PALETTE[2], markers: xs.map(() => 2.5) }];
  const best = d.bestEpoch ? d.history.findIndex((h) => h.phase === d.bestEpoch!.phase && h.epoch === d.bestEpoch!.epoch) : -1;
  if (best >= 0) score.push({ name: 'best epoch', points: [[best + 1, d.history[best]!.valScore]], color: PALETTE[4], markers: [5.5] });
  const x: [number, number] = [1, Math.max(2, xs.length)];
  return [
    linePlot({ title: 'Loss per epoch', xLabel: 'epoch', yLabel: 'loss', x, y: [Math.max(0, lo), hi], series: loss, integerX: true, legend: 'top-right',
      description: `train and validation loss over ${xs.length} epochs` }),
    linePlot({ title: `Validation ${d.monitor.replace(/^val_/, '')} per epoch`, xLabel: 'epoch', yLabel: d.monitor, x, y: span(d.history.map((h) => h.valScore), 0.1), series: score, integerX: true, legend: 'bottom-right',
      description: `monitored validation score per epoch${best >= 0 ? `; best at epoch ${best + 1}` : ''}` }),
  ];
}

/** Confusion matrix on test: row-normalised shading, count and row % in each cell. */
export function confusionPlot(d: RunReportData): string {
  const m = d.test;
  return heatmap({
    title: `Confusion matrix (test, n=${m.n_test})`, rows: m.class_names, cols: m.class_names, rowTitle: 'true class', colTitle: 'predicted class',
    shade: m.confusion_matrix_normalized,
    label: (r, c) => [String(m.confusion_matrix[r]![c]), `${fmt(100 * m.confusion_matrix_normalized[r]![c]!, 1)}%`],
    description: 'rows are true classes, columns predicted classes; shading is the row-normalised fraction',
  });
}

/**
 * ROC curve(s): binary (class 1 positive) or one-vs-rest per class; chance diagonal; `bands` (per positive class)
 * shade a bootstrap band, and the operating points of metrics.json are marked at their test (1 − specificity, sensitivity).
 */
export function rocPlot(d: RunReportData, bands?: Map<number, RocBand>): string | undefined {
  const m = d.test;
  const curves = m.roc_curve ? [{ k: 1, name: `${m.class_names[1]} (AUC ${fmt(m.roc_auc, 3)})`, c: m.roc_curve }]
    : (m.roc_curves_ovr ?? []).map((c, k) => ({ k, name: `${m.class_names[k]} (AUC ${fmt(m.per_class[k]?.auc, 3)})`, c }));
  if (!curves.length) return undefined;
  const color = (i: number) => PALETTE[i % PALETTE.length]!;
  const bandList = curves.flatMap(({ k }, i) => {
    const b = bands?.get(k);
    return b ? [{ x: b.fpr, lo: b.lo, hi: b.hi, color: color(i), ...(i === 0 ? { name: `${Math.round(b.level * 100)}% bootstrap band (${b.resamples} resamples)` } : {}) }] : [];
  });
  const marks = Object.entries(m.operating_points ?? {}).flatMap(([k, pts]) => {
    const i = curves.findIndex((c) => c.k === Number(k));
    return i < 0 ? [] : pts.map((p) => ({ x: 1 - p.test.specificity, y: p.test.sensitivity, label: p.criterion.replace(/_/g, ' '), color: curves.length > 1 ? color(i) : '#111827' }));
  }).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  return linePlot({
    title: m.roc_curve ? `ROC curve (test, positive = ${m.class_names[1]})` : 'ROC curves (test, one-vs-rest)', xLabel: 'false positive rate (1 − specificity)', yLabel: 'true positive rate (sensitivity)',
    x: [0, 1], y: [0, 1], diagonal: 'chance', legend: curves.length > 1 || bandList.length ? 'below' : 'bottom-right', width: 330, height: 320,
    series: curves.map(({ name, c }, i) => ({ name, color: color(i), points: c.fpr.map((f, j) => [f, c.tpr[j]!] as const) })),
    bands: bandList, marks,
    description: `receiver operating characteristic on the test rows; dashed diagonal = chance${bandList.length ? '; shaded = pointwise bootstrap band of the true positive rate' : ''}${marks.length ? '; diamonds = operating points chosen on validation, at their test rates' : ''}`,
  });
}

/** Test images per bin of calibrated top-class probability, correctly classified and misclassified side by side. */
export function confidencePlot(p: TestPredictions, names: readonly string[]): string {
  const h = confidenceHistogram(p);
  return barChart({
    title: `Confidence (test, n=${p.labels.length})`, xLabel: `top-class probability${p.temperature !== null ? ' (temperature-scaled)' : ''}, bin from`, yLabel: 'test images',
    categories: h.edges.slice(0, -1).map((e) => e.toFixed(2)), width: 420,
    series: [{ name: 'correct', values: h.correct, color: PALETTE[2] }, { name: 'misclassified', values: h.wrong, color: PALETTE[4] }],
    description: `how confident the model is on the ${p.labels.length} test images of ${names.length} classes, correct and wrong predictions apart`,
  });
}

/** Precision–recall curve(s) drawn as steps (average precision is the area under these steps). */
export function prPlot(d: RunReportData): string | undefined {
  const m = d.test;
  const curves = m.pr_curve ? [{ name: `${m.class_names[1]} (AP ${fmt(m.average_precision, 3)})`, c: m.pr_curve, prev: (m.per_class[1]?.support ?? 0) / m.n_test }]
    : (m.pr_curves_ovr ?? []).map((c, k) => ({ name: `${m.class_names[k]} (AP ${fmt(m.per_class[k]?.average_precision, 3)})`, c, prev: (m.per_class[k]?.support ?? 0) / m.n_test }));
  if (!curves.length) return undefined;
  const series: Series[] = curves.map(({ name, c }) => ({ name, points: c.recall.map((r, i) => [r, c.precision[i]!] as const), step: 'post' }));
  if (curves.length === 1) series.push({ name: `prevalence ${fmt(curves[0]!.prev, 3)}`, points: [[0, curves[0]!.prev], [1, curves[0]!.prev]], color: '#9ca3af', dash: '4 3', width: 1.2 });
  return linePlot({
    title: m.pr_curve ? `Precision–recall (test, positive = ${m.class_names[1]})` : 'Precision–recall (test, one-vs-rest)', xLabel: 'recall (sensitivity)', yLabel: 'precision (PPV)',
    x: [0, 1], y: [0, 1.02], legend: 'below', width: 330, height: 320, series,
    description: 'precision against recall on the test rows; dashed line = prevalence of the positive class',
  });
}

/** Reliability diagram on test: accuracy against confidence per bin, before and after temperature scaling. */
export function reliabilityPlot(d: RunReportData): string {
  const m = d.test as unknown as Record<string, unknown>;
  const bins = reportBins(d);
  const before = (m[`reliability_bins_${bins}`] ?? []) as (ReliabilityBin | null)[];
  const after = m[`reliability_bins_${bins}_after_temperature`] as (ReliabilityBin | null)[] | undefined;
  const n = d.test.n_test || 1;
  const ser = (b: (ReliabilityBin | null)[], name: string, color: string, dash?: string): Series => {
    const filled = b.filter((x): x is ReliabilityBin => !!x && x.count > 0);
    return { name, color, ...(dash ? { dash } : {}), points: filled.map((x) => [x.confidence, x.accuracy] as const), markers: filled.map((x) => 2 + 7 * Math.sqrt(x.count / n)) };
  };
  const T = d.test.temperature;
  const series = [ser(before, `before (ECE ${fmt(m[`ece_${bins}`] as number, 3)})`, PALETTE[0])];
  if (after) series.push(ser(after, `after T=${fmt(T, 2)} (ECE ${fmt(m[`ece_${bins}_after_temperature`] as number, 3)})`, PALETTE[1], '5 3'));
  return linePlot({
    title: `Reliability diagram (test, ${bins} bins)`, xLabel: 'confidence (mean top-class probability in bin)', yLabel: 'accuracy in bin', x: [0, 1], y: [0, 1],
    diagonal: 'perfect calibration', legend: 'below', width: 360, height: 320, series,
    description: 'accuracy against confidence per bin; marker area grows with the bin\'s rows; dashed diagonal = perfect calibration',
  });
}

/** Set-size histograms of the conformal methods (test rows per set size). */
export function conformalPlot(d: RunReportData): string | undefined {
  const entries = conformalOf(d);
  if (!entries.length) return undefined;
  const K = d.test.classes;
  return barChart({
    title: `Conformal set sizes (test, n=${d.test.n_test})`, xLabel: 'classes in the prediction set', yLabel: 'test images',
    categories: Array.from({ length: K + 1 }, (_, i) => String(i)),
    series: entries.map((c) => ({ name: c.name, values: c.evaluation.set_size_histogram })), width: 360,
    description: 'how many test images get prediction sets of each size; size 1 is a confident single answer',
  });
}
