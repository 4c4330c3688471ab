import { Dataset, encodeTabular, occlusionRows, withBinnedSource, withDicomMeta, type MetaValue } from '../data/index.js';
import { DISCLAIMER, softmax } from '../eval/index.js';
import { exactShapley, meanAbsShap, meanRow, shapPlayers } from '../explain/index.js';
import { MedclassError } from '../errors.js';
import { openRunDir, toJson } from '../run/index.js';
import { RunModel } from './predict.js';
import { openRunSource, runSplits } from './run-source.js';

/** How much one tabular value moved a fusion model's score for the explained class (full row minus occluded row). */
export interface TabularColumnAttribution {
  column: string;
  /** the value given (as passed in `meta`; null when absent) */
  value: MetaValue;
  /** encoded as missing already (absent, empty, not a number, an unseen category): occluding it changes nothing (Δ = 0) */
  missing: boolean;
  /** logit(full) − logit(this column missing); positive = the value pushed toward the class */
  deltaLogit: number;
  /** probability(full) − probability(this column missing), with the same temperature as the prediction */
  deltaProbability: number;
}

/** Occlusion attribution of one image's tabular row: per column and for the image alone (every column missing). */
export interface TabularAttribution {
  /** the class whose logit and probability are compared (default: the predicted class) */
  className: string;
  classIndex: number;
  /** that class's logit and probability with every value as given */
  logit: number;
  probability: number;
  columns: TabularColumnAttribution[];
  /** every column missing: the class's logit and probability, and full minus them */
  imageOnly: { logit: number; probability: number; deltaLogit: number; deltaProbability: number };
}

/** Options of `attributeTabular`. */
export interface AttributeTabularOptions {
  /** class index per image (default: the class with the highest logit on the full row) */
  targets?: readonly number[];
  /** softmax temperature (the prediction's: the run's when calibrated, else 1) */
  temperature?: number | null;
  /** flip TTA as in `RunModel.logits` (default: as the run was evaluated) */
  tta?: boolean;
}

/**
 * Occlusion attribution for the tabular input of an image + tabular run: for each image of `x` `[N, C, H, W]` runs
 * the model on the full row `meta`, on the row with each column set to missing in turn (the encoding of an absent
 * value: numeric → missing indicator, categorical → the other/unknown slot; `occlusionRows`) and on the row with
 * every column missing, all in one batch per image, and reports full minus occluded for the target class's logit
 * and (temperature-scaled) probability. A column that is already missing gives Δ = 0.
 *
 * @example
 * const [a] = await attributeTabular(model, x, 1, { age: 60, sex: 'male', localization: 'back' });
 * a.columns; // [{column: 'age', value: 60, missing: false, deltaLogit: 0.41, deltaProbability: 0.05}, …]
 */
export async function attributeTabular(model: RunModel, x: Float32Array, n: number, meta: Readonly<Record<string, MetaValue>> | undefined, opts: AttributeTabularOptions = {}): Promise<TabularAttribution[]> {
  const enc = model.tabular;
  if (!enc) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', 'this run is an image-only model: there are no tabular values to attribute', { hint: 'tabular attribution needs a run trained with data.tabular' });
  const { columns, rows } = occlusionRows(enc, meta);
  const tab = model.encodeMeta(rows, (i) => (i === 0 ? 'attribution' : `attribution row ${i}`));
  const r = rows.length;
  const k = model.classes.length;
  const { channels: c, size } = model.preprocess;
  const per = c * size * size;
  if (x.length !== n * per) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `x: expected [${n},${c},${size},${size}] (${n * per} values), got ${x.length} values`);
  const out: TabularAttribution[] = [];
  for (let i = 0; i < n; i++) {
    const image = x.subarray(i * per, (i + 1) * per);
    const xs = new Float32Array(r * per);
    for (let j = 0; j < r; j++) xs.set(image, j * per);
    const logits = await model.logits(xs, r, { tab, batchSize: r, ...(opts.tta !== undefined ? { tta: opts.tta } : {}) });
    const probs = softmax(Float64Array.from(logits), k, opts.temperature ?? 1);
    let t = opts.targets?.[i] ?? -1;
    if (t < 0) {
      t = 0;
      for (let m = 1; m < k; m++) if (logits[m]! > logits[t]!) t = m;
    }
    if (!(t < k)) throw new MedclassError('MC_EXPLAIN_BAD_TARGET', `class index ${t} is out of range (the run has ${k} classes)`);
    const logit = (j: number) => logits[j * k + t]!;
    const prob = (j: number) => probs[j * k + t]!;
    out.push({
      className: model.classes[t]!, classIndex: t, logit: logit(0), probability: prob(0),
      columns: columns.map((col, m) => ({ ...col, deltaLogit: logit(0) - logit(m + 1), deltaProbability: prob(0) - prob(m + 1) })),
      imageOnly: { logit: logit(r - 1), probability: prob(r - 1), deltaLogit: logit(0) - logit(r - 1), deltaProbability: prob(0) - prob(r - 1) },
    });
  }
  return out;
}

