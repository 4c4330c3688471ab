import { cpus, loadavg } from 'node:os';
import { z } from 'zod';
import {
  Rng, Session, calibrateMinMax, cloneGraph, concatArrays, calibratePercentile, correctBiases, hasFullRangeWeights, int8MaySaturate, loadModel, planQdq, prepareForQdq,
  rewriteQdq, saveModel, spaceToDepthStem, type CalibrationFeeds, type Graph, type QdqPlan, type QuantRange,
} from '../engine/index.js';
import { Dataset, type SplitName } from '../data/index.js';
import { evaluatePredictions, softmax, type MetricsReport, type SplitScores } from '../eval/index.js';
import { MedclassError } from '../errors.js';
import { INT8_METRICS, INT8_MODEL, metricParams, metricsJson, openRunDir, runEvalOptions, sourceName, toJson, type RunDir } from '../run/index.js';
import { RunModel } from './predict.js';
import { openRunSource, runSplits } from './run-source.js';
import { forEachChunk, loadChunkOption } from './split-chunks.js';

/** Options of `exportInt8` (and `medclass export --int8`). */
export const Int8ExportOptions = z.strictObject({
  calibration: z.enum(['val', 'train']).default('val').describe('split whose images calibrate the activation ranges (MinMax over them)'),
  images: z.number().int().min(1).default(256).describe('calibration images (evenly spaced over the split)'),
  ranges: z.enum(['minmax', 'percentile']).default('percentile')
    .describe('activation ranges: the 99.999th percentile of |v| over the calibration images or MinMax (Kermany MobileNetV2, stem output float, no bias correction: AUC drop 0.0029 vs 0.0047)'),
  stem: z.enum(['auto', 'float', 'int8']).default('auto')
    .describe('the first Conv (stem): auto = a stem strided on ≤ 4 channels becomes SpaceToDepth + a stride-1 Conv in int8 when that runs faster here than the float stem (timed on a calibration batch; batch 32: Kermany MobileNetV2 int8 5–11 % faster, a compact-resnet w0.5 at 160 px 23–36 % faster), other stems stay float with their output quantized (int8 Convs on 1–3 input channels are slow); float; int8 (SpaceToDepth where it applies)'),
  biasCorrection: z.boolean().default(true)
    .describe('empirical bias correction on the calibration images (Nagel et al. 2019): Kermany MobileNetV2 val agreement 97.3 → 99.1 %'),
  reduceRange: z.enum(['auto', 'on', 'off']).default('auto')
    .describe('weights in the 7-bit range [−64, 64] (onnxruntime reduce_range): on x86 without VNNI the int8 kernels saturate full-range weights (a 64-input QGemm on an AVX2 Zen 1: up to 2.18 off the QDQ arithmetic, 3.8e-6 with it); depthwise weights keep the full range (their kernel cannot saturate) and the stem\'s are uint8 (the exact u8·u8 kernel); auto = on where this CPU may saturate'),
  evaluate: z.boolean().default(true).describe(`evaluate the int8 model on the run's val and test splits beside the float model (${INT8_METRICS})`),
  speed: z.boolean().default(true).describe('with evaluate: time the float and int8 models on this machine at batch 1 and 32 (calibration images, alternated, 5 rounds), so the export says whether int8 is faster here'),
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads (0 = all cores)'),
  loadChunk: loadChunkOption('evaluation: images decoded and run at a time (memory holds one chunk of float images, not a split)'),
});
export type Int8ExportOptionsInput = z.input<typeof Int8ExportOptions>;

/** How the int8 model compares with the float one on the test split (the `quantization` section of metrics.int8.json). */
export interface Int8Comparison {
  method: 'qdq-static';
  calibration: { split: SplitName; images: number; ranges: 'minmax' | 'percentile' };
  float_stem: boolean;
  /** the stem was rewritten as SpaceToDepth + a stride-1 Conv before quantizing (`spaceToDepthStem`) */
  stem_space_to_depth: boolean;
  /** layers whose bias was corrected for the mean output shift of quantization (0: off) */
  bias_corrected_layers: number;
  weights: 'int8 symmetric per-channel' | 'int8 symmetric per-channel, 7-bit range (depthwise full range)' | 'int8 symmetric per-channel, 7-bit range (depthwise full range, stem uint8)';
  /** weights in [−64, 64] so x86 CPUs without VNNI compute them exactly; `auto` decides by this machine's CPU */
  reduce_range: boolean;
  activations: 'uint8 asymmetric per-tensor';
  quantized_weights: number;
  quantized_tensors: number;
  n_test: number;
  /** fraction of test images whose top-1 class is the float model's */
  top1_agreement: number;
  /** the same on the val split (null without val images): the figure to choose export options by */
  val_top1_agreement: number | null;
  /** largest |p_int8 − p_float| over test images and classes (uncalibrated softmax) */
  max_abs_prob_diff: number;
  float_auc: number | null;
  int8_auc: number | null;
  auc_drop: number | null;
  /** float vs int8 inference time on the exporting machine (absent with `speed: false`) */
  speed?: Int8Speed;
}

