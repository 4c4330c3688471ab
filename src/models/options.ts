import { z } from 'zod';

/** Names of the built-in networks. */
export const BUILTIN_MODELS = ['compact-cnn', 'compact-resnet', 'resnet18-28', 'resnet18', 'vit-small', 'tabular-mlp'] as const;
export type BuiltinModelName = (typeof BUILTIN_MODELS)[number];

/** Settings of a built-in network (the input size and classes come from the data). */
export const BuiltinModelOptions = z.strictObject({
  inChannels: z.number().int().positive().describe('input channels (1 grey, 3 RGB)'),
  numClasses: z.number().int().min(2).describe('classes (logits per image)'),
  inputSize: z.number().int().positive().describe('square input side in pixels'),
  dropout: z.number().min(0).lt(1).default(0).describe('drop probability before the classifier'),
  width: z.number().positive().default(1).describe('channel multiplier for the CNNs (compact-cnn 32/64/128 at 1)'),
  tabularFeatures: z.number().int().min(0).default(0).describe('early fusion: tabular features F concatenated to the embedding before the head (second input `tab` [N,F]; 0 = image only)'),
});
export type BuiltinModelOptions = z.output<typeof BuiltinModelOptions>;
export type BuiltinModelOptionsInput = z.input<typeof BuiltinModelOptions>;

/** A head on a backbone's pooled embedding. */
export const HeadOptions = z.strictObject({
  kind: z.enum(['linear', 'mlp']).default('linear').describe("'linear', or 'mlp' (linear–ReLU–dropout–linear)"),
  hidden: z.union([z.number().int().positive(), z.array(z.number().int().positive()).min(1)]).default(256)
    .describe('hidden width of the MLP head, or a list of widths (e.g. [512, 128]: linear–ReLU blocks in order)'),
  dropout: z.number().min(0).lt(1).default(0.2).describe('drop probability before each head linear after the first (a linear head: before it)'),
});
export type HeadOptions = z.output<typeof HeadOptions>;

/** The run config's `model.head`: 'linear', 'mlp' (one hidden layer of 256), or an MLP `{ hidden, dropout? }`. */
export const HeadSpec = z.union([
  z.enum(['linear', 'mlp']),
  z.strictObject({
    hidden: z.union([z.number().int().positive(), z.array(z.number().int().positive()).min(1)]).describe('hidden width, or widths in order (e.g. [512, 128])'),
    dropout: z.number().min(0).lt(1).optional().describe('drop probability in the head (default: model.dropout)'),
  }),
]);
export type HeadSpec = z.output<typeof HeadSpec>;

/** `HeadOptions` from a config's `model.head` and `model.dropout` (the object form's own dropout wins). */
export function resolveHead(spec: HeadSpec, dropout: number): HeadOptions {
  if (typeof spec === 'string') return HeadOptions.parse({ kind: spec, dropout });
  return HeadOptions.parse({ kind: 'mlp', hidden: spec.hidden, dropout: spec.dropout ?? dropout });
}

/** An imported ONNX backbone cut at a named tensor, with a new head. */
export const BackboneOptions = z.strictObject({
  embeddingTensor: z.string().default('embedding').describe('pooled [N,D] tensor the head reads (cut point)'),
  featureTensor: z.string().default('features').describe('last conv map [N,C,h,w], exposed as the `features` tap for CAM'),
  inputName: z.string().optional().describe('graph input to use (default: the only float input)'),
  inChannels: z.number().int().positive().default(3).describe('channels of the images fed to the model (1 adapts the first conv)'),
  greyInput: z.enum(['sum', 'repeat']).default('sum').describe("1-channel input: 'sum' the first conv's RGB weights (fastai), or 'repeat' the grey channel 3×"),
  head: HeadOptions.default(HeadOptions.parse({})).describe('classifier head on the embedding'),
  startTensor: z.string().optional().describe('cached-trunk training: the network starts at this tensor (the frozen part before it is `trunkPrefix`)'),
  numClasses: z.number().int().min(2).describe('classes (logits per image)'),
  tabularFeatures: z.number().int().min(0).default(0).describe('early fusion: tabular features F concatenated to the embedding before the head (second input `tab` [N,F]; 0 = image only)'),
});
export type BackboneOptions = z.output<typeof BackboneOptions>;
export type BackboneOptionsInput = z.input<typeof BackboneOptions>;
