import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { MetricsReport, SplitMetrics } from '../eval/index.js';
import type { EpochRecord } from '../train/index.js';
import { MedclassError } from '../errors.js';

/** One row of history.csv: the train layer's epoch record without the throughput column. */
export type HistoryRow = Omit<EpochRecord, 'imagesPerSecond'>;

/** Everything a report shows, read from a run directory; no absolute paths survive into it. */
export interface RunReportData {
  /** the run directory's own name (not its path) */
  name: string;
  classes: string[];
  /** test metrics (metrics.json `test`) */
  test: MetricsReport;
  val: SplitMetrics | null;
  evaluatedOn: string;
  history: HistoryRow[];
  /** name of the monitored validation score (history.csv column 5) */
  monitor: string;
  counts: { train?: number; val: number; test: number };
  skipped: number;
  source?: string;
  fingerprint?: string;
  seed?: number;
  preprocess?: { size: number; channels: number; fit: string; normalize: string; tabularColumns?: string[]; tabularFeatures?: number };
  model?: { arch: string; width?: number; dropout?: number; backbone?: string; head?: string };
  fit?: Record<string, unknown>;
  bestEpoch?: { phase: number; epoch: number; score: number };
  status?: string;
  wallSeconds?: number;
  versions?: Record<string, string>;
}

/** A data source spec without the folders above it: `phantom:…` stays, paths become their last part. */
export function sourceName(spec: string): string {
  return spec.startsWith('phantom:') ? spec : basename(spec.replace(/[\\/]+$/, ''));
}

function readJson(runDir: string, name: string, required: true): any;
function readJson(runDir: string, name: string, required: false): any | undefined;
function readJson(runDir: string, name: string, required: boolean): any {
  const p = join(runDir, name);
  if (!existsSync(p)) {
    if (required) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${name} is missing from the run directory`, { file: name, hint: 'train the run to the end, or re-create metrics with medclass eval --run DIR' });
    return undefined;
  }
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch (cause) {
    throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${name}: not valid JSON (${(cause as Error).message})`, { file: name, cause });
  }
}

/** Parses history.csv (`phase,epoch,train_loss,val_loss,<monitor>,lr,seconds,images_per_s`). */
export function parseHistoryCsv(text: string): { monitor: string; rows: HistoryRow[] } {
  const [head, ...lines] = text.trim().split(/\r?\n/);
  const cols = (head ?? '').split(',');
  const num = (v: string | undefined) => (v === undefined || v === '' ? NaN : Number(v));
  const rows = lines.filter((l) => l.trim()).map((l) => {
    const f = l.split(',');
    return { phase: num(f[0]), epoch: num(f[1]), trainLoss: num(f[2]), valLoss: num(f[3]), valScore: num(f[4]), lr: num(f[5]), seconds: num(f[6]) };
  });
  return { monitor: cols[4] ?? 'val_score', rows };
}

/** JSON's null (how NaN/±∞ were written) back to NaN, recursively for plain numbers in metric objects. */
function nullToNaN<T>(v: T): T {
  if (v === null) return NaN as T;
  if (Array.isArray(v)) return v.map((x) => (x === null ? null : nullToNaN(x))) as T;
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === null && !['ci', 'calibration', 'operating_points', 'val', 'temperature'].includes(k) ? NaN : nullToNaN(x)])) as T;
  return v;
}

/**
 * Reads a run directory for the report: metrics.json (required), summary.json, history.csv, preprocess.json.
 * Keeps only names: the run folder's own name and the data source's last path part.
 */
export function readRunData(runDir: string): RunReportData {
  const metrics = readJson(runDir, 'metrics.json', true);
  if (!metrics.test) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', 'metrics.json has no "test" section', { file: 'metrics.json', hint: 're-create it with medclass eval --run DIR' });
  const summary = readJson(runDir, 'summary.json', false) ?? {};
  const pre = readJson(runDir, 'preprocess.json', false);
  const histPath = join(runDir, 'history.csv');
  const hist = existsSync(histPath) ? parseHistoryCsv(readFileSync(histPath, 'utf8')) : { monitor: 'val_score', rows: [] };
  const test = nullToNaN(metrics.test) as MetricsReport;
  const cfg = summary.config ?? {};
  const counts = summary.data?.counts ?? summary.counts ?? {};
  return {
    name: basename(runDir.replace(/[\\/]+$/, '')) || 'run',
    classes: metrics.classes ?? test.class_names,
    test,
    val: metrics.val ? (nullToNaN(metrics.val) as SplitMetrics) : null,
    evaluatedOn: metrics.evaluated_on ?? 'the run\'s own val/test splits',
    history: hist.rows,
    monitor: hist.monitor,
    counts: { ...(typeof counts.train === 'number' ? { train: counts.train } : {}), val: test.n_val, test: test.n_test },
    skipped: Array.isArray(summary.skipped) ? summary.skipped.length : Number(summary.data?.skipped ?? 0),
    ...(cfg.data?.source ? { source: sourceName(String(cfg.data.source)) } : {}),
    ...(summary.data?.fingerprint ? { fingerprint: String(summary.data.fingerprint) } : {}),
    ...(typeof cfg.seed === 'number' ? { seed: cfg.seed } : {}),
    ...(pre ? { preprocess: {
      size: pre.size, channels: pre.channels, fit: pre.fit, normalize: pre.normalize,
      ...(Array.isArray(pre.tabularColumns) ? { tabularColumns: pre.tabularColumns as string[], tabularFeatures: pre.tabularFeatures as number } : {}),
    } } : {}),
    ...(cfg.model ? { model: { ...cfg.model, ...(cfg.model.backbone ? { backbone: sourceName(String(cfg.model.backbone)) } : {}) } } : {}),
    ...(cfg.fit ? { fit: cfg.fit } : {}),
    ...(summary.bestEpoch ? { bestEpoch: summary.bestEpoch } : {}),
    ...(summary.status ? { status: summary.status } : {}),
    ...(typeof summary.wallSeconds === 'number' ? { wallSeconds: summary.wallSeconds } : {}),
    ...(summary.versions ? { versions: summary.versions } : {}),
  };
}
