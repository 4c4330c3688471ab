import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from '../engine/index.js';
import { ParameterStore, Rng, loadCheckpoint, saveCheckpoint, saveModel } from '../engine/index.js';
import type { DataEvent, DatasetSource, SplitName } from '../data/index.js';
import { Dataset, assignSplits, checkTrainable, normalizationTable, tabularColumns, groupSourcePhrase, withBinnedSource, withDicomMeta, withDicomPatientGroups } from '../data/index.js';
import { openRunSource } from './run-source.js';
import { TABULAR_INPUT, createBackbone, createModel, resolveHead } from '../models/index.js';
import type { EpochRecord, FitEvent, FitState, ImageSet, Replan, ResumeFrom } from '../train/index.js';
import { TrunkCache, checkClassLists, fit, loadWeights, lrFind, rowRange } from '../train/index.js';
import type { MetricsReport } from '../eval/index.js';
import { DISCLAIMER, evaluateRun } from '../eval/index.js';
import { MedclassError } from '../errors.js';
import {
  RunConfig, calibrationJson, configDifferences, createRunDir, dataFingerprint, filesBelow, historyCsv, metricParams, metricsJson, predictionsCsv,
  runEvalOptions, splitOptionsOf, sourceName, toJson, type RunConfigInput, type RunDir, type RunSplits,
} from '../run/index.js';
import { monitorFor } from './monitors.js';
import { RunModel } from './predict.js';
import { evaluatePhase, type PhaseMetrics } from './phase-metrics.js';
import { attachTabular, metaColumns } from './tabular-run.js';

/** Events of a run: stages, data progress and skipped files, training progress. */
export type RunEvent = { type: 'stage'; stage: string; detail?: string } | DataEvent | FitEvent;

export interface RunOptions {
  /** Run directory (default `<out>/<name>`). */
  runDir?: string;
  /** Continue the run recorded in the directory's run.json from `checkpoints/last.ckpt` (the config must match it). */
  resume?: boolean;
  /** Replace an existing run in the directory (its report, model card, explain/ and index/ files go too). */
  force?: boolean;
  /** k-fold: this run is fold `index` of `k` (recorded in run.json). */
  fold?: { index: number; k: number };
  /**
   * Testing: stop cleanly after this many batches, exactly as Ctrl-C (`shouldStop`) would — a deterministic
   * interruption point for resume tests (`medclass train --stop-after-batches N`).
   */
  stopAfterBatches?: number;
  onEvent?: (e: RunEvent) => void;
  /** Polled after every batch; true stops cleanly after writing a checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Split per source item, overriding `data.split` (k-fold uses it). */
  splits?: (source: DatasetSource) => SplitName[];
  /** Time budget: at this `performance.now()` (ms) training stops after the batch and the best weights so far are evaluated (status 'early'). */
  deadline?: number;
  /** With `deadline`: the last phase may grow up to this many epochs when its epochs run faster than planned. */
  maxEpochs?: number;
}

/** What a finished (or interrupted) run reports; also written as summary.json (run.json holds the same outcome). */
export interface RunSummary {
  runDir: string;
  status: 'done' | 'early' | 'interrupted';
  classes: string[];
  counts: Record<SplitName, number>;
  skipped: { file: string; code: string; reason: string }[];
  bestEpoch?: { phase: number; epoch: number; score: number };
  wallSeconds: number;
  metrics?: MetricsReport;
  /** With `eval.phaseMetrics`: val/test figures of the best weights at the end of each phase. */
  phases?: PhaseMetrics[];
  /** `fit.lrFind`: the range test's rates, smoothed losses and the peak lr it set. */
  lrFind?: { suggested: number; lrs: number[]; smoothedLosses: number[] };
  /** With a deadline: the last phase's re-plans (fewer epochs, schedule compressed) when its epochs ran slower than planned. */
  replans?: Replan[];
}

