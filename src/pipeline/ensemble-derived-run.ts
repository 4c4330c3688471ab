import { basename } from 'node:path';
import { Rng, saveModel, type Graph } from '../engine/index.js';
import { Dataset, type DataEvent, type SplitName } from '../data/index.js';
import { DISCLAIMER, selectSplit, type SelectiveReport } from '../eval/index.js';
import { MedclassError } from '../errors.js';
import {
  createRunDir, openRunDir, predictionsCsv, readUncertainty, toJson, uncertaintyJson, type DerivedRunRecord, type RunDir, type RunPredictionRow, type UncertaintyOutputs,
} from '../run/index.js';
import { UNCERTAINTY_OUTPUT_NAMES } from './ensemble-graph.js';
import { splitSelective, type SplitUncertainty } from './ensemble-uncertainty.js';
import { evaluateRunDir, type RunEvaluation } from './evaluate-run.js';
import { RunModel } from './predict.js';
import { openRunSource, runSplits } from './run-source.js';
import { DEFAULT_LOAD_CHUNK, forEachChunk } from './split-chunks.js';

/** The metadata columns of predictions.csv that hold an ensemble's or MC-dropout run's uncertainty per row. */
export const UNCERTAINTY_COLUMNS = { entropy: 'entropy', mutualInformation: 'mutual_information' } as const;

/** How a derived run directory is written. */
export interface DerivedRunOptions {
  /** replace an existing run directory at `out` */
  force: boolean;
  /** onnxruntime threads (0 = all cores) */
  threads: number;
  /** bootstrap resamples of the selective-prediction CIs (default: the base run's eval.bootstrap) */
  bootstrap?: number;
  onEvent?: (e: { type: 'stage'; stage: string; detail?: string } | DataEvent) => void;
  /** images decoded and scored at a time (default DEFAULT_LOAD_CHUNK): memory holds one chunk of float images, not a split */
  loadChunk?: number;
}

/** What writing a derived (ensemble or MC-dropout) run directory gives back. */
export interface DerivedRunSummary {
  runDir: string;
  evaluation: RunEvaluation;
  uncertainty: { test: SelectiveReport; val: SelectiveReport | null; baseline: SplitUncertainty | null };
  /** the baseline single model's test metrics (its metrics.json), for side-by-side tables */
  baselineMetrics?: Record<string, unknown>;
}

const num = (v: number) => String(Number(v.toPrecision(9)));

/** Val and test logits and uncertainty of the derived model on the base run's recorded splits, as predictions.csv rows, `chunk` images at a time. */
async function scoreSplits(run: RunDir, model: RunModel, onEvent: DerivedRunOptions['onEvent'], chunk: number): Promise<RunPredictionRow[]> {
  const cfg = run.config;
  const source = openRunSource(cfg.data.source, cfg.data);
  const { splits } = await runSplits(run, source);
  const ds = new Dataset(source, { splits, cacheTensors: false });
  const k = model.classes.length;
  const rows: RunPredictionRow[] = [];
  const groups = cfg.eval.subgroups;
  for (const split of ['val', 'test'] as SplitName[]) {
    await forEachChunk(ds, ds.indicesOf(split), model.preprocessOptions, chunk, `predict ${split}`, async (b) => {
      const items = b.indices.map((i) => source.items[i]!);
      const tab = model.tabular ? model.encodeMeta(items.map((it) => it.meta), (i) => items[i]!.id) : undefined;
      const s = await model.withUncertainty(b.x.data, b.labels.length, tab ? { tab } : {});
      items.forEach((it, i) => rows.push({
        split, id: it.id, label: b.labels[i]!, logits: s.logits.slice(i * k, (i + 1) * k),
        meta: {
          ...Object.fromEntries(groups.map((c) => { const v = it.meta?.[c]; return [c, v === null || v === undefined ? '' : String(v)]; })),
          [UNCERTAINTY_COLUMNS.entropy]: num(s.entropy[i]!), [UNCERTAINTY_COLUMNS.mutualInformation]: num(s.mutualInformation[i]!),
        },
      }));
    }, onEvent);
  }
  return rows;
}

