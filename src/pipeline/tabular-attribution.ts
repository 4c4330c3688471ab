import { occlusionRows, type MetaValue } from '../data/index.js';
import { softmax } from '../eval/index.js';
import { MedclassError } from '../errors.js';
import type { RunModel } from './predict.js';

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
