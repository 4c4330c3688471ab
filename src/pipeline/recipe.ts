import { MedclassError } from '../errors.js';

/** What the recipe is chosen from: counts and image properties of a source, read without the test labels' scores. */
export interface DataStats {
  /** Class names (index = label). */
  classes: string[];
  /** Items per split the source brings (0 where it has none). */
  sourceSplits: { train: number; val: number; test: number };
  /** Items per class over the source's train split (over everything when it has none). */
  trainCounts: number[];
  /** Items with a patient/lesion group. */
  grouped: number;
  /** Median of the shorter side of sampled images, pixels. */
  medianSide: number;
  /** Most sampled images have colour (RGB with channels that differ). */
  colour: boolean;
}

/** How a recipe is asked for: the wall-time budget and whether to fine-tune a backbone. */
export interface RecipeRequest {
  /** Whole run, data to metrics, in seconds. */
  budgetSeconds: number;
  /** ONNX backbone file (ImageNet-pretrained) to fine-tune instead of training from scratch. */
  backbone?: string;
  /** Flips: `auto` (RGB: horizontal + vertical; grey: none, as laterality may matter), or forced. */
  flip: 'auto' | 'none' | 'h' | 'hv';
}

/** Parses a budget such as `15m`, `90s`, `1h`, `1m30s` or plain seconds into seconds. */
export function parseBudget(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(t);
  if (!m || t === '' || !(m[1] || m[2] || m[3])) {
    throw new MedclassError('MC_CLI_BAD_OPTION', `--budget: expected a duration such as 15m, 90s or 1h, got '${text}'`);
  }
  const s = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  if (!(s > 0)) throw new MedclassError('MC_CLI_BAD_OPTION', `--budget: must be positive, got '${text}'`);
  return s;
}

/** Largest over smallest train class count (∞ when a class is empty). */
export function imbalanceRatio(counts: readonly number[]): number {
  const lo = Math.min(...counts);
  return lo === 0 ? Infinity : Math.max(...counts) / lo;
}

/** How splits are made: keep a full source split; carve val out of train when only train/test exist; else stratify. */
export function chooseSplit(s: DataStats): { mode: 'keep' | 'merge-train-val' | 'stratified'; valFraction?: number } {
  const { train, val, test } = s.sourceSplits;
  if (train > 0 && val > 0 && test > 0) return { mode: 'keep' };
  if (train > 0 && test > 0) return { mode: 'merge-train-val', valFraction: 0.15 };
  return { mode: 'stratified' };
}

/** Train images the run will have after `chooseSplit` (for epoch planning). */
export function expectedTrainCount(s: DataStats): number {
  const all = s.sourceSplits.train + s.sourceSplits.val + s.sourceSplits.test;
  const mode = chooseSplit(s).mode;
  if (mode === 'keep') return s.sourceSplits.train;
  if (mode === 'merge-train-val') return Math.round(0.85 * (s.sourceSplits.train + s.sourceSplits.val));
  return Math.round(0.7 * (all || s.trainCounts.reduce((a, b) => a + b, 0)));
}

/** Epochs a from-scratch run should reach: ~40 at 1,000 train images, more for smaller sets, fewer for larger (10–60). */
export function targetEpochs(nTrain: number): number {
  return Math.max(10, Math.min(60, Math.round(40 * Math.sqrt(1000 / Math.max(1, nTrain)))));
}

/**
 * Candidate (input size, width) pairs from the most to the least capacity, for images whose shorter side is `side`:
 * small images keep their size and vary the width; larger ones try 192…32 px (from 96 px the net has the strided
 * ImageNet stem, so 128 px costs less than 64 px with the 3×3 stem), never above `maxSize` (memory for the tensors).
 * Every size offers widths 1.5/1/0.5, so a modest budget buys resolution before width (HAM10000 at 15 min: 96 px at
 * width 0.5, measured 2.1× the 32 px step, instead of 32 px).
 */
export function sizeCandidates(side: number, maxSize = Infinity): { size: number; width: number }[] {
  if (side <= 32) return [2, 1.5, 1, 0.75, 0.5].map((width) => ({ size: Math.max(16, side), width }));
  const sizes = [192, 160, 128, 96, 64, 48, 32].filter((z) => z <= Math.max(32, Math.min(side, maxSize)));
  return sizes.flatMap((size) => [1.5, 1, 0.5].map((width) => ({ size, width })));
}

/** Largest input side whose float32 tensors for `items` images of `channels` channels fit `bytes` (default 1.5 GB). */
export function maxSizeForMemory(items: number, channels: number, bytes = 1.5e9): number {
  return Math.floor(Math.sqrt(bytes / (4 * channels * Math.max(1, items))));
}