/**
 * Writes a derived run directory at `out` through the run layer: run.json (the base run's config under the new name,
 * its classes, data record and splits, `derived` naming the members), `model.onnx` = `graph`, preprocess.json (the
 * base's, plus `uncertainty`), tabular.json for fusion runs; then predicts the base run's recorded val and test
 * splits (predictions.csv with `entropy` and `mutual_information` columns), evaluates and calibrates them exactly as
 * `medclass eval --run` does (metrics.json, calibration.json) and writes uncertainty.json (selective prediction on
 * test and val, the baseline single model's beside).
 */
export async function writeDerivedRun(base: RunDir, out: string, graph: Graph, derived: DerivedRunRecord, baseline: RunDir | undefined, o: DerivedRunOptions): Promise<DerivedRunSummary> {
  const t0 = performance.now();
  const pre = base.preprocess();
  const cfg = { ...base.config, name: basename(out.replace(/[\\/]+$/, '')) || 'run' };
  const { run } = createRunDir(out, cfg, o.force ? { force: true } : {});
  const bm = base.manifest;
  if (!bm.data || !bm.splits || !bm.classes) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${base.dir}: run.json has no data, classes or splits record (the run did not finish)`, { file: 'run.json' });
  run.update({ classes: bm.classes, data: bm.data, splits: bm.splits, derived });
  const uncertainty: UncertaintyOutputs = {
    method: derived.kind, samples: derived.kind === 'ensemble' ? derived.members.length : derived.passes!,
    entropy: UNCERTAINTY_OUTPUT_NAMES.entropy, mutualInformation: UNCERTAINTY_OUTPUT_NAMES.mutualInformation, sampleLogits: UNCERTAINTY_OUTPUT_NAMES.sampleLogits,
  };
  o.onEvent?.({ type: 'stage', stage: 'export', detail: `${graph.name}: ${graph.nodes.length} nodes` });
  run.writeFile('model.onnx', saveModel(graph));
  run.writeFile('preprocess.json', toJson({ ...pre, uncertainty }));
  const tabular = base.tabular(pre);
  if (tabular) run.writeFile('tabular.json', toJson(tabular));
  o.onEvent?.({ type: 'stage', stage: 'predict', detail: cfg.data.source });
  const model = await RunModel.open(out, { threads: o.threads });
  let rows: RunPredictionRow[];
  try {
    rows = await scoreSplits(run, model, o.onEvent, o.loadChunk ?? DEFAULT_LOAD_CHUNK);
  } finally {
    await model.dispose();
  }
  const k = pre.classes.length;
  run.writeFile('predictions.csv', predictionsCsv(rows, k, [...cfg.eval.subgroups, UNCERTAINTY_COLUMNS.entropy, UNCERTAINTY_COLUMNS.mutualInformation]));
  o.onEvent?.({ type: 'stage', stage: 'evaluate' });
  const evaluation = await evaluateRunDir(out, { threads: o.threads });
  const table = openRunDir(out).predictions();
  const bootstrap = o.bootstrap ?? cfg.eval.bootstrap;
  const rng = new Rng(cfg.seed).fork('selective');
  const sel = (split: 'val' | 'test') => {
    const s = selectSplit(table, split);
    return s && s.labels.length ? splitSelective(s, k, bootstrap, rng.fork(split)) : null;
  };
  const test = sel('test')!;
  const val = sel('val');
  let base0: SplitUncertainty | null = null;
  if (baseline) {
    const bt = selectSplit(baseline.predictions(), 'test');
    if (bt) base0 = { name: baseline.manifest.name, ...splitSelective(bt, k, bootstrap, rng.fork('baseline')) };
  }
  run.writeFile('uncertainty.json', uncertaintyJson({ disclaimer: DISCLAIMER, method: derived.kind, samples: uncertainty.samples, test, val, baseline: base0 }));
  readUncertainty(run); // the file just written passes its own schema
  run.update({ status: 'done', outcome: { stopped: 'done', wallSeconds: (performance.now() - t0) / 1000 } });
  const bmx = baseline?.metrics()?.test as Record<string, unknown> | undefined;
  return { runDir: out, evaluation, uncertainty: { test, val, baseline: base0 }, ...(bmx ? { baselineMetrics: bmx } : {}) };
}

