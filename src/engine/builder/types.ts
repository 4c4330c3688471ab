import type { Dim, Graph } from '../graph/types.js';
import type { InitSpec } from '../init.js';
import type { Tensor } from '../tensor.js';

/**
 * Which graph a definition is being recorded into:
 * - `train`: batch-norm on batch statistics (decomposed into ReduceMean/Sub/Mul/Div/Sqrt/Add, batch mean and
 *   unbiased variance as extra outputs), dropout as `Mul` by a mask fed as a graph input;
 * - `eval`: the same decomposed ops but on running statistics, no dropout (a differentiable eval-mode forward);
 * - `inference`: `BatchNormalization` / `LayerNormalization` nodes on running statistics, no dropout (for export).
 */
export type BuildMode = 'train' | 'eval' | 'inference';

/** A value in the graph being built: its name and its shape (`'N'` for the dynamic batch dimension). */
export interface Sym {
  readonly name: string;
  readonly dims: readonly Dim[];
}

/** A parameter or buffer the definition declared: name (torch-style path), dims and initialiser. */
export interface ParamSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly init: InitSpec;
  /** `param` is trainable, `buffer` is state updated outside the optimizer (BN running stats). */
  readonly kind: 'param' | 'buffer';
  /** The layer that owns it: its scope path (`layer1.0.conv1`), or the node name for imported graphs. */
  readonly layer: string;
}

/** One training-mode batch-norm: the graph outputs holding its batch statistics and the buffers they update. */
export interface BnStat {
  /** Layer path, e.g. `layer1.0.bn1`. */
  readonly name: string;
  /** Training-graph output with the batch mean, dims [C]. */
  readonly meanOutput: string;
  /** Training-graph output with the unbiased batch variance (× n/(n−1), as torch), dims [C]. */
  readonly varOutput: string;
  /** Buffer names (`<name>.running_mean`, `<name>.running_var`). */
  readonly runningMean: string;
  readonly runningVar: string;
  /** torch momentum: running = (1 − momentum)·running + momentum·batch. */
  readonly momentum: number;
}

/** One dropout: the training-graph input that takes its mask, the mask's dims (`'N'` = batch) and the drop probability. */
export interface DropoutSpec {
  readonly input: string;
  readonly dims: readonly Dim[];
  readonly p: number;
}

/** Values for the parameters and buffers of a network, by name. */
export type WeightMap = ReadonlyMap<string, Float32Array>;

/** Options for emitting the inference graph. */
export interface InferenceGraphOptions {
  /** Parameter values to embed as initializers (default: the network's current `params`). */
  params?: WeightMap;
  /** Buffer values to embed (default: the network's current `buffers`). */
  buffers?: WeightMap;
  /** Feed parameters and buffers as graph inputs instead of embedding them (one session reused across epochs). */
  weightsAsInputs?: boolean;
  /** Named values to add as outputs besides `logits` (e.g. `features`, `embedding`). */
  extraOutputs?: readonly string[];
  /** Inference graph only: keep each dropout as `Mul` by a mask input named as in `dropouts` (MC-dropout). */
  keepDropout?: boolean;
}

/**
 * A network recorded once from a definition, emitting graphs with the same parameter names.
 * Input `x` [N,C,H,W] (dynamic N), output `logits` [N,classes].
 */
export interface Network {
  readonly name: string;
  /** Input dims without the batch: [C, H, W]. */
  readonly inputDims: readonly number[];
  readonly numClasses: number;
  /** Trainable parameters (initial values; the caller owns updates). */
  readonly params: Map<string, Float32Array>;
  /** Non-trainable state (BN running mean/var). */
  readonly buffers: Map<string, Float32Array>;
  /** Dims of every parameter and buffer. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** Layers owning parameters, in declaration (= topological) order, with their parameter names. */
  readonly layers: readonly { readonly name: string; readonly params: readonly string[] }[];
  /** Parameters of the classifier head (trained alone in a frozen-trunk phase). */
  readonly head: readonly string[];
  readonly bnStats: readonly BnStat[];
  readonly dropouts: readonly DropoutSpec[];
  /** Named values every graph exposes (e.g. `features` [N,C,h,w], `embedding` [N,D]) with their dims. */
  readonly taps: ReadonlyMap<string, readonly Dim[]>;
  /** Forward graph in training mode; parameters are initializers holding `params` (or the given values). */
  trainGraph(params?: WeightMap): Graph;
  /** Forward graph in eval mode with the same decomposed ops as training (running statistics, no dropout). */
  evalGraph(opts?: InferenceGraphOptions): Graph;
  /** Inference graph (`BatchNormalization` on running stats, no dropout), what `export` writes. */
  inferenceGraph(opts?: InferenceGraphOptions): Graph;
}

/** Feeds for a training step beyond `x` and labels (dropout masks), by input name. */
export type ExtraFeeds = Record<string, Tensor>;
