import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import { z } from 'zod';
import { MedclassError } from '../errors.js';
import { writeAtomic } from '../run/index.js';
import { chunkJob, chunkJobId, claimPartsDir, gatherCsv, planBatch, readPart, type BatchPlan } from './batch-plan.js';
import { QUEUE_NAME, checkQueueReachable, parseQueueUrl, redactUrl } from './connection.js';
import { ChunkRunner, type PartFile } from './predict-chunk.js';

/** Options of `batchPredict` (and `medclass batch predict`). */
export const BatchPredictOptions = z.strictObject({
  run: z.string().describe('run directory (on a shared folder at the same path for every worker)'),
  sources: z.array(z.string()).min(1).describe('image folders, CSV manifests, DICOM folders/files, npz files or image files'),
  out: z.string().describe('the CSV to write; chunk results go to <out>.parts/'),
  queue: z.string().optional().describe('redis://HOST:PORT of the workers; without it the chunks run in this process'),
  chunkSize: z.number().int().min(1).default(64).describe('inputs per job'),
  threads: z.number().int().min(0).default(0).describe('in-process only: onnxruntime threads (0 = all cores)'),
  calibrate: z.boolean().default(true).describe('temperature-scaled probabilities (as predict)'),
  conformal: z.enum(['lac', 'aps', 'none']).default('lac').describe('conformal sets (as predict)'),
  tta: z.boolean().optional().describe('flip TTA; default: as the run was evaluated'),
  batchSize: z.number().int().min(1).default(32).describe('images per onnxruntime call'),
  int8: z.boolean().default(false).describe("predict with the run's model.int8.onnx (medclass export --int8)"),
  attempts: z.number().int().min(1).default(3).describe('tries per chunk before the batch stops'),
  pollMs: z.number().int().min(10).default(500).describe('how often the coordinator looks for finished chunks'),
});
export type BatchPredictOptions = z.output<typeof BatchPredictOptions>;
export type BatchPredictOptionsInput = z.input<typeof BatchPredictOptions>;

/** What the coordinator reports while it waits (the CLI draws a progress bar). */
export type BatchEvent =
  | { type: 'stage'; stage: string; detail?: string }
  | { type: 'progress'; done: number; total: number; elapsedMs: number; workers: number; inputsDone: number };

