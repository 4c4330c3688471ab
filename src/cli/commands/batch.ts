import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { DISCLAIMER } from '../../eval/index.js';
import { int8SaturationWarning } from '../../pipeline/index.js';
import { BatchPredictOptions, batchPredict, type BatchEvent } from '../../queue/index.js';
import { out } from '../output.js';

const fmtTime = (s: number) => (s >= 90 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);

/** Renders batch events on stderr: a bar with ETA and workers seen on a TTY (≤ 10 redraws/s), stage lines otherwise. */
function batchRenderer(): (e: BatchEvent) => void {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let drawn = false;
  return (e) => {
    if (e.type === 'stage') {
      if (drawn) process.stderr.write('\n');
      drawn = false;
      process.stderr.write(`» ${e.stage}${e.detail ? `: ${e.detail}` : ''}\n`);
      return;
    }
    const now = Date.now();
    if (!tty || (now - last < 100 && e.done < e.total)) return;
    last = now;
    const frac = e.total ? e.done / e.total : 1;
    const eta = frac > 0 ? ((e.elapsedMs / frac) * (1 - frac)) / 1000 : 0;
    const rate = e.elapsedMs > 0 ? (e.inputsDone / e.elapsedMs) * 1000 : 0;
    process.stderr.write(`\rchunks ${'█'.repeat(Math.round(frac * 28)).padEnd(28, '·')} ${e.done}/${e.total} ETA ${fmtTime(eta)} ${rate.toFixed(1)} img/s, ${e.workers} worker(s)   `);
    drawn = true;
    if (e.done === e.total) { process.stderr.write('\n'); drawn = false; }
  };
}

/** `medclass batch predict --run DIR [--queue URL] SOURCE… --out results.csv`. */
export function registerBatch(program: Command): void {
  const batch = program.command('batch').description('batch jobs over many inputs, in this process or on queue workers (medclass worker)');
  batch
    .command('predict')
    .description(`predict every input of the sources with a run and write one CSV (columns of predict --json; unreadable files are rows with their error code). With --queue the chunks go to medclass workers; without it they run here, same output. Running the same command again after a crash keeps the finished chunks (<out>.parts/). Exit code 2 when some inputs could not be read. ${DISCLAIMER}`)
    .requiredOption('--run <dir>', 'run directory (for workers: on a shared folder, same path everywhere)')
    .requiredOption('--out <csv>', 'the CSV to write')
    .argument('<sources...>', 'image folders, CSV manifests, DICOM folders, npz files or image files')
    .option('--queue <url>', 'redis://HOST:PORT of the workers')
    .option('--chunk-size <n>', 'inputs per job (default 64)', Number)
    .option('--threads <n>', 'in-process only: onnxruntime threads (default 0 = all cores)', Number)
    .option('--no-calibrate', 'plain softmax of the logits')
    .option('--conformal <method>', 'lac, aps or none (default lac)')
    .option('--tta', 'average with the horizontal flip')
    .option('--int8', "predict with the run's model.int8.onnx (medclass export --int8)")
    .action(async (sources: string[], o: { run: string; out: string; queue?: string; chunkSize?: number; threads?: number; calibrate: boolean; conformal?: string; tta?: boolean; int8?: boolean }) => {
      const parsed = BatchPredictOptions.safeParse({
        run: o.run, out: o.out, sources, calibrate: o.calibrate, ...(o.queue ? { queue: o.queue } : {}), ...(o.chunkSize !== undefined ? { chunkSize: o.chunkSize } : {}),
        ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(o.conformal ? { conformal: o.conformal } : {}), ...(o.tta ? { tta: true } : {}), ...(o.int8 ? { int8: true } : {}),
      });
      if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `batch predict: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`, { hint: 'medclass batch predict --help' });
      // with --queue the workers' CPUs run the model, not this one's
      const saturates = parsed.data.int8 && !parsed.data.queue ? int8SaturationWarning(parsed.data.run) : undefined;
      if (saturates) process.stderr.write(`warning: ${saturates}\n`);
      const s = await batchPredict(parsed.data, batchRenderer());
      out(`${s.out}: ${s.inputs} inputs (${s.failedInputs} unreadable) in ${s.chunks} chunks, ${s.reused} reused, workers ${s.workers.join(', ')}; ${s.seconds.toFixed(1)} s (${(s.inputs / s.seconds).toFixed(1)} img/s)`);
      process.exitCode = s.failedInputs === s.inputs ? 1 : s.failedInputs > 0 ? 2 : 0;
    });
}
