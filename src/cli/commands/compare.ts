import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DISCLAIMER } from '../../eval/index.js';
import { compareRuns } from '../../pipeline/index.js';
import { checkJsonTarget, out } from '../output.js';

/** `medclass compare RUN...`: the test metrics (with CIs) of each run's head and its k-NN head side by side, as CSV and Markdown. */
export function registerCompare(program: Command): void {
  program
    .command('compare')
    .summary("runs' heads and k-NN heads side by side: test metrics with CIs")
    .description(`compare run directories on their test split: each run's own head (metrics.json) and, where medclass index was run, its k-NN head (index/knn-metrics.json) — e.g. k-NN on embeddings vs an MLP head vs a fine-tuned network; bootstrap CIs as the runs computed them. ${DISCLAIMER}`)
    .argument('<runs...>', 'run directories, in the order of the table rows')
    .option('--out <dir>', 'write compare.csv and compare.md into this folder (default: print the Markdown only)')
    .option('--no-knn', 'leave out the k-NN heads')
    .option('--json <file>', 'also write the comparison (rows, cells, CIs) as JSON')
    .addHelpText('after', '\nExample:\n  medclass index --run runs/kermany-mlp            # k chosen by 5-fold CV\n  medclass compare runs/kermany-mlp runs/kermany-ft --out runs/compare')
    .action((runs: string[], o: { out?: string; knn: boolean; json?: string }) => {
      checkJsonTarget(o.json);
      const c = compareRuns(runs, { knn: o.knn });
      if (o.out) {
        mkdirSync(o.out, { recursive: true });
        writeFileSync(join(o.out, 'compare.csv'), c.csv);
        writeFileSync(join(o.out, 'compare.md'), c.markdown);
      }
      if (o.json) writeFileSync(o.json, `${JSON.stringify({ disclaimer: DISCLAIMER, heads: c.heads, table: c.table }, null, 1)}\n`);
      out(c.markdown.trimEnd());
      if (o.out) out(`wrote ${join(o.out, 'compare.csv')}, ${join(o.out, 'compare.md')}`);
      process.exitCode = 0;
    });
}
