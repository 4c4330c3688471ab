import type { Command } from 'commander';
import { auditSource, phantomSource } from '../../data/index.js';
import { runTraining } from '../../pipeline/index.js';
import { out } from '../output.js';
import { runRenderer } from '../progress.js';
import { formatAudit, progressRenderer } from './data.js';
import { formatRunSummary } from './train.js';

/**
 * `medclass demo` (what `npm start` runs): needs no data and no network. Audits the built-in lesion phantoms,
 * trains the compact CNN on them, evaluates on the phantom test split and prints the metrics and the run directory.
 */
export function registerDemo(program: Command): void {
  program.command('demo')
    .description('run the whole pipeline on built-in synthetic lesion phantoms (no data or network needed)')
    .option('--n <count>', 'number of phantom images', '1000')
    .option('--size <px>', 'phantom image size', '32')
    .option('--epochs <n>', 'training epochs', '6')
    .option('--seed <seed>', 'seed for phantoms, splits, init and training', '0')
    .option('--out <dir>', 'parent folder of the run directory', 'runs')
    .option('-q, --quiet', 'no progress output')
    .action(async (opts: { n: string; size: string; epochs: string; seed: string; out: string; quiet?: boolean }) => {
      const spec = `phantom:n=${opts.n},size=${opts.size},seed=${opts.seed}`;
      out(`medclass demo: ${spec} — synthetic grey textures, half with a lesion-like blob. Research software, not a diagnostic device.\n`);
      out('1/3 audit');
      const progress = progressRenderer();
      try {
        out(formatAudit(await auditSource(phantomSource(spec), {}, progress.onEvent), 5));
      } finally {
        progress.done();
      }
      out('\n2/3 train compact-cnn  3/3 evaluate on the phantom test split');
      const summary = await runTraining({
        name: 'demo', out: opts.out, seed: Number(opts.seed),
        data: { source: spec, preprocess: { size: Number(opts.size), channels: 1, normalize: 'half' } },
        model: { arch: 'compact-cnn' },
        fit: { epochs: Number(opts.epochs), batchSize: 32, lr: 0.004, augment: { hflip: true, vflip: true } },
        eval: { bootstrap: 500 },
      }, { force: true, onEvent: runRenderer({ quiet: opts.quiet === true }) }); // the demo run is rewritten each time
      out('');
      out(formatRunSummary(summary));
      out(`\nnext: npx medclass train --config examples/pneumoniamnist.yaml   (real data; see README)`);
    });
}
