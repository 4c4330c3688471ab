import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { checkTabularEncoder, type DatasetSource, type SplitName, type TabularEncoder } from '../data/index.js';
import { DISCLAIMER, readPredictionsCsv, type PredictionTable } from '../eval/index.js';
import { MedclassError } from '../errors.js';
import { CalibrationFile, MetricsFile, PreprocessFile, type RunPreprocess } from './artifacts.js';
import type { RunConfig } from './config.js';
import { sha256File, toJson, writeAtomic } from './files.js';
import { RUN_MANIFEST, RunManifest, splitById } from './manifest.js';
import { versions } from './versions.js';

/** The statically quantized (QDQ int8) model `medclass export --int8` writes, and its test metrics. */
export const INT8_MODEL = 'model.int8.onnx';
export const INT8_METRICS = 'metrics.int8.json';

/** Files and folders a run directory may hold (what `--force` removes; nothing else is touched). */
export const RUN_DIR_ENTRIES = [
  RUN_MANIFEST, 'summary.json', 'model.onnx', 'preprocess.json', 'calibration.json', 'metrics.json', 'predictions.csv', 'history.csv',
  'tabular.json', 'report.html', 'model-card.md', 'checkpoints', 'explain', 'index', 'plots', INT8_MODEL, INT8_METRICS, 'uncertainty.json', 'figures',
] as const;

const bad = (message: string, file?: string, hint?: string) => new MedclassError('MC_TRAIN_BAD_RUN_DIR', message, { ...(file ? { file } : {}), ...(hint ? { hint } : {}) });

