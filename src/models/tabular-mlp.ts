import type { LayerBuilder, Sym } from '../engine/index.js';
import { MedclassError } from '../errors.js';
import { TABULAR_INPUT } from './fusion.js';

/** Settings of the tabular-only MLP. */
export interface TabularMlpConfig {
  /** Encoded tabular features F (the graph input `tab` [N,F]); must be ≥ 1. */
  tabular: number;
  numClasses: number;
  /** Hidden width of the one hidden layer (linear–ReLU). */
  hidden: number;
  /** Drop probability before the output linear. */
  dropout: number;
}

/**
 * A tabular-only classifier, `arch: tabular-mlp`: `tab` [N,F] → linear(F→hidden) → ReLU → dropout → linear(→K).
 * The network keeps the image input `x` of every built-in net (so training, export, predict and serve handle it like
 * any run) but no node reads it: the logits depend on the tabular row only. Taps: `embedding` (the hidden
 * activations [N,hidden]).
 *
 * @example
 * createModel('tabular-mlp', { inChannels: 3, numClasses: 7, inputSize: 8, tabularFeatures: 21, rng });
 */
export function tabularMlp(cfg: TabularMlpConfig): (b: LayerBuilder, x: Sym) => Sym {
  if (!(cfg.tabular >= 1)) {
    throw new MedclassError('MC_MODELS_BAD_CONFIG', 'tabular-mlp: the model needs tabular features (data.tabular with numeric or categorical columns), got 0', {
      hint: 'add data.tabular: { numeric: [...], categorical: [...] } to the config',
    });
  }
  return (b) => {
    const tab = b.input(TABULAR_INPUT, ['N', cfg.tabular]);
    const h = b.tap(b.relu(b.linear(tab, 'fc1', { out: cfg.hidden })), 'embedding');
    return b.linear(b.dropout(h, cfg.dropout, 'drop'), 'fc', { out: cfg.numClasses });
  };
}
