import { join } from 'node:path';
import type { DataStats, RecipeRequest } from './recipe.js';
import {
  chooseAugment, chooseScratchShape, epochsWithin, expectedTrainCount, maxSizeForMemory, scaleEpochSeconds, sizeCandidates, targetEpochs, trainingSeconds,
} from './recipe.js';
import { backboneConfig, scratchConfig, type RecipeTarget } from './recipe-config.js';
import { TUNE_DEPTHS, backboneEvaluateSeconds, backboneMaxEpochs, chooseBackbonePlan } from './recipe-backbone.js';
import { dataStats } from './recipe-stats.js';
import { probeBackbone, probeLoadSeconds, probeScratch } from './auto-train-probe.js';
import { openRunSource } from './run-source.js';
import { runTraining, type RunEvent, type RunSummary } from './run.js';
import { RUN_CONFIG_YAML, RunConfig, openRunDir, runConfigYaml, toJson } from '../run/index.js';

/** Options of `autoTrain`: the source, the budget and where the run goes. */
export interface AutoTrainOptions extends RecipeRequest, Omit<RecipeTarget, 'source'> {
  source: string;
  force?: boolean;
  onEvent?: (e: RunEvent) => void;
  shouldStop?: () => boolean;
}

/** What a recipe-chosen run reports: the run summary, the config it ran (also in config.yaml) and why. */
export interface AutoTrainResult {
  summary: RunSummary;
  config: RunConfig;
  /** The measurements and choices, as written to recipe.json. */
  recipe: Record<string, unknown>;
}

/** Seconds to decode and resize one image of the source (sharp on 2 cores; npz arrays are nearly free). */
const loadCost = (kind: string, side: number) => (kind === 'npz' ? 0.0002 : side > 400 ? 0.008 : 0.003);

/** What `trainCounts` counted: the source's train split, else everything outside its test split, else all images. */
const countsOf = (s: DataStats) => (s.sourceSplits.train > 0 ? 'train' : s.sourceSplits.test > 0 ? 'train + val' : 'all-image (before the split)');

/** Describes the recipe in a few lines, for config.yaml's header and the CLI. */
function describe(stats: DataStats, cfg: RunConfig, budget: number, extra: string): string[] {
  const f = cfg.fit;
  const a = f.augment;
  return [
    `Recipe chosen by medclass train SOURCE --budget ${budget} s from the data (train/val only; test untouched).`,
    `data: ${stats.classes.length} classes, ${countsOf(stats)} counts ${stats.trainCounts.join('/')}, median shorter side ${stats.medianSide} px, ${stats.colour ? 'colour' : 'grey'}; split ${cfg.data.split.mode}`,
    cfg.model.arch === 'backbone'
      ? `model: ${cfg.model.backbone} (cached trunk, ${f.cacheAugmentPasses} augmented passes), phases ${f.phases.map((p) => `${p.trainable} ${p.epochs} ep @ ${p.lr}`).join(' → ')}`
      : `model: ${cfg.model.arch} width ${cfg.model.width} at ${cfg.data.preprocess.size} px, ${f.epochs} epochs, batch ${f.batchSize}, AdamW one-cycle lr ${f.lr}`,
    `class weights ${f.classWeights}, monitor val ${f.monitor}, flips ${a.hflip ? 'h' : ''}${a.vflip ? 'v' : ''}${a.hflip || a.vflip ? '' : 'none'}, TTA ${f.tta}`,
    extra,
    'Re-run with: medclass train --config config.yaml --name <new name>',
  ];
}

/** config.yaml's account of the re-plans: the config is the plan; these say what actually ran. */
function replanLines(s: RunSummary): string[] {
  return (s.replans ?? []).map((r) => `re-planned: phase ${r.phase + 1} after epoch ${r.afterEpoch} (${r.epochSeconds.toFixed(1)} s/epoch measured, `
    + `${r.secondsLeft.toFixed(0)} s left): epochs ${r.from} → ${r.to}, the lr schedule's rest ${r.to < r.from ? 'compressed' : 'stretched'} to end at epoch ${r.to}`);
}

/**
 * `medclass train SOURCE --budget B [--backbone FILE]`: reads the data statistics, measures the training speed on
 * this machine (a few real training steps on random tensors), chooses a recipe (recipe.ts) that fits the budget,
 * writes it as `config.yaml` (complete, re-runnable) and `recipe.json` into the run directory and trains it with a
 * hard deadline (training stops and the best weights so far are evaluated when the budget nears its end).
 */
