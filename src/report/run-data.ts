import { basename } from 'node:path';
import type { ConformalEvaluation, ConformalMethod, MetricsReport, SplitMetrics } from '../eval/index.js';
import type { EpochRecord } from '../train/index.js';
import { MedclassError } from '../errors.js';
import { MetricParams, conformalEntries, openRunDir, sourceName } from '../run/index.js';

export { sourceName };

/** Images per class (in class order) of each split. */
export interface SplitClassCounts { train?: number[]; val?: number[]; test?: number[] }

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
  /** readable images per class and split, when the pipeline counted them from the data source */
  classCounts?: SplitClassCounts;
  skipped: number;
  source?: string;
  fingerprint?: string;
  seed?: number;
  preprocess?: { size: number; channels: number; fit: string; normalize: string; tabularColumns?: string[]; tabularFeatures?: number };
  model?: { arch: string; width?: number; dropout?: number; backbone?: string; head?: unknown };
  fit?: Record<string, unknown>;
  bestEpoch?: { phase: number; epoch: number; score: number };
  status?: string;
  wallSeconds?: number;
  versions?: Record<string, string>;
  /** the parameters the metrics were computed with (metrics.json `params`; absent in a bare metrics folder) */
  params?: MetricParams;
  /** how a tabular input is used: early fusion (concatenated before the head), tabular only (tabular-mlp), or late fusion (late-fusion.json) */
  tabularUse?: 'early fusion' | 'tabular only' | 'late fusion';
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
 * Reads a run directory for the report through the run layer: metrics.json (required), run.json, history.csv,
 * preprocess.json. A folder with only metrics.json gives a report without the training section; a run directory of
 * an older medclass (summary.json, no run.json) is `MC_RUN_OLD_FORMAT`. Keeps only names: the run folder's own name
 * and the data source's last path part.
 */
export function readRunData(runDir: string): RunReportData {
  const run = openRunDir(runDir);
  const metrics = run.rawMetrics() as Record<string, any> | undefined;
  if (!metrics) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', 'metrics.json is missing from the run directory', { file: 'metrics.json', hint: 'train the run to the end, or re-create metrics with medclass eval --run DIR' });
  if (!metrics.test) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', 'metrics.json has no "test" section', { file: 'metrics.json', hint: 're-create it with medclass eval --run DIR' });
  const params = MetricParams.safeParse(metrics.params);
  const m = run.hasManifest ? run.manifest : undefined;
  const pre = run.has('preprocess.json') ? run.preprocess() : undefined;
  const histText = run.historyText();
  const hist = histText !== undefined ? parseHistoryCsv(histText) : { monitor: 'val_score', rows: [] };
  const test = nullToNaN(metrics.test) as MetricsReport;
  const cfg = m?.config;
  const best = m?.outcome?.bestEpoch;
  return {
    name: basename(runDir.replace(/[\\/]+$/, '')) || 'run',
    classes: metrics.classes ?? test.class_names,
    test,
    val: metrics.val ? (nullToNaN(metrics.val) as SplitMetrics) : null,
    evaluatedOn: metrics.evaluated_on ?? 'the run\'s own val/test splits',
    history: hist.rows,
    monitor: hist.monitor,
    counts: { ...(m?.data ? { train: m.data.counts.train } : {}), val: test.n_val, test: test.n_test },
    skipped: m?.data?.skipped.length ?? 0,
    ...(cfg ? { source: sourceName(cfg.data.source), seed: cfg.seed, model: { ...cfg.model, ...(cfg.model.backbone ? { backbone: sourceName(cfg.model.backbone) } : {}) }, fit: cfg.fit } : {}),
    ...(m?.data ? { fingerprint: m.data.fingerprint } : {}),
    ...(pre ? { preprocess: {
      size: pre.size, channels: pre.channels, fit: pre.fit, normalize: pre.normalize,
      ...(pre.tabularColumns ? { tabularColumns: pre.tabularColumns, tabularFeatures: pre.tabularFeatures! } : {}),
    } } : {}),
    ...(best ? { bestEpoch: { ...best, score: best.score ?? NaN } } : {}),
    ...(m?.outcome ? { status: m.outcome.stopped, wallSeconds: m.outcome.wallSeconds } : {}),
    ...(m ? { versions: m.versions } : {}),
    ...(params.success ? { params: params.data } : {}),
    ...(pre?.tabularColumns ? { tabularUse: run.has('late-fusion.json') ? 'late fusion' as const : cfg?.model.arch === 'tabular-mlp' ? 'tabular only' as const : 'early fusion' as const } : {}),
  };
}

/** One conformal evaluation shown by the report, its parameters as data. */
export interface ReportConformal { key: string; name: string; method: ConformalMethod; mondrian: boolean; alpha: number; evaluation: ConformalEvaluation }

/**
 * The conformal evaluations of a report with their method, Mondrian flag and α taken from metrics.json `params`;
 * only a bare metrics file without params (e.g. hand-made) has them read from its `conformal_<method>[_mondrian]_alpha_<α>` keys.
 */
export function conformalOf(d: RunReportData): ReportConformal[] {
  const t = d.test as unknown as Record<string, ConformalEvaluation | undefined>;
  const entries = d.params ? conformalEntries(d.params) : Object.keys(t).flatMap((key) => {
    const m = /^conformal_(lac|aps)(_mondrian)?_alpha_(.+)$/.exec(key);
    return m ? [{ key, method: m[1] as ConformalMethod, mondrian: m[2] !== undefined, alpha: Number(m[3]) }] : [];
  });
  return entries.flatMap((e) => (t[e.key] ? [{ ...e, name: `${e.method.toUpperCase()}${e.mondrian ? ' Mondrian' : ''} α=${e.alpha}`, evaluation: t[e.key]! }] : []));
}

/** The ECE bin count of a report: metrics.json `params.bins` (a bare metrics file without params: its `ece_<bins>` key). */
export function reportBins(d: RunReportData): number {
  return d.params?.bins ?? Number(Object.keys(d.test).find((k) => /^ece_\d+$/.test(k))?.slice(4) ?? 15);
}
