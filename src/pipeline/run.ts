import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from '../engine/index.js';
import { ParameterStore, Rng, loadCheckpoint, saveCheckpoint, saveModel } from '../engine/index.js';
import type { DataEvent, DatasetSource, SplitName } from '../data/index.js';
import { Dataset, assignSplits, tabularColumns, withBinnedSource, withDicomMeta } from '../data/index.js';
import { openRunSource } from './run-source.js';
import { TABULAR_INPUT, createBackbone, createModel } from '../models/index.js';
import type { EpochRecord, FitEvent, FitState, ImageSet, ResumeFrom } from '../train/index.js';
import { Predictor, TrunkCache, fit, loadWeights } from '../train/index.js';
import type { MetricsReport } from '../eval/index.js';
import { DISCLAIMER, evaluateRun } from '../eval/index.js';
import { RunConfig, type RunConfigInput } from './config.js';
import { monitorFor } from './monitors.js';
import { evaluatePhase, type PhaseMetrics } from './phase-metrics.js';
import { dataFingerprint, historyCsv, predictionsCsv, toJson, writeAtomic } from './run-files.js';
import { versions } from './versions.js';
import { attachTabular, metaColumns } from './tabular-run.js';

/** Events of a run: stages, data progress and skipped files, training progress. */
export type RunEvent = { type: 'stage'; stage: string; detail?: string } | DataEvent | FitEvent;

export interface RunOptions {
  /** Run directory (default `<out>/<name>`). */
  runDir?: string;
  /** Continue from `checkpoints/last.ckpt` in the run directory. */
  resume?: boolean;
  onEvent?: (e: RunEvent) => void;
  /** Polled after every batch; true stops cleanly after writing a checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Split per source item, overriding `data.split` (k-fold uses it). */
  splits?: (source: DatasetSource) => SplitName[];
}

/** What a finished (or interrupted) run reports; also written as summary.json. */
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
}

async function loadSplit(ds: Dataset, split: SplitName, cfg: RunConfig, onEvent: RunOptions['onEvent'], skipped: RunSummary['skipped']): Promise<ImageSet> {
  const indices = ds.indicesOf(split);
  const t0 = performance.now();
  const chunk = 512;
  const parts: Float32Array[] = [];
  const labels: number[] = [];
  const kept: number[] = [];
  let dims: number[] = [0, cfg.data.preprocess.channels, cfg.data.preprocess.size, cfg.data.preprocess.size];
  for (let s = 0; s < indices.length; s += chunk) {
    const b = await ds.loadBatch(indices.slice(s, s + chunk), cfg.data.preprocess, { concurrency: 4, ...(onEvent ? { onEvent } : {}) });
    parts.push(b.x.data);
    labels.push(...b.labels);
    kept.push(...b.indices);
    dims = [...b.x.dims];
    skipped.push(...b.skipped.map(({ file, code, reason }) => ({ file, code, reason })));
    onEvent?.({ type: 'progress', phase: `load ${split}`, done: Math.min(s + chunk, indices.length), total: indices.length, elapsedMs: performance.now() - t0 });
  }
  const per = dims[1]! * dims[2]! * dims[3]!;
  const x = new Float32Array(kept.length * per);
  let off = 0;
  for (const p of parts) { x.set(p, off); off += p.length; }
  return { x, dims: [kept.length, dims[1]!, dims[2]!, dims[3]!], labels: Int32Array.from(labels), indices: kept };
}

function backboneOptions(cfg: RunConfig, classes: number, tabularFeatures: number) {
  return {
    numClasses: classes, inChannels: cfg.data.preprocess.channels, tabularFeatures,
    ...(cfg.model.featureTensor ? { featureTensor: cfg.model.featureTensor } : {}),
    head: { kind: cfg.model.head, dropout: cfg.model.dropout },
  };
}

function buildNet(cfg: RunConfig, classes: number, rng: Rng, tabularFeatures: number): Network {
  const p = cfg.data.preprocess;
  if (cfg.model.arch === 'backbone') {
    if (!cfg.model.backbone) throw new Error("model.arch 'backbone' needs model.backbone (an ONNX file)");
    return createBackbone(cfg.model.backbone, { ...backboneOptions(cfg, classes, tabularFeatures), rng: rng.fork('init') });
  }
  return createModel(cfg.model.arch, { inChannels: p.channels, numClasses: classes, inputSize: p.size, dropout: cfg.model.dropout, width: cfg.model.width, tabularFeatures, rng: rng.fork('init') });
}

function weightStore(net: Network, weights?: ReadonlyMap<string, Float32Array>): ParameterStore {
  const s = new ParameterStore();
  for (const [n, d] of weights ?? new Map([...net.params, ...net.buffers])) s.add(n, d, net.shapes.get(n)!);
  return s;
}

