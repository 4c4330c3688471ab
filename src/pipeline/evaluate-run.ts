import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Rng } from '../engine/index.js';
import { CsvOptions, Dataset, SplitOptions, assignSplits, withDicomMeta, type DataEvent, type SplitName, withBinnedSource } from '../data/index.js';
import {
  DISCLAIMER, EvalOptions, evaluatePredictions, readPredictionsCsv, selectSplit, type EvalEvent, type MetricsReport, type SplitScores,
} from '../eval/index.js';
import { MedclassError } from '../errors.js';
import { sourceName } from '../report/index.js';
import { RunModel } from './predict.js';
import { toJson, writeAtomic } from './run-files.js';
import { openRunSource } from './run-source.js';

/** Options of `evaluateRunDir` (`medclass eval --run DIR`); unset ones come from the run's summary.json. */
export const EvaluateRunOptions = z.strictObject({
  data: z.string().optional().describe("re-run model.onnx on this source's val/test splits instead of reading predictions.csv"),
  csv: CsvOptions.optional().describe("CSV column mapping when --data is a manifest (default: the run's data.csv)"),
  bootstrap: z.number().int().min(0).optional().describe('bootstrap resamples for the CIs (default: as the run was trained)'),
  alpha: z.number().gt(0).lt(1).optional().describe('conformal miscoverage α (default: as the run was trained)'),
  subgroups: z.array(z.string()).default([]).describe("metadata columns to report metrics per value of (need --data or columns in predictions.csv; default: the run's eval.subgroups)"),
  seed: z.number().int().optional().describe("seed of the bootstrap (default: the run's seed, which reproduces its CIs)"),
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads with --data (0 = all cores)'),
});
export type EvaluateRunOptionsInput = z.input<typeof EvaluateRunOptions>;

/** Events of a re-evaluation: loading progress and skipped files (with --data) and metric warnings. */
export type EvaluateRunEvent = DataEvent | EvalEvent;

/** What `evaluateRunDir` returns (metrics.json and calibration.json are written too). */
export interface RunEvaluation {
  metrics: MetricsReport;
  /** 'predictions.csv', or the name (no folders) of the --data source */
  evaluatedOn: string;
  counts: { val: number; test: number };
  skipped: { file: string; code: string; reason: string }[];
}

function readSummaryConfig(runDir: string): any {
  const p = join(runDir, 'summary.json');
  if (!existsSync(p)) return {};
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch (cause) {
    throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `summary.json: not valid JSON (${(cause as Error).message})`, { file: 'summary.json', cause });
  }
}

/** Runs the model of `runDir` over the val and test splits of a source (split as the run's config says). */
async function scoresFromData(model: RunModel, spec: string, summary: any, o: z.output<typeof EvaluateRunOptions>, onEvent?: (e: EvaluateRunEvent) => void) {
  const opened = openRunSource(spec, summary.config?.data, o.csv);
  const tagged = await withDicomMeta(opened, { tags: summary.config?.data?.dicomMeta ?? [] }); // the run's DICOM tags, for --subgroups
  const source = withBinnedSource(tagged, summary.config?.data?.binned ?? []); // the run's binned columns (age_band), for subgroups
  const names = source.classes.join(',');
  if (names !== model.classes.join(',')) {
    throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${sourceName(spec)}: classes [${names}] differ from the run's [${model.classes.join(',')}]`, { hint: 'evaluate on data with the same class names in the same order' });
  }
  const split = SplitOptions.parse({ ...(summary.config?.data?.split ?? {}), seed: summary.config?.seed ?? 0 });
  const ds = new Dataset(source, { splits: assignSplits(source.items, split), cacheTensors: false });
  const skipped: RunEvaluation['skipped'] = [];
  const load = async (which: SplitName) => {
    const idx = ds.indicesOf(which);
    const b = await ds.loadBatch(idx, model.preprocessOptions, { concurrency: 4, ...(onEvent ? { onEvent } : {}) });
    skipped.push(...b.skipped.map(({ file, code, reason }) => ({ file, code, reason })));
    const items = b.indices.map((i) => source.items[i]!);
    const tab = model.tabular ? model.encodeMeta(items.map((it) => it.meta), (i) => items[i]!.id) : undefined; // fusion runs
    const logits = await model.logits(b.x.data, b.labels.length, tab ? { tab } : {});
    const keys = [...new Set(items.flatMap((it) => Object.keys(it.meta ?? {})))];
    const meta: Record<string, string[]> = { id: items.map((it) => it.id) };
    for (const key of keys) meta[key] = items.map((it) => { const v = it.meta?.[key]; return v === null || v === undefined ? '' : String(v); });
    if (items.some((it) => it.group !== undefined)) meta.group = items.map((it) => it.group ?? '');
    return { labels: b.labels, scores: Float64Array.from(logits), meta } satisfies SplitScores;
  };
  return { val: await load('val'), test: await load('test'), skipped };
}

