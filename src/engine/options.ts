import { z } from 'zod';

/** torch.optim.SGD hyperparameters (same names and defaults). */
export const SgdOptions = z.strictObject({
  name: z.literal('sgd'),
  lr: z.number().positive().default(0.1).describe('learning rate'),
  momentum: z.number().min(0).default(0).describe('momentum factor'),
  dampening: z.number().min(0).default(0).describe('dampening for momentum'),
  weightDecay: z.number().min(0).default(0).describe('L2 penalty added to the gradient (coupled, as torch.optim.SGD)'),
  nesterov: z.boolean().default(false).describe('Nesterov momentum (needs momentum > 0 and dampening = 0)'),
});
export type SgdOptions = z.output<typeof SgdOptions>;

/** torch.optim.AdamW hyperparameters (same names and defaults). */
export const AdamWOptions = z.strictObject({
  name: z.literal('adamw'),
  lr: z.number().positive().default(1e-3).describe('learning rate'),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]).describe('coefficients of the running averages of gradient and its square'),
  eps: z.number().positive().default(1e-8).describe('term added to the denominator'),
  weightDecay: z.number().min(0).default(0.01).describe('decoupled weight decay (p -= lr * weightDecay * p)'),
  amsgrad: z.boolean().default(false).describe('use the AMSGrad variant'),
});
export type AdamWOptions = z.output<typeof AdamWOptions>;

/** One of the supported optimizers, chosen by `name`. */
export const OptimizerOptions = z.discriminatedUnion('name', [SgdOptions, AdamWOptions]);
export type OptimizerOptions = z.output<typeof OptimizerOptions>;
export type OptimizerOptionsInput = z.input<typeof OptimizerOptions>;

/** Learning-rate schedules, as multipliers of each parameter group's base learning rate. */
export const ScheduleOptions = z.discriminatedUnion('name', [
  z.strictObject({ name: z.literal('constant') }),
  z.strictObject({
    name: z.literal('cosine'),
    warmupSteps: z.number().int().min(0).default(0).describe('steps of linear warmup before the cosine decay'),
    warmupStartFactor: z.number().min(0).max(1).default(0).describe('multiplier at step 0 of the warmup (torch LinearLR start_factor)'),
    minFactor: z.number().min(0).max(1).default(0).describe('multiplier reached at the last step (eta_min / base lr)'),
  }),
  z.strictObject({
    name: z.literal('step'),
    stepSize: z.number().int().positive().describe('steps between decays (torch StepLR step_size)'),
    gamma: z.number().positive().default(0.1).describe('multiplicative decay (torch StepLR gamma)'),
  }),
  z.strictObject({
    name: z.literal('onecycle'),
    pctStart: z.number().gt(0).lt(1).default(0.3).describe('fraction of steps spent increasing the lr'),
    divFactor: z.number().positive().default(25).describe('initial lr = max lr / divFactor'),
    finalDivFactor: z.number().positive().default(1e4).describe('final lr = initial lr / finalDivFactor'),
    threePhase: z.boolean().default(false).describe('torch OneCycleLR three_phase'),
  }),
]);
export type ScheduleOptions = z.output<typeof ScheduleOptions>;

/** torch.optim.lr_scheduler.ReduceLROnPlateau settings (same names and defaults). */
export const PlateauOptions = z.strictObject({
  mode: z.enum(['min', 'max']).default('min').describe('whether the watched metric should go down or up'),
  factor: z.number().gt(0).lt(1).default(0.1).describe('lr multiplier on a plateau'),
  patience: z.number().int().min(0).default(10).describe('epochs without improvement before reducing'),
  threshold: z.number().min(0).default(1e-4).describe('minimum change that counts as an improvement'),
  thresholdMode: z.enum(['rel', 'abs']).default('rel').describe('threshold relative to the best value, or absolute'),
  cooldown: z.number().int().min(0).default(0).describe('epochs to wait after a reduction before counting again'),
  minLr: z.number().min(0).default(0).describe('lower bound on every group\'s lr'),
  eps: z.number().min(0).default(1e-8).describe('reductions smaller than this are ignored'),
});
export type PlateauOptions = z.output<typeof PlateauOptions>;

/** Settings of the training step runtime. */
export const TrainerOptions = z.strictObject({
  threads: z.number().int().min(0).default(0).describe('onnxruntime intra-op threads (0 = onnxruntime default)'),
  clipNorm: z.number().positive().optional().describe('clip gradients to this global L2 norm (torch clip_grad_norm_)'),
  totalSteps: z.number().int().positive().optional().describe('steps the schedule spans (needed by cosine and onecycle)'),
  closedFormBatchNorm: z.boolean().default(true).describe("differentiate the builder's batch-statistics batch norm in closed form (not op by op)"),
  nchwc: z.boolean().default(true).describe("run the Convs that are measured faster so on onnxruntime's blocked-layout (NCHWc) kernels"),
  spin: z.union([z.boolean(), z.literal('auto')]).default('auto').describe("intra-op threads busy-wait between ops: 'auto' = when the cores are free at compile time, until another process takes them"),
});
export type TrainerOptions = z.output<typeof TrainerOptions>;
export type TrainerOptionsInput = z.input<typeof TrainerOptions>;
