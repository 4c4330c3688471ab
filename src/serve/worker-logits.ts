import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MedclassError, type ErrorCode } from '../errors.js';

interface Reply { id?: number; ready?: boolean; logits?: Float32Array; entropy?: Float32Array; mutualInformation?: Float32Array; error?: { code?: ErrorCode; message: string } }

/** `RunModel.withUncertainty`'s answer: logits `[n, K]`, predictive entropy and mutual information `[n]`. */
export interface Uncertain { logits: Float32Array; entropy: Float32Array; mutualInformation: Float32Array }

/**
 * `RunModel.logits` in a worker thread with its own session of the run's model: onnxruntime-node runs a session
 * synchronously on the calling thread, so inference there would stall health checks, refusals and body reading for a
 * whole batch. The worker loads this TypeScript file through tsx when the server runs from source.
 */
export class WorkerLogits {
  private readonly pending = new Map<number, { resolve(r: Reply): void; reject(e: unknown): void }>();
  private next = 0;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => {
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id!);
      if (m.logits) p.resolve(m);
      else p.reject(m.error?.code ? new MedclassError(m.error.code, m.error.message) : new Error(m.error?.message ?? 'inference worker failed'));
    });
    worker.on('error', (e) => { for (const p of this.pending.values()) p.reject(e); this.pending.clear(); });
  }

  /** Starts the worker and resolves once its session is open (rejects with the run directory's error otherwise). */
  static async start(runDir: string, threads: number, int8 = false, nice = 0): Promise<WorkerLogits> {
    const ts = import.meta.url.endsWith('.ts');
    const file = new URL(`./inference-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
    // From source, the worker registers tsx first (a worker does not inherit the parent's module hooks or --import).
    const tsx = ts ? new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href : '';
    const worker = ts
      ? new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(file.href)}); });`, { eval: true, workerData: { runDir, threads, int8, nice } })
      : new Worker(file, { workerData: { runDir, threads, int8, nice } });
    const first = await new Promise<Reply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!first.ready) {
      await worker.terminate();
      throw first.error?.code ? new MedclassError(first.error.code, first.error.message) : new Error(first.error?.message ?? 'inference worker failed to start');
    }
    return new WorkerLogits(worker);
  }

  /** Logits `[n, K]` of images `x` (copied to the worker), with TTA and a fusion run's tabular rows as asked. */
  async logits(x: Float32Array, n: number, opts: { tta: boolean; tab?: Float32Array }): Promise<Float32Array> {
    return (await this.ask(x, n, opts, false)).logits!;
  }

  /** `RunModel.withUncertainty` of an ensemble or MC-dropout run, in the worker. */
  async withUncertainty(x: Float32Array, n: number, opts: { tta: boolean; tab?: Float32Array }): Promise<Uncertain> {
    const r = await this.ask(x, n, opts, true);
    return { logits: r.logits!, entropy: r.entropy!, mutualInformation: r.mutualInformation! };
  }

  private ask(x: Float32Array, n: number, opts: { tta: boolean; tab?: Float32Array }, uncertainty: boolean): Promise<Reply> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, x, n, tta: opts.tta, ...(opts.tab ? { tab: opts.tab } : {}), ...(uncertainty ? { uncertainty } : {}) });
    });
  }

  /** Releases the worker's session and ends the thread. */
  async close(): Promise<void> {
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.worker.postMessage('close');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    await this.worker.terminate();
  }
}
