import { Emitter } from './graph/emitter.js';
import { attr, type Graph } from './graph/types.js';
import { f32, i64 } from './tensor.js';

/** Softmax cross-entropy (mean over the batch), as `torch.nn.functional.cross_entropy`. */
export interface CrossEntropySpec {
  kind: 'cross-entropy';
  /** Per-class weights w: loss = Σ w_y·l / Σ w_y (PyTorch semantics). */
  classWeights?: readonly number[];
  /** Label smoothing ε in [0, 1), PyTorch semantics (uniform ε/C mass, weighted like the NLL term). */
  labelSmoothing?: number;
  /**
   * Labels are float32 [N, C] target distributions (MixUp) instead of int64 class indices: the one-hot rows are
   * replaced by the targets t, so the weighted loss is Σᵢ Σ_c w_c·tᵢc·(−log pᵢc) / Σᵢ Σ_c w_c·tᵢc (one-hot t gives the
   * hard loss exactly).
   */
  soft?: boolean;
}

/** Binary cross-entropy with logits (mean), as `torch.nn.functional.binary_cross_entropy_with_logits`. */
export interface BceSpec {
  kind: 'bce-with-logits';
  /** Weight of the positive term (PyTorch `pos_weight`). */
  posWeight?: number;
}

/**
 * Softmax focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection", eq. 5, multi-class):
 * mean over the batch of Σ_c tᵢc·α_c·(1 − pᵢc)^γ·(−log pᵢc), t the one-hot (or soft, MixUp/CutMix) targets.
 */
export interface FocalSpec {
  kind: 'focal';
  /** Focusing parameter γ ≥ 0 (0 gives the α-weighted cross-entropy, mean over the batch). */
  gamma: number;
  /** Per-class weights α_c (default 1 each); the mean is over the batch, not normalised by Σ α. */
  alpha?: readonly number[];
  /** Labels are float32 [N, C] target distributions instead of int64 class indices. */
  soft?: boolean;
}

/** Which loss to emit. */
export type LossSpec = CrossEntropySpec | BceSpec | FocalSpec;

/** Names of what `emitLoss` added. */
export interface EmittedLoss {
  /** Scalar (dims []) loss value. */
  loss: string;
}

/**
 * Emits the loss as ONNX ops onto `graph`: `logits` [N, C] (cross-entropy; labels int64 [N], or float32 [N, C] when
 * `soft`) or [N] / [N, 1]
 * (BCE; labels float32 [N] in {0, 1}). Returns the scalar loss value's name.
 *
 * Cross-entropy with weights w and smoothing ε follows PyTorch exactly:
 * (1−ε)·Σᵢ w_{yᵢ}·(−log pᵢ,yᵢ)/Σᵢ w_{yᵢ} + (ε/C)·Σᵢ Σ_c w_c·(−log pᵢ,c)/Σᵢ w_{yᵢ}.
 * BCE: mean of pos_weight·y·softplus(−x) + (1−y)·softplus(x).
 */
export function emitLoss(graph: Graph, spec: LossSpec, logits: string, labels: string, dims: { batch: number; classes: number }): EmittedLoss {
  const e = new Emitter(graph, 'loss');
  if (spec.kind === 'bce-with-logits') {
    const x = e.reshape(logits, [-1]);
    const y = labels;
    const spNeg = e.op('Softplus', [e.neg(x)]);
    const spPos = e.op('Softplus', [x]);
    const pos = spec.posWeight !== undefined && spec.posWeight !== 1 ? e.mul(e.scalar(spec.posWeight), e.mul(y, spNeg)) : e.mul(y, spNeg);
    const per = e.add(pos, e.mul(e.sub(e.scalar(1), y), spPos));
    return { loss: e.reduceMean(per, [0], false) };
  }
  const C = dims.classes;
  const logp = e.op('LogSoftmax', [logits], { axis: attr.int(1) });
  const onehot = spec.soft
    ? labels
    : e.op('Cast', [e.op('Equal', [e.op('Unsqueeze', [labels, e.ints([1])]), e.constant(i64([...Array(C).keys()], [1, C]), 'classes')])], { to: attr.int(1) });
  if (spec.kind === 'focal') return { loss: emitFocal(e, spec, logp, onehot, C) };
  const eps = spec.labelSmoothing ?? 0;
  const w = spec.classWeights ? e.constant(f32(spec.classWeights, [1, C]), 'class_weights') : undefined;
  const nllRows = e.neg(e.reduceSum(e.mul(onehot, logp), [1], false)); // [N]
  let nll: string;
  let denom: string | undefined;
  if (w) {
    const wy = e.reduceSum(e.mul(onehot, w), [1], false); // [N]
    denom = e.reduceSum(wy, [0], false);
    nll = e.div(e.reduceSum(e.mul(wy, nllRows), [0], false), denom);
  } else {
    nll = e.reduceMean(nllRows, [0], false);
  }
  if (eps === 0) return { loss: nll };
  const weighted = w ? e.mul(logp, w) : logp;
  const smoothRows = e.neg(e.reduceSum(weighted, [1], false));
  const smooth = denom ? e.div(e.reduceSum(smoothRows, [0], false), denom) : e.reduceMean(smoothRows, [0], false);
  return { loss: e.add(e.mul(e.scalar(1 - eps), nll), e.mul(e.scalar(eps / C), smooth)) };
}

/** Σ_c t·α·(1 − p)^γ·(−log p) per row, mean over rows; 1 − p is floored at 1e-12 so γ < 1 keeps a finite gradient at p = 1. */
function emitFocal(e: Emitter, spec: FocalSpec, logp: string, targets: string, C: number): string {
  let rows = e.mul(targets, e.neg(logp)); // [N, C]
  if (spec.gamma > 0) {
    const oneMinusP = e.op('Max', [e.sub(e.scalar(1), e.op('Exp', [logp])), e.scalar(1e-12)]);
    const mod = Number.isInteger(spec.gamma) && spec.gamma <= 4
      ? Array.from({ length: spec.gamma - 1 }).reduce<string>((acc) => e.mul(acc, oneMinusP), oneMinusP)
      : e.op('Pow', [oneMinusP, e.scalar(spec.gamma)]);
    rows = e.mul(rows, mod);
  }
  if (spec.alpha) rows = e.mul(rows, e.constant(f32(spec.alpha, [1, C]), 'focal_alpha'));
  return e.reduceMean(e.reduceSum(rows, [1], false), [0], false);
}
