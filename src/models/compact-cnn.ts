import type { LayerBuilder, Sym } from '../engine/index.js';
import { fuseTabular } from './fusion.js';

/** Settings of the compact CNN. */
export interface CompactCnnConfig {
  /** Channels of the three stages (two 3×3 conv–BN–ReLU each). */
  widths: readonly [number, number, number];
  /** Drop probability before the classifier. */
  dropout: number;
  numClasses: number;
  /** Tabular features F fused with the embedding (input `tab` [N,F]; 0 = image only). */
  tabular?: number;
}

/**
 * A compact, fast CNN for 28–64 px inputs: three stages of two 3×3 conv–BN–ReLU (widths 32/64/128 by default),
 * a 2×2 max-pool after the first two stages, global average pooling, dropout and a linear classifier.
 * Taps: `features` (last conv map after ReLU) and `embedding` (pooled vector).
 */
export function compactCnn(cfg: CompactCnnConfig): (b: LayerBuilder, x: Sym) => Sym {
  return (b, x) => {
    let h = x;
    cfg.widths.forEach((w, stage) => {
      for (let j = 0; j < 2; j++) {
        const i = stage * 2 + j;
        h = b.conv2d(h, `conv${i}`, { out: w, kernel: 3, padding: 1, bias: false });
        h = b.relu(b.batchNorm(h, `bn${i}`));
      }
      if (stage < 2) h = b.maxPool(h, { kernel: 2 });
    });
    h = b.tap(h, 'features');
    h = b.tap(b.flatten(b.globalAvgPool(h)), 'embedding');
    h = fuseTabular(b, h, cfg.tabular ?? 0);
    return b.linear(b.dropout(h, cfg.dropout, 'drop'), 'fc', { out: cfg.numClasses });
  };
}