/** A split's images as preprocessed bytes (a quarter of float32's memory; rows are expanded as batches are read). */
async function loadSplit(ds: Dataset, split: SplitName, cfg: RunConfig, onEvent: RunOptions['onEvent'], skipped: RunSummary['skipped']): Promise<ImageSet> {
  const indices = ds.indicesOf(split);
  const t0 = performance.now();
  const chunk = 512;
  const pre = cfg.data.preprocess;
  const parts: Uint8Array[] = [];
  const labels: number[] = [];
  const kept: number[] = [];
  for (let s = 0; s < indices.length; s += chunk) {
    const b = await ds.loadBytes(indices.slice(s, s + chunk), pre, { concurrency: 4, ...(onEvent ? { onEvent } : {}) });
    parts.push(b.bytes);
    labels.push(...b.labels);
    kept.push(...b.indices);
    skipped.push(...b.skipped.map(({ file, code, reason }) => ({ file, code, reason })));
    onEvent?.({ type: 'progress', phase: `load ${split}`, done: Math.min(s + chunk, indices.length), total: indices.length, elapsedMs: performance.now() - t0 });
  }
  const data = new Uint8Array(kept.length * pre.channels * pre.size * pre.size);
  let off = 0;
  for (const p of parts) { data.set(p, off); off += p.length; }
  return {
    bytes: { data, table: normalizationTable(pre.normalize, pre.channels) },
    dims: [kept.length, pre.channels, pre.size, pre.size], labels: Int32Array.from(labels), indices: kept,
  };
}

function backboneOptions(cfg: RunConfig, classes: number, tabularFeatures: number) {
  return {
    numClasses: classes, inChannels: cfg.data.preprocess.channels, tabularFeatures,
    ...(cfg.model.featureTensor ? { featureTensor: cfg.model.featureTensor } : {}),
    head: resolveHead(cfg.model.head, cfg.model.dropout),
  };
}

/** The network of a run config (fresh weights from `rng.fork('init')`); MC-dropout rebuilds a trained run's with it. */
export function buildNet(cfg: RunConfig, classes: number, rng: Rng, tabularFeatures: number): Network {
  const p = cfg.data.preprocess;
  if (cfg.model.arch === 'backbone') {
    if (!cfg.model.backbone) throw new Error("model.arch 'backbone' needs model.backbone (an ONNX file)");
    return createBackbone(cfg.model.backbone, { ...backboneOptions(cfg, classes, tabularFeatures), rng: rng.fork('init') });
  }
  return createModel(cfg.model.arch, { inChannels: p.channels, numClasses: classes, inputSize: p.size, dropout: cfg.model.dropout, width: cfg.model.width, tabularFeatures, rng: rng.fork('init') });
}

/** Checkpoint names of `fit.ema`'s averaged weights (beside the raw ones in last.ckpt). */
const EMA_PREFIX = 'ema:';

function weightStore(net: Network, weights?: ReadonlyMap<string, Float32Array>, ema?: ReadonlyMap<string, Float32Array>): ParameterStore {
  const s = new ParameterStore();
  for (const [n, d] of weights ?? new Map([...net.params, ...net.buffers])) s.add(n, d, net.shapes.get(n)!);
  for (const [n, d] of ema ?? []) s.add(EMA_PREFIX + n, d, net.shapes.get(n)!);
  return s;
}

/** The split of every item id, in source order (run.json `splits`). */
function splitRecord(source: DatasetSource, splits: readonly SplitName[]): RunSplits {
  const r: RunSplits = { train: [], val: [], test: [] };
  source.items.forEach((it, i) => r[splits[i]!].push(it.id));
  return r;
}

