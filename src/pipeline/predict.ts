import { z } from 'zod';
import { Session } from '../engine/index.js';
import { PreprocessOptions, encodeTabular, tabularColumns, type MetaValue, type PreprocessConfig, type TabularEncoder } from '../data/index.js';
import { hflipBatch } from '../train/index.js';
import { OPERATING_POINT_PATTERN, predictionSets, softmax, type ConformalCalibration, type ConformalMethod } from '../eval/index.js';
import { openRunDir, storedConformal, type MetricsFile, type RunPreprocess } from '../run/index.js';
import { MedclassError, type ErrorCode } from '../errors.js';
import { decodeInputs, type ImageInput } from './decode-inputs.js';
import { attributeTabular, type TabularAttribution } from './tabular-attribution.js';
import { decideAt, resolveOperatingPoint, type OperatingDecision, type ResolvedOperatingPoint } from './operating-decision.js';

export type { ImageInput } from './decode-inputs.js';

/** Options of `predictImages` (and `medclass predict`). */
export const PredictOptions = z.strictObject({
  calibrate: z.boolean().default(true).describe('divide logits by the temperature of calibration.json before the softmax (when the run has one)'),
  conformal: z.enum(['lac', 'aps', 'none']).default('lac').describe('prediction sets from the q̂ stored in metrics.json (none = no sets)'),
  batchSize: z.number().int().min(1).default(32).describe('images per onnxruntime call'),
  concurrency: z.number().int().min(1).default(4).describe('images decoded at once'),
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads (0 = all cores)'),
  tta: z.boolean().optional().describe('average the logits with those of the horizontal flip; default: as the run was evaluated'),
  meta: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional()
    .describe("fusion runs: the tabular values of the images (every column of tabular.json; '' or null = missing), e.g. {age: 45, sex: 'male'}"),
  attribute: z.boolean().default(false)
    .describe("fusion runs: occlusion attribution of the tabular values — per column, the predicted class's logit and probability with the value minus with it missing"),
  operatingPoint: z.union([z.literal('none'), z.string().regex(OPERATING_POINT_PATTERN, 'expected sensitivity:<target>, specificity:<target>, youden or none')]).optional()
    .describe("two-class runs: also decide at this operating point (threshold chosen on val), e.g. sensitivity:0.95; default: the run's eval.operatingPoint; none = no decision"),
});
export type PredictOptions = z.output<typeof PredictOptions>;
export type PredictOptionsInput = z.input<typeof PredictOptions>;

/** `preprocess.json` of a run directory (validated by the run layer). */
export type { RunPreprocess } from '../run/index.js';

/** One image's prediction, or the reason it could not be read (a batch never fails on one bad file). */
export type ImagePrediction =
  | {
    file: string;
    /** most probable class name */
    label: string;
    labelIndex: number;
    /** probability per class name (temperature-scaled when `calibrated`) */
    probabilities: Record<string, number>;
    logits: number[];
    calibrated: boolean;
    /** classes in the split-conformal set (aims at ≥ `conformalLevel` coverage), when the run stored q̂ */
    conformalSet?: string[];
    conformalLevel?: number;
    /** with `attribute` (fusion runs): how much each tabular value moved the predicted class (`attributeTabular`) */
    tabularAttribution?: TabularAttribution;
    /** the decision at the operating point (`operatingPoint`, else the run's eval.operatingPoint), besides the arg-max `label` */
    decision?: OperatingDecision;
    /** ensembles and MC-dropout runs: predictive entropy and mutual information (nats) over the members or passes */
    uncertainty?: { method: 'ensemble' | 'mc-dropout'; samples: number; entropy: number; mutualInformation: number };
    error?: undefined;
  }
  | { file: string; error: { code: ErrorCode; message: string } };

/** An input of `predictImages`: a path, or named bytes (an upload). */

/**
 * A trained run directory opened for inference: `model.onnx` in one `Session`, `preprocess.json`, the temperature of
 * `calibration.json` and the conformal q̂ of `metrics.json`. Dispose it when done.
 */
export class RunModel {
  private constructor(
    readonly runDir: string,
    private readonly session: Session,
    readonly preprocess: RunPreprocess,
    /** temperature fitted on val (null when the run had none) */
    readonly temperature: number | null,
    /** whether the run's predictions.csv was made with flip TTA */
    readonly tta: boolean,
    private readonly metrics: MetricsFile | undefined,
    /** the tabular encoder of a fusion run (`tabular.json`), else undefined */
    readonly tabular?: TabularEncoder,
    /** the operating point the run was configured to decide at (run.json `eval.operatingPoint`), if any */
    readonly defaultOperatingPoint?: string,
  ) {}