function parseJson(dir: string, name: string): unknown {
  try {
    return JSON.parse(readFileSync(join(dir, name), 'utf8'));
  } catch (cause) {
    throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${name}: not valid JSON (${(cause as Error).message})`, { file: name, cause });
  }
}

function validate<T extends z.ZodType>(schema: T, value: unknown, name: string, code: 'MC_TRAIN_BAD_RUN_DIR' | 'MC_RUN_BAD_MANIFEST' = 'MC_TRAIN_BAD_RUN_DIR'): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new MedclassError(code, `${name} is malformed: ${lines}`, { file: name, hint: 'pass a run directory written by this version of medclass train' });
}

/** Reads and validates run.json; an older run directory (summary.json, no run.json) is `MC_RUN_OLD_FORMAT`. */
function readManifest(dir: string): RunManifest | undefined {
  if (!existsSync(join(dir, RUN_MANIFEST))) {
    if (existsSync(join(dir, 'summary.json'))) {
      throw new MedclassError('MC_RUN_OLD_FORMAT', `${dir} was written by an older medclass: it has summary.json but no run.json (the manifest with the config, splits and file hashes)`, {
        file: RUN_MANIFEST, hint: 'train it again with this version (medclass train --config … --force), or use the medclass version that wrote it',
      });
    }
    return undefined;
  }
  const raw = parseJson(dir, RUN_MANIFEST) as { schema?: unknown; version?: unknown };
  if (raw?.schema === 'medclass.run' && raw.version !== 1) {
    throw new MedclassError('MC_RUN_BAD_MANIFEST', `run.json has schema version ${String(raw.version)}; this medclass reads version 1`, { file: RUN_MANIFEST, hint: 'use the medclass version that wrote the run' });
  }
  return validate(RunManifest, raw, RUN_MANIFEST, 'MC_RUN_BAD_MANIFEST');
}

/**
 * A run directory opened for reading (and for recording the files a later command writes into it): typed access to
 * run.json, preprocess.json, calibration.json, metrics.json, predictions.csv, tabular.json and model.onnx.
 */
export class RunDir {
  constructor(readonly dir: string, private current: RunManifest | undefined) {}

  /** run.json; throws `MC_TRAIN_BAD_RUN_DIR` for a directory that has none (a bare metrics folder). */
  get manifest(): RunManifest {
    if (!this.current) throw bad(`${this.dir} has no run.json`, RUN_MANIFEST, 'pass a run directory written by medclass train');
    return this.current;
  }

  /** Whether the directory has a run.json (a report can be written for a bare metrics.json folder). */
  get hasManifest(): boolean { return this.current !== undefined; }

  /** The resolved run config (every CLI override applied). */
  get config(): RunConfig { return this.manifest.config; }

  /** Path of a file inside the run directory. */
  path(name: string): string { return join(this.dir, name); }

  /** Whether the run directory holds `name`. */
  has(name: string): boolean { return existsSync(this.path(name)); }

  /**
   * Removes what `createRunDir` wrote for a run that failed before its first checkpoint (bad data, a refused
   * input), so a corrected retry needs no `--force`; a run with a checkpoint is kept for `--resume`.
   */
  discardIfUntrained(): void {
    if (this.has('checkpoints/last.ckpt')) return;
    for (const e of [RUN_MANIFEST, 'summary.json', 'checkpoints']) {
      const p = this.path(e);
      if (e !== 'checkpoints' || (existsSync(p) && readdirSync(p).length === 0)) rmSync(p, { recursive: true, force: true });
    }
    if (existsSync(this.dir) && readdirSync(this.dir).length === 0) rmSync(this.dir, { recursive: true, force: true });
    this.current = undefined;
  }

  /** A JSON file that `medclass index` wrote under `index/` (the UMAP map, the k-NN head's metrics), or undefined. */
  indexJson(name: 'umap.json' | 'umap-test.json' | 'knn-metrics.json' | 'thumbnails.json' | 'similar-examples.json'): any {
    return this.has(`index/${name}`) ? parseJson(this.dir, `index/${name}`) : undefined;
  }

  /** preprocess.json, validated (`MC_TRAIN_BAD_RUN_DIR` when missing or malformed). */
  preprocess(): RunPreprocess {
    if (!this.has('preprocess.json')) throw bad('preprocess.json is missing from the run directory', 'preprocess.json', 'pass a run directory written by medclass train');
    return validate(PreprocessFile, parseJson(this.dir, 'preprocess.json'), 'preprocess.json');
  }

  /** calibration.json, or undefined when the run has none. */
  calibration(): CalibrationFile | undefined {
    return this.has('calibration.json') ? validate(CalibrationFile, parseJson(this.dir, 'calibration.json'), 'calibration.json') : undefined;
  }

  /** metrics.json (parameters as data in `params`), or undefined when the run has none. */
  metrics(): MetricsFile | undefined {
    return this.has('metrics.json') ? (validate(MetricsFile, parseJson(this.dir, 'metrics.json'), 'metrics.json') as MetricsFile) : undefined;
  }

  /** metrics.json parsed without the schema (a bare evaluation folder's file, for the report). */
  rawMetrics(): Record<string, unknown> | undefined {
    return this.has('metrics.json') ? (parseJson(this.dir, 'metrics.json') as Record<string, unknown>) : undefined;
  }

  /** predictions.csv; logits are float32 values of the model, so they are read back as exactly those (`Math.fround`). */
  predictions(): PredictionTable {
    if (!this.has('predictions.csv')) throw bad('predictions.csv is missing from the run directory', 'predictions.csv', 'pass --data SOURCE to re-run the model instead');
    const t = readPredictionsCsv(this.path('predictions.csv'), 'predictions.csv');
    if (t.scoreKind === 'logit') t.scores.forEach((v, i) => { t.scores[i] = Math.fround(v); });
    return t;
  }

  /** history.csv's text, or undefined. */
  historyText(): string | undefined {
    return this.has('history.csv') ? readFileSync(this.path('history.csv'), 'utf8') : undefined;
  }

  /** The tabular encoder of a fusion run (tabular.json), else undefined. */
  tabular(pre: RunPreprocess = this.preprocess()): TabularEncoder | undefined {
    if (!pre.tabularInput) return undefined;
    if (!this.has('tabular.json')) throw bad('tabular.json is missing from the run directory', 'tabular.json');
    return checkTabularEncoder(parseJson(this.dir, 'tabular.json'));
  }

  /** Path of model.onnx, or of model.int8.onnx (`MC_TRAIN_BAD_RUN_DIR` when missing: an interrupted run, no int8 export). */
  modelPath(variant: 'float' | 'int8' = 'float'): string {
    if (variant === 'int8') {
      if (!this.has(INT8_MODEL)) throw bad(`${INT8_MODEL} is missing from the run directory`, INT8_MODEL, `write it with medclass export --int8 --run ${this.dir}`);
      return this.path(INT8_MODEL);
    }
    if (!this.has('model.onnx')) throw bad('model.onnx is missing from the run directory', 'model.onnx', `the run may have been interrupted; resume it with medclass train --resume ${this.dir}`);
    return this.path('model.onnx');
  }

  /** The bytes of model.onnx (or of model.int8.onnx). */
  modelBytes(variant: 'float' | 'int8' = 'float'): Uint8Array { return new Uint8Array(readFileSync(this.modelPath(variant))); }

  /** SHA-256 of model.onnx. */
  modelSha256(): string { return sha256File(this.modelPath()); }

  /**
   * The split of each source item as the run recorded it (a k-fold fold: its own fold split). Items the run never
   * saw (other data) join the split their group (patient) has among the recorded items, so no patient straddles
   * splits; the rest take `fallback`'s split. `unknown` counts the items the run never saw.
   */
  splitsFor(source: DatasetSource, fallback: () => SplitName[]): { splits: SplitName[]; recorded: number; unknown: number } {
    const known = this.recordedSplits(source);
    const unknown = known.filter((s) => s === undefined).length;
    if (unknown === 0) return { splits: known as SplitName[], recorded: known.length, unknown };
    const groupSplit = new Map<string, SplitName>();
    source.items.forEach((it, i) => {
      const s = known[i];
      if (it.group !== undefined && s !== undefined && !groupSplit.has(it.group)) groupSplit.set(it.group, s);
    });
    let fb: SplitName[] | undefined;
    const splits = source.items.map((it, i) => known[i] ?? (it.group === undefined ? undefined : groupSplit.get(it.group)) ?? (fb ??= fallback())[i]!);
    return { splits, recorded: known.length - unknown, unknown };
  }

  /** How many items of `source` run.json records no split for (items the run never saw). */
  unseenCount(source: DatasetSource): number {
    return this.recordedSplits(source).filter((s) => s === undefined).length;
  }

  private recordedSplits(source: DatasetSource): (SplitName | undefined)[] {
    const byId = this.current?.splits ? splitById(this.current.splits) : new Map<string, SplitName>();
    return source.items.map((it) => byId.get(it.id));
  }

  /** Writes `name` atomically and records its size and SHA-256 in run.json (when the directory has one). */
  writeFile(name: string, data: string | Uint8Array): void {
    writeAtomic(this.path(name), data);
    this.record([name]);
  }

  /** Removes `name` from the directory and from run.json's file list (nothing when absent). */
  removeFile(name: string): void {
    rmSync(this.path(name), { force: true });
    this.record([name]);
  }

  /** Records (or refreshes) files already written into the directory (checkpoints, index files) in run.json. */
  record(names: readonly string[]): void {
    if (!this.current) return;
    const files = new Map(this.current.files.map((f) => [f.path, f]));
    for (const n of names) {
      const p = this.path(n);
      if (existsSync(p)) files.set(n, { path: n, bytes: statSync(p).size, sha256: sha256File(p) });
      else files.delete(n);
    }
    this.current = { ...this.current, files: [...files.values()].sort((a, b) => a.path.localeCompare(b.path)) };
    this.saveManifest();
  }

  /** Replaces parts of run.json and writes it. */
  update(patch: Partial<RunManifest>): void {
    this.current = { ...this.manifest, ...patch };
    this.saveManifest();
  }

  private saveManifest(): void {
    writeAtomic(this.path(RUN_MANIFEST), toJson(this.current));
  }
}

/** Opens an existing run directory: `MC_TRAIN_BAD_RUN_DIR` (naming its absolute path) when missing, `MC_RUN_OLD_FORMAT` for an older layout. */
export function openRunDir(dir: string): RunDir {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw bad(`${resolve(dir)}: no such run directory`, undefined, 'pass a run directory written by medclass train (medclass train --config FILE writes <out>/<name>)');
  return new RunDir(dir, readManifest(dir));
}

/** Options of `createRunDir`: replace an existing run, or continue it. */
export interface CreateRunDirOptions {
  /** remove an existing run's files first (model, metrics, checkpoints, report, model card, explain/, index/) */
  force?: boolean;
  /** continue the run recorded in run.json (its status must not be done) */
  resume?: boolean;
  /** k-fold: which fold of how many this run is */
  fold?: { index: number; k: number };
}

function existingEntries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const present = new Set(readdirSync(dir));
  return RUN_DIR_ENTRIES.filter((e) => present.has(e));
}

/**
 * Prepares a run directory for training and writes run.json (status running). An existing run is refused with
 * `MC_RUN_EXISTS` unless `resume` (continue it; `previous` holds its manifest) or `force` (its files are removed
 * first, so no stale report.html, model-card.md, explain/ or index/ survives).
 */
export function createRunDir(dir: string, config: RunConfig, opts: CreateRunDirOptions = {}): { run: RunDir; previous?: RunManifest } {
  const existing = existingEntries(dir);
  let previous: RunManifest | undefined;
  if (opts.resume) {
    previous = readManifest(dir);
    if (!previous) throw bad(`${dir}: no run to resume (no run.json)`, RUN_MANIFEST, 'start the run without --resume');
    if (previous.status === 'done') throw new MedclassError('MC_RUN_EXISTS', `${dir} holds a finished run; there is nothing to resume`, { hint: 'pass --force to train it again from scratch' });
  } else if (existing.length > 0) {
    if (!opts.force) {
      throw new MedclassError('MC_RUN_EXISTS', `${dir} already holds a run (${existing.slice(0, 4).join(', ')}${existing.length > 4 ? ', …' : ''})`, {
        hint: `pass --resume to continue it, --force to replace it (its report, model card, explain/ and index/ are removed too), or choose another --name`,
      });
    }
    for (const e of existing) rmSync(join(dir, e), { recursive: true, force: true });
  }
  const manifest: RunManifest = previous ? { ...previous, status: 'running', config, versions: versions() } : {
    schema: 'medclass.run', version: 1, disclaimer: DISCLAIMER, name: config.name, status: 'running', seed: config.seed, config,
    ...(opts.fold ? { fold: opts.fold } : {}), versions: versions(), files: [],
  };
  const run = new RunDir(dir, manifest);
  run.update({});
  return { run, ...(previous ? { previous } : {}) };
}

/** Paths of every file below `sub` of a run directory, relative to it (for `RunDir.record`). */
export function filesBelow(run: RunDir, sub: string): string[] {
  const root = run.path(sub);
  if (!existsSync(root)) return [];
  const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [relative(run.dir, join(d, f))]));
  return walk(root);
}
