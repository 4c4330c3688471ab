import { z } from 'zod';
import { Rng, concatArrays } from '../engine/index.js';
import { CsvOptions, Dataset, withDicomMeta, type DataEvent, type SplitName, withBinnedSource } from '../data/index.js';
import { evaluatePredictions, selectSplit, type EvalEvent, type MetricsReport, type SplitScores } from '../eval/index.js';
import { MedclassError } from '../errors.js';
import {
  calibrationJson, metricParams, metricsJson, openRunDir, predictionsCsv, runEvalOptions, sourceName, type MetricParams, type RunDir,
} from '../run/index.js';
import { RunModel } from './predict.js';
import { openRunSource, runSplits } from './run-source.js';
import { forEachChunk, loadChunkOption } from './split-chunks.js';

/** Options of `evaluateRunDir` (`medclass eval --run DIR`); unset ones come from the run's run.json config. */
export const EvaluateRunOptions = z.strictObject({
  data: z.string().optional().describe("re-run model.onnx on this source's val/test splits instead of reading predictions.csv"),
  csv: CsvOptions.optional().describe("CSV column mapping when --data is a manifest (default: the run's data.csv)"),
  bootstrap: z.number().int().min(0).optional().describe('bootstrap resamples for the CIs (default: as the run was trained)'),
  alpha: z.number().gt(0).lt(1).optional().describe('conformal miscoverage α (default: as the run was trained)'),
  subgroups: z.array(z.string()).default([]).describe("metadata columns to report metrics per value of (need --data or columns in predictions.csv; default: the run's eval.subgroups)"),
  seed: z.number().int().optional().describe("seed of the bootstrap (default: the run's seed, which reproduces its CIs)"),
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads with --data (0 = all cores)'),
  loadChunk: loadChunkOption('with --data: images decoded and run at a time (memory holds one chunk of float images, not a split)'),
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
  /** the parameters the metrics were computed with (metrics.json `params`) */
  params: MetricParams;
  /** with `data`: items split as run.json records (a fold directory: its fold) and items the run never saw (split by the config) */
  splits?: { recorded: number; unknown: number };
}

/**
 * Runs the model of a run over the val and test splits of a source: items the run recorded take their recorded split
 * (a k-fold fold directory: its own fold), other items are split as the run's config says.
 */
async function scoresFromData(model: RunModel, run: RunDir, spec: string, o: z.output<typeof EvaluateRunOptions>, onEvent?: (e: EvaluateRunEvent) => void) {
  const cfg = run.config;
  const opened = openRunSource(spec, cfg.data, o.csv);
  const tagged = await withDicomMeta(opened, { tags: cfg.data.dicomMeta }); // the run's DICOM tags, for --subgroups
  const source = withBinnedSource(tagged, cfg.data.binned); // the run's binned columns (age_band), for subgroups
  const names = source.classes.join(',');
  if (names !== model.classes.join(',')) {
    throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${sourceName(spec)}: classes [${names}] differ from the run's [${model.classes.join(',')}]`, { hint: 'evaluate on data with the same class names in the same order' });
  }
  const { splits, recorded, unknown } = await runSplits(run, source);
  const ds = new Dataset(source, { splits, cacheTensors: false });
  const skipped: RunEvaluation['skipped'] = [];
  const load = async (which: SplitName) => {
    const r = await forEachChunk(ds, ds.indicesOf(which), model.preprocessOptions, o.loadChunk, `predict ${which}`, async (b) => {
      const chunkItems = b.indices.map((i) => source.items[i]!);
      const tab = model.tabular ? model.encodeMeta(chunkItems.map((it) => it.meta), (i) => chunkItems[i]!.id) : undefined; // fusion runs
      return model.logits(b.x.data, b.labels.length, tab ? { tab } : {});
    }, onEvent);
    skipped.push(...r.skipped);
    const items = r.indices.map((i) => source.items[i]!);
    const keys = [...new Set(items.flatMap((it) => Object.keys(it.meta ?? {})))];
    const meta: Record<string, string[]> = { id: items.map((it) => it.id) };
    for (const key of keys) meta[key] = items.map((it) => { const v = it.meta?.[key]; return v === null || v === undefined ? '' : String(v); });
    if (items.some((it) => it.group !== undefined)) meta.group = items.map((it) => it.group ?? '');
    return { labels: r.labels, scores: concatArrays(r.outputs, Float64Array), meta } satisfies SplitScores;
  };
  return { val: await load('val'), test: await load('test'), skipped, splits: { recorded, unknown } };
}

/** predictions.csv rows of re-run splits: split, id, label, logits, class names and calibrated probabilities, every metadata column. */
function rerunPredictions(splits: [string, SplitScores][], k: number, named: { classes: readonly string[]; temperature: number | null }): string {
  const metaCols = [...new Set(splits.flatMap(([, s]) => Object.keys(s.meta ?? {})))].filter((c) => c !== 'id');
  const rows = splits.flatMap(([split, s]) => Array.from(s.labels, (label, i) => ({
    split, id: s.meta?.id?.[i] ?? String(i), label, logits: s.scores.subarray(i * k, (i + 1) * k),
    meta: Object.fromEntries(metaCols.map((c) => [c, s.meta?.[c]?.[i] ?? ''])),
  })));
  return predictionsCsv(rows, k, metaCols, named);
}

/**
 * Re-evaluates a run directory: reads its predictions.csv (or, with `data`, re-runs model.onnx on that source's
 * val and test splits — the splits run.json records, so a k-fold fold is evaluated on its own fold) and writes
 * metrics.json and calibration.json again through the run layer, in the bytes `runTraining` writes: the same eval
 * options (target sensitivity, α, bootstrap, subgroups from run.json), the same seed, float32-exact logits. So
 * `eval --run DIR` reproduces the run's own metrics.json byte for byte. With `data`, predictions.csv is rewritten
 * too (with the source's metadata columns), so the run directory stays consistent.
 */
export async function evaluateRunDir(runDir: string, options: EvaluateRunOptionsInput = {}, onEvent?: (e: EvaluateRunEvent) => void): Promise<RunEvaluation> {
  const o = EvaluateRunOptions.parse(options);
  const run = openRunDir(runDir);
  const cfg = run.config;
  const classes = run.preprocess().classes;
  const k = classes.length;
  let val: SplitScores | undefined;
  let test: SplitScores | undefined;
  let skipped: RunEvaluation['skipped'] = [];
  let splits: RunEvaluation['splits'];
  let evaluatedOn = 'predictions.csv';
  if (o.data) {
    const model = await RunModel.open(runDir, { threads: o.threads });
    try {
      ({ val, test, skipped, splits } = await scoresFromData(model, run, o.data, o, onEvent));
    } finally {
      await model.dispose();
    }
    evaluatedOn = sourceName(o.data);
  } else {
    const table = run.predictions();
    if (table.classes !== k) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', `predictions.csv: ${table.classes} score columns, preprocess.json lists ${k} classes`, { file: 'predictions.csv' });
    val = selectSplit(table, 'val');
    test = selectSplit(table, 'test');
  }
  if (!test || test.labels.length === 0) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', `${evaluatedOn}: no test rows to evaluate`, { hint: 'the source needs a test split' });
  const eo = runEvalOptions(cfg.eval, classes, { ...(o.bootstrap !== undefined ? { bootstrap: o.bootstrap } : {}), ...(o.alpha !== undefined ? { alpha: o.alpha } : {}), subgroups: o.subgroups });
  const params = metricParams(eo);
  const seed = o.seed ?? cfg.seed;
  const metrics = evaluatePredictions({ classes: k, scoreKind: 'logit', ...(val && val.labels.length ? { val } : {}), test }, eo, new Rng(seed).fork('eval'), onEvent);
  // the data evaluated: the run's own source (its predictions.csv), or the --data source
  run.writeFile('metrics.json', metricsJson(metrics, { classes, evaluatedOn: sourceName(o.data ?? cfg.data.source), seed, params }));
  run.writeFile('calibration.json', calibrationJson(metrics));
  if (o.data) run.writeFile('predictions.csv', rerunPredictions([...(val ? [['val', val] as [string, SplitScores]] : []), ['test', test]], k, { classes, temperature: metrics.temperature }));
  return { metrics, evaluatedOn, counts: { val: val?.labels.length ?? 0, test: test.labels.length }, skipped, params, ...(splits ? { splits } : {}) };
}
