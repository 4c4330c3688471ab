import type { Network, Rng } from '../engine/index.js';
import { evaluateRun } from '../eval/index.js';
import type { FitState, ImageSet } from '../train/index.js';
import { Predictor, copyWeights, loadWeights, phasesOf } from '../train/index.js';
import type { RunConfig } from './config.js';

/** Test (and val) figures of the best weights so far at the end of one phase: `summary.json` → `phases[]`. */
export interface PhaseMetrics {
  phase: number;
  trainable: string;
  /** Epochs this phase ran: fewer than planned when early stopping ended it (`stoppedEarly`). */
  epochs: number;
  stoppedEarly: boolean;
  /** The epoch whose weights were evaluated (best by the monitor up to the end of this phase). */
  best: { phase: number; epoch: number; score: number };
  seconds: number;
  test: SplitFigures;
  val: SplitFigures;
}

interface SplitFigures {
  roc_auc: number | null;
  accuracy: number;
  balanced_accuracy: number;
  /** recall per class at the arg-max decision */
  recall: Record<string, number>;
  /** binary only: the threshold chosen on val for the target sensitivity, applied to this split */
  operating_point?: { criterion: string; threshold: number; sensitivity: number; specificity: number };
}

/**
 * Evaluates the best weights so far (restoring the current ones afterwards) on val and test, without bootstrap:
 * AUC, accuracy, per-class recall and, for two classes, the val-chosen operating point at `targetSensitivity`.
 */
export async function evaluatePhase(
  net: Network, state: FitState, sets: { val: ImageSet; test: ImageSet }, cfg: RunConfig, classes: readonly string[], rng: Rng,
): Promise<PhaseMetrics | undefined> {
  if (!state.best) return undefined;
  const t0 = performance.now();
  const phase = phasesOf(cfg.fit)[state.phase]!;
  const current = copyWeights(net);
  loadWeights(net, state.best.params);
  const predictor = await Predictor.create(net, cfg.threads);
  let val: Float32Array;
  let test: Float32Array;
  try {
    val = await predictor.logits(sets.val, { tta: cfg.fit.tta });
    test = await predictor.logits(sets.test, { tta: cfg.fit.tta });
  } finally {
    await predictor.dispose();
    loadWeights(net, current);
  }
  const k = classes.length;
  const m = evaluateRun(
    { labels: sets.val.labels, scores: Float64Array.from(val) }, { labels: sets.test.labels, scores: Float64Array.from(test) }, k,
    { bootstrap: 0, alpha: cfg.eval.alpha, classNames: [...classes], targetSensitivity: cfg.eval.targetSensitivity }, rng,
  );
  const op = k === 2 ? m.operating_points?.['1']?.[0] : undefined;
  const figures = (s: typeof m | NonNullable<typeof m.val>, which: 'val' | 'test'): SplitFigures => ({
    roc_auc: s.roc_auc ?? s.roc_auc_ovr_macro ?? null,
    accuracy: s.accuracy,
    balanced_accuracy: s.balanced_accuracy,
    recall: Object.fromEntries(s.per_class.map((r) => [r.name, r.recall])),
    ...(op ? { operating_point: { criterion: op.criterion, threshold: op.threshold, sensitivity: op[which].sensitivity, specificity: op[which].specificity } } : {}),
  });
  return {
    phase: state.phase, trainable: phase.trainable, epochs: state.epoch, stoppedEarly: state.epoch < phase.epochs,
    best: { phase: state.best.phase, epoch: state.best.epoch, score: state.best.score },
    seconds: (performance.now() - t0) / 1000,
    test: figures(m, 'test'), val: figures(m.val!, 'val'),
  };
}
