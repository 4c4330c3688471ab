import type { Network, Rng } from '../engine/index.js';
import { defineNetwork } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import { compactCnn } from './compact-cnn.js';
import { compactResnet } from './compact-resnet.js';
import type { BuiltinModelName, BuiltinModelOptionsInput } from './options.js';
import { BUILTIN_MODELS, BuiltinModelOptions } from './options.js';
import { resnet } from './resnet.js';
import { tabularMlp } from './tabular-mlp.js';
import { vit } from './vit.js';

const bad = (name: string, why: string) =>
  new MedclassError('MC_MODELS_BAD_CONFIG', `${name}: ${why}`, { hint: 'pick a model that fits the input size (compact-cnn/resnet18-28 for 28–64 px, resnet18 for 64–224 px)' });

/** ViT patch size for an input side: the largest of 16, 8, 4, 2 giving at least a 7×7 grid. */
export function vitPatchSize(inputSize: number): number {
  for (const p of [16, 8, 4, 2]) if (inputSize % p === 0 && inputSize / p >= 7) return p;
  throw bad('vit-small', `input size ${inputSize} is not a multiple of 16, 8, 4 or 2 with ≥ 7 patches per side`);
}

/**
 * Creates a built-in network with fresh seeded weights: `compact-cnn` (fast, 28–64 px), `resnet18-28` (MedMNIST's
 * ResNet-18: 3×3 stride-1 stem, no max-pool), `resnet18` (torchvision stem, 64–224 px), `vit-small` (patch 4 at
 * 28 px, 8 at 64 px, 16 at 224 px; 192-wide, 6 blocks, 3 heads).
 *
 * @example
 * const net = createModel('compact-cnn', { inChannels: 1, numClasses: 2, inputSize: 28, rng: rng.fork('init') });
 */
export function createModel(name: string, options: BuiltinModelOptionsInput & { rng: Rng }): Network {
  const { rng, ...rest } = options;
  const o = BuiltinModelOptions.parse(rest);
  if (!(BUILTIN_MODELS as readonly string[]).includes(name)) {
    throw new MedclassError('MC_MODELS_UNKNOWN_MODEL', `unknown model '${name}'; valid names: ${BUILTIN_MODELS.join(', ')}`, {
      hint: 'or give a backbone ONNX file',
    });
  }
  const w = (c: number) => Math.max(1, Math.round(c * o.width));
  const common = { numClasses: o.numClasses, dropout: o.dropout, tabular: o.tabularFeatures };
  let define;
  switch (name as BuiltinModelName) {
    case 'compact-cnn':
      if (o.inputSize < 8) throw bad(name, `input size ${o.inputSize} is below 8 px (two 2×2 pools)`);
      define = compactCnn({ widths: [w(32), w(64), w(128)], ...common });
      break;
    case 'compact-resnet':
      if (o.inputSize < 16) throw bad(name, `input size ${o.inputSize} is below 16 px (three stride-2 stages)`);
      define = compactResnet({ width: o.width, inputSize: o.inputSize, ...common });
      break;
    case 'resnet18-28':
      if (o.inputSize < 8) throw bad(name, `input size ${o.inputSize} is below 8 px (three stride-2 stages)`);
      define = resnet({ stem: 'small', blocks: [2, 2, 2, 2], widths: [w(64), w(128), w(256), w(512)], ...common });
      break;
    case 'resnet18':
      if (o.inputSize < 32) throw bad(name, `input size ${o.inputSize} is below 32 px (stride-32 network); use resnet18-28`);
      define = resnet({ stem: 'imagenet', blocks: [2, 2, 2, 2], widths: [w(64), w(128), w(256), w(512)], ...common });
      break;
    case 'vit-small':
      define = vit({ patch: vitPatchSize(o.inputSize), dim: 192, depth: 6, heads: 3, mlpRatio: 4, ...common });
      break;
    case 'tabular-mlp': // tabular input only (hidden 64 × width); `x` is declared but unread
      define = tabularMlp({ tabular: o.tabularFeatures, numClasses: o.numClasses, hidden: w(64), dropout: o.dropout });
      break;
  }
  return defineNetwork(define, { name, inputDims: [o.inChannels, o.inputSize, o.inputSize], numClasses: o.numClasses, rng });
}
