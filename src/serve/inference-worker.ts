// The worker thread of `WorkerLogits`: one RunModel session whose synchronous onnxruntime runs never block the
// server's event loop. Messages in: `{id, x, n, tta, tab?, uncertainty?}`; out: `{id, logits, entropy?,
// mutualInformation?}` (the last two for ensembles and MC-dropout runs asked for uncertainty) or `{id, error: {code?, message}}`.
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { RunModel } from '../pipeline/index.js';
import { isMedclassError } from '../errors.js';

interface Job { id: number; x: Float32Array; n: number; tta: boolean; tab?: Float32Array; uncertainty?: boolean }

const { runDir, threads, int8, nice } = workerData as { runDir: string; threads: number; int8?: boolean; nice?: number };
const port = parentPort!;

/** Lowers this thread's priority (Linux: per thread, inherited by the threads it creates, i.e. onnxruntime's pool). */
function renice(by: number): void {
  if (by <= 0 || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, Math.min(19, getPriority(tid) + by));
  } catch {
    // no /proc or not permitted: run at the process's priority
  }
}

try {
  renice(nice ?? 0); // before the session exists, so its intra-op threads inherit it
  const model = await RunModel.open(runDir, { threads, int8: int8 === true });
  port.on('message', (job: Job | 'close') => {
    if (job === 'close') { void model.dispose().finally(() => port.close()); return; }
    const opts = { batchSize: Math.max(job.n, 1), tta: job.tta, ...(job.tab ? { tab: job.tab } : {}) };
    const run = job.uncertainty ? model.withUncertainty(job.x, job.n, opts) : model.logits(job.x, job.n, opts).then((logits) => ({ logits }));
    run.then(
      (r: { logits: Float32Array; entropy?: Float32Array; mutualInformation?: Float32Array }) => port.postMessage({ id: job.id, ...r },
        [r.logits.buffer as ArrayBuffer, ...(r.entropy ? [r.entropy.buffer as ArrayBuffer, r.mutualInformation!.buffer as ArrayBuffer] : [])]),
      (e: unknown) => port.postMessage({ id: job.id, error: { ...(isMedclassError(e) ? { code: e.code } : {}), message: (e as Error).message } }),
    );
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ ready: false, error: { ...(isMedclassError(e) ? { code: e.code } : {}), message: (e as Error).message } });
}
