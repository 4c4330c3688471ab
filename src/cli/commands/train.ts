import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { MedclassError } from '../../errors.js';
import { RunConfig, autoTrain, parseBudget, runTraining, type RunSummary } from '../../pipeline/index.js';
import { describeConfigIssues, eceKey, metricParams, openRunDir, runEvalOptions } from '../../run/index.js';
import { out, table } from '../output.js';
import { addCsvFlags, csvOptionsFrom, dicomMetaTagsFrom } from './data.js';
import { nextCommands, runRenderer } from '../progress.js';
import { withGracefulInterrupt } from '../interrupt.js';
import { reportAfterTraining } from './report.js';

interface TrainFlags {
  config?: string; data?: string; arch?: string; epochs?: string; lr?: string; batchSize?: string; seed?: string;
  out?: string; name?: string; threads?: string; resume?: boolean | string; force?: boolean; stopAfterBatches?: string; quiet?: boolean; json?: string; report?: boolean;
  size?: string; channels?: string; groupPattern?: string; dicomMeta?: string | boolean;
  budget?: string; backbone?: string; flip?: string;
}

/** Flags that change what a run computes (with --resume they must agree with run.json; --out/--name only locate it). */
const CONFIG_FLAGS = ['config', 'data', 'groupPattern', 'dicomMeta', 'arch', 'size', 'channels', 'epochs', 'lr', 'batchSize', 'seed'] as const;

/**
 * The config and run directory of `medclass train`. Without --resume: the config file under the flags. With
 * `--resume DIR` (or `--resume` and --out/--name, default runs/run): the config recorded in DIR/run.json, every
 * override of the first invocation included; config flags given beside it must agree with it (else
 * MC_RUN_RESUME_MISMATCH), --threads may change.
 */
export function resolveTrainRun(flags: TrainFlags): { cfg: RunConfig; runDir: string; resume: boolean } {
  if (!flags.resume) {
    const cfg = loadRunConfig(flags);
    return { cfg, runDir: join(cfg.out, cfg.name), resume: false };
  }
  const located = typeof flags.resume === 'string' ? flags.resume : flags.config ? (({ out, name }) => join(out, name))(loadRunConfig(flags)) : join(flags.out ?? 'runs', flags.name ?? 'run');
  const stored = openRunDir(located).config;
  // Flags beside --resume go over the recorded config (or over --config); runTraining refuses any difference.
  const given = CONFIG_FLAGS.some((f) => flags[f] !== undefined) || flags.threads !== undefined;
  return { cfg: given ? loadRunConfig(flags, flags.config ? undefined : stored) : stored, runDir: located, resume: true };
}

