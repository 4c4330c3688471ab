import { Command } from 'commander';
import { runKFold } from '../../pipeline/index.js';
import { out, table } from '../output.js';
import { runRenderer } from '../progress.js';
import { withGracefulInterrupt } from '../interrupt.js';
import { loadRunConfig } from './train.js';

export function registerKFold(program: Command): void {
  program
    .command('kfold')
    .description('stratified (group-aware) k-fold cross-validation on train+val; each fold keeps its best epoch by fit.monitor (default auc) on its val fold, from fit.minEpochs on; prints test mean ± sd')
    .requiredOption('-c, --config <file>', 'run configuration (YAML), as for train')
    .option('--folds <k>', 'number of folds', '5')
    .option('--data <source>', 'override data.source')
    .option('--group-pattern <regex>', 'override data.groupPattern: patient/group id from file names (folds stay group-aware)')
    .option('--epochs <n>', 'override fit.epochs')
    .option('--seed <n>', 'seed')
    .option('--out <dir>', 'parent folder of run directories')
    .option('--name <name>', 'run name')
    .option('--force', 'retrain every fold of an existing k-fold folder (stale reports and indexes go too)')
    .option('--resume', 'finish an interrupted k-fold run: finished folds are kept, the interrupted one continues from its checkpoint')
    .option('-q, --quiet', 'no progress output')
    .action(async (flags: { config: string; folds: string; quiet?: boolean; force?: boolean; resume?: boolean } & Record<string, string | undefined>) => {
      const cfg = loadRunConfig(flags);
      const k = Number(flags.folds);
      const s = await withGracefulInterrupt((shouldStop) => runKFold(cfg, k, { onEvent: runRenderer({ quiet: flags.quiet === true }), force: flags.force === true, resume: flags.resume === true, shouldStop }));
      const first = Object.values(s.metrics)[0];
      if (first) {
        const rows: (string | number)[][] = [['test metric', ...first.values.map((_, i) => `fold ${i + 1}`), 'mean ± sd']];
        for (const [key, m] of Object.entries(s.metrics)) rows.push([key, ...m.values.map((v) => v.toFixed(4)), `${m.mean.toFixed(4)} ± ${m.sd.toFixed(4)}`]);
        out(table(rows));
      }
      out(`${s.folds} folds; run directories under ${s.runDirs[0]?.replace(/fold-1$/, '')}`);
      if (s.interrupted) {
        const again = process.argv.slice(2).filter((a) => a !== '--force' && a !== '--resume').map((a) => (/^[\w./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`));
        out(`interrupted: resume with  medclass ${again.join(' ')} --resume`);
        process.exitCode = 130;
      }
      out('Research software, not a diagnostic device.');
    });
}
