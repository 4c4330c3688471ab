import type { LayerBuilder, Sym } from '../engine/index.js';
import { resnet } from './resnet.js';

/** Settings of the compact ResNet family (`compact-resnet`). */
export interface CompactResnetConfig {
  /** Channel multiplier: stage widths 32/64/128/256 at 1. */
  width: number;
  /** Square input side in pixels: 96 px and above get the strided ImageNet stem (7×7/2 conv + 3×3/2 max-pool). */
  inputSize: number;
  dropout: number;
  numClasses: number;
  /** Tabular features F fused with the embedding (input `tab` [N,F]; 0 = image only). */
  tabular?: number;
}

/** Stage widths of `compact-resnet` for a width multiplier (32/64/128/256 at 1, at least 8 channels). */
export function compactResnetWidths(width: number): [number, number, number, number] {
  const w = (c: number) => Math.max(8, Math.round(c * width));
  return [w(32), w(64), w(128), w(256)];
}

/**
 * A compact ResNet for small medical images (a ResNet-10 with one basic block per stage and narrow stages,
 * He et al. 2016): a 3×3 stride-1 stem below 96 px (MedMNIST's small-input ResNet) or the ImageNet stem from 96 px,
 * four stages of one torchvision BasicBlock (stride 2 from the second stage), global average pooling, dropout and a
 * linear classifier. Taps: `features` and `embedding`, as in `resnet`.
 *
 * @example
 * defineNetwork(compactResnet({ width: 1, inputSize: 28, dropout: 0.1, numClasses: 2 }), { … })
 */
export function compactResnet(cfg: CompactResnetConfig): (b: LayerBuilder, x: Sym) => Sym {
  return resnet({
    stem: cfg.inputSize >= 96 ? 'imagenet' : 'small', blocks: [1, 1, 1, 1], widths: compactResnetWidths(cfg.width),
    dropout: cfg.dropout, numClasses: cfg.numClasses, ...(cfg.tabular ? { tabular: cfg.tabular } : {}),
  });
}