/** Restores fit state from `checkpoints/last.ckpt` (and best.ckpt) so the run continues bit-exactly. */
async function resumeState(net: Network, lastPath: string, bestPath: string): Promise<ResumeFrom | undefined> {
  if (!existsSync(lastPath)) return undefined;
  const last = await loadCheckpoint(lastPath);
  loadWeights(net, new Map([...last.params].map(([n, v]) => [n, v.data])));
  const ema = new Map([...last.params].filter(([n]) => n.startsWith(EMA_PREFIX)).map(([n, v]) => [n.slice(EMA_PREFIX.length), v.data]));
  const x = last.extra as { phase: number; history: EpochRecord[]; badEpochs: number; best?: { score: number; epoch: number; phase: number }; plateau?: ResumeFrom['plateau']; phaseEnd?: boolean; replans?: Replan[] };
  const bestW = x.best && existsSync(bestPath) ? await loadCheckpoint(bestPath) : undefined;
  return {
    phase: x.phase, epoch: last.epoch, step: last.step, history: x.history, badEpochs: x.badEpochs, ...(x.phaseEnd ? { phaseEnded: true } : {}),
    ...(last.optimizer ? { optimizer: last.optimizer } : {}), ...(x.plateau ? { plateau: x.plateau } : {}), ...(ema.size ? { ema } : {}), ...(x.replans?.length ? { replans: x.replans } : {}),
    ...(x.best && bestW ? { best: { ...x.best, params: new Map([...bestW.params].map(([n, v]) => [n, v.data])) } } : {}),
  };
}

/** Prepares the run directory: refuses an existing run without resume/force, and a resume whose config differs. */
function prepareRunDir(runDir: string, cfg: RunConfig, opts: RunOptions): RunDir {
  const { run, previous } = createRunDir(runDir, cfg, { ...(opts.force ? { force: true } : {}), ...(opts.resume ? { resume: true } : {}), ...(opts.fold ? { fold: opts.fold } : {}) });
  const diff = previous ? configDifferences(previous.config, cfg) : [];
  if (diff.length) {
    throw new MedclassError('MC_RUN_RESUME_MISMATCH', `${runDir}: the config differs from the one in run.json at ${diff.slice(0, 6).join(', ')}${diff.length > 6 ? ', …' : ''}`, {
      file: 'run.json', hint: `resume with medclass train --resume ${runDir} and no other options (the config comes from run.json)`,
    });
  }
  return run;
}

/**
 * Runs one training job end to end and writes the run directory through the run layer: run.json (status running →
 * interrupted/done, config, splits of every item, files with SHA-256), data → splits → model → fit (checkpoint every
 * epoch, best weights kept) → `model.onnx`, `preprocess.json`, `history.csv`, `predictions.csv`, `metrics.json`,
 * `calibration.json`, `summary.json`. An existing run directory is refused (`MC_RUN_EXISTS`) unless `force` or
 * `resume`; with `resume`, continues from `checkpoints/last.ckpt` to the same result as an uninterrupted run.
 */
export async function runTraining(input: RunConfigInput, opts: RunOptions = {}): Promise<RunSummary> {
  const t0 = performance.now();
  const cfg = RunConfig.parse(input);
  const runDir = opts.runDir ?? join(cfg.out, cfg.name);
  const run = prepareRunDir(runDir, cfg, opts);
  try {
    return await trainInto(run, runDir, cfg, opts, t0);
  } catch (e) {
    // refused data (one class, a guard, a bad path) must not leave a run that only --force can replace
    if (!opts.resume) run.discardIfUntrained();
    throw e;
  }
}

