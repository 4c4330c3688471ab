import type { RunConfigInput } from '../run/index.js';
import type { RunDataSpec } from './run-source.js';
import type { DataStats, RecipeRequest } from './recipe.js';
import { chooseAugment, chooseClassWeights, chooseMonitor, chooseSplit } from './recipe.js';
import type { BackbonePlan } from './recipe-backbone.js';

/** Where the run's data come from and where it is written (the parts of a config that the recipe does not choose). */
export interface RecipeTarget {
  source: string;
  name: string;
  out: string;
  seed: number;
  threads: number;
  /** Extra `data` fields kept as given (csv mapping, groupPattern, guard). */
  data?: RunDataSpec;
}

/** A from-scratch shape: input size, width multiplier and epochs of the `compact-resnet`. */
export interface ScratchShape { size: number; width: number; epochs: number }

const common = (t: RecipeTarget) => ({
  name: t.name, out: t.out, seed: t.seed, threads: t.threads,
});

/** Early stopping and best-epoch settings for `epochs` epochs: patience 40 %, no best before 30 % (noisy small val sets). */
export function stoppingFor(epochs: number): { patience: number; minEpochs: number } {
  return { patience: Math.max(4, Math.ceil(0.4 * epochs)), minEpochs: Math.floor(0.3 * epochs) };
}

/**
 * EMA decay of the from-scratch recipe, chosen on dev val only (BreastMNIST, its recipe config for 50 epochs: best val
 * AUC 0.9616 → 0.9666, acc 0.8846 → 0.9359). Below ~900 steps the warm-up (1+t)/(10+t) sets the decay, not this value.
 */
export const SCRATCH_EMA = 0.998;

/**
 * The from-scratch run config: `compact-resnet` at the chosen size and width, AdamW one-cycle (lr from the range
 * test), label smoothing 0.05, dropout by data size, class weights by imbalance, augmentation by modality, flip TTA
 * when flips are on, early stopping on val, EMA of the weights (`SCRATCH_EMA`).
 */
export function scratchConfig(t: RecipeTarget, s: DataStats, req: RecipeRequest, shape: ScratchShape, lr: number, nTrain: number): RunConfigInput {
  const augment = chooseAugment(s, req.flip, false) as { hflip: boolean };
  return {
    ...common(t),
    data: {
      ...t.data, source: t.source,
      preprocess: { size: shape.size, channels: s.colour ? 3 : 1, fit: 'squash', normalize: 'half' },
      split: chooseSplit(s),
    },
    model: { arch: 'compact-resnet', width: shape.width, dropout: nTrain < 1500 ? 0.2 : 0.1 },
    fit: {
      epochs: shape.epochs, batchSize: nTrain < 1500 ? 32 : 64, optimizer: 'adamw', lr: round(lr), weightDecay: 5e-4, schedule: 'onecycle', warmup: 0.2,
      classWeights: chooseClassWeights(s), labelSmoothing: 0.05, augment, monitor: chooseMonitor(s), ...stoppingFor(shape.epochs), tta: augment.hflip,
      ema: SCRATCH_EMA,
    },
  };
}

/**
 * The backbone run config, after `examples/chest-xray-mobilenetv2.yaml`: 224 px, cached trunk, a head phase then the
 * plan's tune phase (none when it has 0 epochs), linear head with dropout 0.2, class weights by imbalance,
 * augmentation by modality, flip TTA when flips are on, the best val epoch from half the head phase on.
 */
export function backboneConfig(t: RecipeTarget, s: DataStats, req: RecipeRequest, plan: BackbonePlan): RunConfigInput {
  const augment = chooseAugment(s, req.flip, true) as { hflip: boolean };
  return {
    ...common(t),
    data: { ...t.data, source: t.source, preprocess: { size: 224, channels: s.colour ? 3 : 1, fit: 'squash', normalize: 'half' }, split: chooseSplit(s) },
    model: { arch: 'backbone', backbone: req.backbone!, head: 'linear', dropout: 0.2 },
    fit: {
      batchSize: 32, classWeights: chooseClassWeights(s), cacheTrunk: true, cacheAugmentPasses: plan.passes, augment, monitor: chooseMonitor(s),
      labelSmoothing: 0.05, tta: augment.hflip, minEpochs: Math.floor(0.5 * plan.headEpochs),
      phases: [
        { epochs: plan.headEpochs, lr: plan.headLr, trainable: 'head' },
        ...(plan.tuneEpochs > 0 ? [{ epochs: plan.tuneEpochs, lr: plan.tuneLr, trainable: plan.tuneTrainable }] : []),
      ],
    },
  };
}

/** Rounds a learning rate to two significant digits (so the written config reads cleanly). */
function round(x: number): number {
  return Number(x.toPrecision(2));
}
