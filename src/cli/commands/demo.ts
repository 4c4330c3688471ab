import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { auditSource, phantomSource } from '../../data/index.js';
import { buildRunIndex, exportZip, runTraining } from '../../pipeline/index.js';
import { out } from '../output.js';
import { runRenderer } from '../progress.js';
import { formatAudit, progressRenderer } from './data.js';
import { reportAfterTraining } from './report.js';
import { formatRunSummary } from './train.js';

const size = (p: string) => { const b = statSync(p).size; return b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${Math.max(1, Math.round(b / 1024))} KiB`; };

/**
 * `medclass demo` (what `npm start` runs): needs no data and no network. On the built-in lesion phantoms it runs the
 * whole pipeline — audit, train the compact CNN, evaluate on the test split, build the similar-case index (k-NN head,
 * UMAP, thumbnails), write the report with every section and figures/, and zip the results — and prints where each
 * artifact is.
 */
export function registerDemo(program: Command): void {
  program.command('demo')
    .description('run the whole pipeline on built-in synthetic lesion phantoms (no data or network needed): audit, train, evaluate, index, report, export zip')
    .option('--n <count>', 'number of phantom images', '1000')
    .option('--size <px>', 'phantom image size', '32')
    .option('--epochs <n>', 'training epochs', '6')
    .option('--seed <seed>', 'seed for phantoms, splits, init and training', '0')
    .option('--out <dir>', 'parent folder of the run directory', 'runs')
    .option('--threads <n>', 'onnxruntime threads (0 = all cores)', '0')
    .option('-q, --quiet', 'no progress output')
    .action(async (opts: { n: string; size: string; epochs: string; seed: string; out: string; threads: string; quiet?: boolean }) => {
      const t0 = performance.now();
      const at = () => `[${((performance.now() - t0) / 1000).toFixed(0)} s]`;
      const spec = `phantom:n=${opts.n},size=${opts.size},seed=${opts.seed}`;
      out(`medclass demo: ${spec} — synthetic grey textures, half with a lesion-like blob. Research software, not a diagnostic device.\n`);
      out('1/6 audit');
      const progress = progressRenderer();
      try {
        out(formatAudit(await auditSource(phantomSource(spec), {}, progress.onEvent), 5));
      } finally {
        progress.done();
      }
      out(`\n2/6 train compact-cnn  3/6 evaluate on the phantom test split  ${at()}`);
      const threads = Number(opts.threads);
      const summary = await runTraining({
        name: 'demo', out: opts.out, seed: Number(opts.seed), threads,
        data: { source: spec, preprocess: { size: Number(opts.size), channels: 1, normalize: 'half' } },
        model: { arch: 'compact-cnn' },
        fit: { epochs: Number(opts.epochs), batchSize: 32, lr: 0.004, augment: { hflip: true, vflip: true } },
        eval: { bootstrap: 500 },
      }, { force: true, onEvent: runRenderer({ quiet: opts.quiet === true }) }); // the demo run is rewritten each time
      out('');
      out(formatRunSummary(summary));
      const runDir = summary.runDir;
      out(`\n4/6 index: similar cases, k-NN head, UMAP map, thumbnails  ${at()}`);
      const ix = await buildRunIndex(runDir, { threads });
      out(`${ix.count} training cases indexed (${ix.dim}-D embedding); k-NN head test ROC AUC ${ix.heads.knn.test.roc_auc.toFixed(4)} vs the model's ${ix.heads.model.test?.roc_auc.toFixed(4) ?? 'n/a'}`);
      out(`\n5/6 report  ${at()}`);
      out(await reportAfterTraining(runDir));
      out(`\n6/6 export  ${at()}`);
      const zipFile = join(opts.out, 'demo.zip');
      const z = exportZip(runDir, zipFile);
      out(`${zipFile}: ${z.manifest.files.length} files and manifest.json (sha256 of each), ${size(zipFile)}`);
      const artifacts: [string, string][] = [
        ['report (open in a browser)', 'report.html'], ['model card', 'model-card.md'], ['figures (SVG + PNG per plot)', 'figures'],
        ['model (ONNX)', 'model.onnx'], ['preprocessing', 'preprocess.json'], ['calibration', 'calibration.json'], ['metrics', 'metrics.json'],
        ['predictions', 'predictions.csv'], ['training history', 'history.csv'], ['run manifest', 'run.json'], ['similar-case index, k-NN head, UMAP', 'index'],
      ];
      out(`\nartifacts (${((performance.now() - t0) / 1000).toFixed(0)} s):`);
      for (const [what, f] of artifacts) if (existsSync(join(runDir, f))) out(`  ${join(runDir, f)}  ${what}${f === 'figures' ? '' : `, ${size(join(runDir, f))}`}`);
      out(`  ${zipFile}  export bundle, ${size(zipFile)}`);
      out(`\nnext: npx medclass serve --run ${relative(process.cwd(), runDir) || runDir}   (web app)   ·   npx medclass train --config examples/pneumoniamnist.yaml   (real data; see README)`);
    });
}
