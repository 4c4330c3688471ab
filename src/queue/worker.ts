import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { z } from 'zod';
import { isMedclassError } from '../errors.js';
import { QUEUE_NAME, checkQueueReachable, parseQueueUrl } from './connection.js';
import { ChunkRunner, type PredictChunkJob } from './predict-chunk.js';
import { runTrainFold, type TrainFoldJob } from './sweep.js';

/** Options of `runWorker` (and `medclass worker`). */
export const WorkerOptions = z.strictObject({
  queue: z.string().describe('redis://HOST:PORT of the coordinator'),
  concurrency: z.number().int().min(1).default(1).describe('jobs run at once'),
  threads: z.number().int().min(0).default(1).describe('onnxruntime threads per model (0 = all cores)'),
  name: z.string().optional().describe('worker name in results and logs (default host:pid)'),
  lockMs: z.number().int().min(1000).default(10_000).describe('job lock; a worker that dies loses its job to another after about this long'),
  stalledIntervalMs: z.number().int().min(500).optional().describe('how often workers look for stalled jobs (default lockMs / 2)'),
  maxStalledCount: z.number().int().min(0).default(3).describe('times a job may stall (its worker died) before it fails'),
});
export type WorkerOptions = z.output<typeof WorkerOptions>;
export type WorkerOptionsInput = z.input<typeof WorkerOptions>;

/** What a worker reports (the CLI prints one line each). */
export type WorkerEvent =
  | { type: 'ready'; name: string }
  | { type: 'job-done'; jobId: string; rows: number; ms: number }
  | { type: 'job-failed'; jobId: string; code?: string; message: string }
  | { type: 'warning'; message: string }
  | { type: 'error'; message: string };

/** A running worker: `stop()` lets the current jobs finish; `stop(true)` hands them back at once (they are retried). */
export interface RunningWorker { name: string; stop(force?: boolean): Promise<void>; closed: Promise<void> }

const REFUSED = new Set(['MC_QUEUE_VERSION_MISMATCH', 'MC_QUEUE_RUN_MISMATCH', 'MC_TRAIN_BAD_RUN_DIR']);

/**
 * Takes medclass jobs from the queue until stopped: predict chunks and sweep folds (trained with the job config's threads). A job made by another medclass version or
 * for a run directory that hashes differently here is refused (failed without retry, with the reason).
 */
export async function runWorker(options: WorkerOptionsInput, onEvent: (e: WorkerEvent) => void = () => {}): Promise<RunningWorker> {
  const o = WorkerOptions.parse(options);
  await checkQueueReachable(o.queue);
  const name = o.name ?? `${hostname()}:${process.pid}`;
  const runner = new ChunkRunner({ threads: o.threads, worker: name, onWarning: (message) => onEvent({ type: 'warning', message }) });
  const processJob = async (job: Job<PredictChunkJob | TrainFoldJob>): Promise<{ rows: number }> => {
    const data = job.data;
    if (data.type !== 'predict-chunk' && data.type !== 'train-fold') throw new UnrecoverableError(`unknown job type ${String((data as { type?: unknown }).type)}`);
    const t = Date.now();
    try {
      const rows = data.type === 'train-fold' ? (await runTrainFold(data, name), 0) : await runner.run(data, job.id!, job.attemptsStarted);
      onEvent({ type: 'job-done', jobId: job.id!, rows, ms: Date.now() - t });
      return { rows };
    } catch (e) {
      onEvent({ type: 'job-failed', jobId: job.id!, ...(isMedclassError(e) ? { code: e.code } : {}), message: (e as Error).message });
      if (isMedclassError(e) && REFUSED.has(e.code)) throw new UnrecoverableError(`${e.code}: ${e.message}`);
      throw e;
    }
  };
  const worker = new Worker<PredictChunkJob | TrainFoldJob, { rows: number }>(QUEUE_NAME, processJob, {
    connection: parseQueueUrl(o.queue), concurrency: o.concurrency, name,
    lockDuration: o.lockMs, stalledInterval: o.stalledIntervalMs ?? Math.round(o.lockMs / 2), maxStalledCount: o.maxStalledCount,
  });
  worker.on('error', (e) => onEvent({ type: 'error', message: e.message }));
  await worker.waitUntilReady();
  onEvent({ type: 'ready', name });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => { resolveClosed = r; });
  let stopping: Promise<void> | undefined;
  return {
    name,
    closed,
    stop: (force = false) => {
      if (force || !stopping) {
        stopping = worker.close(force).then(() => runner.dispose()).finally(resolveClosed);
      }
      return stopping;
    },
  };
}