/** Float vs int8 time per batch, alternated on this machine (a ratio: absolute times drift with the load). */
export interface Int8Speed {
  threads: number;
  /** 1-minute load average before timing */
  load: number;
  batches: { batch: number; float_ms: number; int8_ms: number; /** median of the alternated float/int8 ratios */ speedup: number }[];
}

const median = (v: readonly number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/**
 * Alternated timing (A B A B …) on this machine: after one warm-up round, `rounds` rounds of `iters` calls of each
 * function; per function the median ms per call, and the median of the per-round ratios of the first's time to it.
 */
async function alternate(fns: readonly (() => Promise<unknown>)[], rounds: number, iters = 1): Promise<{ ms: number[]; ratioToFirst: number[] }> {
  const t = fns.map((): number[] => []);
  for (let r = 0; r <= rounds; r++) {
    for (let k = 0; k < fns.length; k++) {
      const t0 = performance.now();
      for (let i = 0; i < iters; i++) await fns[k]!();
      if (r > 0) t[k]!.push((performance.now() - t0) / iters);
    }
  }
  return { ms: t.map(median), ratioToFirst: t.map((v) => median(t[0]!.map((f, r) => f / v[r]!))) };
}

/** Times `float` and `int8` on batches taken (cycled) from `x`, alternated 5 rounds per batch size. */
async function timeModels(float: RunModel, int8: RunModel, x: Float32Array, per: number, threads: number): Promise<Int8Speed> {
  const n = x.length / per;
  const load = loadavg()[0]!;
  const batches: Int8Speed['batches'] = [];
  const round = (v: number) => +v.toFixed(3);
  for (const batch of [1, 32]) {
    const data = Float32Array.from({ length: batch * per }, (_, i) => x[i % (n * per)]!);
    const run = (m: RunModel) => () => m.logits(data, batch, { batchSize: batch, tta: false });
    const t = await alternate([run(float), run(int8)], 5, Math.max(2, Math.round(32 / batch)));
    batches.push({ batch, float_ms: round(t.ms[0]!), int8_ms: round(t.ms[1]!), speedup: round(t.ratioToFirst[1]!) });
  }
  return { threads: threads || cpus().length, load: +load.toFixed(2), batches };
}

/** What `exportInt8` wrote. */
export interface Int8Export {
  model: string;
  bytes: number;
  comparison?: Int8Comparison;
  metrics?: MetricsReport;
}

/**
 * Whether `a` quantized with `planA` runs faster than `b` with `planB` (QDQ graphs without bias correction, median of
 * 5 alternated timings of one calibration batch on this machine, after a warm-up).
 */
async function stemIsFaster(a: Graph, planA: QdqPlan, b: Graph, planB: QdqPlan, ranges: ReadonlyMap<string, QuantRange>, feeds: CalibrationFeeds, threads: number): Promise<boolean> {
  const sessions: Session[] = [];
  try {
    for (const [g, plan] of [[a, planA], [b, planB]] as const) {
      const q = cloneGraph(g);
      rewriteQdq(q, plan, ranges);
      sessions.push(await Session.create(saveModel(q), { threads }));
    }
    const { ms } = await alternate(sessions.map((q) => () => q.run(feeds)), 5);
    return ms[0]! < ms[1]!;
  } finally {
    for (const s of sessions) await s.dispose();
  }
}

/** The run's own source, split as run.json records. */
async function runDataset(run: RunDir): Promise<Dataset> {
  const cfg = run.config;
  const source = openRunSource(cfg.data.source, cfg.data);
  const { splits } = await runSplits(run, source);
  return new Dataset(source, { splits, cacheTensors: false });
}

/** Float32 input batches of `per` values per image. */
function* batchesOf(name: string, x: Float32Array, n: number, dims: number[], size = 16): Generator<CalibrationFeeds> {
  const per = dims.reduce((a, b) => a * b, 1);
  for (let s = 0; s < n; s += size) {
    const m = Math.min(size, n - s);
    yield { [name]: { dtype: 'float32', dims: [m, ...dims], data: x.slice(s * per, (s + m) * per) } };
  }
}

const top1 = (p: Float32Array | Float64Array, k: number, i: number) => {
  let best = 0;
  for (let c = 1; c < k; c++) if (p[i * k + c]! > p[i * k + best]!) best = c;
  return best;
};

/** Top-1 agreement and the largest probability difference of two models' logits `[N, K]`. */
export function compareLogits(a: Float32Array, b: Float32Array, k: number): { agreement: number; maxAbsProbDiff: number } {
  const n = a.length / k;
  const pa = softmax(Float64Array.from(a), k);
  const pb = softmax(Float64Array.from(b), k);
  let same = 0;
  let diff = 0;
  for (let i = 0; i < n; i++) if (top1(pa, k, i) === top1(pb, k, i)) same++;
  for (let i = 0; i < pa.length; i++) diff = Math.max(diff, Math.abs(pa[i]! - pb[i]!));
  return { agreement: n ? same / n : 1, maxAbsProbDiff: diff };
}

/**
 * Static int8 quantization of a run (`medclass export --int8`): folds batch norm into the Convs, rewrites a strided
 * stem as SpaceToDepth + a stride-1 Conv (`stem`), calibrates activation
 * ranges (percentile or MinMax) by running the float model over `images` images of the calibration split, corrects
 * the biases for quantization's mean output shift on the same images (`correctBiases`), rewrites the graph into
 * QDQ form (`rewriteQdq`: int8 per-channel weights, uint8 activations, int32 biases) and writes model.int8.onnx
 * through the run layer. Unless `evaluate` is false, both models then run on the run's val and test splits and
 * metrics.int8.json holds the int8 model's metrics (the float model's metrics.json layout) with a `quantization`
 * section: top-1 agreement, probability difference and AUC drop against the float model.
 *
 * @example
 * const r = await exportInt8('runs/pneumoniamnist', { images: 256 });
 */
export async function exportInt8(runDir: string, options: Int8ExportOptionsInput = {}): Promise<Int8Export> {
  const o = Int8ExportOptions.parse(options);
  const run = openRunDir(runDir);
  const pre = run.preprocess();
  if (pre.tabularInput) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', 'int8 export handles image-only runs; this is an image + tabular (fusion) run', { hint: 'serve the float model.onnx' });
  const ds = await runDataset(run);
  const float = await RunModel.open(runDir, { threads: o.threads });
  try {
    const all = ds.indicesOf(o.calibration);
    if (all.length === 0) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `the run has no ${o.calibration} images to calibrate on`, { hint: `pass --calibration ${o.calibration === 'val' ? 'train' : 'val'}` });
    const take = Math.min(o.images, all.length);
    const idx = Array.from({ length: take }, (_, i) => all[Math.floor((i * all.length) / take)]!);
    const cal = await ds.loadBatch(idx, float.preprocessOptions);
    const base = prepareForQdq(loadModel(run.modelBytes()));
    const reduceRange = o.reduceRange === 'auto' ? int8MaySaturate() : o.reduceRange === 'on';
    const rewritten = o.stem === 'float' ? undefined : cloneGraph(base);
    const s2d = rewritten && spaceToDepthStem(rewritten) ? rewritten : undefined;
    // calibrated once, on the rewritten graph when there is one: its planned tensors are the float-stem plan's and the
    // SpaceToDepth output
    const calGraph = s2d ?? base;
    const calPlan = planQdq(calGraph, { floatStem: o.stem !== 'int8' && !s2d, reduceRange });
    const dims = [pre.channels, pre.size, pre.size];
    const batches = () => batchesOf(pre.input, cal.x.data, cal.labels.length, dims);
    const ranges = o.ranges === 'percentile' ? await calibratePercentile(calGraph, calPlan.tensors, batches, 99.999, o.threads) : await calibrateMinMax(calGraph, calPlan.tensors, batches(), o.threads);
    const floatStemPlan = () => planQdq(base, { floatStem: true, reduceRange });
    // auto: the faster of the int8 SpaceToDepth stem and the float stem, timed here on a calibration batch (before bias
    // correction, which changes no kernel)
    const spaceToDepth = s2d !== undefined && (o.stem === 'int8' || await stemIsFaster(s2d, calPlan, base, floatStemPlan(), ranges, [...batches()].at(0)!, o.threads));
    const graph = spaceToDepth ? s2d! : base;
    const plan = spaceToDepth || o.stem === 'int8' ? calPlan : floatStemPlan();
    const floatStem = !spaceToDepth && o.stem !== 'int8';
    const corrected = o.biasCorrection ? (await correctBiases(graph, plan, ranges, batches(), o.threads)).layers : 0;
    const weights = rewriteQdq(graph, plan, ranges);
    const bytes = saveModel(graph);
    run.writeFile(INT8_MODEL, bytes);
    const written: Int8Export = { model: run.path(INT8_MODEL), bytes: bytes.byteLength };
    if (!o.evaluate) return written;
    const int8 = await RunModel.open(runDir, { threads: o.threads, int8: true });
    try {
      const k = pre.classes.length;
      const scores = async (which: SplitName) => {
        const r = await forEachChunk(ds, ds.indicesOf(which), float.preprocessOptions, o.loadChunk, `int8 ${which}`, async (b) => ({
          fl: await float.logits(b.x.data, b.labels.length), q: await int8.logits(b.x.data, b.labels.length),
        }));
        return { labels: r.labels, fl: concatArrays(r.outputs.map((c) => c.fl), Float32Array), q: concatArrays(r.outputs.map((c) => c.q), Float32Array) };
      };
      const val = await scores('val');
      const test = await scores('test');
      if (test.labels.length === 0) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', 'the run has no test images to evaluate the int8 model on');
      const cfg = run.config;
      const eo = runEvalOptions(cfg.eval, pre.classes, { subgroups: [] });
      const split = (s: typeof val, which: 'fl' | 'q'): SplitScores => ({ labels: s.labels, scores: Float64Array.from(s[which]) });
      const evalOf = (which: 'fl' | 'q') => evaluatePredictions({ classes: k, scoreKind: 'logit', ...(val.labels.length ? { val: split(val, which) } : {}), test: split(test, which) }, eo, new Rng(cfg.seed).fork('eval'));
      const mq = evalOf('q');
      const floatAuc = evalOf('fl').roc_auc ?? null; // recomputed on the same decoded images, not read from metrics.json
      const { agreement, maxAbsProbDiff } = compareLogits(test.fl, test.q, k);
      const speed = o.speed ? await timeModels(float, int8, cal.x.data, pre.channels * pre.size * pre.size, o.threads) : undefined;
      const comparison: Int8Comparison = {
        method: 'qdq-static', calibration: { split: o.calibration, images: cal.labels.length, ranges: o.ranges }, float_stem: floatStem, stem_space_to_depth: spaceToDepth, bias_corrected_layers: corrected,
        weights: !plan.reduceRange ? 'int8 symmetric per-channel' : plan.uint8Weights?.length ? 'int8 symmetric per-channel, 7-bit range (depthwise full range, stem uint8)' : 'int8 symmetric per-channel, 7-bit range (depthwise full range)', reduce_range: reduceRange, activations: 'uint8 asymmetric per-tensor', quantized_weights: weights, quantized_tensors: plan.tensors.length,
        n_test: test.labels.length, top1_agreement: agreement, val_top1_agreement: val.labels.length ? compareLogits(val.fl, val.q, k).agreement : null, max_abs_prob_diff: maxAbsProbDiff,
        float_auc: floatAuc, int8_auc: mq.roc_auc ?? null, auc_drop: floatAuc !== null && mq.roc_auc !== undefined ? floatAuc - mq.roc_auc : null,
        ...(speed ? { speed } : {}),
      };
      const body = JSON.parse(metricsJson(mq, { classes: pre.classes, evaluatedOn: sourceName(cfg.data.source), seed: cfg.seed, params: metricParams(eo) })) as Record<string, unknown>;
      run.writeFile(INT8_METRICS, toJson({ ...body, model: INT8_MODEL, quantization: comparison }));
      return { ...written, comparison, metrics: mq };
    } finally {
      await int8.dispose();
    }
  } finally {
    await float.dispose();
  }
}

/**
 * A warning when the run's model.int8.onnx has full-range int8 weights (exported with `--reduce-range off`, or
 * `auto` on a CPU with VNNI) and this CPU's int8 kernels saturate them; undefined when it is safe here.
 */
export function int8SaturationWarning(runDir: string, maySaturate = int8MaySaturate()): string | undefined {
  if (!maySaturate) return undefined;
  const run = openRunDir(runDir);
  if (!hasFullRangeWeights(loadModel(run.modelBytes('int8')))) return undefined;
  return `${run.path(INT8_MODEL)} has full-range int8 weights and this x86 CPU has no VNNI: onnxruntime's int8 kernels can saturate them (outputs off the exported model's); re-export with medclass export --int8 --reduce-range on --run ${runDir}`;
}