  private readonly points = new Map<string, ResolvedOperatingPoint>();

  /**
   * The operating point `spec` of this two-class run, resolved once (`resolveOperatingPoint`: the report's threshold,
   * else chosen now on predictions.csv's val rows); `MC_EVAL_NO_OPERATING_POINT` for other runs.
   */
  operatingPoint(spec: string): ResolvedOperatingPoint {
    let op = this.points.get(spec);
    if (!op) {
      op = resolveOperatingPoint(openRunDir(this.runDir), spec, this.classes, this.temperature, this.metrics);
      this.points.set(spec, op);
    }
    return op;
  }

  /** The operating point a prediction decides at: `requested` ('none' = none), else the run's own, else none. */
  chosenOperatingPoint(requested?: string): ResolvedOperatingPoint | undefined {
    const spec = requested ?? this.defaultOperatingPoint;
    return spec && spec !== 'none' ? this.operatingPoint(spec) : undefined;
  }

  /** Opens `runDir` through the run layer (with `int8`: its model.int8.onnx); throws `MC_TRAIN_BAD_RUN_DIR` when the model or preprocess.json is missing. */
  static async open(runDir: string, opts: { threads?: number; int8?: boolean } = {}): Promise<RunModel> {
    const run = openRunDir(runDir);
    const pre = run.preprocess();
    run.modelPath(opts.int8 ? 'int8' : 'float'); // MC_TRAIN_BAD_RUN_DIR before any other file is read when the run was interrupted
    const cal = run.calibration();
    const metrics = run.metrics();
    const t = typeof cal?.temperature === 'number' && cal.temperature > 0 ? cal.temperature : null;
    const tabular = run.tabular(pre);
    if (tabular && tabular.features.length !== pre.tabularFeatures) {
      throw new MedclassError('MC_DATA_BAD_TABULAR', `tabular.json: ${tabular.features.length} features, preprocess.json says ${pre.tabularFeatures}`, { file: 'tabular.json' });
    }
    const session = await Session.create(run.modelBytes(opts.int8 ? 'int8' : 'float'), opts.threads ? { threads: opts.threads } : {});
    const point = run.hasManifest ? run.config.eval.operatingPoint : undefined;
    return new RunModel(runDir, session, pre, t, run.hasManifest && run.config.fit.tta === true, metrics, tabular, point);
  }

  get classes(): readonly string[] { return this.preprocess.classes; }

  /** The bytes of the run's model.onnx, read through the run layer (for other sessions on the same graph: Grad-CAM, embeddings). */
  modelBytes(): Uint8Array { return openRunDir(this.runDir).modelBytes(); }

  /** The preprocessing options (size, channels, fit, normalize) for `preprocessImage`. */
  get preprocessOptions(): PreprocessConfig {
    const { size, channels, fit, normalize } = this.preprocess;
    return PreprocessOptions.parse({ size, channels, fit, normalize });
  }

  /** Conformal calibration stored for `method`, or undefined. */
  conformal(method: ConformalMethod): ConformalCalibration | undefined {
    return storedConformal(this.metrics, method, this.classes.length);
  }

  /** Encodes one metadata row per image for a fusion run (`[N, F]`); every column must be given (`MC_DATA_MISSING_META`). */
  encodeMeta(rows: readonly (Readonly<Record<string, MetaValue>> | undefined)[], rowName?: (i: number) => string): Float32Array {
    if (!this.tabular) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', 'this run is an image-only model; it takes no tabular values', { hint: 'drop --meta' });
    return encodeTabular(this.tabular, rows, { requireColumns: true, ...(rowName ? { rowName } : {}) });
  }

