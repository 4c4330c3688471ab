import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { runSweep } from '../../queue/index.js';
import { out, table } from '../output.js';
import { loadRunConfig } from './train.js';

const value = (v: string): string | number | boolean => (v === 'true' ? true : v === 'false' ? false : v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

/** `fit.lr=0.001,0.003` → ['fit.lr', [0.001, 0.003]]. */
export function parseSetFlag(s: string): [string, (string | number | boolean)[]] {
  const eq = s.indexOf('=');
  if (eq <= 0) throw new MedclassError('MC_CLI_BAD_OPTION', `--set '${s}' is not path=value[,value…]`, { hint: 'e.g. --set fit.lr=0.001,0.003' });
  return [s.slice(0, eq).trim(), s.slice(eq + 1).split(',').map((v) => value(v.trim()))];
}

/** `medclass sweep --config run.yaml [--queue URL] [--folds K] [--seeds 0,1] [--set path=v1,v2]…`. */
export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('k-fold × seeds × grid of a run config: one job per fold, on queue workers (medclass worker) or here; each fold trains exactly as medclass kfold trains it, into <out>/<name>/<point>/seed-<s>/fold-<f>; prints and writes sweep.json (test mean ± sd per grid point). Running the same command again keeps finished folds and resumes interrupted ones from their checkpoint.')
    .requiredOption('-c, --config <file>', 'run configuration (YAML), as for train')
    .option('--queue <url>', 'redis://HOST:PORT of the workers')
    .option('--folds <k>', 'number of folds', '5')
    .option('--seeds <list>', 'seeds, e.g. 0,1,2 (default: the config seed)')
    .option('--set <path=values>', 'grid over a config field, e.g. fit.lr=0.001,0.003 (repeatable: the grid is the product)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--out <dir>', 'parent folder of run directories (shared with the workers)')
    .option('--name <name>', 'run name')
    .action(async (flags: { config: string; queue?: string; folds: string; seeds?: string; set: string[] } & Record<string, string | undefined>) => {
      const cfg = loadRunConfig(flags);
      const s = await runSweep(cfg, {
        folds: Number(flags.folds), set: flags.set.map(parseSetFlag), ...(flags.queue ? { queue: flags.queue } : {}),
        ...(flags.seeds ? { seeds: flags.seeds.split(',').map(Number) } : {}),
      }, (line) => process.stderr.write(`» ${line}\n`));
      const keys = Object.keys(s.points[0]?.metrics ?? {});
      out(table([['test metric', ...s.points.map((p) => p.label)], ...keys.map((k) => [k, ...s.points.map((p) => (p.metrics[k] ? `${p.metrics[k]!.mean.toFixed(4)} ± ${p.metrics[k]!.sd.toFixed(4)}` : ''))])]));
      out(`${s.jobs} folds; sweep.json and run directories under ${s.root}`);
      out('Research software, not a diagnostic device.');
    });
}