async function trainInto(run: RunDir, runDir: string, cfg: RunConfig, opts: RunOptions, t0: number): Promise<RunSummary> {
  const emit = opts.onEvent;
  const root = new Rng(cfg.seed);
  emit?.({ type: 'stage', stage: 'data', detail: cfg.data.source });
  const opened = openRunSource(cfg.data.source, cfg.data);
  // DICOM files are grouped by their (digested) PatientID unless a CSV group column or a group pattern decides.
  const source: DatasetSource = withBinnedSource(await withDicomMeta(await withDicomPatientGroups(opened), { tags: cfg.data.dicomMeta }), cfg.data.binned);
  monitorFor(cfg.fit.monitor, source.classes); // a per-class monitor naming no class fails before the images load
  checkClassLists(cfg.fit, source.classes.length); // so is a class-weight or focal α list of the wrong length
  if (source.groupPattern) emit?.({ type: 'stage', stage: 'groups', detail: `${source.groupPattern.groups} groups from file names; ${source.groupPattern.unmatched} file(s) unmatched` });
  if (source.groupColumn?.detected) emit?.({ type: 'stage', stage: 'groups', detail: `${new Set(source.items.flatMap((it) => (it.group === undefined ? [] : [it.group]))).size} groups from ${groupSourcePhrase(source.groupColumn)}, each kept in one split${cfg.data.split.byGroup ? '' : ' — but data.split.byGroup is false: ignored'}` });
  const drawn = () => assignSplits(source.items, splitOptionsOf(cfg));
  // a resumed run keeps the splits run.json records (a run from before data.split.seed drew them with the run seed)
  const splits = opts.splits ? opts.splits(source) : opts.resume && run.hasManifest && run.manifest.splits ? run.splitsFor(source, drawn).splits : drawn();
  const fingerprint = dataFingerprint(source.items, splits);
  const recorded = run.manifest.data?.fingerprint;
  if (opts.resume && recorded && recorded !== fingerprint) {
    throw new MedclassError('MC_RUN_RESUME_MISMATCH', `${runDir}: the data (ids, labels or splits) differ from those recorded in run.json`, { file: 'run.json', hint: 'resume on the same data, or start a new run' });
  }
  const ds = new Dataset(source, { splits, cacheTensors: false });
  const skipped: RunSummary['skipped'] = [];
  // Fusion: the tabular encoder is fitted on the loaded train rows only and encodes every split.
  const { train, val, test, encoder } = attachTabular(cfg, source, {
    train: await loadSplit(ds, 'train', cfg, emit, skipped),
    val: await loadSplit(ds, 'val', cfg, emit, skipped),
    test: await loadSplit(ds, 'test', cfg, emit, skipped),
  });
  checkTrainable(source.classes, { train, val }); // one class, < 2 train or < 1 val image per class: a coded stop, not NaN metrics
  const tabularFeatures = encoder?.features.length ?? 0;
  // Subgroup columns are checked now (an unknown one fails before training) and go to metrics.json and predictions.csv.
  const groups = cfg.eval.subgroups;
  const groupMeta = { val: metaColumns(source, val, groups), test: metaColumns(source, test, groups) };
  const classes = [...source.classes];
  const counts = { train: train.dims[0], val: val.dims[0], test: test.dims[0] };
  const data = { source: cfg.data.source, fingerprint, counts, skipped, ...(source.groupPattern ? { groupPattern: { ...source.groupPattern } } : {}),
    ...(source.groupColumn ? { groupColumn: { ...source.groupColumn } } : {}) };
  run.update({ classes, data, splits: splitRecord(source, splits) });
  const net = buildNet(cfg, classes.length, root, tabularFeatures);
  const monitor = monitorFor(cfg.fit.monitor, classes);
  const lastPath = run.path('checkpoints/last.ckpt');
  const bestPath = run.path('checkpoints/best.ckpt');
  mkdirSync(run.path('checkpoints'), { recursive: true });

  // The range test runs on the fresh weights (also when resuming, so the resumed run gets the same rate).
  const found = cfg.fit.lrFind && cfg.fit.phases.length === 0
    ? await lrFind({ net, train, options: cfg.fit, rng: root.fork('lr-find'), ...(cfg.threads ? { threads: cfg.threads } : {}) }) : undefined;
  if (found) emit?.({ type: 'stage', stage: 'lr-find', detail: `suggested lr ${found.suggested.toPrecision(3)} (${found.losses.length} steps)` });
  const fitOptions = found ? { ...cfg.fit, lr: found.suggested } : cfg.fit;
  const resume = opts.resume ? await resumeState(net, lastPath, bestPath) : undefined;
  if (resume) emit?.({ type: 'stage', stage: 'resume', detail: `phase ${resume.phase + 1}, epoch ${resume.epoch}` });

  let lastBestEpoch = resume?.best ? `${resume.best.phase}/${resume.best.epoch}` : '';
  const phaseMetrics: PhaseMetrics[] = [];
  const onEpochEnd = async (s: FitState): Promise<void> => {
    if (cfg.eval.phaseMetrics && s.phaseEnd) { // the phase's last epoch, or early stopping ended it
      const pm = await evaluatePhase(net, s, { val, test }, cfg, classes, root.fork(`phase${s.phase}/eval`));
      if (pm) phaseMetrics.push(pm);
    }
    const bestKey = s.best ? `${s.best.phase}/${s.best.epoch}` : '';
    if (s.best && bestKey !== lastBestEpoch) {
      await saveCheckpoint(bestPath, { step: s.step, epoch: s.best.epoch, rngKey: root.key, params: weightStore(net, s.best.params) });
      lastBestEpoch = bestKey;
    }
    await saveCheckpoint(lastPath, {
      step: s.step, epoch: s.epoch, rngKey: root.key, params: weightStore(net, undefined, s.ema), optimizer: s.optimizer.stateDict(),
      extra: { phase: s.phase, phaseEnd: s.phaseEnd, history: s.history, badEpochs: s.badEpochs, ...(s.best ? { best: { score: s.best.score, epoch: s.best.epoch, phase: s.best.phase } } : {}), ...(s.plateau ? { plateau: s.plateau } : {}), ...(s.replans.length ? { replans: s.replans } : {}) },
    });
    run.writeFile('history.csv', historyCsv(s.history, monitor.name));
  };

  let batches = 0;
  let pastDeadline = false;
  const shouldStop = () => opts.shouldStop?.() === true || (opts.stopAfterBatches !== undefined && ++batches >= opts.stopAfterBatches)
    || (pastDeadline = opts.deadline !== undefined && performance.now() >= opts.deadline);
  emit?.({ type: 'stage', stage: 'train', detail: `${net.name}: ${train.dims[0]} train / ${val.dims[0]} val images` });
  const result = await fit({
    net, train, val, options: fitOptions, monitor, rng: root.fork('fit'), threads: cfg.threads,
    hooks: { onBatchEnd: () => (shouldStop() ? 'stop' : undefined), onEpochEnd },
    ...(emit ? { onEvent: emit } : {}), ...(resume ? { resume } : {}), ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
    ...(opts.maxEpochs !== undefined ? { maxEpochs: opts.maxEpochs } : {}),
    ...(cfg.fit.cacheTrunk && cfg.model.arch === 'backbone' && cfg.model.backbone ? {
      trunkCache: new TrunkCache(cfg.model.backbone, backboneOptions(cfg, classes.length, tabularFeatures), { augmentPasses: cfg.fit.cacheAugmentPasses, threads: cfg.threads, ...(emit ? { onEvent: emit } : {}) }),
    } : {}),
  });
  if (pastDeadline && result.stopped === 'interrupted') result.stopped = 'early'; // the budget ran out: evaluate what was trained
  const summary: RunSummary = {
    runDir, status: result.stopped, classes, counts, skipped, wallSeconds: (performance.now() - t0) / 1000,
    ...(result.best ? { bestEpoch: { phase: result.best.phase, epoch: result.best.epoch, score: result.best.score } } : {}),
    ...(phaseMetrics.length > 0 ? { phases: phaseMetrics } : {}),
    ...(found ? { lrFind: { suggested: found.suggested, lrs: found.lrs, smoothedLosses: found.smoothed } } : {}),
    ...(result.replans.length > 0 ? { replans: result.replans } : {}),
  };
  const meta = { disclaimer: DISCLAIMER, name: cfg.name, seed: cfg.seed, config: cfg, versions: run.manifest.versions, data: { ...data, skipped: skipped.length } };
  const finish = (status: 'interrupted' | 'done', extra: Record<string, unknown>) => {
    run.writeFile('summary.json', toJson({ ...meta, ...summary, metrics: undefined, ...extra }));
    run.record(filesBelow(run, 'checkpoints'));
    const best = summary.bestEpoch ? { ...summary.bestEpoch, score: Number.isFinite(summary.bestEpoch.score) ? summary.bestEpoch.score : null } : undefined;
    run.update({ status, outcome: { stopped: result.stopped, ...(best ? { bestEpoch: best } : {}), wallSeconds: summary.wallSeconds, ...(summary.phases ? { phases: JSON.parse(toJson(summary.phases)) } : {}) } });
  };
  if (result.stopped === 'interrupted') {
    finish('interrupted', {});
    return summary;
  }
  if (result.best) loadWeights(net, result.best.params);

  emit?.({ type: 'stage', stage: 'evaluate' });
  run.writeFile('model.onnx', saveModel(net.inferenceGraph()));
  run.writeFile('preprocess.json', toJson({
    ...cfg.data.preprocess, classes, input: 'x', output: 'logits', inputDims: net.inputDims, disclaimer: DISCLAIMER,
    ...(encoder ? { tabularInput: TABULAR_INPUT, tabularFeatures, tabularColumns: tabularColumns(encoder) } : {}),
  }));
  if (encoder) run.writeFile('tabular.json', toJson(encoder));
  // val/test logits from the written model.onnx, through the session `predict`, `serve` and `eval --data` use:
  // predictions.csv holds exactly what the shipped model gives for these images.
  const model = await RunModel.open(runDir, { threads: cfg.threads });
  let valLogits: Float32Array;
  let testLogits: Float32Array;
  try {
    // in chunks of 512 images (a multiple of the model's batch of 32): rows are expanded from bytes a chunk at a time
    const logitsOf = async (s: ImageSet) => {
      const n = s.dims[0], k = classes.length, f = s.tabular?.features ?? 0, chunk = 512;
      const out = new Float32Array(n * k);
      for (let i = 0; i < n; i += chunk) {
        const m = Math.min(chunk, n - i);
        out.set(await model.logits(rowRange(s, i, m), m, { tta: cfg.fit.tta, ...(s.tabular ? { tab: s.tabular.data.subarray(i * f, (i + m) * f) } : {}) }), i * k);
      }
      return out;
    };
    valLogits = await logitsOf(val);
    testLogits = await logitsOf(test);
  } finally {
    await model.dispose();
  }
  const k = classes.length;
  const eo = runEvalOptions(cfg.eval, classes);
  const metrics = evaluateRun(
    { labels: val.labels, scores: Float64Array.from(valLogits), meta: groupMeta.val },
    { labels: test.labels, scores: Float64Array.from(testLogits), meta: groupMeta.test },
    k, eo, root.fork('eval'),
  );
  run.writeFile('metrics.json', metricsJson(metrics, { classes, evaluatedOn: sourceName(cfg.data.source), seed: cfg.seed, params: metricParams(eo) }));
  run.writeFile('calibration.json', calibrationJson(metrics));
  const rowsOf = (set: ImageSet, logits: Float32Array, split: 'val' | 'test') => set.indices.map((idx, i) => ({
    split, id: source.items[idx]!.id, label: set.labels[i]!, logits: logits.subarray(i * k, (i + 1) * k),
    meta: Object.fromEntries(groups.map((c) => [c, groupMeta[split][c]![i]!])),
  }));
  run.writeFile('predictions.csv', predictionsCsv([...rowsOf(val, valLogits, 'val'), ...rowsOf(test, testLogits, 'test')], k, groups, { classes, temperature: metrics.temperature }));
  summary.metrics = metrics;
  summary.wallSeconds = (performance.now() - t0) / 1000;
  finish('done', { history: result.history });
  return summary;
}