const shellQuote = (s: string) => (/^[\w./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** Reads the YAML/JSON config (or starts from `start`, e.g. a config recorded in run.json), applies flags over it and validates it (zod), printing each bad field. */
export function loadRunConfig(flags: TrainFlags, start?: RunConfig): RunConfig {
  let base: Record<string, any> = start ? structuredClone(start) as Record<string, any> : {};
  if (flags.config) {
    try {
      base = (parseYaml(readFileSync(flags.config, 'utf8')) ?? {}) as Record<string, any>;
    } catch (cause) {
      throw new MedclassError('MC_TRAIN_BAD_CONFIG', `${flags.config}: could not be read as YAML (${String(cause)})`, { file: flags.config, cause });
    }
  }
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new MedclassError('MC_CLI_BAD_OPTION', `--${name}: expected a number, got '${v}'`);
    return n;
  };
  const set = (path: string[], v: unknown) => {
    if (v === undefined) return;
    let o = base;
    for (const k of path.slice(0, -1)) o = o[k] ??= {};
    o[path.at(-1)!] = v;
  };
  set(['data', 'source'], flags.data);
  set(['data', 'groupPattern'], flags.groupPattern);
  set(['data', 'dicomMeta'], dicomMetaTagsFrom(flags.dicomMeta));
  set(['data', 'preprocess', 'size'], num(flags.size, 'size'));
  set(['data', 'preprocess', 'channels'], num(flags.channels, 'channels'));
  set(['model', 'arch'], flags.arch);
  set(['fit', 'epochs'], num(flags.epochs, 'epochs'));
  set(['fit', 'lr'], num(flags.lr, 'lr'));
  set(['fit', 'batchSize'], num(flags.batchSize, 'batch-size'));
  set(['seed'], num(flags.seed, 'seed'));
  set(['threads'], num(flags.threads, 'threads'));
  set(['out'], flags.out);
  set(['name'], flags.name);
  const parsed = RunConfig.safeParse(base);
  if (!parsed.success) {
    const lines = describeConfigIssues(parsed.error).map((l) => `  ${l}`).join('\n');
    throw new MedclassError('MC_TRAIN_BAD_CONFIG', `${flags.config ?? 'configuration'} is invalid:\n${lines}`, { hint: 'see examples/*.yaml; every field is listed in docs/config.md' });
  }
  return parsed.data;
}

/** The metrics table printed after a run: headline test metrics with 95% CIs, n beside (ECE with `bins` bins). */
export function formatRunSummary(s: RunSummary, bins = 15): string {
  const m = s.metrics as unknown as Record<string, any> | undefined;
  const lines = [`run directory: ${s.runDir}  (${s.status}, ${s.wallSeconds.toFixed(0)} s)`];
  if (s.skipped.length) lines.push(`skipped ${s.skipped.length} unreadable file(s); see run.json`);
  if (!m) return lines.join('\n');
  const ci = (m.ci?.intervals ?? {}) as Record<string, [number, number]>;
  const ece = eceKey({ bins });
  const keys = ['accuracy', 'balanced_accuracy', 'roc_auc', 'roc_auc_ovr_macro', 'macro_f1', 'mcc', 'quadratic_kappa', 'log_loss', 'brier', ece, `${ece}_after_temperature`];
  const rows: (string | number)[][] = [['test metric', 'value', '95% CI', 'n']];
  for (const k of keys) {
    if (typeof m[k] !== 'number') continue;
    const c = ci[k];
    rows.push([k, m[k].toFixed(4), c ? `${c[0].toFixed(4)}–${c[1].toFixed(4)}` : '', m.n_test]);
  }
  if (typeof m.temperature === 'number') rows.push(['temperature (fit on val)', m.temperature.toFixed(3), '', m.n_val]);
  lines.push(table(rows));
  lines.push(`best epoch: phase ${(s.bestEpoch?.phase ?? 0) + 1}, epoch ${s.bestEpoch?.epoch ?? '?'}   data: ${s.counts.train} train / ${s.counts.val} val / ${s.counts.test} test`);
  lines.push('Research software, not a diagnostic device.');
  return lines.join('\n');
}

/** Flags that only make sense with a config, refused beside SOURCE (the recipe chooses them). */
const RECIPE_CHOSEN = ['config', 'data', 'arch', 'size', 'channels', 'epochs', 'lr', 'batchSize', 'resume', 'stopAfterBatches'] as const;

/** `medclass train SOURCE [--budget 15m] [--backbone FILE]`: a recipe chosen from the data, run within the budget. */
async function trainFromSource(source: string, flags: TrainFlags): Promise<void> {
  const clash = RECIPE_CHOSEN.filter((f) => flags[f] !== undefined && flags[f] !== false);
  if (clash.length) {
    throw new MedclassError('MC_CLI_BAD_OPTION', `train SOURCE chooses its own recipe; --${clash.map((c) => c.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)).join(', --')} cannot go with it`, {
      hint: 'edit the config.yaml it writes into the run directory and re-run it with medclass train --config',
    });
  }
  const flip = flags.flip ?? 'auto';
  if (!['auto', 'none', 'h', 'hv'].includes(flip)) throw new MedclassError('MC_CLI_BAD_OPTION', `--flip: expected auto, none, h or hv, got '${flip}'`);
  const num = (v: string | undefined, d: number, name: string) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new MedclassError('MC_CLI_BAD_OPTION', `--${name}: expected a non-negative integer, got '${v}'`);
    return n;
  };
  const csv = csvOptionsFrom(flags as Record<string, string | undefined>);
  const data = { ...(flags.groupPattern ? { groupPattern: flags.groupPattern } : {}), ...(csv ? { csv } : {}) };
  const r = await withGracefulInterrupt((shouldStop) => autoTrain({
    source, budgetSeconds: parseBudget(flags.budget ?? '15m'), flip: flip as 'auto', ...(flags.backbone ? { backbone: flags.backbone } : {}),
    name: flags.name ?? 'run', out: flags.out ?? 'runs', seed: num(flags.seed, 0, 'seed'), threads: num(flags.threads, 0, 'threads'), data,
    force: flags.force === true, onEvent: runRenderer({ quiet: flags.quiet === true }), shouldStop,
  }));
  if (flags.json) (await import('node:fs')).writeFileSync(flags.json, JSON.stringify({ ...r.summary, metrics: undefined, config: r.config, recipe: r.recipe }, null, 2));
  out(formatRunSummary(r.summary, metricParams(runEvalOptions(r.config.eval, r.summary.classes)).bins));
  if (flags.report !== false && r.summary.status !== 'interrupted') out(await reportAfterTraining(r.summary.runDir));
  out(`recipe: ${join(r.summary.runDir, 'config.yaml')} (re-run: medclass train --config ${shellQuote(join(r.summary.runDir, 'config.yaml'))} --name <new name>)`);
  if (r.summary.status === 'interrupted') process.exitCode = 130;
}

