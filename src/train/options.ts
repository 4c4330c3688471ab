import { z } from 'zod';

/** Seeded, train-only augmentation. */
export const AugmentOptions = z.strictObject({
  hflip: z.boolean().default(false).describe('random horizontal flip (p = 0.5)'),
  vflip: z.boolean().default(false).describe('random vertical flip (p = 0.5)'),
  rotate: z.number().min(0).max(180).default(0).describe('max rotation in degrees'),
  translate: z.number().min(0).max(0.5).default(0).describe('max shift as a fraction of the image size'),
  zoom: z.union([
    z.number().min(0).max(0.5),
    z.tuple([z.number().gt(0), z.number().gt(0)]).refine(([lo, hi]) => lo <= hi, 'zoom range must be [min, max] with min ≤ max'),
  ]).default(0).describe('zoom: max deviation z (scale in [1-z, 1+z]) or a scale range [min, max]; scale > 1 zooms in'),
  brightness: z.number().min(0).max(1).default(0).describe('max additive brightness shift on [0,1] pixels'),
  contrast: z.number().min(0).max(1).default(0).describe('max contrast deviation (factor in [1-c, 1+c])'),
  aspect: z.tuple([z.number().gt(0), z.number().gt(0)]).refine(([lo, hi]) => lo <= hi, 'aspect range must be [min, max] with min ≤ max').default([1, 1])
    .describe('aspect-ratio stretch [min, max], log-uniform (torchvision RandomResizedCrop uses [3/4, 4/3]); > 1 widens'),
  sharpness: z.number().min(0).max(1).default(0).describe('max sharpness deviation: factor in [1-s, 1+s] blending with a σ = 1 px Gaussian blur (0 blurs, > 1 sharpens)'),
  erase: z.number().min(0).max(1).default(0).describe('random erasing: probability of blanking one rectangle (2–33 % of the area, aspect 0.3–3.3) to the normalised zero'),
});
export type AugmentOptions = z.output<typeof AugmentOptions>;

/** One training phase: which parameters train, for how long, at what learning rate. */
export const PhaseOptions = z.strictObject({
  epochs: z.number().int().positive().describe('epochs in this phase'),
  lr: z.number().positive().describe('peak learning rate in this phase'),
  trainable: z.string().default('all').describe("'all', 'head', or 'last:N' (the last N conv blocks plus the head)"),
});
export type PhaseOptions = z.output<typeof PhaseOptions>;

/** The training loss: softmax cross-entropy (PyTorch semantics), or the focal loss of Lin et al. 2017. */
export const LossOptions = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('cross-entropy').describe('softmax cross-entropy (classWeights, labelSmoothing apply)') }),
  z.strictObject({
    kind: z.literal('focal').describe('softmax focal loss: mean of Σ_c t_c·α_c·(1 − p_c)^γ·(−log p_c) (Lin et al. 2017, eq. 5)'),
    gamma: z.number().min(0).max(10).default(2).describe('focusing parameter γ (0 = α-weighted cross-entropy)'),
    alpha: z.array(z.number().positive()).optional().describe('one α per class (default: classWeights when set, else 1 each); labelSmoothing does not apply'),
  }),
]);
export type LossOptions = z.output<typeof LossOptions>;

/** Names `fit.monitor` accepts: a metric, or a per-class one naming a class of the data. */
export const MONITOR_PATTERN = /^(auc|loss|balanced_accuracy|accuracy|average_precision|(sensitivity|specificity):.+)$/;

/** Everything about fitting: optimiser, schedule, imbalance handling, augmentation, stopping. */
export const FitOptions = z.strictObject({
  epochs: z.number().int().positive().default(10).describe('epochs (ignored when phases are given)'),
  batchSize: z.number().int().positive().default(64).describe('images per training step'),
  optimizer: z.enum(['adamw', 'sgd']).default('adamw').describe('optimizer (torch.optim semantics)'),
  lr: z.number().positive().default(3e-3).describe('peak learning rate'),
  weightDecay: z.number().min(0).default(1e-4).describe('decoupled (AdamW) or L2 (SGD) weight decay'),
  momentum: z.number().min(0).max(1).default(0.9).describe('SGD momentum'),
  schedule: z.enum(['onecycle', 'cosine', 'plateau', 'constant']).default('onecycle').describe('learning-rate schedule'),
  warmup: z.number().min(0).max(0.5).default(0.2).describe('warm-up fraction of the steps (onecycle, cosine)'),
  classWeights: z.union([z.enum(['auto', 'sqrt', 'none']), z.array(z.number().positive())]).default('none').describe("'auto' = N/(C·n_c), 'sqrt' = its square root (rescaled to mean row weight 1; milder, keeps more accuracy on imbalanced data), 'none', or one weight per class"),
  sampler: z.enum(['shuffle', 'balanced']).default('shuffle').describe("'balanced' oversamples rare classes (weighted random sampler)"),
  labelSmoothing: z.number().min(0).max(0.5).default(0).describe('label smoothing for cross-entropy'),
  loss: LossOptions.default({ kind: 'cross-entropy' }).describe("training loss: { kind: cross-entropy } or { kind: focal, gamma, alpha? }"),
  mixup: z.number().min(0).default(0).describe('MixUp alpha (0 = off)'),
  cutmix: z.number().min(0).default(0)
    .describe('CutMix alpha (0 = off): each batch pastes a box of area fraction 1 − λ, λ ~ Beta(α, α), from a shuffled partner; labels mix by the pasted area (with mixup also set, each batch draws one of the two, p = 0.5)'),
  augment: AugmentOptions.default(AugmentOptions.parse({})).describe('train-only augmentation'),
  monitor: z.string().regex(MONITOR_PATTERN, 'expected auc, loss, balanced_accuracy, accuracy, average_precision, sensitivity:<class> or specificity:<class>').default('auc')
    .describe('validation metric for best checkpoint and early stopping: auc, loss, balanced_accuracy, accuracy, average_precision (macro one-vs-rest above 2 classes), sensitivity:<class> or specificity:<class> (arg-max decisions; the class must exist)'),
  patience: z.number().int().min(0).default(0).describe('early-stopping patience in epochs (0 = off)'),
  minEpochs: z.number().int().min(0).default(0)
    .describe('no epoch before this one (counted over all phases) is chosen as best or counts toward patience: early val scores on a small val set are noisy (0 = off)'),
  clipNorm: z.number().min(0).default(0).describe('clip gradients to this global norm (0 = off)'),
  lrFind: z.boolean().default(false)
    .describe("before training, an LR range test on train (fastai lr_find: 60 steps, rates 1e-5 → 1, exponential) sets the peak lr to the rate at the smoothed loss minimum / 10 (replaces fit.lr; single-phase runs)"),
  ema: z.number().min(0).lt(1).default(0)
    .describe('EMA of weights: decay per step (e.g. 0.998; 0 = off); the averaged weights (params and batch-norm buffers, decay warmed up as (1+t)/(10+t)) are what val judges, best keeps and export writes'),
  phases: z.array(PhaseOptions).default([]).describe('fine-tuning phases; overrides epochs/lr when given'),
  tta: z.boolean().default(false).describe('test-time augmentation: average logits over the horizontal flip'),
  cacheTrunk: z.boolean().default(false).describe('backbone head / last:N phases: run the frozen prefix once per image and train only the rest'),
  cacheAugmentPasses: z.number().int().min(0).default(0).describe('cached phases: augmented passes through the prefix (0 = train on un-augmented images)'),
});
export type FitOptions = z.output<typeof FitOptions>;
