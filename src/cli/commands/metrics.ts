import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { Rng } from '../../engine/index.js';
import { MedclassError } from '../../errors.js';
import {
  compareReports, comparisonToCsv, comparisonToMarkdown, DISCLAIMER, EvalOptions, evaluatePredictions, headlineMetricInfo, PER_CLASS_METRICS,
  readPredictionsCsv, selectSplit, type ConformalEvaluation, type EvalEvent, type MetricsReport, type ReliabilityBin,
} from '../../eval/index.js';
import { out, table } from '../output.js';

const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : Number.isFinite(v) ? v.toFixed(d) : String(v));
const frac = (num: number, den: number, d = 3) => `${f(den > 0 ? num / den : NaN, d)} (${num}/${den})`;

/** `[low, high]` of a metric key from the report's bootstrap, or the row count when there is no CI. */
function withCi(r: MetricsReport, key: string, value: number | undefined, d = 3): string {
  const ci = r.ci?.intervals[key];
  return ci ? `${f(value, d)} [${f(ci[0], d)}, ${f(ci[1], d)}]` : `${f(value, d)} (n=${r.n_test})`;
}

function binsTable(before: (ReliabilityBin | null)[], after: (ReliabilityBin | null)[] | undefined): string {
  const rows: (string | number)[][] = [['bin (conf]', 'n', 'accuracy', 'confidence', ...(after ? ['n (T)', 'accuracy (T)', 'confidence (T)'] : [])]];
  before.forEach((b, i) => {
    const a = after?.[i];
    if (!b && !a) return;
    const lo = i / before.length;
    rows.push([`(${lo.toFixed(3)}, ${((i + 1) / before.length).toFixed(3)}]`, b?.count ?? 0, f(b?.accuracy), f(b?.confidence),
      ...(after ? [a?.count ?? 0, f(a?.accuracy), f(a?.confidence)] : [])]);
  });
  return table(rows);
}

