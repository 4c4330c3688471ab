import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MedclassError } from '../errors.js';
import { sha256Of, writeAtomic } from '../run/index.js';
import { BatchInputs, sourceRef, type BatchEntry, type BatchSourceRef } from './batch-inputs.js';
import { medclassVersion, runHash, type ChunkPredictOptions, type PartFile, type PredictChunkJob } from './predict-chunk.js';

/** A batch cut into chunks: what every coordinator run of the same command recomputes identically. */
export interface BatchPlan {
  /** sha256 of version, run hash, sources, every input id, options, chunk size and results folder */
  key: string;
  runDir: string;
  runHash: string;
  sources: BatchSourceRef[];
  chunks: BatchEntry[][];
  /** `<out>.parts/`: one result file per chunk, plus batch.json */
  partsDir: string;
  options: ChunkPredictOptions;
}

/** Lists the inputs of `sources` (each in its own order, sources in the order given) and cuts them into chunks. */
export function planBatch(runDir: string, sources: readonly string[], out: string, options: ChunkPredictOptions, chunkSize: number): BatchPlan {
  const refs = sources.map(sourceRef);
  const inputs = new BatchInputs();
  const partsDir = `${resolve(out)}.parts`;
  // --out inside a source folder: its own CSV and chunk results are not inputs of a later run of the same command.
  const own = (spec: string, id: string) => { const p = resolve(spec, id); return p === resolve(out) || p.startsWith(`${partsDir}/`); };
  const entries: BatchEntry[] = refs.flatMap((r, s) => inputs.ids(r.spec).filter((id) => !own(r.spec, id)).map((id) => [s, id] as const));
  if (!entries.length) throw new MedclassError('MC_DATA_BAD_SOURCE', `no inputs in ${sources.join(', ')}`, { hint: 'pass image folders, CSV manifests, DICOM folders or npz files' });
  const chunks: BatchEntry[][] = [];
  for (let i = 0; i < entries.length; i += chunkSize) chunks.push(entries.slice(i, i + chunkSize));
  const abs = resolve(runDir);
  const hash = runHash(abs);
  const key = sha256Of(JSON.stringify({ medclass: medclassVersion(), hash, sources: refs.map((r) => r.spec), ids: sha256Of(JSON.stringify(entries)), options, chunkSize, partsDir }));
  return { key, runDir: abs, runHash: hash, sources: refs, chunks, partsDir, options };
}

/** Creates the results folder with its batch.json, or checks that an existing one is this batch's (`MC_QUEUE_BATCH_MISMATCH`). */
export function claimPartsDir(plan: BatchPlan): void {
  const file = join(plan.partsDir, 'batch.json');
  if (existsSync(file)) {
    const had = (JSON.parse(readFileSync(file, 'utf8')) as { key?: string }).key;
    if (had === plan.key) return;
    throw new MedclassError('MC_QUEUE_BATCH_MISMATCH', `${plan.partsDir} holds the results of another batch (other run, sources or options)`, { hint: 'pass another --out, or delete that folder to start over' });
  }
  mkdirSync(plan.partsDir, { recursive: true });
  writeAtomic(file, `${JSON.stringify({ key: plan.key, runDir: plan.runDir, runHash: plan.runHash, sources: plan.sources, chunks: plan.chunks.length, inputs: plan.chunks.reduce((n, c) => n + c.length, 0) }, null, 2)}\n`);
}

/** The deterministic BullMQ job id of chunk `index` (re-adding it is a no-op while the job exists). */
export function chunkJobId(plan: BatchPlan, index: number): string {
  return `predict-${plan.key.slice(0, 20)}-${index}`;
}

/** The job of chunk `index`. */
export function chunkJob(plan: BatchPlan, index: number): PredictChunkJob {
  return {
    type: 'predict-chunk', medclass: medclassVersion(), runDir: plan.runDir, runHash: plan.runHash, sources: plan.sources,
    entries: plan.chunks[index]!, index, partFile: partPath(plan, index), options: plan.options,
  };
}

/** Path of chunk `index`'s result file. */
export function partPath(plan: BatchPlan, index: number): string {
  return join(plan.partsDir, `chunk-${String(index).padStart(6, '0')}.json`);
}

/** Chunk `index`'s result when its file exists and holds exactly the chunk's inputs, else undefined. */
export function readPart(plan: BatchPlan, index: number): PartFile | undefined {
  const p = partPath(plan, index);
  if (!existsSync(p)) return undefined;
  let part: PartFile;
  try {
    part = JSON.parse(readFileSync(p, 'utf8')) as PartFile;
  } catch {
    return undefined;
  }
  const want = plan.chunks[index]!;
  if (part.jobId !== chunkJobId(plan, index) || part.rows.length !== want.length) return undefined;
  return part.rows.every((r, i) => r.source === want[i]![0] && r.id === want[i]![1]) ? part : undefined;
}

const cell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * The batch's CSV from every chunk's result, in input order: source, id, label, calibrated, prob_<class> (shortest
 * round-trip decimals of the float64 probabilities), conformal_set (classes joined by `|`), conformal_level,
 * error_code, error_message.
 */
export function gatherCsv(plan: BatchPlan, parts: readonly PartFile[]): string {
  const classes = parts[0]!.classes;
  const lines = [['source', 'id', 'label', 'calibrated', ...classes.map((c) => `prob_${c}`), 'conformal_set', 'conformal_level', 'error_code', 'error_message'].map(cell).join(',')];
  for (const part of parts) {
    for (const r of part.rows) {
      const probs = r.p ? r.p.map((v) => String(v)) : classes.map(() => '');
      lines.push([plan.sources[r.source]!.name, r.id, r.label ?? '', r.error ? '' : String(r.calibrated), ...probs, r.set ? r.set.join('|') : '', r.level !== undefined ? String(r.level) : '', r.error?.code ?? '', r.error?.message ?? ''].map(cell).join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}