/** What a finished batch did. */
export interface BatchSummary {
  out: string;
  inputs: number;
  failedInputs: number;
  chunks: number;
  /** chunks whose result was already there (an earlier run of the same command) */
  reused: number;
  /** names of the workers that wrote results */
  workers: string[];
  seconds: number;
  jobIds: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Predicts every input of `sources` with a run, chunk by chunk, and writes one CSV. With `queue`, chunks become
 * BullMQ jobs with deterministic ids that workers (`runWorker`) take; without it they run here. Either way each
 * chunk's result is a file in `<out>.parts/`, so the same command after a crash only does the chunks without one.
 */
export async function batchPredict(options: BatchPredictOptionsInput, onEvent: (e: BatchEvent) => void = () => {}): Promise<BatchSummary> {
  const o = BatchPredictOptions.parse(options);
  if (o.queue) parseQueueUrl(o.queue);
  const t0 = Date.now();
  const plan = planBatch(o.run, o.sources, o.out, { calibrate: o.calibrate, conformal: o.conformal, batchSize: o.batchSize, ...(o.tta !== undefined ? { tta: o.tta } : {}), ...(o.int8 ? { int8: true } : {}) }, o.chunkSize);
  claimPartsDir(plan);
  const parts: (PartFile | undefined)[] = plan.chunks.map((_, i) => readPart(plan, i));
  const reused = parts.filter(Boolean).length;
  const total = plan.chunks.length;
  onEvent({ type: 'stage', stage: 'batch predict', detail: `${plan.chunks.reduce((n, c) => n + c.length, 0)} inputs in ${total} chunks, ${reused} already done (${plan.partsDir})` });
  if (o.queue) await viaQueue(plan, parts, o, t0, onEvent);
  else await inProcess(plan, parts, o, t0, onEvent);
  const done = parts as PartFile[];
  writeAtomic(o.out, gatherCsv(plan, done));
  const rows = done.flatMap((p) => p.rows);
  return {
    out: o.out, inputs: rows.length, failedInputs: rows.filter((r) => r.error).length, chunks: total, reused,
    workers: [...new Set(done.map((p) => p.worker))].sort(), seconds: (Date.now() - t0) / 1000, jobIds: plan.chunks.map((_, i) => chunkJobId(plan, i)),
  };
}

function progress(parts: readonly (PartFile | undefined)[], t0: number, workers: number): BatchEvent {
  const finished = parts.filter(Boolean) as PartFile[];
  return { type: 'progress', done: finished.length, total: parts.length, elapsedMs: Date.now() - t0, workers, inputsDone: finished.reduce((n, p) => n + p.rows.length, 0) };
}

async function inProcess(plan: BatchPlan, parts: (PartFile | undefined)[], o: BatchPredictOptions, t0: number, onEvent: (e: BatchEvent) => void): Promise<void> {
  const runner = new ChunkRunner({ threads: o.threads, worker: `in-process@${hostname()}:${process.pid}` });
  try {
    for (let i = 0; i < parts.length; i++) {
      if (parts[i]) continue;
      await runner.run(chunkJob(plan, i), chunkJobId(plan, i), 1);
      parts[i] = readPart(plan, i);
      onEvent(progress(parts, t0, 1));
    }
  } finally {
    await runner.dispose();
  }
}

async function viaQueue(plan: BatchPlan, parts: (PartFile | undefined)[], o: BatchPredictOptions, t0: number, onEvent: (e: BatchEvent) => void): Promise<void> {
  const url = o.queue!;
  await checkQueueReachable(url);
  const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(url) });
  queue.on('error', () => { /* reconnects; the poll loop reports an outage */ });
  try {
    const add: { name: string; data: ReturnType<typeof chunkJob>; opts: { jobId: string; attempts: number; backoff: { type: 'fixed'; delay: number } } }[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (parts[i]) continue;
      const id = chunkJobId(plan, i);
      const job = await queue.getJob(id);
      if (job) {
        const state = await job.getState();
        if (state !== 'completed' && state !== 'failed') continue; // waiting or active: a worker will finish it
        await job.remove(); // finished before without a result file here (failed, or the folder was emptied): do it again
      }
      add.push({ name: 'predict-chunk', data: chunkJob(plan, i), opts: { jobId: id, attempts: o.attempts, backoff: { type: 'fixed', delay: 1000 } } });
    }
    for (let i = 0; i < add.length; i += 500) await queue.addBulk(add.slice(i, i + 500));
    onEvent({ type: 'stage', stage: 'queued', detail: `${add.length} jobs on ${redactUrl(url)} (queue ${QUEUE_NAME})` });
    let workers = 0;
    let lastCheck = 0;
    let outage = false;
    while (parts.some((p) => !p)) {
      for (let i = 0; i < parts.length; i++) if (!parts[i]) parts[i] = readPart(plan, i);
      if (Date.now() - lastCheck > Math.max(2000, o.pollMs)) {
        lastCheck = Date.now();
        try {
          workers = (await queue.getWorkers()).length;
          await failIfFailed(queue, plan, parts);
          const lost = await requeueLost(queue, plan, parts, o.attempts);
          if (lost) onEvent({ type: 'stage', stage: 'requeued', detail: `${lost} chunk job(s) Redis no longer had` });
          if (outage) onEvent({ type: 'stage', stage: 'redis is back' });
          outage = false;
        } catch (e) {
          if (e instanceof MedclassError) throw e;
          if (!outage) onEvent({ type: 'stage', stage: 'redis unreachable', detail: `${(e as Error).message}; waiting (finished chunks are kept)` });
          outage = true;
        }
      }
      onEvent(progress(parts, t0, workers));
      if (parts.some((p) => !p)) await sleep(o.pollMs);
    }
  } finally {
    await queue.close().catch(() => {});
  }
}

async function failIfFailed(queue: Queue, plan: BatchPlan, parts: readonly (PartFile | undefined)[]): Promise<void> {
  const failed = await queue.getJobs(['failed'], 0, -1);
  const ours = new Map(plan.chunks.map((_, i) => [chunkJobId(plan, i), i]));
  for (const j of failed) {
    const i = j.id !== undefined ? ours.get(j.id) : undefined;
    if (i === undefined || parts[i] || readPart(plan, i)) continue;
    throw new MedclassError('MC_QUEUE_JOB_FAILED', `chunk ${i} (job ${j.id}) failed after ${j.attemptsMade} attempt(s): ${j.failedReason}`, {
      hint: 'fix the cause and run the same command again: finished chunks are kept',
    });
  }
}

/** Queues again the pending chunks whose job Redis no longer has (a Redis restarted without persistence). */
async function requeueLost(queue: Queue, plan: BatchPlan, parts: readonly (PartFile | undefined)[], attempts: number): Promise<number> {
  let n = 0;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] || (await queue.getJob(chunkJobId(plan, i)))) continue;
    if (readPart(plan, i)) continue;
    await queue.add('predict-chunk', chunkJob(plan, i), { jobId: chunkJobId(plan, i), attempts, backoff: { type: 'fixed', delay: 1000 } });
    n++;
  }
  return n;
}
