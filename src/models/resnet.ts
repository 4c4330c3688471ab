import type { LayerBuilder, Sym } from '../engine/index.js';
import { fuseTabular } from './fusion.js';

/** Settings of a ResNet built from basic blocks. */
export interface ResNetConfig {
  /** `small`: 3×3 stride-1 stem, no max-pool (MedMNIST's ResNet-18 at 28 px); `imagenet`: 7×7 stride-2 stem + 3×3 max-pool. */
  stem: 'small' | 'imagenet';
  /** Basic blocks per stage ([2,2,2,2] for ResNet-18). */
  blocks: readonly number[];
  /** Channels per stage (64, 128, 256, 512). */
  widths: readonly number[];
  dropout: number;
  numClasses: number;
  /** Tabular features F fused with the embedding (input `tab` [N,F]; 0 = image only). */
  tabular?: number;
}

/** torchvision BasicBlock: conv3×3(stride)–BN–ReLU–conv3×3–BN, plus the identity or a 1×1 strided conv–BN shortcut, then ReLU. */
function basicBlock(b: LayerBuilder, x: Sym, out: number, stride: number): Sym {
  let h = b.relu(b.batchNorm(b.conv2d(x, 'conv1', { out, kernel: 3, stride, padding: 1, bias: false }), 'bn1'));
  h = b.batchNorm(b.conv2d(h, 'conv2', { out, kernel: 3, padding: 1, bias: false }), 'bn2');
  let shortcut = x;
  if (stride !== 1 || x.dims[1] !== out) {
    shortcut = b.scope('downsample', () => b.batchNorm(b.conv2d(x, '0', { out, kernel: 1, stride, bias: false }), '1'));
  }
  return b.relu(b.add(h, shortcut));
}

/**
 * ResNet with basic blocks and torchvision's parameter names (`conv1`, `bn1`, `layer1.0.conv1`, …, `fc`) and init
 * (He normal fan_out for convs, BN weight 1 / bias 0). Taps: `features` (last stage output) and `embedding`.
 */
export function resnet(cfg: ResNetConfig): (b: LayerBuilder, x: Sym) => Sym {
  return (b, x) => {
    const w0 = cfg.widths[0]!;
    let h = cfg.stem === 'small'
      ? b.conv2d(x, 'conv1', { out: w0, kernel: 3, padding: 1, bias: false })
      : b.conv2d(x, 'conv1', { out: w0, kernel: 7, stride: 2, padding: 3, bias: false });
    h = b.relu(b.batchNorm(h, 'bn1'));
    if (cfg.stem === 'imagenet') h = b.maxPool(h, { kernel: 3, stride: 2, padding: 1 });
    cfg.blocks.forEach((n, stage) => {
      b.scope(`layer${stage + 1}`, () => {
        for (let i = 0; i < n; i++) {
          const stride = stage > 0 && i === 0 ? 2 : 1;
          h = b.scope(i, () => basicBlock(b, h, cfg.widths[stage]!, stride));
        }
      });
    });
    h = b.tap(h, 'features');
    h = fuseTabular(b, b.tap(b.flatten(b.globalAvgPool(h)), 'embedding'), cfg.tabular ?? 0);
    return b.linear(b.dropout(h, cfg.dropout, 'drop'), 'fc', { out: cfg.numClasses, init: { kind: 'kaimingUniform', mode: 'fanIn', gain: 1 / Math.sqrt(3) } });
  };
}
