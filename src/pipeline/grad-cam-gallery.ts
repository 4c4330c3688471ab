import { Dataset, type DatasetSource } from '../data/index.js';
import { MedclassError } from '../errors.js';
import { readTestPredictions, type GradCamExample, type SplitClassCounts } from '../report/index.js';
import { openRunDir, sourceName, type RunDir } from '../run/index.js';
import { explainTensors, openExplainer } from './explain.js';
import { openRunSource, runSplits } from './run-source.js';

/** Options of `gradCamGallery`. */
export interface GradCamGalleryOptions {
  /** data source to draw test images from (default: the run's, from run.json) */
  data?: string;
  /** overlays per gallery cell (TP, FP, FN, TN), default 4 */
  perCell?: number;
  /** onnxruntime threads (default 1) */
  threads?: number;
  /** overlay width at least this many px (default 120) */
  minSize?: number;
}

/** The gallery and the per-class counts of every split, both read from the run's data source. */
export interface GradCamGallery { layer: string; examples: GradCamExample[]; perGroup: number; note: string; groups: string[]; classCounts: SplitClassCounts }

/** Items per class (class order) in each split. */
export function splitClassCounts(source: DatasetSource, splits: readonly string[]): SplitClassCounts {
  const counts = { train: source.classes.map(() => 0), val: source.classes.map(() => 0), test: source.classes.map(() => 0) };
  const index = new Map(source.classes.map((c, i) => [c, i]));
  source.items.forEach((it, i) => {
    const s = splits[i] as 'train' | 'val' | 'test';
    const k = index.get(it.label);
    if (counts[s] && k !== undefined) counts[s][k]! += 1;
  });
  return counts;
}

/** The gallery cells: binary — TP/FP/FN/TN of the positive class 1; K > 2 — per class TP, FN and FP (one-vs-rest). */
function cellsOf(classes: readonly string[]): { name: string; test: (y: number, p: number) => boolean }[] {
  if (classes.length === 2) {
    const pos = classes[1]!;
    return [
      { name: `TP: ${pos}, predicted ${pos}`, test: (y, p) => y === 1 && p === 1 },
      { name: `FP: ${classes[0]}, predicted ${pos}`, test: (y, p) => y === 0 && p === 1 },
      { name: `FN: ${pos}, predicted ${classes[0]}`, test: (y, p) => y === 1 && p === 0 },
      { name: `TN: ${classes[0]}, predicted ${classes[0]}`, test: (y, p) => y === 0 && p === 0 },
    ];
  }
  return classes.flatMap((c, k) => [
    { name: `TP ${c}: ${c}, predicted ${c}`, test: (y: number, p: number) => y === k && p === k },
    { name: `FN ${c}: ${c}, predicted another class`, test: (y: number, p: number) => y === k && p !== k },
    { name: `FP ${c}: another class, predicted ${c}`, test: (y: number, p: number) => y !== k && p === k },
  ]);
}

/** The test rows (source indices) of each cell, most confident first, from predictions.csv joined to the source by id. */
function chooseRows(run: RunDir, source: DatasetSource, testIdx: readonly number[], cells: ReturnType<typeof cellsOf>, perCell: number): number[][] {
  const p = readTestPredictions(run);
  const byId = new Map(source.items.map((it, i) => [it.id, i]));
  const testSet = new Set(testIdx);
  const rows = p?.ids ? p.ids.map((id, r) => ({ i: byId.get(id), y: p.labels[r]!, pred: p.predicted[r]!, conf: p.probs[r * p.classes + p.predicted[r]!]! })).filter((r) => r.i !== undefined && testSet.has(r.i)) : [];
  return cells.map((c) => rows.filter((r) => c.test(r.y, r.pred)).sort((a, b) => b.conf - a.conf || a.i! - b.i!).slice(0, perCell).map((r) => r.i!));
}

/**
 * The report's Grad-CAM gallery: up to `perCell` test images for each of TP, FP, FN and TN (K > 2: per class TP, FN,
 * FP), the most confident of each chosen from predictions.csv, each explained for its predicted class; and the
 * per-class counts of every split. Throws (`MC_TRAIN_BAD_RUN_DIR`, data errors) when the source cannot be read.
 */
export async function gradCamGallery(runDir: string, opts: GradCamGalleryOptions = {}): Promise<GradCamGallery> {
  const perCell = opts.perCell ?? 4;
  if (!(Number.isInteger(perCell) && perCell >= 1 && perCell <= 32)) throw new MedclassError('MC_CLI_BAD_OPTION', `gallery cases per cell: expected an integer 1–32, got ${perCell}`);
  const run = openRunDir(runDir);
  const cfg = run.config;
  const spec = opts.data ?? cfg.data.source;
  const source = openRunSource(spec, cfg.data);
  const { splits } = await runSplits(run, source);
  const classCounts = splitClassCounts(source, splits);
  const ex = await openExplainer(runDir, { threads: opts.threads ?? 1 });
  try {
    if (source.classes.join(',') !== ex.model.classes.join(',')) {
      throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${sourceName(spec)}: classes [${source.classes.join(',')}] differ from the run's [${ex.model.classes.join(',')}]`);
    }
    const ds = new Dataset(source, { splits, cacheTensors: false });
    const cells = cellsOf(source.classes);
    const chosen = chooseRows(run, source, ds.indicesOf('test'), cells, perCell);
    const all = [...new Set(chosen.flat())];
    const b = await ds.loadBatch(all, ex.model.preprocessOptions, { concurrency: 4 });
    const tab = ex.model.tabular ? ex.model.encodeMeta(b.indices.map((i) => source.items[i]!.meta)) : undefined;
    const res = b.indices.length ? await explainTensors(ex, b.x.data, b.labels.length, -1, { minSize: opts.minSize ?? 120 }, 16, tab) : [];
    const byIndex = new Map(b.indices.map((i, j) => [i, res[j]!]));
    const examples: GradCamExample[] = cells.flatMap((c, ci) => chosen[ci]!.filter((i) => byIndex.has(i)).map((i) => {
      const r = byIndex.get(i)!;
      return { trueLabel: source.items[i]!.label, predicted: ex.model.classes[r.labelIndex]!, probability: r.probability, explained: ex.model.classes[r.explainedIndex]!, png: r.png, group: c.name };
    }));
    const note = source.classes.length === 2
      ? `Rows: true/false positives and negatives with ${source.classes[1]} as the positive class at the arg-max decision, up to ${perCell} each, the most confident first.`
      : `Rows per class (one-vs-rest at the arg-max decision): TP, FN and FP, up to ${perCell} each, the most confident first.`;
    return { layer: ex.gradCam.layer, examples, perGroup: perCell, note, groups: cells.map((c) => c.name), classCounts };
  } finally {
    await ex.dispose();
  }
}
