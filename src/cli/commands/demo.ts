import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { auditSource, phantomSource } from '../../data/index.js';
import { out } from '../output.js';
import { formatAudit, progressRenderer } from './data.js';

/** `medclass demo` (what `npm start` runs): needs no data; for now it audits the built-in lesion phantoms. */
export function registerDemo(program: Command): void {
  program.command('demo')
    .description('Run the demo job on built-in synthetic lesion phantoms (no data or network needed)')
    .option('--n <count>', 'number of phantom images', '600')
    .option('--seed <seed>', 'phantom seed', '0')
    .option('--json <file>', 'write the audit JSON')
    .action(async (opts: { n: string; seed: string; json?: string }) => {
      const source = phantomSource(`phantom:n=${opts.n},size=64,seed=${opts.seed}`);
      out(`medclass demo: ${source.name} — synthetic grey 64×64 textures, half with a lesion-like blob (position in each item's meta)`);
      const progress = progressRenderer();
      let report;
      try {
        report = await auditSource(source, {}, progress.onEvent);
      } finally {
        progress.done();
      }
      out(formatAudit(report, 10));
      if (opts.json) writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
      process.exitCode = 0;
    });
}