  /**
   * Logits `[N, K]` for images `x` `[N, C, H, W]` (`x` is not modified) and, for a fusion run, their encoded tabular
   * rows `tab` `[N, F]` (`encodeMeta`); with `tta`, averaged with the flip (tabular rows unchanged).
   */
  async logits(x: Float32Array, n: number, opts: { batchSize?: number; tta?: boolean; tab?: Float32Array } = {}): Promise<Float32Array> {
    const { channels: c, size } = this.preprocess;
    const per = c * size * size;
    if (x.length !== n * per) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `x: expected [${n},${c},${size},${size}] (${n * per} values), got ${x.length} values`);
    const f = this.tabular?.features.length ?? 0;
    if (this.tabular && !opts.tab) {
      throw new MedclassError('MC_DATA_MISSING_META', `this run is an image + tabular model: it needs the values of ${tabularColumns(this.tabular).join(', ')}`, {
        hint: `e.g. medclass predict --meta ${tabularColumns(this.tabular).map((col) => `${col}=…`).join(',')}`,
      });
    }
    if (opts.tab && opts.tab.length !== n * f) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `tab: expected [${n},${f}] (${n * f} values), got ${opts.tab.length} values`);
    const [logits] = await this.batchedOutputs(x, n, [this.preprocess.output], [this.classes.length], opts.tta ?? this.tta, opts);
    return logits!;
  }

  /**
   * Runs the session over `x` in batches of `opts.batchSize` (default 32) and gathers each named output, `widths[j]`
   * values per image; with `tta` every output is averaged with the horizontal flip's.
   */
  private async batchedOutputs(x: Float32Array, n: number, names: readonly string[], widths: readonly number[], tta: boolean, opts: { batchSize?: number; tab?: Float32Array }): Promise<Float32Array[]> {
    const { channels: c, size } = this.preprocess;
    const per = c * size * size;
    const f = this.tabular?.features.length ?? 0;
    const outs = widths.map((w) => new Float32Array(n * w));
    const bs = opts.batchSize ?? 32;
    for (let s = 0; s < n; s += bs) {
      const m = Math.min(bs, n - s);
      const dims = [m, c, size, size];
      const batch = x.slice(s * per, (s + m) * per);
      const tab = opts.tab && this.preprocess.tabularInput
        ? { [this.preprocess.tabularInput]: { dtype: 'float32' as const, dims: [m, f], data: opts.tab.slice(s * f, (s + m) * f) } } : {};
      const run = async (data: Float32Array) => {
        const r = await this.session.run({ ...tab, [this.preprocess.input]: { dtype: 'float32', dims, data } }, names);
        return names.map((name) => Float32Array.from(r[name]!.data as Float32Array));
      };
      const a = await run(batch);
      if (tta) {
        hflipBatch(batch, dims);
        const b = await run(batch);
        a.forEach((v, j) => { for (let i = 0; i < v.length; i++) v[i] = (v[i]! + b[j]![i]!) / 2; });
      }
      a.forEach((v, j) => outs[j]!.set(v, s * widths[j]!));
    }
    return outs;
  }

  /** The uncertainty model.onnx gives (preprocess.json `uncertainty`: ensembles, MC-dropout runs), else undefined. */
  get uncertainty(): RunPreprocess['uncertainty'] { return this.preprocess.uncertainty; }

  /**
   * Ensembles and MC-dropout runs: logits `[N, K]` (log of the mean member/pass probabilities), predictive entropy
   * `[N]` and mutual information `[N]` (nats) from the same session runs; with `tta` each is averaged with the flip's.
   */
  async withUncertainty(x: Float32Array, n: number, opts: { batchSize?: number; tta?: boolean; tab?: Float32Array } = {}): Promise<{ logits: Float32Array; entropy: Float32Array; mutualInformation: Float32Array }> {
    const u = this.preprocess.uncertainty;
    if (!u) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', "this run's model.onnx gives no uncertainty (not an ensemble or MC-dropout run)", { hint: 'build one with medclass ensemble RUN… or medclass mc-dropout RUN' });
    const { channels: c, size } = this.preprocess;
    const per = c * size * size;
    const f = this.tabular?.features.length ?? 0;
    if (x.length !== n * per || (this.tabular && opts.tab?.length !== n * f)) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `x/tab: expected [${n},${c},${size},${size}]${this.tabular ? ` and [${n},${f}]` : ''}`);
    const names = [this.preprocess.output, u.entropy, u.mutualInformation];
    const outs = await this.batchedOutputs(x, n, names, [this.classes.length, 1, 1], opts.tta ?? this.tta, opts);
    return { logits: outs[0]!, entropy: outs[1]!, mutualInformation: outs[2]! };
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}

