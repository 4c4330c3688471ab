import { fmt, headlineRows } from './headline.js';
import { conformalOf, reportBins, type RunReportData } from './run-data.js';
import { esc } from './svg.js';

/** A model card as sections of bullet points, rendered to Markdown (model-card.md) and HTML (the report). */
export interface ModelCardSection {
  heading: string;
  items: string[];
}

const ci = (c?: [number, number]) => (c ? ` (95% CI ${fmt(c[0], 3)}–${fmt(c[1], 3)})` : '');

/** The model card of a run (after Mitchell et al., "Model Cards for Model Reporting", 2019), with no PHI. */
export function modelCard(d: RunReportData): ModelCardSection[] {
  const m = d.test;
  const bins = reportBins(d);
  const rec = m as unknown as Record<string, number>;
  const key = m.classes === 2 ? ['roc_auc', 'balanced_accuracy', 'accuracy', 'mcc', 'log_loss'] : ['roc_auc_ovr_macro', 'balanced_accuracy', 'accuracy', 'macro_f1', 'log_loss'];
  const rows = headlineRows(m, bins).filter((r) => key.includes(r.key));
  const arch = d.model ? `${d.model.arch}${d.model.backbone ? ` (backbone ${d.model.backbone}${d.model.head ? `, ${typeof d.model.head === 'string' ? d.model.head : 'MLP'} head` : ''})` : ''}` : 'unknown';
  const pre = d.preprocess ? `${d.preprocess.size}×${d.preprocess.size} px, ${d.preprocess.channels === 1 ? 'grey' : 'RGB'}, ${d.preprocess.fit}, normalisation ${d.preprocess.normalize}` : 'see preprocess.json';
  const fit = d.fit as { epochs?: number; optimizer?: string; lr?: number; batchSize?: number; schedule?: string } | undefined;
  const small = m.n_test < 200;
  return [
    { heading: 'Model details', items: [
      `Classifier of ${m.classes} classes (${m.class_names.join(', ')}), architecture ${arch}, exported as ONNX (model.onnx; input x [N,C,H,W] float32, output logits).`,
      `Input: ${pre}.`,
      ...(d.preprocess?.tabularColumns ? [`Tabular input (${d.tabularUse ?? 'early fusion'}): ${d.preprocess.tabularColumns.join(', ')}, encoded into ${d.preprocess.tabularFeatures} features (tab [N,F]; tabular.json, fitted on the training split) and ${d.tabularUse === 'tabular only' ? 'the only input the network reads (the image input is ignored)' : d.tabularUse === 'late fusion' ? 'read by a separately trained tabular model whose logits are combined with the image model\'s (late-fusion.json, fitted on validation)' : 'concatenated to the image embedding before the classifier'}; predictions need these values for every image.`] : []),
      ...(fit ? [`Training: ${fit.epochs ?? '?'} epoch(s), ${fit.optimizer ?? '?'} at lr ${fit.lr ?? '?'} (${fit.schedule ?? '?'} schedule), batch ${fit.batchSize ?? '?'}${d.seed !== undefined ? `, seed ${d.seed}` : ''}.`] : []),
      ...(d.versions ? [`Software: ${Object.entries(d.versions).filter(([, v]) => v !== 'unknown').map(([k, v]) => `${k} ${v}`).join(', ')}.`] : []),
    ] },
    { heading: 'Intended use', items: [
      'Research software, not a diagnostic device. For research and education on the data set named below: method development, benchmarking, teaching.',
      'Not for clinical decisions, screening or triage of patients, and not validated on any population outside its test split.',
    ] },
    { heading: 'Data', items: [
      `Source: ${d.source ?? 'not recorded'}${d.fingerprint ? ` (fingerprint ${d.fingerprint} of item ids, labels and splits)` : ''}.`,
      `Images: ${d.counts.train !== undefined ? `${d.counts.train} train, ` : ''}${d.counts.val} validation, ${d.counts.test} test${d.skipped ? `; ${d.skipped} unreadable file(s) skipped` : ''}. Metrics evaluated on ${d.evaluatedOn}.`,
      `Test class support: ${m.per_class.map((c) => `${c.name}: ${c.support}`).join(', ')}.`,
    ] },
    { heading: 'Metrics (test split)', items: [
      ...rows.map((r) => `${r.label}: ${fmt(r.value, 3)}${ci(r.ci)}, n=${r.n}.`),
      ...(m.temperature !== null ? [`Calibration: temperature T=${fmt(m.temperature, 3)} fitted on validation; ECE (${bins} bins) ${fmt(rec[`ece_${bins}`], 3)} before, ${fmt(rec[`ece_${bins}_after_temperature`], 3)} after.`] : [`Calibration: ECE (${bins} bins) ${fmt(rec[`ece_${bins}`], 3)}; no validation rows, so no temperature scaling.`]),
      ...conformalOf(d).filter((c) => c.method === 'lac' && !c.mondrian).map(({ alpha, evaluation: c }) =>
        `Conformal sets (LAC, target coverage ${fmt(1 - alpha, 2)}): test coverage ${fmt(c.coverage, 3)}, mean set size ${fmt(c.mean_set_size, 2)}.`),
    ] },
    { heading: 'Limitations', items: [
      ...(small ? [`The test split is small (n=${m.n_test}): confidence intervals are wide and single figures can move a lot with a different split.`] : []),
      'Performance was measured on held-out images from the same source as the training data; expect it to drop on other scanners, sites, populations and acquisition protocols (distribution shift).',
      'Labels are taken as given by the data set; label noise and annotation conventions are inherited.',
      m.subgroups.length ? `Subgroup figures are reported for ${[...new Set(m.subgroups.map((g) => g.column))].join(', ')}; groups flagged small are not reliable.` : 'No subgroup analysis (sex, age, site) was run; fairness across groups is unknown.',
      'Probabilities are calibrated on the validation split only; conformal coverage holds on average over exchangeable data, not per patient.',
    ] },
    { heading: 'Privacy', items: [
      'No protected health information: this card and the report carry no patient identifiers, file names or paths, only counts and aggregate metrics.',
      'predictions.csv in the run directory lists item ids relative to the data set; review it before sharing the run directory.',
    ] },
  ];
}

/** Markdown text of a model card. */
export function modelCardMarkdown(d: RunReportData, sections = modelCard(d)): string {
  const lines = [`# Model card: ${d.name}`, '', '> **Research software, not a diagnostic device.** Not for clinical use.', ''];
  for (const s of sections) lines.push(`## ${s.heading}`, '', ...s.items.map((i) => `- ${i}`), '');
  return `${lines.join('\n').trimEnd()}\n`;
}

/** HTML of a model card (inside the report). */
export function modelCardHtml(sections: ModelCardSection[]): string {
  return sections.map((s) => `<h3>${esc(s.heading)}</h3><ul>${s.items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`).join('');
}
