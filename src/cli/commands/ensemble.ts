import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { McDropoutOptions, buildEnsemble, buildMcDropout, type DerivedRunSummary } from '../../pipeline/index.js';
import { checkJsonTarget, out, table } from '../output.js';

const int = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new MedclassError('MC_CLI_BAD_OPTION', `--${name}: expected an integer, got '${v}'`);
  return n;
};

type Figures = Record<string, unknown> & { ci?: { intervals?: Record<string, [number, number]> } | null };
const f4 = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : '–');
const withCi = (m: Figures | undefined, key: string) => {
  const ci = m?.ci?.intervals?.[key];
  return `${f4(m?.[key])}${ci ? ` (${f4(ci[0])}–${f4(ci[1])})` : ''}`;
};
const eceOf = (m: Figures | undefined) => Object.keys(m ?? {}).find((k) => /^ece_\d+$/.test(k)) ?? 'ece_15';

/** The side-by-side table of a derived run and its baseline single model: test AUC, ECE, NLL, error detection, selective accuracy. */
function render(s: DerivedRunSummary, label: string): string {
  const m = s.evaluation.metrics as unknown as Figures;
  const b = s.baselineMetrics as Figures | undefined;
  const auc = m.roc_auc !== undefined ? 'roc_auc' : 'roc_auc_ovr_macro';
  const u = s.uncertainty.test;
  const bu = s.uncertainty.baseline;
  const sel = (r: typeof u | null | undefined, score: string, key: 'auroc' | string) => {
    const f = r?.scores[score];
    if (!f) return '–';
    const v = key === 'auroc' ? f.error_detection_auroc : f.accuracy_at_coverage[key];
    const ci = f.ci?.[key === 'auroc' ? 'error_detection_auroc' : `accuracy_at_coverage@${key}`];
    return `${f4(v)}${ci ? ` (${f4(ci.low)}–${f4(ci.high)})` : ''}`;
  };
  const rows: (string | number)[][] = [
    ['test', `single model (${bu?.name ?? 'baseline'})`, label],
    ['ROC AUC', withCi(b, auc), withCi(m, auc)],
    ['accuracy', withCi(b, 'accuracy'), withCi(m, 'accuracy')],
    [`ECE (${eceOf(m)})`, withCi(b, eceOf(b)), withCi(m, eceOf(m))],
    ['NLL (log loss)', withCi(b, 'log_loss'), withCi(m, 'log_loss')],
    ['error-detection AUROC, entropy', sel(bu, 'entropy', 'auroc'), sel(u, 'entropy', 'auroc')],
    ['error-detection AUROC, mutual information', '–', sel(u, 'mutual_information', 'auroc')],
    ...u.coverages.flatMap((c) => [
      [`accuracy at ${Math.round(c * 100)} % coverage, entropy`, sel(bu, 'entropy', String(c)), sel(u, 'entropy', String(c))],
      [`accuracy at ${Math.round(c * 100)} % coverage, mutual information`, '–', sel(u, 'mutual_information', String(c))],
    ]),
  ];
  return `${s.runDir}: ${label}; ${s.evaluation.counts.val} val / ${s.evaluation.counts.test} test images\n${table(rows)}\n(uncertainty in nats; CIs: stratified bootstrap, 95 %)\nResearch software, not a diagnostic device.`;
}

const finish = (s: DerivedRunSummary, label: string, json?: string) => {
  if (json) writeFileSync(json, `${JSON.stringify({ runDir: s.runDir, test: s.evaluation.metrics, uncertainty: s.uncertainty, baselineMetrics: s.baselineMetrics ?? null }, null, 2)}\n`);
  out(render(s, label));
  process.exitCode = 0;
};

/** `medclass ensemble RUN… --out DIR` and `medclass mc-dropout RUN --out DIR`: run directories with uncertainty. */
export function registerEnsemble(program: Command): void {
  program
    .command('ensemble')
    .description("combine runs trained on the same data and split (e.g. seeds 0–4) into one deep-ensemble run directory: model.onnx averages the members' probabilities and also outputs predictive entropy and mutual information; it is evaluated, calibrated, reported, predicted and served like any run, and uncertainty.json measures error detection and selective accuracy beside the first member. Research software, not a diagnostic device")
    .argument('<runs...>', 'member run directories')
    .requiredOption('--out <dir>', 'run directory to write')
    .option('--threads <n>', 'onnxruntime threads (0 = all cores)')
    .option('--bootstrap <n>', "bootstrap resamples of the selective-prediction CIs (default: the first member's eval.bootstrap)")
    .option('--force', 'replace a run already in --out')
    .option('--json <file>', 'also write the figures as JSON to this file')
    .action(async (runs: string[], o: { out: string; threads?: string; bootstrap?: string; force?: boolean; json?: string }) => {
      checkJsonTarget(o.json);
      const threads = int(o.threads, 'threads');
      const bootstrap = int(o.bootstrap, 'bootstrap');
      const s = await buildEnsemble(runs, o.out, { force: o.force === true, ...(threads !== undefined ? { threads } : {}), ...(bootstrap !== undefined ? { bootstrap } : {}) });
      finish(s, `deep ensemble of ${runs.length}`, o.json);
    });
  program
    .command('mc-dropout')
    .description("MC-dropout of a run trained with model.dropout > 0: a run directory whose model.onnx keeps the dropout on for T seeded passes (fixed masks, so predictions are reproducible) and outputs their mean probabilities, predictive entropy and mutual information; evaluated, calibrated, reported, predicted and served like any run, with uncertainty.json beside the run's own deterministic model. Research software, not a diagnostic device")
    .argument('<run>', 'trained run directory')
    .requiredOption('--out <dir>', 'run directory to write')
    .option('--passes <n>', `stochastic passes T (default ${McDropoutOptions.parse({}).passes})`)
    .option('--seed <n>', "seed of the dropout masks (default: the run's seed)")
    .option('--threads <n>', 'onnxruntime threads (0 = all cores)')
    .option('--bootstrap <n>', "bootstrap resamples of the selective-prediction CIs (default: the run's eval.bootstrap)")
    .option('--force', 'replace a run already in --out')
    .option('--json <file>', 'also write the figures as JSON to this file')
    .action(async (run: string, o: { out: string; passes?: string; seed?: string; threads?: string; bootstrap?: string; force?: boolean; json?: string }) => {
      checkJsonTarget(o.json);
      const [passes, seed, threads, bootstrap] = [int(o.passes, 'passes'), int(o.seed, 'seed'), int(o.threads, 'threads'), int(o.bootstrap, 'bootstrap')];
      const s = await buildMcDropout(run, o.out, {
        force: o.force === true, ...(passes !== undefined ? { passes } : {}), ...(seed !== undefined ? { seed } : {}),
        ...(threads !== undefined ? { threads } : {}), ...(bootstrap !== undefined ? { bootstrap } : {}),
      });
      finish(s, `MC-dropout, ${passes ?? McDropoutOptions.parse({}).passes} passes`, o.json);
    });
}
