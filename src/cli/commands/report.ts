import type { Command } from 'commander';
import { writeReport } from '../../report/index.js';
import { out } from '../output.js';

/** `medclass report --run DIR`: writes report.html and model-card.md into the run directory. */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write report.html (one self-contained page with inline SVG plots) and model-card.md into a run directory. Research software, not a diagnostic device')
    .requiredOption('--run <dir>', 'run directory written by medclass train (needs metrics.json)')
    .action((o: { run: string }) => {
      const r = writeReport(o.run, { generatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
      out(`wrote ${r.html} (${(r.htmlBytes / 1024).toFixed(0)} KiB) and ${r.modelCard} in ${o.run}\nResearch software, not a diagnostic device.`);
      process.exitCode = 0;
    });
}
