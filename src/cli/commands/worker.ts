import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { WorkerOptions, runWorker } from '../../queue/index.js';

/** `medclass worker --queue redis://HOST:PORT`: takes batch jobs until SIGTERM/SIGINT (first: finish the current jobs; second: hand them back). */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('take medclass jobs (batch predict chunks) from a Redis queue until stopped; the run directories and sources must be on a folder shared at the same path as on the coordinator. SIGTERM/SIGINT finishes the current jobs and stops; a second one hands them back to the queue at once.')
    .requiredOption('--queue <url>', 'redis://HOST:PORT of the coordinator')
    .option('--concurrency <n>', 'jobs run at once (default 1)', Number)
    .option('--threads <n>', 'onnxruntime threads per model (default 1; 0 = all cores)', Number)
    .option('--name <name>', 'worker name in results and logs (default host:pid)')
    .option('--lock-ms <ms>', 'job lock: a job whose worker died goes to another after about this long (default 10000)', Number)
    .action(async (o: { queue: string; concurrency?: number; threads?: number; name?: string; lockMs?: number }) => {
      const parsed = WorkerOptions.safeParse({
        queue: o.queue, ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}), ...(o.threads !== undefined ? { threads: o.threads } : {}),
        ...(o.name ? { name: o.name } : {}), ...(o.lockMs !== undefined ? { lockMs: o.lockMs } : {}),
      });
      if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `worker: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`, { hint: 'medclass worker --help' });
      const w = await runWorker(parsed.data, (e) => {
        if (e.type === 'ready') process.stderr.write(`worker ${e.name} ready on ${parsed.data.queue.replace(/:[^:@/]*@/, ':***@')} (concurrency ${parsed.data.concurrency}, threads ${parsed.data.threads})\n`);
        else if (e.type === 'job-done') process.stderr.write(`  ${e.jobId}: ${e.rows} rows in ${(e.ms / 1000).toFixed(1)} s\n`);
        else if (e.type === 'job-failed') process.stderr.write(`  ${e.jobId} refused/failed: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
        else if (e.type === 'warning') process.stderr.write(`warning: ${e.message}\n`);
        else process.stderr.write(`  queue: ${e.message}\n`);
      });
      let signals = 0;
      const onSignal = () => {
        signals++;
        process.stderr.write(signals === 1 ? 'stopping: finishing the current jobs (signal again to hand them back)\n' : 'stopping now: current jobs go back to the queue\n');
        void w.stop(signals > 1);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      await w.closed;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stderr.write(`worker ${w.name} stopped\n`);
      process.exitCode = 0;
    });
}