const field = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** predictions.csv with metadata columns: split, id, label, logit_0..k-1, then the other columns. */
function predictionsWithMeta(splits: [string, SplitScores][], k: number): string {
  const metaCols = [...new Set(splits.flatMap(([, s]) => Object.keys(s.meta ?? {})))].filter((c) => c !== 'id');
  const head = ['split', 'id', 'label', ...Array.from({ length: k }, (_, i) => `logit_${i}`), ...metaCols].map(field).join(',');
  const rows = splits.flatMap(([name, s]) => Array.from(s.labels, (y, i) => [
    name, field(s.meta?.id?.[i] ?? String(i)), y, ...Array.from(s.scores.subarray(i * k, (i + 1) * k), (v) => Math.fround(v).toPrecision(9)),
    ...metaCols.map((c) => field(s.meta?.[c]?.[i] ?? '')),
  ].join(',')));
  return `${[head, ...rows].join('\n')}\n`;
}

/**
 * Re-evaluates a run directory: reads its predictions.csv (or, with `data`, re-runs model.onnx on that source's
 * val and test splits, split as the run was) and writes metrics.json and calibration.json again in the layout
 * `runTraining` writes, via `evaluatePredictions` as `evaluateRun` (temperature and conformal q̂ fitted on val, CIs on test). With the
 * run's seed and bootstrap count it reproduces the run's own metrics.json. With `data`, predictions.csv is
 * rewritten too (with the source's metadata columns), so the run directory stays consistent.
 */
export async function evaluateRunDir(runDir: string, options: EvaluateRunOptionsInput = {}, onEvent?: (e: EvaluateRunEvent) => void): Promise<RunEvaluation> {
  const o = EvaluateRunOptions.parse(options);
  const summary = readSummaryConfig(runDir);
  const pre = join(runDir, 'preprocess.json');
  if (!existsSync(pre)) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', 'preprocess.json is missing from the run directory', { file: 'preprocess.json', hint: 'pass a run directory written by medclass train' });
  const classes = (JSON.parse(readFileSync(pre, 'utf8')) as { classes: string[] }).classes;
  const k = classes.length;
  let val: SplitScores | undefined;
  let test: SplitScores | undefined;
  let skipped: RunEvaluation['skipped'] = [];
  let evaluatedOn = 'predictions.csv';
  if (o.data) {
    const model = await RunModel.open(runDir, { threads: o.threads });
    try {
      ({ val, test, skipped } = await scoresFromData(model, o.data, summary, o, onEvent));
    } finally {
      await model.dispose();
    }
    evaluatedOn = sourceName(o.data);
  } else {
    const path = join(runDir, 'predictions.csv');
    if (!existsSync(path)) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', 'predictions.csv is missing from the run directory', { file: 'predictions.csv', hint: 'pass --data SOURCE to re-run the model instead' });
    const table = readPredictionsCsv(path, 'predictions.csv');
    if (table.classes !== k) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', `predictions.csv: ${table.classes} score columns, preprocess.json lists ${k} classes`, { file: 'predictions.csv' });
    val = selectSplit(table, 'val');
    test = selectSplit(table, 'test');
  }
  if (!test || test.labels.length === 0) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', `${evaluatedOn}: no test rows to evaluate`, { hint: 'the source needs a test split' });
  const evalCfg = summary.config?.eval ?? {};
  const eo = EvalOptions.parse({
    bootstrap: o.bootstrap ?? evalCfg.bootstrap ?? 1000, alpha: o.alpha ?? evalCfg.alpha ?? 0.1, classNames: classes, subgroups: o.subgroups.length ? o.subgroups : (evalCfg.subgroups ?? []),
  });
  const seed = o.seed ?? summary.config?.seed ?? summary.seed ?? 0;
  const metrics = evaluatePredictions({ classes: k, scoreKind: 'logit', ...(val && val.labels.length ? { val } : {}), test }, eo, new Rng(seed).fork('eval'), onEvent);
  const { val: valMetrics, ...testMetrics } = metrics;
  writeAtomic(join(runDir, 'metrics.json'), toJson({ disclaimer: DISCLAIMER, classes, evaluated_on: evaluatedOn, seed, test: testMetrics, val: valMetrics }));
  writeAtomic(join(runDir, 'calibration.json'), toJson({ temperature: metrics.temperature, ...(metrics.calibration ?? {}) }));
  if (o.data) writeAtomic(join(runDir, 'predictions.csv'), predictionsWithMeta([...(val ? [['val', val] as [string, SplitScores]] : []), ['test', test]], k));
  return { metrics, evaluatedOn, counts: { val: val?.labels.length ?? 0, test: test.labels.length }, skipped };
}