/**
 * Cost in seconds of one from-scratch epoch at (size, width), scaled from a measured one at (size0, width0): the
 * conv cost grows with the pixels and about width^1.5 on this CPU (small layers do not use the cores fully). From
 * 96 px the strided stem cuts the work 16× and its 7×7 conv and max-pool add some back: `medclass bench train --arch
 * compact-resnet --width 0.5 --batch 64 --size S` (AMD EPYC, idle) gave 1.29 / 2.28 / 4.06 / 5.73× the 32 px step at
 * 96 / 128 / 160 / 192 px; the factor 2.4 gives 1.35 / 2.4 / 3.75 / 5.4×.
 */
export function scaleEpochSeconds(measured: number, from: { size: number; width: number }, to: { size: number; width: number }): number {
  const px = (z: number) => (z >= 96 ? (z / 4) ** 2 * 2.4 : z * z);
  return measured * (px(to.size) / px(from.size)) * (to.width / from.width) ** 1.5;
}

/**
 * Seconds planned for training: the budget less data loading, evaluation (TTA, bootstrap) and the probes, times 0.9
 * (the machine may be shared: a cut by the deadline stops a one-cycle schedule before its low-rate end).
 */
export function trainingSeconds(budget: number, overhead: { load: number; evaluate: number; probe: number }): number {
  return Math.max(0, 0.9 * (budget - overhead.load - overhead.evaluate - overhead.probe));
}

/** Whole epochs that fit `seconds` at `epochSeconds` each (at least 1). */
export function epochsWithin(seconds: number, epochSeconds: number): number {
  return Math.max(1, Math.floor(seconds / Math.max(1e-6, epochSeconds)));
}

/**
 * Picks the from-scratch size and width: the first candidate (most capacity) reaching `targetEpochs` in the
 * training time (a number, or per candidate when its evaluation costs differ), else the cheapest one; `epochSeconds`
 * estimates one epoch (train + val) of a candidate.
 */
export function chooseScratchShape(side: number, nTrain: number, seconds: number | ((c: { size: number; width: number }) => number),
  epochSeconds: (c: { size: number; width: number }) => number, maxSize = Infinity): { size: number; width: number; epochs: number } {
  const want = targetEpochs(nTrain);
  const cands = sizeCandidates(side, maxSize);
  const time = typeof seconds === 'number' ? () => seconds : seconds; // training time left once this candidate's evaluation is paid
  for (const c of cands) {
    const e = epochsWithin(time(c), epochSeconds(c));
    if (e >= want) return { ...c, epochs: Math.min(e, Math.round(want * 1.5)) };
  }
  const c = cands.at(-1)!;
  return { ...c, epochs: Math.min(epochsWithin(time(c), epochSeconds(c)), want) };
}

/** Train-only augmentation for the modality: colour photos (dermoscopy, fundus) rotate and flip; grey scans shift and zoom, no flips unless asked. */
export function chooseAugment(s: DataStats, flip: RecipeRequest['flip'], backbone: boolean): Record<string, unknown> {
  const f = flip === 'auto' ? (s.colour ? 'hv' : 'none') : flip;
  const flips = { hflip: f === 'h' || f === 'hv', vflip: f === 'hv' };
  if (backbone) {
    return { ...flips, rotate: s.colour ? 15 : 7, translate: 0.06, zoom: [0.95, 1.3], brightness: 0.1, contrast: 0.2, aspect: [0.8, 1.25], erase: 0.25 };
  }
  return s.colour
    ? { ...flips, rotate: 15, translate: 0.05, zoom: 0.1, brightness: 0.05, contrast: 0.1 }
    : { ...flips, rotate: 7, translate: 0.07, zoom: 0.1, brightness: 0.1, contrast: 0.2 };
}

/**
 * Imbalance above which the class weights are the square roots of N/(C·n_c): full weights at HAM10000's 58× made the
 * minority rows dominate (val, one config changed only in its weights: backbone 5m accuracy 0.577 vs the square
 * roots' 0.750, macro-AUC 0.872 vs 0.912; from scratch, 96 px, 14 epochs: 0.583 vs 0.758, 0.897 vs 0.932, balanced
 * accuracy equal), while at BreastMNIST's 2.7× the full weights did as well or better (val AUC 0.963 vs 0.960).
 * 10 lies between, on a log scale.
 */
export const SQRT_WEIGHTS_ABOVE = 10;

/** Class weights N/(C·n_c) when the largest train class is over 1.5× the smallest, their square roots above SQRT_WEIGHTS_ABOVE×. */
export function chooseClassWeights(s: DataStats): 'auto' | 'sqrt' | 'none' {
  const r = imbalanceRatio(s.trainCounts);
  return r > SQRT_WEIGHTS_ABOVE ? 'sqrt' : r > 1.5 ? 'auto' : 'none';
}

/** Validation monitor: AUC for two classes or imbalanced multi-class, accuracy for roughly balanced multi-class. */
export function chooseMonitor(s: DataStats): 'auc' | 'accuracy' {
  return s.classes.length === 2 || imbalanceRatio(s.trainCounts) > 3 ? 'auc' : 'accuracy';
}