export async function autoTrain(o: AutoTrainOptions): Promise<AutoTrainResult> {
  const t0 = performance.now();
  const emit = o.onEvent;
  const elapsed = () => (performance.now() - t0) / 1000;
  emit?.({ type: 'stage', stage: 'recipe', detail: `reading ${o.source}` });
  const source = openRunSource(o.source, o.data);
  const stats = await dataStats(source, { seed: o.seed });
  const nAll = source.items.length;
  const nTrain = expectedTrainCount(stats);
  const nVal = Math.max(1, Math.round(stats.sourceSplits.val || 0.15 * nAll));
  const nTest = Math.max(1, nAll - nTrain - nVal);
  const load = nAll * loadCost(source.kind, stats.medianSide);
  const target: RecipeTarget = { source: o.source, name: o.name, out: o.out, seed: o.seed, threads: o.threads, ...(o.data ? { data: o.data } : {}) };
  const channels = stats.colour ? 3 : 1;
  let input;
  let maxEpochs: number; // the last phase may grow (the probe's few steps can overstate the epoch time) up to the recipe's own cap
  const measured: Record<string, unknown> = {};
  if (o.backbone) {
    emit?.({ type: 'stage', stage: 'recipe', detail: 'measuring the backbone: cache passes, head and tune steps' });
    const augment = chooseAugment(stats, o.flip, true);
    const loadSeconds = nAll * (await probeLoadSeconds(source.items));
    const costs = await probeBackbone({ backbone: o.backbone, channels, classes: stats.classes.length, threads: o.threads, augment, tunes: TUNE_DEPTHS });
    const evaluate = backboneEvaluateSeconds(nVal + nTest, costs, augment.hflip === true);
    const seconds = trainingSeconds(o.budgetSeconds, { load: loadSeconds, evaluate, probe: elapsed() });
    const plan = chooseBackbonePlan({ train: nTrain, val: nVal }, seconds, costs);
    Object.assign(measured, { probe: costs, loadSeconds, evaluateSeconds: evaluate, trainingSeconds: seconds, plan, firstEpochSeconds: plan.headSeconds });
    input = backboneConfig(target, stats, o, plan);
    maxEpochs = backboneMaxEpochs(plan);
  } else {
    const maxSize = maxSizeForMemory(nAll, channels);
    const cands = sizeCandidates(stats.medianSide, maxSize);
    // A cheap reference shape is measured, the candidates are scaled from it, and the chosen one is measured again.
    const ref = { size: Math.min(32, cands[0]!.size), width: 0.5 };
    const batch = nTrain < 1500 ? 32 : 64;
    const augment = chooseAugment(stats, o.flip, false);
    const probe = (c: { size: number; width: number }) => probeScratch({ arch: 'compact-resnet', ...c, channels, classes: stats.classes.length, batch, augment, threads: o.threads, batches: 5 });
    emit?.({ type: 'stage', stage: 'recipe', detail: `measuring a training step at ${ref.size} px` });
    const p1 = await probe(ref);
    const perEpoch = (spi: number) => spi * (nTrain + 0.35 * nVal);
    // inference ≈ a third of a training step per image, twice with flip TTA; then calibration and the bootstrap
    const evalCost = (spi: number) => (nVal + nTest) * spi * 0.35 * (augment.hflip ? 2 : 1) + 5;
    const spiOf = (c: { size: number; width: number }) => scaleEpochSeconds(p1.secondsPerImage, ref, c);
    const secondsFor = (spi: number, probeLeft: number) => trainingSeconds(o.budgetSeconds, { load, evaluate: evalCost(spi), probe: elapsed() + probeLeft });
    const shape = chooseScratchShape(stats.medianSide, nTrain, (c) => secondsFor(spiOf(c), 2 + 5 * batch * spiOf(c)), (c) => perEpoch(spiOf(c)), maxSize);
    let spi = spiOf(shape);
    if (shape.size !== ref.size || shape.width !== ref.width) {
      emit?.({ type: 'stage', stage: 'recipe', detail: `measuring a training step at ${shape.size} px, width ${shape.width}` });
      spi = (await probe(shape)).secondsPerImage;
    }
    shape.epochs = Math.min(Math.round(targetEpochs(nTrain) * 1.5), epochsWithin(secondsFor(spi, 0), perEpoch(spi))); // the measured step decides
    Object.assign(measured, {
      probeSecondsPerImage: { [`${ref.size}px/w${ref.width}`]: p1.secondsPerImage, [`${shape.size}px/w${shape.width}`]: spi },
      evaluateSeconds: evalCost(spi), trainingSeconds: secondsFor(spi, 0), targetEpochs: targetEpochs(nTrain), epochSeconds: perEpoch(spi), firstEpochSeconds: perEpoch(spi),
    });
    input = scratchConfig(target, stats, o, shape, 3e-3, nTrain);
    maxEpochs = Math.round(targetEpochs(nTrain) * 1.5);
  }
  const cfg = RunConfig.parse(input);
  const runDir = join(cfg.out, cfg.name);
  const recipe = { budgetSeconds: o.budgetSeconds, backbone: o.backbone ?? null, flip: o.flip, stats, expected: { train: nTrain, val: nVal, test: nTest, loadSeconds: load }, measured, chooseSeconds: elapsed() };
  const comments = describe(stats, cfg, o.budgetSeconds, `measured: ${JSON.stringify(measured)}`);
  emit?.({ type: 'stage', stage: 'recipe', detail: comments.slice(1, 4).join('; ') });
  // The deadline leaves time to evaluate, but never falls before the first epoch can end (untrained weights are no result).
  const stopAt = Math.max(o.budgetSeconds - Number(measured.evaluateSeconds) - 5, elapsed() + load + 1.5 * Number(measured.firstEpochSeconds));
  const summary = await runTraining(cfg, {
    runDir, force: o.force === true, deadline: t0 + stopAt * 1000,
    maxEpochs,
    ...(emit ? { onEvent: emit } : {}), ...(o.shouldStop ? { shouldStop: o.shouldStop } : {}),
  });
  const run = openRunDir(runDir);
  run.writeFile(RUN_CONFIG_YAML, runConfigYaml(cfg, [...comments, ...replanLines(summary)]));
  run.writeFile('recipe.json', toJson({ ...recipe, wallSeconds: elapsed() }));
  return { summary: { ...summary, wallSeconds: elapsed() }, config: cfg, recipe };
}
