import { mapLimit } from '../data/index.js';
import { MedclassError, type ErrorCode } from '../errors.js';
import { RunModel, int8SaturationWarning, predictWith } from '../pipeline/index.js';
import { openRunDir, sha256File, sha256Of, versions, writeAtomic } from '../run/index.js';
import { BatchInputs, type BatchEntry, type BatchSourceRef } from './batch-inputs.js';

/** The prediction options a chunk job carries (the same for every chunk of a batch). */
export interface ChunkPredictOptions { calibrate: boolean; conformal: 'lac' | 'aps' | 'none'; tta?: boolean; batchSize: number; /** predict with model.int8.onnx */ int8?: boolean }

/** A batch-predict chunk job: inputs by source and id, the run it needs (path + hash) and where its result goes. */
export interface PredictChunkJob {
  type: 'predict-chunk';
  /** medclass version of the coordinator; a worker with another version refuses the job */
  medclass: string;
  runDir: string;
  runHash: string;
  sources: BatchSourceRef[];
  entries: BatchEntry[];
  index: number;
  /** absolute path of the chunk's result file (in the results folder beside --out) */
  partFile: string;
  options: ChunkPredictOptions;
}

/** One row of a chunk result: a prediction (probabilities in class order) or a coded failure. */
export interface PartRow {
  source: number;
  id: string;
  label?: string;
  calibrated?: boolean;
  p?: number[];
  set?: string[];
  level?: number;
  error?: { code: ErrorCode; message: string };
}

/** A chunk's result file: written once, atomically, by whoever ran the chunk. */
export interface PartFile { jobId: string; index: number; worker: string; attempt: number; classes: string[]; rows: PartRow[] }

const HASHED = ['run.json', 'model.onnx', 'model.int8.onnx', 'preprocess.json', 'calibration.json', 'metrics.json', 'tabular.json'] as const;

/** SHA-256 over the run files inference reads (name + sha256 of each present one); `MC_TRAIN_BAD_RUN_DIR` without model.onnx. */
export function runHash(runDir: string): string {
  const run = openRunDir(runDir);
  run.modelPath();
  return sha256Of(HASHED.filter((n) => run.has(n)).map((n) => `${n} ${sha256File(run.path(n))}`).join('\n'));
}

/** The medclass version jobs are stamped with and checked against. */
export function medclassVersion(): string { return versions().medclass!; }

/**
 * Runs predict chunks: opens each run directory once (one onnxruntime session with `threads`), checks the job's
 * medclass version and run hash first, predicts through `predictWith` and writes the chunk's result file.
 */
export class ChunkRunner {
  private readonly models = new Map<string, Promise<RunModel>>();
  private readonly hashes = new Map<string, string>();
  private readonly inputs = new BatchInputs();

  /** `onWarning` hears, once per run, that its int8 model's full-range weights saturate on this CPU. */
  constructor(private readonly opts: { threads: number; concurrency?: number; worker: string; onWarning?: (message: string) => void }) {}

  /** Refuses a job made by another medclass version or for a run directory whose files differ here. */
  check(job: PredictChunkJob): void {
    const mine = medclassVersion();
    if (job.medclass !== mine) {
      throw new MedclassError('MC_QUEUE_VERSION_MISMATCH', `worker ${this.opts.worker} runs medclass ${mine}; the job was made by medclass ${job.medclass}`, { hint: 'install the same medclass version on every worker machine' });
    }
    let here = this.hashes.get(job.runDir);
    if (here === undefined) {
      try {
        here = runHash(job.runDir);
      } catch (cause) {
        throw new MedclassError('MC_QUEUE_RUN_MISMATCH', `worker ${this.opts.worker} cannot read the run directory ${job.runDir}: ${(cause as Error).message}`, { cause, hint: 'share the run directory at the same path on every worker machine' });
      }
      this.hashes.set(job.runDir, here);
    }
    if (here !== job.runHash) {
      throw new MedclassError('MC_QUEUE_RUN_MISMATCH', `worker ${this.opts.worker}: the run directory ${job.runDir} hashes to ${here.slice(0, 12)}…, the job expects ${job.runHash.slice(0, 12)}…`, { hint: 'the run directory differs between machines: copy it whole to the shared folder' });
    }
  }

  private model(runDir: string, int8 = false): Promise<RunModel> {
    const key = `${runDir}${int8 ? '#int8' : ''}`;
    let m = this.models.get(key);
    if (!m) {
      const warn = this.opts.onWarning;
      m = RunModel.open(runDir, { threads: this.opts.threads, int8 }).then((model) => {
        const saturates = int8 && warn ? int8SaturationWarning(runDir) : undefined;
        if (saturates) warn!(saturates);
        return model;
      });
      this.models.set(key, m);
    }
    return m;
  }

  /** Predicts one chunk and writes its result file; returns the number of rows. */
  async run(job: PredictChunkJob, jobId: string, attempt: number): Promise<number> {
    this.check(job);
    const { int8, ...predictOptions } = job.options;
    const model = await this.model(job.runDir, int8 === true);
    const read = await mapLimit(job.entries, this.opts.concurrency ?? 4, ([s, id]) => this.inputs.input(job.sources[s]!.spec, id));
    const ok = read.flatMap((r, i) => ('error' in r ? [] : [i]));
    const res = await predictWith(model, ok.map((i) => read[i] as { name: string; bytes: Uint8Array }), { ...predictOptions, concurrency: this.opts.concurrency ?? 4 });
    const rows: PartRow[] = job.entries.map(([source, id], i) => {
      const r = read[i]!;
      return 'error' in r ? { source, id, error: r.error } : { source, id };
    });
    ok.forEach((i, j) => {
      const p = res[j]!;
      const row = rows[i]!;
      if (p.error) row.error = p.error;
      else {
        Object.assign(row, { label: p.label, calibrated: p.calibrated, p: model.classes.map((c) => p.probabilities[c]!) });
        if (p.conformalSet) Object.assign(row, { set: p.conformalSet, level: p.conformalLevel });
      }
    });
    const part: PartFile = { jobId, index: job.index, worker: this.opts.worker, attempt, classes: [...model.classes], rows };
    writeAtomic(job.partFile, `${JSON.stringify(part)}\n`);
    return rows.length;
  }

  /** Closes every onnxruntime session. */
  async dispose(): Promise<void> {
    for (const m of this.models.values()) await (await m).dispose();
    this.models.clear();
  }
}