/** The human-readable evaluation: every number with its CI or its n. */
export function formatMetrics(r: MetricsReport, file: string, seed: number): string {
  const K = r.classes;
  const L: string[] = [];
  const bins = r.reliability_bins_15 ? 15 : Number(Object.keys(r).find((k) => /^ece_\d+$/.test(k))?.slice(4) ?? 15);
  L.push(`medclass metrics — ${file} — ${DISCLAIMER}`);
  L.push(`classes: ${K} (${r.class_names.join(', ')}); test n=${r.n_test}; val n=${r.n_val}; scores: ${r.score_kind}s`);
  L.push(r.ci ? `CIs: ${Math.round(r.ci.level * 100)} % ${r.ci.method}, ${r.ci.n_resamples} resamples of the test rows, seed ${seed}` : 'CIs: none (--bootstrap 0); n given instead');
  L.push('', `Headline metrics on test (n=${r.n_test}); ZeroR = always class ${r.zero_r.majority_class} (majority of ${r.zero_r.fitted_on})`);
  const rows: (string | number)[][] = [['metric', 'value [CI]', 'ZeroR', 'better']];
  const rec = r as unknown as Record<string, number>;
  for (const m of headlineMetricInfo(K, bins)) rows.push([m.label, withCi(r, m.key, rec[m.key]), f(r.zero_r.metrics[m.key]), m.higherIsBetter ? 'higher' : 'lower']);
  L.push(table(rows));
  L.push('', `Per class on test (one-vs-rest; CI in brackets)`);
  const pcRows: (string | number)[][] = [['class', 'support', ...PER_CLASS_METRICS.map((m) => m.key)]];
  for (const c of r.per_class) {
    const v = c as unknown as Record<string, number>;
    pcRows.push([c.name, c.support, ...PER_CLASS_METRICS.map((m) => withCi(r, `per_class[${c.class}].${m.key}`, v[m.key]))]);
  }
  L.push(table(pcRows));
  L.push('', 'Confusion matrix on test (rows true, columns predicted): count (row %)');
  L.push(table([['true \\ pred', ...r.class_names, 'n'], ...r.confusion_matrix.map((row, i) => [
    r.class_names[i]!, ...row.map((c, j) => `${c} (${(100 * r.confusion_matrix_normalized[i]![j]!).toFixed(1)}%)`), row.reduce((a, b) => a + b, 0)])]));
  if (r.roc_points !== undefined) L.push(`ROC curve: ${r.roc_points} points; PR curve: ${r.pr_curve?.recall.length ?? 0} points (in --json)`);
  const after = rec[`ece_${bins}_after_temperature`];
  L.push('', 'Calibration on test');
  if (r.temperature !== null) {
    const cal = r.calibration as { val_nll_before: number; val_nll_after: number };
    L.push(`temperature T = ${f(r.temperature, 4)} fitted by NLL on val (n=${r.n_val}; val NLL ${f(cal.val_nll_before, 4)} → ${f(cal.val_nll_after, 4)})`);
    L.push(`ECE (${bins} bins): ${withCi(r, `ece_${bins}`, rec[`ece_${bins}`], 4)} → ${f(after, 4)} after T (n=${r.n_test}); MCE ${f(rec[`mce_${bins}`], 4)} → ${f(rec[`mce_${bins}_after_temperature`], 4)}`);
    L.push(`log loss: ${f(r.log_loss, 4)} → ${f(rec.log_loss_after_temperature, 4)}; Brier: ${f(rec.brier ?? rec.brier_multiclass, 4)} → ${f(rec.brier_after_temperature ?? rec.brier_multiclass_after_temperature, 4)} (n=${r.n_test})`);
  } else {
    L.push(`ECE (${bins} bins): ${withCi(r, `ece_${bins}`, rec[`ece_${bins}`], 4)}; MCE ${f(rec[`mce_${bins}`], 4)} (n=${r.n_test}); no val rows, so no temperature scaling`);
  }
  const relAfter = (r as unknown as Record<string, (ReliabilityBin | null)[] | undefined>)[`reliability_bins_${bins}_after_temperature`];
  L.push(binsTable((r as unknown as Record<string, (ReliabilityBin | null)[]>)[`reliability_bins_${bins}`]!, relAfter));
  const conformal = Object.entries(r).filter(([k]) => k.startsWith('conformal_')) as [string, ConformalEvaluation][];
  if (conformal.length) {
    L.push('', `Conformal prediction sets (calibrated on val with T, evaluated on test n=${r.n_test})`);
    L.push(table([['method', 'q̂', 'n calib', 'coverage', 'mean set size', 'empty sets'], ...conformal.map(([k, c]) => [
      k.replace('conformal_', ''), Array.isArray(c.qhat) ? c.qhat.map((q) => f(q, 4)).join('/') : f(c.qhat, 4),
      Array.isArray(c.n_calibration) ? c.n_calibration.join('/') : c.n_calibration,
      frac(Math.round(c.coverage * c.n_test), c.n_test), f(c.mean_set_size, 3), c.set_size_histogram[0]!])]));
  }
  if (r.operating_points) {
    L.push('', `Operating points (threshold chosen on val n=${r.n_val}, applied to test; positive = class shown, one-vs-rest)`);
    const op: (string | number)[][] = [['class', 'criterion', 'threshold', 'val sens', 'test sensitivity', 'test specificity', 'test PPV', 'test NPV']];
    for (const [k, points] of Object.entries(r.operating_points)) for (const p of points) {
      const t = p.test;
      op.push([r.class_names[Number(k)]!, p.criterion, f(p.threshold, 4), frac(p.val.tp, p.val.tp + p.val.fn), frac(t.tp, t.tp + t.fn), frac(t.tn, t.tn + t.fp), frac(t.tp, t.tp + t.fp), frac(t.tn, t.tn + t.fn)]);
    }
    L.push(table(op));
  }
  if (r.subgroups.length) {
    L.push('', 'Subgroups on test: value [CI] (gap to overall); * = small group or a class missing');
    const keys = Object.keys(r.subgroups[0]!.metrics);
    L.push(table([['column', 'value', 'n', ...keys], ...r.subgroups.map((g) => [g.column, `${g.value}${g.small ? ' *' : ''}`, g.n,
      ...keys.map((k) => { const m = g.metrics[k]!; return `${f(m.value)}${m.ci ? ` [${f(m.ci.low)}, ${f(m.ci.high)}]` : ''} (${m.gap >= 0 ? '+' : ''}${f(m.gap)})`; })])]));
  }
  L.push('', `Classification report (test, n=${r.n_test})`, r.classification_report);
  return L.join('\n');
}

const num = (v: string) => Number(v);
const desc = (key: keyof typeof EvalOptions.shape) => `${EvalOptions.shape[key].description} (default ${JSON.stringify(EvalOptions.parse({})[key])})`;

