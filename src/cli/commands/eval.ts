import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { DISCLAIMER, type EvalEvent } from '../../eval/index.js';
import { EvaluateRunOptions, evaluateRunDir, type EvaluateRunEvent, type RunEvaluation } from '../../pipeline/index.js';
import { fmt, headlineRows } from '../../report/index.js';
import { conformalEntries } from '../../run/index.js';
import { out, table } from '../output.js';
import { progressRenderer } from './data.js';

/** The headline table of a re-evaluation: test metric, value, 95% CI, n, ZeroR. */
export function formatEvaluation(e: RunEvaluation): string {
  const m = e.metrics;
  const level = m.ci ? `${Math.round(m.ci.level * 100)}% CI` : 'CI';
  const rows: (string | number)[][] = [['test metric', 'value', level, 'n', 'ZeroR']];
  for (const r of headlineRows(m, e.params.bins)) rows.push([r.label, fmt(r.value), r.ci ? `${fmt(r.ci[0])}–${fmt(r.ci[1])}` : '', r.n, fmt(r.zeroR)]);
  if (m.temperature !== null) rows.push(['temperature (fit on val)', fmt(m.temperature, 3), '', m.n_val, '']);
  for (const { key, method, mondrian, alpha } of conformalEntries(e.params)) {
    const c = (m as unknown as Record<string, { coverage: number; mean_set_size: number; n_test: number } | undefined>)[key];
    if (c) rows.push([`conformal ${method.toUpperCase()}${mondrian ? ' Mondrian' : ''} α=${alpha}: coverage / mean set size`, `${fmt(c.coverage, 3)} / ${fmt(c.mean_set_size, 2)}`, '', c.n_test, '']);
  }
  const lines = [`evaluated on ${e.evaluatedOn}: ${e.counts.val} val / ${e.counts.test} test rows${m.ci ? `; ${m.ci.n_resamples} stratified bootstrap resamples` : '; no bootstrap'}`];
  if (e.splits) lines.push(`splits: ${e.splits.recorded} item(s) as run.json records${e.splits.unknown ? `, ${e.splits.unknown} the run never saw split by its config` : ''}`);
  if (e.skipped.length) lines.push(`skipped ${e.skipped.length} unreadable file(s): ${e.skipped.slice(0, 3).map((s) => `${s.file} (${s.code})`).join(', ')}${e.skipped.length > 3 ? ', …' : ''}`);
  lines.push(table(rows));
  if (m.subgroups.length) {
    const keys = Object.keys(m.subgroups[0]!.metrics).slice(0, 3);
    lines.push('', 'subgroups (test): value [CI] (gap to overall); * = small group');
    lines.push(table([['column', 'value', 'n', ...keys], ...m.subgroups.map((g) => [g.column, `${g.value}${g.small ? ' *' : ''}`, g.n,
      ...keys.map((k) => { const v = g.metrics[k]!; return `${fmt(v.value, 3)}${v.ci ? ` [${fmt(v.ci.low, 3)}, ${fmt(v.ci.high, 3)}]` : ''} (${v.gap >= 0 ? '+' : ''}${fmt(v.gap, 3)})`; })])]));
  }
  lines.push('wrote metrics.json and calibration.json', 'Research software, not a diagnostic device.');
  return lines.join('\n');
}

const num = (v: string) => Number(v);

/** `medclass eval --run DIR`: re-evaluates a run (from predictions.csv, or re-running the model on --data). */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(`re-evaluate a run directory: metrics with bootstrap CIs, temperature, conformal sets; rewrites metrics.json and calibration.json. ${DISCLAIMER}`)
    .requiredOption('--run <dir>', 'run directory written by medclass train (a k-fold fold-N directory is evaluated on its own fold); without options it reproduces the run\'s metrics.json byte for byte')
    .option('--data <source>', EvaluateRunOptions.shape.data.description!)
    .option('--bootstrap <n>', EvaluateRunOptions.shape.bootstrap.description!, num)
    .option('--alpha <a>', EvaluateRunOptions.shape.alpha.description!, num)
    .option('--subgroups <columns>', `${EvaluateRunOptions.shape.subgroups.description!}, comma-separated`)
    .option('--seed <n>', EvaluateRunOptions.shape.seed.description!, num)
    .option('--threads <n>', EvaluateRunOptions.shape.threads.description!, num)
    .option('--json <file>', 'also write the full metrics report as JSON')
    .action(async (o: { run: string; data?: string; bootstrap?: number; alpha?: number; subgroups?: string; seed?: number; threads?: number; json?: string }) => {
      const parsed = EvaluateRunOptions.safeParse(Object.fromEntries(Object.entries({
        data: o.data, bootstrap: o.bootstrap, alpha: o.alpha, seed: o.seed, threads: o.threads,
        subgroups: o.subgroups?.split(',').map((s) => s.trim()).filter(Boolean),
      }).filter(([, v]) => v !== undefined)));
      if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `eval: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`, { hint: 'medclass eval --help' });
      const warned = new Set<string>();
      const progress = progressRenderer();
      const onEvent = (e: EvaluateRunEvent) => {
        if (e.type === 'progress') progress.onEvent(e);
        else if (e.type === 'warning') {
          const w = e as EvalEvent;
          if (!warned.has(w.message)) process.stderr.write(`warning ${w.code}: ${w.message}\n`);
          warned.add(w.message);
        }
      };
      let res;
      try {
        res = await evaluateRunDir(o.run, parsed.data, onEvent);
      } finally {
        progress.done();
      }
      out(formatEvaluation(res));
      if (o.json) writeFileSync(o.json, `${JSON.stringify(res.metrics, null, 1)}\n`);
      process.exitCode = 0;
    });
}