/** Exact Shapley values of a run's tabular columns over its test rows (`shapTabularRun`), as written to shap.json. */
export interface TabularShap {
  classes: string[];
  /** one player per original tabular column (all encoded parts of a column together) */
  players: string[];
  /** what the absent players take: the mean encoded row of the train split */
  baseline: { kind: 'train-mean'; n: number; row: number[] };
  /** test rows explained (an image run: the first `maxRows` readable ones) */
  n: number;
  /** per test row: item id, predicted class (on the full input), the logits, the baseline's logits and φ `[K][M]` */
  rows: { id: string; predicted: number; logits: number[]; baseLogits: number[]; values: number[][] }[];
  /** mean |φ| per player of the predicted class's logit over the rows (the global importance bar plot) */
  global: number[];
  /** mean |φ| per class k and player, of class k's logit `[K][M]` */
  perClass: number[][];
  /** max over rows and classes of |Σ_i φ_i − (logit − base logit)| (efficiency; float64 sums of float32 logits) */
  maxEfficiencyError: number;
}

/**
 * Exact Shapley values (2^M evaluations per row, M = tabular columns) of the logits of a run with tabular input —
 * tabular-mlp, early fusion or late fusion — for its test rows, against the train-mean encoded row. The image of a
 * row is held fixed (a tabular-mlp run does not read it, so zeros are fed and `maxRows` does not apply); the splits
 * are those recorded in run.json. Writes `shap.json` into the run directory through the run layer.
 */
export async function shapTabularRun(runDir: string, opts: { maxRows?: number; threads?: number } = {}): Promise<TabularShap> {
  const run = openRunDir(runDir);
  const cfg = run.config;
  const model = await RunModel.open(runDir, { threads: opts.threads ?? cfg.threads });
  try {
    const enc = model.tabular;
    if (!enc) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${runDir}: an image-only run has no tabular columns to explain`, { hint: 'SHAP values need a run trained with data.tabular' });
    const source = withBinnedSource(await withDicomMeta(openRunSource(cfg.data.source, cfg.data), { tags: cfg.data.dicomMeta }), cfg.data.binned);
    const { splits } = await runSplits(run, source);
    const of = (s: string) => source.items.flatMap((_, i) => (splits[i] === s ? [i] : []));
    const f = enc.features.length;
    const train = of('train');
    const baseline = meanRow(encodeTabular(enc, train.map((i) => source.items[i]!.meta)), f);
    const tabularOnly = cfg.model.arch === 'tabular-mlp';
    let test = of('test');
    const { channels: c, size } = model.preprocess;
    const per = c * size * size;
    let images: Float32Array;
    if (tabularOnly) images = new Float32Array(per);
    else {
      test = test.slice(0, opts.maxRows ?? 300);
      const b = await new Dataset(source, { splits, cacheTensors: false }).loadBatch(test, model.preprocessOptions, { concurrency: 4 });
      test = b.indices;
      images = b.x.data;
    }
    const players = shapPlayers(enc);
    const x = encodeTabular(enc, test.map((i) => source.items[i]!.meta));
    const k = model.classes.length;
    const size2 = 1 << players.length;
    const batch = new Float32Array(size2 * per);
    const res = await exactShapley(async (rows, n, r) => {
      const img = tabularOnly ? images : images.subarray(r * per, (r + 1) * per);
      for (let j = 0; j < n; j++) batch.set(img, j * per);
      return model.logits(batch.subarray(0, n * per), n, { tab: rows, batchSize: n });
    }, x, baseline, players, k);
    const m = players.length;
    const predicted = res.map((r) => r.logits.reduce((best, v, j, a) => (v > a[best]! ? j : best), 0));
    let maxErr = 0;
    for (const r of res) for (let q = 0; q < k; q++) maxErr = Math.max(maxErr, Math.abs(r.values.subarray(q * m, (q + 1) * m).reduce((a, v) => a + v, 0) - (r.logits[q]! - r.baseLogits[q]!)));
    const out: TabularShap = {
      classes: [...model.classes], players: players.map((p) => p.column), baseline: { kind: 'train-mean', n: train.length, row: Array.from(baseline) }, n: res.length,
      rows: res.map((r, j) => ({
        id: source.items[test[j]!]!.id, predicted: predicted[j]!, logits: Array.from(r.logits), baseLogits: Array.from(r.baseLogits),
        values: Array.from({ length: k }, (_, q) => Array.from(r.values.subarray(q * m, (q + 1) * m))),
      })),
      global: Array.from(meanAbsShap(res, m, predicted)),
      perClass: Array.from({ length: k }, (_, q) => Array.from(meanAbsShap(res, m, res.map(() => q)))),
      maxEfficiencyError: maxErr,
    };
    run.writeFile('shap.json', toJson({ disclaimer: DISCLAIMER, method: 'exact Shapley values (interventional, one reference row), 2^M coalitions per prediction', ...out }));
    return out;
  } finally {
    await model.dispose();
  }
}