/** `medclass metrics <predictions.csv>`: every metric with CIs, calibration, conformal sets, operating points; or `--compare` runs. */
export function registerMetrics(program: Command): void {
  program
    .command('metrics')
    .description(`evaluate a predictions CSV (split,label,logit_0..k-1 or prob_0..k-1): metrics with bootstrap CIs, calibration, conformal sets, operating points, subgroups; or compare runs' metrics.json. ${DISCLAIMER}`)
    .argument('[predictions]', 'predictions CSV (omit with --compare)')
    .option('--json <file>', 'write the full report as JSON (keys as ../shared/fixtures/metrics/*/reference.json); "-" for stdout')
    .option('--alpha <a>', desc('alpha'), num)
    .option('--bootstrap <n>', desc('bootstrap'), num)
    .option('--seed <n>', 'seed of the bootstrap resampling', num, 0)
    .option('--ci-level <p>', desc('ciLevel'), num)
    .option('--bins <n>', desc('bins'), num)
    .option('--target-sensitivity <s>', desc('targetSensitivity'), num)
    .option('--target-specificity <s>', desc('targetSpecificity'), num)
    .option('--mondrian', desc('mondrian'))
    .option('--subgroup <column...>', desc('subgroups'))
    .option('--min-group-size <n>', desc('minGroupSize'), num)
    .option('--class-names <names>', 'comma-separated class names in index order')
    .option('--compare <metrics...>', 'compare these metrics.json files instead (name = parent folder)')
    .option('--csv <file>', 'with --compare: write the comparison as CSV')
    .option('--md <file>', 'with --compare: write the comparison as Markdown')
    .action((predictions: string | undefined, o: Record<string, unknown>) => {
      if (o.compare) return runCompare(o.compare as string[], o.csv as string | undefined, o.md as string | undefined);
      if (!predictions) throw new MedclassError('MC_CLI_BAD_OPTION', 'metrics: give a predictions CSV or --compare metrics.json…', { hint: 'medclass metrics --help' });
      const parsed = EvalOptions.safeParse(Object.fromEntries(Object.entries({
        alpha: o.alpha, bootstrap: o.bootstrap, ciLevel: o.ciLevel, bins: o.bins, targetSensitivity: o.targetSensitivity, targetSpecificity: o.targetSpecificity,
        mondrian: o.mondrian, subgroups: o.subgroup, minGroupSize: o.minGroupSize, classNames: typeof o.classNames === 'string' ? o.classNames.split(',') : undefined,
      }).filter(([, v]) => v !== undefined)));
      if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `metrics: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`, { hint: 'medclass metrics --help' });
      const seed = o.seed as number;
      if (!Number.isSafeInteger(seed)) throw new MedclassError('MC_CLI_BAD_OPTION', `metrics: --seed must be an integer, got ${String(o.seed)}`);
      const tableIn = readPredictionsCsv(predictions, basename(predictions) === predictions ? predictions : `${basename(dirname(predictions))}/${basename(predictions)}`);
      const test = selectSplit(tableIn, 'test');
      if (!test) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', `${predictions}: no rows with split "test"`, { file: predictions });
      if (parsed.data.classNames && parsed.data.classNames.length !== tableIn.classes) throw new MedclassError('MC_CLI_BAD_OPTION', `--class-names: ${parsed.data.classNames.length} names for ${tableIn.classes} classes`);
      const warned = new Set<string>();
      const onEvent = (e: EvalEvent) => {
        if (warned.has(e.message)) return;
        warned.add(e.message);
        process.stderr.write(`warning ${e.code}: ${e.message}\n`);
      };
      const report = evaluatePredictions({ classes: tableIn.classes, scoreKind: tableIn.scoreKind, val: selectSplit(tableIn, 'val'), test }, parsed.data, new Rng(seed), onEvent);
      const json = `${JSON.stringify({ ...report, seed }, null, 1)}\n`;
      if (o.json === '-') {
        process.stdout.write(json);
      } else {
        out(formatMetrics(report, predictions, seed));
        if (typeof o.json === 'string') {
          writeFileSync(o.json, json);
          out(`\nwrote ${o.json}`);
        }
      }
      process.exitCode = 0;
    });
}

function runCompare(files: string[], csv: string | undefined, md: string | undefined): void {
  const entries = files.map((file) => {
    let report: Record<string, unknown>;
    try {
      report = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (cause) {
      throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', `${file}: not a readable metrics.json (${(cause as Error).message})`, { file, cause });
    }
    // a run directory's metrics.json holds {test, val}; `medclass metrics --json` output has the test metrics at the top
    const test = report.test && typeof report.test === 'object' ? (report.test as Record<string, unknown>) : report;
    return { name: basename(dirname(file)) || file, report: test };
  });
  const t = compareReports(entries);
  out(`${comparisonToMarkdown(t)}\nbest per column in bold (↑ higher is better, ↓ lower); CIs as in each metrics.json; ${DISCLAIMER}`);
  if (csv) writeFileSync(csv, comparisonToCsv(t));
  if (md) writeFileSync(md, comparisonToMarkdown(t));
  process.exitCode = 0;
}