/**
 * Classifies image files with a trained run: decode and preprocess as `preprocess.json` says, run `model.onnx`,
 * softmax with the calibration temperature T (logits / T) when the run has one, and the split-conformal set from
 * the q̂ in metrics.json. Unreadable or missing files come back as `{file, error}` entries; the rest go on.
 *
 * @example
 * const [p] = await predictImages('runs/pneumonia', ['xray.png']);
 * if (!p.error) console.log(p.label, p.probabilities);
 */
export async function predictImages(runDir: string, files: readonly ImageInput[], options: PredictOptionsInput = {}): Promise<ImagePrediction[]> {
  const o = PredictOptions.parse(options);
  const model = await RunModel.open(runDir, { threads: o.threads });
  try {
    return await predictWith(model, files, o);
  } finally {
    await model.dispose();
  }
}

/** `predictImages` with an open `RunModel` (a server keeps one open). */
export async function predictWith(model: RunModel, files: readonly ImageInput[], options: PredictOptionsInput = {}): Promise<ImagePrediction[]> {
  const o = PredictOptions.parse(options);
  const pre = model.preprocessOptions;
  // Fusion runs: the same metadata for every image, checked before any image is decoded.
  const tabRow = model.tabular ? model.encodeMeta([o.meta], () => 'predict') : o.meta ? model.encodeMeta([o.meta]) : undefined;
  const op = model.chosenOperatingPoint(o.operatingPoint); // resolved (or refused) before any image is decoded
  if (o.attribute && !model.tabular) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', 'this run is an image-only model: there are no tabular values to attribute', { hint: 'drop --attribute; it needs a run trained with data.tabular' });
  const { entries, ok, x } = await decodeInputs(files, pre, o.concurrency);
  const k = model.classes.length;
  const tab = tabRow ? new Float32Array(ok.length * tabRow.length).map((_, i) => tabRow[i % tabRow.length]!) : undefined;
  const lo = { batchSize: o.batchSize, ...(o.tta !== undefined ? { tta: o.tta } : {}), ...(tab ? { tab } : {}) };
  // ensembles and MC-dropout runs: logits and uncertainty from the same runs (a server runs them in its worker, one request per run)
  const scored = model.uncertainty && ok.length ? await model.withUncertainty(x, ok.length, lo) : undefined;
  const logits = scored?.logits ?? (ok.length ? await model.logits(x, ok.length, lo) : new Float32Array(0));
  const T = o.calibrate ? model.temperature : null;
  const l64 = Float64Array.from(logits);
  const probs = softmax(l64, k, T ?? 1);
  const cal = o.conformal === 'none' ? undefined : model.conformal(o.conformal);
  // q̂ was calibrated on temperature-scaled probabilities, so sets always use them.
  const calibrated = model.temperature !== null ? softmax(l64, k, model.temperature) : softmax(l64, k);
  const sets = cal ? predictionSets(calibrated, k, cal) : undefined;
  const labels = ok.map((_, j) => argmax(probs.subarray(j * k, (j + 1) * k)));
  const attribution = o.attribute && ok.length
    ? await attributeTabular(model, x, ok.length, o.meta, { targets: labels, temperature: T, ...(o.tta !== undefined ? { tta: o.tta } : {}) }) : undefined;
  const out: ImagePrediction[] = entries.map((d) => ({ file: d.name, error: d.error! })) // decoded ones are replaced below;
  ok.forEach((i, j) => {
    const p = probs.subarray(j * k, (j + 1) * k);
    const best = labels[j]!;
    out[i] = {
      file: entries[i]!.name,
      label: model.classes[best]!,
      labelIndex: best,
      probabilities: Object.fromEntries(model.classes.map((c, m) => [c, p[m]!])),
      logits: Array.from(logits.subarray(j * k, (j + 1) * k)),
      calibrated: T !== null,
      ...(sets && cal ? { conformalSet: model.classes.filter((_, m) => sets[j * k + m] === 1), conformalLevel: 1 - cal.alpha } : {}),
      ...(attribution ? { tabularAttribution: attribution[j]! } : {}),
      ...(scored && model.uncertainty ? { uncertainty: { method: model.uncertainty.method, samples: model.uncertainty.samples, entropy: scored.entropy[j]!, mutualInformation: scored.mutualInformation[j]! } } : {}),
      // thresholds were chosen on temperature-scaled probabilities, so decisions always use them
      ...(op ? { decision: decideAt(op, calibrated.subarray(j * k, (j + 1) * k)) } : {}),
    };
  });
  return out;
}

function argmax(p: Float64Array): number {
  let best = 0;
  for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
  return best;
}