/**
 * Runs one training job end to end and writes the run directory: data → splits → model → fit (checkpoint every
 * epoch, best weights kept) → `model.onnx`, `preprocess.json`, `history.csv`, `predictions.csv`, `metrics.json`,
 * `calibration.json`, `summary.json`. With `resume`, continues from `checkpoints/last.ckpt` to the same result as an
 * uninterrupted run with the same seed.
 */
export async function runTraining(input: RunConfigInput, opts: RunOptions = {}): Promise<RunSummary> {
  const t0 = performance.now();
  const cfg = RunConfig.parse(input);
  const runDir = opts.runDir ?? join(cfg.out, cfg.name);
  const emit = opts.onEvent;
  const root = new Rng(cfg.seed);
  emit?.({ type: 'stage', stage: 'data', detail: cfg.data.source });
  const opened = openRunSource(cfg.data.source, cfg.data);
  const source: DatasetSource = withBinnedSource(await withDicomMeta(opened, { tags: cfg.data.dicomMeta }), cfg.data.binned);
  if (source.groupPattern) emit?.({ type: 'stage', stage: 'groups', detail: `${source.groupPattern.groups} groups from file names; ${source.groupPattern.unmatched} file(s) unmatched` });
  const splits = opts.splits ? opts.splits(source) : assignSplits(source.items, { ...cfg.data.split, seed: cfg.seed });
  const ds = new Dataset(source, { splits, cacheTensors: false });
  const skipped: RunSummary['skipped'] = [];
  // Fusion: the tabular encoder is fitted on the loaded train rows only and encodes every split.
  const { train, val, test, encoder } = attachTabular(cfg, source, {
    train: await loadSplit(ds, 'train', cfg, emit, skipped),
    val: await loadSplit(ds, 'val', cfg, emit, skipped),
    test: await loadSplit(ds, 'test', cfg, emit, skipped),
  });
  const tabularFeatures = encoder?.features.length ?? 0;
  // Subgroup columns are checked now (an unknown one fails before training) and go to metrics.json and predictions.csv.
  const groups = cfg.eval.subgroups;
  const groupMeta = { val: metaColumns(source, val, groups), test: metaColumns(source, test, groups) };
  const classes = [...source.classes];
  const net = buildNet(cfg, classes.length, root, tabularFeatures);
  const monitor = monitorFor(cfg.fit.monitor);
  const ckptDir = join(runDir, 'checkpoints');
  const lastPath = join(ckptDir, 'last.ckpt');
  const bestPath = join(ckptDir, 'best.ckpt');
  mkdirSync(ckptDir, { recursive: true });

  let resume: ResumeFrom | undefined;
  if (opts.resume && existsSync(lastPath)) {
    const last = await loadCheckpoint(lastPath);
    loadWeights(net, new Map([...last.params].map(([n, v]) => [n, v.data])));
    const x = last.extra as { phase: number; history: EpochRecord[]; badEpochs: number; best?: { score: number; epoch: number; phase: number }; plateau?: ResumeFrom['plateau']; phaseEnd?: boolean };
    const bestW = x.best && existsSync(bestPath) ? await loadCheckpoint(bestPath) : undefined;
    resume = {
      phase: x.phase, epoch: last.epoch, step: last.step, history: x.history, badEpochs: x.badEpochs, ...(x.phaseEnd ? { phaseEnded: true } : {}),
      ...(last.optimizer ? { optimizer: last.optimizer } : {}), ...(x.plateau ? { plateau: x.plateau } : {}),
      ...(x.best && bestW ? { best: { ...x.best, params: new Map([...bestW.params].map(([n, v]) => [n, v.data])) } } : {}),
    };
    emit?.({ type: 'stage', stage: 'resume', detail: `phase ${x.phase + 1}, epoch ${last.epoch}` });
  }

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
      step: s.step, epoch: s.epoch, rngKey: root.key, params: weightStore(net), optimizer: s.optimizer.stateDict(),
      extra: { phase: s.phase, phaseEnd: s.phaseEnd, history: s.history, badEpochs: s.badEpochs, ...(s.best ? { best: { score: s.best.score, epoch: s.best.epoch, phase: s.best.phase } } : {}), ...(s.plateau ? { plateau: s.plateau } : {}) },
    });
    writeAtomic(join(runDir, 'history.csv'), historyCsv(s.history, monitor.name));
  };

  emit?.({ type: 'stage', stage: 'train', detail: `${net.name}: ${train.dims[0]} train / ${val.dims[0]} val images` });
  const result = await fit({
    net, train, val, options: cfg.fit, monitor, rng: root.fork('fit'), threads: cfg.threads,
    hooks: { onBatchEnd: () => (opts.shouldStop?.() ? 'stop' : undefined), onEpochEnd },
    ...(emit ? { onEvent: emit } : {}), ...(resume ? { resume } : {}),
    ...(cfg.fit.cacheTrunk && cfg.model.arch === 'backbone' && cfg.model.backbone ? {
      trunkCache: new TrunkCache(cfg.model.backbone, backboneOptions(cfg, classes.length, tabularFeatures), { augmentPasses: cfg.fit.cacheAugmentPasses, threads: cfg.threads, ...(emit ? { onEvent: emit } : {}) }),
    } : {}),
  });
  const counts = { train: train.dims[0], val: val.dims[0], test: test.dims[0] };
  const summary: RunSummary = {
    runDir, status: result.stopped, classes, counts, skipped, wallSeconds: (performance.now() - t0) / 1000,
    ...(result.best ? { bestEpoch: { phase: result.best.phase, epoch: result.best.epoch, score: result.best.score } } : {}),
    ...(phaseMetrics.length > 0 ? { phases: phaseMetrics } : {}),
  };
  const meta = {
    disclaimer: DISCLAIMER, name: cfg.name, seed: cfg.seed, config: cfg, versions: versions(), data: {
      source: cfg.data.source, fingerprint: dataFingerprint(source.items, splits), counts, classes, skipped: skipped.length,
      ...(source.groupPattern ? { groupPattern: source.groupPattern } : {}),
    },
  };
  if (result.stopped === 'interrupted') {
    writeAtomic(join(runDir, 'summary.json'), toJson({ ...meta, ...summary, metrics: undefined }));
    return summary;
  }
  if (result.best) loadWeights(net, result.best.params);

  emit?.({ type: 'stage', stage: 'evaluate' });
  writeAtomic(join(runDir, 'model.onnx'), saveModel(net.inferenceGraph()));
  writeAtomic(join(runDir, 'preprocess.json'), toJson({
    ...cfg.data.preprocess, classes, input: 'x', output: 'logits', inputDims: net.inputDims, disclaimer: DISCLAIMER,
    ...(encoder ? { tabularInput: TABULAR_INPUT, tabularFeatures, tabularColumns: tabularColumns(encoder) } : {}),
  }));
  if (encoder) writeAtomic(join(runDir, 'tabular.json'), toJson(encoder));
  const predictor = await Predictor.create(net, cfg.threads);
  let valLogits: Float32Array;
  let testLogits: Float32Array;
  try {
    valLogits = await predictor.logits(val, { tta: cfg.fit.tta });
    testLogits = await predictor.logits(test, { tta: cfg.fit.tta });
  } finally {
    await predictor.dispose();
  }
  const k = classes.length;
  const metrics = evaluateRun(
    { labels: val.labels, scores: Float64Array.from(valLogits), meta: groupMeta.val },
    { labels: test.labels, scores: Float64Array.from(testLogits), meta: groupMeta.test },
    k, { bootstrap: cfg.eval.bootstrap, alpha: cfg.eval.alpha, targetSensitivity: cfg.eval.targetSensitivity, classNames: classes, subgroups: groups }, root.fork('eval'),
  );
  const { val: valMetrics, ...testMetrics } = metrics;
  writeAtomic(join(runDir, 'metrics.json'), toJson({ disclaimer: DISCLAIMER, classes: classNamesOf(classes), test: testMetrics, val: valMetrics }));
  writeAtomic(join(runDir, 'calibration.json'), toJson({ temperature: metrics.temperature, ...(metrics.calibration ?? {}) }));
  const rowsOf = (set: ImageSet, logits: Float32Array, split: 'val' | 'test') => set.indices.map((idx, i) => ({
    split, id: source.items[idx]!.id, label: set.labels[i]!, logits: logits.subarray(i * k, (i + 1) * k),
    meta: Object.fromEntries(groups.map((c) => [c, groupMeta[split][c]![i]!])),
  }));
  writeAtomic(join(runDir, 'predictions.csv'), predictionsCsv([...rowsOf(val, valLogits, 'val'), ...rowsOf(test, testLogits, 'test')], k, groups));
  summary.metrics = metrics;
  summary.wallSeconds = (performance.now() - t0) / 1000;
  writeAtomic(join(runDir, 'summary.json'), toJson({ ...meta, ...summary, metrics: undefined, history: result.history }));
  return summary;
}

function classNamesOf(classes: readonly string[]): string[] {
  return [...classes];
}

/** Reads a run directory's summary.json. */
export function readSummary(runDir: string): unknown {
  return JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
}