export function registerTrain(program: Command): void {
  const cmd = program
    .command('train [source]')
    .description('train a classifier from a YAML config (and flags), or from SOURCE alone with a recipe chosen from the data within --budget; writes a run directory')
    .option('-c, --config <file>', 'run configuration (YAML or JSON); see examples/')
    .option('--data <source>', 'image folder, .npz, .csv manifest or phantom:')
    .option('--group-pattern <regex>', 'override data.groupPattern: patient/group id from file names (first capture group or whole match)')
    .option('--dicom-meta [tags]', "override data.dicomMeta: DICOM tags kept as item metadata for eval.subgroups (comma list; bare or 'all': every allowed tag; identifiers never)")
    .option('--arch <name>', 'compact-cnn, resnet18-28, resnet18, vit-small or backbone')
    .option('--size <px>', 'input size in pixels')
    .option('--channels <n>', '1 (grey) or 3 (RGB)')
    .option('--epochs <n>', 'epochs')
    .option('--lr <x>', 'peak learning rate')
    .option('--batch-size <n>', 'images per step')
    .option('--seed <n>', 'seed for everything random')
    .option('--threads <n>', 'onnxruntime threads (0 = all cores)')
    .option('--out <dir>', 'parent folder of run directories')
    .option('--name <name>', 'run name (directory under --out)')
    .option('--resume [dir]', 'continue an interrupted run from its last checkpoint with the config recorded in DIR/run.json (every override of the first invocation); without DIR, the run named by --out/--name (default runs/run)')
    .option('--force', 'replace an existing run in the run directory (its report.html, model-card.md, explain/ and index/ are removed too)')
    .option('--stop-after-batches <n>', 'testing: stop cleanly after N batches, exactly as Ctrl-C does (a deterministic interruption for resume tests)')
    .option('--json <file>', 'also write the summary as JSON')
    .option('-q, --quiet', 'no progress output')
    .option('--no-report', 'skip report.html, model-card.md and figures/ at the end (written by default; medclass report --run DIR writes them later)')
    .option('--budget <time>', 'with SOURCE: wall-time budget for the whole run, data to metrics (15m, 90s, 1h; default 15m)')
    .option('--backbone <onnx>', 'with SOURCE: fine-tune this ImageNet backbone (cached trunk, head then last:40) instead of training from scratch')
    .option('--flip <mode>', "with SOURCE: flips in augmentation: auto (colour: h+v, grey: none, as laterality may matter), none, h, hv", 'auto');
  addCsvFlags(cmd)
    .action(async (sourceArg: string | undefined, flags: TrainFlags) => {
      if (sourceArg !== undefined) return trainFromSource(sourceArg, flags);
      if (flags.budget !== undefined || flags.backbone !== undefined) throw new MedclassError('MC_CLI_BAD_OPTION', '--budget and --backbone go with a SOURCE (medclass train SOURCE --budget 15m)', { hint: 'or give a --config' });
      const { cfg, runDir, resume } = resolveTrainRun(flags);
      if (flags.force && resume) throw new MedclassError('MC_CLI_BAD_OPTION', '--force and --resume exclude each other', { hint: '--resume continues the run, --force replaces it' });
      const stopAfter = flags.stopAfterBatches === undefined ? undefined : Number(flags.stopAfterBatches);
      if (stopAfter !== undefined && !(Number.isInteger(stopAfter) && stopAfter > 0)) throw new MedclassError('MC_CLI_BAD_OPTION', `--stop-after-batches: expected a positive integer, got '${flags.stopAfterBatches}'`);
      const s = await withGracefulInterrupt((shouldStop) => runTraining(cfg, {
        runDir, resume, force: flags.force === true, onEvent: runRenderer({ quiet: flags.quiet === true, monitor: cfg.fit.monitor }), shouldStop,
        ...(stopAfter !== undefined ? { stopAfterBatches: stopAfter } : {}),
      }));
      if (flags.json) (await import('node:fs')).writeFileSync(flags.json, JSON.stringify({ ...s, metrics: undefined }, null, 2));
      out(formatRunSummary(s, metricParams(runEvalOptions(cfg.eval, s.classes)).bins));
      if (flags.report !== false && s.status !== 'interrupted') out(await reportAfterTraining(runDir));
      if (s.status === 'interrupted') {
        out(`interrupted: resume with  medclass train --resume ${shellQuote(runDir)}`);
        process.exitCode = 130;
      } else out(nextCommands(runDir));
    });
}
