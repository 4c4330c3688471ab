import { basename } from 'node:path';
import { DISCLAIMER } from '../eval/index.js';
import { headlineRows, readRunData, reportBins, type RunReportData } from '../report/index.js';
import { openExplainer, openRetriever, type RunExplainer, type RunModel, type RunRetriever } from '../pipeline/index.js';
import { openRunDir } from '../run/index.js';
import { ERROR_CODES, MedclassError, isMedclassError } from '../errors.js';
import type { ServeOptions } from './options.js';
import type { ModelReply } from './schemas.js';
import { Admission } from './admission.js';
import { DynamicBatcher } from './batcher.js';
import { WorkerLogits } from './worker-logits.js';

/** Runs jobs one at a time (the sessions use every core already); more than `maxQueue` waiting is `MC_SERVE_BUSY`. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  constructor(private readonly maxQueue: number) {}

  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.waiting >= this.maxQueue) {
      return Promise.reject(new MedclassError('MC_SERVE_BUSY', `${this.waiting} requests are already waiting for the model (maxQueue ${this.maxQueue})`));
    }
    this.waiting++;
    const result = this.tail.then(job).finally(() => { this.waiting--; });
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Everything a server keeps open for one run directory; `close` releases every session. */
export interface ServeResources {
  runDir: string;
  /** model + Grad-CAM sessions; `explainer.model` also answers /api/predict */
  explainer: RunExplainer;
  /** absent when the run has no usable index (`noIndex` says why) */
  retriever?: RunRetriever;
  noIndex?: string;
  queue: SerialQueue;
  /** predictions' model runs, gathered across concurrent requests */
  batcher: DynamicBatcher;
  /** the bounded admission queue of the image routes */
  admission: Admission;
  startedAt: number;
  model(): ModelReply;
  close(): Promise<void>;
}

function readMetrics(runDir: string): RunReportData | undefined {
  try {
    return readRunData(runDir);
  } catch (e) {
    if (isMedclassError(e)) return undefined; // no or unreadable metrics.json: the API still predicts, /api/model says metrics: null
    throw e;
  }
}

/** The similar-case retriever, or why there is none (a message without paths or case ids). */
async function tryRetriever(runDir: string, threads: number): Promise<{ retriever?: RunRetriever; noIndex?: string }> {
  try {
    return { retriever: await openRetriever(runDir, { threads }) };
  } catch (e) {
    if (!isMedclassError(e) || !e.code.startsWith('MC_RETRIEVAL_')) throw e;
    return { noIndex: `${e.code}: ${ERROR_CODES[e.code]}; run medclass index --run DIR, then restart the server` };
  }
}

/** Opens the run's sessions once: model and Grad-CAM always, the similar-case index when the run has one. */
export async function openResources(runDir: string, o: ServeOptions): Promise<ServeResources> {
  const run = openRunDir(runDir); // MC_RUN_OLD_FORMAT / MC_TRAIN_BAD_RUN_DIR before any session is opened
  const explainer = await openExplainer(runDir, { threads: o.threads });
  let r: { retriever?: RunRetriever; noIndex?: string };
  try {
    r = await tryRetriever(runDir, o.threads);
  } catch (e) {
    await explainer.dispose();
    throw e;
  }
  let worker: WorkerLogits | undefined;
  try {
    worker = o.inferenceWorker || o.int8 ? await WorkerLogits.start(runDir, o.threads, o.int8, o.inferenceNice) : undefined; // int8 predictions need the worker's own session
  } catch (e) {
    await r.retriever?.dispose();
    await explainer.dispose();
    throw e;
  }
  const data = readMetrics(runDir);
  const m = explainer.model;
  let op: ReturnType<RunModel['chosenOperatingPoint']>;
  try {
    op = m.chosenOperatingPoint(o.operatingPoint); // a point this run cannot decide at refuses to start
  } catch (e) {
    await worker?.close();
    await r.retriever?.dispose();
    await explainer.dispose();
    throw e;
  }
  const pre = m.preprocess;
  const conformal = m.conformal('lac');
  const ciLevel = (data?.test.ci as { level?: number } | undefined)?.level ?? null;
  const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);
  const info: Omit<ModelReply, 'report'> = {
    disclaimer: DISCLAIMER,
    name: data?.name ?? (basename(runDir.replace(/[\\/]+$/, '')) || 'run'),
    arch: data?.model?.arch ?? null,
    classes: [...m.classes],
    input: { size: pre.size, channels: pre.channels, fit: pre.fit, normalize: pre.normalize, dims: [...pre.inputDims] },
    calibration: { temperature: m.temperature },
    tta: m.tta,
    uncertainty: pre.uncertainty ? { method: pre.uncertainty.method, samples: pre.uncertainty.samples } : null,
    conformal: conformal ? { method: 'lac', level: 1 - conformal.alpha } : null,
    metrics: data ? {
      split: 'test', n: data.test.n_test, ciLevel,
      rows: headlineRows(data.test, reportBins(data)).map((h) => ({
        key: h.key, label: h.label, value: num(h.value), n: h.n, higherIsBetter: h.higherIsBetter,
        ...(h.ci ? { ci: h.ci.map((v) => num(v ?? undefined)) } : {}), ...(h.zeroR !== undefined ? { zeroR: num(h.zeroR) } : {}),
      })),
    } : null,
    similar: r.retriever ? { available: true, size: r.retriever.index.size } : { available: false, reason: r.noIndex! },
    tabular: m.tabular ? { columns: [
      ...m.tabular.numeric.map((n) => ({ name: n.column, kind: 'numeric' as const })),
      ...m.tabular.categorical.map((c) => ({ name: c.column, kind: 'categorical' as const, values: [...c.values] })),
    ] } : null,
    limits: { bodyLimit: o.bodyLimit, maxImages: o.maxImages, k: o.k },
    operatingPoint: op ? { ...op, threshold: Number.isFinite(op.threshold) ? op.threshold : null } : null,
  };
  const queue = new SerialQueue(o.maxQueue);
  return {
    runDir, explainer, ...r, queue, batcher: new DynamicBatcher(m, queue, o.maxBatch, o.maxDelayMs, worker ? (x, n, opts) => worker.logits(x, n, opts) : undefined, worker ? (x, n, opts) => worker.withUncertainty(x, n, opts) : undefined), admission: new Admission(o.maxQueue, o.busyDelayMs), startedAt: performance.now(),
    model: () => ({ ...info, report: run.has('report.html') }),
    close: async () => {
      await worker?.close();
      await r.retriever?.dispose();
      await explainer.dispose();
    },
  };
}
